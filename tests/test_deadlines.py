"""Deadlines and late submissions are nbgrader's own: its due date and LateSubmissionPlugin
apply to kafkadojo's grades as to any others (the README's "Deadlines")."""

import csv

from kafkadojo.autograder.course import Course
from kafkadojo.exercises.catalog import exercises_for

ASSIGNMENT = "offsets"          # the smallest assignment
POINTS = sum(e.points for e in exercises_for(ASSIGNMENT))


def test_a_late_submission_gets_nbgraders_penalty_and_an_early_one_none(tmp_path):
    course = Course.scratch(tmp_path / "course")
    with open(course.root / "nbgrader_config.py", "a") as config:
        config.write('\nc.LateSubmissionPlugin.penalty_method = "zero"\n')
    course.release([ASSIGNMENT])
    course.nbgrader("db", "assignment", "add", ASSIGNMENT, "--duedate=2026-03-01 12:00:00 UTC")
    solved = course.solved_release(ASSIGNMENT)
    for student, handed_in in [("early", "2026-03-01 11:59:00.000000 UTC"),
                               ("late", "2026-03-02 09:30:00.000000 UTC")]:
        course.submit(student, ASSIGNMENT, solved)
        (course.root / "submitted" / student / ASSIGNMENT / "timestamp.txt").write_text(handed_in)
    course.autograde([ASSIGNMENT])
    course.nbgrader("export", "--to", str(tmp_path / "grades.csv"))
    rows = {row["student_id"]: row for row in csv.DictReader((tmp_path / "grades.csv").open())}
    assert float(rows["early"]["raw_score"]) == float(rows["early"]["score"]) == POINTS
    assert float(rows["early"]["late_submission_penalty"]) == 0
    assert float(rows["late"]["raw_score"]) == POINTS
    assert float(rows["late"]["late_submission_penalty"]) == POINTS
    assert float(rows["late"]["score"]) == 0
