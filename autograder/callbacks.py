"""One mistake, one charge: the engine answers when an exercise calls another exercise's function.

``partition_for_key`` calls ``murmur2``, ``truncation_offset`` calls ``end_offset_for_epoch``,
``plan_batch`` calls ``committed_offsets``, the assignors sort with ``member_order``,
``should_clean`` calls ``dirty_ratio`` (the catalog's ``needs``). Graded with the learner's own callee, one wrong ``murmur2`` would cost
``partition_for_key`` too. So while an exercise is graded, each function it needs is, in
the learner's namespace, a stub that asks the grader (``worker.callback_stub``); the
grader computes the engine's function here and answers with its value, or its exception's
type and message. No engine code goes into the sandbox, only answers.

The arguments come from learner code: each is decoded with the wire format's limits,
rebuilt into the engine's types where the contract says so (a ``Member``, a list of
``Record``), and bound to the engine function's signature, so a wrong call fails the way
Python would fail it. A callback is answered within the deadline of the call that made it.
"""

import inspect

from kafkadojo.exercises.catalog import EXERCISES
from kafkadojo.reference.assignors import Member
from kafkadojo.reference.cleaner import SegmentInfo
from kafkadojo.reference.record import Record

from .properties import as_sent


def _engine_functions():
    """Every function a learner writes (exercises and their helpers), by name."""
    found = {}
    for exercise in EXERCISES:
        for function in (*exercise.helpers, exercise.reference):
            found[function.__name__] = function
    return found


def _named(cls, value):
    """A NamedTuple that crossed as a plain tuple, as the engine's ``cls`` again."""
    if type(value) in (tuple, list) and len(value) <= len(cls._fields):
        try:
            return cls(*value)
        except TypeError:           # too few fields: the engine function will say what is wrong
            pass
    return value


def _records(value):
    if type(value) in (list, tuple):
        return [_named(Record, item) for item in value]
    return value


def _segments(value):
    if type(value) in (list, tuple):
        return [_named(SegmentInfo, item) for item in value]
    return value


# Per function: how each positional parameter is rebuilt (by position in the signature).
REBUILD = {
    "member_order": (lambda value: _named(Member, value),),
    "committed_offsets": (_records,),
    "dirty_ratio": (_segments,),
}


def handler(name):
    """``handle(args, kwargs)``: the engine's ``name`` on what the learner's code passed."""
    reference = _engine_functions()[name]
    signature = inspect.signature(reference)
    rebuild = REBUILD.get(name, ())
    parameters = list(signature.parameters)

    def handle(args, kwargs):
        bound = signature.bind(*args, **kwargs)      # TypeError, as Python's own call would
        for position, convert in enumerate(rebuild):
            if parameters[position] in bound.arguments:
                bound.arguments[parameters[position]] = convert(
                    bound.arguments[parameters[position]])
        return as_sent(reference(*bound.args, **bound.kwargs))
    return handle


def callbacks_for(exercise):
    """The handlers for the functions ``exercise`` calls that other exercises grade."""
    return {name: handler(name) for name in exercise.needs}


def note_for(exercise):
    """What the learner is told about it, or ""."""
    if not exercise.needs:
        return ""
    names = " and ".join(exercise.needs) if len(exercise.needs) < 3 else (
        ", ".join(exercise.needs[:-1]) + " and " + exercise.needs[-1])
    return (f"graded with the engine's own {names}: where your {exercise.function} calls "
            f"{names}, the grader answered, so a mistake in your {names} costs points only "
            f"there")
