"""Kafka's GroupCoordinatorTest (core/src/test/scala/unit/kafka/coordinator/group), the cases
the engine models, ported to the engine's coordinator. Each test names the Scala test it
comes from. Requests go straight to the coordinator's handlers; answers travel the network
with no latency, so the clock moves only when a test advances it, as Kafka's MockTimer."""

import pytest

from kafkadojo.reference import errors
from kafkadojo.reference.cluster import Cluster
from kafkadojo.reference.coordinator import (COMPLETING_REBALANCE, EMPTY, PREPARING_REBALANCE,
                                             STABLE, Subscription)

# GroupCoordinatorTest's constants
DEFAULT_REBALANCE_TIMEOUT = 500
DEFAULT_SESSION_TIMEOUT = 500
GROUP_INITIAL_REBALANCE_DELAY = 50
GROUP = "groupId"
PROTOCOLS = [("range", Subscription(("topic",), (), -1))]


class Client:
    """The node a request comes from (the network needs one to answer to)."""
    node_id = "client"
    alive = True
    incarnation = 0


class Coordinator:
    """One broker coordinating ``GROUP``; ``advance(ms)`` is MockTimer.advanceClock."""

    def __init__(self):
        self.cluster = Cluster(1, seed=1, config={
            "offsets.topic.num.partitions": 1,
            "group.min.session.timeout.ms": 10,
            "group.max.session.timeout.ms": 600_000,
            "group.initial.rebalance.delay.ms": GROUP_INITIAL_REBALANCE_DELAY})
        self.cluster.controller.handle_create_offsets_topic()
        self.cluster.run_for(2_000)
        self.cluster.network.min_latency_ms = self.cluster.network.max_latency_ms = 0
        self.broker = self.cluster.group_coordinator(GROUP)
        self.coordinator = self.broker.group_coordinator
        self.client = Client()

    def advance(self, ms):
        self.cluster.run_for(ms)

    def request(self, handler, *args):
        """Send a request; the returned list receives the answer when it comes."""
        answer = []
        getattr(self.coordinator, handler)(self.client, GROUP, *args, answer.append)
        self.cluster.run_for(0)
        return answer

    def send_join(self, member_id="", protocols=PROTOCOLS, instance=None,
                  session_timeout=DEFAULT_SESSION_TIMEOUT, rebalance_timeout=DEFAULT_REBALANCE_TIMEOUT):
        return self.request("handle_join_group", member_id, instance, "consumer-test",
                            session_timeout, rebalance_timeout, protocols)

    def join(self, member_id="", **kwargs):
        """dynamicJoinGroup: join, and wait out the initial delay."""
        answer = self.send_join(member_id, **kwargs)
        if not answer:
            self.advance(GROUP_INITIAL_REBALANCE_DELAY + 1)
        return answer[0]

    def sync(self, generation, member_id, assignments=None):
        return self.request("handle_sync_group", generation, member_id, None, assignments or {})

    def heartbeat(self, member_id, generation):
        return only(self.request("handle_heartbeat", generation, member_id, None))

    def commit(self, member_id, generation, offsets=None):
        answer = only(self.request("handle_offset_commit", generation, member_id, None,
                                   offsets or {("topic", 0): 0}))
        return {error_of(error) for error in answer.values()}

    def leave(self, member_id):
        return only(self.request("handle_leave_group", member_id, None))

    def state(self):
        return self.coordinator.group(GROUP).state

    def offsets(self):
        return self.coordinator.group(GROUP).offsets

    def stable_group_of_one(self, **kwargs):
        joined = self.join(**kwargs)
        assert joined.error is None
        synced = only(self.sync(joined.generation, joined.member_id, {joined.member_id: ()}))
        assert synced[0] is None and self.state() == STABLE
        return joined

    def join_with_n_members(self, n):
        """joinWithNMembers: n members join an empty group together."""
        answers = [self.send_join() for _ in range(n)]
        self.advance(GROUP_INITIAL_REBALANCE_DELAY * 2 + 1)    # one more delay: others arrived
        return [only(answer) for answer in answers]


def only(answer):
    assert len(answer) == 1, f"expected one answer, got {answer}"
    return answer[0]


def error_of(answer):
    return type(answer) if answer is not None else None


@pytest.fixture
def group():
    return Coordinator()


# -- JoinGroup ---------------------------------------------------------------------------------
def test_join_group_unknown_consumer_new_group(group):
    # testJoinGroupUnknownConsumerNewGroup: a member id the coordinator never gave out
    answer = only(group.send_join("memberId"))
    assert error_of(answer.error) is errors.UnknownMemberIdError


def test_join_group_session_timeout_too_small_and_too_large(group):
    # testJoinGroupSessionTimeoutTooSmall, testJoinGroupSessionTimeoutTooLarge
    for timeout in (9, 600_001):
        answer = only(group.send_join(session_timeout=timeout))
        assert error_of(answer.error) is errors.InvalidSessionTimeoutError


def test_generation_id_increments_on_rebalance(group):
    # testGenerationIdIncrementsOnRebalance: the leader's JoinGroup starts a rebalance at once
    joined = group.stable_group_of_one()
    assert joined.generation == 1
    again = only(group.send_join(joined.member_id))
    assert again.error is None and again.generation == 2


def test_join_group_from_unchanged_follower_does_not_rebalance(group):
    # testJoinGroupFromUnchangedFollowerDoesNotRebalance
    first = group.stable_group_of_one()
    other = group.send_join()
    rejoin = group.send_join(first.member_id)
    assert len(other) == len(rejoin) == 1        # everyone rejoined: complete at once
    other, rejoin = other[0], rejoin[0]
    assert other.generation == rejoin.generation == 2
    assert other.leader_id == rejoin.leader_id == first.member_id
    group.sync(2, first.member_id, {first.member_id: (), other.member_id: ()})
    assert group.state() == STABLE
    follower = only(group.send_join(other.member_id))   # same subscription, same owned
    assert follower.error is None and follower.generation == 2
    assert group.state() == STABLE


def test_join_group_from_changed_follower_rebalances(group):
    # the other branch of doCurrentMemberJoinGroup's Stable case: metadata changed
    first = group.stable_group_of_one()
    other = group.send_join()
    group.send_join(first.member_id)
    group.sync(2, first.member_id, {first.member_id: (), other[0].member_id: ()})
    changed = [("range", Subscription(("topic", "other"), (), 2))]
    assert group.send_join(other[0].member_id, protocols=changed) == []
    assert group.state() == PREPARING_REBALANCE


def test_join_group_from_unchanged_leader_should_rebalance(group):
    # testJoinGroupFromUnchangedLeaderShouldRebalance
    first = group.stable_group_of_one()
    again = only(group.send_join(first.member_id))
    assert again.error is None and again.generation != first.generation


def test_unchanged_member_rejoining_in_completing_rebalance_gets_the_generation(group):
    # doCurrentMemberJoinGroup, CompletingRebalance: a member that lost its JoinGroup answer
    # joins again with the same metadata and gets the current generation, without a rebalance
    joined = group.join()
    assert group.state() == COMPLETING_REBALANCE
    again = only(group.send_join(joined.member_id))
    assert again.generation == joined.generation and again.members == joined.members
    assert group.state() == COMPLETING_REBALANCE


# -- the initial rebalance delay ---------------------------------------------------------------
def test_should_delay_initial_rebalance_by_group_initial_rebalance_delay_on_empty_group(group):
    # shouldDelayInitialRebalanceByGroupInitialRebalanceDelayOnEmptyGroup
    first = group.send_join()
    group.advance(GROUP_INITIAL_REBALANCE_DELAY // 2)
    assert first == []
    group.advance(GROUP_INITIAL_REBALANCE_DELAY // 2 + 1)
    assert only(first).error is None


def test_should_reset_rebalance_delay_when_new_member_joins_group_in_initial_rebalance(group):
    # shouldResetRebalanceDelayWhenNewMemberJoinsGroupInInitialRebalance
    timeout = GROUP_INITIAL_REBALANCE_DELAY * 3
    first = group.send_join(rebalance_timeout=timeout)
    group.advance(GROUP_INITIAL_REBALANCE_DELAY - 1)
    second = group.send_join(rebalance_timeout=timeout)
    group.advance(2)
    group.advance(GROUP_INITIAL_REBALANCE_DELAY // 2 + 1)
    assert first == [] and second == []
    group.advance(GROUP_INITIAL_REBALANCE_DELAY // 2)
    assert only(first).error is None and only(second).error is None


def test_should_delay_rebalance_upto_rebalance_timeout(group):
    # shouldDelayRebalanceUptoRebalanceTimeout: members keep arriving, but the delay never
    # runs past the rebalance timeout
    timeout = GROUP_INITIAL_REBALANCE_DELAY * 2
    first = group.send_join(rebalance_timeout=timeout)
    second = group.send_join(rebalance_timeout=timeout)
    group.advance(GROUP_INITIAL_REBALANCE_DELAY + 1)
    third = group.send_join(rebalance_timeout=timeout)
    group.advance(GROUP_INITIAL_REBALANCE_DELAY - 2)
    assert first == second == third == []
    group.advance(1)
    assert all(only(answer).error is None for answer in (first, second, third))
    assert only(first).generation == 1 and len(only(first).members) == 3


# -- SyncGroup ---------------------------------------------------------------------------------
def test_sync_group_from_illegal_generation(group):
    # testSyncGroupFromIllegalGeneration
    joined = group.join()
    answer = only(group.sync(joined.generation + 1, joined.member_id))
    assert error_of(answer[0]) is errors.IllegalGenerationError


def test_sync_group_from_unknown_member(group):
    # testSyncGroupFromUnknownMember
    joined = group.stable_group_of_one()
    answer = only(group.sync(joined.generation, "invalidMember"))
    assert error_of(answer[0]) is errors.UnknownMemberIdError


def test_rebalance_times_out_when_sync_request_is_not_received(group):
    # testRebalanceTimesOutWhenSyncRequestIsNotReceived
    joined = group.join_with_n_members(3)
    group.advance(DEFAULT_REBALANCE_TIMEOUT // 2)
    assert all(group.heartbeat(j.member_id, j.generation) is None for j in joined)
    group.advance(DEFAULT_REBALANCE_TIMEOUT // 2 + 1)
    assert all(error_of(group.heartbeat(j.member_id, j.generation)) is errors.UnknownMemberIdError
               for j in joined)


def test_rebalance_times_out_when_sync_request_is_not_received_from_followers(group):
    # testRebalanceTimesOutWhenSyncRequestIsNotReceivedFromFollowers
    leader, *followers = group.join_with_n_members(3)
    group.advance(DEFAULT_REBALANCE_TIMEOUT // 2)
    assert all(group.heartbeat(j.member_id, j.generation) is None for j in [leader, *followers])
    everyone = {j.member_id: () for j in [leader, *followers]}
    assert only(group.sync(leader.generation, leader.member_id, everyone))[0] is None
    assert group.heartbeat(leader.member_id, leader.generation) is None
    group.advance(DEFAULT_REBALANCE_TIMEOUT // 2 + 1)
    assert error_of(group.heartbeat(leader.member_id, leader.generation)) is errors.RebalanceInProgressError
    for follower in followers:
        assert error_of(group.heartbeat(follower.member_id, follower.generation)) is errors.UnknownMemberIdError


def test_rebalance_times_out_when_sync_request_is_not_received_from_leaders(group):
    # testRebalanceTimesOutWhenSyncRequestIsNotReceivedFromLeaders
    leader, *followers = group.join_with_n_members(3)
    group.advance(DEFAULT_REBALANCE_TIMEOUT // 2)
    assert all(group.heartbeat(j.member_id, j.generation) is None for j in [leader, *followers])
    waiting = [group.sync(f.generation, f.member_id) for f in followers]
    assert all(answer == [] for answer in waiting)
    group.advance(DEFAULT_REBALANCE_TIMEOUT // 2 + 1)
    assert {error_of(only(answer)[0]) for answer in waiting} == {errors.RebalanceInProgressError}
    assert error_of(group.heartbeat(leader.member_id, leader.generation)) is errors.UnknownMemberIdError
    for follower in followers:
        assert error_of(group.heartbeat(follower.member_id, follower.generation)) is errors.RebalanceInProgressError


def test_rebalance_does_not_time_out_when_all_sync_are_received(group):
    # testRebalanceDoesNotTimeOutWhenAllSyncAreReceived
    leader, *followers = group.join_with_n_members(3)
    group.advance(DEFAULT_REBALANCE_TIMEOUT // 2)
    assert all(group.heartbeat(j.member_id, j.generation) is None for j in [leader, *followers])
    waiting = [group.sync(f.generation, f.member_id) for f in followers]
    everyone = {j.member_id: () for j in [leader, *followers]}
    assert only(group.sync(leader.generation, leader.member_id, everyone))[0] is None
    assert all(only(answer)[0] is None for answer in waiting)
    group.advance(DEFAULT_REBALANCE_TIMEOUT // 2 + 1)
    assert all(group.heartbeat(j.member_id, j.generation) is None for j in [leader, *followers])
    assert group.state() == STABLE


# -- static members ----------------------------------------------------------------------------
def static_members_join_and_rebalance(group, session_timeout=DEFAULT_SESSION_TIMEOUT):
    """staticMembersJoinAndRebalance: a static leader and follower form generation 1."""
    answers = [group.send_join(instance=i, session_timeout=session_timeout)
               for i in ("leader-instance-id", "follower-instance-id")]
    group.advance(GROUP_INITIAL_REBALANCE_DELAY + 1)
    group.advance(DEFAULT_REBALANCE_TIMEOUT + 1)
    leader, follower = (only(answer) for answer in answers)
    assert (leader.error, follower.error, leader.generation, follower.generation) == (None, None, 1, 1)
    assert only(group.sync(1, leader.member_id, {leader.member_id: ()}))[0] is None
    assert only(group.sync(1, follower.member_id))[0] is None
    assert group.state() == STABLE
    return leader, follower


def instance_ids(answer):
    return {instance for _, instance, _ in answer.members}


def test_static_member_follower_fail_to_rejoin_before_rebalance_timeout(group):
    # testStaticMemberFollowerFailToRejoinBeforeRebalanceTimeout: the follower (a long
    # session) is not removed when it misses the rebalance; it is in the new generation
    leader, follower = static_members_join_and_rebalance(group, DEFAULT_REBALANCE_TIMEOUT * 2)
    newcomer = group.send_join(instance="newMember")
    assert group.state() == PREPARING_REBALANCE
    rejoined = group.send_join(leader.member_id, instance="leader-instance-id")
    group.advance(DEFAULT_REBALANCE_TIMEOUT + 1)
    rejoined, newcomer = only(rejoined), only(newcomer)
    assert (rejoined.error, rejoined.generation, rejoined.leader_id) == (None, 2, leader.member_id)
    assert instance_ids(rejoined) == {"leader-instance-id", "follower-instance-id", "newMember"}
    assert (newcomer.error, newcomer.generation, newcomer.members) == (None, 2, ())
    assert newcomer.leader_id == leader.member_id and group.state() == COMPLETING_REBALANCE


def test_static_member_leader_fail_to_rejoin_before_rebalance_timeout(group):
    # testStaticMemberLeaderFailToRejoinBeforeRebalanceTimeout: a member that did rejoin
    # leads the new generation, which still has the absent leader in it
    leader, follower = static_members_join_and_rebalance(group, DEFAULT_REBALANCE_TIMEOUT * 2)
    newcomer = group.send_join(instance="newMember")
    group.advance(1)
    assert group.state() == PREPARING_REBALANCE
    rejoined = group.send_join(follower.member_id, instance="follower-instance-id")
    group.advance(DEFAULT_REBALANCE_TIMEOUT + 1)
    answers = [only(rejoined), only(newcomer)]
    new_leader = next(a for a in answers if a.member_id == a.leader_id)
    other = next(a for a in answers if a is not new_leader)
    assert {a.generation for a in answers} == {2} and {a.error for a in answers} == {None}
    assert new_leader.member_id != leader.member_id
    assert instance_ids(new_leader) == {"leader-instance-id", "follower-instance-id", "newMember"}
    assert other.members == () and other.leader_id == new_leader.member_id
    assert group.state() == COMPLETING_REBALANCE


def test_static_member_that_misses_the_rebalance_is_removed_when_it_sends_no_sync_group(group):
    # What follows the test above: in the new generation the absent follower owes a
    # SyncGroup like everyone (DelayedSync), and its session restarted at the join; the
    # first of the two to run out removes it (here the rebalance timeout, 500 ms)
    long_session = {"session_timeout": DEFAULT_REBALANCE_TIMEOUT * 2}
    leader, follower = static_members_join_and_rebalance(group, **long_session)
    newcomer = group.send_join(instance="newMember", **long_session)
    rejoined = group.send_join(leader.member_id, instance="leader-instance-id", **long_session)
    group.advance(DEFAULT_REBALANCE_TIMEOUT + 1)
    rejoined, newcomer = only(rejoined), only(newcomer)
    everyone = {m: () for m, _, _ in rejoined.members}
    assert only(group.sync(2, leader.member_id, everyone))[0] is None
    assert only(group.sync(2, newcomer.member_id))[0] is None
    group.advance(DEFAULT_REBALANCE_TIMEOUT - 2)
    assert follower.member_id in group.coordinator.group(GROUP).members
    group.advance(2)
    assert follower.member_id not in group.coordinator.group(GROUP).members
    assert group.state() == PREPARING_REBALANCE


def test_dynamic_member_that_misses_the_rebalance_is_removed_at_the_rebalance_timeout(group):
    # (onCompleteJoin: notYetRejoinedDynamicMembers)
    first = group.stable_group_of_one(session_timeout=DEFAULT_REBALANCE_TIMEOUT * 2)
    group.send_join()
    group.advance(DEFAULT_REBALANCE_TIMEOUT + 1)
    assert first.member_id not in group.coordinator.group(GROUP).members


# -- Heartbeat and sessions --------------------------------------------------------------------
def test_heartbeat_unknown_group(group):
    # testHeartbeatUnknownGroup
    assert error_of(group.heartbeat("memberId", -1)) is errors.UnknownMemberIdError


def test_heartbeat_illegal_generation(group):
    # testHeartbeatIllegalGeneration
    joined = group.stable_group_of_one()
    assert error_of(group.heartbeat(joined.member_id, 2)) is errors.IllegalGenerationError


def test_heartbeat_during_rebalance_causes_rebalance_in_progress(group):
    # testHeartbeatDuringRebalanceCausesRebalanceInProgress
    joined = group.join()
    group.send_join()
    assert error_of(group.heartbeat(joined.member_id, joined.generation)) is errors.RebalanceInProgressError


def test_session_timeout(group):
    # testSessionTimeout
    joined = group.stable_group_of_one()
    group.advance(DEFAULT_SESSION_TIMEOUT + 100)
    assert error_of(group.heartbeat(joined.member_id, 1)) is errors.UnknownMemberIdError


def test_session_expires_session_timeout_after_the_last_heartbeat():
    # DelayedHeartbeat: the deadline is session.timeout.ms after the last heartbeat, to the ms
    for silent in (DEFAULT_SESSION_TIMEOUT - 1, DEFAULT_SESSION_TIMEOUT):
        group = Coordinator()
        joined = group.stable_group_of_one()
        group.advance(123)
        assert group.heartbeat(joined.member_id, 1) is None
        group.advance(silent)
        members = group.coordinator.group(GROUP).members
        assert (joined.member_id in members) == (silent < DEFAULT_SESSION_TIMEOUT)


def test_heartbeat_maintains_session(group):
    # testHeartbeatMaintainsSession
    joined = group.stable_group_of_one(session_timeout=1_000, rebalance_timeout=1_000)
    group.advance(500)
    assert group.heartbeat(joined.member_id, 1) is None
    group.advance(600)
    assert group.heartbeat(joined.member_id, 1) is None


def test_commit_maintains_session(group):
    # testCommitMaintainsSession
    joined = group.stable_group_of_one(session_timeout=1_000, rebalance_timeout=1_000)
    group.advance(500)
    assert group.commit(joined.member_id, joined.generation) == {None}
    group.advance(600)
    assert group.heartbeat(joined.member_id, 1) is None


def test_session_timeout_during_rebalance(group):
    # testSessionTimeoutDuringRebalance: a member that has not rejoined must keep
    # heartbeating; when it stops, it is removed and the rebalance completes without it
    first = group.stable_group_of_one(session_timeout=1_000, rebalance_timeout=2_000)
    other = group.send_join()
    group.advance(500)
    assert error_of(group.heartbeat(first.member_id, 1)) is errors.RebalanceInProgressError
    group.advance(1_100)
    assert error_of(group.heartbeat(first.member_id, 1)) is errors.UnknownMemberIdError
    assert only(other).error is None and only(other).generation == 2


# -- OffsetCommit ------------------------------------------------------------------------------
def test_commit_offset_from_unknown_group(group):
    # testCommitOffsetFromUnknownGroup
    assert group.commit("memberId", 1) == {errors.IllegalGenerationError}


def test_commit_offset_with_default_generation(group):
    # testCommitOffsetWithDefaultGeneration
    assert group.commit("", -1) == {None}
    assert group.offsets() == {("topic", 0): 0}


def test_commit_offsets_after_group_is_empty(group):
    # testCommitOffsetsAfterGroupIsEmpty
    joined = group.join()
    assert group.leave(joined.member_id) is None
    assert group.commit("", -1) == {None}
    assert group.offsets() == {("topic", 0): 0}


def test_commit_offset_in_completing_rebalance(group):
    # testCommitOffsetInCompletingRebalance
    joined = group.join()
    assert group.commit(joined.member_id, joined.generation) == {
        errors.RebalanceInProgressError}


def test_commit_offset_in_completing_rebalance_from_unknown_member_id(group):
    # testCommitOffsetInCompletingRebalanceFromUnknownMemberId
    joined = group.join()
    assert group.commit("", joined.generation) == {errors.UnknownMemberIdError}


def test_commit_offset_in_completing_rebalance_from_illegal_generation(group):
    # testCommitOffsetInCompletingRebalanceFromIllegalGeneration
    joined = group.join()
    assert group.commit(joined.member_id, joined.generation + 1) == {
        errors.IllegalGenerationError}


def test_commit_offset_in_preparing_rebalance_is_accepted_and_counts_as_heartbeat(group):
    # doCommitOffsets, "case Stable | PreparingRebalance": a member of the current generation
    # commits what it gives up while the group waits for it to rejoin
    first = group.stable_group_of_one(session_timeout=1_000, rebalance_timeout=5_000)
    group.send_join()
    assert group.state() == PREPARING_REBALANCE
    group.advance(900)
    assert group.commit(first.member_id, first.generation, {("topic", 0): 42}) == {None}
    assert group.offsets() == {("topic", 0): 42}
    group.advance(900)                              # 1,800 ms since its last heartbeat
    assert first.member_id in group.coordinator.group(GROUP).members


def test_manual_commit_into_a_group_with_members_is_refused(group):
    # validateOffsetCommit: generation -1 and no member id, but the group is not empty
    group.stable_group_of_one()
    assert group.commit("", -1) == {errors.UnknownMemberIdError}


def test_leave_empties_the_group(group):
    # testValidLeaveGroup
    joined = group.stable_group_of_one()
    assert group.leave(joined.member_id) is None
    assert group.state() == EMPTY
