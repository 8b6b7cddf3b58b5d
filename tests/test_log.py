"""The partition log: offsets, segments, truncation, flushing and the epoch cache."""

import pytest
from hypothesis import given, strategies as st

from kafkadojo.reference.errors import InvalidRequestError, OffsetOutOfRangeError
from kafkadojo.reference.log import LeaderEpochCache, Log


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


def test_segments_roll_by_time():
    log = Log("t", 0, segment_ms=1_000)
    append(log, [b"a"], now=0)
    append(log, [b"b"], now=500)
    append(log, [b"c"], now=1_000)
    assert [s.base_offset for s in log.segments] == [0, 2]


def test_rolling_flushes_the_closed_segment():
    log = Log("t", 0, segment_bytes=100)
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


def test_epoch_cache_keeps_only_newer_epochs():
    cache = LeaderEpochCache()
    cache.assign(0, 0)
    cache.assign(0, 5)      # same epoch again: ignored
    cache.assign(2, 5)
    cache.assign(1, 7)      # older epoch: ignored
    assert cache.entries == [(0, 0), (2, 5)]
    cache.truncate_from_end(5)
    assert cache.entries == [(0, 0)]
    cache.assign(4, 9)
    cache.truncate_from_start(10)
    assert cache.entries == [(4, 10)]


@given(st.lists(st.lists(st.binary(max_size=30), min_size=1, max_size=5), max_size=30),
       st.integers(50, 400), st.data())
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
