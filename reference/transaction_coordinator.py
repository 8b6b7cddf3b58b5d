"""The transaction coordinator: the broker-side half of transactions (KIP-98, Kafka 3.9's
``TransactionCoordinator``, ``TransactionStateManager`` and ``TransactionMetadata``).

A transactional producer names itself with a ``transactional.id``. Its coordinator is the
broker leading partition ``Utils.abs(transactionalId.hashCode) % 50`` of the internal topic
``__transaction_state`` (the same rule as a group's coordinator). The coordinator

- gives the producer its producer id and a new *epoch* on every ``init_transactions()``
  (InitProducerId). The epoch fences zombies: an older instance with the same
  transactional.id is refused everywhere (PRODUCER_FENCED, INVALID_PRODUCER_EPOCH). A
  transaction the old instance left open is aborted first;
- records which partitions a transaction writes to (AddPartitionsToTxn, AddOffsetsToTxn);
- ends it (EndTxn): it writes PrepareCommit or PrepareAbort to its log and answers the
  producer; from then on the outcome is decided, whatever crashes. Then it has every
  partition's leader write a *marker* (WriteTxnMarkers), and once all are written, writes
  CompleteCommit or CompleteAbort;
- aborts a transaction open longer than its ``transaction.timeout.ms``, bumping the epoch so
  that its producer is fenced.

Every state change is written to ``__transaction_state`` (compacted, keyed by the
transactional.id) and replicated before it counts, so the next leader of that partition
loads the same state and finishes what was decided (it sends the markers of a PrepareCommit
again).

States and the transitions allowed between them are Kafka's (``TransactionState``); the rule
``transition_allowed`` is an exercise.

A partition's leader verifies a batch that would open a transaction there with the
coordinator first (KIP-890 part 1, Kafka 3.6+, ``transaction.partition.verification.enable``,
on by default): a produce request delayed past its transaction's end is refused instead of
opening a transaction nobody will close (KAFKA-12671, ``transaction_scenarios.py``).

Simplifications, said plainly: the log's values are JSON, not Kafka's TransactionLogValue
schema; markers go one partition per request (Kafka groups them per broker); the coordinator
learns a partition's leader from its own metadata image; this is transaction version 1:
transaction version 2 (Kafka 4.0, KIP-890 part 2) is modelled only as far as its epoch bump
on every EndTxn (``transaction_scenarios.py``, KAFKA-17754).
"""

import json

from . import errors
from .coordinator import OFFSETS_TOPIC, coordinator_partition, java_string_hash

TRANSACTION_STATE_TOPIC = "__transaction_state"

EMPTY = "Empty"
ONGOING = "Ongoing"
PREPARE_COMMIT = "PrepareCommit"
PREPARE_ABORT = "PrepareAbort"
COMPLETE_COMMIT = "CompleteCommit"
COMPLETE_ABORT = "CompleteAbort"
DEAD = "Dead"
PREPARE_EPOCH_FENCE = "PrepareEpochFence"

STATES = (EMPTY, ONGOING, PREPARE_COMMIT, PREPARE_ABORT, COMPLETE_COMMIT, COMPLETE_ABORT, DEAD,
          PREPARE_EPOCH_FENCE)

SHORT_MAX = 32_767
MARKER_RETRY_MS = 100       # a marker that could not be written is sent again this much later
CONNECTION_CHECK_MS = 250   # how soon a marker request to a crashed leader is given up


def transition_allowed(current, target):
    """Whether a transaction in state ``current`` may move to state ``target``
    (``TransactionMetadata.prepareTransitionTo``, transaction version 1, Kafka 3.9). Each
    state may be reached only from its valid previous states:

    - Empty from Empty, CompleteCommit or CompleteAbort (InitProducerId);
    - Ongoing from Ongoing, Empty, CompleteCommit or CompleteAbort (AddPartitionsToTxn);
    - PrepareCommit from Ongoing; PrepareAbort from Ongoing or PrepareEpochFence (EndTxn,
      or an abort for a timeout or a new producer instance);
    - CompleteCommit from PrepareCommit; CompleteAbort from PrepareAbort (every marker is
      written);
    - Dead from Empty, CompleteCommit or CompleteAbort (the transactional.id expired);
    - PrepareEpochFence from Ongoing (a new instance, or a timeout, fences the producer).
    """
    valid_previous_states = {         # TransactionState's validPreviousStates
        EMPTY: {EMPTY, COMPLETE_COMMIT, COMPLETE_ABORT},
        ONGOING: {ONGOING, EMPTY, COMPLETE_COMMIT, COMPLETE_ABORT},
        PREPARE_COMMIT: {ONGOING},
        PREPARE_ABORT: {ONGOING, PREPARE_EPOCH_FENCE},
        COMPLETE_COMMIT: {PREPARE_COMMIT},
        COMPLETE_ABORT: {PREPARE_ABORT},
        DEAD: {EMPTY, COMPLETE_COMMIT, COMPLETE_ABORT},
        PREPARE_EPOCH_FENCE: {ONGOING},
    }
    return current in valid_previous_states.get(target, ())


def transaction_partition(transactional_id, num_partitions):
    """The ``__transaction_state`` partition whose leader coordinates ``transactional_id``
    (``TransactionStateManager.partitionFor``): ``Utils.abs(transactionalId.hashCode) %
    num_partitions``. ``hashCode`` is Java's String.hashCode (``java_string_hash``), a signed
    32-bit int, not Python's ``hash``. ``Utils.abs`` is not Python's ``abs``: it maps
    Integer.MIN_VALUE (-2147483648), whose negation does not fit in a Java int, to 0."""
    h = java_string_hash(transactional_id)
    if h == -2147483648:
        return 0
    return abs(h) % num_partitions


class TransactionMetadata:
    """One transactional.id, as its coordinator knows it."""

    def __init__(self, transactional_id, producer_id, producer_epoch, timeout_ms, now):
        self.transactional_id = transactional_id
        self.producer_id = producer_id
        self.producer_epoch = producer_epoch
        self.timeout_ms = timeout_ms
        self.state = EMPTY
        self.partitions = set()         # (topic, partition) in the transaction
        self.start_ms = -1              # when the running transaction began
        self.last_update_ms = now
        self.pending = None             # a state change written to the log, not yet replicated
        self.markers_left = set()       # partitions whose marker is not written yet
        self.marker_token = None        # the current round of markers

    def record(self):
        """The value written to ``__transaction_state`` (JSON: see the module's note)."""
        return json.dumps({"producer_id": self.producer_id, "epoch": self.producer_epoch,
                           "timeout_ms": self.timeout_ms, "state": self.state,
                           "partitions": sorted(self.partitions), "start_ms": self.start_ms,
                           "last_update_ms": self.last_update_ms}).encode()

    @classmethod
    def from_record(cls, transactional_id, value):
        data = json.loads(value)
        metadata = cls(transactional_id, data["producer_id"], data["epoch"], data["timeout_ms"],
                       data["last_update_ms"])
        metadata.state = data["state"]
        metadata.partitions = {tuple(tp) for tp in data["partitions"]}
        metadata.start_ms = data["start_ms"]
        return metadata

    def __repr__(self):
        return (f"TransactionMetadata({self.transactional_id!r}, producer {self.producer_id} "
                f"epoch {self.producer_epoch}, {self.state}, {sorted(self.partitions)})")


class TransactionCoordinator:
    """One per broker; it serves the transactional.ids whose ``__transaction_state``
    partition the broker leads. A crash loses its memory; the next leader reloads the log."""

    def __init__(self, broker):
        self.broker = broker
        self.sim = broker.sim
        self.transactions = {}          # transactional.id -> TransactionMetadata
        self.owned = {}                 # __transaction_state partition -> coordinator epoch
        self.history = []               # (time, transactional.id, what happened)
        self.scanning = False           # the timeout scan is scheduled
        self.refusal = None             # the authorization error of the request at hand

    @property
    def num_partitions(self):
        return self.broker.config["transaction.state.log.num.partitions"]

    def partition_for(self, transactional_id):
        return self.broker.seams.transaction_partition(transactional_id, self.num_partitions)

    def note(self, metadata, text):
        self.history.append((self.sim.now, metadata.transactional_id, text))

    # -- becoming (and ceasing to be) coordinator ---------------------------------------
    def on_elected(self, index, log, coordinator_epoch):
        """Load the state of every transactional.id this partition holds (the last record
        of each wins, as compaction keeps it), then finish what was decided: a transaction
        in PrepareCommit or PrepareAbort gets its markers written."""
        if not self.owned and not self.scanning:
            # the timeout scan runs on brokers that coordinate transactions
            self.scanning = True
            self.broker.every(
                self.broker.config["transaction.abort.timed.out.transaction.cleanup.interval.ms"],
                self.broker.incarnation, self.abort_timed_out_transactions)
        self.owned[index] = coordinator_epoch
        for transactional_id in [t for t in self.transactions if self.partition_for(t) == index]:
            del self.transactions[transactional_id]
        for batch in log.batches:
            for record in batch.records(TRANSACTION_STATE_TOPIC, index):
                transactional_id = record.key.decode()
                if record.value is None:
                    self.transactions.pop(transactional_id, None)
                else:
                    self.transactions[transactional_id] = TransactionMetadata.from_record(
                        transactional_id, record.value)
        for transactional_id, metadata in sorted(self.transactions.items()):
            if self.partition_for(transactional_id) == index and metadata.state in (
                    PREPARE_COMMIT, PREPARE_ABORT):
                self.note(metadata, f"loaded in {metadata.state}: writing its markers")
                self.send_markers(metadata)

    def on_resigned(self, index):
        self.owned.pop(index, None)
        for transactional_id in [t for t in self.transactions if self.partition_for(t) == index]:
            del self.transactions[transactional_id]

    def check_coordinator(self, transactional_id):
        """The error to answer first: the request is not authorized (``refusal``, set by the
        broker while it hands the request over), or this is not the coordinator."""
        if self.refusal is not None:
            return self.refusal
        if not self.broker.caught_up or self.partition_for(transactional_id) not in self.owned:
            return errors.NotCoordinatorError(
                f"broker {self.broker.node_id} is not the transaction coordinator of "
                f"{transactional_id!r}")
        return None

    def reply(self, requester, respond, response):
        self.broker.reply(requester, respond, response)

    def is_current(self, metadata):
        """Whether ``metadata`` is this coordinator's live state (not a copy from before it
        lost, and maybe regained, the transactional.id's partition)."""
        return (self.broker.alive and self.transactions.get(metadata.transactional_id) is metadata
                and self.partition_for(metadata.transactional_id) in self.owned)

    # -- writing state -----------------------------------------------------------------
    def transition(self, metadata, target, then, **changes):
        """Write ``metadata`` moved to ``target`` (with ``changes``) to the transaction log;
        once replicated, apply it and call ``then(None)``, else ``then(error)``. Until then
        the transactional.id has a pending change: other requests get CONCURRENT_TRANSACTIONS."""
        if not self.broker.seams.transition_allowed(metadata.state, target):
            raise errors.IllegalStateError(
                f"{metadata.transactional_id}: {metadata.state} -> {target} is not a valid "
                f"transition (transition_allowed)")
        after = TransactionMetadata(metadata.transactional_id, metadata.producer_id,
                                    metadata.producer_epoch, metadata.timeout_ms, self.sim.now)
        after.state, after.partitions, after.start_ms = target, set(metadata.partitions), \
            metadata.start_ms
        for name, value in changes.items():
            setattr(after, name, value)
        index = self.partition_for(metadata.transactional_id)
        epoch = self.owned.get(index)
        if not self.is_current(metadata):
            # this coordinator's state for it is gone (it lost the partition): never write
            # from a stale copy, or an old decision would land in the log after a newer one
            then(errors.NotCoordinatorError(
                f"broker {self.broker.node_id} no longer coordinates "
                f"{metadata.transactional_id!r}"))
            return
        metadata.pending = target

        def on_appended(response):
            if self.owned.get(index) != epoch or self.transactions.get(
                    metadata.transactional_id) is not metadata:
                then(errors.NotCoordinatorError("the coordinator moved while writing"))
                return
            metadata.pending = None
            if response.error is not None:
                then(errors.NotCoordinatorError(str(response.error))
                     if isinstance(response.error, errors.NotLeaderOrFollowerError)
                     else errors.CoordinatorNotAvailableError(str(response.error)))
                return
            for name in ("state", "producer_id", "producer_epoch", "timeout_ms", "partitions",
                         "start_ms", "last_update_ms"):
                setattr(metadata, name, getattr(after, name))
            self.note(metadata, f"{target} (producer {metadata.producer_id}, epoch "
                                f"{metadata.producer_epoch}, {sorted(metadata.partitions)})")
            self.broker.cluster.transaction_log.append(
                (self.sim.now, metadata.transactional_id, metadata.producer_id,
                 metadata.producer_epoch, target))
            then(None)

        self.broker.append_records(
            self.broker, TRANSACTION_STATE_TOPIC, index,
            [metadata.transactional_id.encode()], [after.record()], [self.sim.now], [()], -1,
            self.broker.config["request.timeout.ms"], on_appended)

    # -- InitProducerId ------------------------------------------------------------------
    def handle_init_producer_id(self, requester, transactional_id, timeout_ms, respond):
        """``init_transactions()``: answers ``(error, producer_id, epoch)``."""
        def answer(error, producer_id=-1, epoch=-1):
            self.reply(requester, respond, (error, producer_id, epoch))

        if not transactional_id:
            answer(errors.InvalidRequestError("transactional.id must not be empty"))
            return
        if not 0 < timeout_ms <= self.broker.config["transaction.max.timeout.ms"]:
            answer(errors.InvalidTransactionTimeoutError(
                f"transaction.timeout.ms={timeout_ms} is not in (0, "
                f"{self.broker.config['transaction.max.timeout.ms']}]"))
            return
        error = self.check_coordinator(transactional_id)
        if error is not None:
            answer(error)
            return
        metadata = self.transactions.get(transactional_id)
        if metadata is None:
            metadata = self.transactions[transactional_id] = TransactionMetadata(
                transactional_id, self.broker.cluster.controller.allocate_producer_id(), -1,
                timeout_ms, self.sim.now)
            metadata.state = EMPTY
        if metadata.pending is not None or metadata.state in (PREPARE_COMMIT, PREPARE_ABORT):
            answer(errors.ConcurrentTransactionsError(
                f"{transactional_id}: the previous transaction is still completing"))
            return
        if metadata.state == ONGOING:
            # A new instance while the old one's transaction runs: fence and abort it with a
            # bumped epoch; the new instance retries and gets its own epoch once it is done.
            self.fence_and_abort(metadata, "a new producer instance started")
            answer(errors.ConcurrentTransactionsError(
                f"{transactional_id}: aborting the previous instance's transaction"))
            return
        producer_id, epoch = metadata.producer_id, metadata.producer_epoch + 1
        if epoch >= SHORT_MAX:          # epoch exhausted: a new producer id, epoch 0
            producer_id, epoch = self.broker.cluster.controller.allocate_producer_id(), 0

        def then(error):
            if error is None:
                answer(None, metadata.producer_id, metadata.producer_epoch)
            else:
                answer(error)
        self.transition(metadata, EMPTY, then, producer_id=producer_id, producer_epoch=epoch,
                        timeout_ms=timeout_ms, partitions=set(), start_ms=-1)

    # -- AddPartitionsToTxn, AddOffsetsToTxn ------------------------------------------------
    def producer_error(self, transactional_id, producer_id, epoch):
        """The checks every transactional request after InitProducerId makes, in Kafka's
        order: the id, the coordinator, the producer id, the epoch, then the state."""
        if not transactional_id:
            return errors.InvalidRequestError("transactional.id must not be empty"), None
        error = self.check_coordinator(transactional_id)
        if error is not None:
            return error, None
        metadata = self.transactions.get(transactional_id)
        if metadata is None or metadata.producer_id != producer_id:
            return errors.InvalidProducerIdMappingError(
                f"{transactional_id}: producer id {producer_id} is not its producer"), None
        if metadata.producer_epoch != epoch:
            return errors.ProducerFencedError(
                f"{transactional_id}: epoch {epoch} is not the current epoch "
                f"{metadata.producer_epoch}"), None
        if metadata.pending is not None or metadata.state in (PREPARE_COMMIT, PREPARE_ABORT):
            return errors.ConcurrentTransactionsError(
                f"{transactional_id}: the previous transaction is still completing"), None
        return None, metadata

    def handle_add_partitions(self, requester, transactional_id, producer_id, epoch,
                              partitions, respond):
        """Add ``partitions`` to the running transaction (starting it if need be); answers
        the error, or None."""
        error, metadata = self.producer_error(transactional_id, producer_id, epoch)
        if error is None and metadata.state == PREPARE_EPOCH_FENCE:
            error = errors.ConcurrentTransactionsError(f"{transactional_id} is being fenced")
        if error is not None:
            self.reply(requester, respond, error)
            return
        partitions = {tuple(tp) for tp in partitions}
        if partitions <= metadata.partitions:
            self.reply(requester, respond, None)        # nothing new: nothing to write
            return
        start_ms = metadata.start_ms if metadata.state == ONGOING else self.sim.now
        self.transition(metadata, ONGOING, lambda e: self.reply(requester, respond, e),
                        partitions=metadata.partitions | partitions, start_ms=start_ms)

    def handle_add_offsets(self, requester, transactional_id, producer_id, epoch, group_id,
                           respond):
        """``send_offsets_to_transaction()``'s first step: the group's ``__consumer_offsets``
        partition joins the transaction, so that its offsets get the transaction's marker."""
        index = coordinator_partition(group_id, self.broker.config["offsets.topic.num.partitions"])
        self.handle_add_partitions(requester, transactional_id, producer_id, epoch,
                                   [(OFFSETS_TOPIC, index)], respond)

    def handle_verify_partition(self, requester, transactional_id, producer_id, epoch,
                                partition, respond):
        """AddPartitionsToTxn with verify only (KIP-890 part 1), asked by a partition's
        leader: is ``partition`` in this producer's ongoing transaction? Answers the error,
        or None (TransactionCoordinatorTest.testVerifyPartitionHandling)."""
        error, metadata = self.producer_error(transactional_id, producer_id, epoch)
        if error is None and not (metadata.state == ONGOING
                                  and tuple(partition) in metadata.partitions):
            error = errors.TransactionAbortableError(
                f"{transactional_id}: {partition[0]}-{partition[1]} is not in an ongoing "
                f"transaction (state {metadata.state})")
        self.reply(requester, respond, error)

    # -- EndTxn ----------------------------------------------------------------------------
    def handle_end_txn(self, requester, transactional_id, producer_id, epoch, commit, respond):
        """Commit or abort the running transaction. Answered, ``(error, producer_id, epoch)``,
        once the decision (PrepareCommit or PrepareAbort) is replicated; the markers are
        written after. With transaction version 2 (``transaction.version``, Kafka 4.0,
        KIP-890 part 2) every EndTxn also bumps the epoch, and the answer carries the new
        one: a copy of this request that arrives late, during the producer's next
        transaction, is then fenced instead of ending that transaction (KAFKA-17754)."""
        version2 = self.broker.config["transaction.version"] >= 2

        def answer(error):
            if error is not None:
                self.reply(requester, respond, (error, -1, -1))
            else:
                self.reply(requester, respond,
                           (None, metadata.producer_id, metadata.producer_epoch))

        error = (errors.InvalidRequestError("transactional.id must not be empty")
                 if not transactional_id else self.check_coordinator(transactional_id))
        metadata = self.transactions.get(transactional_id) if error is None else None
        target = PREPARE_COMMIT if commit else PREPARE_ABORT
        done = COMPLETE_COMMIT if commit else COMPLETE_ABORT
        if error is None and (metadata is None or metadata.producer_id != producer_id):
            error = errors.InvalidProducerIdMappingError(
                f"{transactional_id}: producer id {producer_id} is not its producer")
        elif error is None and version2 and epoch == metadata.producer_epoch - 1 and \
                metadata.state in (target, done):
            answer(None if metadata.state == done else errors.ConcurrentTransactionsError(
                f"{transactional_id}: its markers are being written"))
            return                              # a retry of an EndTxn that bumped the epoch
        elif error is None and metadata.producer_epoch != epoch:
            error = errors.ProducerFencedError(
                f"{transactional_id}: epoch {epoch} is not the current epoch "
                f"{metadata.producer_epoch}")
        elif error is None and metadata.pending is not None:
            error = errors.ConcurrentTransactionsError(f"{transactional_id} is changing state")
        if error is not None:
            answer(error)
            return
        if metadata.state == ONGOING:
            def then(error):
                answer(error)
                if error is None:
                    self.send_markers(metadata)
            bumped = {"producer_epoch": metadata.producer_epoch + 1} if version2 else {}
            self.transition(metadata, target, then, **bumped)
        elif metadata.state == done:
            answer(None)                        # a retry of an EndTxn that succeeded
        elif metadata.state == target:
            answer(errors.ConcurrentTransactionsError(
                f"{transactional_id}: its markers are being written"))
        else:
            answer(errors.InvalidTxnStateError(
                f"{transactional_id}: cannot {'commit' if commit else 'abort'} in state "
                f"{metadata.state}"))

    # -- timeouts and fencing ----------------------------------------------------------------
    def abort_timed_out_transactions(self):
        """Every ``transaction.abort.timed.out.transaction.cleanup.interval.ms``: abort each
        transaction running longer than its timeout, fencing its producer."""
        now = self.sim.now
        for transactional_id, metadata in sorted(self.transactions.items()):
            if (self.partition_for(transactional_id) in self.owned and metadata.pending is None
                    and metadata.state == ONGOING
                    and metadata.start_ms + metadata.timeout_ms < now):
                self.fence_and_abort(metadata, f"timed out after {metadata.timeout_ms} ms")

    def fence_and_abort(self, metadata, why):
        """PrepareEpochFence: the epoch goes up by one, and the transaction is aborted under
        the new epoch, so the old producer's requests are refused from now on."""
        self.note(metadata, f"fencing epoch {metadata.producer_epoch}: {why}")
        if not self.broker.seams.transition_allowed(metadata.state, PREPARE_EPOCH_FENCE):
            raise errors.IllegalStateError(
                f"{metadata.transactional_id}: {metadata.state} -> {PREPARE_EPOCH_FENCE} is "
                f"not a valid transition (transition_allowed)")
        metadata.state = PREPARE_EPOCH_FENCE    # in memory only, as Kafka's
        bumped = metadata.producer_epoch + 1

        def then(error):
            if error is None:
                self.send_markers(metadata)
            elif metadata.state == PREPARE_EPOCH_FENCE:
                metadata.state = ONGOING        # not written: the next scan tries again
        self.transition(metadata, PREPARE_ABORT, then, producer_epoch=bumped)

    # -- markers -------------------------------------------------------------------------
    def send_markers(self, metadata):
        """Have each partition's leader write the outcome's marker; retried until written.
        Then the transaction is complete."""
        commit = metadata.state == PREPARE_COMMIT
        token = metadata.marker_token = object()
        metadata.markers_left = set(metadata.partitions)
        if not metadata.markers_left:
            self.complete(metadata, commit, token)
            return
        for topic, index in sorted(metadata.markers_left):
            self.send_marker(metadata, topic, index, commit, token)

    def send_marker(self, metadata, topic, index, commit, token):
        if metadata.marker_token is not token or not self.is_current(metadata):
            return
        registration = self.broker.metadata.partitions.get((topic, index))
        coordinator_epoch = self.owned.get(self.partition_for(metadata.transactional_id))
        if coordinator_epoch is None:
            return                              # no longer the coordinator
        if registration is None or registration.leader < 0:
            self.sim.schedule(MARKER_RETRY_MS, self.send_marker, metadata, topic, index,
                              commit, token)
            return
        leader = self.broker.cluster.brokers[registration.leader]
        answered = []

        def on_written(error):
            if answered or metadata.marker_token is not token or \
                    (topic, index) not in metadata.markers_left:
                return
            answered.append(error)
            if error is None:
                metadata.markers_left.discard((topic, index))
                if not metadata.markers_left:
                    self.complete(metadata, commit, token)
            elif isinstance(error, (errors.InvalidProducerEpochError,
                                    errors.TransactionCoordinatorFencedError)):
                # a newer epoch or a newer coordinator has moved on: this coordinator stops
                # writing this transaction's markers (removeMarkersForTxn)
                self.note(metadata, f"stopped writing markers: {error}")
                metadata.marker_token = None
            else:
                self.sim.schedule(MARKER_RETRY_MS, self.send_marker, metadata, topic, index,
                                  commit, token)

        self.broker.net.send(self.broker, leader, leader.handle_write_txn_marker, self.broker,
                             topic, index, metadata.producer_id, metadata.producer_epoch,
                             coordinator_epoch, commit, on_written)
        # an answer lost on the way: the marker is sent again after request.timeout.ms, or
        # as soon as the connection breaks (the leader crashed: its OS resets it)
        deadline = self.sim.now + self.broker.config["request.timeout.ms"]
        incarnation = leader.incarnation

        def watch():
            if answered:
                return
            if not leader.alive or leader.incarnation != incarnation:
                on_written(errors.NetworkError("WriteTxnMarkers: the connection broke"))
            elif self.sim.now >= deadline:
                on_written(errors.RequestTimedOutError("WriteTxnMarkers: no answer"))
            else:
                self.sim.schedule(CONNECTION_CHECK_MS, watch)
        self.sim.schedule(CONNECTION_CHECK_MS, watch)

    def complete(self, metadata, commit, token):
        """Every marker is written: CompleteCommit or CompleteAbort, and the partitions clear."""
        target = COMPLETE_COMMIT if commit else COMPLETE_ABORT

        def then(error):
            if error is not None and metadata.marker_token is token and \
                    self.is_current(metadata):
                self.sim.schedule(MARKER_RETRY_MS, self.complete, metadata, commit, token)
        if metadata.state != (PREPARE_COMMIT if commit else PREPARE_ABORT) or \
                metadata.pending is not None:
            return
        self.transition(metadata, target, then, partitions=set(), start_ms=-1)

    def describe(self, transactional_id):
        metadata = self.transactions.get(transactional_id)
        if metadata is None:
            return None
        return {"transactional_id": transactional_id, "producer_id": metadata.producer_id,
                "epoch": metadata.producer_epoch, "state": metadata.state,
                "partitions": sorted(metadata.partitions), "timeout_ms": metadata.timeout_ms,
                "history": [h for h in self.history if h[1] == transactional_id]}
