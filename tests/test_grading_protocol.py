"""How a submission is loaded and judged, on the grader's fast paths (``kafkadojo check`` and
the in-notebook ``check()``; nbgrader's autograde is in test_course.py's class run).

- Cell by cell: a notebook's cells load one by one into one namespace, as a kernel runs
  them. A stray line outside the solution cells costs nothing; in a solution cell it costs
  that cell's exercises only, and the feedback names the cell (its number and first line)
  and the learner's own line. A ``.py`` file is one unit, named by the file.
- One mistake, one charge: an exercise that calls another exercise's function (the
  catalog's ``needs``) is graded with the engine's answers for it, so a wrong or unfinished
  callee costs points only on its own exercise, and a wrong caller still fails.
- Values by meaning: a defaultdict or OrderedDict where a dict is expected is a dict.
"""

import json
import re

import pytest

from kafkadojo.autograder.grader import grade_path, grade_source, solution_units
from kafkadojo.autograder.notebook import check
from kafkadojo.autograder.sandbox import Unit
from kafkadojo.exercises import notebooks
from kafkadojo.exercises.catalog import BY_ID, EXERCISES, GIVENS, solution_module

STRAY = "\n\nprint(x)      # a scratch line: x was never defined\n"


def stray_line(source):
    """The number of the stray line in ``source``, counting from 1."""
    return source.split("\n").index(STRAY.strip()) + 1


def earned(report):
    return {e.id: e.earned for e in report.exercises}


def full(ids, but=()):
    return {i: 0 if i in but else BY_ID[i].points for i in ids}


def instructors_notebook(assignment):
    """The source notebook: its solution cells hold the engine's own functions."""
    return notebooks.build(assignment)


def cell_of(notebook, grade_id):
    return next(c for c in notebook["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == grade_id)


# The two cheapest exercises to grade, in two cells, the second calling the first.
FIRST_TWO = ["partitioning.murmur2", "partitioning.partition_for_key"]


def graded_notebook(notebook, tmp_path):
    path = tmp_path / "partitioning.ipynb"
    path.write_text(json.dumps(notebook))
    return grade_path(path, only=FIRST_TWO)


# -- cell by cell ------------------------------------------------------------------------

def test_a_stray_line_outside_the_solution_cells_costs_nothing(tmp_path):
    notebook = instructors_notebook("partitioning")
    cell_of(notebook, "partitioning-givens")["source"] += STRAY     # after the constants
    notebook["cells"].append({"cell_type": "code", "metadata": {}, "source": STRAY,
                              "outputs": [], "execution_count": None})
    report = graded_notebook(notebook, tmp_path)
    assert earned(report) == full(FIRST_TWO), report.format()


def test_a_stray_line_in_a_solution_cell_costs_that_cells_exercises_alone(tmp_path):
    notebook = instructors_notebook("partitioning")
    murmur2 = cell_of(notebook, "partitioning-murmur2-solution")
    murmur2["source"] += STRAY
    report = graded_notebook(notebook, tmp_path)
    assert earned(report) == full(FIRST_TWO, but={"partitioning.murmur2"}), report.format()
    number = notebook["cells"].index(murmur2) + 1           # counting every cell from the top
    text = report.format()
    line = stray_line(murmur2["source"])
    assert f"cell {number} (`def murmur2(" in text, text    # the released def line, shown
    assert f'File "cell {number}", line {line}, in <module>' in text and "print(x)" in text
    assert "NameError: name 'x' is not defined" in text
    assert "submission.py" not in text and "withheld" not in text


def test_a_cell_that_does_not_compile_costs_its_exercises_alone(tmp_path):
    notebook = instructors_notebook("partitioning")
    cell_of(notebook, "partitioning-partition_for_key-solution")["source"] += "\n\ndef oops(:\n"
    report = graded_notebook(notebook, tmp_path)
    assert earned(report) == full(FIRST_TWO, but={"partitioning.partition_for_key"})
    assert "SyntaxError" in report.format()


def test_check_in_a_kernel_names_the_history_cell(capsys):
    """check()'s cells are the kernel's history (``In``): the same rule, named ``In [n]``."""
    notebook = instructors_notebook("partitioning")
    history = ["", "from kafkadojo.autograder.notebook import check", GIVENS["partitioning"]]
    for exercise in (e for e in EXERCISES if e.assignment == "partitioning"):
        history.append("".join(cell_of(notebook, f"{exercise.grade_id}-solution")["source"]))
    history[3] += STRAY                                     # the murmur2 cell, run as In [3]
    assert check("partitioning.murmur2", cells=history) == 0
    text = capsys.readouterr().out
    assert "In [3] (`def murmur2(" in text and "print(x)" in text, text
    assert check("partitioning.partition_for_key", cells=history, quiet=True) == 2


def test_a_py_file_is_one_unit_named_by_the_file(tmp_path):
    path = tmp_path / "partitioning.py"
    path.write_text(solution_module("partitioning") + STRAY)
    report = grade_path(path, assignment="partitioning")
    assert report.earned == 0 and {e.status for e in report.exercises} == {"does not load"}
    line = stray_line(path.read_text())
    assert f'File "partitioning.py", line {line}, in <module>' in report.format()


# -- exercises judged at once ---------------------------------------------------------------
# ``kafkadojo check`` judges an assignment's exercises on every core at once; what it finds
# must be what judging them one after another finds.

def test_exercises_judged_at_once_grade_as_one_after_another(tmp_path):
    notebook = instructors_notebook("partitioning")
    cell_of(notebook, "partitioning-murmur2-solution")["source"] += STRAY
    path = tmp_path / "partitioning.ipynb"
    path.write_text(json.dumps(notebook))
    # a cell between the solutions that kills its process: found by the first exercise
    # judged, skipped by the ones judged beside it
    units = solution_units(path)
    units.insert(2, Unit("cell 99", "import os\nos._exit(3)\n"))
    ids = [e.id for e in EXERCISES if e.assignment == "partitioning"]
    reports = {}
    for jobs in (1, 2):
        skipped = {}
        reports[jobs] = grade_source(units, ids, skipped=skipped, jobs=jobs)
        assert [units[i].source for i in skipped] == ["import os\nos._exit(3)\n"], skipped
    outcome = {jobs: [(e.id, e.earned, e.status, [(p.name, p.earned, p.anomaly)
                                                  for p in e.properties])
                      for e in report.exercises] for jobs, report in reports.items()}
    assert outcome[1] == outcome[2]
    assert earned(reports[2]) == full(ids, but={"partitioning.murmur2"}), reports[2].format()


# -- one mistake, one charge ---------------------------------------------------------------

CALLS = [(e.id, callee) for e in EXERCISES for callee in e.needs]


def test_every_needs_pair_is_covered():
    assert {(caller, callee) for caller, callee in CALLS} >= {
        ("partitioning.partition_for_key", "murmur2"),
        ("replication.truncation_offset", "end_offset_for_epoch"),
        ("offsets.plan_batch", "committed_offsets"),
        ("groups.round_robin_assign", "member_order"),
        ("groups.sticky_assign", "member_order")}


def unfinished(function):
    return f"\n\ndef {function}(*args):\n    raise NotImplementedError('{function}: later')\n"


@pytest.mark.parametrize("caller,callee", CALLS, ids=[f"{a}->{b}" for a, b in CALLS])
def test_an_unfinished_callee_costs_only_its_own_points(caller, callee):
    exercise = BY_ID[caller]
    source = solution_module(exercise.assignment) + unfinished(callee)
    report = grade_source(source, [caller])
    assert earned(report) == {caller: exercise.points}, report.format()
    note = next(line for line in report.format(verbose=True).splitlines()
                if "graded with the engine's own " in line)
    assert callee in note.split("graded with the engine's own ", 1)[1].split(":")[0]


def test_a_wrong_murmur2_costs_murmur2_alone():
    source = solution_module("partitioning") + "\n\ndef murmur2(data):\n    return 0\n"
    report = grade_source(source, ["partitioning.murmur2", "partitioning.partition_for_key"])
    assert earned(report) == {"partitioning.murmur2": 0, "partitioning.partition_for_key": 2}


@pytest.mark.parametrize("caller,wrong", [
    ("partitioning.partition_for_key",      # no toPositive: Python's % hides the sign
     "def partition_for_key(key, num_partitions):\n    return murmur2(key) % num_partitions\n"),
    ("offsets.plan_batch",                  # commits first whatever the guarantee
     "def plan_batch(records, guarantee):\n"
     "    return [('commit', committed_offsets(records))] + [('process', r) for r in records]\n"),
])
def test_a_wrong_caller_still_fails(caller, wrong):
    exercise = BY_ID[caller]
    report = grade_source(solution_module(exercise.assignment) + "\n\n" + wrong, [caller])
    assert report.earned < exercise.points
    assert "graded with the engine's own" in report.format()


# -- values by meaning ---------------------------------------------------------------------

def test_subclasses_of_built_in_types_are_judged_by_their_value():
    """The engine's own answers, returned as a defaultdict and as an int subclass."""
    source = solution_module("offsets") + (
        "\n\nimport collections\n\n"
        "_engine_offsets, _engine_lag = committed_offsets, partition_lag\n\n"
        "class Lag(int):\n"
        "    pass\n\n"
        "def committed_offsets(records):\n"
        "    return collections.defaultdict(int, _engine_offsets(records))\n\n"
        "def partition_lag(high_watermark, committed_offset):\n"
        "    lag = _engine_lag(high_watermark, committed_offset)\n"
        "    return None if lag is None else Lag(lag)\n")
    report = grade_source(source, ["offsets.committed_offsets", "offsets.partition_lag"])
    assert report.earned == report.possible, report.format()
