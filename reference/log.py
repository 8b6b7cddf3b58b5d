"""The partition log: Kafka's ``UnifiedLog``, its segments and its leader-epoch cache.

Offsets to remember:

- *log start offset*: the first offset still stored; it moves forward when old segments
  are deleted (retention, DeleteRecords).
- *log end offset* (LEO): the offset the next appended record will get.
- *high watermark* (HW): records below it are committed: replicated to the whole ISR,
  safe to show to consumers. The partition's leader moves it (see ``replication.py``).
- *recovery point*: records below it were flushed (fsynced). A broker that loses power
  loses everything above it. Kafka's default is never to fsync and to rely on replication.

The log is a list of segments; only the last, the *active* segment, takes appends. A
segment is rolled (closed, a new one started) when it would pass ``segment.bytes`` or
is older than ``segment.ms``.
"""

from bisect import bisect_right

from .errors import OffsetOutOfRangeError, InvalidRequestError
from .record import RecordBatch
from .replication import end_offset_for_epoch

UNDEFINED_EPOCH = -1
UNDEFINED_EPOCH_OFFSET = -1


class LogSegment:
    """A run of batches from ``base_offset``; in Kafka, one .log file with its indexes."""

    __slots__ = ("base_offset", "batches", "batch_bases", "size_bytes", "created_ms")

    def __init__(self, base_offset, created_ms):
        self.base_offset = base_offset
        self.batches = []
        self.batch_bases = []       # the offset index: base offset of each batch, for bisect
        self.size_bytes = 0
        self.created_ms = created_ms

    @property
    def next_offset(self):
        return self.batches[-1].next_offset if self.batches else self.base_offset

    def append(self, batch):
        self.batches.append(batch)
        self.batch_bases.append(batch.base_offset)
        self.size_bytes += batch.size_bytes

    def batch_index_for(self, offset):
        """Index of the batch holding ``offset`` (the last batch starting at or before it)."""
        return bisect_right(self.batch_bases, offset) - 1

    def truncate_to(self, offset):
        """Drop every record at or above ``offset``."""
        i = self.batch_index_for(offset)
        keep = self.batches[:i + 1] if i >= 0 else []
        if keep and keep[-1].next_offset > offset:
            keep[-1] = keep[-1].slice(keep[-1].base_offset, offset)
            if not len(keep[-1]):
                keep.pop()
        self.batches = keep
        self.batch_bases = [b.base_offset for b in keep]
        self.size_bytes = sum(b.size_bytes for b in keep)

    def __repr__(self):
        return f"LogSegment(base {self.base_offset}, next {self.next_offset}, {self.size_bytes} B)"


class LeaderEpochCache:
    """Kafka's ``LeaderEpochFileCache``: for each leader epoch, the first offset written in it.

    Entries are ``(epoch, start_offset)`` with both strictly increasing. This is what lets a
    follower ask the leader "where did my last epoch end?" instead of trusting its own HW.
    """

    def __init__(self, entries=()):
        self.entries = list(entries)

    @property
    def latest_epoch(self):
        return self.entries[-1][0] if self.entries else UNDEFINED_EPOCH

    def assign(self, epoch, start_offset):
        """Record that ``epoch`` starts at ``start_offset`` (ignored unless it is a newer epoch)."""
        if epoch > self.latest_epoch:
            # A newer epoch starting below an older one's start overrides it (after truncation).
            while self.entries and self.entries[-1][1] >= start_offset:
                self.entries.pop()
            self.entries.append((epoch, start_offset))

    def end_offset_for(self, requested_epoch, log_end_offset, rule=end_offset_for_epoch):
        """Answer to OffsetForLeaderEpoch: ``(epoch, end_offset)``; see ``replication.py``."""
        return rule(list(self.entries), requested_epoch, log_end_offset)

    def start_offset_of(self, epoch):
        for entry_epoch, start in self.entries:
            if entry_epoch == epoch:
                return start
        return None

    def truncate_from_end(self, end_offset):
        """Forget epochs that started at or after ``end_offset`` (the log was truncated there)."""
        while self.entries and self.entries[-1][1] >= end_offset:
            self.entries.pop()

    def truncate_from_start(self, start_offset):
        """The log now starts at ``start_offset``: the epoch covering it starts there."""
        while len(self.entries) > 1 and self.entries[1][1] <= start_offset:
            self.entries.pop(0)
        if self.entries and self.entries[0][1] < start_offset:
            self.entries[0] = (self.entries[0][0], start_offset)

    def __repr__(self):
        return f"LeaderEpochCache({self.entries})"


class Log:
    """One replica of one partition: segments, offsets and the epoch cache."""

    def __init__(self, topic, partition, segment_bytes=1 << 30, segment_ms=604_800_000,
                 flush_messages=None, flush_ms=None, now=0):
        self.topic = topic
        self.partition = partition
        self.segment_bytes = segment_bytes
        self.segment_ms = segment_ms
        self.flush_messages = flush_messages
        self.flush_ms = flush_ms
        self.segments = [LogSegment(0, now)]
        self.segment_bases = [0]
        self.log_start_offset = 0
        self.log_end_offset = 0
        self.high_watermark = 0
        self.recovery_point = 0
        self.last_flush_ms = now
        self.epochs = LeaderEpochCache()

    # -- appending -----------------------------------------------------------------
    def append_as_leader(self, keys, values, timestamps, headers, leader_epoch, now):
        """Append new records; the leader assigns their offsets. Returns the batch."""
        batch = RecordBatch(self.log_end_offset, leader_epoch, keys, values, timestamps, headers)
        self._append(batch, now)
        return batch

    def append_as_follower(self, batch, now):
        """Append a batch copied from the leader, offsets and epoch unchanged."""
        if batch.base_offset != self.log_end_offset:
            raise InvalidRequestError(
                f"{self.topic}-{self.partition}: batch at offset {batch.base_offset} does not "
                f"follow the log end offset {self.log_end_offset}")
        self._append(batch, now)

    def _append(self, batch, now):
        if batch.leader_epoch > self.epochs.latest_epoch:
            self.epochs.assign(batch.leader_epoch, batch.base_offset)
        segment = self.segments[-1]
        if segment.batches and (segment.size_bytes + batch.size_bytes > self.segment_bytes
                                or now - segment.created_ms >= self.segment_ms):
            segment = self.roll(now)
        segment.append(batch)
        self.log_end_offset = batch.next_offset
        if ((self.flush_messages is not None
             and self.log_end_offset - self.recovery_point >= self.flush_messages)
                or (self.flush_ms is not None and now - self.last_flush_ms >= self.flush_ms)):
            self.flush(now)

    def roll(self, now):
        """Close the active segment and start a new one at the log end offset.
        Kafka flushes the closed segment, so the recovery point moves up to it."""
        segment = LogSegment(self.log_end_offset, now)
        self.segments.append(segment)
        self.segment_bases.append(segment.base_offset)
        self.recovery_point = max(self.recovery_point, segment.base_offset)
        return segment

    def flush(self, now):
        self.recovery_point = self.log_end_offset
        self.last_flush_ms = now

    # -- reading ---------------------------------------------------------------------
    def read(self, start_offset, max_bytes=1 << 20, max_offset=None):
        """Batches holding the records from ``start_offset`` up to ``max_offset`` (exclusive;
        the LEO if None), about ``max_bytes`` of them but always at least one batch."""
        end = self.log_end_offset if max_offset is None else min(max_offset, self.log_end_offset)
        if start_offset < self.log_start_offset or start_offset > self.log_end_offset:
            raise OffsetOutOfRangeError(
                f"{self.topic}-{self.partition}: offset {start_offset} is outside "
                f"[{self.log_start_offset}, {self.log_end_offset}]")
        result = []
        if start_offset >= end:
            return result
        size = 0
        s = bisect_right(self.segment_bases, start_offset) - 1
        b = self.segments[s].batch_index_for(start_offset)
        while s < len(self.segments):
            batches = self.segments[s].batches
            while b < len(batches):
                batch = batches[b]
                if batch.base_offset >= end:
                    return result
                if batch.base_offset < start_offset or batch.next_offset > end:
                    batch = batch.slice(start_offset, end)
                result.append(batch)
                size += batch.size_bytes
                if size >= max_bytes:
                    return result
                b += 1
            s += 1
            b = 0
        return result

    def offset_epoch(self, offset):
        """The leader epoch of the record at ``offset``."""
        s = bisect_right(self.segment_bases, offset) - 1
        segment = self.segments[s]
        return segment.batches[segment.batch_index_for(offset)].leader_epoch

    # -- truncating and deleting -----------------------------------------------------
    def truncate_to(self, offset):
        """Remove every record at or above ``offset`` (a follower's divergent tail)."""
        if offset < 0:
            raise InvalidRequestError(f"cannot truncate to negative offset {offset}")
        if offset >= self.log_end_offset:
            return
        offset = max(offset, self.log_start_offset)
        while len(self.segments) > 1 and self.segments[-1].base_offset >= offset:
            self.segments.pop()
            self.segment_bases.pop()
        self.segments[-1].truncate_to(offset)
        self.log_end_offset = offset
        self.high_watermark = min(self.high_watermark, offset)
        self.recovery_point = min(self.recovery_point, offset)
        self.epochs.truncate_from_end(offset)

    def lose_unflushed(self):
        """What a power loss does: everything above the recovery point is gone."""
        self.truncate_to(self.recovery_point)

    def advance_log_start_offset(self, offset):
        """Move the log start offset up (as retention or DeleteRecords do), deleting every
        segment that lies wholly below it. The active segment is never deleted."""
        if offset <= self.log_start_offset:
            return
        if offset > self.high_watermark:
            raise OffsetOutOfRangeError(
                f"cannot move the log start offset to {offset}, above the high watermark "
                f"{self.high_watermark}")
        self.log_start_offset = offset
        while len(self.segments) > 1 and self.segments[1].base_offset <= offset:
            self.segments.pop(0)
            self.segment_bases.pop(0)
        self.epochs.truncate_from_start(offset)

    # -- views ---------------------------------------------------------------------
    @property
    def batches(self):
        for segment in self.segments:
            yield from segment.batches

    def values(self, start=None, end=None):
        """The values at offsets [start, end), for inspection and tests."""
        start = self.log_start_offset if start is None else start
        end = self.log_end_offset if end is None else end
        out = []
        for batch in self.read(start, max_bytes=float("inf"), max_offset=end):
            out.extend(batch.values)
        return out

    def __repr__(self):
        return (f"Log({self.topic}-{self.partition}: start {self.log_start_offset}, "
                f"HW {self.high_watermark}, LEO {self.log_end_offset}, "
                f"{len(self.segments)} segment(s), epochs {self.epochs.entries})")
