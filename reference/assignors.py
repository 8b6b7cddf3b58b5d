"""Partition assignors: who in a consumer group reads which partitions.

The group leader (one of the consumers) runs an assignor over every member's subscription
and hands the result back through the coordinator. Kafka's results are exact and
deterministic, so every client library must agree with them; these follow Kafka's
``RangeAssignor`` and ``RoundRobinAssignor`` (without rack awareness).

Members are ordered as Kafka's ``MemberInfo.compareTo`` orders them: static members (those
with a ``group.instance.id``) first, by that id, then dynamic members by member id. A
static member keeps its place across restarts, and so keeps its partitions.
"""

from typing import NamedTuple


class Member(NamedTuple):
    member_id: str
    topics: tuple                       # its subscription
    group_instance_id: str | None = None


def member_order(member):
    """Sort key: static members by group.instance.id, then dynamic ones by member id."""
    if member.group_instance_id is not None:
        return (0, member.group_instance_id, member.member_id)
    return (1, member.member_id, "")


def range_assign(members, partitions_per_topic):
    """Kafka's RangeAssignor: topic by topic, the members subscribed to it (in member
    order) get contiguous ranges of its partitions; with P partitions and C members each
    gets P // C, and the first P % C get one more.

    ``partitions_per_topic`` maps topic -> number of partitions. Returns
    ``{member_id: [(topic, partition), ...]}`` (sorted), with an entry for every member."""
    assignment = {member.member_id: [] for member in members}
    for topic in sorted(partitions_per_topic):
        consumers = sorted((m for m in members if topic in m.topics), key=member_order)
        if not consumers:
            continue
        count = partitions_per_topic[topic]
        per_member, extra = divmod(count, len(consumers))
        for i, member in enumerate(consumers):
            start = per_member * i + min(i, extra)
            length = per_member + (1 if i < extra else 0)
            assignment[member.member_id] += [(topic, p) for p in range(start, start + length)]
    return {member_id: sorted(owned) for member_id, owned in assignment.items()}


def round_robin_assign(members, partitions_per_topic):
    """Kafka's RoundRobinAssignor: every (topic, partition) of every subscribed topic, in
    sorted order, dealt to the members in member order, skipping members that are not
    subscribed to the partition's topic."""
    ordered = sorted(members, key=member_order)
    assignment = {member.member_id: [] for member in members}
    subscribed = sorted({t for m in members for t in m.topics if t in partitions_per_topic})
    turn = 0
    for topic in subscribed:
        for partition in range(partitions_per_topic[topic]):
            while topic not in ordered[turn % len(ordered)].topics:
                turn += 1
            assignment[ordered[turn % len(ordered)].member_id].append((topic, partition))
            turn += 1
    return assignment


ASSIGNORS = {"range": range_assign, "roundrobin": round_robin_assign}
