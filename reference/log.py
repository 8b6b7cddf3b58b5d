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
is older than ``segment.ms``. Retention deletes whole segments from the oldest end, and
the log start offset follows: that is why a log only ever loses its *beginning*.

The rules in this module (``largest_lower_bound``, ``should_roll``, ``fetch_upper_bound``,
``deletable_segments``) are exercises: ``Log`` calls them through its seams.
"""

from bisect import bisect_right

from .errors import InvalidRequestError, OffsetOutOfRangeError, RecordListTooLargeError
from .producer_state import ProducerStateManager
from .record import RecordBatch, control_batch
from .replication import end_offset_for_epoch

UNDEFINED_EPOCH = -1
UNDEFINED_EPOCH_OFFSET = -1

# Kafka's error codes in a fetch response (Errors.NONE, Errors.OFFSET_OUT_OF_RANGE)
NONE = 0
OFFSET_OUT_OF_RANGE = 1

# Kafka's FetchIsolation: how far a fetch may read
LOG_END = "LOG_END"                 # followers copy everything the leader has
HIGH_WATERMARK = "HIGH_WATERMARK"   # consumers see committed records only
TXN_COMMITTED = "TXN_COMMITTED"     # read_committed consumers: up to the last stable offset


def largest_lower_bound(offsets, target):
    """The index of the last entry in ``offsets`` (sorted, ascending) that is <= ``target``,
    or -1 when every entry is above it.

    Kafka finds the record at an offset with this one lookup, twice: which segment holds it
    (the last segment whose base offset is <= the offset), then, inside that segment's
    offset index, which batch (Kafka's ``AbstractIndex.largestLowerBoundSlotFor``).
    Logs hold thousands of segments and indexes millions of entries: search, don't scan.
    """
    return bisect_right(offsets, target) - 1


def should_roll(segment_size, batch_size, time_waited_ms, segment_bytes, segment_ms):
    """Whether the active segment must be rolled (closed, a new one started) before a batch
    of ``batch_size`` bytes is appended (Kafka's ``LogSegment.shouldRoll``).

    ``segment_size`` is the active segment's size in bytes; ``time_waited_ms`` how long it
    has been open, measured as Kafka does by record timestamps (the new batch's timestamp
    minus that of the segment's first batch; it can be negative). Roll when the batch would
    take the segment past ``segment.bytes``, or when it has waited longer than
    ``segment.ms``. An empty segment is never rolled: its replacement would be just as
    empty. A batch is never larger than ``segment.bytes``: Kafka refuses it before it
    reaches the log (RECORD_LIST_TOO_LARGE), so it always fits in an empty segment.
    """
    if segment_size == 0:
        return False
    return segment_size + batch_size > segment_bytes or time_waited_ms > segment_ms


def fetch_upper_bound(fetch_offset, log_start_offset, high_watermark, log_end_offset,
                      isolation):
    """Where a fetch starting at ``fetch_offset`` must stop: ``(error, upper_bound)``.

    A fetch below the log start offset (deleted records) or beyond the log end offset
    (records that don't exist) gets ``(OFFSET_OUT_OF_RANGE, -1)``. Otherwise the answer is
    ``(NONE, upper_bound)``, the exclusive end of what it may read, by its isolation: a
    follower (``LOG_END``) copies up to the log end offset; a consumer (``HIGH_WATERMARK``)
    sees only committed records, up to the high watermark. A consumer already at or past
    the high watermark is not out of range: it simply gets nothing yet.
    """
    if fetch_offset < log_start_offset or fetch_offset > log_end_offset:
        return OFFSET_OUT_OF_RANGE, -1
    if isolation == LOG_END:
        return NONE, log_end_offset
    return NONE, high_watermark


def deletable_segments(segments, log_start_offset, high_watermark, log_end_offset, now_ms,
                       retention_ms, retention_bytes):
    """Retention (``cleanup.policy=delete``): how many of the oldest segments to delete, and
    the log start offset afterwards, as ``(count, new_log_start_offset)``.

    ``segments`` is ``[(base_offset, size_bytes, largest_timestamp_ms), ...]``, oldest first;
    the last is the active segment. Kafka's ``UnifiedLog.deleteOldSegments`` (3.9) makes
    three passes, one after another, in this order. Each pass starts at the oldest segment
    the passes before it left, and deletes segments for as long as its condition holds:

    1. log start offset: the segment lies wholly below the log start offset (the next
       segment's base offset is <= it), as after DeleteRecords;
    2. ``retention.bytes`` (skipped if negative): deleting the segment still leaves at
       least ``retention.bytes`` in the log;
    3. ``retention.ms`` (skipped if negative): ``now_ms - largest_timestamp_ms > retention.ms``.

    The count is what the three passes deleted together. Timestamps need not increase from
    one segment to the next (producers set them), so the time pass can stop at a recent
    segment with older ones behind it. In every pass a segment may go only if all of it is
    below the high watermark (its end, the next base offset or the log end offset for the
    last segment, is <= the high watermark), and an empty last segment never goes. The new
    log start offset is the base offset of the first segment kept (the log end offset if
    every segment went: Kafka rolls a fresh one first), never lower than the old log start
    offset.
    """
    def delete_while(deletable, first):
        """One pass: from segment ``first``, delete while it may go; returns the index of
        the first segment kept."""
        remaining = sum(size for _, size, _ in segments[first:])
        kept = first
        while kept < len(segments):
            _, size, largest_timestamp = segments[kept]
            is_last = kept == len(segments) - 1
            end = log_end_offset if is_last else segments[kept + 1][0]
            if (end > high_watermark or (is_last and size == 0)
                    or not deletable(kept, size, largest_timestamp, remaining)):
                break
            kept, remaining = kept + 1, remaining - size
        return kept

    def below_log_start(i, size, largest_timestamp, remaining):
        return i + 1 < len(segments) and segments[i + 1][0] <= log_start_offset

    def over_retention_bytes(i, size, largest_timestamp, remaining):
        return remaining - size >= retention_bytes

    def expired(i, size, largest_timestamp, remaining):
        return now_ms - largest_timestamp > retention_ms

    kept = delete_while(below_log_start, 0)
    if retention_bytes >= 0:
        kept = delete_while(over_retention_bytes, kept)
    if retention_ms >= 0:
        kept = delete_while(expired, kept)
    first_kept = segments[kept][0] if kept < len(segments) else log_end_offset
    return kept, max(log_start_offset, first_kept)


class LogSegment:
    """A run of batches from ``base_offset``; in Kafka, one .log file with its indexes."""

    __slots__ = ("base_offset", "batches", "batch_bases", "size_bytes", "created_ms",
                 "first_timestamp", "largest_timestamp", "last_modified")

    def __init__(self, base_offset, created_ms):
        self.base_offset = base_offset
        # grows only by append; any other change assigns a new list (invariants.py relies on it)
        self.batches = []
        self.batch_bases = []       # the offset index: base offset of each batch
        self.size_bytes = 0
        self.created_ms = created_ms
        self.first_timestamp = -1   # what segment.ms is measured from
        self.largest_timestamp = -1 # what retention.ms is measured against
        # the file's modification time: when it was last written to (the engine takes the
        # last batch's timestamp); only the log cleaner's rule before KIP-534 reads it
        self.last_modified = created_ms

    @property
    def next_offset(self):
        return self.batches[-1].next_offset if self.batches else self.base_offset

    def append(self, batch):
        timestamp = batch.max_timestamp
        if not self.batches:
            self.first_timestamp = timestamp
        self.batches.append(batch)
        self.batch_bases.append(batch.base_offset)
        self.size_bytes += batch.size_bytes
        if timestamp > self.largest_timestamp:
            self.largest_timestamp = timestamp
        self.last_modified = timestamp

    def time_waited_ms(self, timestamp, now):
        """How long this segment has been open, by record timestamps (Kafka's
        ``timeWaitedForRoll``); by the clock if it has no timestamped record yet."""
        if self.first_timestamp >= 0:
            return timestamp - self.first_timestamp
        return now - self.created_ms

    def truncate_to(self, offset, lookup=largest_lower_bound):
        """Drop every record at or above ``offset``."""
        i = lookup(self.batch_bases, offset)
        keep = self.batches[:i + 1] if i >= 0 else []
        if keep and keep[-1].next_offset > offset:
            keep[-1] = keep[-1].slice(keep[-1].base_offset, offset)
            if keep[-1].next_offset <= keep[-1].base_offset:
                keep.pop()
        self.batches = keep
        self.batch_bases = [b.base_offset for b in keep]
        self.size_bytes = sum(b.size_bytes for b in keep)
        self.largest_timestamp = max((b.max_timestamp for b in keep), default=-1)
        if not keep:
            self.first_timestamp = -1

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
        """Record that ``epoch`` starts at ``start_offset``. As in Kafka 3.9, only a different
        epoch, or the latest epoch starting earlier, changes anything; the new entry wins:
        every entry from the end with an epoch or a start offset at or above the new one's
        goes first, so both columns keep increasing (an older epoch assigned after a newer
        one replaces it: the log must have been truncated under it)."""
        if epoch < 0 or start_offset < 0:
            raise InvalidRequestError(
                f"invalid leader epoch entry ({epoch}, {start_offset})")  # IllegalArgumentException
        if self.entries:
            latest_epoch, latest_start = self.entries[-1]
            if epoch == latest_epoch and start_offset >= latest_start:
                return
        while self.entries and (self.entries[-1][0] >= epoch or self.entries[-1][1] >= start_offset):
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
        """Forget epochs that started at or after ``end_offset`` (the log was truncated there).
        An undefined (negative) offset changes nothing."""
        if end_offset < 0:
            return
        while self.entries and self.entries[-1][1] >= end_offset:
            self.entries.pop()

    def truncate_from_start(self, start_offset):
        """The log now starts at ``start_offset``: epochs that started at or before it go, except
        the latest of them, which now starts there. An offset before the first entry (or an
        undefined one) changes nothing."""
        covering = None
        while self.entries and self.entries[0][1] <= start_offset:
            covering = self.entries.pop(0)
        if covering is not None:
            self.entries.insert(0, (covering[0], start_offset))

    def __repr__(self):
        return f"LeaderEpochCache({self.entries})"


class Log:
    """One replica of one partition: segments, offsets and the epoch cache."""

    def __init__(self, topic, partition, segment_bytes=1 << 30, segment_ms=604_800_000,
                 flush_messages=None, flush_ms=None, now=0, seams=None):
        if seams is None:
            from .seams import REFERENCE as seams   # seams.py imports this module's rules
        self.seams = seams
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
        # compacted topics: where the cleaner's last pass ended, the first dirty offset
        # (Kafka's cleaner-offset-checkpoint file); None until the first pass
        self.cleaner_checkpoint = None
        self.producer_state = ProducerStateManager()    # idempotent producers seen here

    # -- appending -----------------------------------------------------------------
    def append_as_leader(self, keys, values, timestamps, headers, leader_epoch, now,
                         producer=None, compression=None):
        """Append new records; the leader assigns their offsets. Returns the batch.
        ``producer`` is an idempotent producer's ``(producer_id, epoch, base_sequence)``, with
        a fourth item, its transactional.id, for a transactional producer. ``compression``
        is ``(codec, compressed bytes or None)`` for records stored compressed."""
        codec, compressed = compression or ("none", None)
        if producer is None:
            batch = RecordBatch(self.log_end_offset, leader_epoch, keys, values, timestamps,
                                headers, compression=codec, compressed_bytes=compressed)
        else:
            batch = RecordBatch(self.log_end_offset, leader_epoch, keys, values, timestamps,
                                headers, producer_id=producer[0], producer_epoch=producer[1],
                                base_sequence=producer[2],
                                transactional=len(producer) > 3 and bool(producer[3]),
                                compression=codec, compressed_bytes=compressed)
        self._append(batch, now)
        return batch

    def append_marker_as_leader(self, producer_id, producer_epoch, marker, coordinator_epoch,
                                leader_epoch, now):
        """Append a transaction marker (a control batch) for ``producer_id``; returns it."""
        batch = control_batch(self.log_end_offset, leader_epoch, producer_id, producer_epoch,
                              marker, coordinator_epoch, now)
        self._append(batch, now)
        return batch

    def append_as_follower(self, batch, now):
        """Append a batch copied from the leader, offsets and epoch unchanged. It may start
        above the log end offset, where the leader's cleaner removed whole batches, never
        below it (Kafka's UnexpectedAppendOffsetException)."""
        if batch.base_offset < self.log_end_offset:
            raise InvalidRequestError(
                f"{self.topic}-{self.partition}: batch at offset {batch.base_offset} is below "
                f"the log end offset {self.log_end_offset}")
        self._append(batch, now)

    def _append(self, batch, now):
        if batch.size_bytes > self.segment_bytes:
            # UnifiedLog.append's RecordBatchTooLargeException: so no batch ever needs more
            # than a whole (empty) segment, which is why should_roll never rolls an empty one.
            raise RecordListTooLargeError(
                f"{self.topic}-{self.partition}: a batch of {batch.size_bytes} bytes exceeds "
                f"segment.bytes={self.segment_bytes}")
        if batch.leader_epoch != self.epochs.latest_epoch:
            # Kafka assigns every batch's epoch; the latest epoch again changes nothing (a
            # batch never starts before the log end offset), so only a new epoch is assigned.
            self.epochs.assign(batch.leader_epoch, batch.base_offset)
        segment = self.segments[-1]
        if self.seams.should_roll(segment.size_bytes, batch.size_bytes,
                                  segment.time_waited_ms(batch.max_timestamp, now),
                                  self.segment_bytes, self.segment_ms):
            if not segment.batches:
                raise InvalidRequestError(
                    f"{self.topic}-{self.partition}: should_roll asked to roll the empty "
                    f"segment at {segment.base_offset}")
            segment = self.roll(now, batch.base_offset)
        segment.append(batch)
        self.log_end_offset = batch.next_offset
        if batch.producer_id >= 0:
            self.producer_state.update(batch)
        if ((self.flush_messages is not None
             and self.log_end_offset - self.recovery_point >= self.flush_messages)
                or (self.flush_ms is not None and now - self.last_flush_ms >= self.flush_ms)):
            self.flush(now)

    def roll(self, now, base_offset=None):
        """Close the active segment and start a new one at ``base_offset``: the log end
        offset, or the first offset of the batch about to be appended (a follower's batch
        may start past the log end, after a gap the leader's cleaner left; Kafka's
        ``maybeRoll``). Kafka flushes the closed segment, so the recovery point moves up."""
        segment = LogSegment(self.log_end_offset if base_offset is None else base_offset, now)
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
        s, b = self.locate(start_offset)
        batches = self.segments[s].batches
        if b < len(batches) and batches[b].next_offset <= start_offset:
            b += 1      # start_offset is in a gap that compaction left: read on from there
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

    def locate(self, offset):
        """``(segment index, batch index)`` of the batch holding ``offset``: two lookups."""
        lookup = self.seams.largest_lower_bound
        s = lookup(self.segment_bases, offset)
        if not 0 <= s < len(self.segments):
            raise InvalidRequestError(
                f"{self.topic}-{self.partition}: largest_lower_bound({self.segment_bases}, "
                f"{offset}) = {s} is not a segment")
        b = lookup(self.segments[s].batch_bases, offset)
        return s, max(b, 0)

    def fetch_upper_bound(self, fetch_offset, isolation):
        """``(error, upper_bound)`` for a fetch at ``fetch_offset``; see ``fetch_upper_bound``.
        A read_committed consumer's fetch (``TXN_COMMITTED``) reads as far as the high
        watermark allows, then stops at the last stable offset."""
        if isolation == TXN_COMMITTED:
            error, upper = self.seams.fetch_upper_bound(
                fetch_offset, self.log_start_offset, self.high_watermark, self.log_end_offset,
                HIGH_WATERMARK)
            return error, min(upper, self.last_stable_offset)
        return self.seams.fetch_upper_bound(fetch_offset, self.log_start_offset,
                                            self.high_watermark, self.log_end_offset, isolation)

    @property
    def last_stable_offset(self):
        """The end of what read_committed consumers may read: the high watermark, held back
        by transactions still open or whose marker is not yet committed (producer_state.py)."""
        state = self.producer_state
        high_watermark = self.high_watermark
        if not state.ongoing and not state.unreplicated:
            return high_watermark
        lso = self.seams.last_stable_offset(state.transactions(), high_watermark)
        if type(lso) is not int or not 0 <= lso <= high_watermark:
            raise InvalidRequestError(
                f"{self.topic}-{self.partition}: last_stable_offset({state.transactions()}, "
                f"{high_watermark}) = {lso!r}, not an offset in [0, HW {high_watermark}]")
        state.on_high_watermark(high_watermark)
        return lso

    def offset_epoch(self, offset):
        """The leader epoch of the record at ``offset``."""
        s, b = self.locate(offset)
        return self.segments[s].batches[b].leader_epoch

    # -- truncating and deleting -----------------------------------------------------
    def truncate_to(self, offset):
        """Remove every record at or above ``offset`` (a follower's divergent tail)."""
        if offset < 0:
            raise InvalidRequestError(f"cannot truncate to negative offset {offset}")
        if offset >= self.log_end_offset:
            # Kafka still forgets epochs that start at the log end: a leader that was elected
            # and wrote nothing before it lost the leadership left one there.
            self.epochs.truncate_from_end(self.log_end_offset)
            return
        offset = max(offset, self.log_start_offset)
        while len(self.segments) > 1 and self.segments[-1].base_offset >= offset:
            self.segments.pop()
            self.segment_bases.pop()
        self.segments[-1].truncate_to(offset, self.seams.largest_lower_bound)
        self.log_end_offset = offset
        self.high_watermark = min(self.high_watermark, offset)
        self.recovery_point = min(self.recovery_point, offset)
        self.epochs.truncate_from_end(offset)
        if self.cleaner_checkpoint is not None and self.cleaner_checkpoint > offset:
            self.cleaner_checkpoint = offset    # LogCleanerManager.maybeTruncateCheckpoint
        if self.producer_state.producers:
            self.producer_state.truncate_to(offset, self.batches)
            self.producer_state.on_high_watermark(self.high_watermark)

    def lose_unflushed(self):
        """What a power loss does: everything above the recovery point is gone."""
        self.truncate_to(self.recovery_point)

    def advance_log_start_offset(self, offset, now=0):
        """Move the log start offset up (as DeleteRecords does, or a follower that learns the
        leader's), then delete the segments wholly below it."""
        if offset <= self.log_start_offset:
            return
        if offset > self.high_watermark:
            raise OffsetOutOfRangeError(
                f"cannot move the log start offset to {offset}, above the high watermark "
                f"{self.high_watermark}")
        self.log_start_offset = offset
        self.delete_old_segments(now, retention_ms=-1, retention_bytes=-1)

    def delete_old_segments(self, now, retention_ms, retention_bytes):
        """Retention: delete the segments the rules allow, move the log start offset.
        Returns how many segments went."""
        segments = [(s.base_offset, s.size_bytes, s.largest_timestamp) for s in self.segments]
        count, log_start_offset = self.seams.deletable_segments(
            segments, self.log_start_offset, self.high_watermark, self.log_end_offset, now,
            retention_ms, retention_bytes)
        if not (0 <= count <= len(segments)) or not (
                self.log_start_offset <= log_start_offset <= self.high_watermark):
            raise InvalidRequestError(
                f"{self.topic}-{self.partition}: deleting {count} of {len(segments)} segments "
                f"with log start offset {log_start_offset} would put the log start offset "
                f"outside [{self.log_start_offset}, HW {self.high_watermark}]")
        if count == len(self.segments):
            self.roll(now)              # a log always keeps one (active) segment
        if count:
            del self.segments[:count]
            del self.segment_bases[:count]
        self.log_start_offset = log_start_offset
        self.epochs.truncate_from_start(log_start_offset)
        return count

    def replace_segments(self, count, cleaned):
        """Swap the ``count`` oldest segments for ``cleaned`` (the cleaner's copies of
        them, holding the same offsets; Kafka's ``replaceSegments``)."""
        if count >= len(self.segments):
            raise InvalidRequestError(f"{self.topic}-{self.partition}: the active segment "
                                      f"is never replaced")
        self.segments[:count] = cleaned
        self.segment_bases[:count] = [segment.base_offset for segment in cleaned]

    def truncate_fully_and_start_at(self, offset, now):
        """A follower that fell behind the leader's log start offset: drop everything and
        start again, empty, at ``offset`` (Kafka's ``truncateFullyAndStartAt``)."""
        self.segments = [LogSegment(offset, now)]
        self.segment_bases = [offset]
        self.log_start_offset = self.log_end_offset = offset
        self.high_watermark = self.recovery_point = offset
        self.epochs = LeaderEpochCache()
        self.cleaner_checkpoint = None
        self.producer_state = ProducerStateManager()

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
