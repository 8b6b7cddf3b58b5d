"""Delivery semantics: where a consumer commits decides what a crash costs.

A consumer application loops: poll a batch, process each record (a side effect: a row in a
database, an email), commit the offset to resume from. A crash can strike between any two
steps, and the next instance resumes from the last *committed* offset:

- commit *before* processing (**at-most-once**): a crash after the commit and before the
  processing skips records. Some are lost; none is processed twice.
- commit *after* processing (**at-least-once**): a crash after processing and before the
  commit reprocesses records. Some are duplicated; none is lost.
- at-least-once into an **idempotent sink** (one that writes each record's effect under its
  (topic, partition, offset), so a second write changes nothing): each record's effect
  appears exactly once, though it may be processed twice.

- **exactly-once** (Kafka's transactions): the application writes its results to another
  topic, and commits the offsets it read *in the same transaction*
  (``send_offsets_to_transaction``). A crash anywhere aborts the open transaction: its
  results vanish for read_committed readers and its offsets never count, so the next
  instance redoes exactly that work. Each record's result appears once in the output
  topic. What it does not cover: a side effect outside Kafka (the sink here) is still done
  again after a crash, unless that sink is idempotent too.

``run_delivery`` runs such an application against the engine with a crash injected at a
chosen step, and ``DeliveryOutcome.report()`` names what went wrong, with the timeline that
shows it. The committed offset is the offset of the *next* record to read: last processed + 1.
"""

import reprlib
from collections.abc import Mapping
from typing import NamedTuple

from . import errors
from .record import Record

AT_MOST_ONCE = "at-most-once"
AT_LEAST_ONCE = "at-least-once"
EXACTLY_ONCE = "exactly-once"
GUARANTEES = (AT_MOST_ONCE, AT_LEAST_ONCE, EXACTLY_ONCE)


def committed_offsets(records):
    """The offsets to commit after processing ``records`` (a batch from poll(), in order,
    possibly from several partitions): ``{(topic, partition): offset}`` where the offset is
    the last processed offset of that partition + 1, the next record to read. Having
    processed offsets 40 and 41 of ("t", 0), commit ``{("t", 0): 42}``."""
    offsets = {}
    for record in records:
        offsets[(record.topic, record.partition)] = record.offset + 1
    return offsets


def plan_batch(records, guarantee):
    """The steps of one turn of the poll loop, in the order ``guarantee`` requires:
    ``("process", record)`` for each record, in order, and ``("commit", offsets)``.

    The application may crash between any two steps; the next instance resumes from the
    last committed offsets. AT_MOST_ONCE: no record may ever be processed twice (losing
    some in a crash is allowed). AT_LEAST_ONCE: no record may ever be lost (processing
    some twice after a crash is allowed). Either way, a run without crashes processes
    every record exactly once and leaves everything committed."""
    commit = ("commit", committed_offsets(records))
    process = [("process", record) for record in records]
    if guarantee == AT_MOST_ONCE:
        return [commit, *process]
    return [*process, commit]


class Crash(Exception):
    """Injected: the application process dies here."""


class PlanError(ValueError):
    """``plan_batch`` returned a step the poll loop cannot carry out."""


def _show(value):
    return reprlib.repr(value)


def read_step(step, batch):
    """One step of a plan as the poll loop carries it out: ``("process", record)`` with one
    of the batch's records, or ``("commit", {(topic, partition): offset})``. Anything else
    is a ``PlanError`` that says what was expected."""
    if not isinstance(step, (tuple, list)) or len(step) != 2:
        raise PlanError(f"a step is ('process', record) or ('commit', offsets), not {_show(step)}")
    action, argument = step
    if action == "process":
        if not isinstance(argument, (tuple, list)) or tuple(argument) not in batch:
            raise PlanError(f"a process step carries one of the batch's records, "
                            f"not {_show(argument)}")
        return action, Record(*argument)
    if action == "commit":
        return action, _read_offsets(argument)
    raise PlanError(f"a step is ('process', record) or ('commit', offsets), not {_show(step)}")


def _read_offsets(offsets):
    if not isinstance(offsets, Mapping):
        raise PlanError(f"a commit step carries a dict {{(topic, partition): offset}}, "
                        f"not {_show(offsets)}")
    read = {}
    for key, offset in offsets.items():
        if not (isinstance(key, (tuple, list)) and len(key) == 2 and isinstance(key[0], str)
                and isinstance(key[1], int)):
            raise PlanError(f"a commit step's keys are (topic, partition) pairs, like "
                            f"('payments', 0); got the key {_show(key)} in {_show(offsets)}")
        if not isinstance(offset, int) or isinstance(offset, bool):
            raise PlanError(f"a commit step's offsets are ints; got {_show(offset)} for "
                            f"{_show(key)}")
        read[tuple(key)] = offset
    return read


class Step(NamedTuple):
    time_ms: int
    instance: int           # which run of the application (1, then 2 after a crash...)
    what: str               # poll, process, commit, crash, restart
    detail: str


class DeliveryOutcome(NamedTuple):
    guarantee: str
    idempotent_sink: bool
    crash_at: tuple
    produced: tuple         # (partition, offset) of every record written
    processed: tuple        # (partition, offset) per process() call, in order
    effects: tuple          # what the sink holds at the end
    timeline: tuple         # Steps
    seed: int
    committed: tuple = ()   # (partition, offset) the group has committed at the end
    options: tuple = ()     # (name, value) of run_delivery's options that are not defaults
    outputs: tuple = ()     # exactly-once: the (partition, offset) of each input whose result
                            # a read_committed consumer finds in the output topic

    @property
    def lost(self):
        return sorted(set(self.produced) - set(self.effects))

    @property
    def duplicated(self):
        seen, twice = set(), set()
        for item in self.effects:
            (twice if item in seen else seen).add(item)
        return sorted(twice)

    @property
    def uncommitted(self):
        """``(partition, committed, end)`` for each partition whose committed offset at the
        end is not its end offset (None: nothing committed): the next instance of the
        application would read those records again."""
        ends = {}
        for partition, offset in self.produced:
            ends[partition] = max(ends.get(partition, 0), offset + 1)
        committed = dict(self.committed)
        return [(p, committed.get(p), end) for p, end in sorted(ends.items())
                if committed.get(p) != end]

    @property
    def outputs_duplicated(self):
        seen, twice = set(), set()
        for item in self.outputs:
            (twice if item in seen else seen).add(item)
        return sorted(twice)

    @property
    def outputs_lost(self):
        return sorted(set(self.produced) - set(self.outputs))

    def violations(self):
        """What breaks the claimed guarantee: at-most-once may lose but never duplicate;
        at-least-once may duplicate but never lose (and with an idempotent sink, neither);
        exactly-once holds for the output topic: each input's result exactly once. Its
        side effects outside Kafka are at-least-once, like any other (a sink that is not
        idempotent duplicates them: reported, but Kafka never promised otherwise)."""
        found = []
        if self.duplicated and (self.guarantee == AT_MOST_ONCE or self.idempotent_sink):
            found.append(("duplicate", self.duplicated))
        if self.lost and self.guarantee in (AT_LEAST_ONCE, EXACTLY_ONCE):
            found.append(("lost-record", self.lost))
        if self.guarantee == EXACTLY_ONCE:
            if self.outputs_duplicated:
                found.append(("duplicate-output", self.outputs_duplicated))
            if self.outputs_lost:
                found.append(("lost-output", self.outputs_lost))
        return found

    def _crashes(self):
        if not self.crash_at:
            return "no crash"
        return "crash at step " + ", ".join(f"{n} ({when})" for n, when in self.crash_at)

    def report(self):
        lines = [f"{self.guarantee}{' into an idempotent sink' if self.idempotent_sink else ''}, "
                 f"{self._crashes()}: {len(self.produced)} records produced, "
                 f"{len(self.processed)} process() calls, {len(self.effects)} effects"]
        for name, items in (("lost", self.lost), ("duplicated", self.duplicated)):
            if items:
                lines.append(f"  {name}: " + ", ".join(f"p{p}@{o}" for p, o in items))
        if self.guarantee == EXACTLY_ONCE:
            lines.append(f"  output topic, read_committed: {len(self.outputs)} results for "
                         f"{len(self.produced)} records"
                         + ("" if self.outputs_duplicated or self.outputs_lost
                            else ", each exactly once"))
            if self.duplicated and not self.idempotent_sink:
                lines.append("  the sink outside Kafka got some effects twice: a transaction "
                             "covers Kafka's logs, not the world outside")
        if self.uncommitted:
            lines.append("  committed at the end: " + ", ".join(
                f"p{p}->{'nothing' if offset is None else offset} (end {end})"
                for p, offset, end in self.uncommitted))
        for kind, items in self.violations():
            lines.append(f"  VIOLATION {kind}: the {self.guarantee} guarantee does not allow it")
        lines.append("  timeline:")
        lines += [f"    t={s.time_ms:>6} #{s.instance} {s.what:<8} {s.detail}" for s in self.timeline]
        options = "".join(f", {name}={value!r}" for name, value in self.options)
        lines.append(f"  replay: run_delivery({self.guarantee!r}, crash_at={list(self.crash_at)!r}, "
                     f"idempotent_sink={self.idempotent_sink}, seed={self.seed}{options})")
        return "\n".join(lines)


class Sink:
    """Where processing leaves its effects. An idempotent sink keys each write by the
    record's (partition, offset), so writing it again changes nothing."""

    def __init__(self, idempotent):
        self.idempotent = idempotent
        self.effects = []
        self.keys = set()

    def write(self, record):
        key = (record.partition, record.offset)
        if self.idempotent and key in self.keys:
            return
        self.keys.add(key)
        self.effects.append(key)


def run_delivery(guarantee, crash_at=(), idempotent_sink=False, seed=0, records=12,
                 partitions=2, max_poll_records=4, seams=None, event_budget=None):
    """Produce ``records``, then run a consumer application until it has read them all.
    ``crash_at`` lists step numbers (each process() and commit() call is a step, counted
    across restarts from 0); ``(n, "after")`` crashes just after step n's effect instead of
    just before it. After a crash a new instance starts with the same group.instance.id
    (a static member takes its predecessor's place without a rebalance). A plan step the
    loop cannot carry out raises ``PlanError``."""
    from .cluster import Cluster
    if guarantee not in GUARANTEES:
        raise errors.InvalidConfigurationError(f"guarantee must be one of {GUARANTEES}, got {guarantee!r}")
    cluster = Cluster(3, seed=seed, seams=seams, config={"offsets.topic.num.partitions": 3},
                      event_budget=event_budget)
    rules = cluster.seams
    cluster.create_topic("payments", partitions, 3)
    if guarantee == EXACTLY_ONCE:
        cluster.create_topic("receipts", partitions, 3, config={"min.insync.replicas": 2})
    producer = cluster.producer(linger_ms=0)
    for i in range(records):
        producer.send("payments", key=f"k{i}".encode(), value=f"payment {i}".encode())
    producer.flush()
    produced = tuple(sorted(
        (p, o) for p in range(partitions)
        for o in range(cluster.log(cluster.leader("payments", p), "payments", p).high_watermark)))
    crash_points = {(c, "before") if isinstance(c, int) else tuple(c) for c in crash_at}
    sink = Sink(idempotent_sink)
    timeline, processed = [], []
    step = 0
    instance = 0

    def note(what, detail):
        timeline.append(Step(cluster.now, instance, what, detail))

    def at_step(what, detail, effect):
        nonlocal step
        number, step = step, step + 1
        if (number, "before") in crash_points:
            note("crash", f"before {what} {detail} (step {number})")
            raise Crash()
        effect()
        note(what, detail)
        if (number, "after") in crash_points:
            note("crash", f"after {what} {detail} (step {number})")
            raise Crash()

    while True:
        instance += 1
        if instance > len(crash_points) + 2:
            raise RuntimeError("the application did not finish after every injected crash")
        consumer = cluster.consumer(f"app-{instance}", group_id="billing",
                                    group_instance_id="billing-1", enable_auto_commit=False,
                                    auto_offset_reset="earliest",
                                    max_poll_records=max_poll_records)
        consumer.subscribe(["payments"])
        note("restart" if instance > 1 else "start", "")
        if guarantee == EXACTLY_ONCE:
            # the same transactional.id in every instance: the new one fences the old one
            # and aborts whatever transaction it left open
            writer = cluster.producer(f"app-{instance}-writer", transactional_id="billing-1",
                                      linger_ms=0)
            writer.init_transactions()

        def process(record):
            processed.append((record.partition, record.offset))
            at_step("process", f"p{record.partition}@{record.offset}",
                    lambda: sink.write(record))

        def commit(offsets):
            detail = ", ".join(f"p{p}->{o}" for (_, p), o in sorted(offsets.items()))
            at_step("commit", detail, lambda: consumer.commit(offsets))

        def transact(batch):
            """Exactly-once: each record's result and the batch's offsets, one transaction."""
            writer.begin_transaction()
            for record in batch:
                processed.append((record.partition, record.offset))
                result = b"receipt p%d@%d" % (record.partition, record.offset)
                at_step("process", f"p{record.partition}@{record.offset}",
                        lambda record=record, result=result: (
                            sink.write(record),
                            writer.send("receipts", result, partition=record.partition)))
            offsets = committed_offsets(batch)
            detail = ", ".join(f"p{p}->{o}" for (_, p), o in sorted(offsets.items()))
            at_step("commit", f"{detail} in the transaction, with the results",
                    lambda: (writer.send_offsets_to_transaction(offsets,
                                                                consumer.group_metadata()),
                             writer.commit_transaction()))

        try:
            idle = 0
            while idle < 3:
                batch = consumer.poll(2_000)
                if not batch:
                    idle += 1 if consumer.group.state == "stable" else 0
                    continue
                idle = 0
                note("poll", ", ".join(f"p{r.partition}@{r.offset}" for r in batch))
                if guarantee == EXACTLY_ONCE:
                    transact(batch)
                    continue
                plan = rules.plan_batch(batch, guarantee)
                if not isinstance(plan, (tuple, list)):
                    raise PlanError(f"a plan is a list of steps, not {_show(plan)}")
                for action, argument in [read_step(step, batch) for step in plan]:
                    if action == "process":
                        process(argument)
                    else:
                        commit(argument)
            break
        except Crash:
            consumer.crash()
    outputs = ()
    if guarantee == EXACTLY_ONCE:
        outputs = tuple(sorted(read_results(cluster, partitions)))
    committed = cluster.describe_group("billing")["offsets"]
    options = tuple((name, value) for name, value, default in (
        ("records", records, 12), ("partitions", partitions, 2),
        ("max_poll_records", max_poll_records, 4)) if value != default)
    return DeliveryOutcome(guarantee, idempotent_sink, tuple(sorted(crash_points)), produced,
                           tuple(processed), tuple(sink.effects), tuple(timeline), seed,
                           tuple(sorted((p, o) for (_, p), o in committed.items())), options,
                           outputs)


def read_results(cluster, partitions):
    """``(partition, offset)`` of the input behind each result a read_committed consumer
    finds in ``receipts``, read to the end."""
    reader = cluster.consumer("auditor", isolation_level="read_committed",
                              auto_offset_reset="earliest")
    reader.assign([("receipts", p) for p in range(partitions)])
    found, quiet = [], 0
    while quiet < 3:
        batch = reader.poll(1_000)
        quiet = 0 if batch else quiet + 1
        for record in batch:
            partition, offset = record.value.decode().split()[1].split("@")
            found.append((int(partition[1:]), int(offset)))
    return found


def crash_points(guarantee, seed=0, **options):
    """Every step a clean run takes: each is a place to inject a crash, before or after."""
    clean = run_delivery(guarantee, seed=seed, **options)
    steps = sum(1 for s in clean.timeline if s.what in ("process", "commit"))
    return [(n, when) for n in range(steps) for when in ("before", "after")]
