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


@pytest.mark.parametrize("all_equal", [True, False])
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


# -- the general case: members subscribe to different topics ---------------------------------
# Kafka's GeneralAssignmentBuilder chooses by partition count, then member id (a TreeSet),
# so where these tests assert an exact result, the engine must give it too.

def verify_validity_and_balance(members, partitions, result):
    """AbstractStickyAssignorTest.verifyValidityAndBalance, as Kafka writes it: members only
    get partitions of their topics, no partition twice, and two members whose counts differ
    by two or more hold no partitions of a common topic."""
    assert set(result) == {m.member_id for m in members}
    topics = {m.member_id: set(m.topics) for m in members}
    names = sorted(result)
    for i, a in enumerate(names):
        assert all(t in topics[a] for t, _ in result[a]), f"{a} got a topic it does not read"
        for b in names[i + 1:]:
            assert not set(result[a]) & set(result[b]), f"{a} and {b} share partitions"
            if abs(len(result[a]) - len(result[b])) > 1:
                shared = {t for t, _ in result[a]} & {t for t, _ in result[b]}
                assert not shared, f"{sorted(shared)} could move between {a} and {b}"


def is_fully_balanced(result):
    counts = [len(owned) for owned in result.values()]
    return max(counts) - min(counts) <= 1


def is_sticky(members, partitions, result):
    """PartitionMovements.isSticky, seen from outside: no topic has partitions moving from
    one member to another and others moving back (owners judged by their valid claims)."""
    from kafkadojo.reference.assignors import valid_claims
    moved = {(tp[0], owner, new) for new, owned in result.items() for tp in owned
             for owner in [valid_claims(members, partitions).get(tp)] if owner not in (None, new)}
    return not any((topic, b, a) in moved for topic, a, b in moved)


def rejoined(members, result, generation=GENERATION):
    return [m._replace(owned=tuple(result[m.member_id]), generation=generation) for m in members]


def test_multiple_consumers_mixed_topic_subscriptions(assign):
    # testMultipleConsumersMixedTopicSubscriptions: topic2 (one subscriber) first; each
    # partition to the member with the fewest, ties to the smaller member id
    members = [member("consumer1", (T1,)), member("consumer2", (T1, T2)), member("consumer3", (T1,))]
    result = assign(members, {T1: 3, T2: 2})
    assert result == {"consumer1": [(T1, 0), (T1, 2)], "consumer2": [(T2, 0), (T2, 1)],
                      "consumer3": [(T1, 1)]}
    verify_validity_and_balance(members, {T1: 3, T2: 2}, result)
    assert is_fully_balanced(result)


def test_poor_round_robin_assignment_scenario(assign):
    # testPoorRoundRobinAssignmentScenario
    partitions = {f"topic{i}": i % 2 + 1 for i in range(1, 6)}
    every = tuple(partitions)
    odd = ("topic1", "topic3", "topic5")
    members = [member("consumer1", every), member("consumer2", odd), member("consumer3", odd),
               member("consumer4", every)]
    result = settle(assign, members, partitions)
    verify_validity_and_balance(members, partitions, result)
    assert sorted(map(len, result.values())) == [2, 2, 2, 2]


def test_add_remove_topic_two_consumers(assign):
    # testAddRemoveTopicTwoConsumers
    members = [member("consumer1", (T,)), member("consumer2", (T,))]
    first = assign(members, {T: 3})
    assert sorted(map(len, first.values())) == [1, 2]
    partitions = {T: 3, T2: 3}
    members = [m._replace(topics=(T, T2)) for m in rejoined(members, first)]
    second = settle(assign, members, partitions)
    verify_validity_and_balance(members, partitions, second)
    assert sorted(map(len, second.values())) == [3, 3]
    assert all(set(first[m]) <= set(second[m]) for m in first)
    partitions = {T2: 3}
    members = [m._replace(topics=(T2,)) for m in rejoined(members, second)]
    third = settle(assign, members, partitions)
    verify_validity_and_balance(members, partitions, third)
    assert sorted(map(len, third.values())) == [1, 2]
    assert all(set(third[m]) <= set(second[m]) for m in third)


def test_topic_balance_after_reassignment(assign):
    # testTopicBalanceAfterReassignment: every member holds as many of each topic
    every = (T1, T2)
    partitions = {T1: 12, T2: 12}
    members = [member("consumer1", every)]
    for joining, per_topic in ((["consumer2"], 6), (["consumer3", "consumer4"], 3)):
        result = assign(members, partitions)
        members = rejoined(members, result) + [member(m, every) for m in joining]
        result = settle(assign, members, partitions)
        verify_validity_and_balance(members, partitions, result)
        for owned in result.values():
            assert [t for t, _ in owned].count(T1) == [t for t, _ in owned].count(T2) == per_topic
    members = rejoined(members, result)[2:]         # consumer1 and consumer2 leave
    result = settle(assign, members, partitions)
    for owned in result.values():
        assert [t for t, _ in owned].count(T1) == [t for t, _ in owned].count(T2) == 6


def test_reassignment_after_one_consumer_leaves(assign):
    # testReassignmentAfterOneConsumerLeaves: consumer i reads topics 1..i
    partitions = {f"t{i:02}": i for i in range(1, 20)}
    members = [member(f"c{i:02}", [f"t{j:02}" for j in range(1, i + 1)], (), -1)
               for i in range(1, 20)]
    first = settle(assign, members, partitions)
    verify_validity_and_balance(members, partitions, first)
    members = [m for m in rejoined(members, first) if m.member_id != "c10"]
    second = settle(assign, members, partitions)
    verify_validity_and_balance(members, partitions, second)
    assert is_sticky(members, partitions, assign(members, partitions))


def test_reassignment_after_one_consumer_added(assign):
    # testReassignmentAfterOneConsumerAdded
    members = [member(f"c{i:02}", (T,), (), -1) for i in range(1, 10)]
    first = assign(members, {T: 20})
    verify_validity_and_balance(members, {T: 20}, first)
    members = [member(m, (T,), (), -1) for m in first] + [member("c10", (T,), (), -1)]
    verify_validity_and_balance(members, {T: 20}, assign(members, {T: 20}))


def test_same_subscriptions(assign):
    # testSameSubscriptions
    partitions = {f"t{i:02}": i for i in range(1, 15)}
    members = [member(f"c{i}", tuple(partitions), (), -1) for i in range(1, 9)]
    first = assign(members, partitions)
    verify_validity_and_balance(members, partitions, first)
    members = [m for m in rejoined(members, first) if m.member_id != "c5"]
    second = settle(assign, members, partitions)
    verify_validity_and_balance(members, partitions, second)


def test_subscription_not_equal_and_assign_same_partition_with_3_generations(assign):
    # testSubscriptionNotEqualAndAssignSamePartitionWith3Generation
    partitions = {T: 6, T1: 1}
    for g1, g2, g3 in ((1, 2, 3), (1, 3, 2), (2, 1, 3), (2, 3, 1), (3, 1, 2), (3, 2, 1)):
        members = [member("consumer1", (T,), [(T, 0), (T, 2)], g1),
                   member("consumer2", (T,), [(T, 1), (T, 2), (T, 3)], g2),
                   member("consumer3", (T,), [(T, 2), (T, 4), (T, 5)], g3),
                   member("consumer4", (T1,), [(T1, 0)], 2)]
        result = assign(members, partitions)
        handed = [tp for owned in result.values() for tp in owned]
        assert len(handed) == len(set(handed))
        if assign is sticky_assign:
            assert all(1 <= len(owned) <= 2 for owned in result.values())


def test_new_subscription(assign):
    # testNewSubscription: c0 reads nothing, c1 t1, c2 t2..t4; then c0 subscribes to t1
    partitions = {f"t{i}": 1 for i in range(1, 5)}
    members = [member(f"c{i}", [f"t{j}" for j in range(i, 3 * i - 1)], (), -1) for i in range(3)]
    first = assign(members, partitions)
    verify_validity_and_balance(members, partitions, first)
    members = rejoined(members, first)
    members[0] = members[0]._replace(topics=("t1",))
    second = settle(assign, members, partitions)
    verify_validity_and_balance(members, partitions, second)
    assert is_sticky(members, partitions, assign(members, partitions))


def test_move_existing_assignments(assign):
    # testMoveExistingAssignments
    partitions = {f"topic{i}": 1 for i in range(1, 7)}
    members = [member("consumer1", ("topic1", "topic2"), [("topic1", 0)]),
               member("consumer2", ("topic1", "topic2", "topic3", "topic4"),
                      [("topic2", 0), ("topic3", 0)]),
               member("consumer3", ("topic2", "topic3", "topic4", "topic5", "topic6"),
                      [("topic4", 0), ("topic5", 0), ("topic6", 0)])]
    result = settle(assign, members, partitions)
    verify_validity_and_balance(members, partitions, result)


def test_stickiness(assign):
    # testStickiness: three partitions, four members; the leader leaves
    members = [member(f"consumer{i}", (T1,), (), -1) for i in range(1, 5)]
    first = assign(members, {T1: 3})
    assert all(len(owned) <= 1 for owned in first.values())
    members = rejoined(members, first)[1:]
    second = assign(members, {T1: 3})
    for m in members:
        assert len(second[m.member_id]) == 1
        assert set(first[m.member_id]) <= set(second[m.member_id])


def test_assignment_updated_for_deleted_topic(assign):
    # testAssignmentUpdatedForDeletedTopic: topic2 does not exist
    result = assign([member("consumer", (T1, T2, T3), (), -1)], {T1: 1, T3: 100})
    assert len(result["consumer"]) == 101


def test_no_exception_thrown_when_only_subscribed_topic_deleted(assign):
    # testNoExceptionThrownWhenOnlySubscribedTopicDeleted
    first = assign([member("consumer", (T,), (), -1)], {T: 3})
    assert assign([member("consumer", (T,), first["consumer"])], {}) == {"consumer": []}


def test_schema_backward_compatibility(assign):
    # StickyAssignorTest.testSchemaBackwardCompatibility: consumer2's claims come without a
    # generation (an old user-data schema)
    members = [member("consumer1", (T,), [(T, 0), (T, 2)], 1),
               member("consumer2", (T,), [(T, 1)], -1), member("consumer3", (T,), (), -1)]
    result = settle(assign, members, {T: 3})
    assert sorted(map(len, result.values())) == [1, 1, 1]
    assert set(result["consumer1"]) <= {(T, 0), (T, 2)} and result["consumer2"] == [(T, 1)]


def test_assignor_with_old_version_subscriptions(assign):
    # StickyAssignorTest.testAssignorWithOldVersionSubscriptions
    members = [member("consumer1", (T1,), [(T1, 0)]), member("consumer2", (T1,), [(T1, 1)]),
               member("consumer3", (T1,))]
    assert assign(members, {T1: 3}) == {"consumer1": [(T1, 0)], "consumer2": [(T1, 1)],
                                         "consumer3": [(T1, 2)]}


def random_rounds(rounds, seed, max_topics=20, max_consumers=40):
    """testReassignmentWithRandomSubscriptionsAndChanges (and, with more consumers,
    testLargeAssignmentWithMultipleConsumersLeavingAndRandomSubscription): random
    subscriptions, an assignment, then new random subscriptions with what each owns."""
    import random
    rng = random.Random(seed)
    for _ in range(rounds):
        topics = [f"t{i:02}" for i in range(rng.randint(10, max_topics - 1))]
        partitions = {t: i + 1 for i, t in enumerate(topics)}

        def sublist():
            kept = list(topics)
            for _ in range(rng.randrange(len(topics))):
                kept.pop(rng.randrange(len(kept)))
            return sorted(kept)
        names = [f"c{i:02}" for i in range(rng.randint(20, max_consumers - 1))]
        yield partitions, [member(c, sublist(), (), -1) for c in names], sublist


@pytest.mark.parametrize("seed", range(3))
def test_reassignment_with_random_subscriptions_and_changes(assign, seed):
    # testReassignmentWithRandomSubscriptionsAndChanges, 3 seeded rounds of Kafka's 100
    # (all of them: test_reassignment_with_random_subscriptions_and_changes_soak)
    for partitions, members, sublist in random_rounds(1, seed):
        first = settle(assign, members, partitions)
        verify_validity_and_balance(members, partitions, first)
        members = [m._replace(topics=tuple(sublist())) for m in rejoined(members, first)]
        result = assign(members, partitions)
        assert is_sticky(members, partitions, result)
        verify_validity_and_balance(members, partitions, settle(assign, members, partitions))


@pytest.mark.soak
def test_reassignment_with_random_subscriptions_and_changes_soak(assign):
    for seed in range(100):
        test_reassignment_with_random_subscriptions_and_changes(assign, seed)
