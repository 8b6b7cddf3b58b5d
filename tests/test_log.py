"""The partition log: offsets, segments, truncation, flushing and the epoch cache."""

import pytest
from hypothesis import given, strategies as st

from kafkadojo.reference.errors import InvalidRequestError, OffsetOutOfRangeError
from kafkadojo.reference.log import LeaderEpochCache, Log
from kafkadojo.reference.record import RecordBatch


def append(log, values, epoch=0, now=0):
    return log.append_as_leader(None, list(values), [now] * len(values), None, epoch, now)


def test_offsets_are_assigned_consecutively_from_the_log_end():
    log = Log("t", 0)
    first = append(log, [b"a", b"b"])
    second = append(log, [b"c"])
    assert (first.base_offset, second.base_offset) == (0, 2)
    assert log.log_end_offset == 3
    assert log.values() == [b"a", b"b", b"c"]
    assert log.values(1, 3) == [b"b", b"c"]


def test_read_returns_whole_or_sliced_batches_between_offsets():
    log = Log("t", 0)
    append(log, [b"a", b"b", b"c"])
    append(log, [b"d", b"e"])
    batches = log.read(1, max_offset=4)
    assert [v for b in batches for v in b.values] == [b"b", b"c", b"d"]
    assert batches[0].base_offset == 1
    assert log.read(5) == []


def test_read_outside_the_log_is_offset_out_of_range():
    log = Log("t", 0)
    append(log, [b"a"])
    with pytest.raises(OffsetOutOfRangeError):
        log.read(2)
    with pytest.raises(OffsetOutOfRangeError):
        log.read(-1)


def test_segments_roll_by_size_and_reads_cross_them():
    log = Log("t", 0, segment_bytes=200)
    for i in range(20):
        append(log, [b"x" * 50])
    assert len(log.segments) > 5
    assert [s.base_offset for s in log.segments] == sorted(s.base_offset for s in log.segments)
    assert log.values() == [b"x" * 50] * 20
    assert [v for b in log.read(7, max_offset=12) for v in b.values] == [b"x" * 50] * 5


def test_segments_roll_once_older_than_segment_ms_by_record_timestamps():
    log = Log("t", 0, segment_ms=1_000)
    append(log, [b"a"], now=0)
    append(log, [b"b"], now=1_000)      # waited exactly segment.ms: not yet
    append(log, [b"c"], now=1_001)
    assert [s.base_offset for s in log.segments] == [0, 2]


def test_rolling_flushes_the_closed_segment():
    log = Log("t", 0, segment_bytes=250)
    for _ in range(5):
        append(log, [b"y" * 40])
    assert log.recovery_point == log.segments[-1].base_offset > 0


def test_power_loss_drops_the_unflushed_tail_only():
    log = Log("t", 0)
    append(log, [b"a", b"b"])
    log.flush(now=0)
    append(log, [b"c"])
    log.high_watermark = 3
    log.lose_unflushed()
    assert log.values() == [b"a", b"b"]
    assert log.high_watermark == 2


def test_flush_messages_bounds_the_unflushed_tail():
    log = Log("t", 0, flush_messages=1)
    append(log, [b"a"])
    append(log, [b"b"])
    log.lose_unflushed()
    assert log.values() == [b"a", b"b"]


def test_truncate_removes_the_tail_and_later_epochs():
    log = Log("t", 0)
    append(log, [b"a", b"b"], epoch=0)
    append(log, [b"c", b"d"], epoch=3)
    log.high_watermark = 4
    log.truncate_to(1)
    assert log.values() == [b"a"]
    assert log.high_watermark == 1
    assert log.epochs.entries == [(0, 0)]
    with pytest.raises(InvalidRequestError):
        log.truncate_to(-1)


def test_log_start_offset_deletes_whole_segments_but_never_the_active_one():
    log = Log("t", 0, segment_bytes=150)
    for i in range(10):
        append(log, [b"z" * 50])
    log.high_watermark = 10
    log.advance_log_start_offset(5)
    assert log.log_start_offset == 5
    assert log.segments[0].base_offset <= 5
    assert log.values() == [b"z" * 50] * 5
    with pytest.raises(OffsetOutOfRangeError):
        log.read(4)
    with pytest.raises(OffsetOutOfRangeError):
        log.advance_log_start_offset(11)      # beyond the high watermark
    log.advance_log_start_offset(10)
    assert len(log.segments) >= 1 and log.values() == []


def test_follower_append_must_continue_the_log():
    leader, follower = Log("t", 0), Log("t", 0)
    batch = append(leader, [b"a"], epoch=2)
    follower.append_as_follower(batch, now=0)
    assert follower.epochs.entries == [(2, 0)]
    with pytest.raises(InvalidRequestError):
        follower.append_as_follower(batch, now=0)


def test_epoch_cache_follows_leader_epoch_file_cache():
    # Kafka 3.9's LeaderEpochFileCache.assign: the same epoch again changes nothing, an older
    # epoch assigned later wins over the entries it conflicts with (more cases in
    # test_kafka_leader_epoch_file_cache.py)
    cache = LeaderEpochCache()
    cache.assign(0, 0)
    cache.assign(0, 5)      # same epoch, later offset: ignored
    cache.assign(2, 5)
    cache.assign(1, 7)      # older epoch: epoch 2 (>= 1) goes
    assert cache.entries == [(0, 0), (1, 7)]
    cache.truncate_from_end(7)
    assert cache.entries == [(0, 0)]
    cache.truncate_from_end(-1)     # undefined offset: nothing
    assert cache.entries == [(0, 0)]
    cache.assign(4, 9)
    cache.truncate_from_start(10)
    assert cache.entries == [(4, 10)]


def test_truncating_at_or_past_the_log_end_still_forgets_epochs_starting_there():
    # UnifiedLogTest.testTruncateToEndOffsetClearsEpochCache
    log = Log("t", 0)
    log.truncate_fully_and_start_at(27, now=0)
    log.append_as_follower(RecordBatch(27, 19, None, [b"a", b"b"], [0, 0]), now=0)
    assert log.epochs.entries == [(19, 27)] and log.log_end_offset == 29
    for epoch, truncation_offset in ((20, 29), (24, 30)):
        log.epochs.assign(epoch, log.log_end_offset)        # became leader, wrote nothing
        assert log.epochs.entries[-1] == (epoch, 29)
        log.truncate_to(truncation_offset)                  # then a follower again
        assert log.epochs.entries == [(19, 27)] and log.log_end_offset == 29


@pytest.mark.parametrize("epochs, expected", [
    # UnifiedLogTest.shouldTruncateLeaderEpochsWhenDeletingSegments
    (((0, 0), (1, 5), (2, 10)), [(1, 5), (2, 10)]),
    # UnifiedLogTest.shouldUpdateOffsetForLeaderEpochsWhenDeletingSegments
    (((0, 0), (1, 7), (2, 10)), [(0, 5), (1, 7), (2, 10)]),
])
def test_deleting_segments_moves_the_first_epoch_to_the_log_start(epochs, expected):
    # three segments of five records; retention.bytes keeps two of them
    record_size = RecordBatch(0, 0, None, [b"test"], [0]).size_bytes
    log = Log("t", 0, segment_bytes=5 * record_size)
    for _ in range(15):
        append(log, [b"test"])
    assert log.segment_bases == [0, 5, 10]
    for epoch, start_offset in epochs:
        log.epochs.assign(epoch, start_offset)
    log.high_watermark = log.log_end_offset
    assert log.delete_old_segments(now=0, retention_ms=-1, retention_bytes=10 * record_size) == 1
    assert log.epochs.entries == expected


@given(st.lists(st.lists(st.binary(max_size=30), min_size=1, max_size=5), max_size=30),
       st.integers(250, 600), st.data())    # a batch is at most 246 bytes
def test_any_appends_and_a_truncation_read_back_exactly(batches, segment_bytes, data):
    log = Log("t", 0, segment_bytes=segment_bytes)
    expected = []
    for values in batches:
        append(log, values)
        expected.extend(values)
    assert log.values() == expected
    cut = data.draw(st.integers(0, len(expected)))
    log.truncate_to(cut)
    assert log.values() == expected[:cut]
    assert log.log_end_offset == cut
    append(log, [b"new"])
    assert log.values() == expected[:cut] + [b"new"]
    start = data.draw(st.integers(0, cut + 1))
    assert [v for b in log.read(start) for v in b.values] == (expected[:cut] + [b"new"])[start:]


# -- retention: whole segments from the oldest end ------------------------------------------
from kafkadojo.reference.log import (HIGH_WATERMARK, LOG_END, NONE, OFFSET_OUT_OF_RANGE,  # noqa: E402
                                     deletable_segments, fetch_upper_bound, largest_lower_bound,
                                     should_roll)

SEGMENTS = [(0, 100, 1_000), (10, 100, 2_000), (20, 100, 3_000), (30, 50, 4_000)]


def test_retention_ms_deletes_the_run_of_expired_segments_and_moves_the_log_start():
    # now 3_500, retention 1_000: segments whose newest record is older than 2_500 go
    assert deletable_segments(SEGMENTS, 0, 35, 35, 3_500, 1_000, -1) == (2, 20)


def test_retention_bytes_keeps_at_least_retention_bytes():
    # 350 bytes, keep >= 200: deleting the first leaves 250, the second 150 (too few)
    assert deletable_segments(SEGMENTS, 0, 35, 35, 0, -1, 200) == (1, 10)


def test_retention_never_passes_the_high_watermark():
    assert deletable_segments(SEGMENTS, 0, 15, 35, 10**9, 0, -1) == (1, 10)


def test_the_whole_log_goes_only_when_committed_and_the_start_becomes_the_log_end():
    assert deletable_segments(SEGMENTS, 0, 35, 35, 10**9, 0, -1) == (4, 35)
    empty_active = SEGMENTS[:3] + [(30, 0, -1)]
    assert deletable_segments(empty_active, 0, 30, 30, 10**9, 0, -1) == (3, 30)


def test_segments_below_a_raised_log_start_offset_go_without_any_retention_limit():
    assert deletable_segments(SEGMENTS, 25, 35, 35, 0, -1, -1) == (2, 25)


def test_each_retention_pass_stops_at_its_first_survivor():
    # the second segment's newest record is fresh, so time deletes only the first
    fresh_second = [(0, 100, 1_000), (10, 100, 9_000), (20, 100, 1_000), (30, 50, 9_000)]
    assert deletable_segments(fresh_second, 0, 35, 35, 5_000, 1_000, -1) == (1, 10)


def test_log_applies_retention_and_reads_below_the_start_are_out_of_range():
    log = Log("t", 0, segment_bytes=200)
    for i in range(20):
        log.append_as_leader(None, [b"x" * 50], [i * 100], None, 0, i * 100)
    log.high_watermark = log.log_end_offset
    deleted = log.delete_old_segments(now=2_000, retention_ms=1_000, retention_bytes=-1)
    assert deleted > 0
    assert log.log_start_offset == log.segments[0].base_offset > 0
    # one record per segment, stamped i * 100: those older than 2_000 - 1_000 went
    assert log.log_start_offset == 10
    assert log.segments[0].largest_timestamp == 1_000
    with pytest.raises(OffsetOutOfRangeError):
        log.read(log.log_start_offset - 1)
    assert log.values() == [b"x" * 50] * (20 - log.log_start_offset)


def test_log_deleting_every_segment_rolls_a_fresh_one_at_the_log_end():
    log = Log("t", 0)
    append(log, [b"a", b"b"], now=0)
    log.high_watermark = 2
    assert log.delete_old_segments(now=10_000, retention_ms=1, retention_bytes=-1) == 1
    assert (log.log_start_offset, log.log_end_offset, len(log.segments)) == (2, 2, 1)
    append(log, [b"c"], now=10_000)
    assert log.values() == [b"c"]


def test_fetch_upper_bound_by_isolation():
    assert fetch_upper_bound(5, 2, 7, 9, LOG_END) == (NONE, 9)
    assert fetch_upper_bound(5, 2, 7, 9, HIGH_WATERMARK) == (NONE, 7)
    assert fetch_upper_bound(8, 2, 7, 9, HIGH_WATERMARK) == (NONE, 7)     # nothing yet
    assert fetch_upper_bound(1, 2, 7, 9, LOG_END) == (OFFSET_OUT_OF_RANGE, -1)
    assert fetch_upper_bound(10, 2, 7, 9, HIGH_WATERMARK) == (OFFSET_OUT_OF_RANGE, -1)


def test_largest_lower_bound_and_should_roll():
    assert [largest_lower_bound([0, 10, 20], t) for t in (-1, 0, 9, 10, 25)] == [-1, 0, 0, 1, 2]
    assert should_roll(150, 60, 0, 200, 1_000)
    assert not should_roll(150, 50, 0, 200, 1_000)
    assert should_roll(1, 1, 1_001, 200, 1_000)
    assert not should_roll(0, 500, 5_000, 200, 1_000)       # never roll an empty segment


def test_make_leader_updates_epoch_cache():
    # PartitionTest.testMakeLeaderUpdatesEpochCache: records in epochs 0 and 5, then this
    # replica leads epoch 8 (the broker assigns it at the log end, as Partition.makeLeader):
    # OffsetForLeaderEpoch for epoch 8 answers the log end offset
    log = Log("t", 0)
    append(log, [b"v1", b"v2"], epoch=0)
    append(log, [b"v3", b"v4"], epoch=5)
    log.epochs.assign(8, log.log_end_offset)
    assert log.epochs.end_offset_for(8, log.log_end_offset) == (8, 4)
    assert log.epochs.end_offset_for(5, log.log_end_offset) == (5, 4)


def test_epoch_start_offset_is_not_updated_if_the_leader_epoch_is_not_bumped():
    # PartitionTest.testDoNotUpdateEpochStartOffsetIfLeaderEpochIsNotBumped
    log = Log("t", 0)
    log.epochs.assign(8, log.log_end_offset)
    append(log, [b"v1", b"v1"], epoch=8)
    log.epochs.assign(8, log.log_end_offset)        # makeLeader again, same leader epoch
    assert log.epochs.entries == [(8, 0)]
