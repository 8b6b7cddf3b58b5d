"""Hidden properties: the partition log (lookups, rolling, fetch bounds, retention)."""

import dataclasses
import inspect
import textwrap

from hypothesis import strategies as st

from kafkadojo.reference import log
from kafkadojo.reference.seams import REFERENCE
from kafkadojo.reference.workload import run_retention

from . import Failure, differential, examples, known_mistakes, prop
from .engine import EVENT_BUDGET, SCHEDULE, engine_failure, in_the_engine

# Small segments, so that every run rolls dozens of them and reads cross their borders.
SEGMENT_BYTES = 500
SMALL_SEGMENTS = dataclasses.replace(SCHEDULE, broker_config={"log.segment.bytes": SEGMENT_BYTES})


# -- known mistakes, named only when an answer is exactly that mistake ---------------------------
def mutant(function, *replacements):
    """``function`` with its source edited by ``(old, new)`` replacements: a realistic mistake,
    derived from the engine's own rule rather than written twice. Fails at import if the
    engine's source no longer contains ``old``."""
    source = textwrap.dedent(inspect.getsource(function))
    for old, new in replacements:
        if old not in source:
            raise ValueError(f"mistake for {function.__name__} no longer applies: {old!r}")
        source = source.replace(old, new, 1)
    namespace = dict(vars(inspect.getmodule(function)))
    exec(compile(source, f"<mistake in {function.__name__}>", "exec"), namespace)  # noqa: S102
    return namespace[function.__name__]


# -- largest_lower_bound ----------------------------------------------------------------------
@st.composite
def lookup_args(draw):
    """Sorted offsets (none, one, many), targets on, just below and just above each entry."""
    offsets = sorted(draw(st.sets(st.integers(0, 1_000), max_size=12)))
    edges = [o + d for o in offsets for d in (-1, 0, 1)] or [0]
    target = draw(st.one_of(st.integers(-5, 1_100), st.sampled_from(edges)))
    return (offsets, target)


@prop("log.largest_lower_bound", "finds the right entry in any sorted index", 1)
def lookup_differential(learner):
    return differential(learner, "largest_lower_bound", log.largest_lower_bound, lookup_args(),
                        examples=300, anomaly="wrong-segment")


# -- should_roll ------------------------------------------------------------------------------
@st.composite
def roll_args(draw):
    """Only what Kafka can ask: a batch is never larger than segment.bytes (UnifiedLog.append
    refuses it with RecordBatchTooLargeException), so Kafka's own LogSegment.shouldRoll is
    right on every input. Reaches both thresholds exactly, empty segments, a segment already
    over segment.bytes (the config was lowered), and timestamps that go back."""
    segment_bytes = draw(st.integers(1, 2_000))
    segment_ms = draw(st.integers(1, 5_000))
    batch_size = draw(st.one_of(st.integers(1, segment_bytes), st.just(segment_bytes)))
    room = segment_bytes - batch_size       # the fullest segment that still takes the batch
    segment_size = draw(st.one_of(st.just(0), st.sampled_from([room, room + 1]),
                                  st.integers(1, 2_200)))
    waited = draw(st.one_of(st.integers(-100, 6_000),
                            st.sampled_from([segment_ms - 1, segment_ms, segment_ms + 1])))
    return (segment_size, batch_size, waited, segment_bytes, segment_ms)


ROLL_MISTAKES = (
    ("rolls-when-exactly-full", mutant(log.should_roll, (
        "segment_size + batch_size > segment_bytes", "segment_size + batch_size >= segment_bytes"))),
    ("rolls-at-segment-ms", mutant(log.should_roll, (
        "time_waited_ms > segment_ms", "time_waited_ms >= segment_ms"))),
    ("rolls-empty-segment", mutant(log.should_roll, (
        "    if segment_size == 0:\n        return False\n", ""))),
)
name_roll = known_mistakes(*ROLL_MISTAKES)


ROLL_CASES = [
    ((1, 99, 0, 100, 10), False),           # exactly full after the append: no roll
    ((1, 100, 0, 100, 10), True),           # one byte over
    ((1, 1, 10, 100, 10), False),           # waited exactly segment.ms: not yet
    ((1, 1, 11, 100, 10), True),
    ((0, 100, 10**6, 100, 10), False),      # empty: never, however old
]


@prop("log.should_roll", "rolls exactly when LogSegment.shouldRoll does", 1)
def roll_differential(learner):
    return (examples(learner, "should_roll", ROLL_CASES, anomaly="wrong-roll",
                     diagnose=name_roll)
            or differential(learner, "should_roll", log.should_roll, roll_args(), examples=300,
                            anomaly="wrong-roll", diagnose=name_roll))


@prop("log.should_roll",
      "inside a cluster with 500-byte segments, under faults, every record stays readable", 1)
def roll_in_the_engine(learner):
    return in_the_engine(learner, "should_roll", "should_roll", config=SMALL_SEGMENTS)


# -- fetch_upper_bound ------------------------------------------------------------------------
@st.composite
def fetch_args(draw):
    """Offsets at every edge (just below, at and just above the log start, the HW and the
    LEO), empty logs, a HW equal to the log start or to the LEO."""
    start = draw(st.integers(0, 50))
    hw = draw(st.one_of(st.just(start), st.integers(start, 80)))
    leo = draw(st.one_of(st.just(hw), st.integers(hw, 100)))
    edges = [edge + d for edge in (start, hw, leo) for d in (-1, 0, 1)]
    offset = draw(st.one_of(st.integers(-1, 103), st.sampled_from(edges)))
    return (offset, start, hw, leo, draw(st.sampled_from([log.LOG_END, log.HIGH_WATERMARK])))


FETCH_CASES = [
    ((5, 5, 5, 5, log.HIGH_WATERMARK), (log.NONE, 5)),          # caught up: nothing, no error
    ((4, 5, 9, 12, log.LOG_END), (log.OFFSET_OUT_OF_RANGE, -1)),
    ((12, 5, 9, 12, log.LOG_END), (log.NONE, 12)),
    ((11, 5, 9, 12, log.HIGH_WATERMARK), (log.NONE, 9)),          # above the HW, below the LEO
    ((13, 5, 9, 12, log.HIGH_WATERMARK), (log.OFFSET_OUT_OF_RANGE, -1)),
    ((7, 5, 9, 12, log.HIGH_WATERMARK), (log.NONE, 9)),
]
FETCH_MISTAKES = (
    ("consumer-reads-uncommitted", mutant(log.fetch_upper_bound, (
        "    return NONE, high_watermark", "    return NONE, log_end_offset"))),
    ("fetch-above-high-watermark-out-of-range", mutant(log.fetch_upper_bound, (
        "fetch_offset > log_end_offset", "fetch_offset > (log_end_offset if isolation == LOG_END "
                                         "else high_watermark)"))),
    ("fetch-at-log-end-out-of-range", mutant(log.fetch_upper_bound, (
        "fetch_offset > log_end_offset", "fetch_offset >= log_end_offset"))),
)
name_fetch = known_mistakes(*FETCH_MISTAKES)


@prop("log.fetch_upper_bound", "bounds fetches as Kafka's FetchIsolation does", 1)
def fetch_differential(learner):
    return (examples(learner, "fetch_upper_bound", FETCH_CASES, anomaly="wrong-fetch-bound",
                     diagnose=name_fetch)
            or differential(learner, "fetch_upper_bound", log.fetch_upper_bound, fetch_args(),
                            examples=300, anomaly="wrong-fetch-bound", diagnose=name_fetch))


@prop("log.fetch_upper_bound",
      "inside a cluster under faults, consumers never read an uncommitted record", 1)
def fetch_in_the_engine(learner):
    return in_the_engine(learner, "fetch_upper_bound", "fetch_upper_bound",
                         config=SMALL_SEGMENTS)


# -- deletable_segments -----------------------------------------------------------------------
@st.composite
def retention_args(draw):
    """Logs as Kafka keeps them (increasing base offsets, only the last segment may be empty,
    every non-empty segment with a timestamp), timestamps in any order from one segment to
    the next, the empty log; thresholds exactly at a segment's age and at what a run of
    segments weighs (and one off), the HW and the log start at and around segment ends."""
    count = draw(st.integers(1, 6))
    bases = sorted(draw(st.sets(st.integers(0, 200), min_size=count, max_size=count)))
    sizes = [draw(st.integers(1, 400)) for _ in bases[:-1]]
    sizes.append(draw(st.one_of(st.just(0), st.integers(1, 400))))
    stamps = [draw(st.integers(0, 10_000)) for size in sizes if size]
    # newest first is where passes that do not start where the previous one stopped go wrong
    order = draw(st.sampled_from(["any", "newest-first", "oldest-first"]))
    if order != "any":
        stamps.sort(reverse=order == "newest-first")
    stamps.append(-1)       # the empty last segment's, if there is one
    segments = [(base, size, stamps[i]) for i, (base, size) in enumerate(zip(bases, sizes))]
    leo = bases[-1] + (draw(st.integers(1, 20)) if segments[-1][1] else 0)
    ends = bases[1:] + [leo]
    hw = draw(st.one_of(st.just(leo), st.sampled_from(ends), st.sampled_from(ends).map(lambda e: e - 1),
                        st.integers(bases[0], leo)))
    hw = min(max(hw, bases[0]), leo)
    start = draw(st.one_of(st.just(bases[0]), st.just(hw),
                           st.sampled_from([b for b in bases if b <= hw] or [bases[0]]),
                           st.integers(bases[0], hw)))
    newest = max(stamps)
    # mostly after every record; sometimes before some (CreateTime set by producers)
    now = draw(st.one_of(st.integers(max(newest, 0), newest + 12_000), st.integers(0, 12_000)))
    ages = [now - stamp for _, _, stamp in segments if stamp >= 0] or [0]
    retention_ms = draw(st.one_of(st.just(-1), st.integers(0, 10_000), st.sampled_from(ages),
                                  st.sampled_from(ages).map(lambda age: age - 1),
                                  st.integers(min(ages), max(ages))))
    suffixes = [sum(size for _, size, _ in segments[i:]) for i in range(count)]
    retention_bytes = draw(st.one_of(st.just(-1), st.just(0), st.integers(0, 2_000),
                                     st.sampled_from(suffixes),
                                     st.sampled_from(suffixes).map(lambda size: size + 1)))
    if order == "newest-first" and draw(st.booleans()):
        # the passes' order shows when the log start or the size pass deletes a recent
        # segment and the time pass must go on from there: retention.ms between the ages,
        # everything committed, and the log start or the size limit past the first segment
        retention_ms = draw(st.integers(min(ages), max(ages)))
        hw = leo
        if draw(st.booleans()):
            start, retention_bytes = bases[0], draw(st.sampled_from(suffixes[1:] or suffixes))
        else:
            start, retention_bytes = draw(st.integers(bases[0], leo)), -1
    return (segments, start, hw, leo, now, max(retention_ms, -1), retention_bytes)


RETENTION_CASES = [
    # retention.ms: the run of expired segments goes, the log start follows
    (([(0, 100, 1_000), (10, 100, 2_000), (20, 100, 3_000)], 0, 25, 25, 3_500, 1_000, -1), (2, 20)),
    # never past the high watermark
    (([(0, 100, 1_000), (10, 100, 2_000), (20, 100, 3_000)], 0, 15, 25, 99_999, 0, -1), (1, 10)),
    # an empty active segment stays; everything else may go
    (([(0, 100, 1_000), (10, 0, -1)], 0, 10, 10, 99_999, 0, -1), (1, 10)),
    # the time pass starts where the log start pass stopped (issue 10's example)
    (([(9, 229, 8294), (37, 348, 6989), (41, 279, 3613), (184, 322, 8462)], 110, 199, 199,
      11_057, 5_263, 873), (3, 184)),
    # the size pass runs before the time pass, which goes on from where it stopped
    (([(0, 100, 9_000), (10, 100, 1_000), (20, 100, 2_000), (30, 100, 9_500)], 0, 35, 35,
      10_000, 5_000, 300), (3, 30)),
    # exactly retention.ms old: kept; exactly retention.bytes left: that deletion happens
    (([(0, 100, 1_000), (10, 100, 5_000)], 0, 15, 15, 3_000, 2_000, -1), (0, 0)),
    (([(0, 100, 1_000), (10, 100, 5_000)], 0, 15, 15, 3_000, -1, 100), (1, 10)),
    # the empty log
    (([(7, 0, -1)], 7, 7, 7, 99_999, 0, 0), (0, 7)),
    # a log start inside the first segment (after DeleteRecords) stays where it is
    (([(0, 100, 1_000), (10, 100, 2_000)], 5, 15, 15, 0, -1, -1), (0, 5)),
]
RETENTION_MISTAKES = (
    # the engine's rule before issue 10: the longest of three runs, each from the oldest segment
    ("retention-passes-not-sequential", mutant(log.deletable_segments,
        ("kept = delete_while(over_retention_bytes, kept)",
         "kept = max(kept, delete_while(over_retention_bytes, 0))"),
        ("kept = delete_while(expired, kept)", "kept = max(kept, delete_while(expired, 0))"))),
    # time before size answers as the above wherever it is wrong: one name for both
    ("retention-passes-not-sequential", mutant(log.deletable_segments,
        ("    if retention_bytes >= 0:\n        kept = delete_while(over_retention_bytes, kept)\n"
         "    if retention_ms >= 0:\n        kept = delete_while(expired, kept)\n",
         "    if retention_ms >= 0:\n        kept = delete_while(expired, kept)\n"
         "    if retention_bytes >= 0:\n        kept = delete_while(over_retention_bytes, kept)\n"))),
    ("deleted-uncommitted", mutant(log.deletable_segments,
        ("if (end > high_watermark or (is_last", "if ((is_last"))),
    ("deleted-empty-active-segment", mutant(log.deletable_segments,
        ("end > high_watermark or (is_last and size == 0)", "end > high_watermark"))),
    ("retention-ms-not-strict", mutant(log.deletable_segments,
        ("now_ms - largest_timestamp > retention_ms", "now_ms - largest_timestamp >= retention_ms"))),
    ("retention-bytes-off-by-one", mutant(log.deletable_segments,
        ("remaining - size >= retention_bytes", "remaining - size > retention_bytes"))),
    ("log-start-moved-back", mutant(log.deletable_segments,
        ("return kept, max(log_start_offset, first_kept)", "return kept, first_kept"))),
)
name_retention = known_mistakes(*RETENTION_MISTAKES)


@prop("log.deletable_segments", "answers the retention examples", 1)
def retention_examples(learner):
    return examples(learner, "deletable_segments", RETENTION_CASES, anomaly="wrong-retention",
                    diagnose=name_retention)


@prop("log.deletable_segments", "agrees with UnifiedLog.deleteOldSegments on any log", 1)
def retention_differential(learner):
    return differential(learner, "deletable_segments", log.deletable_segments,
                        retention_args(), examples=400, anomaly="wrong-retention",
                        diagnose=name_retention)


RETENTION_SEEDS = 40     # about a second with Kafka's rule: stop at the first that fails


@prop("log.deletable_segments",
      "inside a cluster, every replica deletes what Kafka would, and never above the HW", 1)
def retention_in_the_engine(learner):
    seams = REFERENCE.with_rules(deletable_segments=learner.function("deletable_segments"))
    for seed in range(RETENTION_SEEDS):
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
