"""``kafkadojo grade``: a class graded in parallel, every student gets a row (even when a
grading process is killed), the CSV, JSON and Gradescope outputs say the same thing and
what isolated the learners' code, and instructor grading refuses to run unisolated unless
told to."""

import csv
import json
import os
import signal
from pathlib import Path

import pytest

from kafkadojo.autograder import classroom, grader, sandbox
from kafkadojo.autograder.notebook import check
from kafkadojo.autograder.samples import SAMPLES, fill_notebook
from kafkadojo.cli import main as cli
from kafkadojo.exercises.catalog import exercises_for

SOURCE = Path(__file__).resolve().parent.parent / "notebooks" / "source"
ISR_POINTS = sum(e.points for e in exercises_for("isr"))
UNISOLATED = sandbox.Isolation("in-process guard", False, "no user namespaces in this test")
ISOLATED = sandbox.Isolation("bubblewrap", True, "pretended by this test")


def submit(root, student, text, sample=None):
    folder = root / "submitted" / student / "isr"
    folder.mkdir(parents=True)
    if sample is not None:
        notebook = json.loads((SOURCE / "isr" / "isr.ipynb").read_text())
        text = json.dumps(fill_notebook(notebook, SAMPLES[sample].source()))
    (folder / "isr.ipynb").write_bytes(text if isinstance(text, bytes) else text.encode())
    return folder / "isr.ipynb"


def pretend(monkeypatch, found):
    """Make this process and the grading workers it forks see ``found`` as the isolation:
    the probe's cache and the names that may have been imported from it."""
    monkeypatch.setattr(sandbox, "_ISOLATION", found, raising=False)
    monkeypatch.setattr(sandbox, "isolation", lambda: found)
    monkeypatch.setattr(grader, "isolation", lambda: found)


def test_grade_a_class_to_csv_json_with_progress(tmp_path, capsys):
    submit(tmp_path, "alice", "", "isr-reference")
    submit(tmp_path, "bob", "", "isr-stubs")
    submit(tmp_path, "carol", "", "isr-unclean-always")
    submit(tmp_path, "dave", '{"cells": [ this is not a notebook')
    submit(tmp_path, "erin", b'{"cells": "\xff\xfe not UTF-8"}')
    out_csv, out_json = tmp_path / "grades.csv", tmp_path / "grades.json"
    out_book = tmp_path / "gradebook.csv"
    assert cli(["grade", str(tmp_path / "submitted"), "--jobs", "2", "--allow-unisolated",
                "--csv", str(out_csv), "--json", str(out_json), "--gradebook", str(out_book)]) == 0
    captured = capsys.readouterr()
    assert "graded 5/5 submissions" in captured.err          # the progress finished
    assert "5 submissions" in captured.out
    isolated_by = sandbox.isolation().describe()
    assert f"learner code isolated by: {isolated_by}" in captured.out

    by_student = {row["student"]: row for row in json.loads(out_json.read_text())}
    assert set(by_student) == {"alice", "bob", "carol", "dave", "erin"}
    assert by_student["alice"]["earned"] == by_student["alice"]["possible"] == ISR_POINTS
    assert by_student["bob"]["earned"] == 0
    lost_by_carol = {e["id"] for e in by_student["carol"]["report"]["exercises"]
                     if e["earned"] < e["points"]}
    assert lost_by_carol == {"isr.elect_leader"}
    assert by_student["dave"]["earned"] == 0 and by_student["dave"]["possible"] == ISR_POINTS
    assert "JSON" in by_student["dave"]["problem"] or "Expecting" in by_student["dave"]["problem"]
    assert by_student["erin"]["earned"] == 0 and "UnicodeDecodeError" in by_student["erin"]["problem"]
    assert {row["isolation"] for row in by_student.values()} == {isolated_by}

    book = list(csv.reader(out_book.open()))
    assert book[0] == ["student", "isr", "total"]
    assert book[1] == ["(points possible)", str(ISR_POINTS), str(ISR_POINTS)]
    assert {row[0]: int(row[1]) for row in book[2:]} == {
        student: by_student[student]["earned"] for student in by_student}

    rows = list(csv.DictReader(out_csv.open()))
    earned = {}
    for row in rows:
        earned[row["student"]] = earned.get(row["student"], 0) + int(row["earned"])
    assert earned == {student: by_student[student]["earned"] for student in by_student}
    assert len([r for r in rows if r["student"] == "alice"]) == len(exercises_for("isr"))
    assert {row["isolation"] for row in rows} == {isolated_by}


def test_gradescope_results_json_for_one_submission(tmp_path, capsys):
    notebook = submit(tmp_path, "carol", "", "isr-unclean-always")
    results = tmp_path / "results.json"
    assert cli(["grade", str(notebook), "--assignment", "isr", "--quiet", "--allow-unisolated",
                "--gradescope", str(results)]) == 0
    data = json.loads(results.read_text())
    assert data["score"] == sum(t["score"] for t in data["tests"]) < ISR_POINTS
    assert sum(t["max_score"] for t in data["tests"]) == ISR_POINTS
    failed = [t for t in data["tests"] if t["score"] < t["max_score"]]
    assert failed and all(t["name"].startswith("isr.elect_leader") for t in failed)
    assert all("anomaly:" in t["output"] and "replay:" in t["output"] for t in failed)
    assert sandbox.isolation().describe() in data["output"]

    broken = tmp_path / "broken.ipynb"
    broken.write_text("not json")
    assert cli(["grade", str(broken), "--assignment", "isr", "--quiet", "--allow-unisolated",
                "--gradescope", str(results)]) == 0
    data = json.loads(results.read_text())
    assert data["score"] == 0 and "could not grade" in data["output"]
    assert sandbox.isolation().describe() in data["output"]
    capsys.readouterr()


def test_grade_refuses_gradescope_for_many_and_an_empty_directory(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert cli(["grade", str(tmp_path / "empty")]) == 2
    assert "no submissions" in capsys.readouterr().err
    for student in ("alice", "bob"):
        (tmp_path / f"{student}.py").write_text("")
    assert cli(["grade", str(tmp_path), "--gradescope", str(tmp_path / "results.json")]) == 2
    assert "hand in one file" in capsys.readouterr().err
    # Gradescope shows the learner why there is no grade
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["score"] == 0 and data["tests"] == []
    assert "there are 2: alice.py, bob.py; hand in one file" in data["output"]


def test_grade_refuses_to_run_unisolated_unless_allowed(tmp_path, capsys, monkeypatch):
    pretend(monkeypatch, UNISOLATED)
    notebook = submit(tmp_path, "alice", "", "isr-reference")
    outputs = {name: tmp_path / name for name in ("grades.csv", "grades.json", "results.json")}
    assert cli(["grade", str(tmp_path / "submitted"), "--quiet", "--csv", str(outputs["grades.csv"]),
                "--json", str(outputs["grades.json"])]) == 2
    assert cli(["grade", str(notebook), "--assignment", "isr", "--quiet",
                "--gradescope", str(outputs["results.json"])]) == 2
    captured = capsys.readouterr()
    assert captured.err.count("--allow-unisolated") == 2 and UNISOLATED.detail in captured.err
    assert "graded" not in captured.err and captured.out == ""      # nothing was graded
    assert not outputs["grades.csv"].exists() and not outputs["grades.json"].exists()
    refused = json.loads(outputs["results.json"].read_text())     # what Gradescope shows
    assert refused["score"] == 0 and "--allow-unisolated" in refused["output"]

    assert cli(["grade", str(tmp_path / "submitted"), "--quiet", "--allow-unisolated",
                "--csv", str(outputs["grades.csv"]), "--json", str(outputs["grades.json"])]) == 0
    assert cli(["grade", str(notebook), "--assignment", "isr", "--quiet", "--allow-unisolated",
                "--gradescope", str(outputs["results.json"])]) == 0
    recorded = {row["isolation"] for row in csv.DictReader(outputs["grades.csv"].open())}
    recorded |= {row["isolation"] for row in json.loads(outputs["grades.json"].read_text())}
    assert recorded == {UNISOLATED.describe()} and "tamper-proof" in UNISOLATED.describe()
    assert UNISOLATED.describe() in json.loads(outputs["results.json"].read_text())["output"]
    assert f"learner code isolated by: {UNISOLATED.describe()}" in capsys.readouterr().out


def test_grade_runs_without_the_flag_under_os_isolation(tmp_path, capsys, monkeypatch):
    pretend(monkeypatch, ISOLATED)
    submit(tmp_path, "alice", "", "isr-stubs")
    out_json = tmp_path / "grades.json"
    assert cli(["grade", str(tmp_path / "submitted"), "--quiet", "--json", str(out_json)]) == 0
    assert json.loads(out_json.read_text())[0]["isolation"] == ISOLATED.describe()
    capsys.readouterr()


@pytest.mark.parametrize("found", [UNISOLATED, ISOLATED], ids=["unisolated", "isolated"])
def test_self_checks_say_when_they_are_not_tamper_proof(tmp_path, capsys, monkeypatch, found):
    pretend(monkeypatch, found)
    path = tmp_path / "isr.py"
    path.write_text(SAMPLES["isr-reference"].source())
    only = ["--only", "isr.is_caught_up"]
    notice = "a self-check, not a tamper-proof grade"

    assert cli(["check", str(path), *only]) == 0            # self-study never refuses
    assert (notice in capsys.readouterr().out) is not found.tamper_proof
    assert cli(["check", str(path), *only, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["earned"] == data["possible"] == 1
    assert data["isolation"] == found.describe() and data["tamper_proof"] is found.tamper_proof
    assert check("isr.is_caught_up", cells=[path.read_text()]) == 1
    assert (notice in capsys.readouterr().out) is not found.tamper_proof


REAL_GRADE_ONE = classroom._grade_one


def grade_or_be_killed(submission, jobs=1):
    """Stands in for ``classroom._grade_one`` in a pool worker: the OOM killer takes
    mallory's grading process every time, and alice's the first time only."""
    first_time = Path(os.environ["KAFKADOJO_TEST_KILLED_ONCE"])
    if submission.student == "alice" and not first_time.exists():
        first_time.touch()
        os.kill(os.getpid(), signal.SIGKILL)
    if submission.student == "mallory":
        os.kill(os.getpid(), signal.SIGKILL)
    return REAL_GRADE_ONE(submission, jobs)


def test_a_killed_grading_worker_costs_nobody_else_their_grade(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(classroom, "_grade_one", grade_or_be_killed)
    monkeypatch.setenv("KAFKADOJO_TEST_KILLED_ONCE", str(tmp_path / "alice-was-killed"))
    for student, sample in [("alice", "isr-reference"), ("bob", "isr-stubs"),
                            ("carol", "isr-unclean-always"), ("mallory", "isr-reference")]:
        submit(tmp_path, student, "", sample)
    out_csv, out_json = tmp_path / "grades.csv", tmp_path / "grades.json"
    out_book = tmp_path / "gradebook.csv"
    assert cli(["grade", str(tmp_path / "submitted"), "--jobs", "2", "--allow-unisolated",
                "--csv", str(out_csv), "--json", str(out_json), "--gradebook", str(out_book)]) == 0
    assert (tmp_path / "alice-was-killed").exists()
    assert "graded 4/4 submissions" in capsys.readouterr().err

    by_student = {row["student"]: row for row in json.loads(out_json.read_text())}
    assert by_student["alice"]["earned"] == by_student["alice"]["possible"] == ISR_POINTS
    assert by_student["bob"]["earned"] == 0 and by_student["bob"]["problem"] is None
    assert {e["id"] for e in by_student["carol"]["report"]["exercises"]
            if e["earned"] < e["points"]} == {"isr.elect_leader"}
    assert by_student["mallory"]["earned"] == 0 and by_student["mallory"]["possible"] == ISR_POINTS
    assert "died" in by_student["mallory"]["problem"]
    assert {row["student"] for row in csv.DictReader(out_csv.open())} == set(by_student)


def test_outputs_are_whole_files_or_untouched(tmp_path):
    alice = classroom.ClassResult("alice", "isr", 0, ISR_POINTS, None, "not JSON", "test")
    broken = classroom.ClassResult("mallory", "isr", 0, ISR_POINTS, report=object())
    for write in (classroom.write_csv, classroom.write_json):
        path = tmp_path / "grades"
        path.write_text("yesterday's grades")
        with pytest.raises(AttributeError):
            write([alice, broken], path)            # fails after alice's row
        assert path.read_text() == "yesterday's grades"
        assert os.listdir(tmp_path) == ["grades"]   # no temporary file left behind
        write([alice], path)
        assert "alice" in path.read_text() and os.listdir(tmp_path) == ["grades"]


def test_progress_in_a_log_file_is_a_line_per_tenth_of_the_class():
    import io
    from kafkadojo.autograder.classroom import _ProgressBar
    log = io.StringIO()
    bar = _ProgressBar(25, log)
    for _ in range(25):
        bar.tick()
    bar.close()
    lines = log.getvalue().splitlines()
    assert "\r" not in log.getvalue()
    assert len(lines) == 10 and lines[-1].startswith("graded 25/25 submissions")
    assert [line.split()[1] for line in lines[:3]] == ["3/25", "5/25", "8/25"]


def test_progress_in_a_terminal_is_a_bar():
    import io
    from kafkadojo.autograder.classroom import _ProgressBar

    class Terminal(io.StringIO):
        def isatty(self):
            return True
    terminal = Terminal()
    bar = _ProgressBar(4, terminal)
    for _ in range(4):
        bar.tick()
    bar.close()
    shown = terminal.getvalue()
    assert "\r" in shown and "4/4" in shown and "grading" in shown


def test_the_gradebook_has_a_row_per_student_and_a_column_per_assignment():
    def result(student, assignment, earned, possible):
        return classroom.ClassResult(student, assignment, earned, possible, None)
    rows = classroom.gradebook([result("bob", "log", 5, 8), result("alice", "log", 8, 8),
                                result("alice", "partitioning", 7, 7),
                                result("carol", "partitioning", 0, 7)])
    assert rows == [["student", "partitioning", "log", "total"],
                    ["(points possible)", 7, 8, 15],
                    ["alice", 7, 8, 15], ["bob", "", 5, 5], ["carol", 0, "", 0]]


def test_a_file_named_after_its_assignment_belongs_to_its_folders_student(tmp_path):
    """``kafkadojo stub`` writes replication.py: its student is the folder it is in."""
    for path in ["class/alice/replication.py", "class/alice/log.py", "class/bob.py",
                 "class/carol/isr/isr.ipynb", "dave/replication.py"]:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("")
    found = {(s.student, s.assignment, s.path.name)
             for s in classroom.find_submissions(tmp_path / "class")}
    assert found == {("alice", "replication", "replication.py"), ("alice", "log", "log.py"),
                     ("bob", None, "bob.py"), ("carol", "isr", "isr.ipynb")}
    only_log = {(s.student, s.assignment) for s in classroom.find_submissions(tmp_path / "class", "log")}
    assert only_log == {("alice", "log"), ("bob", "log")}
    [single] = classroom.find_submissions(tmp_path / "dave" / "replication.py")
    assert (single.student, single.assignment) == ("dave", "replication")
    [loose] = classroom.find_submissions(tmp_path / "dave")
    assert (loose.student, loose.assignment) == ("dave", "replication")
