"""Seeded fault schedules: a workload, a nemesis, and a verdict (in the manner of Jepsen).

A run starts a cluster, has producers send unique values and a consumer read them while a
*nemesis* crashes and restarts brokers and cuts the network, then heals everything, reads
every partition to the end, and checks the recorded history for anomalies and the cluster
for broken invariants. The same seed replays the same run exactly:

    from kafkadojo.reference.workload import WorkloadConfig, run
    outcome = run(seed=17, config=WorkloadConfig(acks="1"))
    print(outcome.report())
"""

import random
from dataclasses import dataclass, field, replace
from typing import NamedTuple

from . import errors
from .checker import (TRANSACTION_EXPLANATIONS, Transaction, TransactionRead, check,
                      check_transactions)
from .cluster import Cluster
from .history import History
from .invariants import DurabilityWatch, acknowledged_records_present, check_cluster

TOPIC = "events"
_KEYS = [b"k%d" % i for i in range(16)]     # the keys producers choose from

# Errors after which the record certainly was not written (if it was the only attempt).
DEFINITE_FAILURES = (errors.NotEnoughReplicasError, errors.InvalidRequiredAcksError,
                     errors.UnknownTopicOrPartitionError, errors.InvalidConfigurationError)

FAULTS = ("crash", "restart", "bounce", "rolling-restart", "isolate", "partition", "heal")

# What a producer without enable.idempotence may do under retries (at-least-once): the
# checker still reports these, but they do not count against durability.
AT_LEAST_ONCE = ("duplicate", "nonmonotonic-send")


@dataclass(frozen=True)
class WorkloadConfig:
    brokers: int = 3
    partitions: int = 2
    replication_factor: int = 3
    min_insync_replicas: int = 2
    acks: str = "all"
    unclean_leader_election: bool = False
    truncation: str = "leader-epoch"
    operations: int = 1_000              # sends plus polls before the nemesis stops
    producers: int = 2
    retries: int = 2_147_483_647         # the producer's retries (Kafka's default)
    keyed: bool = True                   # keyed sends (else null keys, sticky partitioning)
    idempotence: bool | None = None      # enable.idempotence (None: the producer's default)
    drop_rate: float = 0.0               # connections that break at random (Network)
    send_interval_ms: int = 40           # mean gap between one producer's sends
    poll_interval_ms: int = 100
    fault_interval_ms: int = 1_000       # mean gap between nemesis actions
    faults: tuple = FAULTS
    lose_unflushed_on_crash: bool = False   # crashes are power losses
    check_invariants: bool = True
    # Also check invariants.DurabilityWatch this often while the faults run (0: never); the
    # first violation ends the faults (the run has failed already).
    watch_interval_ms: int = 0
    broker_config: dict = field(default_factory=dict)

    def cluster_config(self):
        return {"min.insync.replicas": self.min_insync_replicas,
                "unclean.leader.election.enable": self.unclean_leader_election,
                # A faster failure detector and ISR than Kafka's defaults: more faults per
                # simulated minute, same rules.
                "replica.lag.time.max.ms": 4_000,
                "broker.session.timeout.ms": 3_000,
                "broker.heartbeat.interval.ms": 500,
                **self.broker_config}


@dataclass
class Outcome:
    seed: int
    config: WorkloadConfig
    history: History
    result: object                 # checker.CheckResult
    violations: list               # invariants.Violation seen during or after the run
    faults: list                   # (time_ms, description) of what the nemesis did
    acknowledged: int
    simulated_ms: int
    events: int

    @property
    def valid(self):
        return self.result.valid and not self.violations

    @property
    def lost(self):
        """Acknowledged values never read: lost-write plus unseen after the final drain."""
        kinds = self.result.anomalies
        return [a.value for kind in ("lost-write", "unseen") for a in kinds.get(kind, [])]

    def report(self):
        lines = [f"seed {self.seed}: {'VALID' if self.valid else 'INVALID'} — "
                 f"{len(self.history)} history ops, {self.acknowledged} acknowledged sends, "
                 f"{len(self.faults)} faults, {self.simulated_ms} simulated ms, {self.events} events",
                 f"replay: kafkadojo.reference.workload.run(seed={self.seed}, config={self.config!r})"]
        for violation in self.violations[:5]:
            lines.append(f"  invariant broken: {violation}")
        if not self.result.valid or self.result.anomalies:
            lines.append(self.result.report(history=self.history))
        return "\n".join(lines)


class _Run:
    def __init__(self, seed, config, seams=None):
        self.seed = seed
        self.config = config
        self.cluster = Cluster(brokers=config.brokers, seed=seed, config=config.cluster_config(),
                               truncation=config.truncation, seams=seams,
                               drop_rate=config.drop_rate)
        self.cluster.create_topic(TOPIC, partitions=config.partitions,
                                  replication_factor=config.replication_factor)
        self.sim = self.cluster.sim
        self.rng = self.sim.rng
        self.history = History()
        self.operations = 0
        self.next_value = 0
        self.stopped = False
        self.faults = []
        self.violations = []
        self.acknowledged = {}      # (topic, partition) -> {offset: value}, acks=all only
        self.watch = None
        if config.check_invariants and config.watch_interval_ms > 0:
            strong_isr = (not config.unclean_leader_election and config.truncation == "leader-epoch"
                          and not config.lose_unflushed_on_crash)
            self.watch = DurabilityWatch(self.cluster, strong_isr=strong_isr)

    # -- clients ---------------------------------------------------------------------------
    def start(self):
        config = self.config
        for i in range(config.producers):
            idempotence = ({} if config.idempotence is None
                           else {"enable.idempotence": config.idempotence})
            producer = self.cluster.producer(f"producer-{i + 1}", config=idempotence,
                                             acks=config.acks, linger_ms=2,
                                             retries=config.retries, request_timeout_ms=3_000,
                                             delivery_timeout_ms=10_000)
            self.sim.schedule(self.rng.randint(0, config.send_interval_ms), self.send, producer)
        self.consumer = self.cluster.consumer("consumer-1", auto_offset_reset="earliest",
                                              fetch_max_wait_ms=100, request_timeout_ms=3_000)
        partitions = [(TOPIC, p) for p in range(config.partitions)]
        self.consumer.assign(partitions)
        for p in range(config.partitions):
            self.consumer.seek(TOPIC, p, 0)
        self.history.assign(self.sim.now, "consumer-1", TOPIC, tuple(range(config.partitions)))
        self.sim.schedule(config.poll_interval_ms, self.poll)
        if config.faults:           # faults=(): no nemesis at all
            self.sim.schedule(self.rng.randint(1, 2 * config.fault_interval_ms), self.nemesis)
        if self.watch is not None:
            self.sim.schedule(config.watch_interval_ms, self.check_durability)

    def check_durability(self):
        if self.stopped:
            return
        broken = self.watch.check()
        if broken:
            self.violations.extend(broken)
            self.stop()
        else:
            self.sim.schedule(self.config.watch_interval_ms, self.check_durability)

    def count(self):
        self.operations += 1
        if self.operations >= self.config.operations:
            self.stop()

    def stop(self):
        """The operations are done (or a watched invariant broke): the faults stop, and so
        does the run started in ``run``."""
        self.stopped = True
        self.sim.halt()

    def send(self, producer):
        if self.stopped:
            return
        value = b"%d" % self.next_value
        self.next_value += 1
        # int(random() * n), not randrange(n): the same uniform choice, at a third of the cost
        key = _KEYS[int(self.rng.random() * 16)] if self.config.keyed else None
        process = producer.node_id
        self.history.invoke_send(self.sim.now, process, TOPIC, key, value)
        future = producer.send(TOPIC, value, key=key)
        future.add_callback(lambda f: self.on_sent(process, key, value, f))
        self.count()
        self.sim.schedule(1 + int(self.rng.random() * 2 * self.config.send_interval_ms),
                          self.send, producer)

    def on_sent(self, process, key, value, future):
        now = self.sim.now
        error = future.error
        if error is None:
            if future.offset >= 0:
                self.history.send_ok(now, process, TOPIC, future.partition, future.offset, value)
                if self.config.acks in ("all", -1, "-1"):
                    self.acknowledged.setdefault((TOPIC, future.partition), {})[future.offset] = value
            else:
                self.history.send_info(now, process, TOPIC, key, value, "ACKS_0_NO_OFFSET")
        elif future.batch.attempts <= 1 and isinstance(error, DEFINITE_FAILURES):
            self.history.send_fail(now, process, TOPIC, key, value, error.name)
        else:
            self.history.send_info(now, process, TOPIC, key, value, error.name)

    def poll(self, consumer=None, process="consumer-1", final=False):
        consumer = consumer or self.consumer
        if self.stopped and not final:
            return
        try:
            records = consumer.poll_nowait()
        except errors.KafkaError:
            records = []
        self.record_polls(process, records)
        if not final:
            self.count()
            self.sim.schedule(self.config.poll_interval_ms, self.poll)

    def record_polls(self, process, records):
        by_partition = {}
        for record in records:
            by_partition.setdefault(record.partition, []).append((record.offset, record.value))
        for partition, read in sorted(by_partition.items()):
            self.history.poll_ok(self.sim.now, process, TOPIC, partition, tuple(read))

    # -- the nemesis ---------------------------------------------------------------------------
    def nemesis(self):
        if self.stopped:
            return
        cluster = self.cluster
        kind = self.rng.choice(self.config.faults)
        up = [b.node_id for b in cluster.brokers if b.alive]
        down = [b.node_id for b in cluster.brokers if not b.alive]
        if kind == "crash" and len(up) > 1:
            victim = self.rng.choice(up)
            cluster.crash(victim, lose_unflushed=self.config.lose_unflushed_on_crash)
            self.faults.append((self.sim.now, f"crash broker {victim}"))
        elif kind == "restart" and down:
            victim = self.rng.choice(down)
            cluster.restart(victim)
            self.faults.append((self.sim.now, f"restart broker {victim}"))
        elif kind == "bounce" and up:
            victim = self.rng.choice(up)
            cluster.crash(victim, lose_unflushed=self.config.lose_unflushed_on_crash)
            cluster.restart(victim)
            self.faults.append((self.sim.now, f"bounce broker {victim}"))
        elif kind == "rolling-restart":
            # An operator restarting every broker in turn, a few milliseconds apart.
            order = [b.node_id for b in cluster.brokers]
            self.rng.shuffle(order)
            delay = 0
            for victim in order:
                self.sim.schedule(delay, self.bounce, victim)
                delay += self.rng.randint(0, 20)
            self.faults.append((self.sim.now, f"rolling restart {order}"))
        elif kind == "isolate":
            victim = self.rng.choice([b.node_id for b in cluster.brokers])
            cluster.isolate(victim)
            self.faults.append((self.sim.now, f"isolate broker {victim}"))
        elif kind == "partition":
            nodes = [b.node_id for b in cluster.brokers] + ["controller"]
            self.rng.shuffle(nodes)
            cut = self.rng.randint(1, len(nodes) - 1)
            cluster.partition_network(nodes[:cut], nodes[cut:])
            self.faults.append((self.sim.now, f"partition {nodes[:cut]} | {nodes[cut:]}"))
        elif kind == "heal":
            cluster.heal()
            self.faults.append((self.sim.now, "heal"))
        if self.config.check_invariants:
            self.violations.extend(check_cluster(cluster))
        self.sim.schedule(self.rng.randint(1, 2 * self.config.fault_interval_ms), self.nemesis)

    def bounce(self, victim):
        if not self.stopped:
            self.cluster.crash(victim, lose_unflushed=self.config.lose_unflushed_on_crash)
            self.cluster.restart(victim)

    # -- the end ---------------------------------------------------------------------------
    def finish(self):
        cluster = self.cluster
        cluster.heal()
        for broker in cluster.brokers:
            cluster.restart(broker.node_id)
        self.faults.append((self.sim.now, "heal and restart everything"))
        producers = [c for c in cluster.clients if hasattr(c, "unfinished")]
        # These two conditions are checked after every event: plain loops, no generators.
        def producers_done():
            for producer in producers:
                if producer.unfinished != 0:
                    return False
            return True

        def isr_complete():
            for reg in cluster.controller.partitions.values():
                if len(reg.isr) != len(reg.replicas) or reg.leader < 0:
                    return False
            return True
        cluster.run_until(producers_done, timeout_ms=30_000)
        # Let the ISR re-form so the final read sees every committed record.
        cluster.run_until(isr_complete, timeout_ms=60_000)
        cluster.run_for(2_000)
        if self.config.check_invariants:
            self.violations.extend(check_cluster(cluster))
            if self.watch is not None:
                self.violations.extend(self.watch.check())
            if self.config.acks in ("all", -1, "-1") and self.safe_configuration():
                self.violations.extend(acknowledged_records_present(cluster, self.acknowledged))
        self.final_read()

    def safe_configuration(self):
        c = self.config
        return (not c.unclean_leader_election and c.truncation == "leader-epoch"
                and not c.lose_unflushed_on_crash and c.min_insync_replicas >= 2)

    def final_read(self):
        """A fresh consumer reads every partition from its start to its high watermark."""
        cluster = self.cluster
        reader = cluster.consumer("final-reader", auto_offset_reset="earliest",
                                  request_timeout_ms=3_000)
        partitions = [(TOPIC, p) for p in range(self.config.partitions)]
        reader.assign(partitions)
        self.history.assign(self.sim.now, "final-reader", TOPIC, tuple(range(self.config.partitions)))
        ends = {}
        for _, p in partitions:
            _, log = _leader_log(cluster, TOPIC, p)
            ends[p] = log.high_watermark if log is not None else 0
        def drained():
            return all((reader.assignment[(TOPIC, p)].position or 0) >= ends[p] for p in ends)
        for _ in range(200):
            if drained():
                break
            try:
                records = reader.poll(200)
            except errors.KafkaError:
                records = []
            self.record_polls("final-reader", records)


def _leader_log(cluster, topic, partition):
    from .invariants import acting_leader
    return acting_leader(cluster, topic, partition)


def run(seed, config=WorkloadConfig(), seams=None, event_budget=None):
    """Run one seeded fault schedule and check it. Returns an ``Outcome``. ``seams`` plugs
    other rules into the engine (a learner's, say): see ``seams.py``; ``event_budget`` caps
    the simulator's events (``StepBudgetExceeded``)."""
    state = _Run(seed, config, seams)
    state.sim.event_budget = event_budget
    state.start()
    state.cluster.run_for(10_000_000)       # until state.stop() halts it
    state.finish()
    result = check(state.history, require_all_seen=True, tolerate=AT_LEAST_ONCE)
    return Outcome(seed, config, state.history, result, state.violations, state.faults,
                   sum(len(v) for v in state.acknowledged.values()) if config.acks in ("all", -1, "-1")
                   else sum(1 for op in state.history.ops if op.type == "ok" and op.f == "send"),
                   state.sim.now, state.sim.events_run)


def variant(**changes):
    return replace(WorkloadConfig(), **changes)


# -- retention under load ---------------------------------------------------------------------

@dataclass
class RetentionOutcome:
    seed: int
    topic_config: dict
    snapshots: list                # per retention check: {broker: (start, HW, LEO, segment bases)}
    violations: list               # text: what broke, and when

    def report(self):
        lines = [f"seed {self.seed}: retention with {self.topic_config}"]
        for i, snapshot in enumerate(self.snapshots):
            shown = "  ".join(f"b{b}: start {s} HW {hw} LEO {leo} segs {list(bases)}"
                              for b, (s, hw, leo, bases) in sorted(snapshot.items()))
            lines.append(f"  check {i + 1}: {shown}")
        lines += [f"  broken: {v}" for v in self.violations]
        return "\n".join(lines)


def run_retention(seed, seams=None, checks=10, event_budget=None):
    """Retention at work: a replicated partition with small segments takes bursts of records
    (now and then late ones, stamped in the past) while a follower now and then crashes and
    returns; every broker applies retention to its
    own log every 5 simulated seconds. Returns each replica's offsets after every check, and
    any broken rule (a log start offset above the high watermark, replicas that disagree)."""
    interval = 5_000
    cluster = Cluster(brokers=3, seed=seed, seams=seams, event_budget=event_budget, config={
        "log.retention.check.interval.ms": interval, "replica.lag.time.max.ms": 4_000,
        "broker.session.timeout.ms": 3_000, "broker.heartbeat.interval.ms": 500})
    rng = cluster.sim.rng
    topic_config = {"min.insync.replicas": 2,
                    "segment.bytes": rng.choice([300, 600, 1_200]),
                    "segment.ms": rng.choice([2_000, 60_000]),
                    "retention.ms": rng.choice([-1, 3_000, 8_000, 20_000]),
                    "retention.bytes": rng.choice([-1, 1_000, 3_000])}
    cluster.create_topic(TOPIC, partitions=1, replication_factor=3, config=topic_config)
    producer = cluster.producer("retention-producer", acks="all", linger_ms=rng.choice([0, 20]),
                                request_timeout_ms=3_000, delivery_timeout_ms=10_000)
    snapshots, violations, crashed, sent, down_checks = [], [], [], 0, 0
    for check_number in range(checks):
        deadline = cluster.now + interval
        burst = rng.randint(0, 25)
        if not crashed and rng.random() < 0.15:
            # Both followers die mid-burst: the ISR falls below min.insync.replicas and the
            # high watermark freezes below records the leader already has.
            leader = cluster.leader(TOPIC, 0)
            crashed = [b for b in range(3) if b != leader]
            burst = max(burst, 10)
        # now and then a burst of late records (a producer replaying old data): segments'
        # newest timestamps then need not grow from one segment to the next
        lateness = rng.choice([0, 0, 0, 12_000])
        for i in range(burst):
            producer.send(TOPIC, b"r%d" % sent, partition=0,
                          timestamp=max(cluster.now - lateness, 0) if lateness else None)
            sent += 1
            cluster.run_for(rng.randint(0, 150))
            if len(crashed) == 2 and i == burst // 2:
                for broker in crashed:
                    cluster.crash(broker)
        down_checks = down_checks + 1 if crashed else 0
        if crashed and rng.random() < 0.5 and (len(crashed) == 1 or down_checks > 2):
            for broker in crashed:
                cluster.restart(broker)
            crashed = []
        elif not crashed and rng.random() < 0.3:
            leader = cluster.leader(TOPIC, 0)
            crashed = [rng.choice([b for b in range(3) if b != leader])]
            cluster.crash(crashed[0])
        cluster.run_for(max(deadline - cluster.now, 0) + 1)
        snapshot = {}
        for broker in cluster.brokers:
            log = broker.logs.get((TOPIC, 0))
            if log is None or not broker.alive:
                continue
            snapshot[broker.node_id] = (log.log_start_offset, log.high_watermark,
                                        log.log_end_offset, tuple(log.segment_bases))
            if log.log_start_offset > log.high_watermark:
                violations.append(f"check {check_number + 1}: broker {broker.node_id}'s log "
                                  f"starts at {log.log_start_offset}, above its HW "
                                  f"{log.high_watermark}")
        snapshots.append(snapshot)
    violations += [str(v) for v in check_cluster(cluster)]
    return RetentionOutcome(seed, topic_config, snapshots, violations)


# -- compaction under load --------------------------------------------------------------------

COMPACTED = "table"


@dataclass
class CompactionOutcome:
    seed: int
    topic_config: dict
    anomalies: list                 # (kind, what shows it), in the order found
    cleaner_runs: int               # cleaning passes, all brokers together
    records_removed: int
    checks: list = field(default_factory=list)   # per check: {broker: (HW, records, keys)}

    @property
    def valid(self):
        return not self.anomalies

    def report(self):
        lines = [f"seed {self.seed}: a compacted topic with {self.topic_config}; "
                 f"{self.cleaner_runs} cleaning passes removed {self.records_removed} records"]
        for i, check in enumerate(self.checks):
            shown = "  ".join(f"b{b}: HW {hw}, {n} records, {k} keys"
                              for b, (hw, n, k) in sorted(check.items()))
            lines.append(f"  check {i + 1}: {shown}")
        lines += [f"  {kind}: {detail}" for kind, detail in self.anomalies]
        return "\n".join(lines)


def replay_table(records):
    """The table a log stands for: each key's latest value, a tombstone deleting its key."""
    table = {}
    for _, key, value in records:
        if value is None:
            table.pop(key, None)
        else:
            table[key] = value
    return table


def table_anomalies(mine, truth, whose):
    """What differs between a table read back and the truth, by Jepsen-style names."""
    found = []
    for key in sorted(set(mine) | set(truth)):
        have, want = mine.get(key), truth.get(key)
        if have == want:
            continue
        if have is None:
            found.append(("lost-latest-value", f"{whose}: key {key!r} is gone, its latest "
                                               f"value is {want!r}"))
        elif want is None:
            found.append(("deleted-key-back", f"{whose}: key {key!r} was deleted, yet it "
                                              f"reads {have!r}"))
        else:
            found.append(("stale-value", f"{whose}: key {key!r} reads {have!r}, an older value; "
                                         f"its latest is {want!r}"))
    return found


def run_compaction(seed, seams=None, checks=12, event_budget=None):
    """Compaction at work: a replicated compacted topic (a table's change log: a dozen keys
    updated and now and then deleted), small segments, a cleaner pass every second on every
    broker, a broker crashing and coming back now and then, a leader now and then cut off
    from its followers and the controller (it takes writes it will have to truncate), and a
    slow consumer reading from the beginning in bursts a few seconds apart.

    Every 5 simulated seconds each live replica's log is replayed below its high watermark
    into a table, and compared with the table the records written stand for: cleaning may
    remove a record only when a later one of its key makes it redundant, or a tombstone once
    ``delete.retention.ms`` has passed since a pass first kept it. At the end, the slow
    consumer's table must be the same (it reads faster than ``delete.retention.ms``, so it
    sees every tombstone), the offset it last committed (``__consumer_offsets`` is compacted
    by the same cleaners) must be the one its group's coordinator holds, and the cleaners
    must have cleaned."""
    choose = random.Random(f"compaction {seed}")
    cluster = Cluster(brokers=3, seed=seed, seams=seams, event_budget=event_budget, config={
        "log.cleaner.backoff.ms": 1_000, "replica.lag.time.max.ms": 4_000,
        "broker.session.timeout.ms": 3_000, "broker.heartbeat.interval.ms": 500,
        # sometimes an offset map too small for a whole pass (5 or 18 keys)
        "log.cleaner.dedupe.buffer.size": choose.choice([24 * 6, 24 * 20, 134_217_728]),
        # the reader's commits, compacted by the same cleaners
        "offsets.topic.num.partitions": 1, "offsets.topic.segment.bytes": 600})
    rng = cluster.sim.rng
    topic_config = {"cleanup.policy": "compact", "min.insync.replicas": 2,
                    "segment.bytes": choose.choice([300, 500, 900]),
                    "min.cleanable.dirty.ratio": choose.choice([0.0, 0.2, 0.5]),
                    "min.compaction.lag.ms": choose.choice([0, 0, 2_000]),
                    "max.compaction.lag.ms": choose.choice([9_223_372_036_854_775_807, 6_000]),
                    "delete.retention.ms": choose.choice([20_000, 40_000])}
    cluster.create_topic(COMPACTED, partitions=1, replication_factor=3, config=topic_config)
    producer = cluster.producer("table-writer", acks="all", linger_ms=rng.choice([0, 20]),
                                batch_size=200, request_timeout_ms=3_000,
                                delivery_timeout_ms=10_000)
    reader = cluster.consumer("slow-reader", group_id="table-readers",
                              auto_offset_reset="earliest", enable_auto_commit=False,
                              max_poll_records=40, request_timeout_ms=3_000)
    reader.assign([(COMPACTED, 0)])
    commits = []                # (offset, whether it was acknowledged), in order
    truth = {}                  # offset -> (key, value): every record known to be written
    sent, reader_table, anomalies, snapshots = [], {}, [], []
    keys = [b"key-%02d" % i for i in range(12)]
    down, cut, next_read = None, False, 0

    def learn(futures):
        for future, key, value in futures:
            if future.batch.done and future.batch.error is None:
                truth[future.get()] = (key, value)
        return [f for f in futures if not f[0].batch.done]

    def read_some():
        records = reader.poll_nowait()
        for record in records:
            if record.value is None:
                reader_table.pop(record.key, None)
            else:
                reader_table[record.key] = record.value
        if records:             # the reader commits where it is (a table kept elsewhere would)
            position = reader.position(COMPACTED, 0)
            try:
                reader.commit({(COMPACTED, 0): position})
                commits.append((position, True))
            except errors.KafkaError:
                commits.append((position, False))   # it may yet have been written

    for number in range(checks):
        deadline = cluster.now + 5_000
        for i in range(rng.randint(5, 30)):
            key = rng.choice(keys)
            value = None if rng.random() < 0.15 else b"v%d" % len(truth) + b"-%d" % i
            sent.append((producer.send(COMPACTED, key=key, value=value, partition=0), key, value))
            cluster.run_for(rng.randint(0, 150))
            if cluster.now >= next_read:
                read_some()
                next_read = cluster.now + rng.randint(2_000, 6_000)
        if cut:
            cluster.heal()
            cut = False
        if down is None and rng.random() < 0.3:
            down = rng.randrange(3)
            cluster.crash(down)
        elif down is not None and rng.random() < 0.5:
            cluster.restart(down)
            down = None
        elif down is None and rng.random() < 0.3 and cluster.leader(COMPACTED, 0) >= 0:
            # The leader loses its followers and the controller, not its clients: it takes
            # writes it cannot commit (its HW stands still) until another leader is elected,
            # then truncates them. A cleaner that cleaned above the HW lost older values then.
            leader = cluster.leader(COMPACTED, 0)
            cluster.partition_network([leader], [b for b in range(3) if b != leader]
                                      + ["controller"])
            cut = True
        while cluster.now < deadline:
            cluster.run_for(min(500, deadline - cluster.now))
            if cluster.now >= next_read:
                read_some()
                next_read = cluster.now + rng.randint(2_000, 6_000)
        sent = learn(sent)
        logs = {b.node_id: b.logs[(COMPACTED, 0)] for b in cluster.brokers
                if b.alive and (COMPACTED, 0) in b.logs}
        # Each replica is read below its HW, or below where it last cleaned if that is higher
        # (a replica that restarted takes its HW from a checkpoint a few seconds old; what it
        # had cleaned was committed, and is what a reader would read there)
        bounds = {b: min(max(log.high_watermark, log.cleaner_checkpoint or 0),
                         log.log_end_offset) for b, log in logs.items()}
        held = {b: [(r.offset, r.key, r.value) for batch in log.batches
                    for r in batch.records(COMPACTED, 0) if r.offset < bounds[b]]
                for b, log in logs.items()}
        for records in held.values():
            for offset, key, value in records:
                truth.setdefault(offset, (key, value))
        snapshot = {}
        for broker, records in sorted(held.items()):
            hw = bounds[broker]
            offsets = [offset for offset, _, _ in records]
            if offsets != sorted(set(offsets)):
                anomalies.append(("offsets-reordered", f"check {number + 1}, broker {broker}: "
                                                       f"offsets {offsets[:20]}..."))
            expected = replay_table((o, k, v) for o, (k, v) in sorted(truth.items()) if o < hw)
            for kind, detail in table_anomalies(replay_table(records), expected,
                                                f"check {number + 1}, broker {broker} (HW {hw})"):
                anomalies.append((kind, detail))
            snapshot[broker] = (hw, len(records), len(replay_table(records)))
        snapshots.append(snapshot)
        if anomalies:
            break
    if down is not None:
        cluster.restart(down)
    cluster.heal()
    producer.flush()
    sent = learn(sent)
    cluster.run_for(20_000)
    for _ in range(50):         # the slow reader catches up with everything committed
        read_some()
        cluster.run_for(1_000)
        leader = cluster.leader(COMPACTED, 0)
        if leader >= 0 and reader.position(COMPACTED, 0) == \
                cluster.log(leader, COMPACTED, 0).high_watermark:
            break
    leader = cluster.leader(COMPACTED, 0)
    if not anomalies and leader >= 0:
        hw = cluster.log(leader, COMPACTED, 0).high_watermark
        expected = replay_table((o, k, v) for o, (k, v) in sorted(truth.items()) if o < hw)
        anomalies += [(kind, detail) for kind, detail in table_anomalies(
            reader_table, expected, "the slow consumer, at the end")]
    acknowledged = [i for i, (_, ok) in enumerate(commits) if ok]
    if not anomalies and acknowledged:
        # The coordinator (moved by the faults, loading the compacted __consumer_offsets) must
        # hold the last acknowledged commit, or one attempted after it.
        allowed = {offset for offset, _ in commits[acknowledged[-1]:]}
        try:
            stored = cluster.describe_group("table-readers")["offsets"].get((COMPACTED, 0))
        except errors.KafkaError as error:
            stored = f"nothing ({error})"
        if stored not in allowed:
            anomalies.append(("commit-lost", f"the group's committed offset is {stored}, but "
                                             f"{commits[acknowledged[-1]][0]} was acknowledged "
                                             f"last (commits: {[o for o, _ in commits]})"))
    anomalies += [(v.kind, str(v)) for v in check_cluster(cluster)]
    runs = sum(b.log_cleaner.stats.runs for b in cluster.brokers)
    removed = sum(b.log_cleaner.stats.records_removed for b in cluster.brokers)
    if not anomalies and removed == 0:
        anomalies.append(("never-cleaned", f"{len(truth)} records written to a dozen keys, and "
                                           f"no cleaning pass removed any"))
    return CompactionOutcome(seed, topic_config, anomalies, runs, removed, snapshots)


# -- transactions under faults -----------------------------------------------------------------

LEDGER = "ledger"
TRANSACTIONAL_IDS = ("teller-a", "teller-b")


@dataclass(frozen=True)
class TransactionsOutcome:
    seed: int
    transactions: list              # checker.Transaction
    reads: list                     # checker.TransactionRead, in order
    anomalies: dict                 # kind -> [(detail, proof)]
    faults: list                    # (time, what the nemesis did)

    @property
    def valid(self):
        return not self.anomalies

    def report(self):
        told = [t.told for t in self.transactions]
        lines = [f"seed {self.seed}: {len(self.transactions)} transactions "
                 f"({told.count('committed')} committed, {told.count('aborted')} aborted, "
                 f"{told.count('unknown')} unknown to their producer), {len(self.reads)} "
                 f"records read by a read_committed consumer, {len(self.faults)} faults"]
        for kind, found in self.anomalies.items():
            lines.append(f"  {kind} ({len(found)}): {TRANSACTION_EXPLANATIONS[kind]}")
            for detail, proof in found[:3]:
                lines.append(f"    {detail}")
                lines += [f"      {step}" for step in proof[:4]]
        return "\n".join(lines)


def fates_in_logs(cluster, topic, partitions):
    """``{value: "COMMIT" | "ABORT"}`` for every transactional record the partitions' leaders
    hold below their high watermark, by the markers that closed its transaction."""
    fates = {}
    for partition in range(partitions):
        leader = cluster.leader(topic, partition)
        if leader < 0:
            continue
        log = cluster.log(leader, topic, partition)
        open_values = {}            # producer id -> values of its open transaction
        for batch in log.batches:
            if batch.base_offset >= log.high_watermark:
                break
            if batch.control is not None:
                for value in open_values.pop(batch.producer_id, []):
                    fates[value] = batch.control
            elif batch.transactional:
                open_values.setdefault(batch.producer_id, []).extend(batch.values)
    return fates


def run_transactions(seed, seams=None, transactions=24, event_budget=None):
    """Transactions under faults: two transactional producers ("tellers") write transactions
    of one to four records across a three-partition topic, committing most and aborting
    some, while brokers crash and restart and leaders are cut off; a read_committed consumer
    reads along. At the end everything heals, open transactions time out, the consumer reads
    every partition to its end, and ``checker.check_transactions`` judges what it saw against
    the markers in the logs. The same seed replays the same run."""
    rng = random.Random(seed)
    cluster = Cluster(brokers=3, seed=seed, seams=seams, event_budget=event_budget, config={
        # few internal partitions: the run needs one coordinator, not fifty
        "transaction.state.log.num.partitions": 3, "offsets.topic.num.partitions": 3,
        "transaction.abort.timed.out.transaction.cleanup.interval.ms": 2_000})
    cluster.create_topic(LEDGER, partitions=3, replication_factor=3,
                         config={"min.insync.replicas": 2})
    options = {"transaction_timeout_ms": 6_000, "max_block_ms": 8_000,
               "request_timeout_ms": 2_000, "delivery_timeout_ms": 6_000}
    producers = {}
    faults, done, reads = [], [], []
    consumer = cluster.consumer(isolation_level="read_committed", auto_offset_reset="earliest")
    consumer.assign([(LEDGER, p) for p in range(3)])

    def read_some(wait_ms=0):
        for record in consumer.poll(wait_ms):
            reads.append(TransactionRead(cluster.now, record.topic, record.partition,
                                         record.offset, record.value))

    def instance(name):
        """The teller's producer, a new instance if the last one was fenced or failed."""
        producer = producers.get(name)
        if producer is not None and producer.transactions.state != "FATAL_ERROR":
            return producer
        producer = producers[name] = cluster.producer(transactional_id=name, **options)
        try:
            producer.init_transactions()
        except errors.KafkaError:
            producers.pop(name)
            return None
        return producer

    down = None
    for number in range(transactions):
        name = rng.choice(TRANSACTIONAL_IDS)
        producer = instance(name)
        if producer is None:
            cluster.run_for(1_000)
            continue
        records, started = [], cluster.now
        told = "unknown"
        try:
            if producer.transactions.state == "ABORTABLE_ERROR":
                producer.abort_transaction()
            producer.begin_transaction()
            for i in range(rng.randint(1, 4)):
                value = b"%s/%d/%d" % (name.encode(), number, i)
                partition = rng.randrange(3)
                records.append((LEDGER, partition, value))
                producer.send(LEDGER, value, partition=partition)
                cluster.run_for(rng.randint(0, 40))
            if rng.random() < 0.25:
                producer.abort_transaction()
                told = "aborted"
            else:
                producer.commit_transaction()
                told = "committed"
        except errors.KafkaError:
            told = "unknown"
        done.append((f"{name}#{number}", name, tuple(records), told, started, cluster.now))
        read_some()
        # the nemesis, between transactions
        roll = rng.random()
        if down is None and roll < 0.2:
            down = rng.randrange(3)
            cluster.crash(down)
            faults.append((cluster.now, f"crash broker {down}"))
        elif down is not None and roll < 0.5:
            cluster.restart(down)
            faults.append((cluster.now, f"restart broker {down}"))
            down = None
        cluster.run_for(rng.randint(0, 300))
    if down is not None:
        cluster.restart(down)
        faults.append((cluster.now, f"restart broker {down}"))
    cluster.heal()
    cluster.run_for(20_000)             # open transactions time out; markers land
    for _ in range(40):
        read_some(500)
        ends = [cluster.log(cluster.leader(LEDGER, p), LEDGER, p)
                for p in range(3) if cluster.leader(LEDGER, p) >= 0]
        if len(ends) == 3 and all(consumer.position(LEDGER, p) >= log.last_stable_offset
                                  for p, log in enumerate(ends)):
            break
    fates = fates_in_logs(cluster, LEDGER, 3)
    decisions = cluster.transaction_log
    found = []
    for label, name, records, told, started, ended in done:
        decided = next((t for t, tid, _, _, state in decisions
                        if tid == name and started <= t <= ended and state == "PrepareCommit"),
                       None)
        record_fates = {fates.get(value) for _, _, value in records}
        fate = "COMMIT" if "COMMIT" in record_fates else (
            "ABORT" if "ABORT" in record_fates else None)
        found.append(Transaction(label, records, told, decided, fate))
    hanging = []
    for p in range(3):
        leader = cluster.leader(LEDGER, p)
        if leader >= 0:
            log = cluster.log(leader, LEDGER, p)
            if log.last_stable_offset < log.high_watermark:
                hanging.append((LEDGER, p, log.last_stable_offset, log.high_watermark))
    anomalies = check_transactions(found, reads, read_to_end=True, hanging=hanging)
    return TransactionsOutcome(seed, found, reads, anomalies, faults)


# -- ACLs in a running cluster ---------------------------------------------------------------------

SECURE_CLUSTER = {
    "listeners": "SASL_PLAINTEXT://:9092", "sasl.enabled.mechanisms": "SCRAM-SHA-256",
    "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
    "super.users": "User:admin", "offsets.topic.num.partitions": 3}
SECURE_USERS = ("alice", "bob", "carol")
SECURE_TOPICS = ("tenantA.orders", "tenantB.orders", "shared", "audit")


@dataclass(frozen=True)
class AclOutcome:
    seed: int
    acls: list                      # the AclBindings in force
    attempts: list                  # (user, action, resource, outcome, what the ACLs allow)
    anomalies: list                 # (kind, detail)

    @property
    def valid(self):
        return not self.anomalies

    def report(self):
        lines = [f"seed {self.seed}: {len(self.acls)} ACLs, {len(self.attempts)} attempts"]
        lines += [f"  ACL {acl}" for acl in self.acls]
        lines += [f"  {kind}: {detail}" for kind, detail in self.anomalies]
        return "\n".join(lines)


def _scram_login(user, password):
    return {"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "SCRAM-SHA-256",
            "sasl_jaas_config": "org.apache.kafka.common.security.scram.ScramLoginModule "
                                f'required username="{user}" password="{password}";'}


def run_acls(seed, seams=None, attempts=12, event_budget=None, groups=False):
    """ACLs and SCRAM at work: three users, tenant topics and a shared one, ACLs drawn at
    random (prefixed and literal, ALLOW and DENY, READ, WRITE and ALL, some for User:*); each
    user in turn tries to write to or read from a topic, authenticating with SCRAM first
    (now and then with a wrong password). With ``groups``, ACLs on consumer groups too, and
    two more kinds of attempt: join a group to consume a topic, and list the topics. Every
    attempt is judged against what Kafka's rules decide for the same ACLs:
    ``unauthorized-access`` (it worked, the ACLs deny it), ``authorized-refused`` (refused,
    the ACLs allow it), ``impostor-accepted`` (a wrong password got in), ``user-refused``
    (the right one did not)."""
    from .authorizer import AclBinding, authorize
    rng = random.Random(seed)
    cluster = Cluster(brokers=3, seed=seed, seams=seams, event_budget=event_budget,
                      config=SECURE_CLUSTER)
    for user in SECURE_USERS:
        cluster.upsert_scram_credential(user, f"{user}-pw")
    for topic in SECURE_TOPICS:
        cluster.create_topic(topic, replication_factor=3)
    pool = [AclBinding("TOPIC", name, pattern, principal, "*", operation, permission)
            for name, pattern in (("tenantA.", "PREFIXED"), ("tenantB.", "PREFIXED"),
                                  ("shared", "LITERAL"), ("tenant", "PREFIXED"))
            for principal in ("User:alice", "User:bob", "User:carol", "User:*")
            for operation in ("READ", "WRITE", "ALL", "DESCRIBE")
            for permission in ("ALLOW", "ALLOW", "ALLOW", "DENY")]
    pool += [AclBinding("TOPIC", "*", "LITERAL", "User:carol", "*", operation, permission)
             for operation in ("READ", "WRITE") for permission in ("ALLOW", "DENY")]
    if groups:
        pool += [AclBinding("GROUP", name, "PREFIXED", principal, "*", operation, permission)
                 for name in ("tenantA.", "tenantB.", "shared")
                 for principal in ("User:alice", "User:bob", "User:carol", "User:*")
                 for operation in ("READ", "ALL", "DESCRIBE")
                 for permission in ("ALLOW", "ALLOW", "ALLOW", "DENY")]
    acls = rng.sample(pool, rng.randint(8, 16) * (2 if groups else 1))
    cluster.create_acls(acls)
    found, tried = [], []
    for number in range(attempts):
        user = rng.choice(SECURE_USERS)
        topic = rng.choice(SECURE_TOPICS)
        impostor = rng.random() < 0.15
        login = _scram_login(user, "guess" if impostor else f"{user}-pw")
        principal = f"User:{user}"

        def allowed(operation, resource_type="TOPIC", name=None):
            return authorize(tuple(acls), frozenset({"User:admin"}), False, principal,
                             "*", operation, resource_type, name or topic) == "ALLOWED"
        kind = rng.random() if groups else 1.0
        if groups and kind < 0.3:
            group = f"{rng.choice(['tenantA.', 'tenantB.', 'shared'])}app-{number}"
            action = f"join {group} to consume"
            expected = (allowed("READ", "GROUP", group) and allowed("DESCRIBE", "GROUP", group)
                        and allowed("READ") and allowed("DESCRIBE"))
            consumer = cluster.consumer(f"j{number}", group_id=group,
                                        auto_offset_reset="earliest", **login)
            consumer.subscribe([topic])
            error = None
            try:
                for _ in range(12):
                    consumer.poll(500)
                    if consumer.assignment:
                        break
            except errors.KafkaError as failure:
                error = failure
            if error is None and not consumer.assignment:
                error = errors.RequestTimedOutError("no partition assigned within 6 s")
        elif groups and kind < 0.45:
            action, topic = "list the topics", "(all)"
            visible = sorted(t for t in cluster.controller.topics
                             if allowed("DESCRIBE", name=t) and not t.startswith("__"))
            error = None
            try:
                listed = cluster.admin(f"l{number}", **login).list_topics()
            except errors.KafkaError as failure:
                error = failure
            if error is None and listed != visible:
                shown = sorted(set(listed) - set(visible))
                detail = (f"it saw {shown}, which the ACLs hide" if shown else
                          f"it did not see {sorted(set(visible) - set(listed))}, which the "
                          f"ACLs let it describe")
                found.append(("unauthorized-access" if shown else "authorized-refused",
                              f"User:{user} listed {listed}: {detail}"))
                tried.append((user, action, topic, "ok", f"sees {visible}"))
                break
            expected = True
        elif rng.random() < 0.5:
            action, expected = "write", allowed("WRITE") and allowed("DESCRIBE")
            producer = cluster.producer(f"w{number}", enable_idempotence=False, **login)
            future = producer.send(topic, b"from %s" % user.encode(), partition=0)
            cluster.run_for(3_000)
            error = future.error if future.done else errors.RequestTimedOutError("no answer")
        else:
            action, expected = "read", allowed("READ") and allowed("DESCRIBE")
            consumer = cluster.consumer(f"r{number}", auto_offset_reset="earliest", **login)
            consumer.assign([(topic, 0)])
            error = None
            try:
                for _ in range(3):
                    consumer.poll(1_000)
            except errors.KafkaError as failure:
                error = failure
        outcome = "ok" if error is None else error.name
        tried.append((user, action, topic, outcome, "allowed" if expected else "denied"))
        who = f"{'an impostor of ' if impostor else ''}{principal}"
        if impostor:
            # what the brokers decided, not what the client saw (a real client also checks
            # the broker's signature, which an attacker need not do)
            client_id = {"write": "w", "read": "r", "list the topics": "l"}.get(action, "j")
            fooled = [b.node_id for b in cluster.brokers
                      if b.authenticator.principals.get(f"{client_id}{number}") == principal]
            if fooled or not isinstance(error, errors.SaslAuthenticationFailedError):
                found.append(("impostor-accepted", f"{who} with a wrong password was "
                                                   f"authenticated by broker(s) {fooled}"))
                break
            continue
        if isinstance(error, errors.SaslAuthenticationFailedError):
            found.append(("user-refused", f"{who} with the right password was refused: "
                                          f"{error}"))
        elif error is None and not expected:
            found.append(("unauthorized-access", f"{who} could {action} {topic}, which the "
                                                 f"ACLs deny"))
        elif expected and isinstance(error, (errors.TopicAuthorizationFailedError,
                                             errors.GroupAuthorizationFailedError,
                                             errors.ClusterAuthorizationFailedError,
                                             errors.RequestTimedOutError)):
            found.append(("authorized-refused", f"{who} could not {action} {topic}, which "
                                                f"the ACLs allow: {outcome}"))
        if found:
            break
    return AclOutcome(seed, acls, tried, found)


# -- client quotas under load ------------------------------------------------------------------------

@dataclass(frozen=True)
class QuotaOutcome:
    seed: int
    quotas: dict                    # (user, client id) -> bytes per second
    clients: list                   # (client id, offered B/s, acknowledged B/s, sharing tags)
    anomalies: list                 # (kind, detail)

    @property
    def valid(self):
        return not self.anomalies

    def report(self):
        lines = [f"seed {self.seed}: quotas {self.quotas}"]
        lines += [f"  {client}: offers {offered:,.0f} B/s, got {got:,.0f} B/s, counted in "
                  f"{tags}" for client, offered, got, tags in self.clients]
        lines += [f"  {kind}: {detail}" for kind, detail in self.anomalies]
        return "\n".join(lines)


def run_quotas(seed, seams=None, seconds=40, event_budget=None):
    """Client quotas under load: three producers offer random byte rates to one broker
    under random quotas (per client id, per user, defaults); after a burst allowance of ten
    windows, each group of clients that shares a rate is judged over the run by Kafka's
    rules: ``quota-exceeded`` (it got well over its quota) or ``over-throttled`` (held far
    below both its quota and what it offered)."""
    from .quota_manager import quota_limit, quota_metric_tags
    rng = random.Random(seed)
    cluster = Cluster(brokers=1, seed=seed, seams=seams, event_budget=event_budget)
    cluster.create_topic("load", replication_factor=1)
    entities = [("ANONYMOUS", None), ("<default>", None), (None, "<default>"),
                (None, "c1"), (None, "c2"), ("ANONYMOUS", "c3"), ("ANONYMOUS", "<default>")]
    quotas = {entity: float(rng.choice([5_000, 10_000, 20_000]))
              for entity in rng.sample(entities, rng.randint(1, 3))}
    for (user, client), bound in quotas.items():
        entity = {k: v for k, v in (("user", user), ("client-id", client)) if v is not None}
        cluster.alter_client_quotas(entity, {"producer_byte_rate": bound})
    value = b"x" * 1000
    offered = {f"c{i}": rng.choice([2, 8, 15, 30]) for i in (1, 2, 3)}    # KB per second
    # One record a request (batch.size under two records): clients that share a quota are
    # each throttled on their own connection, so together they overshoot it by about what
    # one request of each adds to the rate; small requests keep that small, and the judge
    # below tight.
    producers = {c: cluster.producer(c, linger_ms=0, batch_size=1_024, enable_idempotence=False)
                 for c in offered}
    acked = {c: 0 for c in offered}

    def on_ack(client):
        def count(future):
            if future.succeeded:
                acked[client] += len(value)
        return count
    for _ in range(seconds * 4):
        for client, kb in offered.items():
            for _ in range(kb // 4 + (1 if rng.random() < (kb % 4) / 4 else 0)):
                producers[client].send("load", value, partition=0).add_callback(on_ack(client))
        cluster.run_for(250)
    groups = {}
    clients = []
    for client in offered:
        tags = quota_metric_tags(quotas, "ANONYMOUS", client)
        groups.setdefault(tags, []).append(client)
        clients.append((client, offered[client] * 1000, acked[client] / seconds, tags))
    found = []
    for tags, members in sorted(groups.items()):
        bound = quota_limit(quotas, *tags)
        got = sum(acked[c] for c in members) / seconds
        wanted = sum(offered[c] * 1000 for c in members)
        if bound is None:
            continue
        allowance = bound * (seconds + 10) / seconds        # ten windows' burst, once
        if got > allowance * 1.15:
            found.append(("quota-exceeded", f"{members} (counted in {tags}) got {got:,.0f} B/s "
                                            f"under a quota of {bound:,.0f} B/s"))
        elif got < 0.5 * min(bound, wanted):
            found.append(("over-throttled", f"{members} (counted in {tags}) got {got:,.0f} B/s, "
                                            f"offering {wanted:,.0f} B/s under a quota of "
                                            f"{bound:,.0f} B/s"))
    return QuotaOutcome(seed, quotas, clients, found)


# -- bytes on the wire ---------------------------------------------------------------------------

@dataclass(frozen=True)
class WireOutcome:
    seed: int
    sent: list                      # (key, value, headers) in the order sent
    acknowledged: int
    consumed: list                  # (key, value, headers) as the consumer read them
    log_end_offsets: list           # each replica's
    anomalies: list                 # (kind, detail)

    @property
    def valid(self):
        return not self.anomalies

    def report(self):
        lines = [f"seed {self.seed}: {len(self.sent)} records sent, {self.acknowledged} "
                 f"acknowledged, {len(self.consumed)} consumed; replicas' log end offsets "
                 f"{self.log_end_offsets}"]
        lines += [f"  {kind}: {detail}" for kind, detail in self.anomalies]
        return "\n".join(lines)


def run_wire(seed, seams=None, records=24, event_budget=None):
    """Records with keys, values and headers (some None, some not ASCII), sent one by one
    through a three-broker cluster that ships record batch v2 bytes (``wire_format``),
    acks=all, then read back by a consumer. Kafka's promise is judged: ``lost-write`` (a
    record not acknowledged), ``corrupted-record`` (read back different, or not at all),
    ``replicas-diverged`` (a follower that could not take the leader's batches)."""
    rng = random.Random(seed)
    cluster = Cluster(brokers=3, seed=seed, seams=seams, event_budget=event_budget,
                      wire_format=True)
    cluster.create_topic("wire", partitions=1, replication_factor=3,
                         config={"min.insync.replicas": 2})
    producer = cluster.producer(config={"acks": "all", "enable.idempotence": True,
                                        "delivery.timeout.ms": 10_000,
                                        "compression.type": rng.choice(["none", "gzip"])})
    texts = ["", "a", "ü", "κλειδί", "x" * 70]
    sent, futures = [], []
    for _ in range(records):
        key = rng.choice([None, b"", b"k%d" % rng.randrange(100), bytes(rng.randrange(256)
                                                                         for _ in range(130))])
        value = rng.choice([None, b"v", bytes(rng.randrange(256) for _ in range(rng.randrange(300)))])
        headers = tuple((rng.choice(texts), rng.choice([None, b"", b"h"]))
                        for _ in range(rng.choice([0, 0, 1, 2])))
        sent.append((key, value, headers))
        futures.append(producer.send("wire", value, key=key, headers=headers))
        cluster.run_for(rng.choice([0, 1, 5, 20]))
    cluster.run_until(lambda: all(f.done for f in futures), timeout_ms=15_000)
    acknowledged = sum(f.succeeded for f in futures)
    consumer = cluster.consumer(config={"group.id": "readers", "auto.offset.reset": "earliest"})
    consumer.subscribe(["wire"])
    consumed = []
    for _ in range(60):
        consumed += [(r.key, r.value, tuple(r.headers)) for r in consumer.poll(100)]
        if len(consumed) >= acknowledged:
            break
    cluster.run_for(1_000)
    ends = [cluster.log(b, "wire", 0).log_end_offset for b in range(3)]
    found = []
    if acknowledged < records:
        first = next(i for i, f in enumerate(futures) if not f.succeeded)
        found.append(("lost-write", f"{records - acknowledged} of {records} records were never "
                                    f"acknowledged, the first record {first}: "
                                    f"{futures[first].error or 'no answer'}"))
    expected = [record for record, f in zip(sent, futures) if f.succeeded]
    if consumed != expected:
        at = next((i for i, (a, b) in enumerate(zip(consumed, expected)) if a != b),
                  min(len(consumed), len(expected)))
        found.append(("corrupted-record", f"record {at} was sent as "
                      f"{expected[at] if at < len(expected) else 'nothing'!r}, read back as "
                      f"{consumed[at] if at < len(consumed) else 'nothing'!r}"))
    if len(set(ends)) > 1:
        found.append(("replicas-diverged", f"the replicas' log end offsets are {ends}: a "
                                           f"follower refused the leader's batches"))
    return WireOutcome(seed, sent, acknowledged, consumed, ends, found)


# -- the producer's batching levers ------------------------------------------------------------------

class BatchingOutcome(NamedTuple):
    bytes_on_wire: int          # the stored batches' bytes (each sent once: no faults)
    batches: int
    mean_latency_ms: float      # from send() to the acknowledgement
    p99_latency_ms: int
    records: int


def run_batching(linger_ms, batch_size, codec, records=6_000, per_ms=6, seed=3):
    """One producer sending ``records`` order events (JSON, keyed by customer, ``per_ms`` a
    simulated millisecond) to a 3-partition topic (RF 3, acks=all), with the batching
    levers ``linger.ms``, ``batch.size`` and ``compression.type`` set as given: what they
    cost in bytes on the wire and in latency (``BatchingOutcome``)."""
    cluster = Cluster(3, seed=seed)
    cluster.create_topic("orders", 3, 3)
    # A follower that asked its new leader too early waits out replica.fetch.backoff.ms
    # (1 s) before it fetches again: measure after that.
    cluster.run_for(2_000)
    producer = cluster.producer("levers", linger_ms=linger_ms, batch_size=batch_size,
                                compression_type=codec)
    latencies = []
    for n in range(records):
        value = (f'{{"order": {n}, "customer": "c{n % 97}", "amount": {n * 7 % 1000}.'
                 f'{n % 100:02d}, "currency": "EUR", "status": "paid"}}').encode()
        sent = cluster.now
        producer.send("orders", key=f"c{n % 97}".encode(), value=value).add_callback(
            lambda future, sent=sent: latencies.append(cluster.now - sent))
        if n % per_ms == per_ms - 1:
            cluster.run_for(1)
    producer.flush()
    batches = [b for p in range(3) for segment in cluster.log(cluster.leader("orders", p),
                                                               "orders", p).segments
               for b in segment.batches]
    latencies.sort()
    return BatchingOutcome(sum(b.size_bytes for b in batches), len(batches),
                           sum(latencies) / len(latencies),
                           latencies[int(0.99 * (len(latencies) - 1))], records)
