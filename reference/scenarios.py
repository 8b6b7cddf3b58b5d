"""Named scenarios in which Kafka loses or forks data, each replayable step by step.

Every scenario is a short script against a seeded ``Cluster``: it narrates what it does,
and returns which acknowledged records were lost and whether replicas diverged. Most come
in two versions, the broken rule and the fix, so a learner can watch both:

- ``kip-101-case-1``: truncating to the high watermark drops a committed record
  (``truncation="high-watermark"``); leader epochs keep it (``"leader-epoch"``).
- ``kip-101-case-2``: after a power loss, truncating to the HW leaves two replicas holding
  different records at the same offset; leader epochs make the follower truncate instead.
- ``last-replica-standing``: the ISR shrinks to the leader, which then loses its unflushed
  tail in a power loss and is re-elected as the only ISR member (KIP-966's motivation).
- ``unclean-leader-election``: a replica outside the ISR becomes leader and everything it
  lacks is gone.
- ``acks-1``: the leader acknowledges before any follower has the records, then dies.

``crash_after_writes`` is the general case behind the drill ``replication.acks-crash``:
which acknowledged records a leader's crash loses under a given ``acks``,
``min.insync.replicas`` and election setting.

    from kafkadojo.reference.scenarios import run_scenario
    result = run_scenario("kip-101-case-1", fixed=False)
    print(result.report())
"""

from dataclasses import dataclass, field

from .cluster import Cluster
from .invariants import check_cluster

TOPIC = "payments"


@dataclass
class ScenarioResult:
    name: str
    fixed: bool             # None: a scenario with no broken version
    summary: str
    steps: list = field(default_factory=list)        # (time_ms, text)
    acknowledged: list = field(default_factory=list)  # values the producer was told are safe
    survived: list = field(default_factory=list)      # values in the final leader's log
    replicas: dict = field(default_factory=dict)      # broker id -> values in its log
    violations: list = field(default_factory=list)
    cluster: Cluster = None

    @property
    def lost(self):
        """Acknowledged values a consumer can no longer read: not in the final leader's log
        (a diverged follower may still hold one, where nobody will ever read it)."""
        survived = set(self.survived)
        return [v for v in self.acknowledged if v not in survived]

    @property
    def diverged(self):
        return any(v.kind in ("replicas-diverged", "isr-diverged") for v in self.violations)

    def report(self):
        version = ("" if self.fixed is None else
                   " (with the fix)" if self.fixed else " (without the fix)")
        lines = [f"== {self.name}{version} ==", self.summary, ""]
        lines += [f"  t={t:>6} ms  {text}" for t, text in self.steps]
        lines.append("")
        lines.append(f"  acknowledged: {_show(self.acknowledged)}")
        for broker_id, values in sorted(self.replicas.items()):
            lines.append(f"  broker {broker_id} log: {_show(values)}")
        lines.append(f"  LOST acknowledged records: {_show(self.lost)}" if self.lost
                     else "  no acknowledged record was lost")
        for violation in self.violations:
            lines.append(f"  DIVERGED: {violation}")
        return "\n".join(lines)


def _show(values):
    return "[" + ", ".join(v.decode() if isinstance(v, bytes) else repr(v) for v in values) + "]"


class _Script:
    """Helpers a scenario uses: narrate, produce and wait, in simulated time."""

    def __init__(self, name, fixed, summary, brokers, seed, topic_config, **cluster_options):
        self.cluster = Cluster(brokers=brokers, seed=seed, **cluster_options)
        self.cluster.create_topic(TOPIC, partitions=1, replication_factor=brokers,
                                  config=topic_config)
        self.result = ScenarioResult(name, fixed, summary, cluster=self.cluster)
        self.producer = self.new_producer("all")

    def new_producer(self, acks):
        # Not idempotent, as producers were when these cases were found: an idempotent one
        # would have its next send after the loss refused (OUT_OF_ORDER_SEQUENCE_NUMBER: the
        # leader's producer state lost the batch too), which is Kafka's warning, not a fix.
        return self.cluster.producer(f"producer-acks-{acks}", acks=acks, linger_ms=0,
                                     request_timeout_ms=2_000, delivery_timeout_ms=6_000,
                                     enable_idempotence=False)

    def say(self, text):
        self.result.steps.append((self.cluster.now, text))

    def produce(self, value, acks=None):
        producer = self.producer
        if acks is not None and acks != producer.config["acks"]:
            producer = self.producer = self.new_producer(acks)
        future = producer.send(TOPIC, value, partition=0)
        self.cluster.run_until(lambda: future.done, timeout_ms=10_000)
        if future.succeeded:
            self.result.acknowledged.append(value)
            self.say(f"produce {value.decode()}: acknowledged at offset {future.offset}")
        else:
            self.say(f"produce {value.decode()}: failed ({future.error})")
        return future

    def log(self, broker_id):
        return self.cluster.log(broker_id, TOPIC, 0)

    def state(self, broker_id):
        log = self.log(broker_id)
        return f"broker {broker_id} log {_show(log.values())} (HW {log.high_watermark}, LEO {log.log_end_offset})"

    def wait_for_leader(self, exclude=(), timeout_ms=30_000):
        self.cluster.run_until(lambda: self.cluster.leader(TOPIC, 0) not in (-1, *exclude),
                               timeout_ms=timeout_ms)
        leader = self.cluster.leader(TOPIC, 0)
        self.say(f"controller elects broker {leader} leader "
                 f"(epoch {self.cluster.registration(TOPIC, 0).leader_epoch}, "
                 f"ISR {self.cluster.isr(TOPIC, 0)})")
        return leader

    def settle(self, ms=3_000):
        self.cluster.run_for(ms)

    def finish(self):
        self.settle(5_000)
        cluster = self.cluster
        self.result.replicas = {b.node_id: self.log(b.node_id).values() for b in cluster.brokers}
        leader = cluster.leader(TOPIC, 0)
        self.result.survived = self.result.replicas.get(leader, [])
        self.result.violations = check_cluster(cluster)
        return self.result


def kip_101_case_1(fixed=True, seed=1):
    """A restarted follower truncates a committed record, then becomes leader."""
    s = _Script("kip-101-case-1", fixed,
                "Replicas A=0 (leader) and B=1. B learns the high watermark one fetch late; "
                "it restarts, and before it can refetch, A dies and B leads.",
                brokers=2, seed=seed, topic_config={"min.insync.replicas": 1},
                truncation="leader-epoch" if fixed else "high-watermark")
    s.say(f"follower truncation rule: {s.cluster.truncation}")
    s.produce(b"m1")
    s.settle(6_000)     # B's HW (1) reaches its high-watermark checkpoint
    s.produce(b"m2")
    s.say(f"{s.state(0)}; {s.state(1)}  <- B has m2 but its HW says only 1 is committed")
    s.cluster.crash(1)
    s.cluster.restart(1)
    s.say("broker 1 (B) crashes and restarts at once: still in the ISR")
    b = s.cluster.brokers[1]
    s.cluster.run_until(lambda: (TOPIC, 0) in b.partitions
                        and b.partitions[(TOPIC, 0)].fetch_offset_sent is not None, timeout_ms=5_000)
    s.say(f"B rejoins as follower and repairs its log: {s.state(1)}")
    s.cluster.crash(0)
    s.say("broker 0 (A) crashes before B's next fetch arrives")
    s.wait_for_leader(exclude=(0,))
    s.produce(b"m3")
    s.cluster.restart(0)
    s.say("broker 0 (A) returns and follows B")
    return s.finish()


def kip_101_case_2(fixed=True, seed=1):
    """After a double crash the two replicas hold different records at one offset."""
    s = _Script("kip-101-case-2", fixed,
                "Replicas A=0 (leader) and B=1 both crash; B loses power and with it its "
                "unflushed m2. B returns first and leads; A returns and must repair its log. "
                "m2 is lost either way (the replica that still has it is not the one elected); "
                "what the fix changes is whether A and B end up disagreeing at offset 1.",
                brokers=2, seed=seed, topic_config={"min.insync.replicas": 1},
                truncation="leader-epoch" if fixed else "high-watermark")
    s.say(f"follower truncation rule: {s.cluster.truncation}")
    s.produce(b"m1")
    s.settle(500)
    s.log(1).flush(s.cluster.now)
    s.say("B's disk flushes m1")
    s.produce(b"m2")
    s.settle(6_000)     # both high watermarks (2) are checkpointed
    s.say(f"{s.state(0)}; {s.state(1)}")
    s.cluster.crash(0)
    s.cluster.crash(1, lose_unflushed=True)
    s.say(f"A crashes; B loses power: {s.state(1)}")
    s.settle(12_000)
    s.cluster.restart(1)
    s.say("B restarts first")
    s.wait_for_leader()
    s.produce(b"m3")
    s.cluster.restart(0)
    s.say("A restarts and follows B")
    s.settle(5_000)
    s.say(f"{s.state(0)}; {s.state(1)}")
    return s.finish()


def last_replica_standing(fixed=False, seed=1):
    """The ISR shrinks to the leader; the leader loses power and is re-elected anyway."""
    config = {"min.insync.replicas": 2}
    if fixed:
        config["flush.messages"] = 1
    s = _Script("last-replica-standing", fixed,
                "Replicas 0 (leader), 1, 2 with min.insync.replicas=2. The followers crash and "
                "leave the ISR; the leader loses power, comes back with only what it had flushed, "
                "and as the last ISR member it is elected again. Kafka's own fix is KIP-966 "
                "(eligible leader replicas, unclean-shutdown detection), which this engine does "
                "not model; the fix shown here is the blunt one, flush.messages=1 (fsync every "
                "write).",
                brokers=3, seed=seed, topic_config=config)
    for value in (b"r1", b"r2", b"r3"):
        s.produce(value)
    s.cluster.crash(1)
    s.cluster.crash(2)
    s.say("followers 1 and 2 crash")
    s.cluster.run_until(lambda: s.cluster.isr(TOPIC, 0) == [0], timeout_ms=30_000)
    s.say(f"the controller fences them: ISR {s.cluster.isr(TOPIC, 0)}")
    s.produce(b"r4")
    s.cluster.crash(0, lose_unflushed=True)
    s.say(f"leader 0 loses power and its unflushed log: {s.state(0)}")
    s.cluster.restart(1)
    s.cluster.restart(2)
    s.say("followers 1 and 2 return, but they are not in the ISR: the partition stays offline")
    s.settle(15_000)
    s.cluster.restart(0)
    s.say("broker 0 returns")
    s.wait_for_leader()
    s.settle(10_000)
    s.say(f"followers truncate to the new leader: {s.state(1)}; {s.state(2)}")
    return s.finish()


def unclean_leader_election(fixed=False, seed=1):
    """A replica that left the ISR becomes leader; whatever it lacks is gone."""
    s = _Script("unclean-leader-election", fixed,
                "Replicas 0 (leader), 1, 2. Broker 2 is down while r1..r3 are written; then 0 "
                "and 1 fail and 2 returns. With unclean.leader.election.enable=true it leads; "
                "with false (the fix) the partition waits, offline, for an ISR member.",
                brokers=3, seed=seed,
                topic_config={"min.insync.replicas": 1, "unclean.leader.election.enable": not fixed})
    s.cluster.crash(2)
    s.say("broker 2 crashes")
    s.cluster.run_until(lambda: 2 not in s.cluster.isr(TOPIC, 0), timeout_ms=30_000)
    s.say(f"ISR {s.cluster.isr(TOPIC, 0)}")
    for value in (b"r1", b"r2", b"r3"):
        s.produce(value)
    s.cluster.crash(0)
    s.cluster.crash(1)
    s.say("brokers 0 and 1 crash")
    s.settle(12_000)
    s.cluster.restart(2)
    s.say("broker 2 returns")
    s.settle(5_000)
    s.say(f"leader: {s.cluster.leader(TOPIC, 0)} (-1 means offline)")
    s.cluster.restart(0)
    s.cluster.restart(1)
    s.say("brokers 0 and 1 return")
    s.wait_for_leader()
    s.settle(10_000)
    return s.finish()


def acks_1(fixed=False, seed=1):
    """The leader acknowledges before replicating, then dies; the new leader never had it."""
    s = _Script("acks-1", fixed,
                "Replicas 0 (leader), 1, 2. The followers fall behind (the network between them "
                "and the leader is cut); records are produced with acks=1 (or acks=all, the fix); "
                "the leader dies.",
                brokers=3, seed=seed, topic_config={"min.insync.replicas": 2})
    s.produce(b"r0", acks="1" if not fixed else "all")
    s.settle(1_000)
    s.cluster.partition_network([0], [1, 2])
    s.say("network cut between leader 0 and followers 1, 2 (the controller still sees all)")
    for value in (b"r1", b"r2"):
        s.produce(value)
    s.cluster.crash(0)
    s.cluster.heal()
    s.say("leader 0 crashes; the network heals")
    s.wait_for_leader(exclude=(0,))
    s.cluster.restart(0)
    s.say("broker 0 returns as a follower and truncates to the new leader")
    return s.finish()


def crash_after_writes(acks="all", min_insync_replicas=2, crash_after_ms=2_000,
                       unclean=False, third_replica_down=False, before=2, during=3, seed=1):
    """Which acknowledged records a leader's crash loses, under the producer's ``acks``, the
    topic's ``min.insync.replicas`` and ``unclean.leader.election.enable`` (the drill
    ``replication.acks-crash`` asks this). Replicas 0 (the leader), 1 and 2, with
    replica.lag.time.max.ms=10,000; ``third_replica_down``: broker 2 crashed long before, and
    the ISR is [0, 1]. ``before`` records are written while the followers keep up; then the
    network between the leader and its followers is cut (the controller still sees every
    broker) and ``during`` records are sent at once; ``crash_after_ms`` later the leader
    crashes and the network heals; 20 s later the leader returns, and so does broker 2."""
    s = _Script("crash-after-writes", None,
                f"acks={acks}, min.insync.replicas={min_insync_replicas}, "
                f"unclean.leader.election.enable={str(unclean).lower()}",
                brokers=3, seed=seed, config={"replica.lag.time.max.ms": 10_000},
                topic_config={"min.insync.replicas": min_insync_replicas,
                              "unclean.leader.election.enable": unclean})
    # One attempt per record, waited for as long as Kafka's defaults wait.
    s.producer = s.cluster.producer("producer", acks=acks, linger_ms=0, retries=0,
                                    request_timeout_ms=30_000, delivery_timeout_ms=120_000,
                                    enable_idempotence=False)
    followers = [1]
    if third_replica_down:
        s.cluster.crash(2)
        s.cluster.run_until(lambda: 2 not in s.cluster.isr(TOPIC, 0), timeout_ms=30_000)
        s.say(f"broker 2 is down; ISR {s.cluster.isr(TOPIC, 0)}")
    else:
        followers.append(2)
    for n in range(before):
        s.produce(f"r{n}".encode())
    s.settle(1_000)
    s.cluster.partition_network([0], followers)
    s.say(f"network cut between leader 0 and {followers}")
    def answered(future, value):
        if future.succeeded:
            s.result.acknowledged.append(value)
            s.say(f"produce {value.decode()}: acknowledged at offset {future.offset}")
        else:
            s.say(f"produce {value.decode()}: failed ({type(future.error).__name__})")
    for n in range(before, before + during):
        value = f"r{n}".encode()
        s.producer.send(TOPIC, value, partition=0).add_callback(
            lambda future, value=value: answered(future, value))
    s.say(f"r{before}..r{before + during - 1} sent")
    s.settle(crash_after_ms)
    s.say(f"ISR {s.cluster.isr(TOPIC, 0)}")
    s.cluster.crash(0)
    s.cluster.heal()
    s.say("leader 0 crashes; the network heals")
    s.settle(20_000)
    s.say(f"leader: {s.cluster.leader(TOPIC, 0)} (-1: offline)")
    s.cluster.restart(0)
    s.cluster.restart(2)
    s.say("brokers 0 and 2 return")
    s.wait_for_leader()
    return s.finish()


SCENARIOS = {
    "kip-101-case-1": kip_101_case_1,
    "kip-101-case-2": kip_101_case_2,
    "last-replica-standing": last_replica_standing,
    "unclean-leader-election": unclean_leader_election,
    "acks-1": acks_1,
}


def run_scenario(name, fixed=False, seed=1, scenarios=SCENARIOS):
    """Replay the scenario ``name`` (of ``scenarios``, a table of them), broken or fixed."""
    if name not in scenarios:
        raise KeyError(f"no scenario {name!r}; scenarios are {sorted(scenarios)}")
    return scenarios[name](fixed=fixed, seed=seed)
