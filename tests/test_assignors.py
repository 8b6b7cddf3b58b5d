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


# -- sticky and cooperative-sticky ----------------------------------------------------------
from kafka.coordinator.assignors.sticky.sticky_assignor import (  # noqa: E402
    StickyAssignmentExecutor, StickyAssignorMemberMetadataV1)
from kafka.structs import TopicPartition  # noqa: E402

from kafkadojo.reference.assignors import (  # noqa: E402
    cooperative_sticky_assign, partitions_to_revoke, sticky_assign, valid_claims)


@st.composite
def previous_generation(draw, uniform=True):
    """A group whose members owned partitions in an earlier sticky generation, with some
    members gone and some new."""
    members, partitions = draw(groups())
    if uniform:
        members = [m._replace(topics=tuple(sorted(partitions))) for m in members]
    earlier = [m for m in members if draw(st.booleans())] or members[:1]
    before = sticky_assign(earlier, partitions)
    return [m._replace(owned=tuple(before.get(m.member_id, ())), generation=3) for m in members], partitions


def kafka_python_sticky(members, partitions):
    cluster = SimpleNamespace(topics=lambda: set(partitions),
                              partitions_for_topic=lambda t: set(range(partitions[t])))
    metadata = {m.member_id: StickyAssignorMemberMetadataV1(
        list(m.topics), [TopicPartition(t, p) for t, p in m.owned], m.generation) for m in members}
    executor = StickyAssignmentExecutor(cluster, metadata)
    executor.perform_initial_assignment()
    executor.balance()
    return {m.member_id: sorted((t, p) for t, ps in executor.get_final_assignment(m.member_id) for p in ps)
            for m in members}


def kept(members, assignment):
    return sum(1 for m in members for tp in m.owned if tp in assignment[m.member_id])


@settings(max_examples=200, deadline=None)
@given(previous_generation())
def test_sticky_balances_and_keeps_as_many_owners_as_kafka_python(group):
    members, partitions = group
    ours = sticky_assign(members, partitions)
    check_ownership(members, partitions, ours)
    counts = [len(owned) for owned in ours.values()]
    assert max(counts) - min(counts) <= 1
    theirs = kafka_python_sticky(members, partitions)
    assert sorted(counts) == sorted(len(owned) for owned in theirs.values())
    # Both keep the most a balanced assignment can keep (ours never keeps fewer).
    assert kept(members, ours) >= kept(members, theirs)


@settings(max_examples=200, deadline=None)
@given(previous_generation(uniform=False))
def test_sticky_with_mixed_subscriptions_is_balanced_as_kafka_defines_it(group):
    members, partitions = group
    ours = sticky_assign(members, partitions)
    check_ownership(members, partitions, ours)
    count = {m: len(owned) for m, owned in ours.items()}
    for member in members:
        for topic, _ in ours[member.member_id]:
            for other in members:
                assert not (topic in other.topics and count[other.member_id] + 1 < count[member.member_id])


def test_sticky_conflicting_claims_higher_generation_wins_same_generation_drops_both():
    newer = Member("a", ("t",), None, (("t", 0),), 5)
    older = Member("b", ("t",), None, (("t", 0), ("t", 1)), 4)
    assert valid_claims([newer, older], {"t": 2}) == {("t", 0): "a", ("t", 1): "b"}
    twin = Member("c", ("t",), None, (("t", 0),), 5)
    assert valid_claims([newer, twin], {"t": 2}) == {}
    gone = Member("d", ("u",), None, (("t", 0), ("u", 9)), 5)     # unsubscribed, no such partition
    assert valid_claims([gone], {"t": 2, "u": 1}) == {}


def test_sticky_a_new_member_takes_only_what_balance_requires():
    # AbstractStickyAssignorTest.testAddRemoveConsumerOneTopic, in spirit
    first = sticky_assign([Member("c1", ("t",))], {"t": 3})
    assert first == {"c1": [("t", 0), ("t", 1), ("t", 2)]}
    second = sticky_assign([Member("c1", ("t",), None, tuple(first["c1"]), 1), Member("c2", ("t",))], {"t": 3})
    assert second["c1"] == [("t", 0), ("t", 1)] and second["c2"] == [("t", 2)]
    third = sticky_assign([Member("c2", ("t",), None, tuple(second["c2"]), 2)], {"t": 3})
    assert third == {"c2": [("t", 0), ("t", 1), ("t", 2)]}


@settings(max_examples=200, deadline=None)
@given(previous_generation())
def test_cooperative_never_hands_out_a_partition_another_member_owns(group):
    members, partitions = group
    first_round = cooperative_sticky_assign(members, partitions)
    target = sticky_assign(members, partitions)
    owner = {tp: m.member_id for m in members for tp in m.owned}
    for member_id, owned in first_round.items():
        assert all(owner.get(tp, member_id) == member_id for tp in owned)
        assert set(owned) <= set(target[member_id])
    moving = {tp for member_id, owned in target.items() for tp in owned
              if owner.get(tp, member_id) != member_id}
    handed = {tp for owned in first_round.values() for tp in owned}
    assert handed | moving == {tp for owned in target.values() for tp in owned}
    for m in members:
        revoked = partitions_to_revoke(list(m.owned), first_round[m.member_id])
        assert set(revoked) == set(m.owned) - set(first_round[m.member_id])


def test_partitions_to_revoke():
    assert partitions_to_revoke([("t", 0), ("t", 1)], [("t", 1), ("t", 2)]) == [("t", 0)]
    assert partitions_to_revoke([], [("t", 1)]) == []
