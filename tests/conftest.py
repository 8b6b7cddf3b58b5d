import os

from hypothesis import settings

# No .hypothesis/ folder in the work tree; CI runs a few more examples than a laptop.
settings.register_profile("default", database=None, deadline=None)
settings.register_profile("ci", database=None, deadline=None, max_examples=200)
settings.load_profile("ci" if os.environ.get("CI") else "default")


def pytest_addoption(parser):
    parser.addoption("--soak", action="store_true", help="run the long fault-schedule soaks")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--soak"):
        return
    import pytest
    skip = pytest.mark.skip(reason="soak: run with `make soak`")
    for item in items:
        if "soak" in item.keywords:
            item.add_marker(skip)


import pytest as _pytest


@_pytest.fixture
def soak_schedules():
    return int(os.environ.get("SOAK_SCHEDULES", "5000"))
