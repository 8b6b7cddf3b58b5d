"""Grading from a notebook cell, for self-study:

    from kafkadojo.autograder.notebook import check
    check("replication.next_high_watermark")

It grades the latest definition of the exercise's function (and of the other exercise
functions it may call) from this kernel's history, in a separate process, prints what the
hidden properties found, and returns the points earned (the value nbgrader reads as
partial credit; under ``nbgrader autograde`` the score is recomputed outside the kernel
anyway, so nothing in a notebook can change its own grade). Where the operating system
cannot isolate learner code, it says that this is a self-check, not a tamper-proof grade.

Each chosen cell is loaded on its own, as the kernel ran it: a cell that fails costs only
the exercises it defines, and the feedback names it as the notebook does (``In [7]``).
"""

import re
import sys

from kafkadojo.exercises.catalog import BY_ID, EXERCISES, GIVENS

from .grader import grade_source, python_only
from .sandbox import Unit


def _kernel_history():
    try:
        from IPython import get_ipython
    except ImportError:
        return []
    shell = get_ipython()
    return list(shell.user_ns.get("In", [])) if shell is not None else []


def units_from_cells(cells):
    """The givens and the latest cell defining each exercise function, in the order run,
    each a unit named as the notebook shows it (``In [7]``, the history's index)."""
    names = [e.function for e in EXERCISES]
    givens = {text.strip() for text in GIVENS.values()}
    latest = {}
    for index, cell in enumerate(cells):
        if cell.strip() in givens:
            latest[cell.strip()] = index
        for name in names:
            if re.search(rf"^def {re.escape(name)}\(", cell, re.M):
                latest[name] = index
    return [Unit(f"In [{index}]", python_only(cells[index])) for index in sorted(set(latest.values()))]


def source_from_cells(cells):
    """The same cells, as one text."""
    return "\n\n".join(unit.source for unit in units_from_cells(cells))


def check(exercise_id, cells=None, quiet=False):
    if exercise_id not in BY_ID:
        raise KeyError(f"no exercise {exercise_id!r}; see `kafkadojo exercises`")
    units = units_from_cells(_kernel_history() if cells is None else cells)
    report = grade_source(units, [exercise_id], submission="this notebook")
    if not quiet:
        print(report.format())      # with a note when this is not a tamper-proof grade
        summary = _shortfall(report.exercises[0])
        if summary:
            # nbgrader validate shows a grade cell's stderr as its reason (else it says
            # "Partial credit" of a cell with nothing done at all)
            print(summary, file=sys.stderr)
    return report.earned


def _shortfall(exercise):
    """One line on what an exercise still lacks, or None when it earned every point."""
    function, points = BY_ID[exercise.id].function, exercise.points
    if exercise.status == "passed":
        return None
    if exercise.status == "not attempted":
        return (f"Not done yet: {function} still raises NotImplementedError "
                f"(0/{points} point{'s' if points != 1 else ''}).")
    if exercise.status == "partial":
        return (f"{exercise.earned}/{points} points: {function} fails some of its hidden "
                f"properties (the report above says which).")
    why = {"failed": "fails its hidden properties", "does not load": "does not load",
           "missing": "is not defined"}.get(exercise.status, exercise.status)
    return f"0/{points} points: {function} {why} (the report above says why)."
