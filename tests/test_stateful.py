"""hypothesis drives a cluster through random produces and faults; after every step the
replication invariants must hold (leader in ISR, ISR agrees with the leader below the HW,
replicas agree below their HWs, the leader holds every acknowledged record).

A failure prints the shortest sequence of steps that breaks an invariant; paste it into a
test to replay it (the simulator is seeded, so it replays exactly)."""

import os

import pytest
from hypothesis import Phase, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from kafkadojo.reference import Cluster
from kafkadojo.reference.seams import REFERENCE
from kafkadojo.reference.invariants import acknowledged_records_present, check_cluster

FAST = {"replica.lag.time.max.ms": 3_000, "broker.session.timeout.ms": 2_000,
        "broker.heartbeat.interval.ms": 400}
BROKERS = st.integers(0, 2)


class ReplicationMachine(RuleBasedStateMachine):
    """Safe configuration: RF=3, min.insync.replicas=2, acks=all, clean elections only,
    process crashes (no power loss). Nothing acknowledged may ever be lost."""

    seams = REFERENCE
    broker_config = FAST
    topic_config = {"min.insync.replicas": 2}

    def __init__(self):
        super().__init__()
        self.cluster = Cluster(brokers=3, seed=0, config=self.broker_config, seams=self.seams)
        self.cluster.create_topic("t", partitions=2, replication_factor=3,
                                  config=self.topic_config)
        self.producer = self.cluster.producer(acks="all", linger_ms=1, request_timeout_ms=1_500,
                                              delivery_timeout_ms=4_000)
        self.acknowledged = {}
        self.next_value = 0

    def remember(self, future):
        if future.succeeded:
            value = future.batch.values[future.index]
            self.acknowledged.setdefault(("t", future.partition), {})[future.offset] = value

    @rule(count=st.integers(1, 4), partition=st.integers(0, 1))
    def produce(self, count, partition):
        for _ in range(count):
            value = b"%d" % self.next_value
            self.next_value += 1
            self.producer.send("t", value, partition=partition).add_callback(self.remember)
        self.cluster.run_for(20)

    @rule(broker=BROKERS)
    def crash(self, broker):
        self.cluster.crash(broker)

    @rule(broker=BROKERS)
    def restart(self, broker):
        self.cluster.restart(broker)

    @rule(broker=BROKERS)
    def isolate(self, broker):
        self.cluster.isolate(broker)

    @rule()
    def cut_controller_off(self):
        self.cluster.isolate("controller")

    @rule()
    def heal(self):
        self.cluster.heal()

    @rule(ms=st.sampled_from([5, 50, 500, 3_000, 10_000]))
    def wait(self, ms):
        self.cluster.run_for(ms)

    @invariant()
    def replication_invariants_hold(self):
        violations = check_cluster(self.cluster)
        violations += acknowledged_records_present(self.cluster, self.acknowledged)
        assert not violations, "\n".join(map(str, violations))

    def heal_everything(self):
        cluster = self.cluster
        cluster.heal()
        for broker in range(3):
            cluster.restart(broker)
        cluster.run_for(30_000)

    def teardown(self):
        # Heal everything: every acknowledged record must become readable again.
        self.heal_everything()
        cluster = self.cluster
        for (topic, partition), by_offset in self.acknowledged.items():
            log = cluster.log(cluster.leader(topic, partition), topic, partition)
            values = log.values(0, log.high_watermark)
            for offset, value in by_offset.items():
                assert offset < len(values) and values[offset] == value, (
                    f"acknowledged {value!r} at {topic}-{partition}@{offset} lost after healing")


# Derandomized: CI explores the same sequences every run, so a red build always replays.
# `make soak` explores at random (--soak), and a failure there prints its exact steps.
ReplicationMachine.TestCase.settings = settings(
    max_examples=100, stateful_step_count=40, deadline=None, database=None,
    derandomize=os.environ.get("KAFKADOJO_SOAK") is None)
TestReplication = ReplicationMachine.TestCase


def leader_only_high_watermark(current_hw, leader_leo, follower_leos, isr_size, min_insync_replicas):
    """A classic bug: commit whatever the leader has, without waiting for the ISR."""
    return max(current_hw, leader_leo)


class BuggyHighWatermarkMachine(ReplicationMachine):
    seams = REFERENCE.with_rules(next_high_watermark=leader_only_high_watermark)


def test_the_invariants_catch_a_high_watermark_rule_that_ignores_followers():
    # Finding is enough here (no shrinking): the shrunk example is what a learner sees.
    with pytest.raises((AssertionError, ExceptionGroup)) as failure:
        run_state_machine_as_test(BuggyHighWatermarkMachine, settings=settings(
            max_examples=200, stateful_step_count=40, deadline=None, database=None,
            phases=[Phase.generate]))
    text = repr(failure.value) + "".join(
        repr(e) for e in getattr(failure.value, "exceptions", ()))
    assert "acknowledged" in text


class RetentionMachine(ReplicationMachine):
    """The same faults on a topic whose small segments expire fast, so that retention runs
    on every replica while leaders change: log start offsets stay at or below each high
    watermark, segments stay in order, and every acknowledged record not yet expired is
    still on the leader."""

    broker_config = {**FAST, "log.retention.check.interval.ms": 500}
    topic_config = {"min.insync.replicas": 2, "segment.bytes": 200, "retention.ms": 1_000}

    def teardown(self):
        # Expired records are gone by design; everything else must be on the leader.
        self.heal_everything()
        cluster = self.cluster
        violations = check_cluster(cluster) + acknowledged_records_present(cluster, self.acknowledged)
        assert not violations, "\n".join(map(str, violations))


RetentionMachine.TestCase.settings = settings(
    max_examples=40, stateful_step_count=40, deadline=None, database=None,
    derandomize=os.environ.get("KAFKADOJO_SOAK") is None)
TestRetention = RetentionMachine.TestCase


class GroupMachine(RuleBasedStateMachine):
    """A consumer group under member faults and broker crashes (the coordinator among them).
    Invariants: no partition is owned by two members at once, except by a zombie the
    coordinator had already removed; committed offsets never pass the high watermark; after
    healing, the group settles with every partition owned exactly once."""

    strategy = "cooperative-sticky"

    def __init__(self):
        super().__init__()
        self.cluster = Cluster(brokers=3, seed=0, config={**FAST, "offsets.topic.num.partitions": 3})
        self.cluster.create_topic("t", partitions=4, replication_factor=3,
                                  config={"min.insync.replicas": 2})
        self.producer = self.cluster.producer(linger_ms=0)
        self.members = []
        self.started = 0
        for _ in range(2):
            self.join()

    def make_member(self):
        from kafkadojo.reference.rebalance import App
        self.started += 1
        config = {"group.id": "g", "partition.assignment.strategy": self.strategy,
                  "session.timeout.ms": 6_000, "heartbeat.interval.ms": 1_000,
                  "max.poll.interval.ms": 8_000, "auto.offset.reset": "earliest"}
        return App(self.cluster, f"member-{self.started}", config, 100, 500, seed=self.started,
                   topic="t")

    @rule()
    def join(self):
        self.members.append(self.make_member())

    @rule(which=st.integers(0, 5), crash=st.booleans())
    def stop(self, which, crash):
        running = [m for m in self.members if m.running]
        if len(running) > 1:
            running[which % len(running)].stop(crash=crash)

    @rule(which=st.integers(0, 5))
    def stall(self, which):
        running = [m for m in self.members if m.running]
        running[which % len(running)].stalled_until = self.cluster.now + 10_000

    @rule(broker=BROKERS)
    def bounce_broker(self, broker):
        self.cluster.crash(broker)
        self.cluster.run_for(3_000)
        self.cluster.restart(broker)

    @rule(count=st.integers(1, 10))
    def produce(self, count):
        for i in range(count):
            self.producer.send("t", b"%d" % i, key=b"%d" % i)

    @rule(ms=st.sampled_from([100, 1_000, 5_000, 15_000]))
    def wait(self, ms):
        self.cluster.run_for(ms)

    def outcome_now(self):
        from kafkadojo.reference.rebalance import double_ownership, ownership_intervals, removals
        intervals = ownership_intervals(self.cluster.ownership_log, "g", self.cluster.now)
        history = ()
        for broker in self.cluster.brokers:     # every coordinator's notes, old and new
            group = broker.group_coordinator.describe("g") if broker.alive else None
            history += tuple(group["history"]) if group else ()
        return intervals, double_ownership(intervals, removals(history))

    @invariant()
    def no_double_ownership(self):
        _, (double, _zombies) = self.outcome_now()
        assert not double, f"two owners at once: {double[:3]}"

    @invariant()
    def commits_stay_below_the_high_watermark(self):
        coordinator = self.cluster.group_coordinator("g")
        group = coordinator.group_coordinator.describe("g") if coordinator else None
        for (topic, partition), offset in (group or {}).get("offsets", {}).items():
            leader = self.cluster.leader(topic, partition)
            if leader >= 0 and self.cluster.brokers[leader].alive:
                log = self.cluster.log(leader, topic, partition)
                assert offset <= log.log_end_offset, (topic, partition, offset)

    def teardown(self):
        from kafkadojo.reference.rebalance import settle
        self.cluster.heal()
        for broker in range(3):
            self.cluster.restart(broker)
        for member in self.members:
            member.stalled_until = 0
        settle(self.cluster, self.members, quiet_ms=20_000, limit_ms=60_000)
        intervals, (double, _) = self.outcome_now()
        assert not double
        now = self.cluster.now
        owned = sorted(o.partition for o in intervals if o.end_ms == now)
        assert owned == [("t", p) for p in range(4)], f"owned at the end: {owned}"


GroupMachine.TestCase.settings = settings(
    max_examples=60, stateful_step_count=25, deadline=None, database=None,
    derandomize=os.environ.get("KAFKADOJO_SOAK") is None)
TestGroups = GroupMachine.TestCase


class EagerGroupMachine(GroupMachine):
    strategy = "range"


EagerGroupMachine.TestCase.settings = GroupMachine.TestCase.settings
TestEagerGroups = EagerGroupMachine.TestCase
