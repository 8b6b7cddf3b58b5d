"""Hidden properties: the partition log (lookups, rolling, fetch bounds, retention)."""

from hypothesis import strategies as st

from kafkadojo.reference import log
from kafkadojo.reference.seams import REFERENCE
from kafkadojo.reference.workload import WorkloadConfig, run_retention

from . import Failure, differential, examples, prop
from .engine import EVENT_BUDGET, engine_failure, in_the_engine

# Small segments, so that every run rolls dozens of them and reads cross their borders.
SEGMENT_BYTES = 500
SMALL_SEGMENTS = WorkloadConfig(operations=300, fault_interval_ms=600,
                                broker_config={"log.segment.bytes": SEGMENT_BYTES})
# How a learner replays a failure (shown in feedback on purpose).
SMALL_SEGMENTS_SOURCE = (f"WorkloadConfig(operations=300, fault_interval_ms=600,\n...     "
                         f"broker_config={{'log.segment.bytes': {SEGMENT_BYTES}}})")


@st.composite
def lookup_args(draw):
    offsets = sorted(draw(st.sets(st.integers(0, 1_000), max_size=12)))
    target = draw(st.one_of(st.integers(-5, 1_100), st.sampled_from(offsets or [0])))
    return (offsets, target)


@prop("log.largest_lower_bound", "finds the right entry in any sorted index", 1)
def lookup_differential(learner):
    return differential(learner, "largest_lower_bound", log.largest_lower_bound, lookup_args(),
                        examples=300, anomaly="wrong-segment")


@st.composite
def roll_args(draw):
    segment_bytes = draw(st.integers(1, 2_000))
    segment_ms = draw(st.integers(1, 5_000))
    segment_size = draw(st.one_of(st.just(0), st.integers(1, 2_200)))
    batch_size = draw(st.one_of(st.integers(1, 700), st.just(max(segment_bytes - segment_size, 1))))
    waited = draw(st.one_of(st.integers(-100, 6_000), st.just(segment_ms)))
    return (segment_size, batch_size, waited, segment_bytes, segment_ms)


@prop("log.should_roll", "rolls exactly when LogSegment.shouldRoll does", 1)
def roll_differential(learner):
    return differential(learner, "should_roll", log.should_roll, roll_args(), examples=300,
                        anomaly="wrong-roll")


@prop("log.should_roll",
      "inside a cluster with 500-byte segments, under faults, every record stays readable", 1)
def roll_in_the_engine(learner):
    return in_the_engine(learner, "should_roll", "should_roll", seeds=range(4),
                         config=SMALL_SEGMENTS, config_source=SMALL_SEGMENTS_SOURCE)


@st.composite
def fetch_args(draw):
    start = draw(st.integers(0, 50))
    hw = draw(st.integers(start, 80))
    leo = draw(st.integers(hw, 100))
    offset = draw(st.one_of(st.integers(-1, 103), st.sampled_from([start, start - 1, hw, leo, leo + 1])))
    return (offset, start, hw, leo, draw(st.sampled_from([log.LOG_END, log.HIGH_WATERMARK])))


FETCH_CASES = [
    ((5, 5, 5, 5, log.HIGH_WATERMARK), (log.NONE, 5)),          # caught up: nothing, no error
    ((4, 5, 9, 12, log.LOG_END), (log.OFFSET_OUT_OF_RANGE, -1)),
    ((12, 5, 9, 12, log.LOG_END), (log.NONE, 12)),
    ((11, 5, 9, 12, log.HIGH_WATERMARK), (log.NONE, 9)),          # above the HW, below the LEO
]


@prop("log.fetch_upper_bound", "bounds fetches as Kafka's FetchIsolation does", 1)
def fetch_differential(learner):
    return (examples(learner, "fetch_upper_bound", FETCH_CASES, anomaly="wrong-fetch-bound")
            or differential(learner, "fetch_upper_bound", log.fetch_upper_bound, fetch_args(),
                            examples=300, anomaly="wrong-fetch-bound"))


@prop("log.fetch_upper_bound",
      "inside a cluster under faults, consumers never read an uncommitted record", 1)
def fetch_in_the_engine(learner):
    return in_the_engine(learner, "fetch_upper_bound", "fetch_upper_bound", seeds=range(4),
                         config=SMALL_SEGMENTS, config_source=SMALL_SEGMENTS_SOURCE)


@st.composite
def retention_args(draw):
    count = draw(st.integers(1, 6))
    bases = sorted(draw(st.sets(st.integers(0, 200), min_size=count, max_size=count)))
    segments = []
    for i, base in enumerate(bases):
        last = i == count - 1
        size = draw(st.integers(0 if last else 1, 400))
        stamp = draw(st.integers(-1, 10_000)) if size else -1
        segments.append((base, size, stamp))
    leo = bases[-1] + (draw(st.integers(1, 20)) if segments[-1][1] else 0)
    hw = draw(st.one_of(st.just(leo), st.integers(bases[0], leo)))
    start = draw(st.one_of(st.just(bases[0]), st.integers(bases[0], hw)))
    now = draw(st.integers(0, 12_000))
    retention_ms = draw(st.one_of(st.just(-1), st.integers(0, 10_000)))
    retention_bytes = draw(st.one_of(st.just(-1), st.integers(0, 2_000)))
    return (segments, start, hw, leo, now, retention_ms, retention_bytes)


RETENTION_CASES = [
    # retention.ms: the run of expired segments goes, the log start follows
    (([(0, 100, 1_000), (10, 100, 2_000), (20, 100, 3_000)], 0, 25, 25, 3_500, 1_000, -1), (2, 20)),
    # never past the high watermark
    (([(0, 100, 1_000), (10, 100, 2_000), (20, 100, 3_000)], 0, 15, 25, 99_999, 0, -1), (1, 10)),
    # an empty active segment stays; everything else may go
    (([(0, 100, 1_000), (10, 0, -1)], 0, 10, 10, 99_999, 0, -1), (1, 10)),
]


@prop("log.deletable_segments", "answers the retention examples", 1)
def retention_examples(learner):
    return examples(learner, "deletable_segments", RETENTION_CASES, anomaly="wrong-retention")


@prop("log.deletable_segments", "agrees with UnifiedLog.deleteOldSegments on any log", 1)
def retention_differential(learner):
    return differential(learner, "deletable_segments", log.deletable_segments,
                        retention_args(), examples=400, anomaly="wrong-retention")


@prop("log.deletable_segments",
      "inside a cluster, every replica deletes what Kafka would, and never above the HW", 1)
def retention_in_the_engine(learner):
    seams = REFERENCE.with_rules(deletable_segments=learner.function("deletable_segments"))
    for seed in range(6):
        replay = (">>> from kafkadojo.reference.workload import run_retention\n"
                  ">>> from kafkadojo.reference.seams import REFERENCE\n"
                  f">>> print(run_retention({seed}, REFERENCE.with_rules("
                  "deletable_segments=YOUR_FUNCTION)).report())")
        expected = run_retention(seed)
        try:
            got = run_retention(seed, seams=seams, event_budget=EVENT_BUDGET)
        except Exception as error:      # noqa: BLE001 - judged by engine_failure
            failure = engine_failure(error, f"retention seed {seed}", replay)
            if failure.anomaly == "engine-error" and "HW" in str(error):
                failure.anomaly = "deleted-uncommitted"     # Log refuses a start above the HW
            return failure
        if got.violations:
            return Failure("deleted-uncommitted", f"retention seed {seed}",
                           expected="every log starts at or below its high watermark",
                           got="\n".join(got.violations[:3]), replay=replay)
        for check, (want, have) in enumerate(zip(expected.snapshots, got.snapshots), 1):
            if want != have:
                broker = next(b for b in sorted(set(want) | set(have)) if want.get(b) != have.get(b))
                mine, kafka = have.get(broker), want.get(broker)
                anomaly = ("retention-too-eager" if mine and kafka and mine[0] > kafka[0]
                           else "retention-too-lazy")
                return Failure(
                    anomaly, f"retention seed {seed}, check {check}, broker {broker} "
                             f"(topic config {expected.topic_config})",
                    expected=_show_log(kafka), got=_show_log(mine), replay=replay)
    return None


def _show_log(snapshot):
    if snapshot is None:
        return "no log"
    start, hw, leo, bases = snapshot
    return f"log start {start}, HW {hw}, LEO {leo}, segments at {list(bases)}"
