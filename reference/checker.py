"""A history checker for Kafka, in the manner of Jepsen's Kafka workload.

``check(history)`` reads what producers were told and what consumers saw, and names each
anomaly with the operations that prove it:

- ``lost-write``: acknowledged, never read, though consumers read past its offset.
- ``unseen``: acknowledged and never read, with nothing read past it (a loss if the log was
  read to its end; see ``require_all_seen``).
- ``duplicate``: one value at several offsets.
- ``inconsistent-offsets``: one offset holding several values.
- ``aborted-read`` (G1a): a value whose send certainly failed was read.
- ``poll-skip``: a consumer's successive reads jumped over offsets that hold records.
- ``nonmonotonic-poll``: a consumer's successive reads went back (or repeated).
- ``nonmonotonic-send``: a producer's later acknowledged send got a lower offset.

One pass over the history builds indexes; each anomaly is then a lookup, so a history of a
few thousand operations is checked in milliseconds.
"""

from bisect import bisect_right
from dataclasses import dataclass, field
from typing import NamedTuple

EXPLANATIONS = {
    "lost-write": "an acknowledged record was never read, although consumers read past its "
                  "offset: it vanished from the log.",
    "unseen": "an acknowledged record was never read by anyone.",
    "duplicate": "one value was written at more than one offset (a retried send that had "
                 "already succeeded, for instance).",
    "inconsistent-offsets": "different values were seen at the same offset: the log forked, "
                            "and replicas told different stories.",
    "aborted-read": "a consumer read a value whose send definitely failed.",
    "poll-skip": "a consumer jumped over offsets that hold records without being repositioned: "
                 "it never saw them.",
    "nonmonotonic-poll": "a consumer read an offset at or before one it had already read, "
                         "without being repositioned.",
    "nonmonotonic-send": "a producer's later acknowledged send to a partition got a lower "
                         "offset than an earlier one.",
}

ORDER = list(EXPLANATIONS)


@dataclass(frozen=True)
class Anomaly:
    kind: str
    topic: str
    partition: int
    offset: int | None
    value: object
    ops: tuple
    explanation: str


@dataclass
class CheckResult:
    valid: bool
    anomalies: dict = field(default_factory=dict)      # kind -> [Anomaly]
    stats: dict = field(default_factory=dict)

    def count(self, kind):
        return len(self.anomalies.get(kind, ()))

    def report(self, max_per_kind=3, history=None):
        """A teaching report: each anomaly kind, what it means, and the proving operations."""
        if not self.anomalies:
            return f"no anomalies ({_stats_line(self.stats)})"
        lines = [f"{'INVALID' if not self.valid else 'valid'}: {_stats_line(self.stats)}"]
        for kind in ORDER:
            found = self.anomalies.get(kind)
            if not found:
                continue
            lines.append(f"\n{kind} x{len(found)}: {EXPLANATIONS[kind]}")
            for anomaly in found[:max_per_kind]:
                lines.append(f"  - {anomaly.explanation}")
                for op in anomaly.ops:
                    lines.append("      " + op.describe())
            if len(found) > max_per_kind:
                lines.append(f"  ... and {len(found) - max_per_kind} more")
        return "\n".join(lines)


def _stats_line(stats):
    return ", ".join(f"{name.replace('_', ' ')} {value}" for name, value in stats.items())


def _show(value):
    return value.decode(errors="replace") if isinstance(value, bytes) else repr(value)


def check(history, require_all_seen=False, tolerate=()):
    """Check a ``History`` (or any iterable of ``Op``). ``unseen`` records make the result
    invalid only with ``require_all_seen=True``: use it when the history ends with a read of
    every partition to its end. Kinds in ``tolerate`` are reported but do not invalidate
    (``duplicate`` and ``nonmonotonic-send`` are what at-least-once delivery allows)."""
    acked = {}              # (topic, partition, offset) -> (value, op)
    acked_value = {}        # value -> op of its acknowledgement
    failed = {}             # value -> op of its definite failure
    read_at = {}            # (topic, partition, offset) -> {value: op}
    first_read = {}         # value -> op that first read it
    offsets_of = {}         # value -> {(topic, partition, offset): op}
    highest_read = {}       # (topic, partition) -> (offset, op)
    last_poll = {}          # (process, topic, partition) -> (offset, op)
    last_send = {}          # (process, topic, partition) -> (offset, op)
    skips = []              # (topic, partition, from, to, previous op, op)
    anomalies = {}
    stats = {"sends acknowledged": 0, "sends failed": 0, "sends indeterminate": 0,
             "records read": 0}

    def add(kind, topic, partition, offset, value, ops, explanation):
        anomalies.setdefault(kind, []).append(
            Anomaly(kind, topic, partition, offset, value, tuple(ops), explanation))

    for op in history:
        f, kind = op.f, op.type
        if f == "send":
            if kind == "ok":
                topic, partition, offset, value = op.value
                stats["sends acknowledged"] += 1
                acked[(topic, partition, offset)] = (value, op)
                acked_value[value] = op
                place = (topic, partition, offset)
                places = offsets_of.get(value)
                if places is None:
                    offsets_of[value] = {place: op}
                elif place not in places:
                    places[place] = op
                key = (op.process, topic, partition)
                previous = last_send.get(key)
                if previous is not None and offset <= previous[0]:
                    add("nonmonotonic-send", topic, partition, offset, value, (previous[1], op),
                        f"{op.process} was told {_show(value)} is at {topic}/{partition}@{offset} "
                        f"after an earlier send got offset {previous[0]}")
                last_send[key] = (offset, op)
            elif kind == "fail":
                stats["sends failed"] += 1
                failed[op.value[2]] = op
            elif kind == "info":
                stats["sends indeterminate"] += 1
        elif f == "poll" and kind == "ok":
            topic, partition, records = op.value
            if not records:
                continue
            key = (op.process, topic, partition)
            # The poll loop runs once per record read: plain dict lookups, no setdefault (its
            # default would be built every time).
            previous_offset, previous_op = last_poll.get(key, (None, None))
            highest = records[0][0]
            for offset, value in records:
                place = (topic, partition, offset)
                values_here = read_at.get(place)
                if values_here is None:
                    read_at[place] = {value: op}
                elif value not in values_here:
                    values_here[value] = op
                if value not in first_read:
                    first_read[value] = op
                places = offsets_of.get(value)
                if places is None:
                    offsets_of[value] = {place: op}
                elif place not in places:
                    places[place] = op
                if offset > highest:
                    highest = offset
                if previous_offset is not None:
                    if offset <= previous_offset:
                        add("nonmonotonic-poll", topic, partition, offset, value, (previous_op, op),
                            f"{op.process} read {topic}/{partition}@{offset} right after "
                            f"@{previous_offset} without being repositioned")
                    elif offset > previous_offset + 1:
                        skips.append((topic, partition, previous_offset, offset, previous_op, op))
                previous_offset, previous_op = offset, op
            stats["records read"] += len(records)
            best = highest_read.get((topic, partition))
            if best is None or highest > best[0]:
                highest_read[(topic, partition)] = (highest, op)
            last_poll[key] = (previous_offset, previous_op)
        elif f == "assign":
            topic, partitions = op.value
            for partition in partitions:
                last_poll.pop((op.process, topic, partition), None)

    # One offset, several values.
    for place, values in read_at.items():
        ack = acked.get(place)
        if len(values) == 1 and (ack is None or ack[0] in values):
            continue        # the usual case: one value, the acknowledged one if any
        topic, partition, offset = place
        seen = dict(values)
        if ack is not None:
            seen.setdefault(ack[0], ack[1])
        if len(seen) > 1:
            shown = ", ".join(_show(v) for v in seen)
            add("inconsistent-offsets", topic, partition, offset, None, seen.values(),
                f"{topic}/{partition}@{offset} was seen holding {shown}")

    # One value, several offsets.
    for value, places in offsets_of.items():
        if len(places) > 1:
            where = ", ".join(f"{t}/{p}@{o}" for t, p, o in places)
            topic, partition, offset = next(iter(places))
            add("duplicate", topic, partition, None, value, places.values(),
                f"value {_show(value)} appears at {where}")

    # A definitely failed send was read.
    for value, fail_op in failed.items():
        read_op = first_read.get(value)
        if read_op is not None:
            topic, partition, _ = read_op.value
            add("aborted-read", topic, partition, None, value, (fail_op, read_op),
                f"the send of {_show(value)} failed with {fail_op.value[3]}, yet "
                f"{read_op.process} read it")

    # Acknowledged but never read.
    unread = [(place, ack) for place, ack in acked.items() if ack[0] not in first_read]
    for (topic, partition, offset), (value, op) in sorted(unread, key=lambda item: item[1][1].index):
        highest = highest_read.get((topic, partition))
        if highest is not None and highest[0] > offset:
            add("lost-write", topic, partition, offset, value, (op, highest[1]),
                f"value {_show(value)} was acknowledged at {topic}/{partition}@{offset} "
                f"(op {op.index}); consumers read {topic}/{partition} up to offset {highest[0]} "
                f"(op {highest[1].index}), and no poll ever returned it")
        else:
            add("unseen", topic, partition, offset, value, (op,),
                f"value {_show(value)} was acknowledged at {topic}/{partition}@{offset} "
                f"(op {op.index}) and never read")

    # Skips are anomalies only if the skipped offsets hold something we know of.
    if skips:
        known = {}
        for topic, partition, offset in list(read_at) + list(acked):
            known.setdefault((topic, partition), set()).add(offset)
        known = {key: sorted(offsets) for key, offsets in known.items()}
        for topic, partition, start, end, previous_op, op in skips:
            offsets = known.get((topic, partition), [])
            i = bisect_right(offsets, start)
            if i < len(offsets) and offsets[i] < end:
                add("poll-skip", topic, partition, offsets[i], None, (previous_op, op),
                    f"{op.process} read {topic}/{partition}@{start} then @{end}, skipping "
                    f"offset {offsets[i]}" + (f" to {end - 1}" if end - 1 > offsets[i] else ""))

    invalid_kinds = set(anomalies) - set(tolerate) - ({"unseen"} if not require_all_seen else set())
    return CheckResult(valid=not invalid_kinds,
                       anomalies={k: anomalies[k] for k in ORDER if k in anomalies},
                       stats=stats)


# -- transactions ----------------------------------------------------------------------------------
# What read_committed consumers may see of transactions, checked against what was decided.
# The names are Jepsen's (Adya's G1a and G1b), plus the two ways a transaction goes missing.

TRANSACTION_EXPLANATIONS = {
    "aborted-read": "G1a: a read_committed consumer read a record of a transaction that "
                    "aborted (or never committed).",
    "intermediate-read": "G1b: a read_committed consumer read a record of a transaction "
                         "before the transaction was decided (its commit was not yet written).",
    "torn-transaction": "a committed transaction was seen in part: some of its records were "
                        "read, others never, though the consumer read every partition to "
                        "its end.",
    "lost-write": "a transaction the producer was told had committed: none of its records "
                  "was ever read.",
    "duplicate": "a read_committed consumer read one record twice.",
    "hanging-transaction": "a transaction was never closed: its partition's last stable "
                           "offset stays behind the high watermark, and read_committed "
                           "consumers stall there.",
}


@dataclass(frozen=True)
class Transaction:
    """One transaction as the workload knows it: its records (``(topic, partition, value)``),
    what the producer was told (``committed``, ``aborted``, or ``unknown``), when its
    coordinator decided it (PrepareCommit written; None if it never was) and its fate in the
    logs (``COMMIT``, ``ABORT``, or None: its records were never closed by a marker)."""
    name: str
    records: tuple
    told: str
    decided_ms: int | None
    fate: str | None


class TransactionRead(NamedTuple):
    time_ms: int
    topic: str
    partition: int
    offset: int
    value: bytes


def check_transactions(transactions, reads, read_to_end=True, hanging=()):
    """Anomalies in what one read_committed consumer saw (``reads``, in order), by kind:
    ``{kind: [(detail, proof)]}``. ``read_to_end``: the consumer read every partition up to
    its end, so a committed transaction's records must all have been read. ``hanging``:
    ``(topic, partition, last stable offset, high watermark)`` of partitions whose LSO stayed
    behind once everything had ended."""
    found = {}

    def add(kind, detail, proof):
        found.setdefault(kind, []).append((detail, tuple(proof)))

    owner = {}
    for txn in transactions:
        for topic, partition, value in txn.records:
            owner[value] = txn
    seen = {}
    for read in reads:
        txn = owner.get(read.value)
        where = f"read {read.value!r} at {read.topic}-{read.partition}@{read.offset} " \
                f"(t={read.time_ms} ms)"
        if read.value in seen:
            add("duplicate", f"{read.value!r} read twice", [seen[read.value], where])
            continue
        seen[read.value] = where
        if txn is None:
            continue
        if txn.fate != "COMMIT":
            outcome = "aborted" if txn.fate else "never committed"
            add("aborted-read", f"transaction {txn.name} {outcome} (the producer was told: "
                                f"{txn.told})", [where])
        elif txn.decided_ms is not None and read.time_ms < txn.decided_ms:
            add("intermediate-read", f"transaction {txn.name} was decided at "
                                     f"t={txn.decided_ms} ms", [where])
    for txn in transactions:
        read_values = [value for _, _, value in txn.records if value in seen]
        if txn.fate == "COMMIT" and read_to_end and 0 < len(read_values) < len(txn.records):
            missing = [value for _, _, value in txn.records if value not in seen]
            add("torn-transaction", f"transaction {txn.name}: {len(read_values)} of "
                                    f"{len(txn.records)} records read; never read: {missing}",
                [seen[v] for v in read_values])
        elif txn.told == "committed" and read_to_end and not read_values:
            add("lost-write", f"transaction {txn.name} was committed (fate in the logs: "
                              f"{txn.fate}); none of its {len(txn.records)} records was read",
                [f"commit_transaction() returned for {txn.name}"])
    for topic, partition, lso, hw in hanging:
        add("hanging-transaction", f"{topic}-{partition}: last stable offset {lso}, high "
                                   f"watermark {hw}", [f"{topic}-{partition} at the end"])
    return found
