"""nbgrader integration: grades come from the out-of-process grader, not from the kernel.

In a learner's kernel, a test cell can be fooled (a patched ``print``, an object whose
``__eq__`` lies, a loop that swallows the interrupt and makes nbgrader record no grade at
all). So ``nbgrader autograde`` here does not execute learner code in a kernel: the
``KafkadojoGrades`` preprocessor takes the notebook's solution cells, grades each exercise
in a sandbox, and writes into each grade cell the feedback text and the points earned,
which nbgrader's ``SaveAutoGrades`` reads as partial credit.

A submission is the learner's file, metadata included, so nothing in it decides what is
graded or for how much: ``KafkadojoSanitize`` gives every submission the instructor's
nbgrader cells from the gradebook (duplicated, retyped, renamed, promoted or deleted cells
and strange schema versions cost nothing, and gain nothing), and ``KafkadojoSubmissions``
reads any file, so one that is not a notebook gets a zero with its reason instead of
stopping the class run. Each costs only that learner, and only what they tampered with.

In ``nbgrader_config.py``::

    from kafkadojo.autograder import nbgrader_plugin as kafkadojo
    c.Autograde.exporter_class = kafkadojo.KafkadojoSubmissions
    c.Autograde.sanitize_preprocessors = kafkadojo.SANITIZE_PREPROCESSORS
    c.Autograde.autograde_preprocessors = kafkadojo.AUTOGRADE_PREPROCESSORS
"""

import json
import traceback
from dataclasses import dataclass

import nbformat
from nbconvert.exporters import NotebookExporter
from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output, new_raw_cell
from nbgrader import utils
from nbgrader.api import Gradebook
from nbgrader.converters.base import NbGraderException
from nbgrader.nbgraderformat import SCHEMA_VERSION
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, ClearOutput,
                                    DeduplicateIds, IgnorePattern, LimitOutput,
                                    NbGraderPreprocessor, OverwriteCells, OverwriteKernelspec,
                                    SaveAutoGrades)
from traitlets import Bool

from kafkadojo.exercises.catalog import BY_GRADE_ID
from kafkadojo.exercises.drills import quiz

from .grader import grade_source, notebook_units
from .quiz import grade_answer
from .sandbox import IsolationUnavailable, require_isolation

MAX_FEEDBACK_CHARS = 6_000      # what one grade cell may show: a report, never a flood
UNREADABLE = "kafkadojo_unreadable"     # resources key: why a submitted file is no notebook


def solution_units(notebook):
    """The solution cells and givens, one unit per cell, named by its place in the notebook
    (``cell 12``): each is loaded on its own, as nbgrader's cell-by-cell execution would, so
    a cell that fails costs only the exercises it defines."""
    return notebook_units(notebook.cells)


def refuse_unisolated(allow_unisolated, log):
    """The isolation in force, or (unless the instructor allowed grading without it) an
    error nbgrader stops on, with the way to opt in."""
    try:
        return require_isolation(allow_unisolated)
    except IsolationUnavailable as refused:
        log.error("kafkadojo will not grade: %s In nbgrader, grading anyway is "
                  "c.KafkadojoGrades.allow_unisolated = True in nbgrader_config.py.", refused)
        raise NbGraderException(str(refused)) from None


# -- reading whatever was submitted ---------------------------------------------------------

class Unreadable(Exception):
    """A submitted file with no notebook in it; the message says why, for the instructor."""


def read_submission(stream):
    """``(notebook, repair)`` from a submitted file: what nbformat reads, or, from a file
    nbformat cannot read or that breaks the notebook schema, each cell's type, source and
    nbgrader metadata (``repair`` says so). Raises ``Unreadable`` when there is no list of
    cells to take."""
    try:
        text = stream.read()
    except UnicodeDecodeError as error:
        raise Unreadable(f"not UTF-8 text ({error.reason} at byte {error.start})") from None
    try:
        raw = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise Unreadable(f"not JSON ({str(error)[:100]})") from None
    try:
        notebook = nbformat.convert(nbformat.reader.reads(text), 4)
        nbformat.validate(notebook)
        return notebook, ""
    except Exception:       # any way nbformat can fail on JSON it did not write
        return salvage(raw), ("did not follow the notebook format: kept each cell's type, "
                              "source and nbgrader metadata")


CELL_MAKERS = {"code": new_code_cell, "markdown": new_markdown_cell, "raw": new_raw_cell}


def salvage(raw):
    cells = raw.get("cells") if isinstance(raw, dict) else None
    if not isinstance(cells, list):
        raise Unreadable("JSON, but not a notebook (it has no list of cells)")
    notebook = new_notebook()
    for cell in cells:
        if not isinstance(cell, dict):
            continue
        source = cell.get("source")
        if isinstance(source, list) and all(isinstance(line, str) for line in source):
            source = "".join(source)
        metadata = cell.get("metadata")
        nbgrader = metadata.get("nbgrader") if isinstance(metadata, dict) else None
        if cell.get("cell_type") in CELL_MAKERS and isinstance(source, str):
            notebook.cells.append(CELL_MAKERS[cell["cell_type"]](
                source, metadata={"nbgrader": nbgrader} if isinstance(nbgrader, dict) else {}))
    return notebook


class KafkadojoSubmissions(NotebookExporter):
    """How ``nbgrader autograde`` reads submissions: anything at all (see ``read_submission``).
    A file that is no notebook becomes an empty one, marked in ``resources`` for
    ``KafkadojoSanitize``, so the learner still gets a row in the gradebook."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # nbgrader builds its exporter once, before the first learner: the one place to stop a
        # class run that cannot isolate learner code before anything reaches the gradebook.
        refuse_unisolated(KafkadojoGrades(parent=self).allow_unisolated, self.log)

    def from_file(self, file_stream, resources=None, **kw):
        resources = {} if resources is None else resources
        try:
            notebook, repair = read_submission(file_stream)
        except Unreadable as error:
            notebook, repair = new_notebook(), ""
            resources[UNREADABLE] = str(error)
        if repair:
            self.log.warning("%s %s", getattr(file_stream, "name", "a submission"), repair)
        return self.from_notebook_node(notebook, resources, **kw)


# -- the instructor's cells, from the gradebook ---------------------------------------------

@dataclass(frozen=True)
class ReleasedCell:
    """One of the instructor's nbgrader cells, as ``nbgrader generate_assignment`` recorded it."""
    name: str
    cell_type: str
    source: str
    checksum: str
    locked: bool
    solution: bool
    task: bool
    points: float | None        # grade cells only

    def metadata(self):
        metadata = {"grade": self.points is not None, "grade_id": self.name, "locked": self.locked,
                    "solution": self.solution, "schema_version": SCHEMA_VERSION,
                    "checksum": self.checksum, "cell_type": self.cell_type}
        if self.points is not None:
            metadata["points"] = self.points
        if self.task:
            metadata["task"] = True
        return metadata

    def claims(self, metadata):
        """Whether a submitted cell's nbgrader metadata says what the instructor's does."""
        ours = self.metadata()
        return all(metadata.get(key) == ours.get(key)
                   for key in ("grade", "solution", "locked", "points", "schema_version"))


def released_cells(resources):
    """The notebook's nbgrader cells in the gradebook, in the release's order, by name."""
    where = resources["nbgrader"]
    with Gradebook(where["db_url"]) as gradebook:
        notebook = gradebook.find_notebook(where["notebook"], where["assignment"])
        points = {cell.name: cell.max_score for cell in notebook.grade_cells}
        solutions = {cell.name for cell in notebook.solution_cells}
        tasks = {cell.name for cell in notebook.task_cells}
        return {cell.name: ReleasedCell(cell.name, cell.cell_type, cell.source, cell.checksum,
                                        cell.locked, cell.name in solutions, cell.name in tasks,
                                        points.get(cell.name))
                for cell in notebook.source_cells}


class KafkadojoSanitize(NbGraderPreprocessor):
    """Give a submission the instructor's nbgrader cells: a cell keeps its nbgrader
    metadata only as the instructor's copy (known name, same cell type, the last of any
    duplicates, as nbgrader's DeduplicateIds keeps), locked cells get the instructor's
    source back, and deleted grade and locked cells are put back. Anything else is an
    ordinary cell: it is not graded and cannot be."""

    def preprocess(self, notebook, resources):
        student = resources["nbgrader"]["student"]
        released = released_cells(resources)
        notebook.metadata.pop("kafkadojo", None)
        unreadable = resources.get(UNREADABLE)
        kept = self.keep_instructors_cells(notebook, released, student)
        self.restore_missing_cells(notebook, released, kept, student, announce=not unreadable)
        if unreadable:
            self.log.warning("%s: %s could not be read (%s): zero points", student,
                             resources["nbgrader"]["notebook"], unreadable)
            notebook.metadata["kafkadojo"] = {"unreadable": unreadable}
            notebook.cells.insert(0, new_markdown_cell(
                f"**kafkadojo could not read this submission:** {unreadable}."))
        return notebook, resources

    def keep_instructors_cells(self, notebook, released, student):
        kept = {}
        for cell in reversed(notebook.cells):
            if "nbgrader" not in cell.metadata:
                continue
            claimed = cell.metadata.pop("nbgrader")
            grade_id = claimed.get("grade_id") if isinstance(claimed, dict) else None
            original = released.get(grade_id) if isinstance(grade_id, str) else None
            problem = ("not one of the instructor's cells" if original is None
                       else "a copy of a later cell" if grade_id in kept
                       else f"retyped {cell.cell_type}" if cell.cell_type != original.cell_type
                       else "")
            if problem:
                self.log.warning("%s: a cell claiming nbgrader id %.60r is an ordinary cell "
                                 "now (%s)", student, grade_id, problem)
                continue
            if not original.claims(claimed):
                self.log.warning("%s: cell %s had its nbgrader metadata changed; the "
                                 "instructor's is back", student, grade_id)
            cell.metadata["nbgrader"] = original.metadata()
            if original.locked:
                cell.source = original.source
            kept[grade_id] = cell
        return kept

    def restore_missing_cells(self, notebook, released, kept, student, announce=True):
        """Put each missing grade or locked cell back after the instructor's cell before it.
        A missing solution cell stays missing: the learner's answers are theirs."""
        previous = None
        for name, original in released.items():
            if name not in kept:
                if original.solution or not (original.points is not None or original.locked):
                    continue
                cell = CELL_MAKERS[original.cell_type](
                    original.source, metadata={"nbgrader": original.metadata()})
                position = 0 if previous is None else next(
                    index for index, other in enumerate(notebook.cells) if other is previous) + 1
                notebook.cells.insert(position, cell)
                kept[name] = cell
                if announce:
                    self.log.warning("%s: cell %s was missing; the instructor's is back",
                                     student, name)
            previous = kept[name]


# -- grading ------------------------------------------------------------------------------

def capped(text, limit=MAX_FEEDBACK_CHARS):
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n... (cut: the report was {len(text)} characters)"


class KafkadojoGrades(NbGraderPreprocessor):
    """Fill every autograded cell (a code grade cell) with the out-of-process grader's
    verdict and points. Only refusing to grade without isolation raises: anything else
    costs the one exercise it happened in."""

    allow_unisolated = Bool(False, help=(
        "Grade even where learner code cannot be isolated by the operating system: the "
        "grades are then not tamper-proof.")).tag(config=True)

    def preprocess(self, notebook, resources):
        refuse_unisolated(self.allow_unisolated, self.log)
        student = resources.get("nbgrader", {}).get("student", "learner")
        released = released_cells(resources)
        points = {name: cell.points for name, cell in released.items()
                  if cell.points is not None}
        marker = notebook.metadata.get("kafkadojo")     # KafkadojoSanitize's, never the learner's
        unreadable = marker.get("unreadable") if isinstance(marker, dict) else None
        source = solution_units(notebook)
        skipped = {}        # cells that hang or kill the worker: found once per notebook
        for cell in notebook.cells:
            if cell.cell_type != "code" or not utils.is_grade(cell) or utils.is_solution(cell):
                continue
            grade_id = cell.metadata["nbgrader"].get("grade_id")
            try:
                text, earned = self.verdict(grade_id, points, source, unreadable, resources,
                                            skipped, released)
            except Exception:
                self.log.warning("%s: the kafkadojo grader failed on %s; zero points until "
                                 "you regrade:\n%s", student, grade_id, traceback.format_exc())
                text = f"kafkadojo check: the grader failed on {grade_id}; your instructor sees why."
                earned = 0
            # nbgrader reads a grade cell without a number as full marks: always write one.
            earned = max(0, min(earned, points.get(grade_id, 0)))
            cell.outputs = [
                new_output("stream", name="stdout", text=capped(text) + "\n"),
                new_output("execute_result", data={"text/plain": f"{earned:g}"},
                           execution_count=None),
            ]
            cell.execution_count = None
        return notebook, resources

    def verdict(self, grade_id, points, source, unreadable, resources, skipped=None,
                released=None):
        if grade_id not in points:
            return f"kafkadojo check: {grade_id} is not one of the instructor's grade cells.", 0
        exercise = BY_GRADE_ID.get(grade_id)
        # A quiz question (kafkadojo drill --export) is named in the grade cell's hidden part,
        # which only the gradebook keeps.
        question = quiz.question_of(released[grade_id].source) if (
            exercise is None and released and grade_id in released) else None
        if question is not None:
            if unreadable:
                return (f"kafkadojo quiz: your notebook could not be read ({unreadable}), so "
                        f"nothing in it was graded.", 0)
            number = grade_id.rpartition("answer_")[2]
            return grade_answer(source, number, question, points[grade_id], skipped=skipped)
        if exercise is None:
            return f"kafkadojo check: {grade_id} is not a kafkadojo exercise: grade it by hand.", 0
        if unreadable:
            return (f"kafkadojo check: {exercise.id}: your notebook could not be read "
                    f"({unreadable}), so nothing in it was graded.", 0)
        # One exercise per call: a grader failure costs that exercise alone.
        report = grade_source(source, [exercise.id],
                              submission=resources.get("unique_key", "notebook"), skipped=skipped)
        return report.format(verbose=True), report.earned


SANITIZE_PREPROCESSORS = [
    ClearOutput,
    KafkadojoSanitize,
    # nbgrader's own checks, after ours: they find nothing left to fix.
    DeduplicateIds,
    OverwriteKernelspec,
    OverwriteCells,
    CheckCellMetadata,
]

AUTOGRADE_PREPROCESSORS = [
    KafkadojoGrades,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]
