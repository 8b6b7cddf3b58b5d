"""Partition assignors: who in a consumer group reads which partitions.

The group leader (one of the consumers) runs an assignor over every member's subscription
and hands the result back through the coordinator. Range and round-robin results are
exact and deterministic, so every client library must agree with them; these follow
Kafka's ``RangeAssignor`` and ``RoundRobinAssignor`` (without rack awareness).

The sticky assignors (``StickyAssignor``, ``CooperativeStickyAssignor``) also look at what
each member owned before: balance first, then keep as many partitions where they were as
balance allows. With one subscription for all (ConstrainedAssignmentBuilder) Kafka's choice
among equally good answers depends on Java hash-map order, so Kafka (and its own tests)
judge sticky assignments by those properties; ours makes its choices in member order and
partition order. With different subscriptions (GeneralAssignmentBuilder) Kafka's choices
are by partition count and member id, and so are ours, except where Kafka takes any
element of a hash set (we take the lowest-numbered partition).

The assignor also fixes the rebalance protocol (``REBALANCE_PROTOCOL``). Under the eager
one every member gives up everything before the leader assigns. Under the cooperative one
(KIP-429) members keep reading while they rejoin, so the leader must not hand out a
partition its current owner still reads: ``cooperative_sticky_assign`` holds such
partitions back, their owners revoke them (``partitions_to_revoke``), and a second
rebalance moves them.

Members are ordered as Kafka's ``MemberInfo.compareTo`` orders them: static members (those
with a ``group.instance.id``) first, by that id, then dynamic members by member id. A
static member keeps its place across restarts, and so keeps its partitions.
"""

from typing import NamedTuple


class Member(NamedTuple):
    member_id: str
    topics: tuple                       # its subscription
    group_instance_id: str | None = None
    owned: tuple = ()                   # (topic, partition) it owned before this rebalance
    generation: int = -1                # the generation in which it owned them


def member_order(member):
    """Sort key: static members by group.instance.id, then dynamic ones by member id."""
    if member.group_instance_id is not None:
        return (0, member.group_instance_id, member.member_id)
    return (1, member.member_id, "")


def range_assign(members, partitions_per_topic):
    """Kafka's RangeAssignor: topic by topic, the members subscribed to it (in member
    order) get contiguous ranges of its partitions; with P partitions and C members each
    gets P // C, and the first P % C get one more.

    ``partitions_per_topic`` maps topic -> number of partitions; a subscribed topic it does
    not list does not exist (yet), and nobody gets anything of it. Returns
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
    subscribed to the partition's topic. Topics missing from ``partitions_per_topic`` do
    not exist (yet). Returns ``{member_id: [(topic, partition), ...]}`` for every member."""
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


def valid_claims(members, partitions_per_topic):
    """``{(topic, partition): member_id}``: the previous owners that still count. A claim
    counts if the member still subscribes to the topic and the partition still exists. Two
    claims on one partition: the higher generation wins; in the same generation, neither
    counts (Kafka logs it as an invalid assignment)."""
    claims = {}
    for member in sorted(members, key=member_order):
        for topic, partition in dict.fromkeys(tuple(tp) for tp in member.owned):
            if topic in member.topics and 0 <= partition < partitions_per_topic.get(topic, 0):
                claims.setdefault((topic, partition), []).append((member.generation, member.member_id))
    owners = {}
    for tp, claimants in claims.items():
        newest = max(generation for generation, _ in claimants)
        at_newest = [member_id for generation, member_id in claimants if generation == newest]
        if len(at_newest) == 1:
            owners[tp] = at_newest[0]
    return owners


def sticky_assign(members, partitions_per_topic):
    """Kafka's StickyAssignor: every subscribed partition to one subscribed member, balanced
    as Kafka's isBalanced judges it (no partition could move to a member subscribed to its
    topic that has two fewer partitions than its owner; with one subscription for all, the
    counts differ by at most one), and sticky: with one subscription for all, as many
    partitions stay with their valid previous owners (``valid_claims``) as that balance
    allows; with different subscriptions, nothing moves when the valid claims already give
    every partition an owner and are balanced."""
    ordered = sorted(members, key=member_order)
    partitions = sorted((t, p) for t in {t for m in members for t in m.topics if t in partitions_per_topic}
                        for p in range(partitions_per_topic[t]))
    owners = valid_claims(members, partitions_per_topic)
    if len({tuple(sorted(m.topics)) for m in members}) == 1:
        return _constrained_sticky(ordered, partitions, owners)
    return _general_sticky(ordered, partitions, owners)


def _constrained_sticky(ordered, partitions, owners):
    """Same subscription for all, as Kafka's ConstrainedAssignmentBuilder. With P partitions
    and C members the quotas are P // C and, for P % C members, one more. In member order,
    each member keeps its previous partitions (lowest partition numbers first, as Kafka
    sorts them by partition, then topic): all of them if fewer than the quota, the larger
    quota while members may still take it, else the quota. Then the other partitions, in
    (topic, partition) order, are dealt round robin to the members still under the quota,
    and once none is, one each to the members that may still take one more."""
    quota, extra = divmod(len(partitions), len(ordered))
    assignment = {m.member_id: [] for m in ordered}
    under, may_take_one_more = [], []
    for member in ordered:
        mine = sorted((tp for tp, owner in owners.items() if owner == member.member_id),
                      key=lambda tp: (tp[1], tp[0]))
        if len(mine) < quota:
            assignment[member.member_id] = mine
            under.append(member.member_id)
        elif len(mine) > quota and extra > 0:
            assignment[member.member_id] = mine[:quota + 1]
            extra -= 1
            if extra == 0:
                may_take_one_more.clear()
        else:
            assignment[member.member_id] = mine[:quota]
            if extra > 0:
                may_take_one_more.append(member.member_id)
    kept = {tp for owned in assignment.values() for tp in owned}
    turn = 0
    for tp in (tp for tp in partitions if tp not in kept):
        if under:
            turn %= len(under)
            target = under[turn]
        else:
            target = may_take_one_more.pop(0)
        assignment[target].append(tp)
        if under and len(assignment[target]) == quota:
            under.pop(turn)                 # filled to the quota: it leaves the round
            may_take_one_more.append(target)
        elif under:
            turn += 1
    return {member_id: sorted(owned) for member_id, owned in assignment.items()}


def _general_sticky(ordered, partitions, owners):
    """Different subscriptions, as Kafka's GeneralAssignmentBuilder (without racks). Keep
    the valid claims. Walk the partitions topic by topic, the topics with the fewest
    subscribers first, and hand each unclaimed one to the eligible member with the fewest
    partitions (ties: the smaller member id). Then balance (``_Balance.reassign``): first
    only the partitions just handed out, then all of them. If that did not make the counts
    more even (``_spread``), Kafka keeps the assignment from before the moves."""
    eligible = {t: sorted(m.member_id for m in ordered if t in m.topics) for t, _ in partitions}
    assignment = {m.member_id: [] for m in ordered}
    owner = {}
    for tp, member_id in owners.items():
        _give(tp, member_id, assignment, owner)
    order = sorted(partitions, key=lambda tp: (len(eligible[tp[0]]), tp))
    unclaimed = [tp for tp in order if tp not in owners]
    for tp in unclaimed:
        _give(tp, _fewest(eligible[tp[0]], assignment), assignment, owner)
    # Only partitions that another member could read, and members whose partitions could
    # change, take part in balancing.
    capacity = {m.member_id: sum(1 for t, _ in partitions if t in m.topics) for m in ordered}
    members = [m for m in sorted(assignment) if len(assignment[m]) < capacity[m]
               or any(len(eligible[t]) > 1 for t, _ in assignment[m])]
    movable = [tp for tp in order if len(eligible[tp[0]]) > 1]
    balance = _Balance(assignment, owner, eligible, capacity, members, _earlier_owners(ordered))
    before = {m: list(owned) for m, owned in assignment.items()}
    # Kafka first tries to balance by moving only the new partitions, unless a member
    # still claims partitions of a topic it left (those must be revoked anyway).
    if not any(t in eligible and t not in m.topics for m in ordered for t, _ in m.owned):
        balance.reassign([tp for tp in unclaimed if tp in movable])
    moved = balance.reassign(movable)
    if owners and moved and _spread(assignment, members) >= _spread(before, members):
        assignment = before
    return {member_id: sorted(owned) for member_id, owned in assignment.items()}


def _give(tp, member_id, assignment, owner):
    if tp in owner:
        assignment[owner[tp]].remove(tp)
    assignment[member_id].append(tp)
    owner[tp] = member_id


def _fewest(member_ids, assignment):
    """The member with the fewest partitions; ties go to the smaller member id."""
    return min(member_ids, key=lambda m: (len(assignment[m]), m))


def _earlier_owners(ordered):
    """``{(topic, partition): member_id}``: who claimed each partition in an earlier
    generation than the group's newest one (the newest such claim; ties: member order).
    Kafka's prevAssignment: balancing moves a partition back there first."""
    newest = max(m.generation for m in ordered)
    earlier = {}
    for member in sorted(ordered, key=lambda m: -m.generation):
        if member.generation < newest:
            for tp in member.owned:
                earlier.setdefault(tuple(tp), member)
    return {tp: m.member_id for tp, m in earlier.items()}


def _spread(assignment, members):
    """Kafka's balance score: the sum of the count differences over all pairs of members."""
    counts = [len(assignment[m]) for m in members]
    return sum(abs(a - b) for i, a in enumerate(counts) for b in counts[i + 1:])


class _Balance:
    """Kafka's performReassignments, with its PartitionMovements: where each partition
    moved from, so that a move that would undo an earlier move of the same topic between
    the same two members moves that earlier partition back instead (keeping partitions of
    one topic from swapping owners)."""

    def __init__(self, assignment, owner, eligible, capacity, members, earlier):
        self.assignment, self.owner, self.eligible = assignment, owner, eligible
        self.capacity, self.members, self.earlier = capacity, members, earlier
        self.moves = {}                 # partition -> (owner before balancing, owner now)

    def count(self, member_id):
        return len(self.assignment[member_id])

    def balanced(self):
        """Kafka's isBalanced: no member could take a partition of a topic it subscribes to
        from an owner with at least two more partitions than it has."""
        counts = [self.count(m) for m in self.members]
        if not counts or max(counts) - min(counts) <= 1:
            return True
        for member_id in self.members:
            if self.count(member_id) == self.capacity[member_id]:
                continue
            for tp, other in self.owner.items():
                if (other != member_id and member_id in self.eligible[tp[0]]
                        and self.count(member_id) + 1 < self.count(other)):
                    return False
        return True

    def reassign(self, partitions):
        """Walk ``partitions`` while unbalanced, moving each partition whose owner has two
        more than an eligible member: back to its earlier owner if that one has two fewer,
        else to the eligible member with the fewest. Repeat until a walk moves nothing.
        Returns whether anything moved."""
        moved = False
        while True:
            modified = False
            for tp in partitions:
                if self.balanced():
                    break
                current = self.count(self.owner[tp])
                earlier = self.earlier.get(tp)
                if earlier in self.eligible[tp[0]] and current > self.count(earlier) + 1:
                    self.move(tp, earlier)
                elif any(current > self.count(m) + 1 for m in self.eligible[tp[0]]):
                    self.move(tp, _fewest(self.members_of(tp[0]), self.assignment))
                else:
                    continue
                modified = moved = True
            if not modified:
                return moved

    def members_of(self, topic):
        return [m for m in self.eligible[topic] if m in self.members]

    def move(self, tp, target):
        """Kafka's getTheActualPartitionToBeMoved: if a partition of the same topic moved
        from ``target`` to where this one came from, that one goes back instead (the
        lowest-numbered, where Kafka takes any)."""
        source = self.moves[tp][0] if tp in self.moves else self.owner[tp]
        back = sorted(p for p, (was, now) in self.moves.items()
                      if p[0] == tp[0] and (was, now) == (target, source))
        tp = back[0] if back else tp
        first = self.moves.pop(tp, (self.owner[tp], None))[0]
        if first != target:
            self.moves[tp] = (first, target)
        _give(tp, target, self.assignment, self.owner)


def cooperative_sticky_assign(members, partitions_per_topic, sticky=sticky_assign):
    """Kafka's CooperativeStickyAssignor (KIP-429): the first of two rounds. It computes the
    sticky target, then holds back every partition that someone other than its new owner
    may still be reading (``current_holders``). Those members revoke it
    (``partitions_to_revoke``) and rejoin; the follow-up rebalance hands it to its new
    owner. So no partition ever has two owners at once, and partitions that stay put are
    never stopped."""
    target = sticky(members, partitions_per_topic)
    holders = current_holders(members, partitions_per_topic)
    return {member_id: [tuple(tp) for tp in assigned
                        if holders.get(tuple(tp), set()) <= {member_id}]   # nobody else reads it
            for member_id, assigned in target.items()}


def current_holders(members, partitions_per_topic):
    """``{(topic, partition): {member_id, ...}}``: who may still be reading each claimed
    partition. Its valid owner (``valid_claims``) if it has one: a stale claim from an
    older generation does not count. Otherwise every member that claims it: a double claim
    in one generation, or a topic the claimer no longer subscribes to, means nobody may
    take it over until those members have let go."""
    holders = {}
    for member in members:
        for tp in member.owned:
            holders.setdefault(tuple(tp), set()).add(member.member_id)
    for tp, owner in valid_claims(members, partitions_per_topic).items():
        holders[tp] = {owner}
    return holders


def partitions_to_revoke(owned, assigned):
    """In a cooperative rebalance: the partitions a member owned (``(topic, partition)``
    pairs) that its new assignment no longer has. It must stop reading them (and commit
    their offsets) before they can move; everything else it keeps reading. Any collection
    of those pairs will do (a list, tuple or set, in any order): the consumer revokes them
    all at once."""
    return sorted(set(owned) - set(assigned))


ASSIGNORS = {"range": range_assign, "roundrobin": round_robin_assign, "sticky": sticky_assign,
             "cooperative-sticky": cooperative_sticky_assign}
REBALANCE_PROTOCOL = {"range": "eager", "roundrobin": "eager", "sticky": "eager",
                      "cooperative-sticky": "cooperative"}
