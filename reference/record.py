"""Records and record batches.

A Kafka log is a sequence of *record batches*: the producer groups records, the leader
stamps the batch with a base offset and its leader epoch, and followers copy batches
as they are. We store a batch's records as columns (keys, values, timestamps, headers),
which is how the engine moves a million records a second without an object per record;
``RecordBatch.records()`` gives them back one at a time as ``Record``.

A batch's ``size_bytes`` is exactly what record batch v2 takes for it, uncompressed: the
61-byte header and each record's varints and bytes, counted by the record batch codec
(``record_batch.py``) without encoding anything. The bytes themselves are made only where
someone reads them (``record_batch.encode_batch``).

A batch's offsets run from ``base_offset`` to ``next_offset - 1``. Compaction (``cleaner.py``)
removes records from a batch but never moves one: the batch keeps its base offset and its
last offset (Kafka's ``MemoryRecordsBuilder.overrideLastOffset``), and the records left
carry their own offsets. That is why a compacted log has gaps, and why readers step over a
batch by its ``next_offset``, not by counting its records.
"""

from bisect import bisect_left
from typing import NamedTuple

from .compression import compress
from .record_batch import HEADER_BYTES, columns_size, encode_records

_new_tuple = tuple.__new__

BATCH_OVERHEAD_BYTES = HEADER_BYTES


class Record(NamedTuple):
    """One record as a consumer sees it."""
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp: int
    headers: tuple = ()


class RecordBatch:
    """Records appended together, with consecutive offsets from ``base_offset``.

    ``keys`` and ``headers`` may be None, meaning "None for every record" and
    "no headers for any record", so the common case costs nothing per record. ``offsets``
    is None while the records' offsets are consecutive; a cleaned batch lists them, with
    ``next_offset`` kept from before the cleaning. ``delete_horizon`` is KIP-534's: the time
    after which the cleaner may drop this batch's tombstones (-1 until a cleaning pass
    first keeps one). An idempotent producer's batch carries its ``producer_id``,
    ``producer_epoch`` and the sequence of its first record, ``base_sequence`` (all -1
    otherwise). A transactional producer's batch is ``transactional``. A *control* batch
    holds one control record, a transaction marker (``control`` is ``"COMMIT"`` or
    ``"ABORT"``; None for a batch of data): consumers never see it, but step over it.
    ``compression`` is the codec its records are stored with; its size is then the header
    and the compressed records (``compressed_bytes`` of them, as the producer sent them, or
    compressed here).
    """

    __slots__ = ("base_offset", "leader_epoch", "keys", "values", "timestamps", "headers",
                 "size_bytes", "next_offset", "max_timestamp", "offsets", "delete_horizon",
                 "producer_id", "producer_epoch", "base_sequence", "transactional", "control",
                 "compression", "wire")

    def __init__(self, base_offset, leader_epoch, keys, values, timestamps, headers=None,
                 size_bytes=None, offsets=None, next_offset=None, delete_horizon=-1,
                 producer_id=-1, producer_epoch=-1, base_sequence=-1, transactional=False,
                 control=None, compression="none", compressed_bytes=None):
        self.base_offset = base_offset
        self.leader_epoch = leader_epoch
        self.keys = keys
        self.values = values
        self.timestamps = timestamps
        self.headers = headers
        if size_bytes is None:
            deltas = None if offsets is None else [offset - base_offset for offset in offsets]
            base_timestamp = delete_horizon if delete_horizon >= 0 else None
            if compression == "none" or not values:
                size_bytes = columns_size(keys, values, timestamps, headers, deltas,
                                          base_timestamp)
            else:
                if compressed_bytes is None:    # compressed here (the producer's size, if given)
                    compressed_bytes = len(compress(compression, encode_records(
                        keys, values, timestamps, headers, deltas, base_timestamp)))
                size_bytes = HEADER_BYTES + compressed_bytes
        self.size_bytes = size_bytes
        self.compression = compression
        # A batch never changes once made: what every replica's append reads, worked out once.
        self.next_offset = base_offset + len(values) if next_offset is None else next_offset
        self.max_timestamp = max(timestamps) if timestamps else -1   # a v2 header field
        self.offsets = offsets
        self.delete_horizon = delete_horizon
        self.producer_id = producer_id
        self.producer_epoch = producer_epoch
        self.base_sequence = base_sequence
        self.transactional = transactional
        self.control = control
        self.wire = None        # (rules, bytes): what it was shipped as (memory_records.py)

    def __len__(self):
        return len(self.values)

    @property
    def last_offset(self):
        return self.next_offset - 1

    def record_offsets(self):
        """The offset of each record, in order."""
        if self.offsets is None:
            return range(self.base_offset, self.next_offset)
        return self.offsets

    def slice(self, start_offset, end_offset):
        """The records with offsets in [start_offset, end_offset), as a new batch covering
        that range (of this batch's offsets)."""
        if self.offsets is None:
            lo = max(start_offset - self.base_offset, 0)
            hi = min(end_offset - self.base_offset, len(self.values))
        else:
            lo = bisect_left(self.offsets, start_offset)
            hi = bisect_left(self.offsets, end_offset)
        if start_offset <= self.base_offset and end_offset >= self.next_offset:
            return self
        base_offset = max(self.base_offset, start_offset)
        base_sequence = self.base_sequence
        if base_sequence >= 0:      # the sequence of the slice's first offset (Java's int wrap)
            base_sequence = (base_sequence + base_offset - self.base_offset) % (1 << 31)
        return RecordBatch(
            base_offset, self.leader_epoch,
            None if self.keys is None else self.keys[lo:hi],
            self.values[lo:hi], self.timestamps[lo:hi],
            None if self.headers is None else self.headers[lo:hi],
            offsets=None if self.offsets is None else self.offsets[lo:hi],
            next_offset=min(self.next_offset, max(end_offset, self.base_offset)),
            delete_horizon=self.delete_horizon, producer_id=self.producer_id,
            producer_epoch=self.producer_epoch, base_sequence=base_sequence,
            transactional=self.transactional, control=self.control,
            compression=self.compression)

    def records(self, topic, partition):
        keys = self.keys or (None,) * len(self.values)
        headers = self.headers or ((),) * len(self.values)
        if self.offsets is not None:
            for offset, key, value, timestamp, header in zip(
                    self.offsets, keys, self.values, self.timestamps, headers):
                yield _new_tuple(Record, (topic, partition, offset, key, value, timestamp, header))
            return
        offset = self.base_offset
        for key, value, timestamp, header in zip(keys, self.values, self.timestamps, headers):
            # Record(...) without the Python-level __new__ a NamedTuple has: every record a
            # consumer reads passes here
            yield _new_tuple(Record, (topic, partition, offset, key, value, timestamp, header))
            offset += 1

    def __repr__(self):
        what = f"{self.control} marker" if self.control else f"{len(self)} records"
        return (f"RecordBatch(offsets {self.base_offset}..{self.last_offset}, "
                f"epoch {self.leader_epoch}, {what})")


# -- transaction markers (Kafka's ControlRecordType and EndTransactionMarker) -------------------
ABORT, COMMIT = "ABORT", "COMMIT"
_CONTROL_TYPES = {ABORT: 0, COMMIT: 1}


def control_batch(base_offset, leader_epoch, producer_id, producer_epoch, marker,
                  coordinator_epoch, timestamp):
    """A transaction marker as Kafka writes it: a control batch of one record whose key is
    ``(version 0, type)`` (ABORT 0, COMMIT 1) and whose value is ``(version 0, the
    coordinator's epoch)``, both big-endian; transactional, with no sequence."""
    key = (0).to_bytes(2, "big") + _CONTROL_TYPES[marker].to_bytes(2, "big")
    value = (0).to_bytes(2, "big") + coordinator_epoch.to_bytes(4, "big", signed=True)
    return RecordBatch(base_offset, leader_epoch, [key], [value], [timestamp],
                       producer_id=producer_id, producer_epoch=producer_epoch,
                       transactional=True, control=marker)
