"""Cases ported from Kafka's own transaction tests (Kafka 3.9 sources; each names its test):
TransactionMetadataTest (the coordinator's transitions), the consumer's FetcherTest,
CompletedFetchTest and FetchCollectorTest (what read_committed returns), and
ProducerStateManagerTest (the first unstable offset; epochs and markers on a partition)."""

import pytest

from kafkadojo.reference import errors
from kafkadojo.reference.cluster import Cluster
from kafkadojo.reference.consumer import read_committed_batches
from kafkadojo.reference.producer_state import (APPEND, OUT_OF_ORDER_SEQUENCE_NUMBER,
                                                INVALID_PRODUCER_EPOCH, ProducerStateManager,
                                                check_append, last_stable_offset)
from kafkadojo.reference.record import RecordBatch, control_batch
from kafkadojo.reference.transaction_coordinator import (
    COMPLETE_ABORT, COMPLETE_COMMIT, EMPTY, ONGOING, PREPARE_ABORT, PREPARE_COMMIT,
    PREPARE_EPOCH_FENCE, transition_allowed)

T = True


# -- TransactionMetadataTest: transitions asserted valid or to throw (transaction version 1) --------
@pytest.mark.parametrize("current, target, java_test", [
    (EMPTY, EMPTY, "testNormalEpochBump"),
    (EMPTY, ONGOING, "testTolerateTimeShiftDuringAddPartitions"),
    (ONGOING, ONGOING, "testTolerateTimeShiftDuringAddPartitions"),
    (ONGOING, PREPARE_COMMIT, "testTolerateTimeShiftDuringPrepareCommit"),
    (ONGOING, PREPARE_ABORT, "testTolerateTimeShiftDuringPrepareAbort"),
    (PREPARE_COMMIT, COMPLETE_COMMIT, "testTolerateTimeShiftDuringCompleteCommit"),
    (PREPARE_ABORT, COMPLETE_ABORT, "testTolerateTimeShiftDuringCompleteAbort"),
    (ONGOING, PREPARE_EPOCH_FENCE, "testFenceProducerAfterEpochsExhausted"),
])
def test_transitions_kafka_allows(current, target, java_test):
    assert transition_allowed(current, target), java_test


@pytest.mark.parametrize("current, target, java_test", [
    (COMPLETE_COMMIT, PREPARE_EPOCH_FENCE, "testInvalidTransitionFromCompleteCommitToFence"),
    (COMPLETE_ABORT, PREPARE_EPOCH_FENCE, "testInvalidTransitionFromCompleteAbortToFence"),
    (ONGOING, EMPTY, "testRotateProducerIdInOngoingState"),
    (PREPARE_ABORT, EMPTY, "testRotateProducerIdInPrepareAbortState"),
    (PREPARE_COMMIT, EMPTY, "testRotateProducerIdInPrepareCommitState"),
])
def test_transitions_kafka_refuses(current, target, java_test):
    assert not transition_allowed(current, target), java_test


def test_epoch_bump_on_end_txn():
    """TransactionMetadataTest.testEpochBumpOnEndTxn: with transaction version 2 an EndTxn
    bumps the epoch, and the producer goes on with the new one."""
    cluster = Cluster(brokers=3, seed=2, config={"transaction.version": 2})
    cluster.create_topic("t", replication_factor=3)
    producer = cluster.producer(transactional_id="txnlId")
    producer.init_transactions()
    epoch = producer.producer_epoch
    for round_ in range(2):
        producer.begin_transaction()
        producer.send("t", b"x", partition=0)
        producer.commit_transaction()
        assert producer.producer_epoch == epoch + round_ + 1


# -- FetcherTest, CompletedFetchTest, FetchCollectorTest: what read_committed returns --------------
# (base_offset, last_offset, producer_id, transactional, control); aborted [(pid, first_offset)];
# Kafka's expected records, as the base offsets of the batches they are in.
READ_COMMITTED_CASES = {
    "FetcherTest.testSkippingAbortedTransactions": (
        [(0, 1, 1, T, None), (2, 2, 1, T, "ABORT")], [(1, 0)], []),
    "FetcherTest.testReturnCommittedTransactions": (
        [(0, 1, 1, T, None), (2, 2, 1, T, "COMMIT")], [], [0]),
    "FetcherTest.testReadCommittedWithCommittedAndAbortedTransactions": (
        [(0, 1, 1, T, None), (2, 2, 2, T, None), (3, 3, 1, T, "COMMIT"), (4, 4, 2, T, None),
         (5, 5, 2, T, "ABORT"), (6, 6, 1, T, None), (7, 7, 2, T, None), (8, 8, 1, T, None),
         (9, 9, 1, T, "ABORT"), (10, 10, 2, T, "COMMIT")], [(2, 2), (1, 6)], [0, 7]),
    "FetcherTest.testMultipleAbortMarkers": (
        [(0, 1, 1, T, None), (2, 2, 1, T, "ABORT"), (3, 3, 1, T, "ABORT"), (4, 5, 1, T, None),
         (6, 6, 1, T, "COMMIT")], [(1, 0)], [4]),
    "FetcherTest.testReadCommittedAbortMarkerWithNoData": (
        [(5, 5, 1, T, "ABORT"), (6, 8, 1, T, None), (9, 9, 1, T, "COMMIT")], [(1, 0)], [6]),
    "FetcherTest.testReadCommittedWithCompactedTopic": (
        [(3, 4, 3, T, None), (15, 17, 2, T, None), (22, 23, 1, T, None), (28, 28, 2, T, "ABORT"),
         (30, 32, 3, T, None), (35, 35, 3, T, "COMMIT"), (39, 40, 1, T, None)],
        [(2, 6), (1, 0)], [3, 30]),
    "CompletedFetchTest.testAbortedTransactionRecordsRemoved": (
        [(0, 9, 1000, T, None), (10, 10, 1000, T, "ABORT")], [(1000, 0)], []),
    "CompletedFetchTest.testCommittedTransactionRecordsIncluded": (
        [(0, 9, 1000, T, None), (10, 10, 1000, T, "COMMIT")], [], [0]),
    "FetchCollectorTest.testReadCommittedWithAbortedTransaction (first fetch)": (
        [(0, 19, 100, T, None), (20, 20, 100, T, "ABORT")], [(100, 0)], []),
    "FetchCollectorTest.testReadCommittedWithAbortedTransaction (second fetch)": (
        [(21, 21, 100, T, "ABORT"), (22, 41, 100, T, None)], [(100, 21)], [22]),
}


@pytest.mark.parametrize("java_test", sorted(READ_COMMITTED_CASES))
def test_read_committed_returns_what_kafkas_consumer_returns(java_test):
    batches, aborted, expected = READ_COMMITTED_CASES[java_test]
    assert read_committed_batches(batches, aborted) == expected


def test_the_fetcher_ignores_control_records_in_read_uncommitted():
    """FetcherTest.testFetcherIgnoresControlRecords: a read_uncommitted consumer returns the
    idempotent (non-transactional) record and steps over the marker."""
    cluster = Cluster(brokers=1, seed=1)
    cluster.create_topic("t", replication_factor=1)
    broker = cluster.broker(0)
    log = broker.logs[("t", 0)]
    log.append_as_leader([b"key"], [b"value"], [cluster.now], None, 0, cluster.now, (1, 0, 0))
    log.append_marker_as_leader(1, 0, "ABORT", 0, 0, cluster.now)
    log.high_watermark = log.log_end_offset
    consumer = cluster.consumer(auto_offset_reset="earliest")
    consumer.assign([("t", 0)])
    records = consumer.poll(1_000)
    consumer.poll(500)
    assert [r.offset for r in records] == [0]
    assert consumer.position("t", 0) == 2


# -- ProducerStateManagerTest ------------------------------------------------------------------------
def _data(base, last, pid, epoch=0, sequence=0, transactional=True):
    size = last - base + 1
    return RecordBatch(base, 0, None, [b"v"] * size, [0] * size, producer_id=pid,
                       producer_epoch=epoch, base_sequence=sequence, transactional=transactional)


def _marker(offset, pid, kind, epoch=0, coordinator_epoch=0):
    return control_batch(offset, 0, pid, epoch, kind, coordinator_epoch, 0)


def _lso(state, hw):
    lso = last_stable_offset(state.transactions(), hw)
    state.on_high_watermark(hw)
    return lso


def test_first_unstable_offset():
    """ProducerStateManagerTest.testFirstUnstableOffset (epoch 5, producers A and B)."""
    state = ProducerStateManager()
    state.update(_data(99, 99, 1, epoch=5))
    assert _lso(state, 200) == 99
    state.update(_data(105, 105, 2, epoch=5))
    assert _lso(state, 200) == 99
    state.update(_marker(109, 1, "COMMIT", epoch=5))
    assert _lso(state, 100) == 99            # A's marker is not below the HW yet
    assert _lso(state, 110) == 105           # now it is: B holds the LSO
    state.update(_marker(112, 2, "ABORT", epoch=5))
    assert _lso(state, 110) == 105           # B's marker at 112 is above the HW 110
    assert _lso(state, 113) == 113           # nothing unstable: the LSO is the HW


def test_skip_empty_transactions():
    """ProducerStateManagerTest.testSkipEmptyTransactions: markers of transactions with no
    data on this partition complete nothing."""
    state = ProducerStateManager()
    state.update(_data(16, 20, 1))
    assert _lso(state, 21) == 16
    for batch in (_marker(21, 1, "COMMIT"), _marker(22, 1, "COMMIT"), _marker(23, 1, "ABORT"),
                  _data(24, 27, 1, sequence=5), _marker(28, 1, "ABORT"),
                  _marker(29, 1, "ABORT"), _data(30, 31, 1, sequence=9)):
        state.update(batch)
    assert [(a.first_offset, a.last_offset) for a in state.aborted] == [(24, 28)]
    assert _lso(state, 32) == 30


def test_control_record_bumps_producer_epoch():
    """ProducerStateManagerTest.testControlRecordBumpsProducerEpoch: an ABORT marker with a
    newer epoch makes it the producer's, with no sequence remembered."""
    state = ProducerStateManager()
    state.update(_data(0, 0, 1, transactional=False))
    state.update(_marker(1, 1, "ABORT", epoch=1))
    entry = state.get(1)
    assert entry.epoch == 1 and not entry.batches and entry.current_txn_first_offset == -1
    assert check_append(entry.epoch, list(entry.batches), 1, 0, 0) == (APPEND, None)


def test_append_txn_marker_with_no_producer_state():
    """ProducerStateManagerTest.testAppendTxnMarkerWithNoProducerState: a marker creates the
    producer's entry at its epoch; then an older epoch is refused, and the known epoch must
    start at sequence 0."""
    state = ProducerStateManager()
    state.update(_marker(27, 1, "COMMIT", epoch=2))
    entry = state.get(1)
    assert entry.epoch == 2
    assert check_append(2, [], 0, 0, 0) == (INVALID_PRODUCER_EPOCH, None)
    assert check_append(2, [], 2, 17, 17) == (OUT_OF_ORDER_SEQUENCE_NUMBER, None)
    assert check_append(2, [], 2, 0, 0) == (APPEND, None)


class _Partition:
    """One partition of a one-broker cluster, appended to as its leader (without KIP-890's
    verification, which asks a coordinator: these cases are about the partition alone)."""

    def __init__(self):
        self.cluster = Cluster(brokers=1, seed=1,
                               config={"transaction.partition.verification.enable": False})
        self.cluster.create_topic("t", replication_factor=1)
        self.broker = self.cluster.broker(0)

    def produce(self, producer):
        answers = []
        self.broker.append_records(self.broker, "t", 0, None, [b"x"], [self.cluster.now], None, 1,
                                   1_000, answers.append, producer)
        self.cluster.run_for(50)
        return answers[0].error

    def marker(self, pid, epoch, kind, coordinator_epoch):
        answers = []
        self.broker.handle_write_txn_marker(self.broker, "t", 0, pid, epoch, coordinator_epoch,
                                            kind == "COMMIT", answers.append)
        self.cluster.run_for(50)
        return answers[0]


def test_non_transactional_append_with_ongoing_transaction():
    """ProducerStateManagerTest.testNonTransactionalAppendWithOngoingTransaction."""
    partition = _Partition()
    assert partition.produce((1, 0, 0, "tx")) is None
    assert isinstance(partition.produce((1, 0, 1, None)), errors.InvalidTxnStateError)


def test_old_epoch_for_control_record_and_coordinator_fencing():
    """ProducerStateManagerTest.testOldEpochForControlRecord and testCoordinatorFencing."""
    partition = _Partition()
    assert partition.produce((1, 5, 0, "tx")) is None
    assert isinstance(partition.marker(1, 3, "COMMIT", 0), errors.InvalidProducerEpochError)
    assert partition.marker(1, 5, "COMMIT", 1) is None
    assert partition.marker(1, 5, "COMMIT", 1) is None
    assert partition.marker(1, 5, "COMMIT", 2) is None
    assert isinstance(partition.marker(1, 5, "COMMIT", 1), errors.TransactionCoordinatorFencedError)


# -- TransactionCoordinatorTest (Kafka 3.8/3.9): the coordinator's answers, state by state ---------
class _Coordinator:
    """The coordinator of transactional.id "known" in a three-broker cluster, its state set by
    hand as each Kafka test sets its TransactionMetadata, answering requests as in Kafka."""

    def __init__(self, state, producer_id=10, epoch=1, partitions=()):
        from kafkadojo.reference.transaction_coordinator import TransactionMetadata
        self.cluster = Cluster(brokers=3, seed=1)
        self.cluster.create_topic("topic1", replication_factor=3)
        producer = self.cluster.producer(transactional_id="known")
        producer.init_transactions()            # creates the topic and the metadata
        index = self.cluster.brokers[0].transaction_coordinator.partition_for("known")
        self.broker = self.cluster.broker(self.cluster.leader("__transaction_state", index))
        self.coordinator = self.broker.transaction_coordinator
        metadata = TransactionMetadata("known", producer_id, epoch, 60_000, self.cluster.now)
        metadata.state, metadata.partitions = state, set(partitions)
        self.coordinator.transactions["known"] = self.metadata = metadata

    def ask(self, request, *args):
        answers = []
        getattr(self.coordinator, request)(self.broker, *args, answers.append)
        self.cluster.run_for(100)
        answer = answers[0]
        return answer[0] if isinstance(answer, tuple) else answer


def _name(error):
    return "NONE" if error is None else error.name


@pytest.mark.parametrize("java_test, state, request_, args, expected", [
    ("shouldWaitForCommitToCompleteOnHandleInitPidAndExistingTransactionInPrepareCommitState",
     PREPARE_COMMIT, "handle_init_producer_id", ("known", 10), "CONCURRENT_TRANSACTIONS"),
    ("shouldWaitForCommitToCompleteOnHandleInitPidAndExistingTransactionInPrepareAbortState",
     PREPARE_ABORT, "handle_init_producer_id", ("known", 10), "CONCURRENT_TRANSACTIONS"),
    ("shouldAbortTransactionOnHandleInitPidWhenExistingTransactionInOngoingState",
     ONGOING, "handle_init_producer_id", ("known", 10), "CONCURRENT_TRANSACTIONS"),
    ("shouldRespondWithInvalidRequestWhenTransactionalIdIsEmpty",
     EMPTY, "handle_init_producer_id", ("", 10), "INVALID_REQUEST"),
    ("shouldRespondWithInvalidRequestAddPartitionsToTransactionWhenTransactionalIdIsEmpty",
     EMPTY, "handle_add_partitions", ("", 0, 1, [("topic1", 0)]), "INVALID_REQUEST"),
    ("shouldRespondWithConcurrentTransactionsOnAddPartitionsWhenStateIsPrepareCommit",
     PREPARE_COMMIT, "handle_add_partitions", ("known", 10, 1, [("topic1", 0)]),
     "CONCURRENT_TRANSACTIONS"),
    ("shouldRespondWithConcurrentTransactionOnAddPartitionsWhenStateIsPrepareAbort",
     PREPARE_ABORT, "handle_add_partitions", ("known", 10, 1, [("topic1", 0)]),
     "CONCURRENT_TRANSACTIONS"),
    ("shouldRespondWithProducerFencedOnAddPartitionsWhenEpochsAreDifferent",
     PREPARE_COMMIT, "handle_add_partitions", ("known", 10, 0, [("topic1", 0)]),
     "PRODUCER_FENCED"),
    ("shouldRespondWithSuccessOnAddPartitionsWhenStateIsCompleteCommit",
     COMPLETE_COMMIT, "handle_add_partitions", ("known", 10, 1, [("topic1", 0)]), "NONE"),
    ("shouldRespondWithSuccessOnAddPartitionsWhenStateIsCompleteAbort",
     COMPLETE_ABORT, "handle_add_partitions", ("known", 10, 1, [("topic1", 0)]), "NONE"),
    ("shouldReplyWithInvalidPidMappingOnEndTxnWhenPidDosentMatchMapped",
     ONGOING, "handle_end_txn", ("known", 0, 1, True), "INVALID_PRODUCER_ID_MAPPING"),
    ("shouldReplyWithProducerFencedOnEndTxnWhenEpochIsNotSameAsTransaction",
     ONGOING, "handle_end_txn", ("known", 10, 0, True), "PRODUCER_FENCED"),
    ("shouldReturnOkOnEndTxnWhenStatusIsCompleteCommitAndResultIsCommit",
     COMPLETE_COMMIT, "handle_end_txn", ("known", 10, 1, True), "NONE"),
    ("shouldReturnOkOnEndTxnWhenStatusIsCompleteAbortAndResultIsAbort",
     COMPLETE_ABORT, "handle_end_txn", ("known", 10, 1, False), "NONE"),
    ("shouldReturnInvalidTxnRequestOnEndTxnRequestWhenStatusIsCompleteAbortAndResultIsNotAbort",
     COMPLETE_ABORT, "handle_end_txn", ("known", 10, 1, True), "INVALID_TXN_STATE"),
    ("shouldReturnInvalidTxnRequestOnEndTxnRequestWhenStatusIsCompleteCommitAndResultIsNotCommit",
     COMPLETE_COMMIT, "handle_end_txn", ("known", 10, 1, False), "INVALID_TXN_STATE"),
    ("shouldReturnConcurrentTxnRequestOnEndTxnRequestWhenStatusIsPrepareCommit",
     PREPARE_COMMIT, "handle_end_txn", ("known", 10, 1, True), "CONCURRENT_TRANSACTIONS"),
    ("shouldReturnInvalidTxnRequestOnEndTxnRequestWhenStatusIsPrepareAbort",
     PREPARE_ABORT, "handle_end_txn", ("known", 10, 1, True), "INVALID_TXN_STATE"),
    ("shouldRespondWithInvalidRequestOnEndTxnWhenTransactionalIdIsEmpty",
     ONGOING, "handle_end_txn", ("", 10, 1, True), "INVALID_REQUEST"),
    ("shouldReturnInvalidEpochOnEndTxnWhenEpochIsLarger",
     COMPLETE_COMMIT, "handle_end_txn", ("known", 10, 2, True), "PRODUCER_FENCED"),
    ("shouldReturnInvalidEpochOnEndTxnWhenEpochIsSmaller",
     COMPLETE_COMMIT, "handle_end_txn", ("known", 10, 0, True), "PRODUCER_FENCED"),
])
def test_the_coordinator_answers_as_kafkas(java_test, state, request_, args, expected):
    coordinator = _Coordinator(state, partitions=[("topic1", 0)] if state != EMPTY else ())
    assert _name(coordinator.ask(request_, *args)) == expected, java_test


def test_an_unknown_transactional_id_has_no_producer_id_mapping():
    """TransactionCoordinatorTest.shouldReplyWithInvalidPidMappingOnEndTxnWhenTxnIdDoesntExist
    and shouldRespondWithInvalidPidMappingOnAddPartitionsToTransactionWhenTransactionalIdNot
    Present: an id this coordinator owns but has never seen."""
    coordinator = _Coordinator(EMPTY)
    del coordinator.coordinator.transactions["known"]
    assert _name(coordinator.ask("handle_end_txn", "known", 0, 0, True)) == \
        "INVALID_PRODUCER_ID_MAPPING"
    assert _name(coordinator.ask("handle_add_partitions", "known", 0, 1, [("topic1", 0)])) == \
        "INVALID_PRODUCER_ID_MAPPING"


def test_init_pid_fences_an_ongoing_transaction_with_a_bumped_epoch():
    """TransactionCoordinatorTest.shouldAbortTransactionOnHandleInitPidWhenExistingTransaction
    InOngoingState: PrepareAbort is written with epoch + 1."""
    coordinator = _Coordinator(ONGOING, partitions=[("topic1", 0)])
    coordinator.ask("handle_init_producer_id", "known", 10)
    assert coordinator.metadata.producer_epoch == 2
    assert coordinator.metadata.state in (PREPARE_ABORT, COMPLETE_ABORT)


def test_verify_partition_handling():
    """TransactionCoordinatorTest.testVerifyPartitionHandling and
    shouldRespondWithInvalidTxnStateWhenVerifyOnlyAndPartitionNotPresent (which, in 3.8+,
    answers TRANSACTION_ABORTABLE)."""
    coordinator = _Coordinator(PREPARE_COMMIT, producer_id=0, epoch=0,
                               partitions=[("topic1", 0)])
    verify = "handle_verify_partition"
    assert _name(coordinator.ask(verify, "known", 1, 0, ("topic1", 0))) == \
        "INVALID_PRODUCER_ID_MAPPING"
    assert _name(coordinator.ask(verify, "known", 0, 1, ("topic1", 0))) == "PRODUCER_FENCED"
    assert _name(coordinator.ask(verify, "known", 0, 0, ("topic1", 0))) == \
        "CONCURRENT_TRANSACTIONS"
    coordinator.metadata.state = ONGOING
    assert _name(coordinator.ask(verify, "known", 0, 0, ("topic1", 0))) == "NONE"
    coordinator.metadata.state = EMPTY
    assert _name(coordinator.ask(verify, "known", 0, 0, ("topic2", 0))) == "TRANSACTION_ABORTABLE"
