"""Builds the course notebooks (nbgrader source format) from their Markdown sources.

    python -m kafkadojo.exercises.notebooks            # write notebooks/source/*/
    python -m kafkadojo.exercises.notebooks --check    # fail if a committed notebook is stale

An author writes each assignment's prose in ``notebooks/markdown/<assignment>.md``, a MyST
Markdown notebook (jupytext's format: with jupytext installed, JupyterLab opens it as a
notebook). Markdown is prose; ``+++`` starts a new Markdown cell; a ``{code-cell}`` with an
``:id:`` is a locked code cell (a picture), and the id is its nbgrader ``grade_id``.
These placeholders are filled in:

- ```` ```{setup} ```` : the cell that imports the grader and the pictures;
- ```` ```{givens} ```` : Kafka's constants and types the exercises use;
- ```` ```{exercise} <id> ```` , with the visible tests as its body: the exercise's heading,
  its solution cell, the visible tests and the grade cell that runs the hidden properties;
- ```` ```{answer} <name> <points> ```` , with the rubric as its body: a written answer that
  an instructor grades by hand (an nbgrader Markdown solution cell: the release shows an
  empty answer, the source notebook the rubric).

Practice notebooks (``PRACTICE``: the drills) are built the same way into
``notebooks/practice/``, as plain notebooks: no nbgrader cells, nothing graded.

A notebook's solution cells are the engine's own functions (inside nbgrader's
``### BEGIN SOLUTION`` markers), generated here, so the notebooks never hold a copy of a
solution that could drift from the engine.
"""

import ast
import inspect
import json
import re
import sys
import textwrap
from pathlib import Path

from kafkadojo.exercises.catalog import ASSIGNMENTS, BY_ID, GIVENS, exercises_for

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "notebooks" / "source"
MARKDOWN = ROOT / "notebooks" / "markdown"

# A placeholder: a fenced block whose language is {setup}, {givens} or {exercise}.
PLACEHOLDER = re.compile(r"^```\{(?P<name>[a-z-]+)\}(?P<arguments>[^\n]*)\n"
                         r"(?P<body>.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
ANSWER_NAME = re.compile(r"^[a-z0-9-]+$")      # becomes part of an nbgrader grade_id


class CourseSourceError(ValueError):
    """A Markdown source the builder cannot turn into a notebook; says where and why."""


def md(text):
    return ("markdown", textwrap.dedent(text).strip(), {})


def code(text, **nbgrader):
    return ("code", textwrap.dedent(text).strip(), nbgrader)


def solution_region(function, hints=(), nested=()):
    """The def line and contract stay visible; the body becomes the solution region.
    ``nested``: functions of the learner's own design, defined at the start of the body, so
    that nbgrader's release keeps nothing of them and puts no stub at the top level."""
    source = textwrap.dedent(inspect.getsource(function))
    tree = ast.parse(source).body[0]
    lines = source.splitlines()
    doc_end = tree.body[0].end_lineno if ast.get_docstring(tree) else tree.lineno
    hint_lines = "".join(f"    # Hint: {hint}\n" for hint in hints)
    inner = "".join(textwrap.indent(textwrap.dedent(inspect.getsource(f)).rstrip(), "    ")
                    + "\n\n" for f in nested)
    return ("\n".join(lines[:doc_end]) + "\n" + hint_lines + "    ### BEGIN SOLUTION\n" + inner
            + "\n".join(lines[doc_end:]).rstrip("\n") + "\n    ### END SOLUTION")


def solution_cell(exercise):
    """Every solution region is a function body: a released cell only defines functions,
    so it loads as it is, and a learner who fills in the bodies gets every point."""
    parts = [solution_region(helper) for helper in exercise.helpers]
    parts.append(solution_region(exercise.reference, exercise.hints, exercise.internals))
    return "\n\n\n".join(parts)


def exercise_cells(exercise_id, visible_tests):
    exercise = BY_ID[exercise_id]
    seam = (f" The engine calls it through the seam `{exercise.seam}`." if exercise.seam
            else "")
    return [
        md(f"""
        ### Exercise: `{exercise.function}` ({exercise.points} point{"s" if exercise.points != 1 else ""})

        Implement the function below: its docstring is the contract.{seam} The visible
        tests under it are a first check; the grade cell after them runs the hidden
        properties in a separate process and prints what they found."""),
        code(solution_cell(exercise), solution=True,
             grade_id=f"{exercise.grade_id}-solution"),
        code(visible_tests, grade_id=f"{exercise.grade_id}-visible", locked=True),
        code(f'check("{exercise_id}")', grade=True, points=exercise.points,
             grade_id=exercise.grade_id, locked=True),
    ]


SETUP = code("""
    # Setup: the grader (runs your code in a separate process) and the engine's pictures.
    from kafkadojo.autograder.notebook import check
    from kafkadojo.exercises import pictures""", grade_id="setup", locked=True)


def _givens(assignment):
    if not GIVENS.get(assignment):
        return []
    return [md("""
            These are given: Kafka's constants and types that the exercises use. Run the cell;
            the grader includes it with your code."""),
            code(GIVENS[assignment], grade_id=f"{assignment}-givens", locked=True)]


def answer_cell(assignment, arguments, rubric, where):
    """A written answer, graded by hand in nbgrader: a Markdown solution cell worth
    ``points``. The source notebook holds the rubric; the release, an empty answer."""
    if len(arguments) != 2 or not ANSWER_NAME.match(arguments[0]) or not arguments[1].isdigit() \
            or int(arguments[1]) < 1:
        raise CourseSourceError(f"{where}: write {{answer}} NAME POINTS (NAME in a-z, 0-9 and -, "
                                f"POINTS a whole number from 1), not {' '.join(arguments)!r}")
    if not rubric:
        raise CourseSourceError(f"{where}: {{answer}} {arguments[0]} needs its rubric as its body")
    return ("markdown", rubric, {"grade": True, "solution": True, "points": int(arguments[1]),
                                 "grade_id": f"{assignment}-{arguments[0]}"})


def source_path(assignment):
    return MARKDOWN / f"{assignment}.md"


def cells_for(assignment):
    """The notebook's cells, ``(kind, source, nbgrader metadata)``, from its Markdown source
    with the placeholders filled in."""
    import jupytext     # the course extra; only the builder needs it

    path = source_path(assignment)
    if not path.exists():
        raise CourseSourceError(f"{path}: missing (every assignment in the catalog has one)")
    notebook = jupytext.read(path, fmt="md:myst")
    cells, seen = [], []
    for number, cell in enumerate(notebook.cells, 1):
        where = f"{_shown(path)}, cell {number}"
        if cell.cell_type == "code":
            grade_id = cell.metadata.get("id")
            if not grade_id:
                raise CourseSourceError(f"{where}: a code cell needs an id (`:id: picture_log`) "
                                        f"to become a locked nbgrader cell")
            cells.append(code(cell.source, grade_id=grade_id, locked=True))
        elif cell.cell_type == "markdown":
            cells += _markdown_cells(assignment, cell.source, where, seen)
    expected = [exercise.id for exercise in exercises_for(assignment)]
    if sorted(seen) != sorted(expected):
        missing = sorted(set(expected) - set(seen))
        twice = sorted({id_ for id_ in seen if seen.count(id_) > 1})
        raise CourseSourceError(f"{_shown(path)}: each of the assignment's exercises "
                                f"needs one {{exercise}} placeholder; missing {missing}, "
                                f"more than once {twice}")
    return cells


def _shown(path):
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def _markdown_cells(assignment, text, where, seen):
    """Prose as Markdown cells, each placeholder in it replaced by the cells it stands for."""
    cells, prose_from = [], 0
    for match in PLACEHOLDER.finditer(text):
        prose = text[prose_from:match.start()].strip()
        if prose:
            cells.append(md(prose))
        prose_from = match.end()
        name, arguments, body = match["name"], match["arguments"].split(), match["body"].strip()
        argument = arguments[0] if arguments else ""
        if name == "setup":
            cells.append(SETUP)
        elif name == "givens":
            if not GIVENS.get(assignment):
                raise CourseSourceError(f"{where}: {assignment} has no givens in the catalog")
            cells += _givens(assignment)
        elif name == "exercise":
            exercise = BY_ID.get(argument)
            if exercise is None or exercise.assignment != assignment:
                raise CourseSourceError(f"{where}: no exercise {argument!r} in {assignment} "
                                        f"(the catalog has {[e.id for e in exercises_for(assignment)]})")
            if not body:
                raise CourseSourceError(f"{where}: {{exercise}} {argument} needs its visible "
                                        f"tests as its body")
            seen.append(argument)
            cells += exercise_cells(argument, body)
        elif name == "answer":
            cells.append(answer_cell(assignment, arguments, body, where))
        else:
            raise CourseSourceError(f"{where}: unknown placeholder {{{name}}} "
                                    f"(known: setup, givens, exercise, answer)")
    prose = text[prose_from:].strip()
    if prose:
        cells.append(md(prose))
    return cells


def build(assignment):
    cells = []
    for kind, source, nbgrader in cells_for(assignment):
        metadata = {}
        if nbgrader:
            metadata["nbgrader"] = {"grade": bool(nbgrader.get("grade", False)),
                                    "grade_id": nbgrader["grade_id"],
                                    "locked": bool(nbgrader.get("locked", False)),
                                    "schema_version": 3,
                                    "solution": bool(nbgrader.get("solution", False))}
            if nbgrader.get("grade"):
                metadata["nbgrader"]["points"] = nbgrader["points"]
            if nbgrader["grade_id"].endswith("-visible"):
                # An unfinished exercise's visible tests raise: Jupyter's "Run All" goes on
                # past them (to the pictures and the next exercises) instead of stopping.
                metadata["tags"] = ["raises-exception"]
        cell = {"cell_type": kind, "id": f"{assignment}-{len(cells)}", "metadata": metadata,
                "source": source}
        if kind == "code":
            cell.update(execution_count=None, outputs=[])
        cells.append(cell)
    return {"cells": cells, "metadata": {
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python",
                       "name": "python3"},
        "language_info": {"name": "python"}}, "nbformat": 4, "nbformat_minor": 5}


def path_for(assignment):
    return SOURCE / assignment / f"{assignment}.ipynb"


def render(assignment):
    return json.dumps(build(assignment), indent=1, ensure_ascii=False) + "\n"


# Notebooks to practise with, outside the graded course: plain notebooks (no nbgrader
# cells), built from their Markdown source into notebooks/practice/.
PRACTICE = ("drills",)
PRACTICE_DIR = ROOT / "notebooks" / "practice"


def render_practice(name):
    """A practice notebook from ``notebooks/markdown/<name>.md``, without outputs."""
    import jupytext
    notebook = jupytext.read(source_path(name), fmt="md:myst")
    built = {"cells": [], "metadata": {
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python",
                       "name": "python3"},
        "language_info": {"name": "python"}}, "nbformat": 4, "nbformat_minor": 5}
    for cell in notebook.cells:
        entry = {"cell_type": cell.cell_type, "id": f"{name}-{len(built['cells'])}",
                 "metadata": {}, "source": cell.source}
        if cell.cell_type == "code":
            entry.update(execution_count=None, outputs=[])
        built["cells"].append(entry)
    return json.dumps(built, indent=1, ensure_ascii=False) + "\n"


def _write_or_check(path, text, check, stale):
    """Write the built notebook, or (``check``) add it to ``stale`` if it differs."""
    if check:
        if not path.exists() or path.read_text() != text:
            stale.append(str(path))
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    print(f"wrote {path}")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    stale = []
    for name in PRACTICE:
        _write_or_check(PRACTICE_DIR / f"{name}.ipynb", render_practice(name),
                        "--check" in argv, stale)
    for assignment in ASSIGNMENTS:
        try:
            text = render(assignment)
        except CourseSourceError as error:
            print(f"cannot build {assignment}: {error}", file=sys.stderr)
            return 2
        _write_or_check(path_for(assignment), text, "--check" in argv, stale)
    if stale:
        print("stale notebooks: their Markdown sources (notebooks/markdown/) or the catalog "
              "changed since; run python -m kafkadojo.exercises.notebooks\n  "
              + "\n  ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
