"""The autograder: the reference earns everything, stubs nothing, each bug loses exactly
its exercise, and no hidden test leaks (hostile code: test_hostile.py and test_sandbox.py)."""

import json
import re
from pathlib import Path

import pytest

from kafkadojo.autograder import properties
from kafkadojo.autograder.grader import grade_path, grade_source, solution_source
from kafkadojo.autograder.hostile import HOSTILE
from kafkadojo.autograder.samples import SAMPLES, write_samples
from kafkadojo.cli import main as cli
from kafkadojo.exercises.catalog import ASSIGNMENTS, EXERCISES, exercises_for, stub_module
from kafkadojo.reference.seams import Seams

PROPERTIES_DIR = Path(properties.__file__).parent


# Hostile samples are graded on every path, with more to check, in test_hostile.py.
GRADED = {name: sample for name, sample in SAMPLES.items() if name not in HOSTILE}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    directory = tmp_path_factory.mktemp("samples")
    write_samples(directory)
    return {name: grade_path(directory / f"{name}.py", assignment=sample.assignment)
            for name, sample in GRADED.items()}


def lost(report):
    return {e.id for e in report.exercises if e.earned < e.points}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_reference_earns_every_point(graded, assignment):
    report = graded[f"{assignment}-reference"]
    assert report.possible == sum(e.points for e in exercises_for(assignment))
    assert report.earned == report.possible, report.format()


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_untouched_stubs_earn_nothing(graded, assignment):
    report = graded[f"{assignment}-stubs"]
    assert report.earned == 0
    assert {e.status for e in report.exercises} == {"not attempted"}


@pytest.mark.parametrize("name", [n for n, s in GRADED.items() if not s.stub and s.expected_failures])
def test_each_bug_loses_exactly_its_exercises(graded, name):
    report = graded[name]
    assert lost(report) == set(SAMPLES[name].expected_failures), report.format()
    assert 0 < report.earned < report.possible


def test_failures_teach_without_revealing_hidden_tests(graded):
    hidden_lines = set()
    for path in PROPERTIES_DIR.glob("*.py"):
        for line in path.read_text().splitlines():
            line = line.strip()
            if len(line) > 25 and not line.startswith(("#", '"""', "from ", "import ")):
                hidden_lines.add(line)
    for name, report in graded.items():
        text = report.format(verbose=True) + report.to_json()
        leaked = [line for line in hidden_lines if line in text]
        assert not leaked, f"{name} leaks hidden test source: {leaked[:3]}"
        assert "autograder/" not in text and "properties/" not in text
        for exercise in report.exercises:
            for result in exercise.properties:
                if not result.passed:
                    assert result.anomaly and result.counterexample


def test_feedback_names_the_anomaly_and_how_to_replay(graded):
    report = graded["replication-hw-ignores-followers"]
    text = report.format()
    assert "wrong-high-watermark" in text
    assert ">>> next_high_watermark(" in text
    assert "fault schedule seed" in text and "seams=REFERENCE.with_rules(" in text
    # the in-cluster failure names its seed, says how many were tried, and replays that one
    seed = re.search(r"fault schedule seed (\d+) \((the first of the|after seeds? [\d to]+ "
                     r"passed, of the) (\d+) ", text)
    assert seed and int(seed.group(3)) >= 40, text
    assert f">>> print(run({seed.group(1)}, WorkloadConfig(" in text


def test_code_that_does_not_load_costs_only_points():
    report = grade_source("def murmur2(data:\n", ["partitioning.murmur2"])
    assert report.earned == 0 and report.exercises[0].status == "does not load"
    assert "SyntaxError" in report.format()
    report = grade_source("import sys\nsys.exit(1)\n", ["isr.is_caught_up"])
    assert report.earned == 0 and "SystemExit" in report.format()


def test_catalog_matches_engine_and_properties():
    properties.load_all()
    seams = {f for f in Seams.__dataclass_fields__}
    for exercise in EXERCISES:
        assert exercise.seam is None or exercise.seam in seams, exercise.id
        total = sum(p.points for p in properties.properties_for(exercise.id))
        assert total == exercise.points, f"{exercise.id}: properties worth {total}"
    for assignment in ASSIGNMENTS:
        stubs = stub_module(assignment)
        compile(stubs, assignment, "exec")
        functions = sum(1 + len(e.helpers) for e in exercises_for(assignment))
        assert stubs.count("raise NotImplementedError") == functions


def notebook(cells):
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": {},
            "cells": [{"cell_type": kind, "metadata": meta, "source": source,
                       **({"outputs": [], "execution_count": None} if kind == "code" else {})}
                      for kind, meta, source in cells]}


def test_notebooks_are_graded_from_their_solution_cells(tmp_path):
    solution = {"nbgrader": {"solution": True, "grade": False, "grade_id": "x", "locked": False,
                             "schema_version": 3}}
    reference = SAMPLES["isr-reference"].source()
    path = tmp_path / "isr.ipynb"
    path.write_text(json.dumps(notebook([
        ("markdown", {}, "# the ISR"),
        ("code", {}, "import kafkadojo.reference  # the picture: not graded\n%matplotlib inline"),
        ("code", solution, reference),
    ])))
    assert "kafkadojo.reference" not in solution_source(path)
    report = grade_path(path, assignment="isr")
    assert report.earned == report.possible


def test_cli_check_exit_codes_and_json(tmp_path, capsys):
    path = tmp_path / "isr.py"
    assert cli(["stub", "isr", "-o", str(tmp_path)]) == 0
    assert cli(["stub", "isr", "-o", str(tmp_path)]) == 2          # never overwrites
    assert cli(["check", str(path)]) == 1
    capsys.readouterr()
    path.write_text(SAMPLES["isr-reference"].source())
    assert cli(["check", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["earned"] == data["possible"] == 9
    assert cli(["check", str(tmp_path / "missing.py")]) == 2
    assert cli(["check", str(path), "--only", "isr.nope"]) == 2


def test_grading_leaves_nothing_in_the_temporary_folder(tmp_path):
    """hypothesis' files live in a temporary folder while grading; the grader removes it."""
    import os
    import subprocess
    import sys
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    path = tmp_path / "isr.py"
    path.write_text(SAMPLES["isr-reference"].source())
    result = subprocess.run([sys.executable, "-m", "kafkadojo.cli", "check", str(path)],
                            env={**os.environ, "TMPDIR": str(scratch)}, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert list(scratch.iterdir()) == []


def test_the_grader_draws_no_constants_from_the_modules_it_has_loaded():
    """Hypothesis mixes in constants from the modules a process has loaded; which ones are
    loaded differs between grading paths, so the grader turns that off: the same learner
    meets the same examples on every path."""
    from hypothesis.internal.conjecture import providers
    properties.load_all()
    import kafkadojo.reference.scenarios  # noqa: F401 - a module full of constants
    assert len(providers._get_local_constants()) == 0


def test_a_killed_graders_temporary_folder_goes_at_the_next_grading(tmp_path):
    """A grader killed by a signal leaves its folder; the next one removes it (its name
    carries a pid that is gone), and leaves a live process's folder alone."""
    import os
    import subprocess
    import sys
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    stale = scratch / f"kafkadojo-hypothesis-{dead}-x1y2"
    live = scratch / f"kafkadojo-hypothesis-{os.getpid()}-x1y2"
    for folder in (stale, live):
        (folder / "constants").mkdir(parents=True)
    path = tmp_path / "isr.py"
    path.write_text(SAMPLES["isr-reference"].source())
    result = subprocess.run([sys.executable, "-m", "kafkadojo.cli", "check", str(path),
                             "--only", "isr.is_caught_up"],
                            env={**os.environ, "TMPDIR": str(scratch)}, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert list(scratch.iterdir()) == [live]


DRAW_GROUPS = """
from hypothesis import given, settings, strategies as st
from kafkadojo.autograder import properties
from kafkadojo.autograder.properties import groups
properties.load_all()
drawn = []

@settings(max_examples=60, derandomize=True, database=None)
@given(st.one_of(groups.groups(owned=True), groups.scattered_claims(), groups.skewed_claims()))
def draw(group):
    drawn.append(repr(group))

draw()
print(len(drawn), "\\n".join(drawn))
"""


def test_the_graders_examples_are_the_same_whatever_the_hash_seed():
    """Examples must not depend on the order a set of strings iterates in (it changes with
    PYTHONHASHSEED): two processes, two hash seeds, the same groups drawn."""
    import os
    import subprocess
    import sys

    def drawn(hash_seed):
        result = subprocess.run([sys.executable, "-c", DRAW_GROUPS], capture_output=True,
                                text=True, timeout=300,
                                env={**os.environ, "PYTHONHASHSEED": hash_seed})
        assert result.returncode == 0, result.stderr
        return result.stdout

    first = drawn("1")
    assert first.startswith("60 ")
    assert drawn("2") == first and drawn("3") == first
