"""Drills: what the assignors give each member."""

from kafkadojo.reference.assignors import Member, range_assign, round_robin_assign, sticky_assign

from . import drill_kind
from .picture import Picture
from ._cards import flashcards

NAMES = ("ana", "ben", "cy", "dee", "eli")


def _group(rng, level):
    members = sorted(rng.sample(NAMES, level + 1))
    partitions = rng.randrange(level + 1, 3 * level + 4)
    return members, partitions


def _as_partitions(assignment, members):
    return {m: sorted(p for _, p in assignment.get(m, ())) for m in members}


def _members_picture(answer):
    return Picture(rows=tuple((member, tuple((p, "plain") for p in partitions))
                              for member, partitions in answer.items()))


def _one_topic(rng, level, assign, name, example, rule):
    """A drill on one assignor: members subscribed to one topic, and what it gives each."""
    members, partitions = _group(rng, level)
    answer = _as_partitions(assign([Member(m, ("t",)) for m in members], {"t": partitions}),
                            members)
    return ((tuple(members), partitions),
            f"Members {members} subscribe to topic t with {partitions} partitions. What does "
            f"the {name} assignor give each? (e.g. {example})",
            answer, rule, _members_picture(answer))


@drill_kind("groups.range", "assignment",
            summary="the range assignor's answer for one topic")
def range_drill(rng, level):
    return _one_topic(rng, level, range_assign, "range", "ana: 0 1; ben: 2",
                      "Range: members sorted by id; each gets partitions // members in a "
                      "row, and the first partitions % members get one more.")


@drill_kind("groups.round-robin", "assignment",
            summary="the round-robin assignor's answer for one topic")
def round_robin_drill(rng, level):
    return _one_topic(rng, level, round_robin_assign, "round-robin", "ana: 0 2; ben: 1",
                      "Round-robin: partitions in order, dealt to the members sorted by id, "
                      "one each in turn.")


@drill_kind("groups.sticky-moves", "number",
            summary="how many partitions the sticky assignor moves when the group changes")
def sticky_moves(rng, level):
    before = sorted(rng.sample(NAMES, level + 1))
    partitions = rng.randrange(len(before) + 1, 3 * len(before) + 2)
    owned = {m: [] for m in before}
    for p in range(partitions):     # as the group left it (balanced or not, at level 2+)
        owned[rng.choice(before) if level > 1 else before[p % len(before)]].append(p)
    change = rng.choice(("join", "leave")) if level < 3 else "both"
    after = list(before)
    if change in ("leave", "both"):
        after.remove(rng.choice(before))
    if change in ("join", "both"):
        after.append(rng.choice([n for n in NAMES if n not in before]))
    members = [Member(m, ("t",), owned=tuple(("t", p) for p in owned.get(m, ())),
                      generation=1 if m in owned else -1) for m in sorted(after)]
    assignment = _as_partitions(sticky_assign(members, {"t": partitions}), sorted(after))
    previous = {p: m for m, ps in owned.items() for p in ps}
    moved = [p for m, ps in assignment.items() for p in ps
             if previous[p] != m and previous[p] in after]
    left = sorted(set(before) - set(after))
    joined = sorted(set(after) - set(before))
    story = "; ".join(filter(None, (f"{', '.join(left)} leaves" if left else "",
                                    f"{', '.join(joined)} joins" if joined else "")))
    return ((tuple(sorted(owned.items())), tuple(sorted(after)), partitions),
            f"A group with the sticky assignor owns topic t ({partitions} partitions) as "
            + "; ".join(f"{m}: {' '.join(map(str, ps)) or '-'}" for m, ps in owned.items())
            + f". Then {story}. How many partitions does the rebalance take away from a "
              f"member that stays in the group?",
            len(moved),
            "The sticky assignor balances (member counts differ by at most one) while moving "
            "as few partitions as it can: a leaver's partitions must move; a member that stays "
            "gives some up only as far as balance requires.",
            Picture(rows=tuple((m, tuple((p, "duplicate" if p in moved else "plain")
                                         for p in ps)) for m, ps in assignment.items()),
                    caption="after the rebalance",
                    legend=(("duplicate", "taken from a member that stays"),)))


flashcards("groups", (
    ("What does a cooperative rebalance (KIP-429) save compared with an eager one?",
     "Members keep the partitions they will keep: only partitions that move are revoked, in "
     "a first rebalance, and assigned in a second; consumption of the rest never stops."),
    ("What does static membership (group.instance.id, KIP-345) change?",
     "A member that restarts within session.timeout.ms rejoins as itself: no rebalance, and "
     "it gets its partitions back."),
))
