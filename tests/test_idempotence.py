"""The idempotent producer: producer ids, sequence numbers, and the leader's producer state."""

import pytest

from kafkadojo.reference import errors
from kafkadojo.reference.cluster import Cluster
from kafkadojo.reference.producer_state import (APPEND, DUPLICATE, INT_MAX,
                                                INVALID_PRODUCER_EPOCH,
                                                OUT_OF_ORDER_SEQUENCE_NUMBER, BatchMetadata,
                                                check_append, increment_sequence)


def test_sequences_wrap_as_javas_ints():
    """DefaultRecordBatch.incrementSequence (DefaultRecordBatchTest.testIncrementSequence)."""
    assert increment_sequence(10, 5) == 15
    assert increment_sequence(INT_MAX, 1) == 0
    assert increment_sequence(INT_MAX - 5, 10) == 4


def test_the_leaders_check_of_an_incoming_batch():
    last_two = [BatchMetadata(0, 4, 100, 104), BatchMetadata(5, 9, 105, 109)]
    assert check_append(3, last_two, 3, 0, 4) == (DUPLICATE, last_two[0])   # not only the last
    assert check_append(3, last_two, 3, 10, 14) == (APPEND, None)
    assert check_append(3, last_two, 3, 11, 14) == (OUT_OF_ORDER_SEQUENCE_NUMBER, None)  # gap
    assert check_append(3, last_two, 2, 10, 14) == (INVALID_PRODUCER_EPOCH, None)   # a zombie
    assert check_append(3, last_two, 4, 0, 4) == (APPEND, None)              # new epoch, from 0
    assert check_append(3, last_two, 4, 10, 14) == (OUT_OF_ORDER_SEQUENCE_NUMBER, None)
    assert check_append(3, last_two, 4, 5, 9) == (OUT_OF_ORDER_SEQUENCE_NUMBER, None)   # no dup
    assert check_append(-1, [], 0, 777, 780) == (APPEND, None)              # unknown: KIP-360
    assert check_append(3, [BatchMetadata(INT_MAX - 1, INT_MAX, 0, 1)], 3, 0, 2) == (APPEND, None)


def test_idempotence_is_on_by_default_and_quietly_off_with_settings_it_cannot_keep():
    cluster = Cluster(brokers=1, seed=0)
    assert cluster.producer().idempotent
    assert not cluster.producer(acks=1).idempotent              # only the default: quietly off
    assert not cluster.producer(max_in_flight_requests_per_connection=6).idempotent
    with pytest.raises(errors.InvalidConfigurationError,
                       match="Must set acks to all in order to use the idempotent producer"):
        cluster.producer(acks=1, enable_idempotence=True)
    with pytest.raises(errors.InvalidConfigurationError, match="retries to non-zero"):
        cluster.producer(retries=0, enable_idempotence=True)
    with pytest.raises(errors.InvalidConfigurationError, match="at most 5"):
        cluster.producer(max_in_flight_requests_per_connection=6, enable_idempotence=True)


def produce_over_a_lossy_network(idempotent, seed=9):
    cluster = Cluster(brokers=3, seed=seed, drop_rate=0.05,
                      config={"replica.socket.timeout.ms": 2_000})
    cluster.create_topic("t", replication_factor=3, config={"min.insync.replicas": 2})
    producer = cluster.producer(acks="all", request_timeout_ms=1_000,
                                enable_idempotence=idempotent)
    futures = []
    for i in range(100):
        futures.append(producer.send("t", b"%d" % i, partition=0))
        cluster.run_for(20)
    producer.flush()
    cluster.run_for(5_000)
    log = cluster.log(cluster.leader("t", 0), "t", 0)
    return cluster, futures, log.values(0, log.high_watermark)


def test_lost_acknowledgements_duplicate_records_unless_the_producer_is_idempotent():
    cluster, futures, values = produce_over_a_lossy_network(idempotent=False)
    assert cluster.network.messages_lost > 0 and all(f.succeeded for f in futures)
    assert len(values) > len(set(values)) == 100                # retries written twice
    cluster, futures, values = produce_over_a_lossy_network(idempotent=True)
    assert cluster.network.messages_lost > 0 and all(f.succeeded for f in futures)
    assert values == [b"%d" % i for i in range(100)]             # once each, in order


def test_producer_state_survives_a_leader_change():
    """Every replica keeps the producers' state from the batches it copies, so a retry that
    reaches a new leader is still recognised."""
    cluster = Cluster(brokers=3, seed=2)
    cluster.create_topic("t", replication_factor=3, config={"min.insync.replicas": 2})
    producer = cluster.producer(linger_ms=0)
    for i in range(10):
        producer.send("t", b"%d" % i, partition=0).get()
    leader = cluster.leader("t", 0)
    states = {b.node_id: b.logs[("t", 0)].producer_state.get(producer.producer_id)
              for b in cluster.brokers}
    assert all(s is not None and s.batches[-1].last_sequence == 9 for s in states.values())
    cluster.crash(leader)
    cluster.run_for(15_000)
    new_leader = cluster.broker(cluster.leader("t", 0))
    log = new_leader.logs[("t", 0)]
    # the last batch again, as a retry would send it: answered with its offset, not appended
    answers = []
    new_leader.append_records(producer, "t", 0, None, [b"9"], [0], None, 1, 1_000,
                              answers.append, (producer.producer_id, 0, 9))
    cluster.run_for(100)
    assert answers and answers[0].error is None and answers[0].base_offset == 9
    assert log.log_end_offset == 10


def test_retention_does_not_make_a_partition_forget_a_producer():
    """KAFKA-7190: a quiet producer whose batches retention deleted still has its sequence
    checked (Kafka 3.x keeps producer state until producer.id.expiration.ms)."""
    cluster = Cluster(brokers=1, seed=1, config={"log.retention.check.interval.ms": 1_000})
    cluster.create_topic("t", config={"segment.bytes": 200, "retention.ms": 2_000})
    producer = cluster.producer(linger_ms=0)
    for i in range(5):
        producer.send("t", b"x" * 60, partition=0).get()
    log = cluster.log(0, "t", 0)
    cluster.run_for(10_000)
    assert log.log_start_offset == log.log_end_offset == 5       # every batch deleted
    assert log.producer_state.get(producer.producer_id).batches[-1].last_sequence == 4
    answers = []                # a batch out of sequence is still refused
    cluster.broker(0).append_records(producer, "t", 0, None, [b"y"], [cluster.now], None, 1,
                                     1_000, answers.append, (producer.producer_id, 0, 42))
    cluster.run_for(100)
    assert isinstance(answers[0].error, errors.OutOfOrderSequenceNumberError)
    assert producer.send("t", b"z", partition=0).get() == 5        # the producer's own next


def test_the_history_checker_finds_duplicates_on_a_lossy_network_only_without_idempotence():
    """A workload (two producers, five requests in flight each, a consumer) over connections
    that break now and then: Jepsen's checker names the duplicates of the non-idempotent
    producers, and finds none, and no reordering, with idempotence."""
    from kafkadojo.reference.workload import WorkloadConfig, run
    seen = {False: {}, True: {}}
    for idempotent in (False, True):
        for seed in range(4):
            outcome = run(seed, WorkloadConfig(operations=400, drop_rate=0.01, faults=(),
                                               idempotence=idempotent))
            assert outcome.valid
            for kind, found in outcome.result.anomalies.items():
                seen[idempotent][kind] = seen[idempotent].get(kind, 0) + len(found)
    assert seen[False].get("duplicate", 0) > 20
    assert seen[True] == {}


def test_an_exhausted_epoch_gets_a_new_producer_id():
    """The idempotent producer bumps its epoch when a sequence goes unresolved; at
    Short.MAX_VALUE it asks for a new producer id instead, and starts at epoch 0."""
    cluster = Cluster(brokers=1, seed=0)
    cluster.create_topic("t", replication_factor=1)
    producer = cluster.producer()
    producer.send("t", b"a", partition=0).get()
    first = producer.producer_id
    producer.producer_epoch = 32_767
    producer.partition_epoch[("t", 0)] = 32_767
    producer.next_sequence[("t", 0)] = 5            # a hole: sequences 1 to 4 never acknowledged
    producer.unresolved.add(("t", 0))
    assert producer.send("t", b"b", partition=0).get() >= 0
    assert producer.producer_id != first and producer.producer_epoch == 0
