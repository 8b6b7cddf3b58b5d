"""Hidden properties: committed offsets, delivery semantics, consumer lag."""

import functools

from hypothesis import strategies as st

from kafkadojo.reference import delivery, monitoring
from kafkadojo.reference.record import Record
from kafkadojo.reference.seams import REFERENCE

from . import Failure, differential, examples, known_mistakes, prop
from .engine import EVENT_BUDGET, engine_failure


# -- committed_offsets --------------------------------------------------------------------------

@st.composite
def batches(draw):
    """A batch as poll() returns it: each partition's records together, offsets increasing
    (with gaps, as a compacted topic or a transaction's markers leave them), two topics
    sharing a partition number. Empty, one record, up to eight partitions."""
    keys = draw(st.lists(st.tuples(st.sampled_from(("t", "u")), st.integers(0, 7)),
                         unique=True, max_size=8))
    records = []
    for topic, partition in keys:
        offset = draw(st.one_of(st.integers(0, 50), st.integers(0, 2 ** 40)))
        for gap in draw(st.lists(st.sampled_from((1, 1, 1, 2, 5)), min_size=1, max_size=5)):
            offset += gap - 1
            records.append(Record(topic, partition, offset, None, b"v", 0))
            offset += 1
    return (records,)


def _last_processed(records):
    return {(r.topic, r.partition): r.offset for r in records}


def _first_processed_plus_one(records):
    return {(r.topic, r.partition): r.offset + 1 for r in reversed(records)}


_OFFSET_MISTAKES = known_mistakes(("off-by-one-commit", _last_processed),
                                  ("first-record-commit", _first_processed_plus_one))


def commit_mistake(records, got):
    """The anomaly a wrong ``committed_offsets(records)`` answer shows, named only when the
    answer is that mistake's and no other's (else None: the generic wrong-committed-offset)."""
    if isinstance(got, dict) and got and all(isinstance(key, int) for key in got):
        return "partition-only-key"
    return _OFFSET_MISTAKES((records,), None, got)


@prop("offsets.committed_offsets", "commits the last processed offset + 1 per partition", 1)
def committed(learner):
    two_topics = [Record("t", 0, 3, None, b"v", 0), Record("u", 0, 8, None, b"v", 0)]

    def diagnose(args, expected, got):
        return commit_mistake(*args, got)
    failure = examples(learner, "committed_offsets", [
        (([Record("t", 0, 41, None, b"v", 0)],), {("t", 0): 42}),
        (([],), {}),
        ((two_topics,), {("t", 0): 4, ("u", 0): 9})],
        anomaly="wrong-committed-offset", diagnose=diagnose)
    return failure or differential(learner, "committed_offsets", delivery.committed_offsets,
                                   batches(), anomaly="wrong-committed-offset",
                                   diagnose=diagnose)


# -- plan_batch: the poll loop in the engine, crashed at every step ------------------------------

# The applications the loop runs in (run_delivery's options): the notebook's, one record per
# batch, and many partitions in one batch.
SHAPES = ({}, {"records": 3, "partitions": 1, "max_poll_records": 1},
          {"records": 9, "partitions": 6, "max_poll_records": 9})


def _replay(guarantee, crash_at, shape):
    crashes = f"[{crash_at!r}]" if crash_at else "[]"
    options = "".join(f", {name}={value!r}" for name, value in shape.items())
    return (">>> from kafkadojo.reference.delivery import run_delivery\n"
            ">>> from kafkadojo.reference.seams import REFERENCE\n"
            f">>> print(run_delivery({guarantee!r}, crash_at={crashes}{options},\n"
            "...     seams=REFERENCE.with_rules(plan_batch=plan_batch)).report())")


def _where(guarantee, crash_at, shape):
    crash = f"crash at step {crash_at[0]} ({crash_at[1]})" if crash_at else "no crash"
    application = ", ".join(f"{name}={value}" for name, value in shape.items())
    return f"{guarantee}, {crash}" + (f" ({application})" if application else "")


def _run(learner_seams, guarantee, crash_at, shape):
    """The outcome of one run, or the Failure that stopped it."""
    try:
        return delivery.run_delivery(guarantee, crash_at=[crash_at] if crash_at else [],
                                     seams=learner_seams, event_budget=EVENT_BUDGET, **shape)
    except delivery.PlanError as error:
        return Failure("malformed-plan", _where(guarantee, crash_at, shape),
                       expected="steps ('process', record) for the batch's records and "
                                "('commit', {(topic, partition): offset})",
                       got=f"PlanError: {error}", replay=_replay(guarantee, crash_at, shape))
    except Exception as error:      # noqa: BLE001 - judged by engine_failure
        return engine_failure(error, _where(guarantee, crash_at, shape),
                              _replay(guarantee, crash_at, shape))


def _judge(outcome, guarantee, crash_at, shape):
    """What is wrong with a finished run, if anything."""
    def failure(anomaly, expected):
        return Failure(anomaly, _where(guarantee, crash_at, shape), expected=expected,
                       got=outcome.report(), replay=_replay(guarantee, crash_at, shape))
    if crash_at is None and (outcome.lost or outcome.duplicated):
        return failure("lost-record" if outcome.lost else "duplicate",
                       "without a crash, every record processed exactly once")
    if crash_at is None and not _in_order(outcome.processed):
        return failure("out-of-order", "each partition's records processed in offset order, "
                                       "as poll() returned them")
    broken = outcome.violations()
    if broken:
        return failure(broken[0][0], f"{guarantee}: " + (
            "nothing processed twice" if guarantee == delivery.AT_MOST_ONCE else "nothing lost"))
    if not any(step.what == "commit" for step in outcome.timeline):
        return failure("never-committed", "the loop commits what it processed")
    if outcome.uncommitted:
        one_short = all(offset is not None and offset == end - 1
                        for _, offset, end in outcome.uncommitted)
        return failure("off-by-one-commit" if one_short else "uncommitted-records",
                       "at the end, each partition committed up to its end: the offset of "
                       "the next record to read, last processed + 1")
    return None


def _in_order(processed):
    last = {}
    for partition, offset in processed:
        if offset <= last.get(partition, -1):
            return False
        last[partition] = offset
    return True


@functools.cache
def _reference_steps(guarantee, shape_index):
    outcome = delivery.run_delivery(guarantee, **SHAPES[shape_index])
    return sum(1 for s in outcome.timeline if s.what in ("process", "commit"))


def _holds_under_every_crash(learner, guarantee):
    # Every crash replays the batches before it: the same questions, answered from memory.
    seams = REFERENCE.with_rules(plan_batch=learner.function("plan_batch", remember=True))
    for index, shape in enumerate(SHAPES):
        clean = _run(seams, guarantee, None, shape)
        failure = clean if isinstance(clean, Failure) else _judge(clean, guarantee, None, shape)
        if failure:
            return failure
        steps = sum(1 for s in clean.timeline if s.what in ("process", "commit"))
        # Each crash point replays the whole run: a plan with many more steps than Kafka's
        # would make this quadratic, so crashes are tried at the first steps only.
        steps = min(steps, 3 * _reference_steps(guarantee, index) + 10)
        for number in range(steps):
            for when in ("before", "after"):
                outcome = _run(seams, guarantee, (number, when), shape)
                failure = (outcome if isinstance(outcome, Failure)
                           else _judge(outcome, guarantee, (number, when), shape))
                if failure:
                    return failure
    return None


@prop("offsets.plan_batch", "at-most-once: no crash anywhere makes a record processed twice", 1)
def at_most_once(learner):
    return _holds_under_every_crash(learner, delivery.AT_MOST_ONCE)


@prop("offsets.plan_batch", "at-least-once: no crash anywhere loses a record", 1)
def at_least_once(learner):
    return _holds_under_every_crash(learner, delivery.AT_LEAST_ONCE)


# -- partition_lag ---------------------------------------------------------------------------------

def lag_mistake(high_watermark, committed_offset, got):
    """The anomaly a wrong ``partition_lag`` answer shows, named only when it is that one
    (else None: the generic wrong-lag)."""
    if committed_offset is None:
        return "lag-without-commit"
    if committed_offset > high_watermark and got == 0:
        return "clamped-lag"
    if got == committed_offset - high_watermark and got != 0:
        return "reversed-lag"
    return None


@st.composite
def lag_arguments(draw):
    """A high watermark and a committed offset: equal, one apart either way, past the high
    watermark (after an unclean election), far apart, or nothing committed."""
    high_watermark = draw(st.one_of(st.integers(0, 10_000), st.integers(0, 2 ** 63 - 1)))
    committed_offset = draw(st.one_of(
        st.none(), st.integers(0, 2 ** 63 - 1),
        st.sampled_from((-1, 0, 1)).map(lambda d: max(0, high_watermark + d))))
    return high_watermark, committed_offset


@prop("offsets.partition_lag", "agrees with kafka-consumer-groups' LAG column", 1)
def lag(learner):
    def diagnose(args, expected, got):
        return lag_mistake(*args, got)
    failure = examples(learner, "partition_lag", [
        ((100, 60), 40), ((100, None), None), ((7, 7), 0), ((40, 45), -5)],
        anomaly="wrong-lag", diagnose=diagnose)
    return failure or differential(learner, "partition_lag", monitoring.partition_lag,
                                   lag_arguments(), anomaly="wrong-lag", diagnose=diagnose)
