"""The hidden properties, and the small framework they are written in.

A property judges one exercise and is worth some points. It calls the learner's function
only through a ``Learner`` (a sandboxed process) and either passes or returns a
``Failure``: the smallest counterexample hypothesis found, what was expected, what the
learner's code did, the anomaly's name, and how to replay it. The property's own source
never appears in what the learner sees.
"""

import tempfile
import time
from dataclasses import dataclass, field

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.configuration import set_hypothesis_home_dir
from hypothesis.errors import Flaky

from kafkadojo.exercises.catalog import BY_ID

from ..sandbox import safe_repr


@dataclass
class Failure:
    anomaly: str                  # a name a learner can look up: "wrong-hash", "lost-write", ...
    counterexample: str           # the call (or seed) that shows it
    expected: str = ""
    got: str = ""
    replay: str = ""


@dataclass
class Property:
    exercise: str                 # exercise id, e.g. "replication.next_high_watermark"
    name: str
    points: int
    check: object                 # check(learner) -> Failure | None


REGISTRY = []


def prop(exercise, name, points):
    """Register ``check(learner)`` as a property of ``exercise`` worth ``points``."""
    if exercise not in BY_ID:
        raise KeyError(f"unknown exercise {exercise!r}")

    def register(check):
        REGISTRY.append(Property(exercise, name, points, check))
        return check
    return register


def properties_for(exercise_id):
    return [p for p in REGISTRY if p.exercise == exercise_id]


class LearnerError(Exception):
    """The learner's function did not return (raised, hung, crashed, or returned junk)."""

    def __init__(self, call, outcome):
        super().__init__(f"{call} {outcome.describe()}")
        self.call = call
        self.outcome = outcome


class Learner:
    """The learner's functions, called in their sandbox. ``learner.call(name, *args)``
    returns the plain-data result or raises ``LearnerError``."""

    def __init__(self, sandbox):
        self.sandbox = sandbox

    def call(self, function, *args):
        outcome = self.sandbox.call(function, *[wire(a) for a in args])
        if not outcome.ok:
            raise LearnerError(show_call(function, args), outcome)
        return outcome.value

    def function(self, name):
        """A plain Python callable for the engine's seams."""
        return lambda *args: self.call(name, *args)


def plain(value):
    """Engine values as the learner's contract describes them (NamedTuples as tuples,
    lists of tuples as they are)."""
    if isinstance(value, tuple):
        return tuple(plain(v) for v in value)
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return type(value)(plain(v) for v in value)
    return value


NAMED_TUPLE = "\x00namedtuple"     # as the worker expects (autograder/worker.py)


def wire(value):
    """Arguments as they cross into the sandbox: plain data, NamedTuples tagged with their
    class name so the learner's own class of that name (a given) receives them."""
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return (NAMED_TUPLE, type(value).__name__, tuple(wire(v) for v in value))
    if isinstance(value, (list, tuple, set, frozenset)):
        kind = type(value) if type(value) in (list, tuple, set, frozenset) else list
        return kind(wire(v) for v in value)
    if isinstance(value, dict):
        return {wire(k): wire(v) for k, v in value.items()}
    return value


def comparable(value):
    """Compare results without caring whether a sequence is a list or a tuple."""
    if isinstance(value, (list, tuple)):
        return tuple(comparable(v) for v in value)
    return value


def show_call(function, args):
    return f"{function}({', '.join(safe_repr(a) for a in args)})"


def differential(learner, function, reference, strategy, examples=200, anomaly="wrong-answer",
                 compare=comparable):
    """hypothesis searches ``strategy`` (tuples of arguments) for a call where the learner's
    ``function`` disagrees with the engine's ``reference``, then shrinks it."""
    fatal = []

    @settings(max_examples=examples, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck), report_multiple_bugs=False,
              phases=[Phase.explicit, Phase.generate, Phase.shrink])
    @given(strategy)
    def search(args):
        if fatal:
            return
        expected = compare(plain(reference(*args)))
        try:
            got = compare(learner.call(function, *args))
        except LearnerError as error:
            if error.outcome.kind in ("timeout", "crashed", "load-error", "missing"):
                fatal.append(error)     # do not shrink a hang: every try costs the timeout
                return
            raise _Mismatch(args, expected, error.outcome.describe())
        if got != expected:
            raise _Mismatch(args, expected, f"returned {safe_repr(got)}")

    try:
        search()
    except _Mismatch as mismatch:
        call = show_call(function, mismatch.args_)
        return Failure(anomaly, call, expected=repr(mismatch.expected), got=mismatch.got,
                       replay=f">>> {call}")
    if fatal:
        error = fatal[0]
        return Failure(error.outcome.kind, error.call, got=error.outcome.describe(),
                       replay=f">>> {error.call}")
    return None


def examples(learner, function, cases, anomaly="wrong-answer"):
    """Fixed cases ``[(args, expected), ...]``, e.g. Kafka's own test vectors."""
    for args, expected in cases:
        call = show_call(function, args)
        try:
            got = learner.call(function, *args)
        except LearnerError as error:
            return Failure(error.outcome.kind if error.outcome.kind != "raised" else anomaly,
                           call, expected=repr(expected), got=error.outcome.describe(),
                           replay=f">>> {call}")
        if comparable(got) != comparable(expected):
            return Failure(anomaly, call, expected=repr(expected), got=f"returned {safe_repr(got)}",
                           replay=f">>> {call}")
    return None


class _Mismatch(Exception):
    def __init__(self, args, expected, got):
        super().__init__("mismatch")
        self.args_ = args
        self.expected = expected
        self.got = got


def timed(check, learner):
    """Run a property: ``(failure or None, seconds)``. Whatever goes wrong inside it is that
    property's failure, never the grader's crash."""
    start = time.perf_counter()
    try:
        failure = check(learner)
    except LearnerError as error:
        failure = Failure(error.outcome.kind, error.call, got=error.outcome.describe(),
                          replay=f">>> {error.call}")
    except Flaky:
        failure = Failure("nondeterministic", "the same call, made twice",
                          got="your function answered the same arguments differently (or "
                              "raised only sometimes): does it keep state between calls?")
    except Exception as error:      # noqa: BLE001 - e.g. an answer too large to show or compare
        failure = Failure("unjudgeable-answer", "while judging your answers",
                          got=f"the grader could not use your function's answers "
                              f"({type(error).__name__})")
    return failure, time.perf_counter() - start


_HYPOTHESIS_HOME = None


def load_all():
    """Import every assignment's properties (they register themselves), and keep
    hypothesis' files (its constants cache) out of whatever folder grading runs in: a course
    folder copies them into releases."""
    global _HYPOTHESIS_HOME
    if _HYPOTHESIS_HOME is None:
        _HYPOTHESIS_HOME = tempfile.mkdtemp(prefix="kafkadojo-hypothesis-")
        set_hypothesis_home_dir(_HYPOTHESIS_HOME)
    from . import groups, isr, log, offsets, partitioning, replication  # noqa: F401
    return REGISTRY
