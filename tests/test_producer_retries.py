"""How the producer retries, as Kafka 3.9's does: exponential backoff with jitter, a retried
batch that holds back the batches behind it, a dead broker's batches waiting in the
accumulator, and KIP-951's leader hint. The first two tests are Kafka's own, ported."""

import random

import pytest

from kafkadojo.reference import Cluster
from kafkadojo.reference.producer import exponential_backoff

FAST_FAILURE_DETECTION = {"replica.lag.time.max.ms": 4_000, "broker.session.timeout.ms": 3_000,
                          "broker.heartbeat.interval.ms": 500}


# org.apache.kafka.common.utils.ExponentialBackoffTest.testExponentialBackoff
def test_backoff_doubles_within_its_jitter_and_never_passes_twenty_percent_over_the_maximum():
    rng = random.Random(1)
    for _ in range(101):
        for attempts in range(11):
            backoff = exponential_backoff(100, 2_000, attempts, rng)
            if attempts <= 4:
                assert backoff == pytest.approx(100 * 2 ** attempts, abs=100 * 2 ** attempts * 0.2)
            else:
                assert backoff <= 2_000 * 1.2


# org.apache.kafka.common.utils.ExponentialBackoffTest.testExponentialBackoffWithoutJitter
def test_backoff_without_jitter():
    rng = random.Random(1)
    assert [exponential_backoff(100, 400, attempts, rng, jitter=0) for attempts in range(4)] \
        == [100, 200, 400, 400]


def test_backoff_with_its_maximum_below_its_start_is_the_maximum():
    assert exponential_backoff(100, 50, 3, random.Random(1)) == 50


def cluster_with_topic(seed=3):
    cluster = Cluster(brokers=3, seed=seed, config=FAST_FAILURE_DETECTION)
    cluster.create_topic("t", partitions=1, replication_factor=3,
                         config={"min.insync.replicas": 2})
    return cluster


def attempts_made(producer):
    """Record each batch the producer sends, with when."""
    sent = []
    send_batch = producer.send_batch

    def recording(batch, broker, leader_epoch, in_flight):
        sent.append((producer.sim.now, batch, broker.node_id))
        send_batch(batch, broker, leader_epoch, in_flight)
    producer.send_batch = recording
    return sent


def test_a_dead_leaders_batches_wait_for_a_connection_and_spend_no_attempts():
    cluster = cluster_with_topic()
    producer = cluster.producer(acks="all", linger_ms=0)
    producer.send("t", b"first", partition=0).get()
    dead = cluster.leader("t", 0)
    cluster.crash(dead)
    sent = attempts_made(producer)
    future = producer.send("t", b"second", partition=0)
    cluster.run_for(1_500)          # the controller has not fenced the dead leader yet
    assert cluster.leader("t", 0) == dead
    assert sent == [] and future.batch.attempts == 0
    # reconnect.backoff.ms doubling from 50 ms (with 20% jitter): 50, 100, 200, 400, 800...
    # refused about five times in 1.5 s
    assert 4 <= producer.connections[dead].failures <= 6
    assert future.get() == 1
    assert [broker for _, _, broker in sent] == [cluster.leader("t", 0)] != [dead]
    assert future.batch.attempts == 1


def test_a_retried_batch_holds_back_the_batches_behind_it():
    cluster = cluster_with_topic()
    producer = cluster.producer(acks="all", linger_ms=0, max_in_flight_requests_per_connection=1)
    producer.send("t", b"first", partition=0).get()
    leader = cluster.leader("t", 0)
    for follower in {0, 1, 2} - {leader}:
        cluster.crash(follower)
    cluster.run_for(6_000)          # the ISR shrinks to the leader alone
    assert cluster.isr("t", 0) == [leader]
    sent = attempts_made(producer)
    futures = []
    for i in range(4):
        futures.append(producer.send("t", b"%d" % i, partition=0))
        cluster.run_for(5)
    cluster.run_for(1_500)
    # NOT_ENOUGH_REPLICAS every time. Only the first batch is tried, at growing intervals
    # (retry.backoff.ms=100 doubling, retry.backoff.max.ms=1000); the others never leave the
    # accumulator, since the first is back at the front of the queue.
    assert {batch for _, batch, _ in sent} == {futures[0].batch}
    gaps = [later - earlier for (earlier, _, _), (later, _, _) in zip(sent, sent[1:])]
    assert len(gaps) >= 3
    for attempt, gap in enumerate(gaps[:4]):
        # the backoff with its jitter, plus a round trip of 2 to 6 ms
        assert 100 * 2 ** attempt * 0.8 <= gap <= min(100 * 2 ** attempt, 1_000) * 1.2 + 6
    assert all(not future.done for future in futures)


def test_not_leader_or_follower_names_the_new_leader_and_the_retry_goes_there_at_once():
    """KIP-951 (Kafka 3.7+): the answer carries the leader the broker knows of; the producer
    takes it without asking for metadata and retries without backing off."""
    cluster = cluster_with_topic()
    producer = cluster.producer(acks="all", linger_ms=0)
    producer.send("t", b"first", partition=0).get()
    metadata_asked_at = producer.last_metadata_ms
    old = cluster.leader("t", 0)
    # The controller loses the leader (not the producer: its connection stays up) and moves
    # the leadership; once healed, the old leader learns it is a follower now.
    cluster.partition_network([old], ["controller"])
    cluster.run_until(lambda: cluster.leader("t", 0) not in (old, -1), timeout_ms=10_000)
    new = cluster.leader("t", 0)
    cluster.heal()
    cluster.run_until(lambda: cluster.broker(old).partitions[("t", 0)].leader == new,
                      timeout_ms=10_000)
    sent = attempts_made(producer)
    future = producer.send("t", b"second", partition=0)
    assert future.get() == 1
    assert [broker for _, _, broker in sent] == [old, new]
    assert sent[1][0] - sent[0][0] < 20         # no retry.backoff.ms (100) in between
    assert producer.last_metadata_ms == metadata_asked_at and not producer.metadata_in_flight
