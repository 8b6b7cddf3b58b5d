"""Kafka's tests of the ISR and leader election rules, ported to the engine's functions.

ReplicaTest and PartitionTest (core/src/test/scala/unit/kafka/cluster) drive a ``Replica``
and a ``Partition`` object; here the same steps go through ``isr.last_caught_up_time``,
``is_caught_up``, ``out_of_sync_replicas``, ``can_join_isr`` and ``acks_all_accepted``,
with ``KafkaReplicaState`` below holding what Kafka's ``ReplicaState`` holds. The election
cases come from PartitionLeaderElectionAlgorithmsTest (the ZooKeeper controller) and
PartitionChangeBuilderTest (KRaft's), which agree on the rule the engine models."""

from kafkadojo.reference import isr, replication
from kafkadojo.reference.broker import FollowerState
from kafkadojo.reference.election import NO_LEADER, elect_leader

LAG_MAX_MS = 30_000          # ReplicationConfigs.REPLICA_LAG_TIME_MAX_MS_DEFAULT
UNKNOWN_OFFSET = -1          # UnifiedLog.UnknownOffset
START_MS = 1_700_000_000_000  # MockTime starts at the wall clock


class KafkaReplicaState:
    """ReplicaState, updated as Replica.updateFetchStateOrThrow and resetReplicaState do."""

    def __init__(self, leo=UNKNOWN_OFFSET, last_caught_up_ms=0, last_fetch_leader_leo=0,
                 last_fetch_ms=0):
        # ReplicaState.Empty: lastFetchLeaderLogEndOffset 0, lastFetchTimeMs 0
        self.leo = leo
        self.last_caught_up_ms = last_caught_up_ms
        self.last_fetch_leader_leo = last_fetch_leader_leo
        self.last_fetch_ms = last_fetch_ms

    @classmethod
    def for_new_leader(cls, now, in_sync):
        """resetReplicaState(isNewLeader = true)"""
        return cls(UNKNOWN_OFFSET, now if in_sync else 0, UNKNOWN_OFFSET, 0)

    def fetch(self, fetch_offset, now, leader_leo):
        self.last_caught_up_ms = isr.last_caught_up_time(
            fetch_offset, now, leader_leo, self.last_caught_up_ms, self.last_fetch_leader_leo,
            self.last_fetch_ms)
        self.leo = fetch_offset
        self.last_fetch_leader_leo = max(leader_leo, self.last_fetch_leader_leo)
        self.last_fetch_ms = now

    def is_caught_up(self, leader_leo, now):
        return isr.is_caught_up(self.leo, leader_leo, self.last_caught_up_ms, now, LAG_MAX_MS)


# -- ReplicaTest ------------------------------------------------------------------------------

def test_update_fetch_state():
    """ReplicaTest.testUpdateFetchState (MockTime does not tick: every fetch at one time)"""
    replica = KafkaReplicaState()
    replica.fetch(5, START_MS, leader_leo=10)
    assert (replica.leo, replica.last_caught_up_ms, replica.last_fetch_leader_leo) == (5, 0, 10)
    replica.fetch(10, START_MS, leader_leo=15)
    assert (replica.leo, replica.last_caught_up_ms, replica.last_fetch_leader_leo) == (10, START_MS, 15)
    replica.fetch(15, START_MS, leader_leo=15)
    assert (replica.leo, replica.last_caught_up_ms, replica.last_fetch_leader_leo) == (15, START_MS, 15)


def test_update_fetch_state_with_time_passing():
    """ReplicaTest.testUpdateFetchState's steps a second apart: reaching the LEO the leader had
    at the previous fetch dates the catch-up to that fetch; reaching today's LEO, to now."""
    replica = KafkaReplicaState()
    replica.fetch(5, START_MS, leader_leo=10)
    replica.fetch(10, START_MS + 1_000, leader_leo=15)
    assert replica.last_caught_up_ms == START_MS
    replica.fetch(15, START_MS + 2_000, leader_leo=15)
    assert replica.last_caught_up_ms == START_MS + 2_000


def test_is_caught_up_when_replica_is_caught_up_to_log_end():
    """ReplicaTest.testIsCaughtUpWhenReplicaIsCaughtUpToLogEnd"""
    replica = KafkaReplicaState()
    assert not replica.is_caught_up(10, START_MS)
    replica.fetch(10, START_MS, leader_leo=10)
    assert replica.is_caught_up(10, START_MS)
    assert replica.is_caught_up(10, START_MS + LAG_MAX_MS + 1)     # at the LEO: no lag


def test_is_caught_up_when_replica_is_not_caught_up_to_log_end():
    """ReplicaTest.testIsCaughtUpWhenReplicaIsNotCaughtUpToLogEnd"""
    replica = KafkaReplicaState()
    assert not replica.is_caught_up(10, START_MS)
    replica.fetch(5, START_MS, leader_leo=10)
    assert not replica.is_caught_up(10, START_MS)
    replica.fetch(10, START_MS, leader_leo=15)
    assert replica.is_caught_up(16, START_MS)
    assert not replica.is_caught_up(16, START_MS + LAG_MAX_MS + 1)


def test_lag_bound_is_inclusive():
    """ReplicaState.isCaughtUp: currentTimeMs - lastCaughtUpTimeMs <= replicaMaxLagMs"""
    assert isr.is_caught_up(5, 10, START_MS, START_MS + LAG_MAX_MS, LAG_MAX_MS)
    assert not isr.is_caught_up(5, 10, START_MS, START_MS + LAG_MAX_MS + 1, LAG_MAX_MS)


def test_reset_replica_state_when_new_leader_is_elected():
    """ReplicaTest.testResetReplicaStateWhenNewLeaderIsElectedAndReplicaIsInSync and
    ...AndReplicaIsNotInSync, as the engine's leader keeps its followers (FollowerState):
    the LEO is unknown, the last caught-up time is now for an ISR member, else 0. (Kafka
    sets lastFetchTimeMs to 0 where the engine says -1; both are below any caught-up time,
    so the next fetch computes the same.) The engine treats every election as a new leader:
    ReplicaTest's re-elected cases, which keep the follower's LEO, are not modelled."""
    in_sync, not_in_sync = FollowerState(START_MS), FollowerState(0)
    assert (in_sync.leo, in_sync.last_caught_up_ms, in_sync.last_fetch_leader_leo) == (
        UNKNOWN_OFFSET, START_MS, UNKNOWN_OFFSET)
    assert (not_in_sync.leo, not_in_sync.last_caught_up_ms) == (UNKNOWN_OFFSET, 0)


# -- PartitionTest ----------------------------------------------------------------------------

def test_follower_does_not_join_isr_until_caught_up_to_offset_within_current_leader_epoch():
    """PartitionTest.testFollowerDoesNotJoinISRUntilCaughtUpToOffsetWithinCurrentLeaderEpoch:
    5 records in epoch 8 (HW 1), leader again in epoch 10 from offset 5."""
    high_watermark, epoch_start_offset = 1, 5
    assert not isr.can_join_isr(0, high_watermark, epoch_start_offset)
    assert not isr.can_join_isr(1, high_watermark, epoch_start_offset)   # at the HW, not enough
    assert isr.can_join_isr(5, high_watermark, epoch_start_offset)


def test_isr_expansion():
    """PartitionTest.testIsrExpansion: 10 records, a new leader (epoch start 10) alone in
    the ISR; its follower fetches from 3 (not in sync), then from 10 (joins)."""
    follower = KafkaReplicaState.for_new_leader(START_MS, in_sync=False)
    high_watermark = epoch_start_offset = leader_leo = 10
    follower.fetch(3, START_MS, leader_leo)
    assert follower.last_caught_up_ms == 0 and follower.leo == 3
    assert not isr.can_join_isr(follower.leo, high_watermark, epoch_start_offset)
    follower.fetch(10, START_MS, leader_leo)
    assert follower.last_caught_up_ms == START_MS
    assert isr.can_join_isr(follower.leo, high_watermark, epoch_start_offset)


def test_maybe_shrink_isr():
    """PartitionTest.testMaybeShrinkIsr: ISR 0, 1, 2; follower 1 fetches to the leader's LEO,
    follower 2 never fetches. On initialization both count as caught up; past
    replica.lag.time.max.ms only follower 2 is out of sync."""
    leader_leo = 10
    followers = {1: KafkaReplicaState.for_new_leader(START_MS, in_sync=True),
                 2: KafkaReplicaState.for_new_leader(START_MS, in_sync=True)}
    followers[1].fetch(leader_leo, START_MS, leader_leo)

    def out_of_sync(now):
        states = {r: (s.leo, s.last_caught_up_ms) for r, s in followers.items()}
        return isr.out_of_sync_replicas([0, 1, 2], 0, states, leader_leo, now, LAG_MAX_MS)

    assert out_of_sync(START_MS) == []
    assert out_of_sync(START_MS + LAG_MAX_MS + 1) == [2]


def test_should_not_shrink_isr_if_previous_fetch_is_caught_up():
    """PartitionTest.testShouldNotShrinkIsrIfPreviousFetchIsCaughtUp"""
    follower = KafkaReplicaState.for_new_leader(START_MS, in_sync=True)
    first_fetch_ms = START_MS + 5_000
    follower.fetch(5, first_fetch_ms, leader_leo=10)
    assert follower.last_caught_up_ms == START_MS
    now = first_fetch_ms + 5_001
    follower.fetch(10, now, leader_leo=15)       # 5 more records; it reached the old end
    assert follower.last_caught_up_ms == first_fetch_ms
    assert isr.out_of_sync_replicas([0, 1], 0, {1: (follower.leo, follower.last_caught_up_ms)},
                                    15, now, LAG_MAX_MS) == []


def test_should_not_shrink_isr_if_follower_caught_up_to_log_end():
    """PartitionTest.testShouldNotShrinkIsrIfFollowerCaughtUpToLogEnd"""
    follower = KafkaReplicaState.for_new_leader(START_MS, in_sync=True)
    follower.fetch(10, START_MS, leader_leo=10)
    assert follower.last_caught_up_ms == START_MS
    later = START_MS + 30_001
    assert isr.out_of_sync_replicas([0, 1], 0, {1: (follower.leo, follower.last_caught_up_ms)},
                                    10, later, LAG_MAX_MS) == []


def test_a_follower_the_leader_knows_nothing_of_is_out_of_sync():
    """Partition.isFollowerOutOfSync: getReplica(replicaId).fold(true)"""
    assert isr.out_of_sync_replicas([0, 7], 0, {}, 10, START_MS, LAG_MAX_MS) == [7]


def test_is_under_min_isr():
    """PartitionTest.testIsUnderMinIsr (min.insync.replicas=2, two replicas) and
    testAtMinIsr (default min.insync.replicas=1, ISR of one out of three): acks=all is
    refused exactly when the ISR is under the effective minimum."""
    assert isr.acks_all_accepted(isr_size=2, min_insync_replicas=2, replication_factor=2)
    assert not isr.acks_all_accepted(isr_size=1, min_insync_replicas=2, replication_factor=2)
    assert isr.acks_all_accepted(isr_size=1, min_insync_replicas=1, replication_factor=3)


def test_effective_min_isr_is_capped_at_the_replication_factor():
    """Partition.effectiveMinIsr: minInSyncReplicas.min(remoteReplicasMap.size + 1)"""
    assert isr.effective_min_isr(3, 2) == 2
    assert isr.acks_all_accepted(isr_size=2, min_insync_replicas=3, replication_factor=2)
    assert not isr.acks_all_accepted(isr_size=1, min_insync_replicas=3, replication_factor=2)


def test_high_watermark_advance_should_not_advance_when_under_min_isr():
    """PartitionTest.testHighWatermarkAdvanceShouldNotAdvanceWhenUnderMinISR: min ISR 3, ISR
    of 2; both followers at the LEO (the maximal ISR is 3) and still no HW until the ISR
    really is 3."""
    assert replication.next_high_watermark(0, 10, [10], 2, 3) == 0
    assert replication.next_high_watermark(0, 10, [10, 10], 2, 3) == 0
    assert replication.next_high_watermark(0, 10, [10, 10], 3, 3) == 10


def test_acks_all_after_the_isr_shrank():
    """Partition.checkEnoughReplicasReachOffset: committed, but under the minimum once the
    records reached the HW, the answer is NOT_ENOUGH_REPLICAS_AFTER_APPEND."""
    assert isr.acks_all_outcome(5, 6, 3, 2) is None
    assert isr.acks_all_outcome(6, 6, 2, 2) == "ok"
    assert isinstance(isr.acks_all_outcome(6, 6, 1, 2),
                      isr.NotEnoughReplicasAfterAppendError)


# -- elections ----------------------------------------------------------------------------------

def test_offline_partition_leader_election():
    """PartitionLeaderElectionAlgorithmsTest.testOfflinePartitionLeaderElection"""
    assert elect_leader((2, 4), (2, 4), {4}, False) == (4, (4,), False)


def test_offline_partition_leader_election_last_isr_offline_unclean_disabled():
    """PartitionLeaderElectionAlgorithmsTest.
    testOfflinePartitionLeaderElectionLastIsrOfflineUncleanLeaderElectionDisabled"""
    election = elect_leader((2, 4), (2,), {4}, False)
    assert election.leader == NO_LEADER and not election.unclean
    assert election.isr == (2,)      # an ISR never becomes empty (KRaft without ELR)


def test_offline_partition_leader_election_last_isr_offline_unclean_enabled():
    """PartitionLeaderElectionAlgorithmsTest.
    testOfflinePartitionLeaderElectionLastIsrOfflineUncleanLeaderElectionEnabled; the ISR is
    just the new leader (Election.leaderForOffline: List(leader))"""
    assert elect_leader((2, 4), (2,), {4}, True) == (4, (4,), True)


def test_elect_leader_kraft():
    """PartitionChangeBuilderTest.testElectLeader, the cases where the leader must change:
    replicas 2, 1, 3 with broker 3 fenced; FOO's current leader 1 is gone here, so the ISR
    1, 3 gives 1, the ISR 3 gives no leader (clean) or 2 (unclean), and with replica 4
    added and in the ISR, 4 is a clean choice even when unclean is allowed."""
    live = {1, 2, 4}
    assert elect_leader((2, 1, 3), (1, 3), live, False) == (1, (1,), False)
    assert elect_leader((2, 1, 3), (1, 3), live, True) == (1, (1,), False)
    assert elect_leader((2, 1, 3), (3,), live, False).leader == NO_LEADER
    assert elect_leader((2, 1, 3), (3,), live, True) == (2, (2,), True)
    assert elect_leader((2, 1, 3, 4), (4,), live, True) == (4, (4,), False)


def test_unclean_leader_election_kraft():
    """PartitionChangeBuilderTest.testUncleanLeaderElection: FOO with ISR 3 -> leader 2, ISR
    [2]; OFFLINE (replicas 2, 1, 3, ISR 3, only 1 acceptable) -> leader 1, ISR [1]."""
    assert elect_leader((2, 1, 3), (3,), {1, 2}, True) == (2, (2,), True)
    assert elect_leader((2, 1, 3), (3,), {1}, True) == (1, (1,), True)


def test_clean_election_follows_assignment_order_not_isr_order():
    """offlinePartitionLeaderElection: assignment.find(id => live && isr.contains(id)); the
    ISR's own order (here 1 before 0) does not matter, and it is kept as it was."""
    assert elect_leader((2, 0, 1), (1, 0, 2), {0, 1}, False) == (0, (1, 0), False)
