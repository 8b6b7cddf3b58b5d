"""Gradescope's autograder package for one assignment: ``kafkadojo gradescope ASSIGNMENT``.

Gradescope grades each submission in a fresh container of its own, built from the package
an instructor uploads (``autograder.zip``). The package holds:

- ``setup.sh``, which Gradescope runs once, as root, when it builds the image: Python, a
  virtual environment with kafkadojo in it, and bubblewrap (the sandbox for learner code);
- ``run_autograder``, which it runs for each submission: ``kafkadojo grade`` on
  ``/autograder/submission`` writes ``/autograder/results/results.json``;
- kafkadojo itself, as a wheel built from this repository: the engine, the grader and the
  hidden properties. Learners never see the package.

Classes too large for one machine are graded this way: one container per submission,
Gradescope's runners side by side.
"""

import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from kafkadojo.exercises.catalog import ASSIGNMENTS

REPOSITORY = Path(__file__).resolve().parent.parent
# What the wheel is built from (pyproject.toml maps the folders into kafkadojo.*)
PACKAGE_SOURCES = ("pyproject.toml", "README.md", "kafkadojo", "reference", "exercises",
                   "autograder")

SETUP_SH = """\
#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image (made by
# `kafkadojo gradescope`). kafkadojo needs Python 3.11 or later: choose Gradescope's
# Ubuntu 24.04 base image (Python 3.12).
set -euo pipefail
apt-get update -qq
apt-get install -y -qq python3 python3-venv bubblewrap >/dev/null
python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else
                "kafkadojo needs Python 3.11+: choose the Ubuntu 24.04 base image")'
python3 -m venv /autograder/venv
/autograder/venv/bin/pip install --quiet /autograder/source/{wheel}
"""

RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope runs this for each submission (made by `kafkadojo gradescope {assignment}`):
# kafkadojo grades what the learner uploaded, each exercise in its own sandbox, and writes
# results.json, also when it cannot grade (then: zero points, and why).
set -u
root="${{AUTOGRADER_ROOT:-/autograder}}"
python="${{KAFKADOJO_PYTHON:-$root/venv/bin/python}}"
mkdir -p "$root/results"
exec "$python" -m kafkadojo.cli grade "$root/submission" --assignment {assignment} --quiet \\
    --gradescope "$root/results/results.json"{unisolated}
"""


def build_package(assignment, output, allow_unisolated=False):
    """Write ``output`` (a zip) for ``assignment``; returns its path."""
    if assignment not in ASSIGNMENTS:
        raise ValueError(f"no assignment {assignment!r}; there are {', '.join(ASSIGNMENTS)}")
    if not (REPOSITORY / "pyproject.toml").exists():
        raise FileNotFoundError(f"{REPOSITORY} is not kafkadojo's repository: the package "
                                f"is built from a checkout")
    output = Path(output)
    with tempfile.TemporaryDirectory(prefix="kafkadojo-gradescope-") as folder:
        # Built from a copy of the sources: setuptools' build/ folder would otherwise stay in
        # the checkout, and files deleted since an earlier build could slip into the wheel.
        sources = Path(folder) / "sources"
        sources.mkdir()
        for name in PACKAGE_SOURCES:
            if (REPOSITORY / name).is_dir():
                shutil.copytree(REPOSITORY / name, sources / name,
                                ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".*"))
            else:
                shutil.copy(REPOSITORY / name, sources / name)
        built = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
             "--quiet", "--wheel-dir", folder, str(sources)],
            capture_output=True, text=True)
        wheels = sorted(Path(folder).glob("kafkadojo-*.whl"))
        if built.returncode != 0 or len(wheels) != 1:
            raise RuntimeError(f"could not build kafkadojo's wheel:\n{built.stderr[-2000:]}")
        wheel = wheels[0]
        files = {
            "setup.sh": SETUP_SH.format(wheel=wheel.name),
            "run_autograder": RUN_AUTOGRADER.format(
                assignment=assignment,
                unisolated=" --allow-unisolated" if allow_unisolated else ""),
        }
        output.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as package:
            for name, text in files.items():
                info = zipfile.ZipInfo(name)
                info.external_attr = (stat.S_IFREG | 0o755) << 16     # executable
                info.compress_type = zipfile.ZIP_DEFLATED
                package.writestr(info, text)
            package.write(wheel, wheel.name)
    return output
