"""The hidden properties, and the small framework they are written in.

A property judges one exercise and is worth some points. It calls the learner's function
only through a ``Learner`` (a sandboxed process) and either passes or returns a
``Failure``: the smallest counterexample hypothesis found, what was expected, what the
learner's code did, the anomaly's name, and how to replay it. The property's own source
never appears in what the learner sees.
"""

import atexit
import copy
import glob
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from typing import NamedTuple

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
        outcome = self.sandbox.call(function, *[as_sent(a) for a in args])
        if not outcome.ok:
            raise LearnerError(show_call(function, args), outcome)
        return outcome.value

    def function(self, name, remember=False):
        """A plain Python callable for the engine's seams (``remember``: see ``remembered``)."""
        function = lambda *args: self.call(name, *args)     # noqa: E731
        return remembered(function) if remember else function


def remembered(function):
    """``function`` answering a call it has seen before from memory: the engine asks its
    rules the same question many times (an idle follower's fetch, a segment not yet full),
    the contract makes them pure functions, and a round trip to the sandbox costs more than
    the engine's own work. (A function that keeps state between calls is caught as such by
    the differential properties.)"""
    answers = {}

    def remembering(*args):
        key = repr(args)
        if key not in answers:
            answers[key] = function(*args)
        return copy.deepcopy(answers[key])
    return remembering


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


def as_sent(value):
    """Arguments as they cross into the sandbox: plain data, NamedTuples tagged with their
    class name so the learner's own class of that name (a given) receives them."""
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return (NAMED_TUPLE, type(value).__name__, tuple(as_sent(v) for v in value))
    if isinstance(value, (list, tuple, set, frozenset)):
        kind = type(value) if type(value) in (list, tuple, set, frozenset) else list
        return kind(as_sent(v) for v in value)
    if isinstance(value, dict):
        return {as_sent(k): as_sent(v) for k, v in value.items()}
    return value


# -- comparing answers by meaning ----------------------------------------------------------------
# What a property compares is what the contract promises, never Python's classes: the worker
# sends a defaultdict, OrderedDict or Counter as a dict and a NamedTuple as a tuple, and a
# property declares how the answer's containers compare with ``compare=``:
SEQUENCE = "sequence"       # in order; a list and a tuple of the same items are the same answer
COLLECTION = "collection"   # the answer is a collection in any order: list, tuple or set
MAPPING_OF_COLLECTIONS = "mapping-of-collections"   # a dict whose values are collections
COMPARISONS = (SEQUENCE, COLLECTION, MAPPING_OF_COLLECTIONS)


def comparable(value, compare=SEQUENCE):
    """``value`` in the form answers are compared in, for the ``compare`` kind: lists and
    tuples (at any depth, dict values included) as tuples, sets as frozensets; with
    ``COLLECTION`` the answer's own items in a canonical order, with
    ``MAPPING_OF_COLLECTIONS`` each value's items. ``compare`` may also be a function of one
    value."""
    if callable(compare):
        return compare(value)
    if compare == COLLECTION:
        return _as_collection(value)
    if compare == MAPPING_OF_COLLECTIONS:
        if isinstance(value, dict):
            return {_canonical(k): _as_collection(v) for k, v in value.items()}
        return _canonical(value)
    if compare != SEQUENCE:
        raise ValueError(f"compare must be one of {COMPARISONS} or a function, not {compare!r}")
    return _canonical(value)


def _canonical(value):
    if isinstance(value, (list, tuple)):
        return tuple(_canonical(v) for v in value)
    if isinstance(value, (set, frozenset)):
        return frozenset(_canonical(v) for v in value)
    if isinstance(value, dict):
        return {_canonical(k): _canonical(v) for k, v in value.items()}
    return value


def _as_collection(value):
    if isinstance(value, (list, tuple, set, frozenset)):
        return ("\x00collection", tuple(sorted((_canonical(v) for v in value), key=repr)))
    return _canonical(value)


def _loose(value):
    """Everything but the order and the kind of containers: two answers equal here and
    different under their ``compare`` differ only in a type or an order."""
    if isinstance(value, dict):
        value = [(k, v) for k, v in value.items()]
    if isinstance(value, (list, tuple, set, frozenset)):
        return ("items", tuple(sorted((_loose(v) for v in value), key=repr)))
    if isinstance(value, bytes):
        return value.decode("latin-1")
    if isinstance(value, (int, float, str)) and not isinstance(value, bool):
        return str(value)
    return value


_KINDS = ((dict, "dict"), ((set, frozenset), "set"), ((list, tuple), "sequence"))


def _kind(value):
    return next((name for types, name in _KINDS if isinstance(value, types)), type(value).__name__)


def _article(name):
    return f"an {name}" if name[0] in "aeiou" else f"a {name}"


def _first_type_difference(expected, got, where="your answer"):
    """Where ``got`` holds another kind of value than ``expected`` (a set for a sequence, a
    str for an int, a list of pairs for a dict), walking both in step; None if nowhere."""
    if _kind(expected) != _kind(got):
        return (f"{where} is {_article(type(got).__name__)} where the contract asks for "
                f"{_article(type(expected).__name__)}")
    if isinstance(expected, dict):
        for key in expected:
            if key in got:
                found = _first_type_difference(expected[key], got[key], f"its value for {key!r}")
                if found:
                    return found
    elif isinstance(expected, (list, tuple)) and len(expected) == len(got):
        for i, (e, g) in enumerate(zip(expected, got)):
            found = _first_type_difference(e, g, f"its item {i}")
            if found:
                return found
    return None


def explain_difference(expected, got):
    """``(anomaly, note)`` for a wrong answer that holds the right values: ``wrong-type``
    and which type, or no anomaly of its own and a note that only the order differs.
    ``(None, "")`` when the values themselves differ."""
    try:
        if _loose(expected) != _loose(got):
            return None, ""
    except Exception:       # noqa: BLE001 - values that cannot be ordered: judged as they are
        return None, ""
    found = _first_type_difference(expected, got)
    if found:
        return "wrong-type", f"the right values, but {found}"
    return None, "the right items, in another order than the contract's"


def show_call(function, args):
    return f"{function}({', '.join(safe_repr(a) for a in args)})"


def known_mistakes(*mistakes):
    """A ``diagnose`` for ``examples`` and ``differential`` from realistic wrong rules:
    ``known_mistakes(("off-by-one-commit", rule), ...)`` names a wrong answer after the one
    mistake whose rule gives exactly that answer on those arguments (compared with the
    property's ``compare``), and names nothing when none does, or more than one does."""
    def diagnose(args, expected, got, compare=SEQUENCE):
        names = set()
        for anomaly, rule in mistakes:
            try:
                if comparable(rule(*args), compare) == comparable(got, compare):
                    names.add(anomaly)
            except Exception:       # noqa: BLE001 - a mistake need not run on every input
                continue
        return names.pop() if len(names) == 1 else None
    diagnose.takes_compare = True
    return diagnose


def _diagnosed(anomaly, diagnose, args, expected, got, compare):
    """The anomaly of a wrong answer ``got``: ``wrong-type`` when only a type differs, the
    name ``diagnose`` gives when its test for that mistake holds, else the generic
    ``anomaly``; and a note for the feedback."""
    typed, note = explain_difference(expected, got)
    if typed:
        return typed, note
    if diagnose is not None:
        try:
            if getattr(diagnose, "takes_compare", False):
                named = diagnose(args, expected, got, compare)
            else:
                named = diagnose(args, expected, got)
        except Exception:       # noqa: BLE001 - a diagnosis never decides a grade
            named = None
        if named:
            return named, note
    return anomaly, note


def _returned(got, note):
    return f"returned {safe_repr(got)}" + (f" ({note})" if note else "")


class Raises(NamedTuple):
    """An expected answer that is an exception the contract names: the learner's function
    must raise an exception of that class name (a given, such as CorruptRecordError)."""
    error: str

    def __repr__(self):
        return f"raises {self.error}"


def _raised(error):
    """The class name a learner's function raised (LearnerError of kind "raised"), or None."""
    if error.outcome.kind != "raised":
        return None
    return error.outcome.detail.split("\n", 1)[0]


def _expected(reference, args, raises):
    try:
        return plain(reference(*args))
    except raises as error:
        return Raises(type(error).__name__)


def differential(learner, function, reference, strategy, examples=200, anomaly="wrong-answer",
                 compare=SEQUENCE, diagnose=None, raises=()):
    """hypothesis searches ``strategy`` (tuples of arguments) for a call where the learner's
    ``function`` disagrees with the engine's ``reference``, then shrinks it. Answers are
    compared as ``compare`` says (``SEQUENCE``, ``COLLECTION``, ``MAPPING_OF_COLLECTIONS``,
    or a function of one value). Where the reference raises one of ``raises`` (exception
    classes), the learner's must raise an exception of the same name. The failure is named
    ``anomaly`` unless only a type differs (``wrong-type``) or ``diagnose(args, expected,
    got)`` names the mistake."""
    fatal = []

    @settings(max_examples=examples, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck), report_multiple_bugs=False,
              phases=[Phase.explicit, Phase.generate, Phase.shrink])
    @given(strategy)
    def search(args):
        if fatal:
            return
        expected = _expected(reference, args, raises)
        try:
            got = learner.call(function, *args)
        except LearnerError as error:
            if error.outcome.kind in ("timeout", "crashed", "load-error", "missing"):
                fatal.append(error)     # do not shrink a hang: every try costs the timeout
                return
            if isinstance(expected, Raises) and _raised(error) == expected.error:
                return
            raise _Mismatch(args, expected, error.outcome.describe())
        if isinstance(expected, Raises) or \
                comparable(got, compare) != comparable(expected, compare):
            raise _Mismatch(args, expected, None, got)

    try:
        search()
    except _Mismatch as mismatch:
        call = show_call(function, mismatch.args_)
        name, shown = anomaly, mismatch.got
        if mismatch.answered:
            name, note = _diagnosed(anomaly, diagnose, mismatch.args_, mismatch.expected,
                                    mismatch.value, compare)
            shown = _returned(mismatch.value, note)
        return Failure(name, call, expected=safe_repr(mismatch.expected), got=shown,
                       replay=_replay(call, mismatch.expected))
    if fatal:
        error = fatal[0]
        return Failure(error.outcome.kind, error.call, got=error.outcome.describe(),
                       replay=f">>> {error.call}")
    return None


def examples(learner, function, cases, anomaly="wrong-answer", compare=SEQUENCE, diagnose=None):
    """Fixed cases, e.g. Kafka's own test vectors, compared as ``compare`` says: each
    ``(args, expected)``, or ``(args, expected, {anomaly: the answer that mistake gives})``.
    A wrong answer is named after the mistake whose answer it is, else ``wrong-type`` when
    only a type differs, else what ``diagnose(args, expected, got)`` names (``known_mistakes``
    builds one), else ``anomaly``, the generic name: a case never gives every wrong answer
    its one name."""
    for args, expected, *known in cases:
        call = show_call(function, args)
        try:
            got = learner.call(function, *args)
        except LearnerError as error:
            if isinstance(expected, Raises) and _raised(error) == expected.error:
                continue
            return Failure(error.outcome.kind if error.outcome.kind != "raised" else anomaly,
                           call, expected=safe_repr(expected), got=error.outcome.describe(),
                           replay=_replay(call, expected))
        if isinstance(expected, Raises) or \
                comparable(got, compare) != comparable(expected, compare):
            name, note = _diagnosed(anomaly, diagnose, args, expected, got, compare)
            for mistake, answer in (known[0] if known else {}).items():
                if comparable(got, compare) == comparable(answer, compare):
                    name = mistake
            return Failure(name, call, expected=safe_repr(expected), got=_returned(got, note),
                           replay=_replay(call, expected))
    return None


def _replay(call, expected):
    """The lines that replay ``call``; where it should raise, they say whether it did."""
    if not isinstance(expected, Raises):
        return f">>> {call}"
    return (f">>> try:\n...     print({call})\n... except {expected.error}:\n"
            f"...     print('raised {expected.error}, as it should')")


class _Mismatch(Exception):
    """A wrong call: ``got`` describes what happened (it raised), or ``value`` is what it
    returned."""

    _NOTHING = object()

    def __init__(self, args, expected, got, value=_NOTHING):
        super().__init__("mismatch")
        self.args_ = args
        self.expected = expected
        self.got = got
        self.value = value

    @property
    def answered(self):
        return self.value is not self._NOTHING


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


def _remove_hypothesis_home(folder, creator):
    # Forked grading children share the folder: only the process that made it removes it.
    if os.getpid() == creator:
        shutil.rmtree(folder, ignore_errors=True)


def _remove_stale_hypothesis_homes():
    """The folders of graders that were killed (a signal runs no exit handler): their names
    carry the pid that made them, and that process is gone."""
    for folder in glob.glob(os.path.join(tempfile.gettempdir(), "kafkadojo-hypothesis-*-*")):
        pid = os.path.basename(folder).split("-")[2]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            pass                # another user's process, still there


def _draw_no_local_constants():
    """Hypothesis mixes into its examples constants it finds in the modules this process has
    loaded, and ``kafkadojo check``, nbgrader and a test run load different ones: the same
    learner would meet different examples on different paths. The grader's examples come
    from its strategies and fixed seeds alone."""
    try:
        from hypothesis.internal.conjecture import providers
        none = providers.Constants()
        providers._get_local_constants = lambda: none
    except (ImportError, AttributeError):       # a hypothesis that draws no such constants
        pass


def load_all():
    """Import every assignment's properties (they register themselves), and keep
    hypothesis' files (its constants cache) out of whatever folder grading runs in: a course
    folder copies them into releases."""
    global _HYPOTHESIS_HOME
    if _HYPOTHESIS_HOME is None:
        _remove_stale_hypothesis_homes()
        _HYPOTHESIS_HOME = tempfile.mkdtemp(prefix=f"kafkadojo-hypothesis-{os.getpid()}-")
        set_hypothesis_home_dir(_HYPOTHESIS_HOME)
        atexit.register(_remove_hypothesis_home, _HYPOTHESIS_HOME, os.getpid())
        _draw_no_local_constants()
    from . import (compaction, groups, idempotence, isr, log, offsets, partitioning,  # noqa: F401
                   quotas, replication, security, transactions, wire)
    return REGISTRY
