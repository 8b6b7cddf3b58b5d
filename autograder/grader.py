"""Grade a submission: each exercise in its own sandbox, each property for its points.

    report = grade_path("replication.py")
    print(report.format())           # what the learner sees
    report.to_dict()                 # for CSV, JSON, Gradescope

A property either passes (its points) or fails with a teaching failure: the anomaly, the
smallest counterexample, what was expected and what happened, and how to replay it. One
exercise's hang, crash or cheating costs that exercise's points and nothing else.
"""

import json
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from kafkadojo.exercises.catalog import BY_ID, EXERCISES, exercises_for

from .properties import Learner, load_all, properties_for, timed
from .sandbox import Sandbox, isolation

EXERCISE_BUDGET_S = 60.0        # all properties of one exercise, wall clock


@dataclass
class PropertyResult:
    name: str
    points: int
    earned: int
    anomaly: str = ""
    counterexample: str = ""
    expected: str = ""
    got: str = ""
    replay: str = ""
    seconds: float = 0.0

    @property
    def passed(self):
        return self.earned == self.points


@dataclass
class ExerciseResult:
    id: str
    points: int
    earned: int
    status: str                 # passed | partial | failed | not attempted | missing | does not load
    properties: list = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class Report:
    submission: str
    exercises: list
    seconds: float
    isolation: str = ""         # what isolated the learner's code (sandbox.Isolation.describe)

    @property
    def earned(self):
        return sum(e.earned for e in self.exercises)

    @property
    def possible(self):
        return sum(e.points for e in self.exercises)

    def to_dict(self):
        return {"submission": self.submission, "earned": self.earned, "possible": self.possible,
                "seconds": round(self.seconds, 3), "isolation": self.isolation,
                "exercises": [asdict(e) for e in self.exercises]}

    def to_json(self):
        return json.dumps(self.to_dict(), indent=2)

    def format(self, verbose=False):
        lines = [f"kafkadojo check: {self.submission}: {self.earned}/{self.possible} points "
                 f"({self.seconds:.1f} s)", ""]
        for exercise in self.exercises:
            mark = "✔" if exercise.status == "passed" else ("◐" if exercise.status == "partial" else "✘")
            lines.append(f"{mark} {exercise.id:<38} {exercise.earned}/{exercise.points}  {exercise.status}")
            if exercise.status == "not attempted":
                lines.append(f"    your {BY_ID[exercise.id].function} still raises NotImplementedError")
                continue
            for result in exercise.properties:
                if result.passed and not verbose:
                    continue
                lines.append(f"    {'✔' if result.passed else '✘'} {result.name} "
                             f"({result.earned}/{result.points})")
                if result.passed:
                    continue
                lines.append(f"        anomaly:        {result.anomaly}")
                lines.append(f"        counterexample: {result.counterexample}")
                if result.expected:
                    lines.append(f"        expected:       {result.expected}")
                if result.got:
                    got = result.got.rstrip().splitlines()
                    lines.append(f"        got:            {got[0]}")
                    lines += [f"                        {line}" for line in got[1:40]]
                if result.replay:
                    lines.append("        replay:")
                    lines += [f"            {line}" for line in result.replay.splitlines()]
        return "\n".join(lines)


# -- reading submissions -------------------------------------------------------------------

def solution_source(path):
    """The learner's code in a ``.py`` file or a notebook. In a notebook, the nbgrader
    solution cells (or, in a plain notebook, the cells that define exercise functions)."""
    path = Path(path)
    if path.suffix == ".py":
        return path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".ipynb":
        notebook = json.loads(path.read_text(encoding="utf-8"))
        cells = [c for c in notebook.get("cells", []) if c.get("cell_type") == "code"]
        sources = ["".join(c.get("source", "")) if isinstance(c.get("source"), list)
                   else c.get("source", "") for c in cells]
        marked = [s for c, s in zip(cells, sources)
                  if c.get("metadata", {}).get("nbgrader", {}).get("solution")
                  or c.get("metadata", {}).get("nbgrader", {}).get("grade_id", "").endswith("-givens")]
        if not marked:
            names = "|".join(re.escape(e.function) for e in EXERCISES)
            marked = [s for s in sources if re.search(rf"^def ({names})\(", s, re.M)]
        # IPython magics and shell escapes are not Python: leave them out.
        return "\n\n".join("\n".join(l for l in s.splitlines() if not l.lstrip().startswith(("%", "!")))
                           for s in marked)
    raise ValueError(f"{path}: expected a .py file or a .ipynb notebook")


def defined_exercises(source):
    """The exercises whose function the source defines, in catalog order."""
    return [e.id for e in EXERCISES if re.search(rf"^def {re.escape(e.function)}\(", source, re.M)]


# -- grading -------------------------------------------------------------------------------

def grade_source(source, exercise_ids, submission="submission", budget_s=EXERCISE_BUDGET_S):
    load_all()
    start = time.perf_counter()
    results = [grade_exercise(source, exercise_id, budget_s) for exercise_id in exercise_ids]
    return Report(submission, results, time.perf_counter() - start, isolation().describe())


def grade_exercise(source, exercise_id, budget_s=EXERCISE_BUDGET_S):
    exercise = BY_ID[exercise_id]
    properties = properties_for(exercise_id)
    start = time.perf_counter()
    results = []
    with Sandbox(source) as sandbox:
        loaded = sandbox.start()
        if not loaded.ok:
            return _all_failed(exercise, properties, "does not load", loaded.kind,
                               loaded.describe(), start)
        if exercise.function not in sandbox.defined:
            return _all_failed(exercise, properties, "missing", "missing",
                               f"no function named {exercise.function}", start)
        learner = Learner(sandbox)
        hung = None
        for prop in properties:
            if hung is not None:
                # It hung once: running it again would only wait out the timeout again.
                results.append(PropertyResult(prop.name, prop.points, 0, "timeout",
                                              hung.counterexample, got=hung.got,
                                              replay=hung.replay))
                continue
            if time.perf_counter() - start > budget_s:
                results.append(PropertyResult(prop.name, prop.points, 0, "time-budget",
                                              "not run", got=f"this exercise used its {budget_s:g} s"))
                continue
            failure, seconds = timed(prop.check, learner)
            if failure is None:
                results.append(PropertyResult(prop.name, prop.points, prop.points, seconds=seconds))
            else:
                results.append(PropertyResult(prop.name, prop.points, 0, failure.anomaly,
                                              failure.counterexample, failure.expected,
                                              failure.got, failure.replay, seconds))
                if failure.anomaly == "timeout":
                    hung = failure
    earned = sum(r.earned for r in results)
    possible = sum(p.points for p in properties)
    if earned == possible:
        status = "passed"
    elif results and all("NotImplementedError" in r.got for r in results if not r.passed) and earned == 0:
        status = "not attempted"
    else:
        status = "partial" if earned else "failed"
    return ExerciseResult(exercise_id, possible, earned, status, results,
                          time.perf_counter() - start)


def _all_failed(exercise, properties, status, anomaly, detail, start):
    results = [PropertyResult(p.name, p.points, 0, anomaly, "loading your code", got=detail)
               for p in properties]
    return ExerciseResult(exercise.id, sum(p.points for p in properties), 0, status, results,
                          time.perf_counter() - start)


def grade_path(path, assignment=None, only=None):
    """Grade a ``.py`` file or a notebook. Which exercises: ``only`` (ids), else every
    exercise of ``assignment``, else every exercise whose function the file defines."""
    source = solution_source(path)
    if only:
        unknown = [i for i in only if i not in BY_ID]
        if unknown:
            raise KeyError(f"unknown exercise(s) {unknown}; known: {sorted(BY_ID)}")
        ids = list(only)
    elif assignment:
        ids = [e.id for e in exercises_for(assignment)]
    else:
        ids = defined_exercises(source)
    return grade_source(source, ids, submission=str(path))
