"""Kafka's RoundRobinAssignorTest (clients/src/test/java/org/apache/kafka/clients/consumer),
ported. Each test names the Java test it comes from."""

from kafkadojo.reference.assignors import Member, round_robin_assign

TOPIC1, TOPIC2 = "topic1", "topic2"


def test_one_consumer_no_topic():
    # testOneConsumerNoTopic
    assert round_robin_assign([Member("consumer", ())], {}) == {"consumer": []}


def test_one_consumer_nonexistent_topic():
    # testOneConsumerNonexistentTopic
    assert round_robin_assign([Member("consumer", ("topic",))], {}) == {"consumer": []}


def test_one_consumer_one_topic():
    # testOneConsumerOneTopic
    assert round_robin_assign([Member("consumer", ("topic",))], {"topic": 3}) == {
        "consumer": [("topic", 0), ("topic", 1), ("topic", 2)]}


def test_only_assigns_partitions_from_subscribed_topics():
    # testOnlyAssignsPartitionsFromSubscribedTopics
    assert round_robin_assign([Member("consumer", ("topic",))], {"topic": 3, "other": 3}) == {
        "consumer": [("topic", 0), ("topic", 1), ("topic", 2)]}


def test_one_consumer_multiple_topics():
    # testOneConsumerMultipleTopics
    assert round_robin_assign([Member("consumer", (TOPIC1, TOPIC2))], {TOPIC1: 1, TOPIC2: 2}) == {
        "consumer": [(TOPIC1, 0), (TOPIC2, 0), (TOPIC2, 1)]}


def test_two_consumers_one_topic_one_partition():
    # testTwoConsumersOneTopicOnePartition
    members = [Member("consumer1", ("topic",)), Member("consumer2", ("topic",))]
    assert round_robin_assign(members, {"topic": 1}) == {"consumer1": [("topic", 0)], "consumer2": []}


def test_two_consumers_one_topic_two_partitions():
    # testTwoConsumersOneTopicTwoPartitions
    members = [Member("consumer1", ("topic",)), Member("consumer2", ("topic",))]
    assert round_robin_assign(members, {"topic": 2}) == {"consumer1": [("topic", 0)],
                                                          "consumer2": [("topic", 1)]}


def test_multiple_consumers_mixed_topics():
    # testMultipleConsumersMixedTopics
    members = [Member("consumer1", (TOPIC1,)), Member("consumer2", (TOPIC1, TOPIC2)),
               Member("consumer3", (TOPIC1,))]
    assert round_robin_assign(members, {TOPIC1: 3, TOPIC2: 2}) == {
        "consumer1": [(TOPIC1, 0)], "consumer2": [(TOPIC1, 1), (TOPIC2, 0), (TOPIC2, 1)],
        "consumer3": [(TOPIC1, 2)]}


def test_two_dynamic_consumers_two_topics_six_partitions():
    # testTwoDynamicConsumersTwoTopicsSixPartitions
    members = [Member("consumer1", (TOPIC1, TOPIC2)), Member("consumer2", (TOPIC1, TOPIC2))]
    assert round_robin_assign(members, {TOPIC1: 3, TOPIC2: 3}) == {
        "consumer1": [(TOPIC1, 0), (TOPIC1, 2), (TOPIC2, 1)],
        "consumer2": [(TOPIC1, 1), (TOPIC2, 0), (TOPIC2, 2)]}


def test_two_static_consumers_two_topics_six_partitions():
    # testTwoStaticConsumersTwoTopicsSixPartitions: ordered by instance id, not member id
    members = [Member("consumer-b", (TOPIC1, TOPIC2), "instance1"),
               Member("consumer-a", (TOPIC1, TOPIC2), "instance2")]
    assert round_robin_assign(members, {TOPIC1: 3, TOPIC2: 3}) == {
        "consumer-b": [(TOPIC1, 0), (TOPIC1, 2), (TOPIC2, 1)],
        "consumer-a": [(TOPIC1, 1), (TOPIC2, 0), (TOPIC2, 2)]}


def test_one_static_consumer_and_one_dynamic_consumer_two_topics_six_partitions():
    # testOneStaticConsumerAndOneDynamicConsumerTwoTopicsSixPartitions: static ones first
    members = [Member("consumer-b", (TOPIC1, TOPIC2), "instance1"),
               Member("consumer-a", (TOPIC1, TOPIC2))]
    assert round_robin_assign(members, {TOPIC1: 3, TOPIC2: 3}) == {
        "consumer-b": [(TOPIC1, 0), (TOPIC1, 2), (TOPIC2, 1)],
        "consumer-a": [(TOPIC1, 1), (TOPIC2, 0), (TOPIC2, 2)]}


def test_static_member_round_robin_assignment_persistent():
    # testStaticMemberRoundRobinAssignmentPersistent
    static = [Member(f"consumer{i}", (TOPIC1, TOPIC2), f"instance{i}") for i in (1, 2, 3)]
    expected = {"consumer1": [(TOPIC1, 0), (TOPIC2, 1)], "consumer2": [(TOPIC1, 1), (TOPIC2, 2)],
                "consumer3": [(TOPIC1, 2)]}
    for dynamic in ("consumer4", "consumer5"):       # a new dynamic member replaces the old
        assert round_robin_assign(static + [Member(dynamic, (TOPIC1, TOPIC2))],
                                  {TOPIC1: 3, TOPIC2: 3}) == {**expected, dynamic: [(TOPIC2, 0)]}


def test_static_member_round_robin_assignment_persistent_after_member_id_changes():
    # testStaticMemberRoundRobinAssignmentPersistentAfterMemberIdChanges
    partitions = {TOPIC1: 5, TOPIC2: 5}
    members = [Member(f"consumer{i}", (TOPIC1, TOPIC2), f"instance{i}") for i in (1, 2, 3)]

    def by_instance(group):
        assignment = round_robin_assign(group, partitions)
        return {m.group_instance_id: assignment[m.member_id] for m in group}

    before = by_instance(members)
    assert before == {"instance1": [(TOPIC1, 0), (TOPIC1, 3), (TOPIC2, 1), (TOPIC2, 4)],
                      "instance2": [(TOPIC1, 1), (TOPIC1, 4), (TOPIC2, 2)],
                      "instance3": [(TOPIC1, 2), (TOPIC2, 0), (TOPIC2, 3)]}
    renamed = [members[0], members[1]._replace(member_id="consumer5"),
               members[2]._replace(member_id="consumer4")]
    assert by_instance(renamed) == before
