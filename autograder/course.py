"""The nbgrader round trip, driven from Python: what ``make demo`` shows and the tests check.

    course = Course.scratch("build/course")     # a copy of notebooks/ to work in
    course.release()                             # nbgrader generate_assignment
    course.submit_samples()                      # the sample submissions, as students
    course.autograde()                           # nbgrader autograde (grades out of process)
    print(course.gradebook_table())
    print(course.feedback_text("replication", "replication-hw-ignores-followers"))
"""

import html
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from kafkadojo.exercises.catalog import ASSIGNMENTS

from .samples import SAMPLES, fill_notebook
from .sandbox import isolation

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


class NbgraderFailed(RuntimeError):
    pass


class Course:
    def __init__(self, root):
        self.root = Path(root)

    @classmethod
    def scratch(cls, root, allow_unisolated=None):
        """A fresh copy of the course (config and sources) at ``root``. ``allow_unisolated``
        adds the instructor's opt-in to grading without operating-system isolation; by
        default (None) only on a machine that has none, so the demo and tests run anywhere."""
        root = Path(root)
        if root.exists():
            shutil.rmtree(root)
        root.mkdir(parents=True)
        shutil.copy(NOTEBOOKS / "nbgrader_config.py", root)
        # The notebooks only: a folder of hidden files (an old .hypothesis/) is no course material.
        shutil.copytree(NOTEBOOKS / "source", root / "source",
                        ignore=shutil.ignore_patterns(".*", "__pycache__"))
        course = cls(root)
        if allow_unisolated or (allow_unisolated is None and not isolation().tamper_proof):
            course.allow_unisolated()
        return course

    def allow_unisolated(self):
        """The instructor's opt-in to grading where learner code cannot be isolated."""
        with open(self.root / "nbgrader_config.py", "a") as config:
            config.write("\nc.KafkadojoGrades.allow_unisolated = True\n")

    def nbgrader(self, *args):
        """Run nbgrader in the course root; it needs this interpreter's bin/ on PATH (it
        shells out to alembic)."""
        bin_dir = str(Path(sys.executable).parent)
        env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}
        result = subprocess.run([str(Path(bin_dir) / "nbgrader"), *args], cwd=self.root, env=env,
                                capture_output=True, text=True)
        if result.returncode != 0 or "[ERROR]" in result.stderr or "| ERROR]" in result.stderr:
            raise NbgraderFailed(f"nbgrader {' '.join(args)} failed:\n{result.stderr[-3000:]}")
        return result

    def release(self, assignments=ASSIGNMENTS):
        for assignment in assignments:
            self.nbgrader("generate_assignment", assignment, "--force")

    def release_notebook(self, assignment):
        return json.loads((self.root / "release" / assignment / f"{assignment}.ipynb").read_text())

    def solved_release(self, assignment):
        """The released notebook as a learner who solves everything hands it in: each stub
        nbgrader left (``# YOUR CODE HERE`` / ``raise NotImplementedError()``) replaced by
        the source notebook's solution region it stands for, every other released line kept."""
        notebook = self.release_notebook(assignment)
        source = json.loads((self.root / "source" / assignment / f"{assignment}.ipynb").read_text())
        regions = {cell["metadata"]["nbgrader"]["grade_id"]: solution_regions(_text(cell))
                   for cell in source["cells"] if cell["metadata"].get("nbgrader", {}).get("solution")}
        for cell in notebook["cells"]:
            grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
            if grade_id in regions:
                cell["source"] = fill_stubs(_text(cell), regions[grade_id])
        return notebook

    def submit(self, student, assignment, notebook):
        folder = self.root / "submitted" / student / assignment
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{assignment}.ipynb").write_text(json.dumps(notebook))

    def submit_samples(self, names=None):
        """Each sample becomes a student of the same name."""
        for name in names or SAMPLES:
            sample = SAMPLES[name]
            notebook = fill_notebook(self.release_notebook(sample.assignment), sample.source())
            self.submit(name, sample.assignment, notebook)

    def autograde(self, assignments=ASSIGNMENTS):
        for assignment in assignments:
            if (self.root / "submitted").exists() and any(
                    (student / assignment).exists() for student in (self.root / "submitted").iterdir()):
                self.nbgrader("autograde", assignment, "--force")

    def generate_feedback(self, assignments=ASSIGNMENTS):
        for assignment in assignments:
            self.nbgrader("generate_feedback", assignment, "--force")

    def scores(self, written=False):
        """``{(student, assignment): (score, max_score)}`` from the gradebook: of the code
        nbgrader autogrades, or (``written=True``) of the written answers an instructor
        grades by hand (a score of None until every answer has been graded)."""
        from nbgrader.api import Gradebook, MissingEntry
        kind = "markdown" if written else "code"
        out = {}
        with Gradebook(f"sqlite:///{self.root / 'gradebook.db'}") as gradebook:
            for student in gradebook.students:
                for assignment in gradebook.assignments:
                    try:
                        submission = gradebook.find_submission(assignment.name, student.id)
                    except MissingEntry:
                        continue
                    grades = [grade for notebook in submission.notebooks
                              for grade in notebook.grades if grade.cell_type == kind]
                    pending = any(grade.needs_manual_grade for grade in grades)
                    out[(student.id, assignment.name)] = (
                        None if pending else sum(grade.score for grade in grades),
                        sum(grade.max_score for grade in grades))
        return out

    def cell_scores(self, student, assignment, written=False):
        """``{grade_id: score}`` of one submission's autograded cells (or its written
        answers), from the gradebook."""
        from nbgrader.api import Gradebook
        kind = "markdown" if written else "code"
        with Gradebook(f"sqlite:///{self.root / 'gradebook.db'}") as gradebook:
            submission = gradebook.find_submission(assignment, student)
            return {grade.name: grade.score for notebook in submission.notebooks
                    for grade in notebook.grades if grade.cell_type == kind}

    def gradebook_table(self):
        scores, written = self.scores(), self.scores(written=True)
        lines = [f"{'student':<42} {'assignment':<14} {'code':>9}   written answers"]
        for (student, assignment), (score, max_score) in sorted(scores.items()):
            by_hand, by_hand_max = written.get((student, assignment), (None, 0))
            shown = (f"{by_hand:g}/{by_hand_max:g}" if by_hand is not None
                     else f"?/{by_hand_max:g}, to grade by hand" if by_hand_max else "")
            lines.append(f"{student:<42} {assignment:<14} {score:>4g}/{max_score:<4g}   {shown}")
        return "\n".join(lines)

    def feedback_html(self, assignment, student):
        return (self.root / "feedback" / student / assignment / f"{assignment}.html").read_text()

    def feedback_text(self, assignment, student):
        """The grader's reports inside a learner's feedback page, as plain text."""
        text = html.unescape(re.sub(r"<[^>]+>", "", self.feedback_html(assignment, student)))
        reports = re.findall(r"kafkadojo check:.*?(?=Out\[|\Z)", text, re.S)
        return "\n\n".join(re.sub(r"\n\s*\n+", "\n", report).strip() for report in reports)


def _text(cell):
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")      # nbgrader's, for Python


def solution_regions(source):
    """The lines of each ``### BEGIN SOLUTION`` ... ``### END SOLUTION`` region, in order."""
    regions, current = [], None
    for line in source.split("\n"):
        if "### BEGIN SOLUTION" in line:
            current = []
        elif "### END SOLUTION" in line:
            regions.append(current)
            current = None
        elif current is not None:
            current.append(line)
    return regions


def fill_stubs(released, regions):
    """``released`` with its k-th stub replaced by ``regions[k]``; every other line kept."""
    lines, out, filled = released.split("\n"), [], 0
    index = 0
    while index < len(lines):
        if (lines[index].strip() == STUB[0] and index + 1 < len(lines)
                and lines[index + 1].strip() == STUB[1]):
            out += regions[filled]
            filled += 1
            index += 2
        else:
            out.append(lines[index])
            index += 1
    if filled != len(regions):
        raise ValueError(f"{filled} stubs for {len(regions)} solution regions")
    return "\n".join(out)


def main(root="build/course"):
    """``make demo``: release, submit the samples, autograde, show the gradebook and feedback."""
    print(f"kafkadojo course demo in {root}\n")
    course = Course.scratch(root)
    if not isolation().tamper_proof:
        print(f"(no operating-system isolation here: {isolation().detail}; the demo grades "
              "anyway, as c.KafkadojoGrades.allow_unisolated = True would)\n")
    print("1. nbgrader generate_assignment: releasing", ", ".join(ASSIGNMENTS))
    course.release()
    print(f"2. submitting {len(SAMPLES)} sample submissions as students "
          "(reference, stubs, realistic bugs, hostile code)")
    course.submit_samples()
    print("3. nbgrader autograde, assignment by assignment (each grade computed in a "
          "sandboxed process)", flush=True)
    for number, assignment in enumerate(ASSIGNMENTS, 1):
        started = time.monotonic()
        print(f"   {number}/{len(ASSIGNMENTS)} {assignment:<13}", end="", flush=True)
        course.autograde([assignment])
        print(f" graded in {time.monotonic() - started:.0f} s", flush=True)
    course.generate_feedback()
    print("\n" + course.gradebook_table())
    student = "replication-hw-ignores-followers"
    print(f"\n4. feedback for {student} (nbgrader generate_feedback):\n")
    print(course.feedback_text("replication", student))
    release = Path(root) / "release"
    print(f"""
What next
  as a learner: the released notebooks (no solutions) are in {release}/<assignment>/;
    open them with  .venv/bin/jupyter lab {release}
    or work in plain Python:  .venv/bin/kafkadojo stub replication
                              .venv/bin/kafkadojo check replication.py
  as an instructor: notebooks/ is the nbgrader course root (notebooks/source/ holds the
    notebooks with their solutions); see the README's "As an instructor"
  the engine on its own:  .venv/bin/kafkadojo demo --engine""")
    return 0
