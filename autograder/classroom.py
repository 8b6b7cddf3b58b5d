"""Grading a class: ``kafkadojo grade SUBMITTED_DIR``.

Finds submissions in nbgrader's layout (``submitted/<student>/<assignment>/*.ipynb``) or
as loose files (``<student>.py`` / ``<student>.ipynb``), grades them in parallel (each in
its own sandboxes), shows progress, and writes a table, CSV, JSON or Gradescope's
``results.json``. A submission that cannot be graded at all still gets a row (zero, with
the reason): no learner is ever left without a grade.
"""

import csv
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from kafkadojo.exercises.catalog import ASSIGNMENTS, exercises_for

from .grader import Report, grade_path


@dataclass(frozen=True)
class Submission:
    student: str
    assignment: str | None
    path: Path


def find_submissions(directory, assignment=None):
    directory = Path(directory)
    if not directory.exists():
        raise FileNotFoundError(f"{directory} does not exist")
    if directory.is_file():
        return [Submission(directory.stem, assignment, directory)]
    found = []
    for entry in sorted(directory.iterdir()):
        if entry.is_dir():
            for assignment_dir in sorted(p for p in entry.iterdir() if p.is_dir()):
                if assignment and assignment_dir.name != assignment:
                    continue
                if assignment_dir.name not in ASSIGNMENTS:
                    continue
                notebooks = sorted(assignment_dir.glob("*.ipynb")) + sorted(assignment_dir.glob("*.py"))
                if notebooks:
                    found.append(Submission(entry.name, assignment_dir.name, notebooks[0]))
        elif entry.suffix in (".py", ".ipynb"):
            found.append(Submission(entry.stem, assignment, entry))
    return found


def _grade_one(submission):
    try:
        report = grade_path(submission.path, assignment=submission.assignment)
        return submission, report, None
    except Exception as error:      # unreadable notebook, not JSON, ...: still a zero, with why
        return submission, None, f"{type(error).__name__}: {error}"


@dataclass
class ClassResult:
    student: str
    assignment: str
    earned: int
    possible: int
    report: Report | None
    problem: str | None = None


def grade_class(submissions, jobs=None, progress=sys.stderr):
    jobs = jobs or os.cpu_count() or 1
    results = []
    start = time.perf_counter()
    total = len(submissions)
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(_grade_one, s) for s in submissions]
        for done, future in enumerate(as_completed(futures), 1):
            submission, report, problem = future.result()
            assignment = submission.assignment or "?"
            if report is None:
                possible = sum(e.points for e in exercises_for(assignment)) if assignment in ASSIGNMENTS else 0
                results.append(ClassResult(submission.student, assignment, 0, possible, None, problem))
            else:
                results.append(ClassResult(submission.student, assignment, report.earned,
                                           report.possible, report))
            if progress is not None:
                elapsed = time.perf_counter() - start
                bar = "#" * int(30 * done / total) + "." * (30 - int(30 * done / total))
                progress.write(f"\r[{bar}] {done}/{total} graded, {elapsed:.0f} s, "
                               f"{done / elapsed * 60:.0f}/min ")
                progress.flush()
    if progress is not None:
        progress.write("\n")
    results.sort(key=lambda r: (r.assignment, r.student))
    return results, time.perf_counter() - start


def table(results):
    lines = [f"{'student':<40} {'assignment':<14} {'score':>8}"]
    for r in results:
        note = f"  ({r.problem})" if r.problem else ""
        lines.append(f"{r.student:<40} {r.assignment:<14} {r.earned:>3}/{r.possible:<4}{note}")
    return "\n".join(lines)


def write_csv(results, path):
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "assignment", "exercise", "earned", "points", "status"])
        for r in results:
            if r.report is None:
                writer.writerow([r.student, r.assignment, "", 0, r.possible, r.problem])
                continue
            for exercise in r.report.exercises:
                writer.writerow([r.student, r.assignment, exercise.id, exercise.earned,
                                 exercise.points, exercise.status])


def write_json(results, path):
    Path(path).write_text(json.dumps([
        {"student": r.student, "assignment": r.assignment, "earned": r.earned,
         "possible": r.possible, "problem": r.problem,
         "report": r.report.to_dict() if r.report else None} for r in results], indent=2))


def gradescope_results(report, seconds):
    """Gradescope's autograder ``results.json``: one test per property, its output the
    teaching feedback (never the hidden property's code)."""
    tests = []
    for exercise in report.exercises:
        for result in exercise.properties:
            output = "passed" if result.passed else "\n".join(filter(None, [
                f"anomaly: {result.anomaly}", f"counterexample: {result.counterexample}",
                f"expected: {result.expected}" if result.expected else "",
                f"got: {result.got}" if result.got else "",
                f"replay:\n{result.replay}" if result.replay else ""]))
            tests.append({"name": f"{exercise.id}: {result.name}", "score": result.earned,
                          "max_score": result.points, "output": output,
                          "visibility": "visible"})
    return {"score": report.earned, "execution_time": round(seconds, 2),
            "output": f"{report.earned}/{report.possible} points", "tests": tests}


def gradescope_ungradable(problem, seconds):
    """A submission that could not be graded still gets a results.json: zero, and why."""
    return {"score": 0, "execution_time": round(seconds, 2),
            "output": f"kafkadojo could not grade this submission: {problem}", "tests": []}
