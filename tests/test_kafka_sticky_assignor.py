"""Kafka's sticky assignor tests (clients/src/test/java/org/apache/kafka/clients/consumer:
AbstractStickyAssignorTest, run there for both StickyAssignorTest and
CooperativeStickyAssignorTest, and StickyAssignorTest's own cases), ported where the
engine models the rule (no racks). Each test names the Java test it comes from.

Kafka checks each result with verifyValidityAndBalance and isFullyBalanced; for the
cooperative assignor, verifyValidityAndBalance first runs follow-up rebalances until
nothing is revoked any more (``settle`` below). Where Kafka's choice among equally good
answers depends on Java hash-map order, Kafka's tests assert only those properties, and so
do these."""

import pytest

from kafkadojo.reference.assignors import (Member, cooperative_sticky_assign,
                                           partitions_to_revoke, sticky_assign)

T, T1, T2, T3 = "topic", "topic1", "topic2", "topic3"
GENERATION = 1          # AbstractStickyAssignorTest.generationId
ASSIGNORS = {"sticky": sticky_assign, "cooperative-sticky": cooperative_sticky_assign}


def settle(assign, members, partitions):
    """Kafka's verifyValidityAndBalance for the cooperative assignor: while a round hands
    out less than everything (partitions held back until their owners revoke them), the
    members rejoin owning what they were given, and the assignor runs again."""
    result = assign(members, partitions)
    for _ in range(4):
        if assign is sticky_assign or not any(
                partitions_to_revoke(m.owned, result[m.member_id]) for m in members) and \
                sum(map(len, result.values())) == len(subscribed(members, partitions)):
            return result
        members = [m._replace(owned=tuple(result[m.member_id]), generation=GENERATION)
                   for m in members]
        result = assign(members, partitions)
    raise AssertionError("more than 4 follow-up rebalances")


def subscribed(members, partitions):
    return {(t, p) for m in members for t in m.topics if t in partitions
            for p in range(partitions[t])}


def check_valid_and_balanced(members, partitions, result):
    """verifyValidityAndBalance and isFullyBalanced."""
    owners = {}
    for member in members:
        for topic, partition in result[member.member_id]:
            assert topic in member.topics, f"{member.member_id} does not subscribe to {topic}"
            assert (topic, partition) not in owners, f"{topic}-{partition} assigned twice"
            owners[(topic, partition)] = member.member_id
    assert set(owners) == subscribed(members, partitions)
    count = {m.member_id: len(result[m.member_id]) for m in members}
    for member in members:
        for topic, _ in result[member.member_id]:
            assert not [o for o in members if topic in o.topics
                        and count[o.member_id] + 1 < count[member.member_id]]
    if len({tuple(sorted(m.topics)) for m in members}) == 1:
        assert max(count.values()) - min(count.values()) <= 1


def member(name, topics, owned=(), generation=GENERATION):
    return Member(name, tuple(topics), None, tuple(owned), generation)


@pytest.fixture(params=sorted(ASSIGNORS))
def assign(request):
    return ASSIGNORS[request.param]


def test_consumer_owning_min_quota_expected_max_quota(assign):
    # testConsumerOwningMinQuotaExpectedMaxQuota
    partitions = {T1: 2, T2: 3}
    members = [member("consumer1", (T1, T2), [(T1, 0), (T2, 1)]),
               member("consumer2", (T1, T2), [(T1, 1), (T2, 2)])]
    result = assign(members, partitions)        # nothing changes owner: no second round
    assert sorted(result["consumer1"]) == sorted([(T1, 0), (T2, 1), (T2, 0)])
    assert result["consumer2"] == [(T1, 1), (T2, 2)]
    check_valid_and_balanced(members, partitions, result)


def test_max_quota_consumer_more_than_num_expected_max_capacity_members(assign):
    # testMaxQuotaConsumerMoreThanNumExpectedMaxCapacityMembers: only one of the two owners
    # may keep two partitions; the other keeps its lowest partition number and its other
    # partition moves to consumer3 (partitionsTransferringOwnership), which the cooperative
    # assignor holds back for one round. Kafka's test expects consumer2 to be the one that
    # keeps two: Kafka visits members in hash-map order, the engine in member order, so
    # here consumer1 keeps two and consumer2 gives up topic2-1.
    partitions = {T1: 2, T2: 2}
    members = [member("consumer1", (T1, T2), [(T1, 0), (T2, 0)]),
               member("consumer2", (T1, T2), [(T1, 1), (T2, 1)]),
               member("consumer3", (T1, T2))]
    if assign is cooperative_sticky_assign:
        assert assign(members, partitions)["consumer3"] == []
    result = settle(assign, members, partitions)
    assert result == {"consumer1": [(T1, 0), (T2, 0)], "consumer2": [(T1, 1)],
                      "consumer3": [(T2, 1)]}
    check_valid_and_balanced(members, partitions, result)


def test_all_consumers_are_under_min_quota(assign):
    # testAllConsumersAreUnderMinQuota
    partitions = {T1: 2, T2: 3}
    members = [member("consumer1", (T1, T2), [(T1, 0)]), member("consumer2", (T1, T2), [(T1, 1)]),
               member("consumer3", (T1, T2))]
    result = assign(members, partitions)
    assert result == {"consumer1": [(T1, 0), (T2, 1)], "consumer2": [(T1, 1), (T2, 2)],
                      "consumer3": [(T2, 0)]}
    check_valid_and_balanced(members, partitions, result)


def test_all_consumers_reach_expected_quota_and_are_considered_filled(assign):
    # testAllConsumersReachExpectedQuotaAndAreConsideredFilled
    partitions = {T: 4}
    members = [member("consumer1", (T,), [(T, 0), (T, 1)]), member("consumer2", (T,), [(T, 2)]),
               member("consumer3", (T,))]
    result = assign(members, partitions)
    assert result == {"consumer1": [(T, 0), (T, 1)], "consumer2": [(T, 2)], "consumer3": [(T, 3)]}
    check_valid_and_balanced(members, partitions, result)


def test_ensure_partitions_assigned_to_highest_generation(assign):
    # testEnsurePartitionsAssignedToHighestGeneration
    partitions = {T: 3, T2: 3, T3: 3}
    every = (T, T2, T3)
    members = [member("consumer1", every, [(T, 0), (T2, 0), (T3, 0)], 10),
               member("consumer2", every, [(T, 1), (T2, 1), (T3, 1)], 9),
               member("consumer3", every, [(T2, 1), (T3, 0), (T3, 2)], 8)]
    result = assign(members, partitions)        # nothing moves from a valid owner
    assert result == {"consumer1": [(T, 0), (T2, 0), (T3, 0)],
                      "consumer2": [(T, 1), (T2, 1), (T3, 1)],
                      "consumer3": [(T, 2), (T2, 2), (T3, 2)]}
    check_valid_and_balanced(members, partitions, result)


def test_no_reassignment_on_current_members(assign):
    # testNoReassignmentOnCurrentMembers: undisputed claims count whatever their generation
    partitions = {T: 3, T1: 3, T2: 3, T3: 3}
    every = (T, T2, T3, T1)
    members = [member("consumer1", every, (), -1),
               member("consumer2", every, [(T, 0), (T2, 0), (T1, 0)], 9),
               member("consumer3", every, [(T3, 2), (T2, 2), (T1, 1)], 8),
               member("consumer4", every, [(T3, 1), (T, 1), (T, 2)], 7)]
    result = assign(members, partitions)
    assert sorted(result["consumer1"]) == [(T1, 2), (T2, 1), (T3, 0)]
    for m in members[1:]:
        assert sorted(result[m.member_id]) == sorted(m.owned)
    check_valid_and_balanced(members, partitions, result)


def test_owned_partitions_are_invalidated_for_consumer_with_multiple_generation(assign):
    # testOwnedPartitionsAreInvalidatedForConsumerWithMultipleGeneration
    partitions = {T: 3, T2: 3}
    members = [member("consumer1", (T, T2), [(T, 0), (T2, 1), (T, 1)], 10),
               member("consumer2", (T, T2), [(T, 0), (T2, 1), (T2, 2)], 8)]
    result = assign(members, partitions)
    assert sorted(result["consumer1"]) == sorted([(T, 0), (T2, 1), (T, 1)])
    assert sorted(result["consumer2"]) == sorted([(T, 2), (T2, 2), (T2, 0)])
    check_valid_and_balanced(members, partitions, result)


@pytest.mark.parametrize("all_equal", [True, False])
def test_assignment_with_multiple_generations1(all_equal):
    # StickyAssignorTest.testAssignmentWithMultipleGenerations1
    partitions = {T: 6, T2: 6}
    every = (T, T2)
    topics2 = every if all_equal else (T,)
    r1 = sticky_assign([member("consumer1", every, (), -1), member("consumer2", topics2, (), -1),
                        member("consumer3", every, (), -1)], partitions)
    assert sorted(map(len, r1.values())) == [4, 4, 4]
    members = [member("consumer1", every, r1["consumer1"]), member("consumer2", topics2, r1["consumer2"])]
    r2 = sticky_assign(members, partitions)
    assert sorted(map(len, r2.values())) == [6, 6]
    if all_equal:
        assert set(r1["consumer1"]) <= set(r2["consumer1"])
    assert set(r1["consumer2"]) <= set(r2["consumer2"])
    assert set(r2["consumer2"]) & set(r1["consumer3"])
    check_valid_and_balanced(members, partitions, r2)
    members = [member("consumer2", topics2, r2["consumer2"], 2),
               member("consumer3", every, r1["consumer3"], 1)]
    r3 = sticky_assign(members, partitions)
    assert sorted(map(len, r3.values())) == [6, 6]
    assert not set(r3["consumer2"]) & set(r3["consumer3"])
    check_valid_and_balanced(members, partitions, r3)


@pytest.mark.parametrize("all_equal", [True, pytest.param(False, marks=pytest.mark.xfail(
    strict=True, reason="a known divergence: with different subscriptions the engine moves "
                        "a partition only to a member with two fewer, never along a chain "
                        "of members, and ends at 3/4/5 where Kafka reaches 4/4/4"))])
def test_assignment_with_multiple_generations2(all_equal):
    # StickyAssignorTest.testAssignmentWithMultipleGenerations2
    partitions = {T: 4, T2: 4, T3: 4}
    every = (T, T2, T3)
    topics1 = every if all_equal else (T,)
    topics3 = every if all_equal else (T, T2)
    r1 = sticky_assign([member("consumer1", topics1, (), -1), member("consumer2", every, (), -1),
                        member("consumer3", topics3, (), -1)], partitions)
    assert sorted(map(len, r1.values())) == [4, 4, 4]
    r2 = sticky_assign([member("consumer2", every, r1["consumer2"], 1)], partitions)
    assert len(r2["consumer2"]) == 12 and set(r1["consumer2"]) <= set(r2["consumer2"])
    members = [member("consumer1", topics1, r1["consumer1"], 1),
               member("consumer2", every, r2["consumer2"], 2),
               member("consumer3", topics3, r1["consumer3"], 1)]
    r3 = sticky_assign(members, partitions)
    assert sorted(map(len, r3.values())) == [4, 4, 4]
    check_valid_and_balanced(members, partitions, r3)


@pytest.mark.parametrize("all_equal", [True, False])
def test_assignment_with_conflicting_previous_generations(all_equal):
    # StickyAssignorTest.testAssignmentWithConflictingPreviousGenerations
    partitions = {T: 4, T2: 4, T3: 4}
    every = (T, T2, T3)
    topics1 = every if all_equal else (T,)
    topics2 = every if all_equal else (T, T2)
    c1 = ([(T, 0), (T, 1), (T, 2), (T2, 2), (T2, 3), (T3, 0)] if all_equal
          else [(T, 0), (T, 1), (T, 2), (T, 3)])
    c2 = [(T, 0), (T, 1), (T2, 0), (T2, 1), (T2, 2), (T2, 3)]
    c3 = [(T, 2), (T, 3), (T3, 0), (T3, 1), (T3, 2), (T3, 3)]
    members = [member("consumer1", topics1, c1, 1), member("consumer2", topics2, c2, 2),
               member("consumer3", every, c3, 2)]
    result = sticky_assign(members, partitions)
    assert sorted(map(len, result.values())) == [4, 4, 4]
    assert set(result["consumer2"]) <= set(c2) and set(result["consumer3"]) <= set(c3)
    check_valid_and_balanced(members, partitions, result)


def test_uniform_subscription_transfer_ownership_list_is_right():
    # CooperativeStickyAssignorTest.testUniformSubscriptionTransferOwnershipListIsRight,
    # without racks: two balanced owners keep everything, so nothing is held back
    members = [member("c0", (T1,), [(T1, 0), (T1, 1)]), member("c1", (T1,), [(T1, 2), (T1, 3)])]
    assert cooperative_sticky_assign(members, {T1: 4}) == sticky_assign(members, {T1: 4}) == {
        "c0": [(T1, 0), (T1, 1)], "c1": [(T1, 2), (T1, 3)]}
