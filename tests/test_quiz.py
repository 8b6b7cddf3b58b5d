"""Drills as a graded quiz: an instructor exports questions as an nbgrader assignment; the
release holds no answer and no way to find one; nbgrader autograde grades each answer against
the engine, in the sandbox, one question at a time."""

import json
import subprocess
import sys

import pytest

from kafkadojo.autograder.course import Course
from kafkadojo.autograder.quiz import as_text
from kafkadojo.exercises.drills import ask, quiz, shown

pytest.importorskip("nbgrader")

QUIZ = "quiz1"
QUESTIONS = [("partitioning.key-partition", 1, 2 ** 40 + 1),
             ("replication.acks-crash", 3, 2 ** 41 + 7),
             ("groups.range", 2, 2 ** 42 + 3),
             ("isr.acks-all", 1, 2 ** 43 + 5),
             ("offsets.crash-step", 2, 2 ** 44 + 9)]


def _cell(notebook, grade_id):
    return next(c for c in notebook["cells"]
                if c["metadata"].get("nbgrader", {}).get("grade_id") == grade_id)


def _answer(number, body):
    return f"def answer_{number}():\n    {body}\n"


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = Course.scratch(tmp_path_factory.mktemp("quiz") / "course")
    quiz.export(QUIZ, QUESTIONS, course.root)
    course.release([QUIZ])
    release = course.release_notebook(QUIZ)
    asked = [ask(kind, seed, level) for kind, level, seed in QUESTIONS]
    notebook = json.loads(json.dumps(release))
    right = shown(asked[0].answer, asked[0].form)
    bodies = {
        1: f"return {right!r}",                                   # right, as text
        2: f"return {sorted(asked[1].answer)!r}",                 # right, as a list
        3: 'return "ana: 0 1 2 3 4 5 6 7 8 9"',                   # wrong
        4: "while True:\n        pass",                          # hangs
        5: f"return {shown(asked[4].answer, asked[4].form)!r}",   # right
    }
    for number, body in bodies.items():
        _cell(notebook, f"{QUIZ}-answer_{number}-solution")["source"] = _answer(number, body)
    # a scratch line of the learner's own, in a cell of its own: it costs nothing
    notebook["cells"].insert(1, {"cell_type": "code", "metadata": {}, "outputs": [],
                                 "execution_count": None, "source": "print(undefined_name)"})
    course.submit("learner", QUIZ, notebook)
    course.autograde([QUIZ])
    autograded = json.loads((course.root / "autograded" / "learner" / QUIZ /
                             f"{QUIZ}.ipynb").read_text())
    return dict(course=course, release=release, asked=asked, autograded=autograded)


def test_the_release_holds_neither_answers_nor_the_questions_seeds(graded):
    text = json.dumps(graded["release"])
    assert "BEGIN SOLUTION" not in text and "kafkadojo quiz question" not in text
    for kind, level, seed in QUESTIONS:
        assert str(seed) not in text
    for number, question in enumerate(graded["asked"], 1):
        assert question.prompt.split("\n")[0] in text                 # the prompts are there
        stub = "".join(_cell(graded["release"], f"{QUIZ}-answer_{number}-solution")["source"])
        assert stub.startswith(f"def answer_{number}():")             # the learner fills it


def test_each_answer_is_graded_against_the_engine_on_its_own(graded):
    scores = graded["course"].cell_scores("learner", QUIZ)
    assert scores == {f"{QUIZ}-answer_1": 1, f"{QUIZ}-answer_2": 1, f"{QUIZ}-answer_3": 0,
                      f"{QUIZ}-answer_4": 0, f"{QUIZ}-answer_5": 1}
    feedback = {n: "".join("".join(o.get("text", "")) for o in _cell(
        graded["autograded"], f"{QUIZ}-answer_{n}")["outputs"]) for n in range(1, 6)}
    wrong = graded["asked"][2]
    assert "answer_3: not right" in feedback[3]
    assert f"the engine's answer is {shown(wrong.answer, wrong.form)}" in feedback[3]
    assert wrong.replay in feedback[3]
    assert "did not return in time" in feedback[4]
    assert feedback[1].startswith("answer_1: right")


def test_the_command_line_exports_the_same_quiz_for_the_same_seed(tmp_path):
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\n")
    command = [sys.executable, "-m", "kafkadojo.cli", "drill", "--export", "q", "--count", "4",
               "--concept", "replication", "--seed", "11", "--course", str(tmp_path)]
    first = subprocess.run(command, capture_output=True, text=True, check=True)
    assert "4 questions, 4 points" in first.stdout and "replication." in first.stdout
    path = tmp_path / "source" / "q" / "q.ipynb"
    saved = path.read_text()
    again = subprocess.run(command, capture_output=True, text=True)
    assert again.returncode == 2 and "exists" in again.stderr
    subprocess.run(command + ["--force"], capture_output=True, text=True, check=True)
    assert path.read_text() == saved
    kinds = [line.split("question: ")[1].split()[0] for line in saved.split("\\n")
             if "kafkadojo quiz question" in line]
    assert len(kinds) == 4 and all(k.startswith("replication.") for k in kinds)
    for bad, says in ((["--kind", "isr.card"], "flashcard"), (["--export", "a b"], "quiz name"),
                      (["--course", str(tmp_path / "nowhere")], "not an nbgrader course")):
        refused = subprocess.run(command + bad + ["--force"], capture_output=True, text=True)
        assert refused.returncode == 2 and says in refused.stderr, refused.stderr


def test_answers_are_taken_as_text_numbers_or_lists_and_nothing_else():
    assert as_text("0, 2") == "0, 2" and as_text(3) == "3" and as_text(True) == "yes"
    assert as_text([2, 0]) == "2, 0" and as_text([]) == "none"
    assert as_text({"ana": [0, 1], "ben": []}) == "ana: 0 1; ben: "
    for junk in (3.5, None, [1, "x"], {"ana": "0"}, "x" * 5_000, {1: [0]}):
        assert as_text(junk) is None, junk
