"""Hidden properties: committed offsets, delivery semantics, consumer lag."""

import functools

from hypothesis import strategies as st

from kafkadojo.reference import delivery, monitoring
from kafkadojo.reference.record import Record
from kafkadojo.reference.seams import REFERENCE

from . import Failure, differential, examples, prop
from .engine import EVENT_BUDGET, engine_failure


@st.composite
def batches(draw):
    """A batch as poll() returns it: per partition, consecutive offsets in order."""
    records = []
    for partition in draw(st.lists(st.integers(0, 3), unique=True, max_size=3)):
        start = draw(st.integers(0, 50))
        for offset in range(start, start + draw(st.integers(1, 5))):
            records.append(Record(draw(st.sampled_from(("t", "u"))), partition, offset, None,
                                  b"v", 0))
    return (records,)


@prop("offsets.committed_offsets", "commits the last processed offset + 1 per partition", 1)
def committed(learner):
    failure = examples(learner, "committed_offsets", [
        (([Record("t", 0, 41, None, b"v", 0)],), {("t", 0): 42}),
        (([],), {})], anomaly="off-by-one-commit")
    return failure or differential(learner, "committed_offsets", delivery.committed_offsets,
                                   batches(), anomaly="wrong-committed-offset")


def _replay(guarantee, crash_at, sink=False):
    return (">>> from kafkadojo.reference.delivery import run_delivery\n"
            ">>> from kafkadojo.reference.seams import REFERENCE\n"
            f">>> print(run_delivery({guarantee!r}, crash_at=[{crash_at!r}], idempotent_sink={sink},\n"
            "...     seams=REFERENCE.with_rules(plan_batch=plan_batch)).report())")


def _delivery_failure(guarantee, crash_at, outcome, anomaly, expected):
    return Failure(anomaly, f"{guarantee}, crash at step {crash_at}", expected=expected,
                   got=outcome.report(), replay=_replay(guarantee, crash_at))


@functools.cache
def _reference_steps(guarantee):
    return sum(1 for s in delivery.run_delivery(guarantee).timeline
               if s.what in ("process", "commit"))


def _holds_under_every_crash(learner, guarantee):
    seams = REFERENCE.with_rules(plan_batch=learner.function("plan_batch"))
    try:
        clean = delivery.run_delivery(guarantee, seams=seams, event_budget=EVENT_BUDGET)
    except Exception as error:      # noqa: BLE001 - judged by engine_failure
        return engine_failure(error, f"{guarantee}, no crash", _replay(guarantee, None))
    if clean.lost or clean.duplicated:
        return _delivery_failure(guarantee, None, clean,
                                 "lost-record" if clean.lost else "duplicate",
                                 "without a crash, every record processed exactly once")
    steps = sum(1 for s in clean.timeline if s.what in ("process", "commit"))
    # Each crash point replays the whole run: a plan with many more steps than Kafka's
    # would make this quadratic, so crashes are tried at the first steps only.
    steps = min(steps, 3 * _reference_steps(guarantee) + 10)
    commits = sum(1 for s in clean.timeline if s.what == "commit")
    if commits == 0:
        return _delivery_failure(guarantee, None, clean, "never-committed",
                                 "the loop commits what it processed")
    for number in range(steps):
        for when in ("before", "after"):
            crash_at = (number, when)
            try:
                outcome = delivery.run_delivery(guarantee, crash_at=[crash_at], seams=seams,
                                                event_budget=EVENT_BUDGET)
            except Exception as error:  # noqa: BLE001
                return engine_failure(error, f"{guarantee}, crash at step {crash_at}",
                                      _replay(guarantee, crash_at))
            broken = outcome.violations()
            if broken:
                return _delivery_failure(guarantee, crash_at, outcome, broken[0][0],
                                         f"{guarantee}: " + ("nothing processed twice"
                                                             if guarantee == delivery.AT_MOST_ONCE
                                                             else "nothing lost"))
    return None


@prop("offsets.plan_batch", "at-most-once: no crash anywhere makes a record processed twice", 1)
def at_most_once(learner):
    return _holds_under_every_crash(learner, delivery.AT_MOST_ONCE)


@prop("offsets.plan_batch", "at-least-once: no crash anywhere loses a record", 1)
def at_least_once(learner):
    return _holds_under_every_crash(learner, delivery.AT_LEAST_ONCE)


@prop("offsets.partition_lag", "agrees with kafka-consumer-groups' LAG column", 1)
def lag(learner):
    offsets = st.integers(0, 10_000)
    failure = examples(learner, "partition_lag", [((100, 60), 40), ((100, None), None),
                                                  ((7, 7), 0)], anomaly="wrong-lag")
    return failure or differential(learner, "partition_lag", monitoring.partition_lag,
                                   st.tuples(offsets, st.one_of(st.none(), offsets)),
                                   anomaly="wrong-lag")
