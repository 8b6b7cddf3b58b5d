"""Assignors against kafka-python's (an independent implementation of Kafka's rules), and
Kafka's invariants: every subscribed partition owned by exactly one subscribed member."""

from types import SimpleNamespace

from hypothesis import given, settings, strategies as st
from kafka.coordinator.assignors.range import RangePartitionAssignor
from kafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor

from kafkadojo.reference.assignors import Member, range_assign, round_robin_assign

TOPICS = ("a", "b", "c", "d")


@st.composite
def groups(draw, static=False):
    partitions = {t: draw(st.integers(1, 7)) for t in draw(st.sets(st.sampled_from(TOPICS), min_size=1))}
    ids = draw(st.lists(st.text("xyz0123", min_size=1, max_size=4), min_size=1, max_size=6, unique=True))
    members = []
    for member_id in ids:
        topics = tuple(sorted(draw(st.sets(st.sampled_from(sorted(partitions)), min_size=1))))
        instance = f"instance-{draw(st.integers(0, 99)):02d}-{member_id}" if static else None
        members.append(Member(member_id, topics, instance))
    return members, partitions


def oracle(assignor, members, partitions):
    cluster = SimpleNamespace(partitions_for_topic=lambda t: set(range(partitions[t])))
    theirs = assignor.assign(cluster, [
        SimpleNamespace(member_id=m.member_id, group_instance_id=m.group_instance_id,
                        metadata=SimpleNamespace(topics=list(m.topics))) for m in members])
    return {member_id: sorted((topic, p) for topic, ps in assignment.assignment for p in ps)
            for member_id, assignment in theirs.items()}


def check_ownership(members, partitions, assignment):
    owners = {}
    for member_id, owned in assignment.items():
        member = next(m for m in members if m.member_id == member_id)
        for topic, partition in owned:
            assert topic in member.topics, f"{member_id} got {topic} without subscribing"
            assert (topic, partition) not in owners, f"{topic}-{partition} owned twice"
            owners[(topic, partition)] = member_id
    subscribed = {t for m in members for t in m.topics}
    assert set(owners) == {(t, p) for t in subscribed for p in range(partitions[t])}


@settings(max_examples=300, deadline=None)
@given(st.one_of(groups(), groups(static=True)))
def test_range_matches_kafka_python(group):
    members, partitions = group
    ours = range_assign(members, partitions)
    assert ours == oracle(RangePartitionAssignor, members, partitions)
    check_ownership(members, partitions, ours)


@settings(max_examples=300, deadline=None)
@given(st.one_of(groups(), groups(static=True)))
def test_round_robin_matches_kafka_python(group):
    # kafka-python's round robin crashes when a member skips a topic (it mixes up member
    # tuples and ids), so it is an oracle for uniform subscriptions; mixed ones are checked
    # against Kafka's own test below.
    members, partitions = group
    members = [m._replace(topics=tuple(sorted(partitions))) for m in members]
    ours = round_robin_assign(members, partitions)
    assert ours == oracle(RoundRobinPartitionAssignor, members, partitions)
    check_ownership(members, partitions, ours)


@settings(max_examples=300, deadline=None)
@given(st.one_of(groups(), groups(static=True)))
def test_round_robin_owns_every_partition_once_and_balances_uniform_groups(group):
    members, partitions = group
    ours = round_robin_assign(members, partitions)
    check_ownership(members, partitions, ours)
    if len({m.topics for m in members}) == 1:
        counts = [len(owned) for owned in ours.values()]
        assert max(counts) - min(counts) <= 1


def test_round_robin_mixed_subscriptions_as_kafkas_test():
    # RoundRobinAssignorTest.testMultipleConsumersMixedTopics
    members = [Member("consumer1", ("topic1",)), Member("consumer2", ("topic1", "topic2")),
               Member("consumer3", ("topic1",))]
    assert round_robin_assign(members, {"topic1": 3, "topic2": 2}) == {
        "consumer1": [("topic1", 0)],
        "consumer2": [("topic1", 1), ("topic2", 0), ("topic2", 1)],
        "consumer3": [("topic1", 2)]}


def test_static_members_come_first_whatever_their_member_ids():
    members = [Member("a-dynamic", ("t",)), Member("z-static", ("t",), "instance-1")]
    assert range_assign(members, {"t": 3}) == {"z-static": [("t", 0), ("t", 1)],
                                              "a-dynamic": [("t", 2)]}


def test_range_gives_the_first_members_the_extra_partitions_per_topic():
    members = [Member("m1", ("t", "u")), Member("m2", ("t", "u"))]
    assert range_assign(members, {"t": 3, "u": 3}) == {
        "m1": [("t", 0), ("t", 1), ("u", 0), ("u", 1)], "m2": [("t", 2), ("u", 2)]}
