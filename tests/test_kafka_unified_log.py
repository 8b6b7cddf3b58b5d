"""Retention and rolling as Kafka 3.9 runs them (UnifiedLog, LogSegment), against the engine.

Two kinds of tests:

- an oracle written in the shape of Kafka's own code (``UnifiedLog.deleteOldSegments``: the
  three passes, ``deletableSegments``, ``deleteSegments`` rolling a fresh segment first, the
  size pass's ``diff`` counter) compared with the exercise ``deletable_segments`` on any log;
- UnifiedLogTest's retention and roll cases, ported; each names the Scala test it comes from.
"""

import pytest
from hypothesis import given, settings, strategies as st

from kafkadojo.reference import errors
from kafkadojo.reference.log import Log, deletable_segments, should_roll
from kafkadojo.reference.record import RecordBatch


# -- an oracle in Kafka's shape ----------------------------------------------------------------
class KafkaSegment:
    def __init__(self, base_offset, size, largest_timestamp):
        self.base_offset, self.size, self.largest_timestamp = base_offset, size, largest_timestamp


class KafkaUnifiedLog:
    """UnifiedLog.deleteOldSegments for cleanup.policy=delete without tiered storage, line by
    line: each pass deletes, and moves the log start offset, before the next one looks."""

    def __init__(self, segments, log_start_offset, high_watermark, log_end_offset):
        self.segments = [KafkaSegment(*s) for s in segments]
        self.log_start_offset = log_start_offset
        self.high_watermark = high_watermark
        self.log_end_offset = log_end_offset

    def deletable_segments(self, predicate):
        deletable = []
        for i, segment in enumerate(self.segments):
            next_segment = self.segments[i + 1] if i + 1 < len(self.segments) else None
            is_last_segment_and_empty = next_segment is None and segment.size == 0
            upper_bound_offset = (next_segment.base_offset if next_segment is not None
                                  else self.log_end_offset)
            predicate_result = (self.high_watermark >= upper_bound_offset
                                and predicate(segment, next_segment))
            if not predicate_result or is_last_segment_and_empty:
                break
            deletable.append(segment)
        return deletable

    def delete_segments(self, deletable):
        if not deletable:
            return 0
        to_delete = list(deletable)
        if len(self.segments) == len(deletable):
            # "we must always have at least one segment": roll() first
            new_segment = KafkaSegment(self.log_end_offset, 0, -1)
            self.segments.append(new_segment)
            if deletable[-1].base_offset == new_segment.base_offset:
                to_delete = to_delete[:-1]
        if to_delete:
            higher = next(s for s in self.segments if s.base_offset > to_delete[-1].base_offset)
            self.log_start_offset = max(self.log_start_offset, higher.base_offset)
            self.segments = [s for s in self.segments if s not in to_delete]
        return len(deletable)

    def delete_old_segments(self, now_ms, retention_ms, retention_bytes):
        return (self.delete_log_start_offset_breached_segments()
                + self.delete_retention_size_breached_segments(retention_bytes)
                + self.delete_retention_ms_breached_segments(now_ms, retention_ms))

    def delete_retention_ms_breached_segments(self, start_ms, retention_ms):
        if retention_ms < 0:
            return 0
        return self.delete_segments(self.deletable_segments(
            lambda segment, _: start_ms - segment.largest_timestamp > retention_ms))

    def delete_retention_size_breached_segments(self, retention_size):
        size = sum(s.size for s in self.segments)
        if retention_size < 0 or size < retention_size:
            return 0
        diff = size - retention_size

        def should_delete(segment, _):
            nonlocal diff
            if diff - segment.size >= 0:
                diff -= segment.size
                return True
            return False
        return self.delete_segments(self.deletable_segments(should_delete))

    def delete_log_start_offset_breached_segments(self):
        return self.delete_segments(self.deletable_segments(
            lambda _, next_segment: (next_segment is not None
                                     and next_segment.base_offset <= self.log_start_offset)))


def kafka(segments, log_start_offset, high_watermark, log_end_offset, now_ms, retention_ms,
          retention_bytes):
    log = KafkaUnifiedLog(segments, log_start_offset, high_watermark, log_end_offset)
    count = log.delete_old_segments(now_ms, retention_ms, retention_bytes)
    return count, log.log_start_offset


@st.composite
def logs(draw):
    """Logs as Kafka keeps them: increasing base offsets, only the last segment may be empty,
    timestamps in any order; thresholds often exactly at a segment's age or a suffix's size."""
    count = draw(st.integers(1, 6))
    bases = sorted(draw(st.sets(st.integers(0, 60), min_size=count, max_size=count)))
    segments = []
    for i, base in enumerate(bases):
        size = draw(st.integers(0 if i == count - 1 else 1, 50))
        segments.append((base, size, draw(st.integers(0, 100)) if size else -1))
    leo = bases[-1] + (draw(st.integers(1, 5)) if segments[-1][1] else 0)
    ends = [b for b in bases[1:]] + [leo]
    hw = draw(st.one_of(st.sampled_from(ends), st.integers(bases[0], leo)))
    start = draw(st.integers(bases[0], hw))
    now = draw(st.integers(0, 150))
    ages = [now - stamp for _, _, stamp in segments if stamp >= 0]
    retention_ms = draw(st.one_of(st.just(-1), st.integers(0, 150), st.sampled_from(ages or [0])))
    suffixes = [sum(size for _, size, _ in segments[i:]) for i in range(count)]
    retention_bytes = draw(st.one_of(st.just(-1), st.integers(0, 300), st.sampled_from(suffixes)))
    return segments, start, hw, leo, now, retention_ms, retention_bytes


@settings(max_examples=1_500, database=None, deadline=None)
@given(logs())
def test_deletable_segments_agrees_with_kafkas_delete_old_segments(args):
    assert deletable_segments(*args) == kafka(*args)


ISSUE_10_EXAMPLE = ([(9, 229, 8294), (37, 348, 6989), (41, 279, 3613), (184, 322, 8462)],
                    110, 199, 199, 11057, 5263, 873)


def test_time_pass_starts_where_the_log_start_pass_stopped():
    # issue 10: the log start pass deletes two segments; the time pass then deletes the third
    # (expired) even though the first segment (recent) would have stopped it
    assert kafka(*ISSUE_10_EXAMPLE) == (3, 184)
    assert deletable_segments(*ISSUE_10_EXAMPLE) == (3, 184)


def test_size_pass_runs_before_the_time_pass():
    # time first would stop at once (the first segment is recent); size first deletes it,
    # then the time pass goes on from the expired second segment
    segments = [(0, 100, 9_000), (10, 100, 1_000), (20, 100, 9_500)]
    args = (segments, 0, 25, 25, 10_000, 5_000, 200)
    assert deletable_segments(*args) == kafka(*args) == (2, 20)


# -- UnifiedLogTest, ported --------------------------------------------------------------------
RECORD = RecordBatch(0, 0, None, [b"test"], [0]).size_bytes


def log_of_15_records(segment_bytes, timestamp=0):
    log = Log("t", 0, segment_bytes=segment_bytes)
    for _ in range(15):
        log.append_as_leader(None, [b"test"], [timestamp], None, 0, timestamp)
    return log


def test_should_delete_size_based_segments():
    # UnifiedLogTest.shouldDeleteSizeBasedSegments
    log = log_of_15_records(RECORD * 5)
    log.high_watermark = log.log_end_offset
    log.delete_old_segments(now=0, retention_ms=-1, retention_bytes=RECORD * 10)
    assert len(log.segments) == 2


def test_should_not_delete_size_based_segments_when_under_retention_size():
    # UnifiedLogTest.shouldNotDeleteSizeBasedSegmentsWhenUnderRetentionSize
    log = log_of_15_records(RECORD * 5)
    log.high_watermark = log.log_end_offset
    log.delete_old_segments(now=0, retention_ms=-1, retention_bytes=RECORD * 15)
    assert len(log.segments) == 3


def test_should_delete_time_based_segments_ready_to_be_deleted():
    # UnifiedLogTest.shouldDeleteTimeBasedSegmentsReadyToBeDeleted: every segment expired, the
    # active one too; a fresh (empty) segment remains
    log = log_of_15_records(RECORD * 5, timestamp=10)
    log.high_watermark = log.log_end_offset
    log.delete_old_segments(now=20_000, retention_ms=10_000, retention_bytes=-1)
    assert len(log.segments) == 1
    assert (log.log_start_offset, log.segments[0].size_bytes) == (15, 0)


def test_should_not_delete_time_based_segments_when_none_ready_to_be_deleted():
    # UnifiedLogTest.shouldNotDeleteTimeBasedSegmentsWhenNoneReadyToBeDeleted
    log = log_of_15_records(RECORD * 5, timestamp=1_000)
    log.high_watermark = log.log_end_offset
    log.delete_old_segments(now=1_000, retention_ms=10_000_000, retention_bytes=-1)
    assert len(log.segments) == 3


def test_log_deletion_after_delete_records():
    # UnifiedLogTest.testLogDeletionAfterDeleteRecords (maybeIncrementLogStartOffset, then
    # deleteOldSegments): a segment goes only once the log start passed its last record
    log = log_of_15_records(RECORD * 5)
    assert (len(log.segments), log.log_start_offset) == (3, 0)
    log.high_watermark = log.log_end_offset
    for new_start, segments_left in ((1, 3), (6, 2), (15, 1)):
        log.advance_log_start_offset(new_start)
        assert (len(log.segments), log.log_start_offset) == (segments_left, new_start)


def test_should_delete_start_offset_breached_segments():
    # UnifiedLogTest.shouldDeleteStartOffsetBreachedSegmentsWhenPolicyDoesNotIncludeDelete:
    # only the log start pass (no retention limits)
    log = log_of_15_records(RECORD * 5, timestamp=10)
    log.high_watermark = log.log_end_offset
    log.advance_log_start_offset(5)
    assert len(log.segments) == 2
    assert log.segments[0].base_offset <= log.log_start_offset
    assert all(s.base_offset > log.log_start_offset for s in log.segments[1:])


def hundred_expired_records(segment_bytes=512):
    log = Log("t", 0, segment_bytes=segment_bytes)
    for i in range(100):
        log.append_as_leader(None, [b"test%d" % i], [0], None, 0, 0)
    return log


def test_cannot_delete_segments_at_or_above_high_watermark():
    # UnifiedLogTest.testCannotDeleteSegmentsAtOrAboveHighWatermark (retention.ms 999, every
    # record 1000 ms old)
    log = hundred_expired_records()
    assert len(log.segments) > 5
    for hw in range(101):
        log.high_watermark = hw
        log.delete_old_segments(now=1_000, retention_ms=999, retention_bytes=-1)
        assert log.log_start_offset <= hw
        assert log.segments[0].base_offset <= hw and log.segments[0].base_offset >= log.log_start_offset
        assert all(s.base_offset > hw for s in log.segments[1:])
    assert (log.log_start_offset, len(log.segments), log.segments[0].size_bytes) == (100, 1, 0)


def test_segment_deletion_with_high_watermark_initialization():
    # UnifiedLogTest.testSegmentDeletionWithHighWatermarkInitialization
    log = hundred_expired_records()
    log.high_watermark = 25
    before = len(log.segments)
    log.delete_old_segments(now=1_000, retention_ms=999, retention_bytes=-1)
    assert len(log.segments) < before and log.log_start_offset <= 25


def test_delete_old_segments_needs_a_high_watermark():
    # UnifiedLogTest.testDeleteOldSegments: no segment goes before the HW is set, and every
    # segment that stays below the HW ends at or above it
    log = hundred_expired_records(segment_bytes=RECORD * 5)
    before = len(log.segments)
    log.delete_old_segments(now=10_000, retention_ms=999, retention_bytes=-1)
    assert (len(log.segments), log.log_start_offset) == (before, 0)
    for hw in range(25, 31):
        log.high_watermark = hw
        log.delete_old_segments(now=10_000, retention_ms=999, retention_bytes=-1)
        assert log.log_start_offset <= hw
        assert all(s.next_offset - 1 >= hw for s in log.segments if s.batches)
    log.high_watermark = log.log_end_offset
    log.delete_old_segments(now=10_000, retention_ms=999, retention_bytes=-1)
    assert len(log.segments) == 1 and log.epochs.entries == [(0, 100)]


def test_message_set_size_check():
    # UnifiedLogTest.testMessageSetSizeCheck: a batch larger than segment.bytes never reaches
    # the log (RecordBatchTooLargeException: RECORD_LIST_TOO_LARGE)
    batch_size = RecordBatch(0, 0, None, [b"You", b"bethe"], [0, 0]).size_bytes
    log = Log("t", 0, segment_bytes=batch_size - 1)
    with pytest.raises(errors.RecordListTooLargeError):
        log.append_as_leader(None, [b"You", b"bethe"], [0, 0], None, 0, 0)
    assert log.log_end_offset == 0
    fits = Log("t", 0, segment_bytes=batch_size)
    fits.append_as_leader(None, [b"You", b"bethe"], [0, 0], None, 0, 0)
    assert fits.log_end_offset == 2


def test_size_based_log_roll():
    # UnifiedLogTest.testSizeBasedLogRoll: segment.bytes of 10 * (record - 1) holds 9 records
    log = Log("t", 0, segment_bytes=10 * (RECORD - 1))
    for _ in range(11):
        log.append_as_leader(None, [b"test"], [0], None, 0, 0)
    assert len(log.segments) == 2


def test_time_based_log_roll_during_append():
    # UnifiedLogTest.testTimeBasedLogRollDuringAppend, the timestamped part: the roll follows
    # the first batch's timestamp, not the wall clock
    segment_ms = 3_600
    log = Log("t", 0, segment_ms=segment_ms)
    stamp = segment_ms + 1
    for now, segments in ((0, 1), (segment_ms + 1, 1), (2 * segment_ms + 2, 1)):
        log.append_as_leader(None, [b"test"], [stamp], None, 0, now)
        assert len(log.segments) == segments      # same timestamp: never rolls by clock
    log.append_as_leader(None, [b"test"], [2 * segment_ms + 2], None, 0, 2 * segment_ms + 2)
    assert len(log.segments) == 2                 # its timestamp makes the segment expire


@pytest.mark.parametrize("segment_size, batch_size, waited, segment_bytes, segment_ms, roll", [
    (0, 100, 10**9, 100, 1, False),     # empty: never, even long expired (testTimeBasedLogRollDuringAppend)
    (1, 99, 0, 100, 10, False),         # exactly full after the append
    (1, 100, 0, 100, 10, True),         # one byte over
    (1, 1, 10, 100, 10, False),         # waited exactly segment.ms
    (1, 1, 11, 100, 10, True),
    (150, 1, 0, 100, 10, True),         # segment.bytes lowered below the segment's size
])
def test_should_roll_is_log_segment_should_roll(segment_size, batch_size, waited, segment_bytes,
                                                segment_ms, roll):
    # LogSegment.shouldRoll: size > maxSegmentBytes - messagesSize || (size > 0 && reachedRollMs),
    # with rollJitterMs 0 and the index never full
    kafka_formula = (segment_size > segment_bytes - batch_size
                     or (segment_size > 0 and waited > segment_ms))
    assert should_roll(segment_size, batch_size, waited, segment_bytes, segment_ms) == roll
    assert kafka_formula == roll


def test_a_producer_gets_record_list_too_large_for_a_batch_larger_than_segment_bytes():
    # the broker answers RECORD_LIST_TOO_LARGE (not retriable) and appends nothing
    from kafkadojo.reference import Cluster
    cluster = Cluster(brokers=1, seed=1)
    cluster.create_topic("small", partitions=1, replication_factor=1,
                         config={"segment.bytes": 200, "min.insync.replicas": 1})
    producer = cluster.producer(acks=1, linger_ms=0)
    with pytest.raises(errors.RecordListTooLargeError):
        producer.send("small", b"x" * 300, partition=0).get()
    assert producer.send("small", b"fits", partition=0).get() == 0
