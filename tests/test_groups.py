"""Consumer groups in the engine: the coordinator, rebalances, static membership, commits."""

import pytest
from kafkadojo.reference import errors
from kafkadojo.reference.cluster import Cluster
from kafkadojo.reference.coordinator import (OFFSETS_TOPIC, coordinator_partition,
                                             decode_offset_commit, java_string_hash)
from kafkadojo.reference.monitoring import consumer_group_lag, group_lag
from kafkadojo.reference.rebalance import run_group

SMALL = {"offsets.topic.num.partitions": 3}


def cluster_with(partitions=6, records=0, seed=1):
    cluster = Cluster(3, seed=seed, config=SMALL)
    cluster.create_topic("orders", partitions, 3)
    if records:
        producer = cluster.producer(linger_ms=0)
        for i in range(records):
            producer.send("orders", key=f"k{i}".encode(), value=f"v{i}".encode())
        producer.flush()
    return cluster


def members(cluster, n, **config):
    consumers = [cluster.consumer(f"c{i}", group_id="g", auto_offset_reset="earliest",
                                  session_timeout_ms=10_000, **config) for i in range(n)]
    for consumer in consumers:
        consumer.subscribe(["orders"])
    return consumers


def spin(cluster, consumers, ms):
    end = cluster.now + ms
    got = []
    while cluster.now < end:
        for consumer in consumers:
            if not consumer.closed:
                got += consumer.poll(100)
    return got


def assignment(cluster):
    return {m: d["assignment"] for m, d in cluster.describe_group("g")["members"].items()}


def test_coordinator_partition_is_javas_string_hash():
    # Java: "abc".hashCode() == 96354; "polygenelubricants".hashCode() == Integer.MIN_VALUE
    assert java_string_hash("abc") == 96354
    assert java_string_hash("polygenelubricants") == -(1 << 31)
    assert coordinator_partition("polygenelubricants", 50) == 0     # Utils.abs(MIN_VALUE) == 0
    assert coordinator_partition("abc", 50) == 96354 % 50


def test_a_group_forms_reads_everything_once_and_commits():
    cluster = cluster_with(records=60)
    consumers = members(cluster, 3)
    got = spin(cluster, consumers, 8_000)
    assert sorted((r.partition, r.offset) for r in got) == sorted(
        {(r.partition, r.offset) for r in got}) and len(got) == 60
    owned = assignment(cluster)
    assert sorted(tp for tps in owned.values() for tp in tps) == [("orders", p) for p in range(6)]
    assert all(len(tps) == 2 for tps in owned.values())
    for consumer in consumers:
        consumer.commit()
    offsets = cluster.describe_group("g")["offsets"]
    high_watermarks = {("orders", p): cluster.log(cluster.leader("orders", p), "orders", p).high_watermark
                       for p in range(6)}
    assert offsets == high_watermarks
    assert all(lag == 0 for lag in consumer_group_lag(cluster, "g").values())
    producer = cluster.producer(linger_ms=0)
    for i in range(7):
        producer.send("orders", b"late", partition=i % 2)
    producer.flush()
    lags = consumer_group_lag(cluster, "g")
    assert lags[("orders", 0)] == 4 and lags[("orders", 1)] == 3 and group_lag(lags) == 7


def test_offsets_live_in_the_consumer_offsets_topic_and_survive_the_coordinator():
    cluster = cluster_with(records=30)
    consumers = members(cluster, 2)
    spin(cluster, consumers, 8_000)
    for consumer in consumers:
        consumer.commit()
    before = cluster.describe_group("g")["offsets"]
    coordinator = cluster.group_coordinator("g")
    index = coordinator_partition("g", 3)
    log = cluster.log(coordinator.node_id, OFFSETS_TOPIC, index)
    stored = {}
    for batch in log.batches:
        for record in batch.records(OFFSETS_TOPIC, index):
            group, topic, partition, offset = decode_offset_commit(record.key, record.value)
            stored[(topic, partition)] = offset
    assert stored == before
    cluster.crash(coordinator.node_id)
    spin(cluster, consumers, 25_000)
    assert cluster.group_coordinator("g").node_id != coordinator.node_id
    assert cluster.describe_group("g")["offsets"] == before


def test_a_new_member_resumes_from_the_committed_offset():
    cluster = cluster_with(partitions=1, records=10)
    first = members(cluster, 1, enable_auto_commit=False)[0]
    got = spin(cluster, [first], 6_000)
    assert len(got) == 10
    first.commit({("orders", 0): 4})            # processed 0..3: the next to read is 4
    first.close()
    second = cluster.consumer("late", group_id="g", auto_offset_reset="earliest",
                              enable_auto_commit=False)
    second.subscribe("orders")
    again = spin(cluster, [second], 8_000)
    assert [r.offset for r in again] == list(range(4, 10))
    assert second.committed("orders", 0) == 4       # nothing committed since
    second.commit()
    assert second.committed("orders", 0) == 10


def test_a_crashed_member_is_removed_after_its_session_timeout():
    cluster = cluster_with()
    consumers = members(cluster, 3)
    spin(cluster, consumers, 8_000)
    crashed = consumers[1]
    crashed.crash()
    spin(cluster, consumers, 5_000)
    assert len(assignment(cluster)) == 3            # not yet: session.timeout.ms is 10 s
    spin(cluster, consumers, 10_000)
    owned = assignment(cluster)
    assert len(owned) == 2 and not any(m.startswith("c1-") for m in owned)
    assert sum(len(tps) for tps in owned.values()) == 6


def test_a_closed_dynamic_member_leaves_at_once():
    cluster = cluster_with()
    consumers = members(cluster, 2)
    spin(cluster, consumers, 8_000)
    consumers[0].close()
    spin(cluster, consumers, 4_000)                 # one heartbeat.interval.ms, not a session
    owned = assignment(cluster)
    assert len(owned) == 1 and len(next(iter(owned.values()))) == 6


def test_a_member_that_stops_polling_leaves_after_max_poll_interval():
    cluster = cluster_with()
    consumers = members(cluster, 2, max_poll_interval_ms=5_000)
    spin(cluster, consumers, 8_000)
    spin(cluster, consumers[1:], 8_000)             # consumers[0] is stuck in processing
    owned = assignment(cluster)
    assert len(owned) == 1 and next(iter(owned)).startswith("c1-")
    spin(cluster, consumers, 6_000)                 # it polls again: it rejoins
    assert len(assignment(cluster)) == 2


def test_static_member_restart_keeps_partitions_without_rebalance_and_fences_the_zombie():
    cluster = cluster_with(partitions=4)
    a = cluster.consumer("a", group_id="g", group_instance_id="app-1", session_timeout_ms=10_000)
    b = cluster.consumer("b", group_id="g", group_instance_id="app-2", session_timeout_ms=10_000)
    a.subscribe("orders")
    b.subscribe("orders")
    spin(cluster, [a, b], 8_000)
    generation = cluster.describe_group("g")["generation"]
    before = sorted(assignment(cluster).values())
    a_again = cluster.consumer("a-restarted", group_id="g", group_instance_id="app-1",
                               session_timeout_ms=10_000)
    a_again.subscribe("orders")
    spin(cluster, [a_again, b], 4_000)
    assert cluster.describe_group("g")["generation"] == generation      # no rebalance
    assert sorted(assignment(cluster).values()) == before
    with pytest.raises(errors.FencedInstanceIdError):
        spin(cluster, [a], 10_000)


@pytest.mark.parametrize("strategy", ["range", "roundrobin", "sticky", "cooperative-sticky"])
def test_every_partition_has_one_owner_after_joins_leaves_and_crashes(strategy):
    outcome = run_group(seed=11, strategy=strategy, duration_ms=90_000)
    assert not outcome.double_ownership, outcome.report()
    final = [o for o in outcome.intervals if o.end_ms == outcome.end_ms]
    assert sorted(o.partition for o in final) == [("clicks", p) for p in range(6)]


def test_cooperative_rebalances_pause_less_than_eager_ones():
    eager = run_group(seed=4, strategy="sticky", faults=("join", "leave"), duration_ms=90_000)
    cooperative = run_group(seed=4, strategy="cooperative-sticky", faults=("join", "leave"),
                            duration_ms=90_000)
    # the same nemesis (a leaving member's final commit may shift later times by a few ms)
    assert [text for _, text in eager.faults] == [text for _, text in cooperative.faults]
    assert cooperative.pause_ms < eager.pause_ms, (eager.report(), cooperative.report())
    assert cooperative.generations > eager.generations  # cooperative needs follow-up rounds


def test_a_member_that_revokes_nothing_starves_the_newcomer():
    from kafkadojo.reference.seams import REFERENCE
    keep_everything = REFERENCE.with_rules(partitions_to_revoke=lambda owned, assigned: [])
    good = run_group(seed=4, strategy="cooperative-sticky", faults=("join",), duration_ms=40_000)
    bad = run_group(seed=4, strategy="cooperative-sticky", faults=("join",), duration_ms=40_000,
                    seams=keep_everything)
    assert max(good.final_counts().values()) - min(good.final_counts().values()) <= 1
    assert min(bad.final_counts().values()) == 0 and max(bad.final_counts().values()) >= 2
    assert not bad.double_ownership         # the assignor never gives away what is still owned


def test_flaky_members_cause_a_rebalance_storm():
    calm = run_group(seed=8, strategy="range", faults=("join",), duration_ms=60_000,
                     fault_interval_ms=60_000)
    stormy = run_group(seed=8, strategy="range", faults=("crash", "stall", "join"),
                       duration_ms=60_000, fault_interval_ms=6_000)
    # Each rebalance waits for the crashed and stalled members (session.timeout.ms,
    # max.poll.interval.ms): the group spends most of its time not reading.
    assert stormy.pause_ms > 5 * calm.pause_ms
    assert any("session.timeout.ms" in text for _, _, text in stormy.history)


# -- bad input ------------------------------------------------------------------------------
def test_bad_group_input_gets_kafka_named_errors_and_changes_nothing():
    cluster = cluster_with(records=5)
    consumer = members(cluster, 1)[0]
    spin(cluster, [consumer], 6_000)
    consumer.commit()
    before = cluster.describe_group("g")["offsets"]
    with pytest.raises(errors.GroupIdNotFoundError):
        cluster.describe_group("no-such-group")
    with pytest.raises(errors.IllegalStateError, match="not assigned"):
        consumer.commit({("orders", 99): 1})
    partition = sorted(consumer.assignment)[0]
    with pytest.raises(errors.OffsetOutOfRangeError, match="last processed offset"):
        consumer.commit({partition: 10_000})
    with pytest.raises(errors.OffsetOutOfRangeError):
        consumer.commit({partition: -3})
    with pytest.raises(errors.InvalidGroupIdError):
        cluster.consumer("no-group").commit()
    with pytest.raises(errors.InvalidGroupIdError):
        cluster.consumer("no-group-either").subscribe("orders")
    with pytest.raises(errors.IllegalStateError):
        consumer.assign([("orders", 0)])
    with pytest.raises(errors.InvalidConfigurationError, match="partition.assignment.strategy"):
        cluster.consumer("x", group_id="g", partition_assignment_strategy="fastest")
    with pytest.raises(errors.InvalidTopicError):
        cluster.create_topic(OFFSETS_TOPIC, 1)
    assert cluster.describe_group("g")["offsets"] == before


def test_clients_cannot_write_to_consumer_offsets():
    cluster = cluster_with(records=1)
    members(cluster, 1)
    cluster.run_for(5_000)
    producer = cluster.producer()
    future = producer.send(OFFSETS_TOPIC, key=b"x", value=b"y")
    producer.flush()
    with pytest.raises(errors.InvalidTopicError):
        future.get()


def test_consumer_offsets_is_compacted_so_retention_never_deletes_commits():
    cluster = Cluster(3, seed=2, config={**SMALL, "log.retention.ms": 1_000,
                                         "log.retention.check.interval.ms": 1_000,
                                         "log.roll.ms": 500})
    cluster.create_topic("orders", 1, 3)
    consumer = members(cluster, 1)[0]
    spin(cluster, [consumer], 6_000)
    consumer.commit({("orders", 0): 0})
    spin(cluster, [consumer], 10_000)
    assert cluster.controller.topics[OFFSETS_TOPIC].configs["cleanup.policy"] == "compact"
    coordinator = cluster.group_coordinator("g")
    log = cluster.log(coordinator.node_id, OFFSETS_TOPIC, coordinator_partition("g", 3))
    assert log.log_start_offset == 0 and log.log_end_offset >= 1


def test_auto_commit_commits_positions_every_interval():
    cluster = cluster_with(partitions=1, records=10)
    consumer = members(cluster, 1, auto_commit_interval_ms=1_000)[0]
    got = spin(cluster, [consumer], 6_000)
    assert len(got) == 10
    spin(cluster, [consumer], 2_500)            # no commit() call: auto-commit did it
    assert cluster.describe_group("g")["offsets"] == {("orders", 0): 10}


def test_commit_async_reports_through_its_callback_and_fails_after_a_rebalance():
    cluster = cluster_with(partitions=2, records=10)
    first, second = members(cluster, 2, enable_auto_commit=False)
    spin(cluster, [first, second], 8_000)
    partition = sorted(first.assignment)[0]
    outcomes = []
    first.commit_async({partition: 1}, outcomes.append)
    spin(cluster, [first, second], 500)
    assert outcomes == [None] and cluster.describe_group("g")["offsets"][partition] == 1
    # A commit carrying an old generation is fenced: CommitFailedException.
    group = first.group
    generation = group.generation
    third = members(cluster, 1, enable_auto_commit=False)[0]
    spin(cluster, [first, second, third], 6_000)
    assert group.generation > generation
    group.generation = generation           # pretend first missed the rebalance
    outcomes.clear()
    group.commit({sorted(first.assignment)[0]: 0}, outcomes.append)
    spin(cluster, [second, third], 500)
    assert isinstance(outcomes[0], errors.CommitFailedError)


def test_a_consumer_outside_group_management_commits_with_its_group_id():
    cluster = cluster_with(partitions=1, records=5)
    consumer = cluster.consumer("manual", group_id="reports", auto_offset_reset="earliest")
    consumer.assign([("orders", 0)])
    assert len(consumer.poll(2_000)) == 5
    assert consumer.committed("orders", 0) is None
    consumer.commit()
    assert consumer.committed("orders", 0) == 5


# -- commits around a rebalance (GroupCoordinator.doCommitOffsets, ConsumerCoordinator.onJoinPrepare)
def read_while_members_join(strategy, seed=0):
    """One member reads 200 records five at a time; two more join while it does. Auto-commit
    runs only once a minute, so what a member gives up is saved only by the commit it makes
    when it revokes. ``{(partition, offset): [reader, ...]}``."""
    cluster = cluster_with(partitions=4, records=200, seed=seed)
    readers = {}

    def join(name):
        consumer = cluster.consumer(name, group_id="g", auto_offset_reset="earliest",
                                    session_timeout_ms=10_000, max_poll_records=5,
                                    auto_commit_interval_ms=60_000,
                                    partition_assignment_strategy=strategy)
        consumer.subscribe(["orders"])
        return consumer

    consumers = [join("a")]
    for step in range(180):
        if step in (40, 80):
            consumers.append(join("bc"[step // 40 - 1]))
        for consumer in consumers:
            for record in consumer.poll(100):
                readers.setdefault((record.partition, record.offset), []).append(consumer.node_id)
    return readers


@pytest.mark.parametrize("strategy", ["range", "cooperative-sticky"])
def test_what_a_member_revokes_is_committed_so_nobody_reads_it_again(strategy):
    # The revoking member commits while the group is in PreparingRebalance (eager) or just
    # after its new assignment (cooperative); Kafka accepts both, and the member rejoins
    # only once the commit is answered. Before, the coordinator refused the first with
    # REBALANCE_IN_PROGRESS and the next owner read those records again.
    readers = read_while_members_join(strategy)
    assert len(readers) == 200
    read_twice = {tp: names for tp, names in readers.items() if len(names) > 1}
    assert not read_twice, f"{len(read_twice)} records read twice, e.g. {sorted(read_twice.items())[:3]}"
    assert len({name for names in readers.values() for name in names}) >= 2     # it moved


def test_cooperative_member_revokes_unsubscribed_topics_before_it_rejoins():
    # ConsumerCoordinator.onJoinPrepare (COOPERATIVE): partitions of topics the member no
    # longer subscribes to are revoked before it rejoins, so one rebalance moves them.
    cluster = cluster_with(partitions=2)
    cluster.create_topic("audit", 2, 3)
    a, b = [cluster.consumer(name, group_id="g", auto_offset_reset="earliest",
                             partition_assignment_strategy="cooperative-sticky")
            for name in ("a", "b")]
    for consumer in (a, b):
        consumer.subscribe(["orders", "audit"])
    spin(cluster, [a, b], 8_000)
    dropped = sorted(tp for tp in a.assignment if tp[0] == "audit")
    assert dropped
    generation = cluster.describe_group("g")["generation"]
    a.subscribe(["orders"])
    spin(cluster, [a, b], 8_000)
    assert sorted(tp for tp in b.assignment if tp[0] == "audit") == [("audit", 0), ("audit", 1)]
    formed = {g: t for t, g, text in cluster.describe_group("g")["history"]
              if text.startswith(f"generation {g}:")}
    log = cluster.ownership_log
    revoked = [t for t, _, client, kind, tps in log if client == "a" and kind == "revoked"
               and set(dropped) <= set(tps)]
    handed = [t for t, _, client, kind, tps in log if client == "b" and kind == "assigned"
              and set(dropped) <= set(tps)]
    # a gave them up before the next generation formed, and that very generation moved them
    assert revoked and revoked[0] < formed[generation + 1]
    assert handed and formed[generation + 1] <= handed[0] < formed.get(generation + 2, float("inf"))


# -- the eager StickyAssignor remembers what it owned ---------------------------------------
def test_eager_sticky_members_report_their_last_assignment_and_keep_it():
    # StickyAssignor.subscriptionUserData: an eager member has revoked everything when it
    # rejoins, so it reports its last assignment (and generation) in its user data
    cluster = cluster_with()
    consumers = members(cluster, 3, partition_assignment_strategy="sticky")
    spin(cluster, consumers, 8_000)
    before = assignment(cluster)
    leaving = next(m for m in before if m.startswith("c2-"))
    consumers[2].close()
    spin(cluster, consumers, 6_000)
    after = assignment(cluster)
    assert set(after) == set(before) - {leaving}
    for member_id, owned in after.items():
        assert set(before[member_id]) < set(owned) and len(owned) == 3


# -- the hidden in-cluster properties: many fixed seeds, the failing one named -----------------
REVOKE_NOTHING = '''
def partitions_to_revoke(owned, assigned):
    return []
'''
REVOKE_WHAT_IS_NEW = '''
def partitions_to_revoke(owned, assigned):
    return sorted(set(assigned) - set(owned))
'''
STICKY_TWO_OWNERS_WHEN_MEMBERS_LEAVE = '''
_balanced_sticky_assign = sticky_assign


def sticky_assign(members, partitions_per_topic):
    # a departed member's partitions (nobody claims them) also go to the member with the
    # fewest, without being taken from the one the balanced assignment gave them to
    result = _balanced_sticky_assign(members, partitions_per_topic)
    claimed = {tuple(tp) for m in members for tp in m.owned}
    if claimed:
        fewest = min(result, key=lambda m: len(result[m]))
        for member_id, owned in list(result.items()):
            for tp in owned:
                if tp not in claimed and member_id != fewest and tp not in result[fewest]:
                    result[fewest] = result[fewest] + [tp]
    return result
'''
IN_A_GROUP = [("groups.partitions_to_revoke", REVOKE_NOTHING, "never-rebalanced"),
              ("groups.partitions_to_revoke", REVOKE_WHAT_IS_NEW, "never-rebalanced"),
              ("groups.sticky_assign", STICKY_TWO_OWNERS_WHEN_MEMBERS_LEAVE, "double-ownership")]


def in_a_group(exercise, source):
    from kafkadojo.autograder.properties import Learner, load_all, properties_for
    from kafkadojo.autograder.sandbox import Sandbox
    load_all()
    prop = next(p for p in properties_for(exercise) if p.name.startswith(("in a group", "coop")))
    with Sandbox(source) as sandbox:
        sandbox.start()
        return prop.check(Learner(sandbox))


def test_group_properties_run_at_least_40_fixed_seeds():
    from kafkadojo.autograder.properties import engine
    from kafkadojo.autograder.properties.groups import group_seeds
    for seam in ("sticky_assign", "partitions_to_revoke"):
        assert group_seeds(seam) == list(range(len(group_seeds(seam))))
        assert len(group_seeds(seam)) >= engine.MIN_SEEDS >= 40


@pytest.mark.parametrize("exercise, wrong, anomaly", IN_A_GROUP,
                         ids=["revoke-nothing", "revoke-what-is-new", "two-owners-when-members-leave"])
def test_group_properties_catch_realistic_wrong_rules_on_a_named_seed(exercise, wrong, anomaly):
    import contextlib
    import io
    import re

    from kafkadojo.autograder.properties.groups import group_seeds
    from kafkadojo.exercises.catalog import BY_ID, solution_module
    source = solution_module("groups") + "\n\n" + wrong
    first = in_a_group(exercise, source)
    assert first is not None and first.anomaly == anomaly, first
    seed = int(re.match(r"group run seed (\d+) ", first.counterexample).group(1))
    assert seed < len(group_seeds(BY_ID[exercise].seam))
    again = in_a_group(exercise, source)
    assert (again.anomaly, again.counterexample, again.got) == (first.anomaly, first.counterexample, first.got)
    # the replay runs as printed, in the learner's module, and shows the same run
    code = "\n".join(line[4:] for line in first.replay.splitlines() if line.startswith((">>> ", "... ")))
    assert f"run_group(seed={seed}, " in code
    namespace = {"__name__": "learner"}
    exec(compile(source, "learner.py", "exec"), namespace)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, "<replay>", "exec"), namespace)
    assert printed.getvalue().splitlines()[:-1] == first.got.splitlines()
