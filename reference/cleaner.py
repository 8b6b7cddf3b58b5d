"""The log cleaner: compaction, for topics with ``cleanup.policy=compact``.

A compacted topic keeps, for every key, at least its latest value: it is a table's change
log, and reading it from the beginning rebuilds the table. Kafka's LogCleaner does it on
every broker, for every replica, leader and follower alike, each on its own schedule.

A log is split in two at the cleaner's checkpoint, the *first dirty offset*: below it the
log is clean (every key at most once, since the last pass), above it dirty (new writes).
Every ``log.cleaner.backoff.ms`` the cleaner (``LogCleaner``)

1. picks the *filthiest* log (``LogCleanerManager.grab_filthiest``): the one with the
   largest dirty ratio, the dirty bytes over all bytes, among the logs that need cleaning:
   a ratio above ``min.cleanable.dirty.ratio``, or a record older than
   ``max.compaction.lag.ms`` waiting in the dirty section (KIP-354);
2. bounds what it may clean: never the active segment, never above the last stable offset
   (the high watermark, until transactions exist), never a segment with a record younger
   than ``min.compaction.lag.ms``, rounded down to a whole segment (``first_uncleanable_offset``);
3. maps every key of the dirty section to its latest offset (``build_offset_map``), in a map
   of bounded size (``log.cleaner.dedupe.buffer.size``): a full map ends the pass early,
   and the next pass goes on from there;
4. copies the log from its start to the end of the map, segment group by segment group,
   keeping a record only if no later record has its key and it is not a tombstone whose
   time is up (``should_retain_record``). Offsets never change, so a compacted log has
   gaps. A tombstone (a record with a null value, a delete) must outlive its key's older
   values long enough for every reader to see it: the first pass that keeps it stamps its
   batch with a *delete horizon*, ``delete.retention.ms`` later (KIP-534, Kafka 3.1), and a
   pass after the horizon drops it.

The rules of steps 1 to 4 (``dirty_ratio``, ``should_clean``, ``first_uncleanable_offset``,
``build_offset_map``, ``should_retain_record``) are exercises: the cleaner calls them
through its seams.

Simplifications, said plainly: the offset map holds keys, not their MD5 hashes (Kafka's
map can mistake two keys with the same hash; ours never does), and its capacity is
counted as Kafka counts it, 24 bytes an entry; cleaning takes no simulated time; segments
are grouped by their bytes only (Kafka also bounds a group's index sizes). Transactions:
cleaning stops at the last stable offset, an aborted transaction's records are removed and
never shadow a key, as in Kafka; transaction markers are kept for good (Kafka removes a
marker once its transaction has no records left and ``delete.retention.ms`` has passed).
"""

from bisect import bisect_right
from typing import NamedTuple

from .errors import InvalidConfigurationError, InvalidRequestError
from .log import LogSegment
from .record import RecordBatch

# Kafka's SkimpyOffsetMap: a 16-byte MD5 of the key and an 8-byte offset per entry, filled
# up to log.cleaner.io.buffer.load.factor of its slots.
BYTES_PER_ENTRY = 24

CLEANUP_POLICIES = ("delete", "compact")


def cleanup_policies(value):
    """``cleanup.policy`` as the set of policies it names: Kafka takes a list, written
    ``"compact,delete"`` (either order) or as a Python list."""
    names = value.split(",") if isinstance(value, str) else value
    try:
        policies = frozenset(name.strip() for name in names)
    except (TypeError, AttributeError):
        policies = frozenset()
    if not policies or not policies <= set(CLEANUP_POLICIES):
        raise InvalidConfigurationError(
            f"cleanup.policy must be delete, compact or compact,delete, got {value!r}")
    return policies


class SegmentInfo(NamedTuple):
    """What the cleaner's rules know of a segment."""
    base_offset: int
    size_bytes: int
    first_timestamp: int        # its first batch's largest timestamp; -1 if it is empty
    largest_timestamp: int      # -1 if it is empty


# -- the rules (exercises) -----------------------------------------------------------------------

def dirty_ratio(segments, first_dirty_offset, first_uncleanable_offset):
    """The dirty ratio of a log: cleanable bytes / (clean bytes + cleanable bytes), as
    Kafka's ``LogToClean`` counts them, or 0.0 for a log with neither.

    ``segments`` is ``[SegmentInfo(base_offset, size_bytes, first_timestamp,
    largest_timestamp), ...]``, oldest first, the last the active one. Bytes are counted by
    whole segments:

    - clean: the segments whose base offset is below ``first_dirty_offset``;
    - cleanable: from the segment holding ``first_dirty_offset`` (the first segment, if
      none holds it), the segments whose base offset is below ``first_uncleanable_offset``;
      nothing at all when ``first_uncleanable_offset`` is not above ``first_dirty_offset``.

    A segment holding ``first_dirty_offset`` past its base (a pass that stopped mid-segment)
    counts as both.
    """
    bases = [segment.base_offset for segment in segments]
    clean = sum(segment.size_bytes for segment in segments
                if segment.base_offset < first_dirty_offset)
    cleanable = 0
    if first_uncleanable_offset > first_dirty_offset:
        first = max(bisect_right(bases, first_dirty_offset) - 1, 0)
        cleanable = sum(segment.size_bytes for segment in segments[first:]
                        if segment.base_offset < first_uncleanable_offset)
    total = clean + cleanable
    return cleanable / total if total else 0.0


def should_clean(segments, first_dirty_offset, first_uncleanable_offset, now_ms,
                 min_cleanable_dirty_ratio, max_compaction_lag_ms):
    """Whether the cleaner may pick this log now (``LogCleanerManager.grabFilthiestCompactedLog``).

    Two triggers:

    - the dirty ratio (``dirty_ratio``) is strictly above ``min.cleanable.dirty.ratio``;
    - or compaction is overdue (KIP-354) and there is something to clean (a ratio above 0):
      among the non-active segments from the one holding ``first_dirty_offset`` (the first
      segment, if none holds it), the earliest ``first_timestamp`` above 0 is older than
      ``now_ms - max.compaction.lag.ms`` (strictly). ``max.compaction.lag.ms`` is at least 1.
    """
    ratio = dirty_ratio(segments, first_dirty_offset, first_uncleanable_offset)
    if ratio > min_cleanable_dirty_ratio:
        return True
    bases = [segment.base_offset for segment in segments]
    first = max(bisect_right(bases, first_dirty_offset) - 1, 0)
    stamps = [segment.first_timestamp for segment in segments[first:-1]
              if segment.first_timestamp > 0]
    overdue = bool(stamps) and min(stamps) < now_ms - max_compaction_lag_ms
    return overdue and ratio > 0


def first_uncleanable_offset(segments, first_dirty_offset, last_stable_offset, now_ms,
                             min_compaction_lag_ms):
    """Where cleaning must stop (``LogCleanerManager.cleanableOffsets``, then rounded down as
    ``calculateCleanableBytes`` does): the smallest of

    - the last stable offset (no cleaning above what every reader may see);
    - the active segment's base offset (the active segment is never cleaned);
    - if ``min.compaction.lag.ms`` > 0, the base offset of the first non-active segment,
      from the one holding ``first_dirty_offset``, whose ``largest_timestamp`` is above
      ``now_ms - min.compaction.lag.ms`` (it holds a record too young to clean);

    raised to ``first_dirty_offset`` if below it, then rounded down to the base offset of
    the segment holding it. ``first_dirty_offset`` and ``last_stable_offset`` are never
    below the first segment's base offset (both are at least the log start offset).
    """
    bases = [segment.base_offset for segment in segments]
    bounds = [last_stable_offset, bases[-1]]
    if min_compaction_lag_ms > 0:
        first = bisect_right(bases, first_dirty_offset) - 1
        for segment in segments[first:-1]:
            if segment.largest_timestamp > now_ms - min_compaction_lag_ms:
                bounds.append(segment.base_offset)
                break
    offset = max(first_dirty_offset, min(bounds))
    return bases[bisect_right(bases, offset) - 1]


def build_offset_map(segments, start_offset, end_offset, capacity):
    """The cleaner's offset map (``Cleaner.buildOffsetMap``): each key of the dirty section
    mapped to its latest offset, and how far the map reaches. Returns
    ``(offset_map, latest_offset)``; a pass cleans up to ``latest_offset`` (inclusive), and
    the next pass starts after it.

    ``segments`` is ``[(base_offset, batches), ...]``: the dirty segments in offset order, the
    first holding ``start_offset``, all below ``end_offset`` (the first uncleanable offset).
    ``batches`` is ``[(last_offset, [(offset, key), ...]), ...]``, each batch with its
    records. ``latest_offset`` starts at -1 and moves (it is set, not maxed) as Kafka's
    ``OffsetMap`` moves it:

    - a record with a key, at or above ``start_offset``, is mapped (a later one of the same
      key replaces it), and ``latest_offset`` becomes its offset; records without a key, or
      below ``start_offset``, are skipped;
    - the map takes at most ``capacity`` keys: a record to map that finds it holding
      ``capacity`` keys (its own key among them or not) stops the building at once, with
      ``latest_offset`` as it is;
    - after each batch whose last offset is at or above ``start_offset``: that last offset;
    - after each segment read to its end: the next segment's base offset minus 1, or
      ``end_offset - 1`` after the last one (so a pass steps over gaps).
    """
    offset_map = {}
    latest_offset = -1
    for i, (_, batches) in enumerate(segments):
        for last_offset, records in batches:
            for offset, key in records:
                if key is not None and offset >= start_offset:
                    if len(offset_map) >= capacity:
                        return offset_map, latest_offset
                    offset_map[key] = offset
                    latest_offset = offset
            if last_offset >= start_offset:
                latest_offset = last_offset
        next_start = segments[i + 1][0] if i + 1 < len(segments) else end_offset
        latest_offset = next_start - 1
    return offset_map, latest_offset


def should_retain_record(offset, key, has_value, delete_horizon_ms, offset_map, latest_offset,
                         now_ms):
    """Whether a cleaning pass keeps a record (``Cleaner.shouldRetainRecord``, Kafka 3.1+).

    - Past the map's ``latest_offset``: kept (this pass knows nothing of later keys).
    - Without a key: dropped (it should never have been accepted).
    - Otherwise kept if it is its key's latest record (its offset is at or above the
      map's offset for the key, or the key is not in the map) and it has a value, or it
      is a tombstone whose batch has no delete horizon yet (``delete_horizon_ms`` < 0) or
      whose horizon is still ahead (``now_ms`` before it).
    """
    if offset > latest_offset:
        return True
    if key is None:
        return False
    latest_for_key = offset >= offset_map.get(key, -1)
    tombstone_kept = delete_horizon_ms < 0 or now_ms < delete_horizon_ms
    return latest_for_key and (has_value or tombstone_kept)


# -- the cleaner ----------------------------------------------------------------------------------

class LogCleaningError(Exception):
    """This log cannot be cleaned (Kafka marks such a partition uncleanable)."""


class CleanerStats:
    """What the cleaner did: Kafka's cleaner metrics, per broker."""

    def __init__(self):
        self.runs = 0               # cleaning passes completed
        self.bytes_read = 0
        self.bytes_written = 0
        self.records_read = 0
        self.records_removed = 0
        self.uncleanable = {}       # (topic, partition) -> why the cleaner gave up on it


# How tombstones expire: Kafka 3.1+ (KIP-534) stamps each batch with a delete horizon; before,
# a tombstone went once its segment's last modification was delete.retention.ms older than
# that of the last clean segment (KAFKA-8522: cleaning keeps refreshing those times, so a
# tombstone could live forever). Kept to replay the bug (changelog.py).
DELETE_HORIZON = "delete-horizon"
SEGMENT_TIME = "segment-time"
TOMBSTONE_EXPIRY = (DELETE_HORIZON, SEGMENT_TIME)


def _retain_nothing(*_):
    return False


class Cleaner:
    """One cleaning pass over one log (Kafka's ``Cleaner.doClean``)."""

    def __init__(self, seams, stats, tombstone_expiry=DELETE_HORIZON):
        self.seams = seams
        self.stats = stats
        self.tombstone_expiry = tombstone_expiry
        self.producers_last = set()     # (producer id, last offset) of each producer's last batch
        self.aborted_txns = []          # the log's aborted transactions (AbortedTxn)

    def clean(self, log, first_dirty, first_uncleanable, now, delete_retention_ms,
              map_capacity, last_stable_offset=None):
        """Clean ``log`` from its start up to where the offset map ends; returns the new
        first dirty offset (the next pass's start). A pass that would reach past
        ``last_stable_offset`` (when given) is refused: the rules went wrong."""
        self.aborted_txns = log.producer_state.aborted
        offset_map, latest = self.build_map(log, first_dirty, first_uncleanable, map_capacity)
        end = latest + 1
        if end <= first_dirty:
            raise LogCleaningError(
                f"the offset map ({map_capacity} entries) ended at offset {latest}, before the "
                f"first dirty offset {first_dirty}: nothing can be cleaned")
        if last_stable_offset is not None and end > last_stable_offset:
            # Kafka's bounds keep every pass below the last stable offset: what is above it
            # is not committed, and a new leader could still replace it
            raise InvalidRequestError(
                f"{log.topic}-{log.partition}: a pass up to offset {end} would clean above "
                f"the last stable offset {last_stable_offset} (the high watermark, unless a "
                f"transaction holds it back; first uncleanable offset "
                f"{first_uncleanable})")
        count = 0
        while count < len(log.segments) - 1 and log.segments[count].base_offset < end:
            count += 1
        legacy_horizon = None
        if self.tombstone_expiry == SEGMENT_TIME:
            # the last clean segment's modification time minus delete.retention.ms
            clean = [s for s in log.segments if s.base_offset < first_dirty]
            legacy_horizon = clean[-1].last_modified - delete_retention_ms if clean else 0
        # each idempotent producer's last batch stays, empty if need be, so that the
        # producer state a replica rebuilds from the log still knows its last sequence
        self.producers_last = {(pid, entry.last_offset)
                               for pid, entry in log.producer_state.producers.items()}
        cleaned = []
        for group in self.group_segments(log.segments[:count], log.segment_bytes):
            cleaned.append(self.clean_group(group, offset_map, latest, now,
                                            delete_retention_ms, legacy_horizon))
        log.replace_segments(count, cleaned)
        self.stats.runs += 1
        return end

    def aborted(self, batch):
        """Whether ``batch`` holds records of an aborted transaction."""
        return batch.transactional and any(
            txn.producer_id == batch.producer_id and txn.first_offset <= batch.base_offset
            <= txn.last_offset for txn in self.aborted_txns)

    def build_map(self, log, first_dirty, first_uncleanable, capacity):
        """The offset map over the dirty segments, below ``first_uncleanable``."""
        first = max(bisect_right(log.segment_bases, first_dirty) - 1, 0)
        segments = []
        for segment in log.segments[first:-1]:
            if segment.base_offset >= first_uncleanable:
                break
            batches = []
            for batch in segment.batches:
                if batch.control is not None or self.aborted(batch):
                    # markers and aborted records never shadow a key (buildOffsetMapForSegment)
                    batches.append((batch.last_offset, []))
                    continue
                keys = batch.keys or (None,) * len(batch.values)
                batches.append((batch.last_offset, list(zip(batch.record_offsets(), keys))))
            segments.append((segment.base_offset, batches))
        return self.seams.build_offset_map(segments, first_dirty, first_uncleanable, capacity)

    @staticmethod
    def group_segments(segments, max_bytes):
        """Consecutive segments, grouped while their bytes together stay within
        ``segment.bytes`` (``Cleaner.groupSegmentsBySize``): cleaning must not leave a log
        of ever smaller segments."""
        groups = []
        for segment in segments:
            if groups and groups[-1][1] + segment.size_bytes <= max_bytes:
                groups[-1][0].append(segment)
                groups[-1][1] += segment.size_bytes
            else:
                groups.append([[segment], segment.size_bytes])
        return [group for group, _ in groups]

    def clean_group(self, group, offset_map, latest, now, delete_retention_ms,
                    legacy_horizon=None):
        """The segments of ``group`` copied into one, keeping what the rules retain
        (``Cleaner.cleanInto`` with ``MemoryRecords.filterTo``). With ``legacy_horizon``
        (the rule before KIP-534), a segment's tombstones stay while the segment was
        modified after that time, and no batch is stamped."""
        cleaned = LogSegment(group[0].base_offset, group[-1].created_ms)
        retain = self.seams.should_retain_record
        for segment in group:
            expired = None
            if legacy_horizon is not None:
                expired = segment.last_modified <= legacy_horizon
            for batch in segment.batches:
                kept = self.filter_batch(batch, retain, offset_map, latest, now,
                                         delete_retention_ms, expired)
                if kept is not None:
                    cleaned.append(kept)
        # Kafka gives the copy the last segment's modification time: a group's time is that
        # of its newest member (which is why, before KIP-534, old tombstones looked new)
        cleaned.last_modified = group[-1].last_modified
        return cleaned

    def filter_batch(self, batch, retain, offset_map, latest, now, delete_retention_ms,
                     legacy_expired=None):
        stats = self.stats
        stats.bytes_read += batch.size_bytes
        stats.records_read += len(batch.values)
        if batch.control is not None:
            stats.bytes_written += batch.size_bytes
            return batch        # markers stay (the engine keeps them; see the module's note)
        keys = batch.keys or (None,) * len(batch.values)
        keep = []
        if self.aborted(batch):     # an aborted transaction's records go
            retain = _retain_nothing
        tombstone_kept = False
        horizon = batch.delete_horizon
        if legacy_expired is not None:      # before KIP-534: the segment's time decides
            horizon = now if legacy_expired else -1
        for i, (offset, key, value) in enumerate(zip(batch.record_offsets(), keys, batch.values)):
            if retain(offset, key, value is not None, horizon, offset_map, latest, now):
                keep.append(i)
                tombstone_kept = tombstone_kept or value is None
        stats.records_removed += len(batch.values) - len(keep)
        # KIP-534: the first pass that keeps a tombstone sets its batch's delete horizon.
        stamp = tombstone_kept and batch.delete_horizon < 0 and legacy_expired is None
        if len(keep) == len(batch.values) and not stamp:
            stats.bytes_written += batch.size_bytes
            return batch
        if not keep:
            if (batch.producer_id, batch.last_offset) in self.producers_last:
                return RecordBatch(     # BatchRetention.RETAIN_EMPTY: the header alone
                    batch.base_offset, batch.leader_epoch,
                    None if batch.keys is None else [], [], [], offsets=[],
                    next_offset=batch.next_offset, producer_id=batch.producer_id,
                    producer_epoch=batch.producer_epoch, base_sequence=batch.base_sequence,
                    transactional=batch.transactional, compression=batch.compression)
            return None     # BatchRetention.DELETE_EMPTY: nothing left, the batch goes
        offsets = list(batch.record_offsets())
        rebuilt = RecordBatch(
            batch.base_offset, batch.leader_epoch,
            None if batch.keys is None else [batch.keys[i] for i in keep],
            [batch.values[i] for i in keep], [batch.timestamps[i] for i in keep],
            None if batch.headers is None else [batch.headers[i] for i in keep],
            offsets=[offsets[i] for i in keep], next_offset=batch.next_offset,
            delete_horizon=now + delete_retention_ms if stamp else batch.delete_horizon,
            producer_id=batch.producer_id, producer_epoch=batch.producer_epoch,
            base_sequence=batch.base_sequence, transactional=batch.transactional,
            compression=batch.compression)         # recompressed with its own codec
        stats.bytes_written += rebuilt.size_bytes
        return rebuilt


class LogCleanerManager:
    """Which log to clean next, and where each log's dirty section starts (Kafka's
    ``LogCleanerManager``). The checkpoints live on the logs themselves (Kafka's
    ``cleaner-offset-checkpoint`` file), so they survive a crash."""

    def __init__(self, broker):
        self.broker = broker
        self.seams = broker.seams

    def compacted_logs(self):
        broker = self.broker
        for key, log in sorted(broker.logs.items()):
            if "compact" in broker.topic_config(key[0], "cleanup.policy"):
                yield key, log

    def offsets_to_clean(self, key, log, now):
        """``(first_dirty, first_uncleanable, ratio, needed)`` for one log, through the rules."""
        return offsets_to_clean(log, now, self.seams,
                                lambda name: self.broker.topic_config(key[0], name))

    def grab_filthiest(self, now, skip=()):
        """The log to clean now, ``(key, log, first_dirty, first_uncleanable)``, or None:
        of the logs that need cleaning, the one with the largest dirty ratio (ties go to
        the first topic-partition in order; Kafka leaves them to chance)."""
        best = None
        for key, log in self.compacted_logs():
            if key in skip or key in self.broker.log_cleaner.stats.uncleanable:
                continue
            if log.cleaner_checkpoint is not None and \
                    log.cleaner_checkpoint != first_dirty_offset(log):
                log.cleaner_checkpoint = first_dirty_offset(log)    # forceUpdateCheckpoint
            if not any(segment.size_bytes for segment in log.segments):
                continue        # Kafka skips empty logs (most __consumer_offsets partitions)
            first_dirty, first_uncleanable, ratio, needed = self.offsets_to_clean(key, log, now)
            if needed and (best is None or ratio > best[0]):
                best = (ratio, key, log, first_dirty, first_uncleanable)
        return None if best is None else best[1:]

    def dirty_ratios(self, now):
        """``{(topic, partition): dirty ratio}`` of this broker's compacted replicas."""
        return {key: self.offsets_to_clean(key, log, now)[2]
                for key, log in self.compacted_logs()}


def first_dirty_offset(log):
    """The cleaner's checkpoint, or the log start offset if there is none or it is outside
    the log (``LogCleanerManager.cleanableOffsets``)."""
    checkpoint = log.cleaner_checkpoint
    if checkpoint is None or checkpoint < log.log_start_offset or \
            checkpoint > log.log_end_offset:
        return log.log_start_offset
    return checkpoint


def offsets_to_clean(log, now, seams, config):
    """``(first_dirty, first_uncleanable, dirty_ratio, should_clean)`` for one log, through
    the rules in ``seams``; ``config(name)`` gives the topic's config by Kafka name."""
    segments = segment_infos(log)
    first_dirty = first_dirty_offset(log)
    first_uncleanable = seams.first_uncleanable_offset(
        segments, first_dirty, log.last_stable_offset, now, config("min.compaction.lag.ms"))
    ratio = seams.dirty_ratio(segments, first_dirty, first_uncleanable)
    needed = seams.should_clean(segments, first_dirty, first_uncleanable, now,
                                config("min.cleanable.dirty.ratio"),
                                config("max.compaction.lag.ms"))
    return first_dirty, first_uncleanable, ratio, needed


def map_capacity(broker_config):
    """How many keys the offset map takes (``SkimpyOffsetMap`` slots, times the load factor)."""
    return int(broker_config["log.cleaner.dedupe.buffer.size"] // BYTES_PER_ENTRY
               * broker_config["log.cleaner.io.buffer.load.factor"])


def clean_once(log, now, seams, config, capacity, stats=None):
    """One pass of the cleaner over ``log`` if it needs one, as a broker's cleaner makes it
    (for tests, pictures and one-log experiments). ``config(name)`` gives topic configs by
    Kafka name. Returns the ``CleanerStats`` of the pass, or None if nothing was cleaned."""
    first_dirty, first_uncleanable, _, needed = offsets_to_clean(log, now, seams, config)
    if not needed or not any(segment.size_bytes for segment in log.segments):
        return None
    stats = stats or CleanerStats()
    log.cleaner_checkpoint = Cleaner(seams, stats).clean(
        log, first_dirty, first_uncleanable, now, config("delete.retention.ms"), capacity,
        log.last_stable_offset)
    return stats


def segment_infos(log):
    return [SegmentInfo(s.base_offset, s.size_bytes, s.first_timestamp, s.largest_timestamp)
            for s in log.segments]


class LogCleaner:
    """One broker's log cleaner (Kafka's ``LogCleaner``, one cleaner thread): every
    ``log.cleaner.backoff.ms`` it cleans the filthiest log, then the next, until none
    needs cleaning (each log at most once a round)."""

    def __init__(self, broker):
        self.broker = broker
        self.manager = LogCleanerManager(broker)
        self.stats = CleanerStats()
        self.cleaner = Cleaner(broker.seams, self.stats, broker.cluster.tombstone_expiry)

    def clean_filthiest_logs(self):
        now = self.broker.sim.now
        capacity = map_capacity(self.broker.config)
        done = set()
        while True:
            chosen = self.manager.grab_filthiest(now, skip=done)
            if chosen is None:
                return
            key, log, first_dirty, first_uncleanable = chosen
            done.add(key)
            try:
                log.cleaner_checkpoint = self.cleaner.clean(
                    log, first_dirty, first_uncleanable, now,
                    self.broker.topic_config(key[0], "delete.retention.ms"), capacity,
                    log.last_stable_offset)
            except LogCleaningError as error:
                self.stats.uncleanable[key] = str(error)
