"""The pure rules the engine calls through its seams: HW, OffsetForLeaderEpoch, truncation,
ISR membership, elections."""

from hypothesis import given, strategies as st

from kafkadojo.reference import isr, replication
from kafkadojo.reference.election import elect_leader
from kafkadojo.reference.errors import NotEnoughReplicasAfterAppendError, NotEnoughReplicasError
from kafkadojo.reference.replication import (UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET,
                                             end_offset_for_epoch, next_high_watermark,
                                             truncation_offset)

import pytest


def test_high_watermark_is_the_smallest_log_end_offset_in_the_isr():
    assert next_high_watermark(0, 10, [7, 9], isr_size=3, min_insync_replicas=2) == 7
    assert next_high_watermark(0, 10, [], isr_size=1, min_insync_replicas=1) == 10


def test_high_watermark_never_moves_back():
    assert next_high_watermark(8, 10, [5], isr_size=2, min_insync_replicas=1) == 8


def test_high_watermark_is_frozen_below_min_insync_replicas():
    # KAFKA-15583 (Kafka 3.7): a lone leader commits nothing.
    assert next_high_watermark(3, 10, [], isr_size=1, min_insync_replicas=2) == 3


def test_unknown_follower_offsets_hold_the_high_watermark_back():
    assert next_high_watermark(4, 10, [-1], isr_size=2, min_insync_replicas=1) == 4


EPOCHS = [(0, 0), (2, 10), (5, 30)]


@pytest.mark.parametrize("requested, expected", [
    (UNDEFINED_EPOCH, (UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET)),
    (5, (5, 42)),                       # the latest epoch: the LEO
    (0, (0, 10)),                       # ended where epoch 2 began
    (1, (0, 10)),                       # unknown epoch 1: the floor epoch 0, ended at 10
    (2, (2, 30)),
    (4, (2, 30)),
    (6, (UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET)),   # newer than anything the leader knows
])
def test_end_offset_for_epoch_follows_leader_epoch_file_cache(requested, expected):
    assert end_offset_for_epoch(EPOCHS, requested, 42) == expected


def test_end_offset_for_an_epoch_older_than_the_first_is_the_first_start():
    assert end_offset_for_epoch([(3, 100), (4, 120)], 1, 150) == (1, 100)


def test_truncation_falls_back_to_the_high_watermark_when_the_leader_knows_nothing():
    assert truncation_offset(UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET, [(0, 0)], 9, 4) == (4, True)


def test_truncation_to_the_smaller_end_of_a_shared_epoch():
    # follower wrote epoch 2 up to 15, the leader's epoch 2 ended at 12
    assert truncation_offset(2, 12, [(0, 0), (2, 10)], 15, 11) == (12, True)
    # follower is behind: nothing to cut
    assert truncation_offset(2, 20, [(0, 0), (2, 10)], 15, 11) == (15, True)


def test_truncation_when_the_follower_lacks_the_leaders_epoch_needs_another_round():
    # leader says "epoch 1 ended at 8"; follower has epochs 0 and 2 only
    assert truncation_offset(1, 8, [(0, 0), (2, 6)], 9, 5) == (6, False)


def test_kip_101_case_1_is_not_truncated_with_epochs():
    # B has m1, m2 in epoch 0 with HW 1; leader A answers (0, 2)
    assert truncation_offset(0, 2, [(0, 0)], 2, 1) == (2, True)
    assert replication.truncation_offset_from_high_watermark(1, 2) == 1


@given(st.lists(st.integers(0, 50), min_size=1, max_size=5, unique=True).map(sorted),
       st.integers(0, 200), st.integers(-1, 60))
def test_end_offset_is_never_past_the_log_end(epochs, extra, requested):
    starts = sorted(st_ * 3 for st_ in range(len(epochs)))
    entries = list(zip(epochs, starts))
    leo = starts[-1] + extra
    epoch, end = end_offset_for_epoch(entries, requested, leo)
    assert end <= leo
    if end != UNDEFINED_EPOCH_OFFSET and requested != UNDEFINED_EPOCH:
        assert epoch <= requested


def test_last_caught_up_time_follows_replica_state():
    assert isr.last_caught_up_time(10, 500, 10, 100, 8, 400) == 500   # at the LEO now
    assert isr.last_caught_up_time(8, 500, 10, 100, 8, 400) == 400    # at the previous LEO
    assert isr.last_caught_up_time(5, 500, 10, 100, 8, 400) == 100    # behind both


def test_out_of_sync_replicas_are_those_lagging_longer_than_the_bound():
    followers = {1: (10, 0), 2: (7, 100)}
    assert isr.out_of_sync_replicas([0, 1, 2], 0, followers, 10, 40_000, 30_000) == [2]
    assert isr.out_of_sync_replicas([0, 1, 2], 0, followers, 10, 20_000, 30_000) == []


def test_a_follower_rejoins_only_past_hw_and_the_epoch_start():
    assert isr.can_join_isr(10, 10, 8)
    assert not isr.can_join_isr(9, 10, 8)
    assert not isr.can_join_isr(10, 5, 11)


def test_acks_all_checks():
    assert not isr.acks_all_accepted(1, 2, 3)
    assert isr.acks_all_accepted(2, 2, 3)
    assert isr.acks_all_accepted(1, 3, 1)      # min.insync.replicas capped at RF
    assert isr.acks_all_outcome(5, 6, 3, 2) is None
    assert isr.acks_all_outcome(6, 6, 3, 2) == "ok"
    assert isinstance(isr.acks_all_outcome(6, 6, 1, 2), NotEnoughReplicasAfterAppendError)
    assert isr.effective_min_isr(3, 2) == 2


def test_clean_election_takes_the_first_live_isr_replica_in_assignment_order():
    assert elect_leader((2, 0, 1), (0, 1), {0, 1, 2}, False) == (0, (0, 1), False)
    assert elect_leader((2, 0, 1), (0, 1), {1, 2}, False).leader == 1


def test_no_live_isr_replica_means_offline_unless_unclean_is_enabled():
    offline = elect_leader((0, 1, 2), (0,), {1, 2}, False)
    assert offline.leader == -1 and offline.isr == (0,)
    unclean = elect_leader((0, 1, 2), (0,), {1, 2}, True)
    assert unclean == (1, (1,), True)


# -- Kafka 3.9's fetcher tests, ported to the truncation rule --------------------------------
# ReplicaFetcherThreadTest mocks the follower's log (endOffsetForEpoch's answers); here each
# mock becomes an epoch cache that gives exactly those answers.

def test_should_truncate_to_offset_specified_in_epoch_offset_response():
    # ReplicaFetcherThreadTest.shouldTruncateToOffsetSpecifiedInEpochOffsetResponse: the
    # follower (LEO 200, latest epoch 5) and the leader agree on epoch 5, which the leader
    # ended earlier
    follower = [(5, 100)]
    assert end_offset_for_epoch(follower, 5, 200) == (5, 200)
    assert truncation_offset(5, 156, follower, 200, 199) == (156, True)
    assert truncation_offset(5, 172, follower, 200, 199) == (172, True)


def test_should_truncate_to_offset_specified_in_epoch_offset_response_if_follower_has_no_more_epochs():
    # ReplicaFetcherThreadTest.shouldTruncateToOffsetSpecifiedInEpochOffsetResponseIfFollowerHasNoMoreEpochs:
    # the follower's log knows nothing of epoch 4 (its endOffsetForEpoch answers None: with a
    # real cache, an empty one): the leader's end offset, never above the follower's LEO
    assert end_offset_for_epoch([], 4, 200) == (UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET)
    assert truncation_offset(4, 156, [], 200, 197) == (156, True)
    assert truncation_offset(4, 202, [], 200, 197) == (200, True)


def test_should_truncate_if_leader_replies_with_diverging_epoch_not_known_to_follower():
    # ReplicaFetcherThreadTest.shouldTruncateIfLeaderRepliesWithDivergingEpochNotKnownToFollower
    # (its diverging epochs answer the same question OffsetForLeaderEpoch does), loop by loop:
    # loop 2: both know epoch 4, the follower's ends at 149, the leader's at 140
    follower = [(1, 100), (2, 119), (4, 129), (5, 149)]
    assert end_offset_for_epoch(follower, 4, 200) == (4, 149)
    assert truncation_offset(4, 140, follower, 200, 115) == (140, True)
    assert truncation_offset(4, 141, follower, 200, 115) == (141, True)
    # loop 3: epoch 3 is unknown to the follower: cut to where its epoch 2 ended, ask again
    follower = [(1, 100), (2, 119), (4, 129)]
    assert end_offset_for_epoch(follower, 3, 140) == (2, 129)
    assert truncation_offset(3, 130, follower, 140, 115) == (129, False)
    # loop 4: epoch 2 is unknown too (the mock's endOffsetForEpoch(2) is (119, epoch 1))
    follower = [(1, 100), (3, 119)]
    assert end_offset_for_epoch(follower, 2, 129) == (1, 119)
    assert truncation_offset(2, 120, follower, 129, 115) == (119, False)


def test_should_truncate_to_initial_fetch_offset_if_leader_returns_undefined_offset():
    # ReplicaFetcherThreadTest.shouldTruncateToInitialFetchOffsetIfLeaderReturnsUndefinedOffset
    # and AbstractFetcherThreadTest.testTruncateToHighWatermarkIfLeaderEpochInfoNotAvailable:
    # the initial fetch offset is the follower's high watermark
    assert truncation_offset(UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET, [(5, 50)], 120, 100) == (100, True)
    assert truncation_offset(UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET,
                             [(0, 0), (2, 1), (4, 2)], 3, 2) == (2, True)


def test_truncation_rounds_reconcile_diverged_logs():
    # AbstractFetcherThreadTest.testTruncation: the replica wrote epochs 0, 2, 4 at offsets 0,
    # 1, 2; the leader epochs 1, 3, 5. Asking for its latest epoch round after round, the
    # follower cuts back to 2, then 1, then 0, where the logs agree.
    from kafkadojo.reference.log import LeaderEpochCache
    leader = [(1, 0), (3, 1), (5, 2)]
    follower, leo, hw, cuts = LeaderEpochCache([(0, 0), (2, 1), (4, 2)]), 3, 0, []
    done = False
    while not done:
        epoch, end = end_offset_for_epoch(leader, follower.latest_epoch, 3)
        offset, done = truncation_offset(epoch, end, list(follower.entries), leo, hw)
        leo = min(leo, offset)
        follower.truncate_from_end(offset)
        cuts.append(offset)
    assert cuts == [2, 1, 0]
    assert follower.entries == [] and leo == 0
