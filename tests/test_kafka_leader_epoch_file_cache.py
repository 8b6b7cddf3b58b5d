"""Kafka 3.9's LeaderEpochFileCacheTest (core/src/test/scala/unit/kafka/server/epoch/), ported
to the engine's ``LeaderEpochCache``: ``assign``, ``truncate_from_end``,
``truncate_from_start`` and ``end_offset_for`` (which answers with the exercise
``replication.end_offset_for_epoch``). Each test names the Java (Scala) test it comes from.

Not ported: the checkpoint-file tests (shouldPersistEpochsBetweenInstances,
shouldWriteCheckpointOnTruncation: the engine keeps no files), previousEpoch/nextEpoch/
epochForOffset lookups the engine does not have, and clearAndFlush."""

import pytest
from hypothesis import given, strategies as st

from kafkadojo.reference.errors import InvalidRequestError
from kafkadojo.reference.log import LeaderEpochCache
from kafkadojo.reference.replication import UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET

UNDEFINED = (UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET)


def cache_with(*entries):
    cache = LeaderEpochCache()
    for epoch, start_offset in entries:
        cache.assign(epoch, start_offset)
    return cache


def test_should_add_epoch_and_message_offset_to_cache():
    # LeaderEpochFileCacheTest.shouldAddEpochAndMessageOffsetToCache
    cache = cache_with((2, 10))
    assert cache.latest_epoch == 2
    assert cache.entries == [(2, 10)]
    assert cache.end_offset_for(2, 11) == (2, 11)


def test_should_return_log_end_offset_if_latest_epoch_requested():
    # LeaderEpochFileCacheTest.shouldReturnLogEndOffsetIfLatestEpochRequested
    cache = cache_with((2, 11), (2, 12))
    assert cache.end_offset_for(2, 14) == (2, 14)


def test_should_return_undefined_offset_if_undefined_epoch_requested():
    # LeaderEpochFileCacheTest.shouldReturnUndefinedOffsetIfUndefinedEpochRequested
    cache = cache_with((2, 11), (3, 12))
    assert cache.end_offset_for(UNDEFINED_EPOCH, 0) == UNDEFINED


def test_should_not_overwrite_log_end_offset_for_a_leader_epoch_once_it_has_been_assigned():
    # LeaderEpochFileCacheTest.shouldNotOverwriteLogEndOffsetForALeaderEpochOnceItHasBeenAssigned
    cache = cache_with((2, 9), (2, 10))
    assert cache.entries == [(2, 9)]


def test_should_enforce_monotonically_increasing_start_offsets():
    # LeaderEpochFileCacheTest.shouldEnforceMonotonicallyIncreasingStartOffsets
    cache = cache_with((2, 9), (3, 9))
    assert cache.entries == [(3, 9)]


def test_should_not_overwrite_offset_for_a_leader_epoch_once_it_has_been_assigned():
    # LeaderEpochFileCacheTest.shouldNotOverwriteOffsetForALeaderEpochOnceItHasBeenAssigned
    cache = cache_with((2, 6), (2, 10))
    assert cache.entries[0][1] == 6


def test_should_return_unsupported_if_no_epoch_recorded():
    # LeaderEpochFileCacheTest.shouldReturnUnsupportedIfNoEpochRecorded
    assert LeaderEpochCache().end_offset_for(0, 0) == UNDEFINED


def test_should_return_unsupported_if_no_epoch_recorded_and_undefined_epoch_requested():
    # LeaderEpochFileCacheTest.shouldReturnUnsupportedIfNoEpochRecordedAndUndefinedEpochRequested
    assert LeaderEpochCache().end_offset_for(UNDEFINED_EPOCH, 73) == UNDEFINED


def test_should_return_first_epoch_if_requested_epoch_less_than_first_epoch():
    # LeaderEpochFileCacheTest.shouldReturnFirstEpochIfRequestedEpochLessThanFirstEpoch
    cache = cache_with((5, 11), (6, 12), (7, 13))
    assert cache.end_offset_for(4, 0) == (4, 11)


def test_should_truncate_if_matching_epoch_but_earlier_starting_offset():
    # LeaderEpochFileCacheTest.shouldTruncateIfMatchingEpochButEarlierStartingOffset
    cache = cache_with((5, 11), (6, 12), (7, 13))
    cache.assign(7, 12)        # epoch 7 starts at an earlier offset: epoch 6 goes
    assert cache.entries == [(5, 11), (7, 12)]
    assert cache.end_offset_for(5, 0) == (5, 12)
    assert cache.end_offset_for(6, 0) == (5, 12)


def test_should_get_first_offset_of_subsequent_epoch_when_offset_requested_for_previous_epoch():
    # LeaderEpochFileCacheTest.shouldGetFirstOffsetOfSubsequentEpochWhenOffsetRequestedForPreviousEpoch
    cache = cache_with((1, 11), (1, 12), (2, 13), (2, 14), (3, 15), (3, 16))
    assert cache.end_offset_for(2, 17) == (2, 15)


def test_should_return_next_available_epoch_if_there_is_no_exact_epoch_for_the_one_requested():
    # LeaderEpochFileCacheTest.shouldReturnNextAvailableEpochIfThereIsNoExactEpochForTheOneRequested
    cache = cache_with((0, 10), (2, 13), (4, 17))
    assert cache.end_offset_for(1, 0) == (0, 13)
    assert cache.end_offset_for(2, 0) == (2, 17)
    assert cache.end_offset_for(3, 0) == (2, 17)


def test_should_not_update_epoch_and_start_offset_if_it_did_not_change():
    # LeaderEpochFileCacheTest.shouldNotUpdateEpochAndStartOffsetIfItDidNotChange
    assert cache_with((2, 6), (2, 7)).entries == [(2, 6)]


def test_should_return_invalid_offset_if_epoch_is_requested_which_is_not_currently_tracked():
    # LeaderEpochFileCacheTest.shouldReturnInvalidOffsetIfEpochIsRequestedWhichIsNotCurrentlyTracked
    assert cache_with((2, 100)).end_offset_for(3, 100) == UNDEFINED


def test_should_support_epochs_that_do_not_start_from_zero():
    # LeaderEpochFileCacheTest.shouldSupportEpochsThatDoNotStartFromZero
    cache = cache_with((2, 6))
    assert cache.end_offset_for(2, 7) == (2, 7)
    assert cache.entries == [(2, 6)]


def test_should_enforce_monotonically_increasing_epochs():
    # LeaderEpochFileCacheTest.shouldEnforceMonotonicallyIncreasingEpochs: an epoch in the past
    # with a later offset truncates the cache to the point of conflict.
    cache = cache_with((1, 5), (2, 6))
    cache.assign(1, 7)
    assert cache.latest_epoch == 1
    assert cache.end_offset_for(1, 8) == (1, 8)
    assert cache.end_offset_for(2, 8) == UNDEFINED
    assert cache.entries == [(1, 7)]


def test_should_enforce_offsets_increase_monotonically():
    # LeaderEpochFileCacheTest.shouldEnforceOffsetsIncreaseMonotonically
    assert cache_with((2, 6), (3, 5)).entries == [(3, 5)]


def test_should_increase_and_track_epochs_as_leaders_change_many_times():
    # LeaderEpochFileCacheTest.shouldIncreaseAndTrackEpochsAsLeadersChangeManyTimes
    cache = cache_with((0, 0), (1, 0))
    assert cache.latest_epoch == 1
    assert cache.end_offset_for(1, 0) == (1, 0)
    assert cache.end_offset_for(0, 0) == (0, 0)
    assert cache.end_offset_for(1, 5) == (1, 5)
    assert cache.end_offset_for(0, 5) == (0, 0)
    cache.assign(2, 5)
    assert cache.end_offset_for(2, 10) == (2, 10)
    assert cache.end_offset_for(1, 10) == (1, 5)
    assert cache.end_offset_for(0, 10) == (0, 0)


def test_should_increase_and_track_epochs_as_follower_receives_many_messages():
    # LeaderEpochFileCacheTest.shouldIncreaseAndTrackEpochsAsFollowerReceivesManyMessages
    cache = cache_with((0, 0), (0, 1), (0, 2))
    assert cache.latest_epoch == 0
    assert cache.end_offset_for(0, 3) == (0, 3)
    for offset in (3, 4, 5):
        cache.assign(1, offset)
    assert cache.latest_epoch == 1
    assert cache.end_offset_for(1, 6) == (1, 6)
    for offset in (6, 7, 8):
        cache.assign(2, offset)
    assert cache.latest_epoch == 2
    assert cache.end_offset_for(2, 9) == (2, 9)
    assert cache.end_offset_for(0, 9) == (0, 3)
    assert cache.end_offset_for(1, 9) == (1, 6)


THREE_EPOCHS = ((2, 6), (3, 8), (4, 11))


@pytest.mark.parametrize("end_offset, expected", [
    (8, [(2, 6)]),                      # shouldDropEntriesOnEpochBoundaryWhenRemovingLatestEntries
    (9, [(2, 6), (3, 8)]),              # shouldDropEntriesBetweenEpochBoundaryWhenRemovingNewest
    (UNDEFINED_EPOCH_OFFSET, list(THREE_EPOCHS)),   # shouldNotResetEpochHistoryTailIfUndefinedPassed
])
def test_truncate_from_end(end_offset, expected):
    # LeaderEpochFileCacheTest: the three truncateFromEnd cases named above
    cache = cache_with(*THREE_EPOCHS)
    cache.truncate_from_end(end_offset)
    assert cache.entries == expected


@pytest.mark.parametrize("start_offset, expected", [
    (8, [(3, 8), (4, 11)]),             # shouldPreserveResetOffsetOnClearEarliestIfOneExists
    (9, [(3, 9), (4, 11)]),             # shouldUpdateSavedOffsetWhenOffsetToClearToIsBetweenEpochs
    (1, list(THREE_EPOCHS)),            # shouldNotClearAnythingIfOffsetToEarly
    (6, list(THREE_EPOCHS)),            # shouldNotClearAnythingIfOffsetToFirstOffset
    (11, [(4, 11)]),                    # shouldRetainLatestEpochOnClearAllEarliest
    (15, [(4, 15)]),                    # shouldRetainLatestEpochOnClearAllEarliestAndUpdateItsOffset
    (UNDEFINED_EPOCH_OFFSET, list(THREE_EPOCHS)),   # shouldNotResetEpochHistoryHeadIfUndefinedPassed
])
def test_truncate_from_start(start_offset, expected):
    # LeaderEpochFileCacheTest: the truncateFromStart cases named above
    cache = cache_with(*THREE_EPOCHS)
    cache.truncate_from_start(start_offset)
    assert cache.entries == expected


def test_should_update_offset_between_epoch_boundaries_on_clear_earliest_2():
    # LeaderEpochFileCacheTest.shouldUpdateOffsetBetweenEpochBoundariesOnClearEarliest2
    cache = cache_with((0, 0), (1, 7), (2, 10))
    cache.truncate_from_start(5)
    assert cache.entries == [(0, 5), (1, 7), (2, 10)]


def test_empty_cache():
    # LeaderEpochFileCacheTest.shouldFetchLatestEpochOfEmptyCache, shouldFetchEndOffsetOfEmptyCache,
    # shouldClearEarliestOnEmptyCache, shouldClearLatestOnEmptyCache
    cache = LeaderEpochCache()
    assert cache.latest_epoch == UNDEFINED_EPOCH
    assert cache.end_offset_for(7, 0) == UNDEFINED
    cache.truncate_from_start(7)
    cache.truncate_from_end(7)
    assert cache.entries == []


def test_previous_epoch_after_truncation():
    # LeaderEpochFileCacheTest.testPreviousEpoch: after truncateFromEnd(18) the latest is 4
    cache = cache_with((2, 10), (4, 15), (10, 20))
    cache.truncate_from_end(18)
    assert cache.entries == [(2, 10), (4, 15)]


@pytest.mark.parametrize("entry", [(-1, 0), (0, -1)])
def test_a_negative_epoch_or_start_offset_is_refused(entry):
    # LeaderEpochFileCache.assign: IllegalArgumentException("Received invalid partition
    # leader epoch entry")
    with pytest.raises(InvalidRequestError):
        LeaderEpochCache().assign(*entry)


@given(st.lists(st.tuples(st.integers(0, 8), st.integers(0, 30)), max_size=12))
def test_any_assignments_keep_both_columns_strictly_increasing_and_the_last_entry(assignments):
    """Kafka's maybeTruncateNonMonotonicEntries: whatever order epochs arrive in, epochs and
    start offsets both increase, and an assignment that changed the cache is its last entry."""
    cache = LeaderEpochCache()
    for epoch, start_offset in assignments:
        before = list(cache.entries)
        cache.assign(epoch, start_offset)
        epochs = [e for e, _ in cache.entries]
        starts = [s for _, s in cache.entries]
        assert epochs == sorted(set(epochs)) and starts == sorted(set(starts))
        ignored = bool(before) and before[-1][0] == epoch and start_offset >= before[-1][1]
        assert cache.entries == before if ignored else cache.entries[-1] == (epoch, start_offset)
