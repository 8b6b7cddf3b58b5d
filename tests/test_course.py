"""The course as instructors and learners use it: notebooks that run, and the nbgrader
round trip giving each sample submission the grade the CLI gives it."""

import json
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from kafkadojo.autograder import properties
from kafkadojo.autograder.course import Course
from kafkadojo.autograder.grader import grade_source
from kafkadojo.autograder.samples import SAMPLES
from kafkadojo.exercises import notebooks
from kafkadojo.exercises.catalog import ASSIGNMENTS, exercises_for


def test_committed_notebooks_are_what_the_builder_makes():
    assert notebooks.main(["--check"]) == 0, "run: python -m kafkadojo.exercises.notebooks"


def test_committed_notebooks_have_no_outputs():
    for assignment in ASSIGNMENTS:
        nb = json.loads(notebooks.path_for(assignment).read_text())
        assert all(not c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code")


def execute(path, allow_errors=False):
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=allow_errors,
                            resources={"metadata": {"path": str(Path(path).parent)}})
    client.execute()
    return nb


def outputs_text(cell):
    return "".join(o.get("text", "") + "".join(o.get("data", {}).get("text/plain", ""))
                   for o in cell.get("outputs", []))


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_source_notebook_runs_top_to_bottom_with_full_marks(assignment):
    nb = execute(notebooks.path_for(assignment))
    grades = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert len(grades) == len(exercises_for(assignment))
    for cell in grades:
        points = cell.metadata["nbgrader"]["points"]
        text = outputs_text(cell)
        assert f"{points}/{points} points" in text, text
    pictures = [c for c in nb.cells if "pictures.show" in c.source]
    assert pictures and all(any("application/vnd.jupyter.widget-view+json" in o.get("data", {})
                                for o in c.outputs) for c in pictures)


def test_the_buggy_rule_in_the_replication_picture_loses_data():
    from kafkadojo.exercises.pictures import draw_snapshot, leader_crash_story
    good = draw_snapshot(leader_crash_story()[-1])
    def bad(current_hw, leader_leo, follower_leos, isr_size, min_insync_replicas):
        return max(current_hw, leader_leo)
    buggy = draw_snapshot(leader_crash_story(next_high_watermark=bad)[-1])
    assert "LOST" not in good and "LOST" in buggy


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = Course.scratch(tmp_path_factory.mktemp("course") / "course")
    course.release()
    course.submit_samples()
    course.autograde()
    course.generate_feedback()
    return course


def test_release_has_stubs_not_solutions(course):
    for assignment in ASSIGNMENTS:
        text = json.dumps(course.release_notebook(assignment))
        assert "BEGIN SOLUTION" not in text and "NotImplementedError" in text
        for exercise in exercises_for(assignment):
            assert f"def {exercise.function}(" in text


def test_nbgrader_gives_every_sample_the_grade_the_cli_gives(course):
    scores = course.scores()
    assert len(scores) == len(SAMPLES)
    for name, sample in SAMPLES.items():
        score, max_score = scores[(name, sample.assignment)]
        expected = grade_source(sample.source(), [e.id for e in exercises_for(sample.assignment)])
        assert (score, max_score) == (expected.earned, expected.possible), name
        if name == f"{sample.assignment}-reference":
            assert score == max_score, expected.format()
        if sample.stub:
            assert score == 0
        if sample.expected_failures and not sample.stub:
            assert 0 < score < max_score, name


def test_feedback_teaches_and_reveals_no_hidden_test(course):
    hidden = set()
    for path in Path(properties.__file__).parent.glob("*.py"):
        hidden |= {line.strip() for line in path.read_text().splitlines()
                   if len(line.strip()) > 25 and not line.strip().startswith(("#", '"""', "from ", "import "))}
    for name, sample in SAMPLES.items():
        page = course.feedback_html(sample.assignment, name)
        leaked = [line for line in hidden if line in page]
        assert not leaked, f"{name}: {leaked[:2]}"
    text = course.feedback_text("replication", "replication-hw-ignores-followers")
    assert "wrong-high-watermark" in text and ">>> next_high_watermark(" in text


def test_a_notebook_that_hangs_in_the_kernel_still_gets_a_grade(tmp_path):
    """The kernel never runs learner code at autograde, so a cell that swallows interrupts
    cannot make nbgrader drop the grade."""
    course = Course.scratch(tmp_path / "course")
    course.release(["isr"])
    notebook = course.release_notebook("isr")
    source = SAMPLES["isr-reference"].source() + (
        "\n\nwhile True:\n    try:\n        pass\n    except BaseException:\n        pass\n")
    from kafkadojo.autograder.samples import fill_notebook
    course.submit("stubborn", "isr", fill_notebook(notebook, source))
    course.autograde(["isr"])
    score, max_score = course.scores()[("stubborn", "isr")]
    assert max_score == 9 and score == 0       # the module never finishes loading: no points, a grade
