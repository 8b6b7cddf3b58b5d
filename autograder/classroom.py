"""Grading a class: ``kafkadojo grade SUBMITTED_DIR``.

Finds submissions in nbgrader's layout (``submitted/<student>/<assignment>/*.ipynb``) or
as loose files (``<student>.py`` / ``<student>.ipynb``), grades them in parallel (each in
its own sandboxes), shows progress, and writes a table, a per-exercise CSV, a class
gradebook (a student per row, an assignment per column), JSON or Gradescope's
``results.json``. A submission that cannot be graded at all still gets a row (zero, with
the reason): no learner is ever left without a grade, not even when a grading process is
killed. Every row records what isolated the learner's code.
"""

import csv
import io
import json
import math
import os
import sys
import tempfile
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, as_completed, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from kafkadojo.exercises.catalog import ASSIGNMENTS, exercises_for

from . import sandbox
from .grader import Report, grade_path

DIED = ("its grading process died, also when graded alone "
        "(killed by a signal, or out of memory)")


@dataclass(frozen=True)
class Submission:
    student: str
    assignment: str | None
    path: Path


def find_submissions(directory, assignment=None):
    """Every submission under ``directory``: nbgrader's ``<student>/<assignment>/*.ipynb``,
    loose files named by student (``alice.py``), or loose files named by assignment (what
    ``kafkadojo stub`` writes: ``alice/replication.py``), whose student is their folder.
    A student is never named after an assignment."""
    directory = Path(directory)
    if not directory.exists():
        raise FileNotFoundError(f"{directory} does not exist")
    if directory.is_file():
        return [_loose(directory, directory.parent, assignment)]
    found = []
    for entry in sorted(directory.iterdir()):
        if entry.is_dir():
            for inner in sorted(entry.iterdir()):
                if inner.is_dir():
                    if inner.name not in ASSIGNMENTS or (assignment and inner.name != assignment):
                        continue
                    files = sorted(inner.glob("*.ipynb")) + sorted(inner.glob("*.py"))
                    if files:
                        found.append(Submission(entry.name, inner.name, files[0]))
                elif inner.suffix in (".py", ".ipynb") and inner.stem in ASSIGNMENTS and (
                        not assignment or inner.stem == assignment):
                    found.append(Submission(entry.name, inner.stem, inner))
        elif entry.suffix in (".py", ".ipynb"):
            if assignment and entry.stem in ASSIGNMENTS and entry.stem != assignment:
                continue        # another assignment's file
            found.append(_loose(entry, directory, assignment))
    return found


def _loose(path, folder, assignment):
    """A file on its own: named by its student (``alice.py``), or by its assignment
    (``replication.py``), and then its folder names the student."""
    if path.stem in ASSIGNMENTS:
        return Submission(folder.resolve().name, assignment or path.stem, path)
    return Submission(path.stem, assignment, path)


def _grade_one(submission, jobs=1):
    try:
        report = grade_path(submission.path, assignment=submission.assignment, jobs=jobs)
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
    isolation: str = ""         # what isolated this learner's code (sandbox.Isolation.describe)


def _expected_cost(submission):
    """How long a submission takes to grade, roughly: its assignment's number of hidden
    properties (an unknown assignment counts as none)."""
    from .properties import load_all, properties_for
    load_all()
    if submission.assignment not in ASSIGNMENTS:
        return 0
    return sum(len(properties_for(e.id)) for e in exercises_for(submission.assignment))


def grade_class(submissions, jobs=None, progress=sys.stderr):
    """Grade every submission; returns (results, seconds) once every grading process has
    exited. A worker that dies (OOM killer, a signal) breaks the whole pool: the
    submissions it took down with it are graded again, each alone."""
    jobs = jobs or os.cpu_count() or 1
    found = sandbox.isolation()     # probed before forking, so the workers inherit it
    bar = _ProgressBar(len(submissions), progress)
    results, died = [], []
    # Fewer submissions than cores: the cores left over judge a submission's exercises at once.
    each = max(1, jobs // max(1, len(submissions)))
    # The longest first, so that no core is left waiting on a long one at the end.
    submissions = sorted(submissions, key=_expected_cost, reverse=True)
    with ProcessPoolExecutor(max_workers=min(jobs, max(1, len(submissions)))) as pool:
        futures = {pool.submit(_grade_one, s, each): s for s in submissions}
        for future in as_completed(futures):
            outcome = _outcome(future, futures[future])
            if outcome is None:
                died.append(futures[future])
                continue
            results.append(_row(*outcome, found))
            bar.tick()
    for outcome in _grade_alone(died, jobs):
        results.append(_row(*outcome, found))
        bar.tick()
    bar.close()
    results.sort(key=lambda r: (r.assignment, r.student))
    return results, bar.elapsed()


def _grade_alone(submissions, jobs):
    """Each submission in a fresh single-worker pool (``jobs`` pools at a time), so a worker
    that dies again takes only its own submission down. Yields _grade_one's outcomes."""
    waiting, running = list(submissions), {}
    try:
        while waiting or running:
            while waiting and len(running) < jobs:
                submission = waiting.pop(0)
                pool = ProcessPoolExecutor(max_workers=1)
                running[pool.submit(_grade_one, submission)] = submission, pool
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                submission, pool = running.pop(future)
                pool.shutdown()
                yield _outcome(future, submission) or (submission, None, DIED)
    finally:
        for _, pool in running.values():
            pool.shutdown(cancel_futures=True)


def _outcome(future, submission):
    """_grade_one's (submission, report, problem), or None when its worker process died."""
    try:
        return future.result()
    except BrokenProcessPool:
        return None
    except Exception as error:      # e.g. a report that could not be sent back
        return submission, None, f"{type(error).__name__}: {error}"


def _row(submission, report, problem, found):
    assignment = submission.assignment or "?"
    if report is None:
        possible = sum(e.points for e in exercises_for(assignment)) if assignment in ASSIGNMENTS else 0
        return ClassResult(submission.student, assignment, 0, possible, None, problem,
                           found.describe())
    return ClassResult(submission.student, assignment, report.earned, report.possible, report,
                       isolation=report.isolation)


class _ProgressBar:
    """How far grading has got: a tqdm bar in a terminal; in a log file (or any stream that
    is not a terminal), a plain line at every tenth of the class, so the log stays readable."""

    def __init__(self, total, stream):
        self.total, self.stream, self.done = total, stream, 0
        self.start = time.perf_counter()
        self.bar = None
        if stream is not None and stream.isatty():
            from tqdm import tqdm
            self.bar = tqdm(total=total, file=stream, unit="submission", desc="grading",
                            dynamic_ncols=True)

    def elapsed(self):
        return time.perf_counter() - self.start

    def tick(self):
        self.done += 1
        if self.bar is not None:
            self.bar.update(1)
        elif self.stream is not None and (self.done == self.total or
                                          self.done * 10 // self.total
                                          != (self.done - 1) * 10 // self.total):
            elapsed = self.elapsed()
            self.stream.write(f"graded {self.done}/{self.total} submissions, {elapsed:.0f} s, "
                              f"{self.done / max(elapsed, 1e-9) * 60:.0f}/min\n")
            self.stream.flush()

    def close(self):
        if self.bar is not None:
            self.bar.close()


def table(results):
    lines = [f"{'student':<40} {'assignment':<14} {'score':>8}"]
    for r in results:
        note = f"  ({r.problem})" if r.problem else ""
        lines.append(f"{r.student:<40} {r.assignment:<14} {r.earned:>3}/{r.possible:<4}{note}")
    return "\n".join(lines)


def summary(results, seconds):
    isolations = "; ".join(sorted({r.isolation for r in results}))
    return (f"{len(results)} submissions in {seconds:.1f} s "
            f"({len(results) / seconds * 60:.0f} per minute)\n"
            f"learner code isolated by: {isolations}")


def write_atomically(path, text):
    """All of ``text`` or nothing: written to a temporary file in the same folder, then
    renamed over ``path``, so a failure never leaves half a file and a reader never sees
    one. The file is readable by its owner only, as grades should be."""
    path = Path(path)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with open(descriptor, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def write_csv(results, path):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["student", "assignment", "exercise", "earned", "points", "status",
                     "isolation"])
    for r in results:
        if r.report is None:
            writer.writerow([r.student, r.assignment, "", 0, r.possible, r.problem, r.isolation])
            continue
        for exercise in r.report.exercises:
            writer.writerow([r.student, r.assignment, exercise.id, exercise.earned,
                             exercise.points, exercise.status, r.isolation])
    write_atomically(path, buffer.getvalue())


def gradebook(results):
    """The class at a glance: one row per student, one column per assignment (the points
    earned; empty where nothing was submitted) and a total, under a row of the points
    possible."""
    assignments = [a for a in ASSIGNMENTS if any(r.assignment == a for r in results)]
    assignments += sorted({r.assignment for r in results} - set(assignments))
    possible = {a: max((r.possible for r in results if r.assignment == a), default=0)
                for a in assignments}
    earned = {}
    for r in results:
        earned.setdefault(r.student, {})[r.assignment] = r.earned
    rows = [["student", *assignments, "total"],
            ["(points possible)", *(possible[a] for a in assignments), sum(possible.values())]]
    for student in sorted(earned):
        scores = earned[student]
        rows.append([student, *(scores.get(a, "") for a in assignments), sum(scores.values())])
    return rows


def write_gradebook(results, path):
    buffer = io.StringIO()
    csv.writer(buffer).writerows(gradebook(results))
    write_atomically(path, buffer.getvalue())


def write_json(results, path):
    write_atomically(path, json.dumps([
        {"student": r.student, "assignment": r.assignment, "earned": r.earned,
         "possible": r.possible, "problem": r.problem, "isolation": r.isolation,
         "report": r.report.to_dict() if r.report else None} for r in results], indent=2))


def gradescope_results(result, seconds):
    """Gradescope's autograder ``results.json`` for one ClassResult: one test per property,
    its output the teaching feedback (never the hidden property's code). A submission that
    could not be graded still gets one: zero, and why."""
    isolated_by = f"learner code isolated by: {result.isolation}"
    # Gradescope's results.json: seconds as a whole number; the grader's own stdout (the
    # class table) is not for learners
    common = {"execution_time": math.ceil(seconds), "visibility": "visible",
              "stdout_visibility": "hidden"}
    if result.report is None:
        return {"score": 0, **common, "tests": [],
                "output": f"kafkadojo could not grade this submission: {result.problem}\n"
                          f"{isolated_by}"}
    tests = []
    for exercise in result.report.exercises:
        for prop in exercise.properties:
            output = "passed" if prop.passed else "\n".join(filter(None, [
                f"anomaly: {prop.anomaly}", f"counterexample: {prop.counterexample}",
                f"expected: {prop.expected}" if prop.expected else "",
                f"got: {prop.got}" if prop.got else "",
                f"replay:\n{prop.replay}" if prop.replay else ""]))
            tests.append({"name": f"{exercise.id}: {prop.name}", "score": prop.earned,
                          "max_score": prop.points, "output": output,
                          "status": "passed" if prop.passed else "failed",
                          "visibility": "visible"})
    return {"score": result.earned, **common,
            "output": f"{result.earned}/{result.possible} points\n{isolated_by}",
            "tests": tests}


def write_gradescope(result, seconds, path):
    write_atomically(path, json.dumps(gradescope_results(result, seconds), indent=2))


def write_gradescope_problem(problem, assignment, path):
    """results.json for a submission that could not be graded at all: zero, and why."""
    possible = sum(e.points for e in exercises_for(assignment)) if assignment in ASSIGNMENTS else 0
    result = ClassResult("submission", assignment or "?", 0, possible, None, problem,
                         sandbox.isolation().describe())
    write_gradescope(result, 0.0, path)
