"""Hidden properties: the assignors, and the cooperative protocol's revocations."""

from hypothesis import strategies as st

from kafkadojo.reference import assignors
from kafkadojo.reference.assignors import Member
from kafkadojo.reference.rebalance import run_group
from kafkadojo.reference.seams import REFERENCE

from ..sandbox import safe_repr
from . import COLLECTION, Failure, LearnerError, differential, examples, known_mistakes, prop
from .engine import EVENT_BUDGET, _passed_before, engine_failure, seed_count

TOPICS = ("a", "b", "c")


@st.composite
def groups(draw, uniform=False, owned=False):
    """``(members, partitions_per_topic)``: static and dynamic members, any subscriptions
    (or the same one), topics that do not exist (yet), no topics at all, and (``owned``)
    what each claims to have owned before (``claims``)."""
    # sorted: a set of strings iterates in an order that changes with PYTHONHASHSEED
    topics = sorted(draw(st.sets(st.sampled_from(TOPICS))))
    partitions = {t: draw(st.integers(1, 6)) for t in topics}
    names = draw(st.lists(st.sampled_from("pqrstuvw"), min_size=1, max_size=5, unique=True))
    # Mostly existing topics; now and then one the metadata does not know.
    every = tuple(sorted(partitions)) or TOPICS
    known = st.sampled_from(every) if draw(st.integers(0, 4)) else st.sampled_from(TOPICS)
    shared = tuple(sorted(draw(st.sets(known, min_size=1))))
    members = []
    for name in names:
        topics = shared if uniform else tuple(sorted(draw(st.sets(known, min_size=1))))
        static = f"instance-{draw(st.integers(0, 9))}{name}" if draw(st.booleans()) else None
        members.append(Member(f"{name}-member", topics, static))
    if owned:
        members = draw(claims(members, partitions))
    return members, partitions


@st.composite
def claims(draw, members, partitions):
    """What each member says it owned: a sticky assignment of an earlier generation (of a
    subset of the members, when topics may have had other sizes, or of the same group when
    nothing changed since), then perturbed the ways
    real groups are: a member that missed a rebalance (an older generation: its claims are
    stale, and contested when another member got those partitions since), two members
    claiming one partition in one generation, claims on topics a member no longer
    subscribes to, and on partitions beyond a topic's end."""
    earlier = {t: draw(st.integers(1, 7)) for t in partitions} or {"a": 2}
    every = tuple(sorted(earlier))
    before = [m._replace(topics=every) if draw(st.booleans()) else m
              for m in members if draw(st.booleans())] or members[:1]
    if partitions and draw(st.integers(0, 2)) == 0:
        # Nothing changed since: the same members and topics, balanced from scattered
        # claims (so the claims are not what a fresh assignment would give).
        earlier, before = partitions, [m._replace(owned=tuple(draw(st.lists(
            st.sampled_from(sorted((t, p) for t in partitions for p in range(partitions[t]))),
            max_size=4))), generation=1) for m in members]
    previous = assignors.sticky_assign(before, earlier)
    generation = draw(st.integers(1, 5))
    all_partitions = sorted((t, p) for t in earlier for p in range(earlier[t]))
    result = []
    for member in members:
        owned = list(previous.get(member.member_id, ()))
        member_generation = generation
        if draw(st.integers(0, 3)) == 0:            # it missed a rebalance
            member_generation = draw(st.integers(-1, generation - 1))
        if draw(st.integers(0, 3)) == 0:            # it claims others' partitions too
            owned += draw(st.lists(st.sampled_from(all_partitions), max_size=3))
        if draw(st.integers(0, 5)) == 0:            # a partition beyond the topic's end
            owned.append((draw(st.sampled_from(TOPICS)), draw(st.integers(6, 8))))
        result.append(member._replace(owned=tuple(dict.fromkeys(owned)),
                                      generation=member_generation))
    return result


@st.composite
def scattered_claims(draw):
    """One subscription for all, and claims of one generation in no particular pattern:
    each partition owned before by any member, or by nobody (members that joined, left and
    came back between rebalances leave groups like these). Several members then hold fewer
    partitions than the quota, each keeping its own while the others fill up."""
    members, partitions = draw(groups(uniform=True))
    partitions = {t: draw(st.integers(2, 8)) for t in (partitions or {"a": 1})}
    owned = {m.member_id: [] for m in members}
    for tp in sorted((t, p) for t, n in partitions.items() for p in range(n)):
        if draw(st.integers(0, 2)):
            owned[draw(st.sampled_from(sorted(owned)))].append(tp)
    return [m._replace(topics=tuple(sorted(partitions)), owned=tuple(owned[m.member_id]),
                       generation=3) for m in members], partitions


@st.composite
def skewed_claims(draw):
    """Different subscriptions, and almost everything owned before by one to three members
    (some of it on topics they no longer read), the others new: balancing them takes many
    moves, over more than one walk of the partitions."""
    members, partitions = draw(groups())
    partitions = {t: draw(st.integers(2, 8)) for t in (partitions or {"a": 1})}
    heavy = members[:draw(st.integers(1, 3))]
    owned = {m.member_id: [] for m in members}
    for tp in sorted((t, p) for t, n in partitions.items() for p in range(n)):
        if draw(st.integers(0, 5)):
            owned[draw(st.sampled_from(heavy)).member_id].append(tp)
    return [m._replace(owned=tuple(owned[m.member_id]), generation=2) for m in members], partitions


def _replay_call(function, members, partitions):
    return f"{function}({members!r}, {partitions!r})"


# -- range and round robin: Kafka's results are exact ------------------------------------------
def _range_by_member_id(members, partitions):
    """A realistic mistake: members ordered by member id, static or not."""
    return assignors.range_assign([m._replace(group_instance_id=None) for m in members], partitions)


def _range_extras_last(members, partitions):
    """A realistic mistake: the P % C extra partitions go to the last members."""
    assignment = {m.member_id: [] for m in members}
    for topic in sorted(partitions):
        consumers = sorted((m for m in members if topic in m.topics), key=assignors.member_order)
        per_member, extra = divmod(partitions[topic], max(len(consumers), 1))
        start = 0
        for i, member in enumerate(consumers):
            length = per_member + (1 if i >= len(consumers) - extra else 0)
            assignment[member.member_id] += [(topic, p) for p in range(start, start + length)]
            start += length
    return {member_id: sorted(owned) for member_id, owned in assignment.items()}


# A wrong answer is named after the mistake only when that mistake gives exactly that answer.
RANGE_MISTAKES = known_mistakes(("wrong-member-order", _range_by_member_id),
                                ("extra-partitions-to-last-members", _range_extras_last))


@prop("groups.range_assign", "gives Kafka's RangeAssignor result for any group", 2)
def range_exact(learner):
    failure = examples(learner, "range_assign", [
        (([Member("a-dynamic", ("t",)), Member("z-static", ("t",), "instance-1")], {"t": 3}),
         {"z-static": [("t", 0), ("t", 1)], "a-dynamic": [("t", 2)]})],
        anomaly="wrong-assignment", diagnose=RANGE_MISTAKES)
    return failure or differential(learner, "range_assign", assignors.range_assign,
                                   groups(), anomaly="wrong-assignment", diagnose=RANGE_MISTAKES)


@prop("groups.round_robin_assign", "gives Kafka's RoundRobinAssignor result for any group", 2)
def round_robin_exact(learner):
    failure = examples(learner, "round_robin_assign", [
        (([Member("consumer1", ("topic1",)), Member("consumer2", ("topic1", "topic2")),
           Member("consumer3", ("topic1",))], {"topic1": 3, "topic2": 2}),
         {"consumer1": [("topic1", 0)], "consumer2": [("topic1", 1), ("topic2", 0), ("topic2", 1)],
          "consumer3": [("topic1", 2)]})], anomaly="wrong-assignment")
    return failure or differential(learner, "round_robin_assign", assignors.round_robin_assign,
                                   groups(), anomaly="wrong-assignment")


# -- sticky: judged by Kafka's own properties ---------------------------------------------------
def ownership_problem(members, partitions, result):
    """Every subscribed partition owned by exactly one member subscribed to its topic."""
    if not isinstance(result, dict) or set(result) != {m.member_id for m in members}:
        return "not one entry per member id"
    owners = {}
    subscribed = {m.member_id: set(m.topics) for m in members}
    for member_id, owned in result.items():
        for item in owned:
            topic, partition = item
            if topic not in subscribed[member_id]:
                return f"{member_id} got {topic}-{partition} without subscribing to {topic}"
            if (topic, partition) in owners:
                return f"{topic}-{partition} given to {owners[(topic, partition)]} and {member_id}"
            owners[(topic, partition)] = member_id
    wanted = {(t, p) for m in members for t in m.topics for p in range(partitions.get(t, 0))}
    missing = sorted(wanted - set(owners))
    return f"nobody owns {missing}" if missing else None


def balance_problem(members, result):
    """Kafka's isBalanced (GeneralAssignmentBuilder; its tests' verifyValidityAndBalance is
    the weaker pairwise form of it): no partition could move to an eligible member with at
    least two fewer partitions than its owner. With one subscription for all, that is
    counts differing by at most one."""
    count = {m: len(owned) for m, owned in result.items()}
    topics = {m.member_id: set(m.topics) for m in members}
    for owner, owned in result.items():
        for topic, partition in owned:
            for other in result:
                if topic in topics[other] and count[other] + 1 < count[owner]:
                    return (f"{topic}-{partition} could move from {owner} ({count[owner]}) to "
                            f"{other} ({count[other]})")
    return None


def most_keepable(members, partitions):
    """With one subscription for all: how many valid previous claims (``valid_claims``) a
    balanced assignment keeps at most (each member keeps up to its quota; only P % C
    members get the larger one)."""
    total = sum(partitions.get(t, 0) for t in members[0].topics)
    quota, extra = divmod(total, len(members))
    owners = list(assignors.valid_claims(members, partitions).values())
    owned = [owners.count(m.member_id) for m in members]
    return sum(min(n, quota) for n in owned) + min(extra, sum(1 for n in owned if n > quota))


def moved_from_a_balanced_start(members, partitions, result):
    """With different subscriptions: if the valid claims already give every partition an
    owner and are balanced, Kafka moves nothing (its balancing starts balanced). The
    problem if ``result`` moved something then, else None."""
    owners = assignors.valid_claims(members, partitions)
    wanted = {(t, p) for m in members for t in m.topics for p in range(partitions.get(t, 0))}
    claimed = {m.member_id: sorted(tp for tp, o in owners.items() if o == m.member_id)
               for m in members}
    if set(owners) != wanted or balance_problem(members, claimed) is not None:
        return None
    moved = sorted(tp for tp, owner in owners.items() if tp not in result[owner])
    if moved:
        return (f"the valid claims were already a balanced assignment of every partition, "
                f"yet {moved} left their owners")
    return None


def kept_claims(members, partitions, result):
    """How many valid previous claims ``result`` keeps with their owner."""
    return sum(1 for tp, owner in assignors.valid_claims(members, partitions).items()
               if tp in result[owner])


def _sticky_search(learner, group_strategy, sticky, examples=150):
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis.errors import Flaky
    found = []

    @settings(max_examples=examples, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck), report_multiple_bugs=False,
              phases=[Phase.generate, Phase.shrink])
    @given(group_strategy)
    def search(group):
        if found and found[0][0] == "fatal":
            return
        members, partitions = group
        try:
            result = learner.call("sticky_assign", members, partitions)
        except LearnerError as error:
            if error.outcome.kind in ("timeout", "crashed", "load-error", "missing"):
                found[:] = [("fatal", error)]   # do not shrink a hang: every try costs it
                return
            # it raised: a wrong answer like any other, shrunk to the smallest group
            found[:] = [(error.outcome.kind, members, partitions, None, error.outcome.describe())]
            raise AssertionError("raised") from None
        result = {k: [tuple(tp) for tp in v] for k, v in result.items()} if isinstance(result, dict) else result
        problem = ownership_problem(members, partitions, result)
        anomaly = "partition-not-owned-once"
        if problem is None:
            problem, anomaly = balance_problem(members, result), "unbalanced"
        if problem is None and sticky:
            problem, anomaly = stickiness_problem(members, partitions, result), "not-sticky"
        if problem is not None:
            found[:] = [(anomaly, members, partitions, result, problem)]
            raise AssertionError(problem)

    try:
        search()
    except (AssertionError, Flaky):     # Flaky: a hang found while shrinking another failure
        pass
    if not found:
        return None
    if found[0][0] == "fatal":
        error = found[0][1]
        return Failure(error.outcome.kind, error.call, got=error.outcome.describe(),
                       replay=f">>> {error.call}")
    anomaly, members, partitions, result, problem = found[0]
    call = _replay_call("sticky_assign", members, partitions)
    return Failure(anomaly, call, expected="every partition owned once, balanced, and as "
                   "many previous owners kept as balance allows",
                   got=problem if result is None else f"{safe_repr(result)}: {problem}",
                   replay=f">>> {call}")


def stickiness_problem(members, partitions, result):
    """One subscription for all: keeps as many valid claims as a balanced assignment can.
    Different ones: moves nothing when the claims are already complete and balanced."""
    if len({tuple(sorted(m.topics)) for m in members}) > 1:
        return moved_from_a_balanced_start(members, partitions, result)
    kept = kept_claims(members, partitions, result)
    best = most_keepable(members, partitions)
    if kept < best:
        return f"kept {kept} of the previous owners' partitions; a balanced assignment keeps {best}"
    return None


@prop("groups.sticky_assign", "owns every partition once and balances any group", 1)
def sticky_balanced(learner):
    return _sticky_search(learner, st.one_of(groups(owned=True), skewed_claims()), sticky=False,
                          examples=300)


@prop("groups.sticky_assign", "keeps as many previous owners as balance allows", 1)
def sticky_sticky(learner):
    return _sticky_search(learner, st.one_of(groups(uniform=True, owned=True), scattered_claims(),
                                             groups(owned=True)), sticky=True)


# -- in a running group -------------------------------------------------------------------------
# Members join, leave, crash and stall while the group reads six partitions. The faults hit
# members only, so one broker (nothing to replicate) shows the same rebalances as three, in
# a quarter of the time.
GROUP_RUN = {"duration_ms": 60_000, "brokers": 1}
# The time a correct rule may take per property: a third of a fault-schedule property's
# (engine.IN_CLUSTER_SHARE_S), as the groups assignment has two of them and its other
# properties take about 3 s. Runs of about 0.016 s (engine.SECONDS_PER_SCHEDULE) make
# that 62 seeds (never fewer than engine.MIN_SEEDS); a faster engine buys more.
GROUP_SHARE_S = 1.0


def group_seeds(seam):
    """The seeds a group-run property of ``seam`` tries: fixed, the same on every machine."""
    return list(range(seed_count(seam, share_s=GROUP_SHARE_S)))


def group_replay(seam, function, strategy, seed):
    options = "".join(f", {k}={v!r}" for k, v in GROUP_RUN.items())
    return (">>> from kafkadojo.reference.rebalance import run_group\n"
            ">>> from kafkadojo.reference.seams import REFERENCE\n"
            f">>> print(run_group(seed={seed}, strategy={strategy!r}{options},\n"
            f"...     seams=REFERENCE.with_rules({seam}={function})).report())")


def group_anomaly(outcome, partitions=6):
    """What went wrong in a group run, or None: two owners at once, a partition nobody
    owns at the end, or a group left unbalanced once the faults are over."""
    final = {o.partition for o in outcome.intervals if o.end_ms == outcome.end_ms}
    counts = outcome.final_counts()
    if outcome.double_ownership:
        return "double-ownership"
    if len(final) < partitions:
        return "partition-not-owned"
    if counts and max(counts.values()) - min(counts.values()) > 1:
        return "never-rebalanced"
    return None


def _group_run(learner, seam, function, strategy):
    """Run the group (seeds ``group_seeds(seam)``) with the learner's ``function`` in
    ``seam``; the first run that goes wrong fails, and the feedback names its seed."""
    seams = REFERENCE.with_rules(**{seam: learner.function(function, remember=True)})
    seeds = group_seeds(seam)
    for tried, seed in enumerate(seeds):
        where = f"group run seed {seed} ({_passed_before(tried, seeds)})"
        replay = group_replay(seam, function, strategy, seed)
        try:
            outcome = run_group(seed=seed, strategy=strategy, seams=seams,
                                event_budget=EVENT_BUDGET, **GROUP_RUN)
        except Exception as error:      # noqa: BLE001 - judged by engine_failure
            return engine_failure(error, where, replay)
        anomaly = group_anomaly(outcome)
        if anomaly:
            report = "\n".join(line for line in outcome.report().splitlines()
                               if not line.lstrip().startswith("replay:"))
            return Failure(anomaly, where,
                           expected="at every moment, each partition owned by at most one member; "
                                    "in the end, by exactly one, and the group balanced",
                           got=report, replay=replay)
    return None


def calibrate(seam, strategy, seeds=10):
    """Seconds one group run takes with the reference's rule for ``seam`` answered from a
    sandbox, as ``_group_run`` runs it (what ``engine.SECONDS_PER_SCHEDULE[seam]`` says)."""
    import time

    from kafkadojo.exercises.catalog import solution_module

    from ..sandbox import Sandbox
    from . import Learner

    with Sandbox(solution_module("groups")) as sandbox:
        sandbox.start()
        seams = REFERENCE.with_rules(**{seam: Learner(sandbox).function(seam, remember=True)})
        start = time.perf_counter()
        for seed in range(seeds):
            run_group(seed=seed, strategy=strategy, seams=seams, event_budget=EVENT_BUDGET,
                      **GROUP_RUN)
        return (time.perf_counter() - start) / seeds


@prop("groups.sticky_assign", "in a group whose members join, leave and crash", 1)
def sticky_in_the_engine(learner):
    return _group_run(learner, "sticky_assign", "sticky_assign", "sticky")


@prop("groups.partitions_to_revoke", "revokes exactly what moved away", 1)
def revoke_exact(learner):
    partition = st.tuples(st.sampled_from(TOPICS), st.integers(0, 4))
    sets = st.lists(partition, unique=True, max_size=6).map(sorted)
    return differential(learner, "partitions_to_revoke", assignors.partitions_to_revoke,
                        st.tuples(sets, sets), anomaly="wrong-revocation", compare=COLLECTION)


@prop("groups.partitions_to_revoke", "cooperative rebalances never give a partition two owners", 1)
def revoke_in_the_engine(learner):
    return _group_run(learner, "partitions_to_revoke", "partitions_to_revoke", "cooperative-sticky")
