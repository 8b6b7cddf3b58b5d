"""The course as instructors and learners use it: notebooks that run, and the nbgrader
round trip giving each sample submission the grade the CLI gives it.

Released notebooks: a learner who fills in only the function bodies of the released stubs
(with the engine's own, from the source notebook's solution regions) and keeps every other
released line earns full marks on every path: ``kafkadojo check`` on every assignment,
the in-notebook ``check()`` in a real kernel on every assignment (the released notebook run
top to bottom), and ``nbgrader autograde`` on ``groups`` (the assignment whose release once
held a top-level stub; the class run below grades the samples anyway, and every extra
notebook there costs a whole assignment's grading)."""

import json
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from kafkadojo.autograder import properties
from kafkadojo.autograder.course import Course
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


SOLVED = "solved-release"            # the student who hands in the solved released notebooks
STRAY = "stray-line"                 # ... and one with a stray line in the murmur2 cell
ANSWERED = "answered"                   # ... and one who also writes the answers


def solved_path(course, assignment, tmp_path):
    folder = tmp_path / assignment
    folder.mkdir()
    path = folder / f"{assignment}.ipynb"
    path.write_text(json.dumps(course.solved_release(assignment)))
    return path


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_released_cells_define_functions_and_nothing_fails_at_the_top_level(course, assignment):
    """The released solution and givens cells, run in order as they are released, raise
    nothing: whatever a learner leaves unsolved fails in its own function, never on load."""
    namespace = {}
    for cell in course.release_notebook(assignment)["cells"]:
        nbgrader = cell["metadata"].get("nbgrader", {})
        if cell["cell_type"] == "code" and (nbgrader.get("solution")
                                            or nbgrader.get("grade_id", "").endswith("-givens")):
            exec(compile("".join(cell["source"]), nbgrader["grade_id"], "exec"), namespace)
    assert all(callable(namespace.get(e.function)) for e in exercises_for(assignment))


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solved_release_earns_full_marks_with_kafkadojo_check(course, assignment, tmp_path, capsys):
    from kafkadojo.cli import main as cli
    path = solved_path(course, assignment, tmp_path)
    assert cli(["check", str(path), "--assignment", assignment]) == 0, capsys.readouterr().out


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solved_release_runs_top_to_bottom_in_a_kernel_with_full_marks(course, assignment, tmp_path):
    """The in-notebook check() of every grade cell, in a real kernel; the pictures render;
    nothing of the grader appears next to the notebook."""
    path = solved_path(course, assignment, tmp_path)
    nb = execute(path)
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]
    grades = [c for c in nb.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")]
    assert len(grades) == len(exercises_for(assignment))
    for cell in grades:
        points = cell.metadata["nbgrader"]["points"]
        text = outputs_text(cell)
        assert f"{points}/{points} points" in text, text
    pictures = [c for c in nb.cells if c.cell_type == "code" and "pictures.show" in c.source]
    assert pictures and all(any("application/vnd.jupyter.widget-view+json" in o.get("data", {})
                                for o in c.outputs) for c in pictures)


def test_the_buggy_rule_in_the_replication_picture_loses_data():
    from kafkadojo.exercises.pictures import draw_snapshot, leader_crash_story
    good = draw_snapshot(leader_crash_story()[-1])
    def bad(current_hw, leader_leo, follower_leos, isr_size, min_insync_replicas):
        return max(current_hw, leader_leo)
    buggy = draw_snapshot(leader_crash_story(next_high_watermark=bad)[-1])
    assert "LOST" not in good and "LOST" in buggy


def with_stray_line(notebook):
    """A scratch ``print(x)`` (x undefined) at the end of the murmur2 solution cell, and
    another in a cell of its own."""
    for cell in notebook["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == "partitioning-murmur2-solution":
            cell["source"] = "".join(cell["source"]) + "\n\nprint(x)\n"
    notebook["cells"].append({"cell_type": "code", "metadata": {}, "source": "print(x)",
                              "outputs": [], "execution_count": None})
    return notebook


def answered(notebook):
    """The notebook with every written answer filled in."""
    for cell in notebook["cells"]:
        if cell["cell_type"] == "markdown" and cell["metadata"].get("nbgrader", {}).get("solution"):
            cell["source"] = "A consumer that stops polling leaves its group; static members..."
    return notebook


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = Course.scratch(tmp_path_factory.mktemp("course") / "course")
    course.release()
    course.submit_samples()
    course.submit(SOLVED, "groups", course.solved_release("groups"))
    course.submit(ANSWERED, "groups", answered(course.solved_release("groups")))
    course.submit(STRAY, "partitioning", with_stray_line(course.solved_release("partitioning")))
    course.autograde()
    course.generate_feedback()
    return course


def test_nbgrader_gives_the_solved_release_full_marks(course):
    score, max_score = course.scores()[(SOLVED, "groups")]
    assert score == max_score == sum(e.points for e in exercises_for("groups"))


def test_nbgrader_charges_a_stray_line_to_its_cell_alone(course):
    """The stray line in the murmur2 cell costs murmur2's 3 points; the one in a cell of its
    own costs nothing; the feedback names the cell and the learner's line."""
    assert course.cell_scores(STRAY, "partitioning") == {
        "partitioning-murmur2": 0, "partitioning-partition_for_key": 2,
        **{e.grade_id: e.points for e in exercises_for("partitioning")[2:]}}
    text = course.feedback_text("partitioning", STRAY)
    assert re.search(r"cell \d+ \(`def murmur2\(", text) and "print(x)" in text
    assert "NameError: name 'x' is not defined" in text


def test_no_grader_file_lands_in_the_course(course):
    """After check(), kafkadojo check and nbgrader autograde: no hypothesis database, and
    each autograded folder holds the notebook alone."""
    assert not list(course.root.rglob(".hypothesis"))
    for folder in (course.root / "autograded").glob("*/*"):
        assert [p.name for p in folder.iterdir()] == [f"{folder.name}.ipynb"], folder
    for folder in (course.root / "release").iterdir():
        assert [p.name for p in folder.iterdir()] == [f"{folder.name}.ipynb"], folder


def test_check_in_the_source_folder_leaves_the_release_holding_the_notebook_alone(tmp_path,
                                                                                  monkeypatch):
    """check() run by a kernel whose working folder is the assignment's source folder, and
    kafkadojo check run from there, leave nothing next to the notebook; the release then
    holds exactly the notebook."""
    from kafkadojo.cli import main as cli
    course = Course.scratch(tmp_path / "course")
    folder = course.root / "source" / "isr"
    source = nbformat.read(folder / "isr.ipynb", as_version=4)
    wanted = {"setup", "isr-givens", "isr-is_caught_up-solution", "isr-is_caught_up"}
    scratch = nbformat.v4.new_notebook(cells=[
        c for c in source.cells if c.metadata.get("nbgrader", {}).get("grade_id") in wanted])
    NotebookClient(scratch, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(folder)}}).execute()
    assert "1/1 points" in outputs_text(scratch.cells[-1])
    monkeypatch.chdir(folder)
    assert cli(["check", "isr.ipynb", "--only", "isr.is_caught_up"]) == 0
    assert sorted(p.name for p in folder.iterdir()) == ["isr.ipynb"]
    course.release(["isr"])
    assert sorted(p.name for p in (course.root / "release" / "isr").iterdir()) == ["isr.ipynb"]


def test_release_has_stubs_not_solutions(course):
    for assignment in ASSIGNMENTS:
        text = json.dumps(course.release_notebook(assignment))
        assert "BEGIN SOLUTION" not in text and "NotImplementedError" in text
        for exercise in exercises_for(assignment):
            assert f"def {exercise.function}(" in text


def test_nbgrader_charges_every_sample_exactly_its_mistakes(course):
    """What test_autograder.py holds ``kafkadojo check`` to (the reference earns everything,
    the stubs nothing, each bug loses exactly its exercises), nbgrader is held to here, grade
    cell by grade cell: the two paths agree without grading every sample twice."""
    scores = course.scores()
    assert {student for student, _ in scores} == set(SAMPLES) | {SOLVED, STRAY, ANSWERED}
    for name, sample in SAMPLES.items():
        exercises = exercises_for(sample.assignment)
        cells = course.cell_scores(name, sample.assignment)
        lost = {e.id for e in exercises if cells[e.grade_id] < e.points}
        expected = {e.id for e in exercises} if sample.stub else set(sample.expected_failures)
        assert lost == expected, (name, cells)
        assert scores[(name, sample.assignment)] == (
            sum(cells.values()), sum(e.points for e in exercises)), name


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
    cannot make nbgrader drop the grade; the cell that hangs costs its own exercise alone
    (fill_notebook puts top-level code into the first solution cell, last_caught_up_time's)."""
    course = Course.scratch(tmp_path / "course")
    course.release(["isr"])
    notebook = course.release_notebook("isr")
    source = SAMPLES["isr-reference"].source() + (
        "\n\nwhile True:\n    try:\n        pass\n    except BaseException:\n        pass\n")
    from kafkadojo.autograder.samples import fill_notebook
    course.submit("stubborn", "isr", fill_notebook(notebook, source))
    course.autograde(["isr"])
    score, max_score = course.scores()[("stubborn", "isr")]
    assert max_score == 9 and score == 9 - 2
    assert course.cell_scores("stubborn", "isr")["isr-last_caught_up_time"] == 0


def test_nbgrader_validate_on_an_untouched_release_says_nothing_is_done_yet(course, tmp_path):
    """Not "Partial credit" for a cell with nothing done: each grade cell says what it lacks."""
    import subprocess
    import sys
    notebook = tmp_path / "offsets.ipynb"
    notebook.write_text(json.dumps(course.release_notebook("offsets")))
    nbgrader = Path(sys.executable).parent / "nbgrader"
    shown = subprocess.run([str(nbgrader), "validate", str(notebook)], capture_output=True,
                           text=True, timeout=600, cwd=tmp_path)
    output = shown.stdout + shown.stderr
    assert "Partial credit" not in output
    for exercise in exercises_for("offsets"):
        assert (f"Not done yet: {exercise.function} still raises NotImplementedError "
                f"(0/{exercise.points} point") in output


def test_a_grade_cell_says_in_one_line_what_its_exercise_lacks(capsys):
    from kafkadojo.autograder.notebook import check
    from kafkadojo.exercises.catalog import BY_ID, stub_module
    stubs = stub_module("isr")
    assert check("isr.can_join_isr", cells=[stubs]) == 0
    assert capsys.readouterr().err.strip() == (
        "Not done yet: can_join_isr still raises NotImplementedError (0/2 points).")
    wrong = stubs.replace('    raise NotImplementedError("can_join_isr: your code here")',
                          "    return follower_leo > leader_hw")
    assert wrong != stubs
    assert check("isr.can_join_isr", cells=[wrong]) < 2
    assert "can_join_isr fails" in capsys.readouterr().err
    assert check("isr.can_join_isr", cells=[BY_ID["isr.can_join_isr"].solution_source()]) == 2
    assert capsys.readouterr().err == ""


def test_written_answers_are_released_empty_and_left_to_the_instructor(course):
    """Each "What an interviewer probes" box ends in an answer cell graded by hand: the
    release holds an empty answer, never the rubric; nbgrader autograde leaves an answered
    cell for the instructor and scores only the code."""
    for assignment in ASSIGNMENTS:
        source = json.loads(notebooks.path_for(assignment).read_text())
        rubrics = [c for c in source["cells"] if c["cell_type"] == "markdown"
                   and c["metadata"].get("nbgrader", {}).get("solution")]
        assert rubrics and all(c["metadata"]["nbgrader"]["grade"] for c in rubrics)
        released = {c["metadata"]["nbgrader"]["grade_id"]: "".join(c["source"])
                    for c in course.release_notebook(assignment)["cells"]
                    if c["metadata"].get("nbgrader", {}).get("grade_id")}
        for rubric in rubrics:
            assert released[rubric["metadata"]["nbgrader"]["grade_id"]] == "YOUR ANSWER HERE"
            assert rubric["source"].splitlines()[0] not in json.dumps(
                course.release_notebook(assignment))
    written = course.scores(written=True)
    answer_points = sum(c["metadata"]["nbgrader"]["points"]
                        for c in json.loads(notebooks.path_for("groups").read_text())["cells"]
                        if c["cell_type"] == "markdown" and c["metadata"].get("nbgrader"))
    score, possible = written[(ANSWERED, "groups")]
    assert possible == answer_points and score is None        # waits for the instructor
    assert course.scores()[(ANSWERED, "groups")][0] == sum(e.points for e in exercises_for("groups"))
    assert "to grade by hand" in course.gradebook_table()
