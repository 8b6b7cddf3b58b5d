"""Transactions: the coordinator, markers, the last stable offset, read_committed consumers,
zombie fencing, timeouts, a coordinator's failover, and the producer's API in wrong states."""

import pytest

from kafkadojo.reference import errors
from kafkadojo.reference.cluster import Cluster
from kafkadojo.reference.consumer import read_committed_batches
from kafkadojo.reference.producer_state import last_stable_offset
from kafkadojo.reference.transaction_coordinator import (
    COMPLETE_ABORT, COMPLETE_COMMIT, DEAD, EMPTY, ONGOING, PREPARE_ABORT, PREPARE_COMMIT,
    PREPARE_EPOCH_FENCE, STATES, TRANSACTION_STATE_TOPIC, transaction_partition,
    transition_allowed)


def new_cluster(seed=1, **config):
    cluster = Cluster(brokers=3, seed=seed, config=config or None)
    cluster.create_topic("out", partitions=2, replication_factor=3,
                         config={"min.insync.replicas": 2})
    return cluster


def read_all(cluster, isolation_level, partitions=(("out", 0), ("out", 1))):
    consumer = cluster.consumer(isolation_level=isolation_level, auto_offset_reset="earliest")
    consumer.assign(list(partitions))
    records = []
    for _ in range(6):
        records += consumer.poll(500)
    return sorted(r.value for r in records)


def coordinator_of(cluster, transactional_id):
    index = transaction_partition(transactional_id, 50)
    return cluster.broker(cluster.leader(TRANSACTION_STATE_TOPIC, index))


# -- the rules ---------------------------------------------------------------------------------

def test_the_coordinators_transitions_are_kafkas():
    """TransactionState's valid previous states (transaction version 1, Kafka 3.9)."""
    allowed = {(a, b) for a in STATES for b in STATES if transition_allowed(a, b)}
    assert allowed == {
        (EMPTY, EMPTY), (COMPLETE_COMMIT, EMPTY), (COMPLETE_ABORT, EMPTY),
        (ONGOING, ONGOING), (EMPTY, ONGOING), (COMPLETE_COMMIT, ONGOING),
        (COMPLETE_ABORT, ONGOING),
        (ONGOING, PREPARE_COMMIT), (ONGOING, PREPARE_ABORT), (PREPARE_EPOCH_FENCE, PREPARE_ABORT),
        (PREPARE_COMMIT, COMPLETE_COMMIT), (PREPARE_ABORT, COMPLETE_ABORT),
        (EMPTY, DEAD), (COMPLETE_COMMIT, DEAD), (COMPLETE_ABORT, DEAD),
        (ONGOING, PREPARE_EPOCH_FENCE)}


def test_the_coordinator_partition_uses_javas_hash_code_and_utils_abs():
    # "polygenelubricants".hashCode() is Integer.MIN_VALUE: Utils.abs makes it 0, where
    # Python's abs would give 2147483648 % 50 = 48
    assert transaction_partition("polygenelubricants", 50) == 0
    assert transaction_partition("hello", 50) == 99162322 % 50


def test_the_last_stable_offset():
    assert last_stable_offset([], 10) == 10                       # no transaction: the HW
    assert last_stable_offset([(4, None)], 10) == 4               # an open one holds it
    assert last_stable_offset([(4, None), (2, None)], 10) == 2    # the earliest open one
    assert last_stable_offset([(4, 7)], 10) == 10                 # closed, marker committed
    assert last_stable_offset([(4, 10)], 10) == 4                 # marker not below the HW yet
    assert last_stable_offset([(4, 12)], 10) == 4
    assert last_stable_offset([(12, None)], 10) == 10             # never above the HW


def test_which_batches_a_read_committed_consumer_returns():
    data = lambda base, last, pid, txn=True: (base, last, pid, txn, None)     # noqa: E731
    marker = lambda offset, pid, kind: (offset, offset, pid, True, kind)      # noqa: E731
    batches = [data(0, 1, 7), data(2, 2, 8), marker(3, 7, "ABORT"), data(4, 4, 7),
               marker(5, 8, "COMMIT"), data(6, 6, -1, txn=False), marker(7, 7, "COMMIT")]
    # producer 7 aborted its first transaction (offsets 0..3), then committed one at 4
    assert read_committed_batches(batches, [(7, 0)]) == [2, 4, 6]
    assert read_committed_batches(batches, []) == [0, 2, 4, 6]
    # an aborted transaction that starts after the batches seen so far does not count yet
    assert read_committed_batches([data(0, 0, 7), data(1, 1, 7)], [(7, 1)]) == [0]
    # a non-transactional batch of a producer with an aborted transaction is kept
    assert read_committed_batches([data(0, 0, 7, txn=False)], [(7, 0)]) == [0]


# -- commit and abort, read_committed and read_uncommitted --------------------------------------

def test_committed_transactions_are_seen_whole_and_aborted_ones_never():
    cluster = new_cluster()
    producer = cluster.producer(transactional_id="tx")
    producer.init_transactions()
    producer.begin_transaction()
    producer.send("out", b"a", partition=0)
    producer.send("out", b"b", partition=1)
    producer.commit_transaction()
    producer.begin_transaction()
    producer.send("out", b"x", partition=0)
    producer.send("out", b"y", partition=1)
    producer.flush()
    producer.abort_transaction()
    producer.begin_transaction()
    producer.send("out", b"c", partition=0)
    producer.commit_transaction()
    cluster.run_for(1_000)
    assert read_all(cluster, "read_committed") == [b"a", b"b", b"c"]
    assert read_all(cluster, "read_uncommitted") == [b"a", b"b", b"c", b"x", b"y"]
    log = cluster.log(cluster.leader("out", 0), "out", 0)
    assert [b.control for b in log.batches] == [None, "COMMIT", None, "ABORT", None, "COMMIT"]
    assert [(a.first_offset, a.last_offset) for a in log.producer_state.aborted] == [(2, 3)]
    described = coordinator_of(cluster, "tx").transaction_coordinator.describe("tx")
    assert described["state"] == COMPLETE_COMMIT and described["partitions"] == []


def test_an_open_transaction_holds_the_last_stable_offset_and_read_committed_waits():
    cluster = new_cluster()
    plain = cluster.producer()
    plain.send("out", b"before", partition=0).get()
    producer = cluster.producer(transactional_id="tx")
    producer.init_transactions()
    producer.begin_transaction()
    producer.send("out", b"t1", partition=0)
    producer.flush()
    plain.send("out", b"after", partition=0).get()      # not transactional, but behind it
    cluster.run_for(500)
    log = cluster.log(cluster.leader("out", 0), "out", 0)
    assert log.high_watermark == 3 and log.last_stable_offset == 1
    partition0 = [("out", 0)]
    assert read_all(cluster, "read_committed", partition0) == [b"before"]
    assert read_all(cluster, "read_uncommitted", partition0) == [b"after", b"before", b"t1"]
    producer.commit_transaction()
    cluster.run_for(500)
    assert log.last_stable_offset == log.high_watermark == 4
    assert read_all(cluster, "read_committed", partition0) == [b"after", b"before", b"t1"]


# -- fencing, timeouts, failover ----------------------------------------------------------------

def test_a_new_instance_fences_the_zombie_and_aborts_its_transaction():
    cluster = new_cluster()
    zombie = cluster.producer(transactional_id="tx")
    zombie.init_transactions()
    zombie.begin_transaction()
    zombie.send("out", b"zombie", partition=0)
    zombie.flush()
    successor = cluster.producer(transactional_id="tx")
    successor.init_transactions()           # aborts the zombie's transaction, then a new epoch
    assert successor.producer_id == zombie.producer_id
    assert successor.producer_epoch == zombie.producer_epoch + 2    # fenced, then its own
    with pytest.raises(errors.ProducerFencedError):
        zombie.commit_transaction()
    with pytest.raises(errors.ProducerFencedError):
        zombie.begin_transaction()
    successor.begin_transaction()
    successor.send("out", b"successor", partition=0)
    successor.commit_transaction()
    cluster.run_for(500)
    assert read_all(cluster, "read_committed") == [b"successor"]


def test_a_zombies_late_batch_is_refused_by_the_partition():
    cluster = new_cluster()
    zombie = cluster.producer(transactional_id="tx")
    zombie.init_transactions()
    zombie.begin_transaction()
    zombie.send("out", b"first", partition=0)
    zombie.flush()
    cluster.producer(transactional_id="tx").init_transactions()
    late = zombie.send("out", b"late", partition=0)
    cluster.run_for(2_000)
    assert late.done and late.error is not None
    assert read_all(cluster, "read_committed") == []


def test_the_coordinator_aborts_a_transaction_that_outlives_its_timeout():
    cluster = new_cluster()
    producer = cluster.producer(transactional_id="slow", transaction_timeout_ms=2_000)
    producer.init_transactions()
    producer.begin_transaction()
    producer.send("out", b"too slow", partition=0)
    producer.flush()
    cluster.run_for(15_000)                  # the scan runs every 10 s
    described = coordinator_of(cluster, "slow").transaction_coordinator.describe("slow")
    assert described["state"] == COMPLETE_ABORT
    assert described["epoch"] == producer.producer_epoch + 1
    with pytest.raises(errors.ProducerFencedError):
        producer.commit_transaction()
    log = cluster.log(cluster.leader("out", 0), "out", 0)
    assert log.last_stable_offset == log.high_watermark
    assert read_all(cluster, "read_committed") == []


def test_a_new_coordinator_loads_the_transaction_and_commits_it():
    cluster = new_cluster()
    producer = cluster.producer(transactional_id="tx")
    producer.init_transactions()
    producer.begin_transaction()
    producer.send("out", b"a", partition=0)
    producer.send("out", b"b", partition=1)
    producer.flush()
    old = coordinator_of(cluster, "tx")
    cluster.crash(old.node_id)
    cluster.run_for(10_000)                  # a new leader for the __transaction_state partition
    new = coordinator_of(cluster, "tx")
    assert new is not old
    assert new.transaction_coordinator.describe("tx")["state"] == ONGOING
    producer.commit_transaction()
    cluster.run_for(1_000)
    assert new.transaction_coordinator.describe("tx")["state"] == COMPLETE_COMMIT
    assert read_all(cluster, "read_committed") == [b"a", b"b"]


# -- offsets in a transaction ---------------------------------------------------------------------

def test_offsets_sent_to_a_transaction_count_only_if_it_commits():
    cluster = new_cluster()
    watcher = cluster.consumer(group_id="g", enable_auto_commit=False)
    producer = cluster.producer(transactional_id="tx")
    producer.init_transactions()
    producer.begin_transaction()
    producer.send("out", b"x", partition=0)
    producer.send_offsets_to_transaction({("out", 1): 5}, "g")
    producer.abort_transaction()
    cluster.run_for(500)
    assert watcher.committed("out", 1) is None
    producer.begin_transaction()
    producer.send_offsets_to_transaction({("out", 1): 7}, "g")
    producer.commit_transaction()
    cluster.run_for(500)
    assert watcher.committed("out", 1) == 7


# -- the API in the wrong state --------------------------------------------------------------------

def test_transactional_calls_in_the_wrong_state_raise_kafkas_exceptions():
    cluster = new_cluster()
    with pytest.raises(errors.InvalidConfigurationError,
                       match="Cannot set a transactional.id without also enabling idempotence"):
        cluster.producer(transactional_id="tx", enable_idempotence=False)
    with pytest.raises(errors.IllegalStateError,
                       match="Transactional method invoked on a non-transactional producer"):
        cluster.producer().begin_transaction()
    producer = cluster.producer(transactional_id="tx")
    with pytest.raises(errors.IllegalStateError, match="before completing a call to initTrans"):
        producer.send("out", b"x")
    with pytest.raises(errors.IllegalStateError, match="from state UNINITIALIZED to state "
                                                       "IN_TRANSACTION"):
        producer.begin_transaction()
    producer.init_transactions()
    with pytest.raises(errors.IllegalStateError, match="Cannot call send in state READY"):
        producer.send("out", b"x")
    with pytest.raises(errors.IllegalStateError,
                       match="TransactionalId tx: Invalid transition attempted from state READY "
                             "to state COMMITTING_TRANSACTION"):
        producer.commit_transaction()
    with pytest.raises(errors.IllegalStateError, match="from state READY to state INITIALIZING"):
        producer.init_transactions()
    producer.begin_transaction()
    with pytest.raises(errors.IllegalStateError,
                       match="from state IN_TRANSACTION to state IN_TRANSACTION"):
        producer.begin_transaction()
    producer.send("out", b"fine", partition=0)
    producer.commit_transaction()           # nothing was corrupted by the refused calls
    cluster.run_for(500)
    assert read_all(cluster, "read_committed") == [b"fine"]


def test_an_empty_transaction_needs_no_coordinator():
    cluster = new_cluster()
    producer = cluster.producer(transactional_id="tx")
    producer.init_transactions()
    producer.begin_transaction()
    producer.commit_transaction()
    producer.begin_transaction()
    producer.abort_transaction()
    described = coordinator_of(cluster, "tx").transaction_coordinator.describe("tx")
    assert described["state"] == EMPTY
    assert PREPARE_COMMIT not in {h[2].split()[0] for h in described["history"]}
    assert PREPARE_ABORT not in {h[2].split()[0] for h in described["history"]}


# -- transactions under faults: the checker's names -------------------------------------------------

def test_transactions_under_faults_show_no_anomaly_with_kafkas_rules():
    from kafkadojo.reference.workload import run_transactions
    for seed in range(8):
        outcome = run_transactions(seed)
        assert outcome.valid, outcome.report()
        told = [t.told for t in outcome.transactions]
        assert "committed" in told and "aborted" in told
        assert outcome.faults


def test_the_checker_names_what_wrong_rules_let_consumers_see():
    from kafkadojo.reference.seams import REFERENCE
    from kafkadojo.reference.workload import run_transactions

    def anomalies(**rules):
        kinds = set()
        for seed in range(4):
            kinds |= set(run_transactions(seed, REFERENCE.with_rules(**rules)).anomalies)
        return kinds
    # an LSO that ignores open transactions: records of aborted ones are read
    assert "aborted-read" in anomalies(last_stable_offset=lambda transactions, hw: hw)
    # a consumer that keeps every data batch
    assert "aborted-read" in anomalies(
        read_committed_batches=lambda batches, aborted: [b[0] for b in batches if b[4] is None])
    # a consumer that never clears an aborted producer: its later committed work vanishes
    assert {"lost-write", "torn-transaction"} & anomalies(
        read_committed_batches=lambda batches, aborted: read_committed_batches(
            [b[:4] + ("COMMIT" if b[4] == "ABORT" else b[4],) for b in batches], aborted))


def test_the_checker_on_a_history_it_is_handed():
    from kafkadojo.reference.checker import Transaction, TransactionRead, check_transactions
    committed = Transaction("t1", (("x", 0, b"a"), ("x", 1, b"b")), "committed", 100, "COMMIT")
    aborted = Transaction("t2", (("x", 0, b"c"),), "aborted", None, "ABORT")
    lost = Transaction("t3", (("x", 1, b"d"),), "committed", 300, None)
    reads = [TransactionRead(90, "x", 0, 0, b"a"),          # before t1 was decided: G1b
             TransactionRead(150, "x", 0, 1, b"c"),         # aborted: G1a
             TransactionRead(160, "x", 0, 1, b"c")]         # and twice
    found = check_transactions([committed, aborted, lost], reads)
    assert set(found) == {"intermediate-read", "aborted-read", "duplicate", "torn-transaction",
                          "lost-write"}
    assert "t=90 ms" in found["intermediate-read"][0][1][0]
    assert found["torn-transaction"][0][0].endswith("never read: [b'b']")
    assert check_transactions([committed], [TransactionRead(120, "x", 0, 0, b"a"),
                                            TransactionRead(130, "x", 1, 0, b"b")]) == {}


def test_a_read_committed_consumers_lag_ends_at_the_last_stable_offset():
    """FetcherTest.testReadCommittedLagMetric: lag is the LSO minus the position."""
    cluster = new_cluster()
    cluster.producer().send("out", b"before", partition=0).get()
    producer = cluster.producer(transactional_id="tx")
    producer.init_transactions()
    producer.begin_transaction()
    for value in (b"t1", b"t2"):
        producer.send("out", value, partition=0)
    producer.flush()
    cluster.run_for(500)
    lags = {}
    for level in ("read_committed", "read_uncommitted"):
        consumer = cluster.consumer(isolation_level=level, auto_offset_reset="earliest")
        consumer.assign([("out", 0)])
        assert consumer.records_lag("out", 0) is None       # nothing fetched yet
        consumer.poll(500)
        consumer.poll(500)
        lags[level] = (consumer.position("out", 0), consumer.records_lag("out", 0))
    assert lags["read_committed"] == (1, 0)         # at the LSO: nothing more it may read
    assert lags["read_uncommitted"] == (3, 0)       # at the HW
