"""Invariants of replication, checked on a cluster's state at any moment.

From the TLA+ models of Kafka's replication protocol:

- ``leader-not-in-isr``: an elected leader is always a member of the ISR.
- ``isr-diverged``: every live ISR member agrees with the leader below the leader's HW.
- ``replicas-diverged``: any two replicas agree below the smaller of their high watermarks.
- ``acknowledged-missing``: the leader holds every record acknowledged with acks=all
  (checked by ``acknowledged_records_present``, which needs the acknowledgements).
- ``log-offsets-disordered``: on every replica, log start offset <= high watermark <= log
  end offset, and the segments run in order, the first holding the log start offset and
  the last ending at the log end offset.

``DurabilityWatch`` checks three more while faults run (a fault exposes a broken rule only
now and then; these see it the moment it happens):

- ``unclean-election``: with ``unclean.leader.election.enable=false``, every new leader was
  in the ISR just before it was elected.
- ``isr-missing-committed``: every live ISR member holds every record below the leader's HW
  (the TLA+ models' *StrongIsr*: a committed record, one acks=all acknowledged, is on
  every in-sync replica, so whichever of them is elected next has it).
- ``committed-lost``: a leader's log reaches every offset any leader of the partition
  ever committed.

Each violation is a ``Violation`` naming the partition and the replicas involved.
"""

import weakref
from bisect import bisect_right
from typing import NamedTuple


class Violation(NamedTuple):
    kind: str
    topic: str
    partition: int
    detail: str

    def __str__(self):
        return f"{self.kind} on {self.topic}-{self.partition}: {self.detail}"


def first_difference(a, b):
    if len(a) == len(b) and a == b:      # the usual case, compared at C speed
        return None
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return None


def values_between(log, start, end, copies=None):
    """``log.values(start, end)``: the values at offsets [start, end), found the same way
    (one ``locate``, through the log's seams) but copied a batch at a time. The invariants
    compare whole logs after every fault, so this is on the simulator's hot path.

    ``copies`` (a dict) keeps one copy of each log's values for the invariants' many reads of
    the same logs in one check: a read is served from it when the log's lookup found the
    batch a correct lookup finds, and otherwise exactly as ``Log.values`` reads."""
    end = min(end, log.log_end_offset)
    if start < log.log_start_offset or start > log.log_end_offset:
        return log.values(start, end)       # raises OffsetOutOfRangeError, as a read does
    out = []
    if start >= end:
        return out
    s, b = log.locate(start)
    if copies is not None:
        copy = copies.get(log, _MISSING)
        if copy is _MISSING:
            copy = copies[log] = _contiguous_values(log)
        if copy is not None and (s, b) == _position(log, start):
            first, values = copy
            return values[start - first:end - first]
    segments = log.segments
    for segment in segments[s:]:
        batches = segment.batches
        for i in range(b, len(batches)):
            batch = batches[i]
            base = batch.base_offset
            if base >= end:
                return out
            out += batch.values[start - base if start > base else 0:end - base]
        b = 0
    return out


_MISSING = object()


def _position(log, offset):
    """``Log.locate(offset)`` with a correct lookup (bisection), without the seams."""
    s = bisect_right(log.segment_bases, offset) - 1
    if not 0 <= s < len(log.segments):
        return None
    return s, max(bisect_right(log.segments[s].batch_bases, offset) - 1, 0)


def records_between(log, start, end):
    """``{offset: value}`` of the records at offsets [start, end): how a log with gaps (a
    compacted one) is compared."""
    out = {}
    for batch in log.read(start, max_bytes=float("inf"), max_offset=end):
        out.update(zip(batch.record_offsets(), batch.values))
    return out


def has_gaps(log, copies=None):
    """Whether ``log``'s offsets have gaps (compaction removed records, whole batches at its
    start included). ``copies`` is ``values_between``'s: a log found contiguous there is."""
    if copies is not None:
        if log not in copies:
            copies[log] = _contiguous_values(log)
        if copies[log] is not None:
            return False
    copy = _copy_of(log)
    return not copy.contiguous or (copy.first is not None and copy.first > log.log_start_offset)


def disagreement(log_a, log_b, start, end, copies=None):
    """The first offset in [start, end) where two replicas hold different records, as
    ``(offset, value in a, value in b)``, or None. Where compaction left gaps, only the
    offsets both still hold are compared: cleaning removes records, it never changes one."""
    if not (has_gaps(log_a, copies) or has_gaps(log_b, copies)):
        a, b = values_between(log_a, start, end, copies), values_between(log_b, start, end, copies)
        at = first_difference(a, b)
        return None if at is None else (start + at, a[at], b[at])
    a, b = records_between(log_a, start, end), records_between(log_b, start, end)
    for offset in sorted(a.keys() & b.keys()):
        if a[offset] != b[offset]:
            return offset, a[offset], b[offset]
    return None


def _copy_of(log):
    """The log's kept ``_LogCopy``, read on to its end (a new one if the log changed under it)."""
    copy = _COPIES.get(log)
    if copy is None or not copy.continues_in(log.segments):
        copy = _COPIES[log] = _LogCopy()
    copy.read_on(log.segments)
    return copy


def _contiguous_values(log):
    """``(first offset, every value in order)``, or None if the batches do not run on from
    one another (then reads go batch by batch, as the log itself would)."""
    copy = _copy_of(log)
    if not copy.contiguous or copy.first is None or copy.first > log.log_start_offset:
        return None
    return copy.first, copy.values


class _LogCopy:
    """The values of one log's batches, read in order, and where the reading stopped.

    Between two checks a log mostly grows at its end, so a copy is kept per log and a
    later check reads only the batches appended since. A segment's ``batches`` list only
    ever grows by appends (whatever else changes a segment gives it a new list, and
    retention or truncation changes the segment list), so a copy still describes the log
    while its segments and their lists are the same objects, in the same places."""

    def __init__(self):
        self.segments = []          # (segment, its batches list) read so far, in order
        self.read_in_last = 0       # batches read of the last of them
        self.first = None           # the first batch's base offset
        self.expected = None        # the base offset the next batch must have
        self.values = []
        self.contiguous = True

    def continues_in(self, segments):
        if len(self.segments) > len(segments):
            return False
        for (segment, batches), now in zip(self.segments, segments):
            if now is not segment or now.batches is not batches:
                return False
        return True

    def read_on(self, segments):
        if not self.contiguous:
            return
        read = len(self.segments)
        start = read - 1 if read else 0
        for i in range(start, len(segments)):
            segment = segments[i]
            batches = segment.batches
            skip = self.read_in_last if i < read else 0
            for batch in batches[skip:] if skip else batches:
                if self.expected is None:
                    self.first = self.expected = batch.base_offset
                if batch.base_offset != self.expected or batch.offsets is not None \
                        or batch.next_offset - batch.base_offset != len(batch.values):
                    self.contiguous = False     # compaction left gaps: read by offsets
                    return
                self.values += batch.values
                self.expected += len(batch.values)
            if i >= read:
                self.segments.append((segment, batches))
            self.read_in_last = len(batches)


_COPIES = weakref.WeakKeyDictionary()      # Log -> _LogCopy


def acting_leader(cluster, topic, partition):
    """The leader's Log, if the elected leader is up and acting as leader at that epoch."""
    reg = cluster.controller.partitions[(topic, partition)]
    if reg.leader < 0:
        return reg, None
    broker = cluster.brokers[reg.leader]
    replica = broker.partitions.get((topic, partition)) if broker.alive else None
    if replica is None or not replica.is_leader or replica.leader_epoch != reg.leader_epoch:
        return reg, None
    return reg, replica.log


def check_cluster(cluster):
    """Every replication invariant violated right now (an empty list if none)."""
    violations = []
    copies = {}         # log -> its values, read once for the many comparisons below
    for (topic, partition), reg in sorted(cluster.controller.partitions.items()):
        if reg.leader >= 0 and reg.leader not in reg.isr:
            violations.append(Violation("leader-not-in-isr", topic, partition,
                                        f"leader {reg.leader} is not in ISR {list(reg.isr)}"))
        reg, leader_log = acting_leader(cluster, topic, partition)
        logs = {b.node_id: b.logs[(topic, partition)] for b in cluster.brokers
                if (topic, partition) in b.logs}
        if leader_log is not None:
            hw = leader_log.high_watermark
            leader_gapped = has_gaps(leader_log, copies)
            leader_values = None if leader_gapped else values_between(
                leader_log, leader_log.log_start_offset, hw, copies)
            for replica in reg.isr:
                if replica == reg.leader or not cluster.brokers[replica].alive or replica not in logs:
                    continue
                log = logs[replica]
                start = max(log.log_start_offset, leader_log.log_start_offset)
                end = min(hw, log.log_end_offset)
                if leader_gapped or has_gaps(log, copies):
                    found = disagreement(log, leader_log, start, end, copies)
                else:
                    first = leader_log.log_start_offset
                    mine = values_between(log, start, end, copies)
                    theirs = leader_values[start - first:end - first]
                    at = first_difference(mine, theirs)
                    found = None if at is None else (start + at, mine[at], theirs[at])
                if found is not None:
                    at, mine, theirs = found
                    violations.append(Violation(
                        "isr-diverged", topic, partition,
                        f"ISR member {replica} has {mine!r} at offset {at}, "
                        f"leader {reg.leader} has {theirs!r} (leader HW {hw})"))
        for broker_id, log in sorted(logs.items()):
            problem = log_shape_problem(log)
            if problem:
                violations.append(Violation("log-offsets-disordered", topic, partition,
                                            f"broker {broker_id}: {problem}"))
        ids = sorted(logs)
        for i, a in enumerate(ids):
            for b in ids[i + 1:]:
                la, lb = logs[a], logs[b]
                start = max(la.log_start_offset, lb.log_start_offset)
                end = min(la.high_watermark, lb.high_watermark)
                if end <= start:
                    continue
                found = disagreement(la, lb, start, end, copies)
                if found is not None:
                    at, va, vb = found
                    violations.append(Violation(
                        "replicas-diverged", topic, partition,
                        f"below both high watermarks, broker {a} has {va!r} and broker {b} "
                        f"has {vb!r} at offset {at}"))
    return violations


def log_shape_problem(log):
    """What is wrong with one log's offsets and segments, or None."""
    if not log.log_start_offset <= log.high_watermark <= log.log_end_offset:
        return (f"log start {log.log_start_offset}, HW {log.high_watermark}, "
                f"LEO {log.log_end_offset} are out of order")
    bases = [segment.base_offset for segment in log.segments]
    if bases != log.segment_bases or bases != sorted(set(bases)):
        return f"segment base offsets {bases} are not strictly increasing"
    if not bases[0] <= log.log_start_offset:
        return f"the first segment starts at {bases[0]}, above the log start {log.log_start_offset}"
    if log.segments[-1].next_offset != log.log_end_offset:
        return (f"the last segment ends at {log.segments[-1].next_offset}, not at the "
                f"log end offset {log.log_end_offset}")
    return None


def acknowledged_records_present(cluster, acknowledged):
    """``acknowledged`` maps (topic, partition) to {offset: value} of acks=all records.
    Each must be in the acting leader's log, at its offset."""
    violations = []
    for (topic, partition), by_offset in sorted(acknowledged.items()):
        _, leader_log = acting_leader(cluster, topic, partition)
        if leader_log is None or not by_offset:
            continue
        if has_gaps(leader_log):
            # compacted: a record may be gone for a later one of its key (cleaner.py checks that)
            held_at = records_between(leader_log, leader_log.log_start_offset,
                                      leader_log.log_end_offset)
            by_offset = {o: v for o, v in by_offset.items() if o in held_at}
            values = None
        else:
            values = values_between(leader_log, leader_log.log_start_offset,
                                    leader_log.log_end_offset)
        base = leader_log.log_start_offset
        for offset, value in sorted(by_offset.items()):
            if offset < base:
                continue
            if values is None:
                held = held_at[offset]
            else:
                held = values[offset - base] if offset - base < len(values) else None
            if held != value:
                violations.append(Violation(
                    "acknowledged-missing", topic, partition,
                    f"acknowledged {value!r} at offset {offset}, but leader "
                    f"{cluster.leader(topic, partition)} has {held!r} there"))
                break
    return violations


class DurabilityWatch:
    """The invariants that faults expose only by luck, checked as often as ``check()`` is
    called. ``strong_isr=False`` leaves out the two that need Kafka's safe settings (no
    unclean election, leader-epoch truncation, no power loss): without them a correct
    cluster breaks them on purpose."""

    def __init__(self, cluster, strong_isr=True):
        self.cluster = cluster
        self.strong_isr = strong_isr
        self.seen_records = 0
        self.registrations = {}     # (topic, partition) -> the last PartitionRegistration
        self.committed = {}         # (topic, partition) -> highest HW any leader reached

    def check(self):
        return self.elections() + (self.committed_records() if self.strong_isr else [])

    def elections(self):
        controller = self.cluster.controller
        violations = []
        records = controller.metadata_log[self.seen_records:]
        self.seen_records += len(records)
        for record in records:
            registration = getattr(record, "registration", None)
            if registration is None:
                continue
            key = (record.topic, record.partition)
            before = self.registrations.get(key)
            self.registrations[key] = registration
            leader = registration.leader
            if before is None or leader < 0 or leader == before.leader or leader in before.isr:
                continue
            if not controller.topic_config(record.topic, "unclean.leader.election.enable"):
                violations.append(Violation(
                    "unclean-election", record.topic, record.partition,
                    f"broker {leader} was elected leader (epoch {registration.leader_epoch}) "
                    f"from outside the ISR {list(before.isr)}, with unclean.leader.election."
                    f"enable=false"))
        return violations

    def committed_records(self):
        violations = []
        cluster = self.cluster
        for key in sorted(cluster.controller.partitions):
            reg, leader_log = acting_leader(cluster, *key)
            if leader_log is None:
                continue
            topic, partition = key
            hw = leader_log.high_watermark
            committed = self.committed.get(key, 0)
            if leader_log.log_end_offset < committed:
                violations.append(Violation(
                    "committed-lost", topic, partition,
                    f"leader {reg.leader} (epoch {reg.leader_epoch}) ends at offset "
                    f"{leader_log.log_end_offset}, but offsets below {committed} were committed"))
            self.committed[key] = max(committed, hw)
            for replica in reg.isr:
                broker = cluster.brokers[replica]
                log = broker.logs.get(key) if broker.alive else None
                if replica != reg.leader and log is not None and log.log_end_offset < hw:
                    violations.append(Violation(
                        "isr-missing-committed", topic, partition,
                        f"leader {reg.leader}'s high watermark is {hw}, but in-sync replica "
                        f"{replica}'s log ends at offset {log.log_end_offset}: records "
                        f"{log.log_end_offset}..{hw - 1} count as committed (acks=all "
                        f"producers were told so), and {replica} could be elected leader "
                        f"next without them"))
        return violations
