"""Named scenarios where transactions go wrong, each replayable step by step, broken and fixed:

- ``zombie-fenced``: an application instance pauses mid-transaction, a replacement takes
  over its work, and the paused one wakes up and commits. With a stable
  ``transactional.id`` the replacement fences it (PRODUCER_FENCED); with a new id per
  instance (the broken version) both commit, and the output holds the work twice.
- ``hanging-transaction``: a produce request is delayed past the end of its transaction
  (KAFKA-12671). Without KIP-890's partition verification it opens a transaction on its
  partition that no coordinator knows of: the last stable offset stops there for good, and
  read_committed consumers stall. With verification (Kafka 3.6+) the late batch is refused.
- ``delayed-end-txn``: a copy of one transaction's EndTxn arrives during the producer's next
  transaction (KAFKA-17754, found by Jepsen in 2024). Under transaction version 1 it ends
  that next transaction early: part of it commits, the rest is aborted, and read_committed
  consumers see a transaction the application aborted, in part. Transaction version 2
  (Kafka 4.0, KIP-890 part 2) bumps the epoch on every EndTxn, so the late copy is fenced.

    from kafkadojo.reference.transaction_scenarios import run_scenario
    print(run_scenario("hanging-transaction", fixed=False).report())
"""

from dataclasses import dataclass, field

from . import errors
from .cluster import Cluster
from .scenarios import run_scenario as _run_scenario

TOPIC = "payments"


@dataclass
class TransactionScenarioResult:
    name: str
    fixed: bool
    summary: str
    steps: list = field(default_factory=list)             # (time_ms, text)
    read_committed: list = field(default_factory=list)    # values a read_committed reader got
    expected: list = field(default_factory=list)          # what it should have got
    stable: dict = field(default_factory=dict)            # partition -> (LSO, HW) at the end
    cluster: Cluster = None

    @property
    def anomalies(self):
        """What the read_committed reader got wrong, by the checker's names."""
        found = []
        extra = [v for v in self.read_committed if v not in self.expected]
        missing = [v for v in self.expected if v not in self.read_committed]
        twice = sorted({v for v in self.read_committed if self.read_committed.count(v) > 1})
        if twice:
            found.append(("duplicate", twice))
        if extra:
            found.append(("aborted-read", extra))
        if missing:
            found.append(("lost-write", missing))
        stuck = {p: lso_hw for p, lso_hw in self.stable.items() if lso_hw[0] < lso_hw[1]}
        if stuck:
            found.append(("hanging-transaction", stuck))
        return found

    def report(self):
        version = "with the fix" if self.fixed else "without the fix"
        lines = [f"== {self.name} ({version}) ==", self.summary, ""]
        lines += [f"  t={t:>6} ms  {text}" for t, text in self.steps]
        lines.append("")
        lines.append(f"  a read_committed consumer read: {_show(self.read_committed)}")
        lines.append(f"  it should read:                 {_show(self.expected)}")
        for partition, (lso, hw) in sorted(self.stable.items()):
            lines.append(f"  {TOPIC}-{partition}: last stable offset {lso}, high watermark {hw}")
        for kind, what in self.anomalies:
            lines.append(f"  ANOMALY {kind}: {what}")
        if not self.anomalies:
            lines.append("  no anomaly: every committed transaction whole, nothing aborted")
        return "\n".join(lines)


def _show(values):
    return "[" + ", ".join(v.decode() if isinstance(v, bytes) else repr(v) for v in values) + "]"


class _Script:
    def __init__(self, name, fixed, summary, seed, partitions=2, **config):
        self.cluster = Cluster(brokers=3, seed=seed, config={
            "transaction.state.log.num.partitions": 3, **config})
        self.cluster.create_topic(TOPIC, partitions=partitions, replication_factor=3,
                                  config={"min.insync.replicas": 2})
        self.partitions = partitions
        self.result = TransactionScenarioResult(name, fixed, summary, cluster=self.cluster)

    def say(self, text):
        self.result.steps.append((self.cluster.now, text))

    def producer(self, client_id, transactional_id, **options):
        producer = self.cluster.producer(client_id, transactional_id=transactional_id,
                                         linger_ms=0, **options)
        producer.init_transactions()
        self.say(f"{client_id} starts as {transactional_id!r}: producer "
                 f"{producer.producer_id}, epoch {producer.producer_epoch}")
        return producer

    def coordinator(self, transactional_id):
        broker = self.cluster.brokers[0]
        index = broker.transaction_coordinator.partition_for(transactional_id)
        return self.cluster.leader("__transaction_state", index)

    def finish(self, expected):
        """Read every partition with a read_committed consumer, as far as it can go."""
        self.cluster.run_for(5_000)
        reader = self.cluster.consumer("reader", isolation_level="read_committed",
                                       auto_offset_reset="earliest")
        reader.assign([(TOPIC, p) for p in range(self.partitions)])
        quiet = 0
        while quiet < 3:
            batch = reader.poll(1_000)
            quiet = 0 if batch else quiet + 1
            self.result.read_committed += [record.value for record in batch]
        for p in range(self.partitions):
            log = self.cluster.log(self.cluster.leader(TOPIC, p), TOPIC, p)
            self.result.stable[p] = (log.last_stable_offset, log.high_watermark)
        self.result.expected = list(expected)
        return self.result


def zombie_fenced(fixed=True, seed=1):
    """A paused instance wakes up after its replacement took over."""
    script = _Script("zombie-fenced", fixed,
                     "Instance A writes its results in a transaction, then pauses (a long GC). "
                     "Instance B replaces it and does the same work. A wakes up and commits. "
                     + ("Both use the transactional.id 'billing': B fences A."
                        if fixed else "Each uses an id of its own (a random suffix): nobody "
                                      "fences A."), seed)
    first = script.producer("instance-a", "billing" if fixed else "billing-a1f3")
    first.begin_transaction()
    for i in range(2):
        first.send(TOPIC, b"result-%d" % i, partition=i % 2)
    first.flush()
    script.say("instance-a sent result-0 and result-1, and pauses before committing")
    second = script.producer("instance-b", "billing" if fixed else "billing-77c0")
    second.begin_transaction()
    for i in range(2):
        second.send(TOPIC, b"result-%d" % i, partition=i % 2)
    second.commit_transaction()
    script.say("instance-b did the same work and committed")
    try:
        first.commit_transaction()
        script.say("instance-a wakes up and commits: it succeeds")
    except errors.KafkaError as error:
        script.say(f"instance-a wakes up and commits: {error.name}: it is a zombie, fenced")
    return script.finish([b"result-0", b"result-1"])


def hanging_transaction(fixed=True, seed=1):
    """A produce request arrives after its transaction was aborted (KAFKA-12671)."""
    script = _Script("hanging-transaction", fixed,
                     "A transactional batch is delayed on its way to the leader; the client "
                     "gives up on it and aborts the transaction; then the batch arrives. "
                     + ("With KIP-890's verification the leader asks the coordinator first."
                        if fixed else "Without verification (before Kafka 3.6) the leader "
                                      "appends it."),
                     seed, **{"transaction.partition.verification.enable": fixed})
    cluster = script.cluster
    producer = script.producer("app", "ledger", request_timeout_ms=1_000,
                               delivery_timeout_ms=1_500)
    coordinator = script.coordinator("ledger")
    partition = next(p for p in range(script.partitions) if cluster.leader(TOPIC, p) != coordinator)
    leader = cluster.leader(TOPIC, partition)
    producer.begin_transaction()
    producer.send(TOPIC, b"first", partition=partition)
    producer.commit_transaction()
    script.say(f"committed 'first' to partition {partition} (leader {leader}; the "
               f"coordinator is broker {coordinator})")
    producer.begin_transaction()
    cluster.network.slow_link("app", leader, 4_000)
    producer.send(TOPIC, b"late", partition=partition)
    script.say(f"sent 'late' to partition {partition}; the link to broker {leader} is "
               f"congested: it will take 4 s")
    try:
        producer.commit_transaction()
    except errors.KafkaError as error:
        script.say(f"commit_transaction(): {_first_line(error)}")
        producer.abort_transaction()
        script.say("abort_transaction(): the coordinator writes ABORT markers; done")
    cluster.network.slow_link("app", leader, 0)
    cluster.run_for(5_000)
    log = cluster.log(leader, TOPIC, partition)
    script.say(f"'late' reached broker {leader}: partition {partition} holds "
               f"{[b.control or b.values[0].decode() for b in log.batches]}")
    other = cluster.producer("other", linger_ms=0)
    other.send(TOPIC, b"after", partition=partition).get()
    script.say(f"another producer writes 'after' to partition {partition} (no transaction)")
    return script.finish([b"first", b"after"])


def delayed_end_txn(fixed=True, seed=1):
    """A copy of EndTxn(commit) arrives during the next transaction (KAFKA-17754)."""
    script = _Script("delayed-end-txn", fixed,
                     "The producer commits transaction 1; a copy of that EndTxn is held up in "
                     "the network and reaches the coordinator during transaction 2, which the "
                     "application then aborts. "
                     + ("Transaction version 2 (Kafka 4.0): every EndTxn bumps the epoch."
                        if fixed else "Transaction version 1 (Kafka 3.9): the epoch stays."),
                     seed, **{"transaction.version": 2 if fixed else 1})
    cluster = script.cluster
    producer = script.producer("app", "ledger")
    producer.begin_transaction()
    producer.send(TOPIC, b"t1-a", partition=0)
    producer.send(TOPIC, b"t1-b", partition=1)
    stale = (producer.producer_id, producer.producer_epoch)
    producer.commit_transaction()
    script.say(f"transaction 1 committed with epoch {stale[1]} (t1-a, t1-b)")
    producer.begin_transaction()
    producer.send(TOPIC, b"t2-a", partition=0)
    producer.flush()
    script.say(f"transaction 2 begins with epoch {producer.producer_epoch}: t2-a sent")
    coordinator = cluster.brokers[script.coordinator("ledger")]
    answer = []
    cluster.network.send(producer, coordinator, coordinator.handle_txn_request,
                         "handle_end_txn", producer, "ledger", stale[0], stale[1], True,
                         answer.append)
    cluster.run_for(200)
    script.say("the delayed copy of transaction 1's EndTxn(commit), epoch "
               f"{stale[1]}, reaches the coordinator: "
               + (f"{answer[0][0].name}" if answer and answer[0][0] else "accepted: it "
                  "commits transaction 2 as it stands"))
    producer.send(TOPIC, b"t2-b", partition=1)
    producer.flush()
    script.say("t2-b sent; the application then decides to abort transaction 2")
    try:
        producer.abort_transaction()
        script.say("abort_transaction() returns")
    except errors.KafkaError as error:
        script.say(f"abort_transaction(): {_first_line(error)}")
    return script.finish([b"t1-a", b"t1-b"])


def _first_line(error):
    return str(error).split("\n")[0][:120]


SCENARIOS = {
    "zombie-fenced": zombie_fenced,
    "hanging-transaction": hanging_transaction,
    "delayed-end-txn": delayed_end_txn,
}


def run_scenario(name, fixed=False, seed=1):
    """Replay the transaction scenario ``name``, broken (``fixed=False``) or fixed."""
    return _run_scenario(name, fixed, seed, scenarios=SCENARIOS)
