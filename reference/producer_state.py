"""The idempotent producer, broker side: each partition's producer state (Kafka's
``ProducerStateManager`` and ``ProducerStateEntry``).

An idempotent producer gets a *producer id* and an *epoch* (InitProducerId), and numbers
the records it sends to each partition: the *sequence*, from 0, wrapping after
``Integer.MAX_VALUE``. A retry resends a batch with the same numbers. The partition's
leader remembers, for each producer, the metadata of its last five batches; so it can

- answer a retry of one of them (same epoch, same first and last sequence) with the offsets
  the batch got the first time, and append nothing: a lost acknowledgement no longer makes
  a duplicate;
- refuse a batch that does not follow the last one (OUT_OF_ORDER_SEQUENCE_NUMBER): a batch
  sent behind another that is being retried must wait for it, so order holds with several
  requests in flight;
- refuse a producer whose epoch is older than the one it knows (INVALID_PRODUCER_EPOCH).

Every replica keeps this state from the batches it appends, so a new leader has it; a
producer the partition knows nothing of may start at any sequence (KIP-360). Retention
does not make a partition forget a producer (KAFKA-7190): only ``producer.id.expiration.ms``
does, which the engine does not model (its default is a day).

Transactions add three things to the same state (Kafka's ProducerStateManager again):

- the *ongoing* transactions: a transactional producer's first batch since its last marker
  opens one at that batch's offset; its marker (COMMIT or ABORT, a control batch the
  transaction coordinator has the leader write) closes it;
- the *last stable offset* (LSO): the first offset of a transaction that is still open, or
  whose marker is not yet below the high watermark; a read_committed consumer reads up to
  it and no further;
- the *aborted transactions* (Kafka's TransactionIndex): each aborted transaction's producer
  id and offset range, sent to read_committed consumers so that they drop its records.

The rules here (``increment_sequence``, ``check_append``, ``last_stable_offset``) are
exercises: the log calls them through its seams.
"""

from collections import deque
from typing import NamedTuple

_new_tuple = tuple.__new__

INT_MAX = 2_147_483_647
NO_PRODUCER_ID = -1
NO_PRODUCER_EPOCH = -1
NO_SEQUENCE = -1
NUM_BATCHES_TO_RETAIN = 5       # ProducerStateEntry: why max.in.flight may be at most 5

APPEND = "append"
DUPLICATE = "duplicate"
OUT_OF_ORDER_SEQUENCE_NUMBER = "OUT_OF_ORDER_SEQUENCE_NUMBER"
INVALID_PRODUCER_EPOCH = "INVALID_PRODUCER_EPOCH"


class BatchMetadata(NamedTuple):
    """What a partition remembers of one of a producer's last batches."""
    first_sequence: int
    last_sequence: int
    first_offset: int
    last_offset: int


def increment_sequence(sequence, increment):
    """The sequence ``increment`` records after ``sequence``, as Java's int arithmetic
    wraps it (``DefaultRecordBatch.incrementSequence``): past ``Integer.MAX_VALUE``
    (2147483647) the count starts again at 0."""
    if sequence > INT_MAX - increment:
        return increment - (INT_MAX - sequence) - 1
    return sequence + increment


def check_append(epoch, batches, producer_epoch, first_sequence, last_sequence):
    """What the leader does with a batch from an idempotent producer
    (``ProducerStateEntry.findDuplicateBatch``, ``ProducerAppendInfo.checkProducerEpoch`` and
    ``checkSequence``, Kafka 3.9). ``epoch`` and ``batches`` are what the partition knows of
    the producer: its epoch (-1 if it knows nothing of it) and the metadata of its last
    batches, oldest first (``[BatchMetadata(first_sequence, last_sequence, first_offset,
    last_offset), ...]``, at most 5). Returns one of

    - ``("duplicate", BatchMetadata)``: same epoch, and a remembered batch with exactly this
      first and last sequence: answer with its offsets, append nothing;
    - ``("INVALID_PRODUCER_EPOCH", None)``: the batch's epoch is older than the known one;
    - ``("OUT_OF_ORDER_SEQUENCE_NUMBER", None)``: a newer epoch that does not start at
      sequence 0, or the same epoch with a first sequence that is not the one after the
      last batch's last sequence (0 if no batch is remembered; after 2147483647 comes 0);
    - ``("append", None)``: append it. A producer the partition knows nothing of (epoch -1)
      may start at any sequence (KIP-360).
    """
    if producer_epoch == epoch:
        for batch in batches:
            if batch.first_sequence == first_sequence and batch.last_sequence == last_sequence:
                return DUPLICATE, batch
    if producer_epoch < epoch:
        return INVALID_PRODUCER_EPOCH, None
    if producer_epoch != epoch:
        if first_sequence != 0 and epoch != NO_PRODUCER_EPOCH:
            return OUT_OF_ORDER_SEQUENCE_NUMBER, None
        return APPEND, None
    last_sequence_known = batches[-1].last_sequence if batches else NO_SEQUENCE
    if first_sequence != increment_sequence(last_sequence_known, 1):
        return OUT_OF_ORDER_SEQUENCE_NUMBER, None
    return APPEND, None


def last_stable_offset(transactions, high_watermark):
    """The partition's last stable offset (``UnifiedLog.lastStableOffset`` over
    ``ProducerStateManager.firstUnstableOffset``). ``transactions`` lists the transactions
    that may hold it back, each ``(first_offset, marker_offset)``: ``marker_offset`` is None
    while the transaction is open, else the offset of the marker that closed it. A
    transaction holds the LSO at its first offset while it is open, and also once closed,
    until its marker is below the high watermark (replicated to the ISR): a consumer must
    not read a transaction's records before it can read its outcome. The LSO is the
    smallest such first offset, and never above the high watermark."""
    unstable = [first for first, marker in transactions
                if marker is None or marker >= high_watermark]
    return min(unstable + [high_watermark])


class AbortedTxn(NamedTuple):
    """An entry of the transaction index: an aborted transaction's producer id, its first
    offset, the offset of its ABORT marker, and the LSO when it was aborted."""
    producer_id: int
    first_offset: int
    last_offset: int
    last_stable_offset: int


class ProducerStateEntry:
    """One producer, as one partition knows it."""

    __slots__ = ("producer_id", "epoch", "batches", "current_txn_first_offset",
                 "coordinator_epoch")

    def __init__(self, producer_id):
        self.producer_id = producer_id
        self.epoch = NO_PRODUCER_EPOCH
        self.batches = deque(maxlen=NUM_BATCHES_TO_RETAIN)
        self.current_txn_first_offset = -1  # the open transaction's first offset, -1: none
        self.coordinator_epoch = -1         # of the last marker written for it

    def update(self, epoch, metadata):
        if epoch != self.epoch:
            self.epoch = epoch
            self.batches.clear()        # a new epoch starts a new sequence of batches
        self.batches.append(metadata)

    @property
    def last_offset(self):
        return self.batches[-1].last_offset if self.batches else -1

    def __repr__(self):
        return f"ProducerStateEntry({self.producer_id}, epoch {self.epoch}, {list(self.batches)})"


class ProducerStateManager:
    """The producers of one partition replica, kept from every batch it appends."""

    def __init__(self):
        self.producers = {}         # producer id -> ProducerStateEntry
        self.ongoing = {}           # producer id -> first offset of its open transaction
        self.unreplicated = []      # (first offset, marker offset): closed, marker above the HW
        self.aborted = []           # AbortedTxn, in marker order (the transaction index)

    def update(self, batch):
        """Remember a batch this replica appended (as leader or follower)."""
        if batch.producer_id < 0:
            return
        entry = self.producers.get(batch.producer_id)
        if entry is None:
            entry = self.producers[batch.producer_id] = ProducerStateEntry(batch.producer_id)
        if batch.transactional:
            if batch.control is not None:
                self.end_transaction(entry, batch)
                return
            if entry.current_txn_first_offset < 0:
                entry.current_txn_first_offset = batch.base_offset
                self.ongoing[batch.producer_id] = batch.base_offset
        if batch.base_sequence < 0:
            # a coordinator's write in the producer's transaction (TxnOffsetCommit): no
            # sequence to remember, only a newer epoch
            if batch.producer_epoch > entry.epoch:
                entry.epoch = batch.producer_epoch
                entry.batches.clear()
            return
        base_sequence, base_offset = batch.base_sequence, batch.base_offset
        last_offset = batch.next_offset - 1
        # increment_sequence, inline: every replica's every idempotent append passes here
        last_sequence = base_sequence + (last_offset - base_offset)
        if last_sequence > INT_MAX:
            last_sequence -= INT_MAX + 1
        # BatchMetadata(...) without the NamedTuple's Python-level __new__, for the same reason
        metadata = _new_tuple(BatchMetadata, (base_sequence, last_sequence, base_offset,
                                              last_offset))
        if batch.producer_epoch != entry.epoch:
            entry.update(batch.producer_epoch, metadata)
        else:
            entry.batches.append(metadata)

    def end_transaction(self, entry, marker):
        """A marker closes the producer's open transaction (``appendEndTxnMarker``). Its epoch
        becomes the producer's: a zombie's later batches get INVALID_PRODUCER_EPOCH."""
        if marker.producer_epoch != entry.epoch:
            entry.epoch = marker.producer_epoch
            entry.batches.clear()
        entry.coordinator_epoch = int.from_bytes(marker.values[0][2:6], "big", signed=True)
        first = entry.current_txn_first_offset
        if first < 0:
            return              # a marker for a transaction with nothing here (retried)
        entry.current_txn_first_offset = -1
        del self.ongoing[entry.producer_id]
        self.unreplicated.append((first, marker.base_offset))
        if marker.control == "ABORT":
            self.aborted.append(AbortedTxn(entry.producer_id, first, marker.base_offset,
                                           self.first_unstable(marker.base_offset)))

    def in_transaction(self, producer_id):
        """Whether ``producer_id`` has a transaction open on this partition."""
        return producer_id in self.ongoing

    def first_unstable(self, high_watermark):
        """The first offset still unstable, as LSO: the rule itself is ``last_stable_offset``."""
        return last_stable_offset(self.transactions(), high_watermark)

    def transactions(self):
        """``(first offset, marker offset or None)`` of every transaction that may hold the
        last stable offset back."""
        return [(first, None) for first in self.ongoing.values()] + self.unreplicated

    def on_high_watermark(self, high_watermark):
        """Closed transactions whose marker is below the HW hold nothing back any more."""
        if self.unreplicated:
            self.unreplicated = [t for t in self.unreplicated if t[1] >= high_watermark]

    def aborted_for_fetch(self, fetch_offset, upper_bound):
        """``TransactionIndex.collectAbortedTxns``: the aborted transactions a fetch of
        [fetch_offset, upper_bound) may hold records of."""
        return [a for a in self.aborted
                if a.last_offset >= fetch_offset and a.first_offset < upper_bound]

    def truncate_to(self, offset, batches):
        """The log was truncated to ``offset``: rebuild from what it holds (Kafka reloads its
        last snapshot below ``offset`` and replays the log after it). A producer whose
        batches are all gone from the log but were below ``offset`` (retention deleted them)
        keeps its state: Kafka 3.x forgets a producer only when ``producer.id.expiration.ms``
        expires it, never because the log start offset passed it (KAFKA-7190)."""
        kept = {p: e for p, e in self.producers.items() if e.last_offset < offset}
        self.producers, self.ongoing, self.unreplicated, self.aborted = {}, {}, [], []
        for batch in batches:
            self.update(batch)
        for producer_id, entry in kept.items():
            self.producers.setdefault(producer_id, entry)

    def get(self, producer_id):
        return self.producers.get(producer_id)
