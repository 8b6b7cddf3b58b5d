"""Kafka 3.9's own log-cleaner unit tests, ported to the engine's cleaner.

Sources (tag ``3.9.0-rc3``, commit ``dd5272687e8a``):
``core/src/test/scala/unit/kafka/log/LogCleanerTest.scala`` and
``core/src/test/scala/unit/kafka/log/LogCleanerManagerTest.scala``. Each test names the Scala
test it comes from. The setups (record helpers, segment sizes, offsets) are Kafka's, and the
assertions are Kafka's numbers. Where Kafka's test only asserts an inequality, a few derived
exact values are also asserted, and the comments mark them "derived".

How Kafka's harness maps onto the engine:

- ``makeCleaner(capacity)`` is a ``FakeOffsetMap(capacity)`` with load factor 0.75, so our
  ``map_capacity`` is ``int(0.75 * capacity)`` (``cleaner_capacity``).
- ``record(k, v)``, ``tombstoneRecord(k)`` and ``unkeyedRecord(v)`` each make a one-record
  batch with timestamp ``NO_TIMESTAMP`` (-1). Our size estimate is Kafka's v2 size for these
  records: 61 + 7 + key + value bytes.
- ``LogToClean(tp, log, firstDirty, uncleanable)`` followed by ``Cleaner.clean`` becomes
  ``Cleaner.clean(log, first_dirty, first_uncleanable, now, delete.retention.ms, capacity)``.
  Our ``first_uncleanable`` is Kafka's *segment-aligned* ``LogToClean.firstUncleanableOffset``.
  Kafka rounds the raw offset down to a segment base in ``calculateCleanableBytes``; our
  ``first_uncleanable_offset`` rule does that rounding itself.
- LogCleanerManagerTest's checkpoint map is ``Log.cleaner_checkpoint``.
  ``LogCleanerManager(broker)`` takes a ``SimpleNamespace`` broker. Kafka's "in progress"
  partitions are our ``grab_filthiest(now, skip=...)``. Its uncleanable partitions are our
  ``log_cleaner.stats.uncleanable``.
- Our ``CleanerStats`` has ``records_read``, ``records_removed``, ``bytes_read`` and
  ``bytes_written``. It has no ``mapMessagesRead`` and no ``invalidMessagesRead``, so those
  assertions are left out, or replaced where the test's log makes them equivalent (the test
  says which).

Left out, and why:

- ``testDuplicateCheckAfterCleaning``, ``testUndecidedTransactionalDataNotCleanable``, and every
  test about transactions, control batches, aborted data, producer state or
  ``RETAIN_EMPTY``: the engine has no idempotent producers and no transactions (LSO = HW).
- ``testSegmentGrouping``: it bounds groups by offset-index and time-index bytes, and the
  engine has no indexes (``Cleaner.group_segments`` groups by bytes only).
- ``testSegmentGroupingWithSparseOffsets`` and
  ``testSegmentGroupingWithSparseOffsetsAndEmptySegments``: they rely on the Int.MaxValue
  relative-offset limit on a group's offset span, which the engine does not model.
- ``testCleanSegmentsRetainingLastEmptyBatch``: KAFKA-17076 is in trunk, not in 3.9.0.
- ``testGrabFilthiestCompactedLogThrowsException``, ``testDoneCleaning``, and the
  pause/abort/checkpoint-file tests: the engine has no cleaning-state machine and no
  checkpoint files.
"""

from types import SimpleNamespace

import pytest

from kafkadojo.reference.cleaner import (Cleaner, CleanerStats, LogCleanerManager, dirty_ratio,
                                         first_dirty_offset, offsets_to_clean, segment_infos)
from kafkadojo.reference.log import Log
from kafkadojo.reference.record import RecordBatch
from kafkadojo.reference.seams import REFERENCE

INT_MAX = 2**31 - 1
LONG_MAX = 2**63 - 1
NO_TIMESTAMP = -1
DELETE_RETENTION_MS = 86_400_000        # delete.retention.ms default
NOW = 1_700_000_000_000                 # LogCleanerTest's MockTime(): any fixed time


def cleaner_capacity(capacity):
    """makeCleaner(capacity): FakeOffsetMap(capacity) filled to dupBufferLoadFactor 0.75."""
    return int(0.75 * capacity)


def make_log(segment_bytes=1024):
    return Log("t", 0, segment_bytes=segment_bytes, now=NOW, seams=REFERENCE)


def key(k):
    return str(k).encode()


def append(log, k, v, timestamp=NO_TIMESTAMP, now=NOW):
    """record(k, v); tombstoneRecord(k) is v=None; unkeyedRecord(v) is k=None."""
    keys = None if k is None else [key(k)]
    value = v if v is None or isinstance(v, bytes) else str(v).encode()
    log.append_as_leader(keys, [value], [timestamp], None, 0, now)


def append_as_follower(log, k, v, offset):
    """appendAsFollower(messageWithOffset(k, v, offset))."""
    log.append_as_follower(RecordBatch(offset, 0, [key(k)], [key(v)], [NO_TIMESTAMP]), NOW)


def roll_at(log, offset):
    """Kafka's ``log.roll(Some(offset))``: a new active segment based at ``offset``, past the
    log end offset, which leaves a gap. ``Log.roll`` always bases the new segment at the log
    end offset, so this rolls and then moves the new (empty) segment's base to ``offset``."""
    assert offset >= log.log_end_offset
    segment = log.roll(NOW)
    segment.base_offset = offset
    log.segment_bases[-1] = offset


def records(log):
    return [r for b in log.batches for r in b.records(log.topic, log.partition)]


def keys_in_log(log):
    """LogTestUtils.keysInLog: keys of records with a key and a value (no tombstones)."""
    return [int(r.key) for r in records(log) if r.key is not None and r.value is not None]


def offsets_in_log(log):
    """LogCleanerTest.offsetsInLog."""
    return [r.offset for r in records(log) if r.key is not None and r.value is not None]


def unkeyed_message_count_in_log(log):
    """LogCleanerTest.unkeyedMessageCountInLog."""
    return sum(1 for r in records(log) if r.key is None and r.value is not None)


def log_size(log):
    return sum(s.size_bytes for s in log.segments)


def clean(log, first_dirty, first_uncleanable, capacity=INT_MAX, now=NOW, stats=None):
    """cleaner.clean(LogToClean(tp, log, first_dirty, first_uncleanable)) with
    makeCleaner(capacity): returns (endOffset, stats)."""
    stats = stats or CleanerStats()
    end = Cleaner(REFERENCE, stats).clean(log, first_dirty, first_uncleanable, now,
                                          DELETE_RETENTION_MS, cleaner_capacity(capacity))
    return end, stats


def segment_base_holding(log, offset):
    """The base of the segment holding ``offset``: LogToClean's rounding of its uncleanable
    offset (calculateCleanableBytes), for an offset below the active segment."""
    return max(s.base_offset for s in log.segments if s.base_offset <= offset)


# -- LogCleanerTest --------------------------------------------------------------------------------

def test_clean_segments():
    """LogCleanerTest.testCleanSegments. Kafka's ``cleanSegments`` both cleans the group and
    replaces it in the log. Ours is ``clean_group`` followed by ``Log.replace_segments``."""
    log = make_log(1024)
    while len(log.segments) < 4:
        append(log, log.log_end_offset, log.log_end_offset)
    assert keys_in_log(log) == list(range(log.log_end_offset))
    assert [s.base_offset for s in log.segments] == [0, 14, 28, 42]      # derived layout

    # pretend we have the following keys
    keys = [1, 3, 5, 7, 9]
    # FakeOffsetMap(Int.MaxValue) with each key put at Long.MaxValue: latestOffset = Long.MaxValue
    offset_map = {key(k): LONG_MAX for k in keys}
    segments = log.segments[:3]
    stats = CleanerStats()
    expected_bytes_read = sum(s.size_bytes for s in segments)
    should_remain = [k for k in keys_in_log(log) if k not in keys]
    cleaned = Cleaner(REFERENCE, stats).clean_group(segments, offset_map, LONG_MAX, 0,
                                                    DELETE_RETENTION_MS)
    log.replace_segments(len(segments), [cleaned])
    assert keys_in_log(log) == should_remain
    assert stats.bytes_read == expected_bytes_read
    assert expected_bytes_read == 988 + 1008 + 1008                      # derived


def test_cleaning_with_deletes():
    """LogCleanerTest.testCleaningWithDeletes."""
    log = make_log(1024)
    while len(log.segments) < 2:
        append(log, log.log_end_offset, log.log_end_offset)
    # delete all even keys between 0 and N
    leo = log.log_end_offset
    assert leo == 15                                                     # derived
    for k in range(0, leo, 2):
        append(log, k, None)
    # append some new unique keys to pad out to a new active segment
    while len(log.segments) < 4:
        append(log, log.log_end_offset, log.log_end_offset)

    clean(log, 0, log.segments[-1].base_offset)
    keys = set(keys_in_log(log))
    assert not any(k in keys for k in range(0, leo, 2)), \
        "None of the keys we deleted should still exist."
    # derived (facts §5.1.3): the tombstones stay, and this pass stamps their horizon
    tombstones = [(r.offset, b.delete_horizon) for b in log.batches
                  for r in b.records("t", 0) if r.value is None]
    assert tombstones == [(o, NOW + DELETE_RETENTION_MS) for o in range(15, 23)]


def test_log_cleaner_stats():
    """LogCleanerTest.testLogCleanerStats. ``messagesWritten`` is our ``records_read -
    records_removed``. Our stats have no ``invalidMessagesRead``: the Kafka test asserts 0
    for it, and here every removal is of an obsolete keyed record."""
    log = make_log(1024)
    for k in (0, 1, 0, 1, 0):               # offsets 0..4
        append(log, k, k)
    log.roll(NOW)                           # so we can clean the records already appended
    initial_log_size = log_size(log)

    # because loadFactor is 0.75, this means we can fit 3 messages in the map
    end_offset, stats = clean(log, 2, log.segments[-1].base_offset, capacity=4)
    assert end_offset == 5
    assert stats.records_read == 5
    assert stats.bytes_read == initial_log_size
    assert stats.records_read - stats.records_removed == 2
    assert stats.bytes_written == log_size(log)
    assert offsets_in_log(log) == [3, 4]                                 # derived


def test_partial_segment_clean():
    """LogCleanerTest.testPartialSegmentClean. The return values 3, 4, 5 are implied by
    Kafka's test (derived), not asserted by it."""
    log = make_log(1024)
    for k in (0, 1, 0, 1, 0):               # offsets 0..4
        append(log, k, k)
    log.roll(NOW)
    active = log.segments[-1].base_offset

    # because loadFactor is 0.75, this means we can fit 1 message in the map
    end, _ = clean(log, 2, active, capacity=2)
    assert keys_in_log(log) == [1, 0, 1, 0]
    assert offsets_in_log(log) == [1, 2, 3, 4]
    assert end == 3                                                      # derived

    # continue to make progress, even though we can only clean one message at a time
    end, _ = clean(log, 3, active, capacity=2)
    assert keys_in_log(log) == [0, 1, 0]
    assert offsets_in_log(log) == [2, 3, 4]
    assert end == 4                                                      # derived

    end, _ = clean(log, 4, active, capacity=2)
    assert keys_in_log(log) == [1, 0]
    assert offsets_in_log(log) == [3, 4]
    assert end == 5                                                      # derived


def test_cleaning_with_uncleanable_section():
    """LogCleanerTest.testCleaningWithUncleanableSection. Kafka passes a mid-segment
    uncleanable offset (LEO + 1 = 30) to LogToClean, which rounds it down to the base of the
    segment holding it (28). Our Cleaner.clean takes that rounded offset."""
    log = make_log(1024)
    n = 10                      # distinct keys
    num_cleanable_segments = 2
    num_total_segments = 7

    while len(log.segments) <= num_cleanable_segments:
        append(log, log.log_end_offset % n, log.log_end_offset)
    # one message past the cleanable segments has been added: the entire segment holding the
    # first uncleanable offset should not be cleaned
    first_uncleanable_offset = log.log_end_offset + 1
    while len(log.segments) < num_total_segments - 1:
        append(log, log.log_end_offset % n, log.log_end_offset)
    assert first_uncleanable_offset == 30                                # derived
    assert [s.base_offset for s in log.segments] == [0, 14, 28, 42, 56, 70]   # derived

    def distinct_values_by_segment():
        return [len({v for b in s.batches for v in b.values}) for s in log.segments]

    before = distinct_values_by_segment()
    assert all(count > n for count in before[:-1]), \
        "Test is not effective unless each segment contains duplicates."

    rounded = segment_base_holding(log, first_uncleanable_offset)
    assert rounded == 28                                                 # derived
    clean(log, 0, rounded)
    after = distinct_values_by_segment()

    pairs = list(zip(before, after))
    assert all(a < b for b, a in pairs[:num_cleanable_segments]), \
        "The cleanable segments should have fewer number of values after cleaning"
    assert all(a == b for b, a in pairs[num_cleanable_segments:num_total_segments]), \
        "The uncleanable segments should have the same number of values after cleaning"
    # derived (facts §5.1.6): the first segment is left empty, and it is kept
    assert after == [0, 10, 14, 14, 14, 1]


def six_single_record_segments():
    """segment.bytes = 100; 6 x singletonRecords(25 zero bytes, key "1"), 94 bytes each."""
    log = make_log(100)
    for _ in range(6):
        append(log, 1, bytes(25))
    assert [s.size_bytes for s in log.segments] == [94] * 6             # derived
    return log


def test_log_to_clean():
    """LogCleanerTest.testLogToClean: LogToClean(active.base, active.base) has totalBytes ==
    log.size - activeSegment.size (470) and no cleanable bytes. Our engine exposes only the
    ratio (dirty_ratio), not totalBytes. So this port asserts the part it can see: no
    cleanable bytes, ratio 0.0, and that those 470 bytes are all below the first dirty
    offset (clean)."""
    log = six_single_record_segments()
    active = log.segments[-1]
    assert len(log.segments) == 6
    assert log_size(log) - active.size_bytes == 470                      # Kafka's totalBytes
    assert sum(s.size_bytes for s in log.segments
               if s.base_offset < active.base_offset) == 470
    assert dirty_ratio(segment_infos(log), active.base_offset, active.base_offset) == 0.0


def test_log_to_clean_with_uncleanable_section():
    """LogCleanerTest.testLogToCleanWithUncleanableSection: segments [0, 1] are clean, [2, 3]
    cleanable, [4, 5] uncleanable. Our dirty_ratio gives cleanableRatio only; the byte
    counts it is made of are checked against the segment sizes."""
    log = six_single_record_segments()
    segs = log.segments
    expected_clean_size = sum(s.size_bytes for s in segs[:2])
    expected_cleanable_size = sum(s.size_bytes for s in segs[2:4])
    ratio = dirty_ratio(segment_infos(log), segs[2].base_offset, segs[4].base_offset)
    assert ratio == pytest.approx(
        expected_cleanable_size / (expected_clean_size + expected_cleanable_size), abs=1e-6)
    assert (expected_clean_size, expected_cleanable_size) == (188, 188)  # derived
    assert ratio == pytest.approx(0.5, abs=1e-6)                         # derived


def test_cleaning_with_unkeyed_messages():
    """LogCleanerTest.testCleaningWithUnkeyedMessages (cleanup.policy=delete, so that records
    without a key can be appended; the engine's Log does not check the policy). Our stats have
    no ``invalidMessagesRead``. Every record this pass removes is unkeyed (the keyed ones all
    have distinct keys), so ``records_removed`` stands in for it."""
    log = make_log(1024)
    while len(log.segments) < 2:
        append(log, None, log.log_end_offset)
    num_invalid_messages = unkeyed_message_count_in_log(log)
    size_with_unkeyed_messages = log_size(log)

    while len(log.segments) < 3:
        append(log, log.log_end_offset, log.log_end_offset)

    expected_size_after_cleaning = log_size(log) - size_with_unkeyed_messages
    _, stats = clean(log, 0, log.segments[-1].base_offset)

    assert unkeyed_message_count_in_log(log) == 0, \
        "Log should only contain keyed messages after cleaning."
    assert log_size(log) == expected_size_after_cleaning, \
        "Log should only contain keyed messages after cleaning."
    assert stats.records_removed == num_invalid_messages
    # derived (facts §5.1.9)
    assert (num_invalid_messages, size_with_unkeyed_messages) == (15, 1040)
    assert expected_size_after_cleaning == 1008


def test_build_offset_map():
    """LogCleanerTest.testBuildOffsetMap (FakeOffsetMap(1000): 750 entries). Adapted: Kafka
    leaves the tail of the 500 records in the active segment, and its buildOffsetMap reads up
    to ``end`` = LEO, active segment included. Our Cleaner.build_map never reads the active
    segment, and Kafka's cleaner never asks it to (its ``end`` is at most the active base).
    So the log is rolled first, which leaves every record in a non-active segment. Our stats
    have no ``mapMessagesRead``, so that assertion is left out."""
    log = make_log(1024)
    for i in range(500):
        append(log, i, i)
    log.roll(NOW)
    cleaner = Cleaner(REFERENCE, CleanerStats())

    def check_range(start, end):
        offset_map, latest = cleaner.build_map(log, start, end, cleaner_capacity(1000))
        assert latest + 1 == end, "Last offset should be the end offset."
        assert len(offset_map) == end - start, \
            "Should have the expected number of messages in the map."
        for i in range(start, end):
            assert offset_map.get(key(i), -1) == i, "Should find all the keys"
        assert offset_map.get(key(start - 1), -1) == -1, "Should not find a value too small"
        assert offset_map.get(key(end), -1) == -1, "Should not find a value too large"

    segments = log.segments
    assert (segments[1].base_offset, segments[3].base_offset) == (14, 42)   # derived
    check_range(0, segments[1].base_offset)
    check_range(segments[1].base_offset, segments[3].base_offset)
    check_range(segments[3].base_offset, log.log_end_offset)


def test_build_offset_map_fake_large():
    """LogCleanerTest.testBuildOffsetMapFakeLarge (segment.bytes = 120: one record per
    segment). Adapted as in test_build_offset_map: Kafka's buildOffsetMap reads the record at
    7206178 in the active segment, so here the log is rolled first."""
    log = make_log(120)
    offset_start, offset_end = 0, 7206178
    append_as_follower(log, 0, 0, offset_start)
    append_as_follower(log, 1, 1, offset_end)
    log.roll(NOW)
    offset_map, latest = Cleaner(REFERENCE, CleanerStats()).build_map(
        log, 0, offset_end + 1, cleaner_capacity(1000))
    assert latest == offset_end, "Last offset should be the end offset."
    assert len(offset_map) == 2, "Should have the expected number of messages in the map."
    assert offset_map[key(0)] == 0, "Map should contain first value"
    assert offset_map[key(1)] == offset_end, "Map should contain second value"


def test_build_partial_offset_map():
    """LogCleanerTest.testBuildPartialOffsetMap: makeCleaner(3) fits 2 entries. Our stats have
    no ``mapMessagesRead`` (Kafka: 4), so that assertion is left out."""
    log = make_log(1024)
    for k in range(5):
        append(log, k, k)
    log.roll(NOW)
    offset_map, _ = Cleaner(REFERENCE, CleanerStats()).build_map(
        log, 2, INT_MAX, cleaner_capacity(3))
    assert len(offset_map) == 2
    assert offset_map.get(key(0), -1) == -1
    assert offset_map.get(key(2), -1) == 2
    assert offset_map.get(key(3), -1) == 3
    assert offset_map.get(key(4), -1) == -1


def test_clean_tombstone():
    """LogCleanerTest.testCleanTombstone (default LogConfig; makeCleaner(10)). For v2 batches
    the record timestamps play no part. The horizon is the cleaning time plus
    delete.retention.ms, and the clock does not move."""
    log = make_log(1 << 30)

    # Append a message with a large timestamp.
    append(log, 0, 0, timestamp=NOW + DELETE_RETENTION_MS + 10_000)
    log.roll(NOW)
    clean(log, 0, log.segments[-1].base_offset, capacity=10)
    # Append a tombstone with a small timestamp and roll out a new log segment.
    append(log, 0, None, timestamp=NOW - DELETE_RETENTION_MS - 10_000)
    log.roll(NOW)
    clean(log, 1, log.segments[-1].base_offset, capacity=10)
    assert log.segments[0].batches[0].last_offset == 1, "The tombstone should be retained."
    # Append a message and roll out another log segment.
    append(log, 1, 1, timestamp=NOW)
    log.roll(NOW)
    clean(log, 2, log.segments[-1].base_offset, capacity=10)
    assert log.segments[0].batches[0].last_offset == 1, "The tombstone should be retained."


def test_cleaning_beyond_missing_offsets():
    """LogCleanerTest.testCleaningBeyondMissingOffsets (segment.bytes = 1 MiB).
    ``log.roll(Some(offset))`` is ``roll_at``: our Log.roll has no explicit offset."""
    log = make_log(1024 * 1024)
    for i in range(10):
        append_as_follower(log, i, i, i)
    # roll new segment with baseOffset 11, leaving previous with holes in offset range [9,10]
    roll_at(log, 11)
    append_as_follower(log, 1015, 1015, 11)        # active segment record
    next_dirty_offset, _ = clean(log, 0, log.segments[-1].base_offset)
    assert next_dirty_offset == log.segments[-1].base_offset == 11, \
        "Cleaning point should pass offset gap"

    log = make_log(1024 * 1024)
    for i in range(10):
        append_as_follower(log, i, i, i)
    # roll new segment with baseOffset 15, leaving previous with holes in offset range [10, 14]
    roll_at(log, 15)
    for i in range(15, 25):
        append_as_follower(log, i, i, i)
    # roll new segment with baseOffset 30, leaving previous with holes in offset range [25, 29]
    roll_at(log, 30)
    append_as_follower(log, 1015, 1015, 30)        # active segment record
    next_dirty_offset, _ = clean(log, 0, log.segments[-1].base_offset)
    assert next_dirty_offset == log.segments[-1].base_offset == 30, \
        "Cleaning point should pass offset gap in multiple segments"


# -- LogCleanerManagerTest -------------------------------------------------------------------------

MANAGER_NOW = 1_400_000_000_000         # MockTime(1400000000000L, 1000L): does not tick


def low_retention_log_config(**overrides):
    """createLowRetentionLogConfig(segmentSize, compact), with LogConfig's other defaults."""
    config = {"segment.bytes": 2048, "retention.ms": 1, "cleanup.policy": "compact",
              "min.cleanable.dirty.ratio": 0.05, "min.compaction.lag.ms": 0,
              "max.compaction.lag.ms": LONG_MAX, "delete.retention.ms": DELETE_RETENTION_MS}
    config.update({k.replace("_", "."): v for k, v in overrides.items()})
    return config


def make_manager(logs, config=None):
    """createCleanerManagerMock(pool); the checkpoints are the logs' ``cleaner_checkpoint``."""
    config = config or low_retention_log_config()
    broker = SimpleNamespace(logs=logs, seams=REFERENCE,
                             topic_config=lambda topic, name: config[name],
                             log_cleaner=SimpleNamespace(stats=CleanerStats()))
    return LogCleanerManager(broker), broker


def mark_partition_uncleanable(broker, tp):
    broker.log_cleaner.stats.uncleanable[tp] = "marked uncleanable by the test"


def create_log(topic="log", partition=0, segment_bytes=2048):
    return Log(topic, partition, segment_bytes=segment_bytes, now=MANAGER_NOW, seams=REFERENCE)


def append_records(log, num_records, now=MANAGER_NOW):
    """LogCleanerManagerTest.appendRecords: one batch of key-<offset>/value-<offset> records
    stamped with the clock, then the high watermark moves to the log end offset."""
    offsets = range(log.log_end_offset, log.log_end_offset + num_records)
    log.append_as_leader([b"key-%d" % o for o in offsets], [b"value-%d" % o for o in offsets],
                         [now] * num_records, None, 1, now)
    log.high_watermark = log.log_end_offset


def write_records(log, num_batches, records_per_batch, batches_per_segment):
    for i in range(num_batches):
        append_records(log, records_per_batch)
        if i % batches_per_segment == 0:
            log.roll(MANAGER_NOW)
    log.roll(MANAGER_NOW)


def setup_increasingly_filthy_logs(partitions, start_num_batches, batch_increment):
    logs = {}
    num_batches = start_num_batches
    for tp in partitions:
        log = create_log(*tp)
        logs[tp] = log
        write_records(log, num_batches, 1, 5)
        num_batches += batch_increment
    return logs


def maybe_increment_log_start_offset(log, offset):
    """UnifiedLog.maybeIncrementLogStartOffset moves only the log start offset. The segments
    below it stay until the retention thread's next deleteOldSegments. Our
    ``Log.advance_log_start_offset`` does both at once, so the tests set the offset and leave
    the segments as Kafka leaves them."""
    assert log.log_start_offset <= offset <= log.high_watermark
    log.log_start_offset = offset


WISHING_WELL = [("wishing-well", 0), ("wishing-well", 1), ("wishing-well", 2)]


def wishing_well_manager():
    """Logs with cleanable range [20, 20], [20, 25], [20, 30]; every checkpoint at 20."""
    logs = setup_increasingly_filthy_logs(WISHING_WELL, 20, 5)
    manager, broker = make_manager(logs)
    for log in logs.values():
        log.cleaner_checkpoint = 20
    return logs, manager, broker


def test_grab_filthiest_compacted_log_returns_log_with_dirtiest_ratio():
    """LogCleanerManagerTest.testGrabFilthiestCompactedLogReturnsLogWithDirtiestRatio."""
    logs, manager, _ = wishing_well_manager()
    tp0, tp1, tp2 = WISHING_WELL
    filthiest = manager.grab_filthiest(MANAGER_NOW)
    assert filthiest[0] == tp2
    assert filthiest[1] is logs[tp2]
    # derived (facts §5.2.19): the ratios, with the mid-segment first dirty offset 20 counted
    # as both clean and cleanable (LogToClean's double count)
    ratios = manager.dirty_ratios(MANAGER_NOW)
    assert ratios[tp0] == 0.0
    assert ratios[tp1] == pytest.approx(738 / (1702 + 738))
    assert ratios[tp2] == pytest.approx(1148 / (1702 + 1148))


def test_grab_filthiest_compacted_log_ignores_uncleanable_partitions():
    """LogCleanerManagerTest.testGrabFilthiestCompactedLogIgnoresUncleanablePartitions."""
    logs, manager, broker = wishing_well_manager()
    tp0, tp1, tp2 = WISHING_WELL
    mark_partition_uncleanable(broker, tp2)
    filthiest = manager.grab_filthiest(MANAGER_NOW)
    assert filthiest[0] == tp1
    assert filthiest[1] is logs[tp1]


def test_grab_filthiest_compacted_log_ignores_in_progress_partitions():
    """LogCleanerManagerTest.testGrabFilthiestCompactedLogIgnoresInProgressPartitions
    (``setCleaningState(tp2, LogCleaningInProgress)`` is our ``skip``)."""
    logs, manager, _ = wishing_well_manager()
    tp0, tp1, tp2 = WISHING_WELL
    filthiest = manager.grab_filthiest(MANAGER_NOW, skip={tp2})
    assert filthiest[0] == tp1
    assert filthiest[1] is logs[tp1]


def test_grab_filthiest_compacted_log_ignores_both_in_progress_and_uncleanable_partitions():
    """LogCleanerManagerTest.testGrabFilthiestCompactedLogIgnoresBothInProgressPartitionsAnd
    UncleanablePartitions: tp0's ratio, 0, is not above min.cleanable.dirty.ratio 0.05."""
    _, manager, broker = wishing_well_manager()
    tp0, tp1, tp2 = WISHING_WELL
    mark_partition_uncleanable(broker, tp1)
    assert manager.grab_filthiest(MANAGER_NOW, skip={tp2}) is None


def test_dirty_offset_reset_if_larger_than_end_offset():
    """LogCleanerManagerTest.testDirtyOffsetResetIfLargerThanEndOffset: the reset goes to
    the log start offset, not to the log end offset."""
    tp = ("foo", 0)
    logs = setup_increasingly_filthy_logs([tp], 20, 5)
    manager, _ = make_manager(logs)
    logs[tp].cleaner_checkpoint = 200
    filthiest = manager.grab_filthiest(MANAGER_NOW)
    assert filthiest[2] == 0


def test_dirty_offset_reset_if_smaller_than_start_offset():
    """LogCleanerManagerTest.testDirtyOffsetResetIfSmallerThanStartOffset."""
    tp = ("foo", 0)
    logs = setup_increasingly_filthy_logs([tp], 20, 5)
    maybe_increment_log_start_offset(logs[tp], 10)
    manager, _ = make_manager(logs)
    logs[tp].cleaner_checkpoint = 0
    filthiest = manager.grab_filthiest(MANAGER_NOW)
    assert filthiest[2] == 10


def test_log_start_offset_larger_than_active_segment_base_offset():
    """LogCleanerManagerTest.testLogStartOffsetLargerThanActiveSegmentBaseOffset: the
    active segment is uncleanable and hence not filthy from the manager's point of view."""
    tp = ("foo", 0)
    log = create_log(*tp)
    logs = {tp: log}
    for _ in range(3):
        append_records(log, 3)
    assert len(log.segments) == 1
    maybe_increment_log_start_offset(log, 2)
    manager, _ = make_manager(logs)
    log.cleaner_checkpoint = 0
    assert manager.grab_filthiest(MANAGER_NOW) is None


def test_dirty_offset_larger_than_active_segment_base_offset():
    """LogCleanerManagerTest.testDirtyOffsetLargerThanActiveSegmentBaseOffset: after an
    unclean leader election, the checkpoint can be past the active segment's base offset but
    still inside the log."""
    tp = ("foo", 0)
    log = create_log(*tp)
    logs = {tp: log}
    append_records(log, 3)
    append_records(log, 3)
    assert len(log.segments) == 1
    assert log.segments[-1].base_offset == 0
    manager, _ = make_manager(logs)
    log.cleaner_checkpoint = 3
    # these segments are uncleanable and hence not filthy
    assert manager.grab_filthiest(MANAGER_NOW) is None


def cleanable_offsets(log, last_clean_offset, now, config):
    """LogCleanerManager.cleanableOffsets(log, Some(last_clean_offset), now), through our
    offsets_to_clean: (firstDirtyOffset, first uncleanable offset). Our first uncleanable
    offset is already rounded down to a segment base, as LogToClean rounds Kafka's."""
    log.cleaner_checkpoint = last_clean_offset
    first_dirty, first_uncleanable, _, _ = offsets_to_clean(log, now, REFERENCE, config.__getitem__)
    return first_dirty, first_uncleanable


def records_log(timestamp=MANAGER_NOW, until_segments=8, log=None):
    """makeLog with segment.bytes 1024, then ``records(o, o, timestamp)`` until the log has
    ``until_segments`` segments."""
    log = log or create_log(segment_bytes=1024)
    while len(log.segments) < until_segments:
        o = log.log_end_offset
        log.append_as_leader([key(o)], [key(o)], [timestamp], None, 0, timestamp)
    return log


def test_cleanable_offsets_for_none():
    """LogCleanerManagerTest.testCleanableOffsetsForNone: bounded by the last stable offset,
    the high watermark 50. Kafka's cleanableOffsets returns 50 itself. LogToClean then rounds
    it down to the base of the segment holding it (42), and that base is where cleaning
    stops. Our offsets_to_clean does both steps and returns the rounded offset."""
    log = records_log()
    log.high_watermark = 50
    first_dirty, first_uncleanable = cleanable_offsets(log, 0, MANAGER_NOW,
                                                       low_retention_log_config())
    assert first_dirty == 0, "The first cleanable offset starts at the beginning of the log."
    assert first_uncleanable == segment_base_holding(log, log.high_watermark), \
        "The first uncleanable offset is bounded by the last stable offset."
    assert first_uncleanable == 42                                       # derived


def test_cleanable_offsets_active_segment():
    """LogCleanerManagerTest.testCleanableOffsetsActiveSegment."""
    log = records_log()
    log.high_watermark = log.log_end_offset
    first_dirty, first_uncleanable = cleanable_offsets(log, 0, MANAGER_NOW,
                                                       low_retention_log_config())
    assert first_dirty == 0, "The first cleanable offset starts at the beginning of the log."
    assert first_uncleanable == log.segments[-1].base_offset, \
        "The first uncleanable offset begins with the active segment."
    assert first_uncleanable == 98                                       # derived


def test_cleanable_offsets_for_time():
    """LogCleanerManagerTest.testCleanableOffsetsForTime (min.compaction.lag.ms = 1 h)."""
    compaction_lag = 60 * 60 * 1000
    config = low_retention_log_config(min_compaction_lag_ms=compaction_lag)
    t0 = MANAGER_NOW
    log = records_log(t0, until_segments=4)
    active_seg_at_t0 = log.segments[-1]
    t1 = t0 + compaction_lag + 1            # time.sleep(compactionLag + 1)
    records_log(t1, until_segments=8, log=log)
    log.high_watermark = log.log_end_offset

    first_dirty, first_uncleanable = cleanable_offsets(log, 0, t1, config)
    assert first_dirty == 0, "The first cleanable offset starts at the beginning of the log."
    assert first_uncleanable == active_seg_at_t0.base_offset, \
        "The first uncleanable offset begins with the second block of log entries."
    assert first_uncleanable == 42                                       # derived


def test_cleanable_offsets_for_short_time():
    """LogCleanerManagerTest.testCleanableOffsetsForShortTime."""
    compaction_lag = 60 * 60 * 1000
    config = low_retention_log_config(min_compaction_lag_ms=compaction_lag)
    t0 = MANAGER_NOW
    log = records_log(t0)
    log.high_watermark = log.log_end_offset
    now = t0 + compaction_lag + 1
    first_dirty, first_uncleanable = cleanable_offsets(log, 0, now, config)
    assert first_dirty == 0, "The first cleanable offset starts at the beginning of the log."
    assert first_uncleanable == log.segments[-1].base_offset, \
        "The first uncleanable offset begins with active segment."


def test_cleanable_offsets_needs_checkpoint_reset():
    """LogCleanerManagerTest.testCleanableOffsetsNeedsCheckpointReset. Kafka's
    ``forceUpdateCheckpoint`` is set when the first dirty offset differs from the
    checkpoint, which is when our first_dirty_offset differs from ``cleaner_checkpoint``.
    That is the condition under which grab_filthiest rewrites the checkpoint."""
    tp = ("foo", 0)
    log = setup_increasingly_filthy_logs([tp], 20, 5)[tp]
    maybe_increment_log_start_offset(log, 10)

    def force_update_checkpoint(last_clean_offset):
        log.cleaner_checkpoint = last_clean_offset
        return first_dirty_offset(log) != last_clean_offset

    assert not force_update_checkpoint(15), "Checkpoint offset should not be reset if valid"
    maybe_increment_log_start_offset(log, 20)
    assert force_update_checkpoint(15), \
        "Checkpoint offset needs to be reset if less than log start offset"
    assert force_update_checkpoint(25), \
        "Checkpoint offset needs to be reset if greater than log end offset"


def test_checkpoint_updated_for_invalid_offset_no_cleaning():
    """LogCleanerManagerTest.testCheckpointUpdatedForInvalidOffsetNoCleaning: logs with
    invalid checkpoint offsets have their checkpoint rewritten even if they don't need
    cleaning."""
    tp = ("foo", 0)
    logs = setup_increasingly_filthy_logs([tp], 20, 5)
    maybe_increment_log_start_offset(logs[tp], 20)
    manager, _ = make_manager(logs)
    logs[tp].cleaner_checkpoint = 15
    assert manager.grab_filthiest(MANAGER_NOW) is None, "Log should not be selected for cleaning"
    assert logs[tp].cleaner_checkpoint == 20, \
        "Unselected log should have checkpoint offset updated"


def test_checkpoint_updated_for_invalid_offset_not_selected():
    """LogCleanerManagerTest.testCheckpointUpdatedForInvalidOffsetNotSelected: logs with
    invalid checkpoint offsets have their checkpoint rewritten even if they aren't picked
    for cleaning now."""
    tp0, tp1 = ("foo", 0), ("foo", 1)
    # two logs: one with an invalid checkpoint, and one dirtier than it
    logs = setup_increasingly_filthy_logs([tp0, tp1], 20, 5)
    maybe_increment_log_start_offset(logs[tp0], 15)
    manager, _ = make_manager(logs)
    logs[tp0].cleaner_checkpoint = 10
    logs[tp1].cleaner_checkpoint = 5
    filthiest = manager.grab_filthiest(MANAGER_NOW)
    assert filthiest[0] == tp1, "Dirtier log should be selected"
    assert logs[tp0].cleaner_checkpoint == 15, \
        "Unselected log should have checkpoint offset updated"
    # derived (facts §5.2.31)
    ratios = manager.dirty_ratios(MANAGER_NOW)
    assert ratios[tp0] == pytest.approx(738 / 2030)
    assert ratios[tp1] == pytest.approx(1950 / 2430)
