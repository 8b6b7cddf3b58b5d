"""Gradescope's autograder package: `kafkadojo gradescope offsets` builds autograder.zip;
unpacked into a fake /autograder, its run_autograder grades a submission and writes a
results.json that follows Gradescope's specification. (setup.sh, which installs Python,
bubblewrap and the wheel on Gradescope's image, is checked for what it installs: running
it needs root, apt and a network.)"""

import json
import os
import stat
import subprocess
import sys
import zipfile

import pytest

from kafkadojo.autograder.samples import SAMPLES
from kafkadojo.autograder.sandbox import isolation
from kafkadojo.cli import main as cli
from kafkadojo.exercises.catalog import exercises_for

ASSIGNMENT = "offsets"
POINTS = sum(e.points for e in exercises_for(ASSIGNMENT))
VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}
TOP_LEVEL = {"score", "execution_time", "output", "output_format", "visibility",
             "stdout_visibility", "extra_data", "tests", "leaderboard"}
TEST_KEYS = {"score", "max_score", "status", "name", "name_format", "number", "output",
             "output_format", "tags", "visibility", "extra_data"}


def follows_gradescopes_specification(results):
    """The fields and types of Gradescope's autograder results.json."""
    assert set(results) <= TOP_LEVEL, set(results) - TOP_LEVEL
    assert isinstance(results["score"], (int, float))
    assert isinstance(results["execution_time"], int) and results["execution_time"] >= 0
    assert isinstance(results["output"], str)
    assert results.get("visibility", "visible") in VISIBILITY
    assert results.get("stdout_visibility", "hidden") in VISIBILITY
    for test in results["tests"]:
        assert set(test) <= TEST_KEYS, set(test) - TEST_KEYS
        assert isinstance(test["name"], str) and isinstance(test["output"], str)
        assert isinstance(test["score"], (int, float)) and isinstance(test["max_score"], (int, float))
        assert 0 <= test["score"] <= test["max_score"]
        assert test["status"] == ("passed" if test["score"] == test["max_score"] else "failed")
        assert test.get("visibility", "visible") in VISIBILITY
    if results["tests"]:
        assert results["score"] == sum(test["score"] for test in results["tests"])


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gradescope")
    unisolated = [] if isolation().tamper_proof else ["--allow-unisolated"]
    assert cli(["gradescope", ASSIGNMENT, "-o", str(folder / "autograder.zip"), *unisolated]) == 0
    return folder / "autograder.zip"


def autograder(tmp_path, package, files):
    """A fake /autograder: the package unpacked in source/, the learner's files in
    submission/; run_autograder run as Gradescope runs it. Returns results.json."""
    root = tmp_path / "autograder"
    with zipfile.ZipFile(package) as archive:
        archive.extractall(root / "source")
    (root / "submission").mkdir()
    for name, text in files.items():
        (root / "submission" / name).write_text(text)
    run = root / "source" / "run_autograder"
    os.chmod(run, os.stat(run).st_mode | stat.S_IXUSR)     # extractall drops the mode
    done = subprocess.run([str(run)], capture_output=True, text=True, timeout=900,
                          env={**os.environ, "AUTOGRADER_ROOT": str(root),
                               "KAFKADOJO_PYTHON": sys.executable})
    results = root / "results" / "results.json"
    assert results.exists(), done.stderr[-3000:]
    return done, json.loads(results.read_text())


def test_the_package_holds_the_scripts_and_kafkadojo_with_its_hidden_properties(package):
    with zipfile.ZipFile(package) as archive:
        names = archive.namelist()
        [wheel] = [name for name in names if name.endswith(".whl")]
        assert sorted(names) == sorted(["setup.sh", "run_autograder", wheel])
        for script in ("setup.sh", "run_autograder"):
            mode = archive.getinfo(script).external_attr >> 16
            assert mode & stat.S_IXUSR, f"{script} is not executable"
            assert archive.read(script).startswith(b"#!/usr/bin/env bash\n")
        setup = archive.read("setup.sh").decode()
        assert f"/autograder/source/{wheel}" in setup and "bubblewrap" in setup
        assert f"--assignment {ASSIGNMENT}" in archive.read("run_autograder").decode()
        archive.extract(wheel, package.parent)
    with zipfile.ZipFile(package.parent / wheel) as inside:
        files = inside.namelist()
    assert "kafkadojo/autograder/properties/offsets.py" in files
    assert "kafkadojo/reference/delivery.py" in files
    assert not any(name.startswith(("notebooks/", "tests/")) for name in files)


def test_run_autograder_grades_a_submission_into_gradescopes_results(tmp_path, package):
    sample = SAMPLES["offsets-commit-last-processed"]
    done, results = autograder(tmp_path, package, {"offsets.py": sample.source()})
    assert done.returncode == 0, done.stderr[-3000:]
    follows_gradescopes_specification(results)
    assert sum(test["max_score"] for test in results["tests"]) == POINTS
    failed = {test["name"].split(":")[0] for test in results["tests"] if test["status"] == "failed"}
    assert failed == {"offsets.committed_offsets"}
    assert results["score"] < POINTS and "learner code isolated by" in results["output"]


def test_a_submission_that_cannot_be_graded_still_gets_results_that_say_why(tmp_path, package):
    done, results = autograder(tmp_path, package, {"notes.txt": "I did not finish"})
    assert done.returncode == 2
    follows_gradescopes_specification(results)
    assert results["score"] == 0 and results["tests"] == []
    assert "no submissions" in results["output"] and ".ipynb" in results["output"]


def test_an_unknown_assignment_is_refused(tmp_path, capsys):
    assert cli(["gradescope", "replicaton", "-o", str(tmp_path / "a.zip")]) == 2
    assert "no assignment 'replicaton'" in capsys.readouterr().err
    assert not (tmp_path / "a.zip").exists()
