"""A compacted topic as a table's change log, and the named scenarios of compaction.

A table (here: where people live) is written to a compacted topic as changes, each record
"key now has this value", a delete a tombstone. Anyone can rebuild the table by reading
the topic from the beginning, however long ago it started, because compaction keeps every
key's latest record. Kafka Streams keeps its state stores' changelogs this way, and Kafka
keeps consumer groups' offsets this way (``__consumer_offsets``).

Each scenario is a short script against a seeded ``Cluster`` that narrates what it does;
``fixed`` chooses the broken behaviour or the fix:

- ``changelog-table``: the table is rebuilt from the compacted topic by a reader that starts
  long after the writes, and is the same as the writer's (there is no broken version).
- ``tombstone-forever``: a deleted key's tombstone is still in the log two minutes later,
  under the rule before KIP-534 (KAFKA-8522: tombstones were timed by their segment's last
  modification, which cleaning keeps refreshing); with KIP-534's delete horizon (Kafka 3.1+)
  it goes once ``delete.retention.ms`` has passed.
- ``slow-reader-resurrects``: a reader that falls further behind than
  ``delete.retention.ms`` read a key's value, then missed its tombstone, and keeps the
  deleted key forever; with ``delete.retention.ms`` above its lag it sees the delete.

    from kafkadojo.reference.changelog import run_scenario
    print(run_scenario("slow-reader-resurrects", fixed=False).report())
"""

from dataclasses import dataclass, field

from . import scenarios
from .cleaner import DELETE_HORIZON, SEGMENT_TIME
from .cluster import Cluster
from .workload import replay_table

TOPIC = "people"
PEOPLE = ("ann", "bob", "cy", "dee", "eve")
CITIES = ("oslo", "rome", "lima", "kyiv", "pune", "doha", "baku", "riga")


@dataclass
class ChangelogResult:
    name: str
    fixed: bool
    summary: str
    steps: list = field(default_factory=list)        # (time_ms, text)
    writer_table: dict = field(default_factory=dict)  # the table the writes stand for
    reader_table: dict = field(default_factory=dict)  # the table a reader rebuilt
    tombstones: list = field(default_factory=list)    # deleted keys whose tombstone remains
    records_before: int = 0                           # records written
    records_after: int = 0                            # records left in the leader's log
    cluster: Cluster = None

    @property
    def resurrected(self):
        """Keys the reader holds that the writer deleted."""
        return sorted(set(self.reader_table) - set(self.writer_table))

    def report(self):
        version = "with the fix" if self.fixed else "without the fix"
        lines = [f"== {self.name} ({version}) ==", self.summary, ""]
        lines += [f"  t={t:>7} ms  {text}" for t, text in self.steps]
        lines += ["", f"  the writer's table:  {_show(self.writer_table)}",
                  f"  the reader's table:  {_show(self.reader_table)}",
                  f"  records written {self.records_before}, left in the log "
                  f"{self.records_after}"]
        if self.tombstones:
            lines.append(f"  tombstones still in the log: {', '.join(self.tombstones)}")
        if self.resurrected:
            lines.append(f"  RESURRECTED (deleted, yet the reader has them): "
                         f"{', '.join(self.resurrected)}")
        return "\n".join(lines)


def _show(table):
    return "{" + ", ".join(f"{k}: {v}" for k, v in sorted(table.items())) + "}"


class _Changelog:
    """A cluster with one compacted topic, a writer and a table: the helpers scenarios use."""

    def __init__(self, name, fixed, summary, seed, topic_config, tombstone_expiry=DELETE_HORIZON):
        self.cluster = Cluster(brokers=3, seed=seed, tombstone_expiry=tombstone_expiry,
                               config={"log.cleaner.backoff.ms": 2_000})
        self.cluster.create_topic(TOPIC, partitions=1, replication_factor=3, config={
            "cleanup.policy": "compact", "segment.bytes": 300, "min.cleanable.dirty.ratio": 0.1,
            **topic_config})
        self.writer = self.cluster.producer("table-writer", linger_ms=0)
        self.result = ChangelogResult(name, fixed, summary, cluster=self.cluster)
        self.rng = self.cluster.sim.rng

    def say(self, text):
        self.result.steps.append((self.cluster.now, text))

    def write(self, key, value):
        """One change to the table (``value`` None deletes ``key``), acknowledged."""
        future = self.writer.send(TOPIC, key=key.encode(), value=value and value.encode(),
                                  partition=0)
        future.get()
        self.result.records_before += 1
        if value is None:
            self.result.writer_table.pop(key, None)
        else:
            self.result.writer_table[key] = value
        return future

    def write_others(self, seconds, skip=()):
        """A change a second for ``seconds``, to people other than ``skip``."""
        for _ in range(seconds):
            self.write(self.rng.choice([p for p in PEOPLE if p not in skip]),
                       self.rng.choice(CITIES))
            self.cluster.run_for(1_000)

    def leader_log(self):
        return self.cluster.log(self.cluster.leader(TOPIC, 0), TOPIC, 0)

    def tombstones(self):
        """Keys whose tombstone is in the leader's log."""
        return sorted({r.key.decode() for b in self.leader_log().batches
                       for r in b.records(TOPIC, 0) if r.value is None})

    def read_all(self, table, position=0):
        """A reader's run, as a job that wakes up now and then: a consumer from ``position``
        reads everything committed into ``table``, then closes (reading nothing ahead).
        Returns the position to start from next time."""
        consumer = self.cluster.consumer(auto_offset_reset="earliest", enable_auto_commit=False)
        consumer.assign([(TOPIC, 0)])
        consumer.seek(TOPIC, 0, position)
        hw = self.leader_log().high_watermark
        for _ in range(100):
            if consumer.position(TOPIC, 0) >= hw:
                break
            for record in consumer.poll(timeout_ms=200):
                if record.value is None:
                    table.pop(record.key.decode(), None)
                else:
                    table[record.key.decode()] = record.value.decode()
        position = consumer.position(TOPIC, 0)
        consumer.close()
        return position

    def finish(self, reader_table):
        self.result.reader_table = dict(reader_table)
        self.result.tombstones = self.tombstones()
        self.result.records_after = sum(len(b) for b in self.leader_log().batches)
        return self.result


def changelog_table(fixed=True, seed=1):
    """A reader that arrives late rebuilds the same table from the compacted topic."""
    s = _Changelog("changelog-table", True,
                   "Two minutes of changes to a table of five people, two of them deleted; "
                   "a reader that starts afterwards rebuilds the table from offset 0.",
                   seed, {"delete.retention.ms": 20_000})
    s.write_others(40)
    s.write("bob", None)
    s.say("bob is deleted")
    s.write_others(40, skip=("bob",))
    s.write("cy", None)
    s.say("cy is deleted")
    s.write_others(40, skip=("bob", "cy"))
    s.cluster.run_for(30_000)
    cleaned = sum(b.log_cleaner.stats.records_removed for b in s.cluster.brokers)
    s.say(f"the cleaners have removed {cleaned} records across the three replicas")
    table = {}
    s.read_all(table)
    s.say(f"a new reader read the topic from offset 0: {len(table)} people")
    return s.finish(table)


def tombstone_forever(fixed=True, seed=1):
    """Before KIP-534 a tombstone could outlive delete.retention.ms without end."""
    s = _Changelog("tombstone-forever", fixed,
                   "Bob is deleted at once, then the others keep changing for two minutes, "
                   "with delete.retention.ms=10000. " + (
                       "KIP-534 (Kafka 3.1+): the first pass that keeps the tombstone stamps "
                       "it with a delete horizon 10 s later; a pass after that removes it."
                       if fixed else
                       "Before KIP-534: a tombstone goes once its segment was last modified "
                       "10 s before the last clean segment; cleaning groups it with newer "
                       "segments, so its segment always looks new (KAFKA-8522)."),
                   seed, {"delete.retention.ms": 10_000},
                   tombstone_expiry=DELETE_HORIZON if fixed else SEGMENT_TIME)
    s.write("bob", "rome")
    s.write("bob", None)
    s.say("bob moves in, and is deleted")
    for _ in range(6):
        s.write_others(20, skip=("bob",))
        s.say("bob's tombstone is " + ("still in the log" if "bob" in s.tombstones()
                                       else "gone from the log"))
    table = {}
    s.read_all(table)
    return s.finish(table)


def slow_reader_resurrects(fixed=True, seed=1):
    """A reader further behind than delete.retention.ms misses a tombstone."""
    retention = 40_000 if fixed else 5_000
    s = _Changelog("slow-reader-resurrects", fixed,
                   f"A reader reads every 20 s; delete.retention.ms={retention} is "
                   + ("above" if fixed else "below") + " its lag. Bob moves in, the reader "
                   "sees him, then he is deleted.", seed, {"delete.retention.ms": retention})
    table = {}
    s.write("bob", "rome")
    s.write_others(5, skip=("bob",))
    position = s.read_all(table)
    s.say(f"the reader reads: bob lives in {table.get('bob')}")
    s.write("bob", None)
    s.say("bob is deleted (a tombstone)")
    for _ in range(3):
        s.write_others(20, skip=("bob",))
        s.say("bob's tombstone is " + ("in the log" if "bob" in s.tombstones()
                                       else "gone from the log")
              + "; the reader reads what is new")
        position = s.read_all(table, position)
    s.say("the reader's bob: " + (table["bob"] if "bob" in table else "deleted"))
    return s.finish(table)


SCENARIOS = {
    "changelog-table": changelog_table,
    "tombstone-forever": tombstone_forever,
    "slow-reader-resurrects": slow_reader_resurrects,
}


def run_scenario(name, fixed=False, seed=1):
    return scenarios.run_scenario(name, fixed, seed, SCENARIOS)
