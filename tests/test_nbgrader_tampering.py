"""`nbgrader autograde` on tampered and malformed submissions, in one class run: each costs
only its learner, and only what they tampered with. Grade cells, points and which exercises
are graded come from the gradebook (the instructor's release), never from the submission."""

import copy
import html
import json
import re
from pathlib import Path

import nbformat
import pytest

from kafkadojo.autograder import nbgrader_plugin, properties
from kafkadojo.autograder.course import Course, NbgraderFailed
from kafkadojo.autograder.grader import grade_path
from kafkadojo.autograder.nbgrader_plugin import MAX_FEEDBACK_CHARS, KafkadojoGrades
from kafkadojo.autograder.samples import SAMPLES, fill_notebook
from kafkadojo.autograder.sandbox import isolation
from kafkadojo.exercises.catalog import solution_module

ASSIGNMENT = "offsets"                                          # 4 points, 3 exercises
LAG, PLAN = "offsets-partition_lag", "offsets-plan_batch"      # grade cell ids
FLOOD = 25_000_000


def cells(notebook, grade_id):
    return [cell for cell in notebook["cells"]
            if cell["metadata"].get("nbgrader", {}).get("grade_id") == grade_id]


def schema_version_4(notebook):
    cells(notebook, LAG)[0]["metadata"]["nbgrader"]["schema_version"] = 4


def grade_cell_copied(notebook):
    grade_cell = cells(notebook, LAG)[0]
    for _ in range(2):
        notebook["cells"].insert(notebook["cells"].index(grade_cell), copy.deepcopy(grade_cell))


def grade_cell_as_markdown(notebook):
    grade_cell = cells(notebook, LAG)[0]
    grade_cell["cell_type"] = "markdown"
    del grade_cell["outputs"], grade_cell["execution_count"]


def markdown_as_grade_cell(notebook):
    """The exercise's markdown becomes its grade cell, and the real one goes."""
    grade_cell = cells(notebook, LAG)[0]
    prose = next(cell for cell in notebook["cells"]
                 if "### Exercise: `partition_lag`" in "".join(cell["source"]))
    prose.update(cell_type="code", outputs=[], execution_count=None,
                 metadata=copy.deepcopy(grade_cell["metadata"]))
    notebook["cells"].remove(grade_cell)


def unknown_grade_id(notebook):
    cells(notebook, LAG)[0]["metadata"]["nbgrader"].update(grade_id="offsets-bonus", points=10)


def visible_test_promoted(notebook):
    cells(notebook, f"{LAG}-visible")[0]["metadata"]["nbgrader"].update(grade=True, points=5)


def grade_cells_deleted(notebook):
    for grade_id in (LAG, PLAN):
        notebook["cells"].remove(cells(notebook, grade_id)[0])


def output_flood(notebook):
    """25 MB of stored output on a code cell, and on a markdown cell (where the notebook
    format allows none, so the file no longer follows it)."""
    flood = {"output_type": "stream", "name": "stdout", "text": "x" * FLOOD}
    cells(notebook, f"{LAG}-solution")[0]["outputs"] = [flood]
    notebook["cells"][0]["outputs"] = [flood]


def exception_flood(notebook):
    cells(notebook, f"{PLAN}-solution")[0]["source"] = (
        f"def plan_batch(records, guarantee):\n    raise ValueError('z' * {FLOOD})\n")


# learner: (what they do to their notebook, the grade ids they did not solve). Where the
# tampering could only gain points, that exercise is left unsolved: any point there is a gain.
TAMPERERS = {
    "schema-version-4": (schema_version_4, ()),
    "grade-cell-copied": (grade_cell_copied, (LAG,)),
    "grade-cell-as-markdown": (grade_cell_as_markdown, ()),
    "markdown-as-grade-cell": (markdown_as_grade_cell, (LAG,)),
    "unknown-grade-id": (unknown_grade_id, (LAG,)),
    "visible-test-promoted": (visible_test_promoted, (LAG,)),
    "grade-cells-deleted": (grade_cells_deleted, ()),
    "output-flood": (output_flood, ()),
    "exception-flood": (exception_flood, (PLAN,)),
}
UNREADABLE = ["json-not-a-notebook", "json-list", "not-json", "not-utf8"]


def unreadable_file(learner, honest):
    return {"json-not-a-notebook": b'{"cells": 5}', "json-list": b"[]",
            "not-json": b"print('my answers')\n",
            "not-utf8": json.dumps(honest).encode().replace(b"Offsets", b"Offs\xe9ts", 1)}[learner]


def submitted(course, learner):
    return course.root / "submitted" / learner / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"


def autograded(course, learner):
    return course.root / "autograded" / learner / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    course = Course.scratch(tmp_path_factory.mktemp("tampering") / "course", allow_unisolated=False)
    (course.root / "source" / ASSIGNMENT / ".hypothesis").mkdir(exist_ok=True)  # as check() leaves
    course.release([ASSIGNMENT])
    release = course.release_notebook(ASSIGNMENT)
    reference = SAMPLES[f"{ASSIGNMENT}-reference"].source()
    honest = fill_notebook(release, reference)
    course.submit("honest", ASSIGNMENT, honest)
    course.submit("stubs", ASSIGNMENT, fill_notebook(release, SAMPLES[f"{ASSIGNMENT}-stubs"].source()))
    for learner, (tamper, unsolved) in TAMPERERS.items():
        notebook = fill_notebook(release, reference)
        for grade_id in unsolved:
            stub = cells(release, f"{grade_id}-solution")[0]["source"]
            cells(notebook, f"{grade_id}-solution")[0]["source"] = stub
        tamper(notebook)
        course.submit(learner, ASSIGNMENT, notebook)
    for learner in UNREADABLE:
        course.submit(learner, ASSIGNMENT, {})
        submitted(course, learner).write_bytes(unreadable_file(learner, honest))

    # First as an instructor who did not opt in, on a machine that cannot isolate.
    with pytest.MonkeyPatch.context() as patch, pytest.raises(NbgraderFailed) as refused:
        patch.setenv("KAFKADOJO_SANDBOX", "guard")
        course.autograde([ASSIGNMENT])
    rows_after_refusal = course.scores()

    if not isolation().tamper_proof:
        course.allow_unisolated()
    log = course.nbgrader("autograde", ASSIGNMENT, "--force").stderr     # raises on any ERROR
    course.generate_feedback([ASSIGNMENT])
    return dict(course=course, log=log, refused=str(refused.value),
                rows_after_refusal=rows_after_refusal)


def test_without_isolation_nbgrader_stops_before_grading_anyone(run):
    assert "allow_unisolated" in run["refused"] and "cannot be isolated" in run["refused"]
    assert run["rows_after_refusal"] == {}


def test_every_learner_has_a_row(run):
    learners = {"honest", "stubs", *TAMPERERS, *UNREADABLE}
    scores = run["course"].scores()
    assert set(scores) == {(learner, ASSIGNMENT) for learner in learners}
    assert all(max_score == 4 for _, max_score in scores.values())


def test_no_hypothesis_cache_is_released_or_copied_into_submissions(run):
    for folder in ("release", "autograded"):
        assert not list((run["course"].root / folder).rglob(".hypothesis")), folder


def test_the_honest_learner_gets_what_grade_path_gives(run):
    course = run["course"]
    alone = grade_path(submitted(course, "honest"), assignment=ASSIGNMENT)
    assert course.scores()[("honest", ASSIGNMENT)] == (alone.earned, alone.possible) == (4, 4)
    assert course.scores()[("stubs", ASSIGNMENT)] == (0, 4)


@pytest.mark.parametrize("learner", TAMPERERS)
def test_a_tamperer_keeps_exactly_what_they_solved(run, learner):
    course = run["course"]
    unsolved = TAMPERERS[learner][1]
    expected = {grade_id: 0 if grade_id in unsolved else score
                for grade_id, score in course.cell_scores("honest", ASSIGNMENT).items()}
    assert course.cell_scores(learner, ASSIGNMENT) == expected


@pytest.mark.parametrize("learner", UNREADABLE)
def test_an_unreadable_notebook_scores_zero_and_the_instructor_sees_why(run, learner):
    course = run["course"]
    assert course.scores()[(learner, ASSIGNMENT)] == (0, 4)
    said = re.search(rf"WARNING\] {learner}: {ASSIGNMENT} could not be read \((.+)\): zero points",
                     run["log"])
    assert said, run["log"][-2000:]
    assert said.group(1) in html.unescape(course.feedback_html(ASSIGNMENT, learner))


def test_a_notebook_off_the_format_is_repaired_and_the_log_says_so(run):
    assert f"{submitted(run['course'], 'output-flood')} did not follow the notebook format" in run["log"]


def hidden_lines():
    """Lines of the hidden properties, less those the learners' own code holds too (the
    reference's lines, in the honest learners' notebooks that the feedback pages show)."""
    lines = set()
    for path in Path(properties.__file__).parent.glob("*.py"):
        lines |= {line.strip() for line in path.read_text().splitlines() if len(line.strip()) > 25
                  and not line.strip().startswith(("#", '"""', "from ", "import "))}
    return lines - {line.strip() for line in solution_module(ASSIGNMENT).splitlines()}


def test_feedback_is_small_and_quotes_no_hidden_property(run):
    course = run["course"]
    hidden = hidden_lines()
    for learner, _ in course.scores():
        page = course.feedback_html(ASSIGNMENT, learner)
        assert len(page.encode()) < 400_000, learner
        text = html.unescape(re.sub(r"<[^>]+>", "", page))
        leaked = [line for line in hidden if line in text]
        assert not leaked, f"{learner}: {leaked[:2]}"


def test_a_flood_of_error_text_is_cut_in_its_grade_cell(run):
    notebook = json.loads(autograded(run["course"], "exception-flood").read_text())
    report = "".join(cells(notebook, PLAN)[0]["outputs"][0]["text"])
    assert "zzzz" in report and len(report) < MAX_FEEDBACK_CHARS + 200


def test_a_grader_failure_costs_its_exercise_alone_and_shows_no_traceback(run, monkeypatch):
    course = run["course"]
    secret = sorted(hidden_lines())[0]
    really = nbgrader_plugin.grade_source

    def grade_source(source, exercise_ids, **kwargs):
        if exercise_ids == ["offsets.plan_batch"]:
            raise RuntimeError(secret)
        return really(source, exercise_ids, **kwargs)

    monkeypatch.setattr(nbgrader_plugin, "grade_source", grade_source)
    notebook = nbformat.read(autograded(course, "honest"), as_version=4)
    resources = {"nbgrader": {"db_url": f"sqlite:///{course.root / 'gradebook.db'}",
                              "student": "honest", "notebook": ASSIGNMENT, "assignment": ASSIGNMENT}}
    grades = KafkadojoGrades(allow_unisolated=not isolation().tamper_proof)
    notebook, _ = grades.preprocess(notebook, resources)
    graded = {cell.metadata.nbgrader["grade_id"]: cell.outputs for cell in notebook.cells
              if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade")}
    assert {grade_id: outputs[1].data["text/plain"] for grade_id, outputs in graded.items()} == \
        {"offsets-committed_offsets": "1", PLAN: "0", LAG: "1"}
    assert "the grader failed on offsets-plan_batch" in graded[PLAN][0].text
    assert not any(secret in outputs[0].text or "Traceback" in outputs[0].text
                   for outputs in graded.values())
