"""Grade a submission: each exercise in its own sandbox, each property for its points.

    report = grade_path("replication.py")
    print(report.format())           # what the learner sees
    report.to_dict()                 # for CSV, JSON, Gradescope

A property either passes (its points) or fails with a teaching failure: the anomaly, the
smallest counterexample, what was expected and what happened, and how to replay it. One
exercise's hang, crash or cheating costs that exercise's points and nothing else.
"""

import functools
import json
import os
import re
import select
import signal
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from kafkadojo.exercises.catalog import BY_ID, EXERCISES, exercises_for

from .callbacks import callbacks_for, note_for
from .properties import Failure, Learner, load_all, properties_for, timed
from .sandbox import TAMPER_PROOF, Outcome, Sandbox, Unit, isolation, units_of

EXERCISE_BUDGET_S = 60.0        # all properties of one exercise, wall clock
CHILD_GRACE_S = 5.0             # past the budget, before the judging process is killed


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
    note: str = ""              # how it was graded, when the learner should know (callbacks)


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
    def tamper_proof(self):
        return self.isolation.startswith(TAMPER_PROOF)

    @property
    def possible(self):
        return sum(e.points for e in self.exercises)

    def to_dict(self):
        return {"submission": self.submission, "earned": self.earned, "possible": self.possible,
                "seconds": round(self.seconds, 3), "isolation": self.isolation,
                "tamper_proof": self.tamper_proof,
                "exercises": [asdict(e) for e in self.exercises]}

    def to_json(self):
        return json.dumps(self.to_dict(), indent=2)

    def format(self, verbose=False):
        lines = [f"kafkadojo check: {self.submission}: {self.earned}/{self.possible} points "
                 f"({self.seconds:.1f} s)", ""]
        if self.isolation and not self.tamper_proof:
            lines[1:1] = [f"note: learner code ran under {self.isolation}"]
        elif self.isolation and verbose:
            lines[1:1] = [f"learner code isolated by {self.isolation}"]
        for exercise in self.exercises:
            mark = "✔" if exercise.status == "passed" else ("◐" if exercise.status == "partial" else "✘")
            lines.append(f"{mark} {exercise.id:<38} {exercise.earned}/{exercise.points}  {exercise.status}")
            if exercise.status == "not attempted":
                lines.append(f"    your {BY_ID[exercise.id].function} still raises NotImplementedError")
                continue
            if exercise.note and (verbose or exercise.status != "passed"):
                lines.append(f"    ({exercise.note})")
            results = exercise.properties
            if exercise.status in ("does not load", "missing") and results:
                results = results[:1]       # the same reason for every property: say it once
            for result in results:
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
            if len(results) < len(exercise.properties):
                lines.append(f"    (and so for its {len(exercise.properties) - 1} other "
                             f"propert{'y' if len(exercise.properties) == 2 else 'ies'})")
        return "\n".join(lines)


# -- reading submissions -------------------------------------------------------------------

# Lines of a notebook cell that are not Python: IPython magics and shell escapes (and their
# transformed form in a kernel's history).
NOT_PYTHON = ("%", "!", "get_ipython()")


def python_only(text):
    """``text`` with those lines blanked (not removed: feedback quotes line numbers)."""
    return "\n".join("" if line.lstrip().startswith(NOT_PYTHON) else line
                     for line in text.split("\n"))


def solution_units(path):
    """The learner's code in a ``.py`` file (one unit, named by the file) or a notebook (one
    unit per cell, named by its place in the notebook: the nbgrader solution cells and the
    givens, or, in a plain notebook, the cells that define exercise functions)."""
    path = Path(path)
    if path.suffix == ".py":
        return [Unit(path.name, path.read_text(encoding="utf-8", errors="replace"), whole=True)]
    if path.suffix == ".ipynb":
        return notebook_units(json.loads(path.read_text(encoding="utf-8")).get("cells", []))
    raise ValueError(f"{path}: expected a .py file or a .ipynb notebook")


def notebook_units(cells):
    """``cells`` (a notebook's list of cells, as JSON or nbformat nodes): its graded code
    cells, each a unit named ``cell N`` (N counts every cell from the top, from 1)."""
    numbered = []
    for number, cell in enumerate(cells, 1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        metadata = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
        nbgrader = metadata.get("nbgrader") if isinstance(metadata.get("nbgrader"), dict) else {}
        numbered.append((number, source if isinstance(source, str) else "", nbgrader))
    marked = [(n, s) for n, s, nbgrader in numbered
              if nbgrader.get("solution") or str(nbgrader.get("grade_id", "")).endswith("-givens")]
    if not marked:
        marked = [(n, s) for n, s, _ in numbered if defined_exercises(s)]
    return [Unit(f"cell {number}", python_only(source)) for number, source in marked]


def solution_source(path):
    """The learner's code in a ``.py`` file or a notebook, as one text."""
    return "\n\n".join(unit.source for unit in solution_units(path))


def defines(source, name):
    return re.search(rf"^(def {re.escape(name)}\(|{re.escape(name)}\s*=)", source, re.M) is not None


def defined_exercises(source):
    """The exercises whose function the source defines, in catalog order."""
    return [e.id for e in EXERCISES if defines(source, e.function)]


# -- grading -------------------------------------------------------------------------------

def grade_source(source, exercise_ids, submission="submission", budget_s=EXERCISE_BUDGET_S,
                 skipped=None, jobs=1):
    """Grade ``source`` (one file's text, or a list of ``Unit``s) on ``exercise_ids``.
    ``skipped``: units found to hang or kill the worker, shared by every exercise graded
    with the same dict (found once, skipped after). ``jobs``: exercises judged at once, each
    in its own process and sandbox (``kafkadojo check`` uses every core; a class is graded
    one submission per core instead)."""
    load_all()
    start = time.perf_counter()
    found = isolation()
    units = units_of(source)
    skipped = {} if skipped is None else skipped
    if jobs > 1 and len(exercise_ids) > 1 and _can_fork():
        results = _grade_at_once(units, exercise_ids, budget_s, skipped, jobs)
    else:
        results = [grade_exercise(units, exercise_id, budget_s, skipped)
                   for exercise_id in exercise_ids]
    return Report(submission, results, time.perf_counter() - start, found.describe())


def _can_fork():
    # A Jupyter kernel has threads, and forking those is unsafe: there, judge in-process.
    return hasattr(os, "fork") and threading.active_count() == 1


def grade_exercise(source, exercise_id, budget_s=EXERCISE_BUDGET_S, skipped=None):
    """One exercise, all its properties, within ``budget_s`` of wall-clock time. The judging
    runs in a child process that is killed if it overruns (whatever the learner's answers
    made the grader do); properties it did not finish fail as ``time-budget``. ``skipped``
    (unit index -> Outcome) is updated with the units found to hang or kill the worker."""
    exercise = BY_ID[exercise_id]
    units = units_of(source)
    skipped = {} if skipped is None else skipped
    start = time.perf_counter()
    deadline = time.monotonic() + budget_s
    if _can_fork():
        judging = _Judging(units, exercise, deadline, skipped)
        while not judging.over:
            judging.wait()
        events, ran_out = judging.events(), judging.ran_out
    else:
        events = list(_judge(units, exercise, properties_for(exercise_id), deadline, skipped))
        ran_out = False
    return _exercise_result(exercise, events, ran_out, budget_s, skipped, start)


def _grade_at_once(units, exercise_ids, budget_s, skipped, jobs):
    """``grade_exercise`` for each exercise, up to ``jobs`` of them at once. The first one
    loads the learner's code alone: the units it finds to hang or kill the worker are then
    skipped by all the others, as when they are graded one after another."""
    waiting = list(exercise_ids)
    running, results = [], {}
    first = None
    while waiting or running:
        loaded = first is None or first.over or first.has_loaded()
        if first is not None and loaded:
            _learn_skipped(first.events(), skipped)
        while waiting and len(running) < (jobs if loaded else 1):
            exercise = BY_ID[waiting.pop(0)]
            judging = _Judging(units, exercise, time.monotonic() + budget_s, skipped)
            judging.started = time.perf_counter()
            first = first or judging
            running.append(judging)
        ready, _, _ = select.select(running, [], [], min(j.time_left() for j in running))
        for judging in ready:
            judging.read()
        for judging in [j for j in running if j.over or j.time_left() <= 0]:
            if not judging.over:
                judging.stop(ran_out=True)
            running.remove(judging)
            results[judging.exercise.id] = _exercise_result(
                judging.exercise, judging.events(), judging.ran_out, budget_s, skipped,
                judging.started)
    return [results[exercise_id] for exercise_id in exercise_ids]


def _learn_skipped(events, skipped):
    for event in events:
        if isinstance(event, dict):
            skipped.update({int(i): Outcome(kind, detail=detail)
                            for i, (kind, detail) in event["skipped"].items()})


def _exercise_result(exercise, events, ran_out, budget_s, skipped, start):
    properties = properties_for(exercise.id)
    _learn_skipped(events, skipped)
    status = next((e for e in events if isinstance(e, str)), None)
    results = [e for e in events if isinstance(e, PropertyResult)]
    for prop in properties[len(results):]:
        results.append(PropertyResult(prop.name, prop.points, 0, "time-budget", "not run",
                                      got=f"this exercise used its {budget_s:g} s budget"
                                      if ran_out else "the grader stopped before judging this"))
    earned = sum(r.earned for r in results)
    possible = sum(p.points for p in properties)
    if status:
        pass
    elif earned == possible:
        status = "passed"
    elif results and all("NotImplementedError" in r.got for r in results if not r.passed) and earned == 0:
        status = "not attempted"
    else:
        status = "partial" if earned else "failed"
    return ExerciseResult(exercise.id, possible, earned, status, results,
                          time.perf_counter() - start, note=note_for(exercise))


def charged_unit(units, failures, exercise):
    """The unit whose failure costs ``exercise``, or None: a whole file that did not load,
    or the last unit defining the exercise's function (or a helper of it) if that one did
    not load. Any other unit that fails costs this exercise nothing."""
    for name in (exercise.function, *(helper.__name__ for helper in exercise.helpers)):
        defining = [i for i, unit in enumerate(units) if unit.whole or defines(unit.source, name)]
        if defining and defining[-1] in failures:
            return defining[-1]
    return None


def load_failure(unit, outcome):
    """What the learner reads when ``unit`` did not load: the unit, then their own failing line."""
    if outcome.kind == "load-error":
        error, _, trace = outcome.detail.partition("\n")
        return f"{unit.describe()} did not load:\n{trace or error}"
    return f"{unit.describe()} did not load: {outcome.describe()}"


def _judge(units, exercise, properties, deadline, skipped=None):
    """Yield, once the code has loaded, a dict ``{"skipped": {index: (kind, detail)}}`` (the
    units found to hang or kill the worker; empty when none); then a status (when the code
    does not load or lacks the function), then one PropertyResult per property, in order."""
    with Sandbox(units, deadline=deadline, callbacks=callbacks_for(exercise)) as sandbox:
        sandbox.skipped.update(skipped or {})
        loaded = sandbox.start()
        # Always reported, even when empty: it tells the parent that loading is over.
        yield {"skipped": {i: (o.kind, o.detail) for i, o in sandbox.skipped.items()}}
        charged = charged_unit(units, sandbox.unit_failures, exercise)
        problem = None
        if not loaded.ok and not sandbox.nothing_loaded:        # the worker itself failed
            problem = ("does not load", loaded.kind, "loading your code", loaded.describe())
        elif charged is not None:
            outcome = sandbox.unit_failures[charged]
            problem = ("does not load", outcome.kind, f"loading {units[charged].filename}",
                       load_failure(units[charged], outcome))
        elif exercise.function not in sandbox.defined:
            problem = ("missing", "missing", "loading your code",
                       f"no function named {exercise.function}")
        if problem is not None:
            status, anomaly, where, detail = problem
            yield status
            for prop in properties:
                yield _result(prop, Failure(anomaly, where, got=detail))
            return
        learner = Learner(sandbox)
        hung = None
        for prop in properties:
            if hung is not None:
                # It hung once: running it again would only wait out the timeout again.
                yield _result(prop, Failure("timeout", hung.counterexample, got=hung.got,
                                            replay=hung.replay))
                continue
            if sandbox.out_of_time is not None or time.monotonic() > deadline:
                yield _result(prop, Failure("time-budget", "not run",
                                            got="this exercise used its time budget"))
                continue
            failure, seconds = timed(prop.check, learner)
            yield _result(prop, failure, seconds)
            if failure is not None and failure.anomaly == "timeout":
                hung = failure


def _result(prop, failure, seconds=0.0):
    if failure is None:
        return PropertyResult(prop.name, prop.points, prop.points, seconds=seconds)
    return PropertyResult(prop.name, prop.points, 0, *(
        _feedback(text) for text in (failure.anomaly, failure.counterexample, failure.expected,
                                     failure.got, failure.replay)), seconds=seconds)


class _Judging:
    """``_judge`` in a forked child that streams its results back, one JSON line each, and
    is killed at the deadline (plus a moment for its own time-budget report)."""

    def __init__(self, units, exercise, deadline, skipped):
        self.exercise = exercise
        self.deadline = deadline
        self.buffer = b""
        self.over = self.ran_out = False
        self.read_fd, write_fd = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:                               # the child: judge, report, vanish
            try:
                os.close(self.read_fd)
                for event in _judge(units, exercise, properties_for(exercise.id), deadline,
                                    skipped):
                    line = json.dumps(event if isinstance(event, (str, dict))
                                      else asdict(event)) + "\n"
                    view = memoryview(line.encode())
                    while view:
                        view = view[os.write(write_fd, view):]
            finally:
                os._exit(0)
        os.close(write_fd)

    def fileno(self):
        return self.read_fd

    def time_left(self):
        return max(0.0, self.deadline + CHILD_GRACE_S - time.monotonic())

    def has_loaded(self):
        """The child's first report (``_judge``'s first event) comes once the code loaded."""
        return b"\n" in self.buffer

    def wait(self):
        """Read what the child sent, waiting for it at most until the deadline."""
        remaining = self.time_left()
        if remaining <= 0:
            self.stop(ran_out=True)
        elif select.select([self.read_fd], [], [], remaining)[0]:
            self.read()

    def read(self):
        chunk = os.read(self.read_fd, 1 << 16)
        self.buffer += chunk
        if not chunk:
            self.stop()

    def stop(self, ran_out=False):
        self.over = True
        self.ran_out = ran_out or time.monotonic() > self.deadline
        os.close(self.read_fd)
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(self.pid, 0)

    def events(self):
        """What the child has reported so far (a line cut off by its end is left out)."""
        events = []
        for line in self.buffer.split(b"\n")[:-1]:
            if line:
                data = json.loads(line)
                events.append(data if isinstance(data, str) or "skipped" in data
                              else PropertyResult(**data))
        return events


# -- what feedback may contain ----------------------------------------------------------------

FEEDBACK_CHARS = 3_000          # per field of a property's result
# Terminal escapes and other control characters have no place in feedback someone prints.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _feedback(text):
    """A field of feedback: printable, capped, and with any line of the hidden properties or
    of the reference solutions withheld, whatever the learner's code raised or returned."""
    text = CONTROL_CHARACTERS.sub("?", str(text).encode("utf-8", "replace").decode("utf-8"))
    if len(text) > FEEDBACK_CHARS:
        text = text[:FEEDBACK_CHARS] + f"... ({len(text):,} characters, cut)"
    secret = _secret_lines()
    return "\n".join("(a line withheld: it quotes the grader)"
                     if any(hidden in line for hidden in secret) else line
                     for line in text.split("\n"))


@functools.cache
def _secret_lines():
    """Distinctive lines (25+ characters) of the hidden properties and the solutions, less
    what every learner is given anyway (the stubs: signatures, contracts, hints)."""
    texts = [path.read_text() for path in Path(__file__).with_name("properties").glob("*.py")]
    texts += [exercise.solution_source() for exercise in EXERCISES]
    lines = {line.strip() for text in texts for line in text.splitlines()}
    given = {line.strip() for exercise in EXERCISES
             for line in exercise.stub_source().splitlines()}
    return frozenset(line for line in lines - given
                     if len(line) >= 25 and not line.startswith(("#", "from ", "import ")))


def grade_path(path, assignment=None, only=None, jobs=1):
    """Grade a ``.py`` file or a notebook. Which exercises: ``only`` (ids), else every
    exercise of ``assignment``, else every exercise whose function the file defines.
    ``jobs``: exercises judged at once (see ``grade_source``)."""
    units = solution_units(path)
    if only:
        unknown = [i for i in only if i not in BY_ID]
        if unknown:
            raise KeyError(f"unknown exercise(s) {unknown}; known: {sorted(BY_ID)}")
        ids = list(only)
    elif assignment:
        ids = [e.id for e in exercises_for(assignment)]
    else:
        ids = defined_exercises("\n\n".join(unit.source for unit in units))
    return grade_source(units, ids, submission=str(path), jobs=jobs)
