"""``kafkadojo grade``: a class graded in parallel, every student gets a row, and the
CSV, JSON and Gradescope outputs say the same thing."""

import csv
import json
from pathlib import Path

from kafkadojo.autograder.samples import SAMPLES, fill_notebook
from kafkadojo.cli import main as cli
from kafkadojo.exercises.catalog import exercises_for

SOURCE = Path(__file__).resolve().parent.parent / "notebooks" / "source"
ISR_POINTS = sum(e.points for e in exercises_for("isr"))


def submit(root, student, text):
    folder = root / "submitted" / student / "isr"
    folder.mkdir(parents=True)
    (folder / "isr.ipynb").write_text(text)


def test_grade_a_class_to_csv_json_with_progress(tmp_path, capsys):
    notebook = json.loads((SOURCE / "isr" / "isr.ipynb").read_text())
    submit(tmp_path, "alice", json.dumps(fill_notebook(notebook, SAMPLES["isr-reference"].source())))
    submit(tmp_path, "bob", json.dumps(fill_notebook(notebook, SAMPLES["isr-stubs"].source())))
    submit(tmp_path, "carol", json.dumps(fill_notebook(notebook, SAMPLES["isr-unclean-always"].source())))
    submit(tmp_path, "dave", '{"cells": [ this is not a notebook')
    out_csv, out_json = tmp_path / "grades.csv", tmp_path / "grades.json"
    assert cli(["grade", str(tmp_path / "submitted"), "--jobs", "2",
                "--csv", str(out_csv), "--json", str(out_json)]) == 0
    captured = capsys.readouterr()
    assert "4/4 graded" in captured.err                      # the progress bar finished
    assert "4 submissions" in captured.out

    by_student = {row["student"]: row for row in json.loads(out_json.read_text())}
    assert set(by_student) == {"alice", "bob", "carol", "dave"}
    assert by_student["alice"]["earned"] == by_student["alice"]["possible"] == ISR_POINTS
    assert by_student["bob"]["earned"] == 0
    lost_by_carol = {e["id"] for e in by_student["carol"]["report"]["exercises"]
                     if e["earned"] < e["points"]}
    assert lost_by_carol == {"isr.elect_leader"}
    assert by_student["dave"]["earned"] == 0 and by_student["dave"]["possible"] == ISR_POINTS
    assert "JSON" in by_student["dave"]["problem"] or "Expecting" in by_student["dave"]["problem"]

    rows = list(csv.DictReader(out_csv.open()))
    earned = {}
    for row in rows:
        earned[row["student"]] = earned.get(row["student"], 0) + int(row["earned"])
    assert earned == {student: by_student[student]["earned"] for student in by_student}
    assert len([r for r in rows if r["student"] == "alice"]) == len(exercises_for("isr"))


def test_gradescope_results_json_for_one_submission(tmp_path, capsys):
    notebook = json.loads((SOURCE / "isr" / "isr.ipynb").read_text())
    submit(tmp_path, "carol", json.dumps(fill_notebook(notebook, SAMPLES["isr-unclean-always"].source())))
    results = tmp_path / "results.json"
    assert cli(["grade", str(tmp_path / "submitted" / "carol" / "isr" / "isr.ipynb"),
                "--assignment", "isr", "--quiet", "--gradescope", str(results)]) == 0
    data = json.loads(results.read_text())
    assert data["score"] == sum(t["score"] for t in data["tests"]) < ISR_POINTS
    assert sum(t["max_score"] for t in data["tests"]) == ISR_POINTS
    failed = [t for t in data["tests"] if t["score"] < t["max_score"]]
    assert failed and all(t["name"].startswith("isr.elect_leader") for t in failed)
    assert all("anomaly:" in t["output"] and "replay:" in t["output"] for t in failed)

    broken = tmp_path / "broken.ipynb"
    broken.write_text("not json")
    assert cli(["grade", str(broken), "--assignment", "isr", "--quiet",
                "--gradescope", str(results)]) == 0
    data = json.loads(results.read_text())
    assert data["score"] == 0 and "could not grade" in data["output"]
    capsys.readouterr()


def test_grade_refuses_gradescope_for_many_and_an_empty_directory(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert cli(["grade", str(tmp_path / "empty")]) == 2
    assert "no submissions" in capsys.readouterr().err
