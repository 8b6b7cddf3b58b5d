"""Kafka's RangeAssignorTest (clients/src/test/java/org/apache/kafka/clients/consumer),
ported: the cases without racks (the engine's assignors are not rack-aware), and the
expected plain-range results of the rack tests (what Kafka gives when racks do not apply).
Each test names the Java test it comes from."""

from kafkadojo.reference.assignors import Member, range_assign

TOPIC1, TOPIC2 = "topic1", "topic2"


def tps(text):
    """``"t1-0, t2-3"`` -> ``[("t1", 0), ("t2", 3)]``, as Kafka's toSortedString writes them."""
    pairs = [item.strip().rsplit("-", 1) for item in text.split(",") if item.strip()]
    return sorted((topic, int(partition)) for topic, partition in pairs)


def test_one_consumer_no_topic():
    # testOneConsumerNoTopic
    assert range_assign([Member("consumer1", ())], {}) == {"consumer1": []}


def test_one_consumer_nonexistent_topic():
    # testOneConsumerNonexistentTopic
    assert range_assign([Member("consumer1", (TOPIC1,))], {}) == {"consumer1": []}


def test_one_consumer_one_topic():
    # testOneConsumerOneTopic
    assert range_assign([Member("consumer1", (TOPIC1,))], {TOPIC1: 3}) == {
        "consumer1": tps("topic1-0, topic1-1, topic1-2")}


def test_only_assigns_partitions_from_subscribed_topics():
    # testOnlyAssignsPartitionsFromSubscribedTopics
    assert range_assign([Member("consumer1", (TOPIC1,))], {TOPIC1: 3, "other": 3}) == {
        "consumer1": tps("topic1-0, topic1-1, topic1-2")}


def test_one_consumer_multiple_topics():
    # testOneConsumerMultipleTopics
    assert range_assign([Member("consumer1", (TOPIC1, TOPIC2))], {TOPIC1: 1, TOPIC2: 2}) == {
        "consumer1": tps("topic1-0, topic2-0, topic2-1")}


def test_two_consumers_one_topic_one_partition():
    # testTwoConsumersOneTopicOnePartition
    members = [Member("consumer1", (TOPIC1,)), Member("consumer2", (TOPIC1,))]
    assert range_assign(members, {TOPIC1: 1}) == {"consumer1": [(TOPIC1, 0)], "consumer2": []}


def test_two_consumers_one_topic_two_partitions():
    # testTwoConsumersOneTopicTwoPartitions
    members = [Member("consumer1", (TOPIC1,)), Member("consumer2", (TOPIC1,))]
    assert range_assign(members, {TOPIC1: 2}) == {"consumer1": [(TOPIC1, 0)],
                                                   "consumer2": [(TOPIC1, 1)]}


def test_multiple_consumers_mixed_topics():
    # testMultipleConsumersMixedTopics
    members = [Member("consumer1", (TOPIC1,)), Member("consumer2", (TOPIC1, TOPIC2)),
               Member("consumer3", (TOPIC1,))]
    assert range_assign(members, {TOPIC1: 3, TOPIC2: 2}) == {
        "consumer1": tps("topic1-0"), "consumer2": tps("topic1-1, topic2-0, topic2-1"),
        "consumer3": tps("topic1-2")}


def test_two_consumers_two_topics_six_partitions():
    # testTwoConsumersTwoTopicsSixPartitions
    members = [Member("consumer1", (TOPIC1, TOPIC2)), Member("consumer2", (TOPIC1, TOPIC2))]
    assert range_assign(members, {TOPIC1: 3, TOPIC2: 3}) == {
        "consumer1": tps("topic1-0, topic1-1, topic2-0, topic2-1"),
        "consumer2": tps("topic1-2, topic2-2")}


def test_two_static_consumers_two_topics_six_partitions():
    # testTwoStaticConsumersTwoTopicsSixPartitions: ordered by instance id, not member id
    members = [Member("consumer-b", (TOPIC1, TOPIC2), "instance1"),
               Member("consumer-a", (TOPIC1, TOPIC2), "instance2")]
    assert range_assign(members, {TOPIC1: 3, TOPIC2: 3}) == {
        "consumer-b": tps("topic1-0, topic1-1, topic2-0, topic2-1"),
        "consumer-a": tps("topic1-2, topic2-2")}


def test_one_static_consumer_and_one_dynamic_consumer_two_topics_six_partitions():
    # testOneStaticConsumerAndOneDynamicConsumerTwoTopicsSixPartitions: static ones first
    members = [Member("consumer-b", (TOPIC1, TOPIC2), "instance1"),
               Member("consumer-a", (TOPIC1, TOPIC2))]
    assert range_assign(members, {TOPIC1: 3, TOPIC2: 3}) == {
        "consumer-b": tps("topic1-0, topic1-1, topic2-0, topic2-1"),
        "consumer-a": tps("topic1-2, topic2-2")}


def test_static_member_range_assignment_persistent():
    # testStaticMemberRangeAssignmentPersistent
    static = [Member(f"consumer{i}", (TOPIC1, TOPIC2), f"instance{i}") for i in (1, 2, 3)]
    expected = {"consumer1": tps("topic1-0, topic1-1, topic2-0"),
                "consumer2": tps("topic1-2, topic2-1"), "consumer3": tps("topic1-3, topic2-2")}
    for dynamic in ("consumer4", "consumer5"):       # a new dynamic member replaces the old
        assert range_assign(static + [Member(dynamic, (TOPIC1, TOPIC2))], {TOPIC1: 5, TOPIC2: 4}) == {
            **expected, dynamic: tps("topic1-4, topic2-3")}


def by_instance(members, assignment):
    return {m.group_instance_id: assignment[m.member_id] for m in members}


def test_static_member_range_assignment_persistent_after_member_id_changes():
    # testStaticMemberRangeAssignmentPersistentAfterMemberIdChanges
    partitions = {TOPIC1: 5, TOPIC2: 5}
    members = [Member(f"consumer{i}", (TOPIC1, TOPIC2), f"instance{i}") for i in (1, 2, 3)]
    before = by_instance(members, range_assign(members, partitions))
    assert before == {"instance1": tps("topic1-0, topic1-1, topic2-0, topic2-1"),
                      "instance2": tps("topic1-2, topic1-3, topic2-2, topic2-3"),
                      "instance3": tps("topic1-4, topic2-4")}
    renamed = [members[0], members[1]._replace(member_id="consumer5"),
               members[2]._replace(member_id="consumer4")]
    assert by_instance(renamed, range_assign(renamed, partitions)) == before


def check_plain_range(partitions, consumer_topics, expected):
    """verifyRackAssignment where racks play no part: consumers named consumer0, 1, ..."""
    members = [Member(f"consumer{i}", tuple(topics)) for i, topics in enumerate(consumer_topics)]
    assert range_assign(members, partitions) == {
        f"consumer{i}": tps(text) for i, text in enumerate(expected)}


def test_rack_aware_assignment_with_uniform_subscription_without_racks():
    # testRackAwareAssignmentWithUniformSubscription (verifyNonRackAwareAssignment)
    every = ("t1", "t2", "t3")
    check_plain_range({"t1": 6, "t2": 7, "t3": 2}, [every] * 3, [
        "t1-0, t1-1, t2-0, t2-1, t2-2, t3-0", "t1-2, t1-3, t2-3, t2-4, t3-1", "t1-4, t1-5, t2-5, t2-6"])


def test_rack_aware_assignment_with_non_equal_subscription_without_racks():
    # testRackAwareAssignmentWithNonEqualSubscription (verifyNonRackAwareAssignment)
    every = ("t1", "t2", "t3")
    check_plain_range({"t1": 6, "t2": 7, "t3": 2}, [every, every, ("t1", "t3")], [
        "t1-0, t1-1, t2-0, t2-1, t2-2, t2-3, t3-0", "t1-2, t1-3, t2-4, t2-5, t2-6, t3-1", "t1-4, t1-5"])


def test_rack_aware_assignment_with_uniform_partitions_without_racks():
    # testRackAwareAssignmentWithUniformPartitions (verifyNonRackAwareAssignment)
    every = ("t1", "t2", "t3")
    check_plain_range({"t1": 5, "t2": 5, "t3": 5}, [every] * 3, [
        "t1-0, t1-1, t2-0, t2-1, t3-0, t3-1", "t1-2, t1-3, t2-2, t2-3, t3-2, t3-3", "t1-4, t2-4, t3-4"])


def test_rack_aware_assignment_with_uniform_partitions_non_equal_subscription_without_racks():
    # testRackAwareAssignmentWithUniformPartitionsNonEqualSubscription (verifyNonRackAwareAssignment)
    every = ("t1", "t2", "t3")
    check_plain_range({"t1": 5, "t2": 5, "t3": 5}, [every, every, ("t1", "t3")], [
        "t1-0, t1-1, t2-0, t2-1, t2-2, t3-0, t3-1", "t1-2, t1-3, t2-3, t2-4, t3-2, t3-3", "t1-4, t3-4"])


def test_rack_aware_assignment_with_co_partitioning_without_racks():
    # testRackAwareAssignmentWithCoPartitioning (its nonRackAwareAssignment cases)
    partitions = {"t1": 6, "t2": 6, "t3": 2, "t4": 2}
    check_plain_range(partitions, [("t1", "t2"), ("t1", "t2"), ("t3", "t4"), ("t3", "t4")], [
        "t1-0, t1-1, t1-2, t2-0, t2-1, t2-2", "t1-3, t1-4, t1-5, t2-3, t2-4, t2-5",
        "t3-0, t4-0", "t3-1, t4-1"])
    check_plain_range(partitions, [("t1", "t2", "t3", "t4")] * 4, [
        "t1-0, t1-1, t2-0, t2-1, t3-0, t4-0", "t1-2, t1-3, t2-2, t2-3, t3-1, t4-1",
        "t1-4, t2-4", "t1-5, t2-5"])


def test_co_partitioned_assignment_with_same_subscription_without_racks():
    # testCoPartitionedAssignmentWithSameSubscription (nonRackAwareAssignment): t7..t9 do not exist
    topics = tuple(f"t{i}" for i in range(1, 10))
    check_plain_range({"t1": 6, "t2": 6, "t3": 2, "t4": 2, "t5": 4, "t6": 4}, [topics] * 3, [
        "t1-0, t1-1, t2-0, t2-1, t3-0, t4-0, t5-0, t5-1, t6-0, t6-1",
        "t1-2, t1-3, t2-2, t2-3, t3-1, t4-1, t5-2, t6-2",
        "t1-4, t1-5, t2-4, t2-5, t5-3, t6-3"])
