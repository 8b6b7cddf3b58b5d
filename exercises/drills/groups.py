"""Drills: what the assignors give each member."""

from kafkadojo.reference.assignors import Member, range_assign, round_robin_assign

from . import drill_kind
from ._cards import flashcards

NAMES = ("ana", "ben", "cy", "dee", "eli")


def _group(rng, level):
    members = sorted(rng.sample(NAMES, level + 1))
    partitions = rng.randrange(level + 1, 3 * level + 4)
    return members, partitions


def _as_partitions(assignment, members):
    return {m: sorted(p for _, p in assignment.get(m, ())) for m in members}


@drill_kind("groups.range", "assignment",
            summary="the range assignor's answer for one topic")
def range_drill(rng, level):
    members, partitions = _group(rng, level)
    answer = _as_partitions(range_assign([Member(m, ("t",)) for m in members],
                                         {"t": partitions}), members)
    return ((tuple(members), partitions),
            f"Members {members} subscribe to topic t with {partitions} partitions. What does "
            f"the range assignor give each? (e.g. ana: 0 1; ben: 2)",
            answer,
            "Range: members sorted by id; each gets partitions // members in a row, and the "
            "first partitions % members get one more.")


@drill_kind("groups.round-robin", "assignment",
            summary="the round-robin assignor's answer for one topic")
def round_robin_drill(rng, level):
    members, partitions = _group(rng, level)
    answer = _as_partitions(round_robin_assign([Member(m, ("t",)) for m in members],
                                               {"t": partitions}), members)
    return ((tuple(members), partitions),
            f"Members {members} subscribe to topic t with {partitions} partitions. What does "
            f"the round-robin assignor give each? (e.g. ana: 0 2; ben: 1)",
            answer,
            "Round-robin: partitions in order, dealt to the members sorted by id, one each in "
            "turn.")


flashcards("groups", (
    ("What does a cooperative rebalance (KIP-429) save compared with an eager one?",
     "Members keep the partitions they will keep: only partitions that move are revoked, in "
     "a first rebalance, and assigned in a second; consumption of the rest never stops."),
    ("What does static membership (group.instance.id, KIP-345) change?",
     "A member that restarts within session.timeout.ms rejoins as itself: no rebalance, and "
     "it gets its partitions back."),
))
