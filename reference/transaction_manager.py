"""The transactional producer's side of transactions (Kafka's client ``TransactionManager``).

A producer with a ``transactional.id`` writes to many partitions (and commits a consumer's
offsets) as one unit:

    producer.init_transactions()          # once: fences older instances with the same id
    producer.begin_transaction()
    producer.send("out", b"...")          # the partition joins the transaction first
    producer.send_offsets_to_transaction({("in", 0): 42}, consumer.group_metadata())
    producer.commit_transaction()         # or abort_transaction()

The method names are the Java client's, and so are its states (UNINITIALIZED,
INITIALIZING, READY, IN_TRANSACTION, COMMITTING_TRANSACTION, ABORTING_TRANSACTION,
ABORTABLE_ERROR, FATAL_ERROR) and the exceptions a call in the wrong state raises. A batch
goes to a partition only once the coordinator has added that partition to the transaction
(AddPartitionsToTxn). ``init_transactions``, ``send_offsets_to_transaction``,
``commit_transaction`` and ``abort_transaction`` block, running the simulation, until the
coordinator answers or ``max.block.ms`` passes.

An error that dooms only the running transaction (a batch that failed) is *abortable*: the
application must call ``abort_transaction()``. A *fatal* one (PRODUCER_FENCED: a newer
instance with this transactional.id exists) leaves the producer good for nothing but closing.
"""

from typing import NamedTuple

from . import errors
from .coordinator import OFFSETS_TOPIC, coordinator_partition

UNINITIALIZED = "UNINITIALIZED"
INITIALIZING = "INITIALIZING"
READY = "READY"
IN_TRANSACTION = "IN_TRANSACTION"
COMMITTING_TRANSACTION = "COMMITTING_TRANSACTION"
ABORTING_TRANSACTION = "ABORTING_TRANSACTION"
ABORTABLE_ERROR = "ABORTABLE_ERROR"
FATAL_ERROR = "FATAL_ERROR"

# TransactionManager.State.isTransitionValid: target -> the states it may follow
VALID_SOURCES = {
    UNINITIALIZED: {READY, ABORTABLE_ERROR},
    INITIALIZING: {UNINITIALIZED, ABORTING_TRANSACTION},
    READY: {INITIALIZING, COMMITTING_TRANSACTION, ABORTING_TRANSACTION},
    IN_TRANSACTION: {READY},
    COMMITTING_TRANSACTION: {IN_TRANSACTION},
    ABORTING_TRANSACTION: {IN_TRANSACTION, ABORTABLE_ERROR},
    ABORTABLE_ERROR: {IN_TRANSACTION, COMMITTING_TRANSACTION, ABORTABLE_ERROR, INITIALIZING},
}

# Answers after which the request is simply sent again (to a coordinator found anew)
_RETRY = (errors.ConcurrentTransactionsError, errors.CoordinatorNotAvailableError,
          errors.NotCoordinatorError, errors.CoordinatorLoadInProgressError,
          errors.RequestTimedOutError, errors.UnknownTopicOrPartitionError,
          errors.UnstableOffsetCommitError)
# Fatal answers: this instance is fenced, or lost track of its transaction
_FATAL = (errors.ProducerFencedError, errors.InvalidProducerEpochError,
          errors.InvalidProducerIdMappingError, errors.InvalidTxnStateError,
          errors.TransactionalIdAuthorizationFailedError, errors.ClusterAuthorizationFailedError)
# (TRANSACTION_ABORTABLE and every other error of a transaction's batch: abortable)


class ConsumerGroupMetadata(NamedTuple):
    """What ``consumer.group_metadata()`` returns, for ``send_offsets_to_transaction``: the
    group and this member's generation, so that a zombie member's offsets are refused."""
    group_id: str
    generation_id: int = -1
    member_id: str = ""
    group_instance_id: str | None = None


class TransactionAbortedError(errors.KafkaError):
    name = "TransactionAbortedException"
    code = None
    __doc__ = "The batch was not sent: its transaction was aborted."


class TransactionManager:
    def __init__(self, producer):
        self.producer = producer
        self.cluster = producer.cluster
        self.sim = producer.sim
        self.transactional_id = producer.config["transactional.id"]
        self.timeout_ms = producer.config["transaction.timeout.ms"]
        self.max_block_ms = producer.config["max.block.ms"]
        self.state = UNINITIALIZED
        self.last_error = None
        self.coordinator = None             # the broker found by FindCoordinator
        self.partitions = set()             # added to the running transaction
        self.adding = set()                 # asked for, not added yet
        self.add_token = None               # the AddPartitionsToTxn in flight
        self.started = False                # anything added (partitions or offsets)
        self.epoch_bump_needed = False      # a sequence went unresolved: new epoch after abort
        self.history = []                   # (time, what happened)

    # -- state -------------------------------------------------------------------------
    def transition(self, target, error=None):
        if self.state not in VALID_SOURCES.get(target, ()) and target != FATAL_ERROR:
            raise errors.IllegalStateError(
                f"TransactionalId {self.transactional_id}: Invalid transition attempted from "
                f"state {self.state} to state {target}")
        if error is not None:
            self.last_error = error
        self.history.append((self.sim.now, f"{self.state} -> {target}"))
        self.state = target

    def fail(self, error):
        """A batch or a request failed: fatal if this producer is fenced, else the running
        transaction can only be aborted."""
        if isinstance(error, _FATAL):
            self.transition(FATAL_ERROR, error)
        elif self.state in (IN_TRANSACTION, COMMITTING_TRANSACTION, ABORTABLE_ERROR):
            self.transition(ABORTABLE_ERROR, error)

    def raise_if_failed(self):
        """``maybeFailWithError``."""
        if self.state == FATAL_ERROR:
            if isinstance(self.last_error, errors.KafkaError):
                raise self.last_error
            raise errors.TransactionStateError("the producer is in a fatal error state")
        if self.state == ABORTABLE_ERROR:
            raise errors.TransactionStateError(
                "Cannot execute transactional method because we are in an error state: "
                f"{self.last_error}")

    def check_send(self):
        """``failIfNotReadyForSend``: a transactional producer sends inside a transaction only."""
        if self.state in (FATAL_ERROR, ABORTABLE_ERROR):
            raise errors.TransactionStateError(
                "Cannot perform send because at least one previous transactional or "
                f"idempotent request has failed with errors: {self.last_error}")
        if self.producer.producer_id < 0:
            raise errors.IllegalStateError(
                "Cannot perform a 'send' before completing a call to initTransactions when "
                "transactions are enabled.")
        if self.state != IN_TRANSACTION:
            raise errors.IllegalStateError(f"Cannot call send in state {self.state}")

    # -- talking to the coordinator -----------------------------------------------------
    def request(self, call, deadline):
        """Send ``call(broker, respond)`` to the coordinator until it answers with something
        other than a retriable error, or ``deadline`` passes; returns the answer."""
        config = self.producer.config
        while self.sim.now < deadline:
            if self.coordinator is None and not self.find_coordinator(deadline):
                continue            # none found yet (find_coordinator waited its backoff)
            answer = []
            call(self.coordinator, answer.append)
            self.cluster.run_until(lambda: bool(answer),
                                   timeout_ms=min(config["request.timeout.ms"],
                                                  max(1, deadline - self.sim.now)))
            error = (answer[0] if not isinstance(answer[0], tuple) else answer[0][0]) \
                if answer else errors.RequestTimedOutError("no answer from the coordinator")
            if isinstance(error, dict):     # per-partition answers: the first error counts
                error = next((e for e in error.values() if e is not None), None)
            if not isinstance(error, _RETRY):
                return answer[0]
            if not isinstance(error, errors.ConcurrentTransactionsError):
                self.coordinator = None     # find it again: it may have moved
            self.cluster.run_for(config["retry.backoff.ms"])
        raise errors.ClientTimeoutError(
            f"transactional.id {self.transactional_id}: no answer within "
            f"max.block.ms={self.max_block_ms}")

    def find_coordinator(self, deadline, key=None, key_type="transaction"):
        """FindCoordinator, asked of live brokers in turn; the coordinator's broker, or None."""
        key = key or self.transactional_id
        config = self.producer.config
        for broker in self.cluster.brokers:
            if self.sim.now >= deadline:
                return None
            if not broker.alive:
                continue
            answer = []
            self.producer.net.send(self.producer, broker, broker.handle_find_coordinator,
                                   self.producer, key, answer.append, key_type)
            self.cluster.run_until(lambda: bool(answer),
                                   timeout_ms=min(config["request.timeout.ms"],
                                                  max(1, deadline - self.sim.now)))
            if answer and isinstance(answer[0][0], (
                    errors.TransactionalIdAuthorizationFailedError,
                    errors.GroupAuthorizationFailedError)):
                raise answer[0][0]              # no ACL allows it: asking again will not help
            if answer and answer[0][0] is None:
                found = self.cluster.brokers[answer[0][1]]
                if key_type == "transaction":
                    self.coordinator = found
                return found
        self.cluster.run_for(config["retry.backoff.ms"])
        return None

    def send_to(self, request, *args):
        """``call`` for ``request``: a coordinator handler, with this producer's ids."""
        producer = self.producer

        def call(broker, respond):
            producer.net.send(producer, broker, broker.handle_txn_request, request, producer,
                              self.transactional_id, *args, respond)
        return call

    # -- the API -----------------------------------------------------------------------
    def init_transactions(self):
        self.raise_if_failed()
        self.transition(INITIALIZING)
        deadline = self.sim.now + self.max_block_ms
        try:
            error, producer_id, epoch = self.request(
                self.send_to("handle_init_producer_id", self.timeout_ms), deadline)
        except errors.KafkaError as failure:        # not authorized to find the coordinator
            error = failure
        if error is not None:
            self.transition(FATAL_ERROR, error)
            raise error
        self.producer.set_producer_id(producer_id, epoch)
        self.history.append((self.sim.now, f"producer {producer_id}, epoch {epoch}"))
        self.transition(READY)

    def begin_transaction(self):
        self.raise_if_failed()
        self.transition(IN_TRANSACTION)
        self.partitions, self.adding, self.started = set(), set(), False

    def may_send(self, key):
        """Whether a batch for ``key`` may go: its partition is in the transaction. If not,
        the partition is asked for (the batch waits)."""
        if key in self.partitions:
            return True
        if self.state == IN_TRANSACTION or self.state == COMMITTING_TRANSACTION:
            self.adding.add(key)
            self.add_partitions()
        return False

    def add_partitions(self):
        """AddPartitionsToTxn for the partitions waiting, in the background (the Sender's
        job): the producer's batches for them go once they are in."""
        if self.add_token is not None or not self.adding:
            return
        if self.coordinator is None or not self.coordinator.alive:
            self.coordinator = None
            self.sim.schedule(self.producer.config["retry.backoff.ms"], self.locate_then_add)
            return
        token = self.add_token = object()
        partitions = sorted(self.adding)
        producer = self.producer
        broker = self.coordinator
        producer.net.send(producer, broker, broker.handle_txn_request, "handle_add_partitions",
                          producer, self.transactional_id, producer.producer_id,
                          producer.producer_epoch, partitions,
                          lambda error: self.on_partitions_added(token, partitions, error))
        self.sim.schedule(producer.config["request.timeout.ms"], self.on_partitions_added,
                          token, partitions, errors.RequestTimedOutError("AddPartitionsToTxn"))

    def locate_then_add(self):
        """Find the coordinator without blocking (inside the simulation), then add."""
        if not self.adding or self.add_token is not None:
            return
        for broker in self.cluster.brokers:
            if broker.alive:
                self.producer.net.send(self.producer, broker, broker.handle_find_coordinator,
                                       self.producer, self.transactional_id,
                                       self.on_coordinator_found, "transaction")
                return
        self.sim.schedule(self.producer.config["retry.backoff.ms"], self.locate_then_add)

    def on_coordinator_found(self, answer):
        error, broker_id = answer
        if error is None and self.coordinator is None:
            self.coordinator = self.cluster.brokers[broker_id]
            self.add_partitions()
        elif error is not None:
            self.sim.schedule(self.producer.config["retry.backoff.ms"], self.locate_then_add)

    def on_partitions_added(self, token, partitions, error):
        if token is not self.add_token:
            return
        self.add_token = None
        if error is None:
            self.partitions.update(partitions)
            self.adding.difference_update(partitions)
            self.started = True
            for key in partitions:
                self.producer.drain(key)
        elif isinstance(error, _RETRY):
            if not isinstance(error, errors.ConcurrentTransactionsError):
                self.coordinator = None
            self.sim.schedule(self.producer.config["retry.backoff.ms"], self.add_partitions)
            return
        else:
            self.fail(error)
            self.producer.fail_waiting(error)
            return
        self.add_partitions()

    def send_offsets_to_transaction(self, offsets, group_metadata):
        """Commit ``offsets`` ({(topic, partition): next offset to read}) for the consumer's
        group as part of this transaction: they count only if it commits (AddOffsetsToTxn,
        then TxnOffsetCommit to the group's coordinator)."""
        self.raise_if_failed()
        if self.state != IN_TRANSACTION:
            raise errors.IllegalStateError(
                f"Cannot send offsets if a transaction is not in progress (currentState= "
                f"{self.state})")
        if isinstance(group_metadata, str):
            group_metadata = ConsumerGroupMetadata(group_metadata)
        producer = self.producer
        deadline = self.sim.now + self.max_block_ms
        error = self.request(self.send_to("handle_add_offsets", producer.producer_id,
                                          producer.producer_epoch, group_metadata.group_id),
                             deadline)
        if error is not None:
            self.fail(error)
            raise error
        self.started = True
        self.partitions.add((OFFSETS_TOPIC, coordinator_partition(
            group_metadata.group_id, self.cluster.broker_config["offsets.topic.num.partitions"])))
        offsets = {tuple(tp): offset for tp, offset in offsets.items()}
        while True:
            group_coordinator = self.find_coordinator(deadline, group_metadata.group_id, "group")
            if group_coordinator is None:
                if self.sim.now >= deadline:
                    raise errors.ClientTimeoutError("TxnOffsetCommit: no group coordinator")
                continue
            answer = []
            producer.net.send(producer, group_coordinator, group_coordinator.handle_group_request,
                              "handle_txn_offset_commit", producer, group_metadata.group_id,
                              self.transactional_id, producer.producer_id,
                              producer.producer_epoch, group_metadata.generation_id,
                              group_metadata.member_id, group_metadata.group_instance_id,
                              offsets, answer.append)
            self.cluster.run_until(lambda: bool(answer),
                                   timeout_ms=producer.config["request.timeout.ms"])
            error = next((e for e in answer[0].values() if e is not None), None) if answer \
                else errors.RequestTimedOutError("TxnOffsetCommit: no answer")
            if error is None:
                return
            if not (isinstance(error, _RETRY) or error.retriable) or self.sim.now >= deadline:
                self.fail(error)
                raise error
            self.cluster.run_for(producer.config["retry.backoff.ms"])

    def commit_transaction(self):
        self.raise_if_failed()
        self.transition(COMMITTING_TRANSACTION)
        if not self.producer.flush(self.max_block_ms):
            self.transition(ABORTABLE_ERROR, errors.ClientTimeoutError(
                f"the transaction's records were not all sent within max.block.ms="
                f"{self.max_block_ms}"))
        if self.state in (ABORTABLE_ERROR, FATAL_ERROR):    # a batch failed: no commit
            self.raise_if_failed()
        self.end(commit=True)

    def abort_transaction(self):
        if self.state == FATAL_ERROR:
            self.raise_if_failed()
        self.transition(ABORTING_TRANSACTION)
        self.adding.clear()
        self.producer.drop_unsent(TransactionAbortedError(
            "Failing batch since transaction was aborted"))
        self.producer.flush(self.max_block_ms)  # what is in flight gets its answer first
        self.end(commit=False)

    def end(self, commit):
        """EndTxn, unless nothing was added (an empty transaction needs no coordinator)."""
        if self.started:
            producer = self.producer
            deadline = self.sim.now + self.max_block_ms
            try:
                error, producer_id, epoch = self.request(
                    self.send_to("handle_end_txn", producer.producer_id,
                                 producer.producer_epoch, commit), deadline)
            except errors.ClientTimeoutError as timeout:
                # the outcome is unknown: a commit may only be aborted now, and an abort
                # that cannot be sent leaves this instance to be replaced (and so fenced)
                self.transition(ABORTABLE_ERROR if commit else FATAL_ERROR, timeout)
                raise
            if error is not None:
                self.fail(error)
                raise error
            if epoch != producer.producer_epoch:    # transaction version 2: a new epoch
                producer.set_producer_id(producer_id, epoch)
        self.partitions, self.adding, self.started = set(), set(), False
        self.transition(READY)
        if self.epoch_bump_needed:
            self.bump_epoch()

    def bump_epoch(self):
        """A batch of the aborted transaction failed with its fate unknown: its partition's
        sequence numbers can no longer be trusted. A transactional producer does not bump its
        epoch itself (the coordinator owns it): it asks InitProducerId again, which gives it
        epoch + 1, and every partition starts again from sequence 0 (KIP-360)."""
        self.epoch_bump_needed = False
        deadline = self.sim.now + self.max_block_ms
        error, producer_id, epoch = self.request(
            self.send_to("handle_init_producer_id", self.timeout_ms), deadline)
        if error is not None:
            self.transition(FATAL_ERROR, error)
            raise error
        self.producer.set_producer_id(producer_id, epoch)
        self.history.append((self.sim.now, f"epoch bumped: producer {producer_id}, "
                                           f"epoch {epoch}"))
