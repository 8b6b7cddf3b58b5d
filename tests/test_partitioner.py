"""murmur2 and the partitioners, against Kafka's own test vectors and kafka-python."""

import random

import pytest
from hypothesis import given, settings, strategies as st
from kafka.partitioner.default import murmur2 as kafka_python_murmur2

from kafkadojo.reference.partitioner import (DefaultPartitioner, StickyPartitioner, murmur2,
                                             partition_for_key, sticky_candidates, to_positive)

# org.apache.kafka.common.utils.UtilsTest.testMurmur2
KAFKA_VECTORS = {
    "21": -973932308,
    "foobar": -790332482,
    "a-little-bit-long-string": -985981536,
    "a-little-bit-longer-string": -1486304829,
    "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
    "abc": 479470107,
}

# BuiltInPartitionerTest / DefaultPartitionerTest style: 1,000 partitions
PARTITION_VECTORS = {b"": 681, b"a": 524, b"ab": 434, b"abc": 107, b"123456789": 566, b"\x00 ": 742}


def signed(unsigned):
    return unsigned - (1 << 32) if unsigned >= 1 << 31 else unsigned


@pytest.mark.parametrize("text, expected", sorted(KAFKA_VECTORS.items()))
def test_murmur2_matches_kafkas_vectors(text, expected):
    assert murmur2(text.encode()) == expected


@pytest.mark.parametrize("key, expected", sorted(PARTITION_VECTORS.items()))
def test_partition_for_key_matches_kafka(key, expected):
    assert partition_for_key(key, 1000) == expected


@settings(max_examples=3_000)
@given(st.binary(max_size=200))
def test_murmur2_agrees_with_kafka_python(data):
    assert murmur2(data) == signed(kafka_python_murmur2(data))


@given(st.binary(max_size=64), st.integers(1, 10_000))
def test_partition_for_key_agrees_with_kafka_python(key, partitions):
    assert partition_for_key(key, partitions) == (kafka_python_murmur2(key) & 0x7FFFFFFF) % partitions


def test_to_positive_clears_only_the_sign_bit():
    assert to_positive(-1) == 0x7FFFFFFF
    assert to_positive(-(1 << 31)) == 0
    assert to_positive(42) == 42


def test_partition_for_key_rejects_no_partitions():
    with pytest.raises(ValueError):
        partition_for_key(b"k", 0)


def test_sticky_partition_holds_until_a_new_batch():
    rng = random.Random(1)
    sticky = StickyPartitioner()
    first = sticky.partition("t", 6, list(range(6)), rng)
    assert all(sticky.partition("t", 6, list(range(6)), rng) == first for _ in range(10))
    moved = sticky.on_new_batch("t", 6, list(range(6)), first, rng)
    assert moved != first
    assert sticky.partition("t", 6, list(range(6)), rng) == moved


def test_a_stale_new_batch_notice_does_not_move_the_partition_again():
    rng = random.Random(2)
    sticky = StickyPartitioner()
    first = sticky.partition("t", 4, [0, 1, 2, 3], rng)
    second = sticky.on_new_batch("t", 4, [0, 1, 2, 3], first, rng)
    assert sticky.on_new_batch("t", 4, [0, 1, 2, 3], first, rng) == second


def test_sticky_prefers_available_partitions_and_stays_on_the_only_one():
    rng = random.Random(3)
    sticky = StickyPartitioner()
    seen = set()
    previous = sticky.partition("t", 8, [2, 5], rng)
    seen.add(previous)
    for _ in range(50):
        previous = sticky.on_new_batch("t", 8, [2, 5], previous, rng)
        seen.add(previous)
    assert seen == {2, 5}
    lone = StickyPartitioner()
    only = lone.partition("t", 8, [4], rng)
    assert only == 4 and lone.on_new_batch("t", 8, [4], 4, rng) == 4


def test_sticky_spreads_batches_roughly_evenly():
    rng = random.Random(4)
    sticky = StickyPartitioner()
    counts = [0] * 4
    previous = sticky.partition("t", 4, [0, 1, 2, 3], rng)
    for _ in range(4_000):
        counts[previous] += 1
        previous = sticky.on_new_batch("t", 4, [0, 1, 2, 3], previous, rng)
    assert all(800 < c < 1_200 for c in counts), counts


def test_each_topic_has_its_own_sticky_partition():
    rng = random.Random(5)
    sticky = StickyPartitioner()
    a = sticky.partition("a", 10, list(range(10)), rng)
    sticky.on_new_batch("b", 10, list(range(10)), a, rng)
    assert sticky.partition("a", 10, list(range(10)), rng) == a


def test_default_partitioner_explicit_then_key_then_sticky():
    rng = random.Random(6)
    partitioner = DefaultPartitioner()
    assert partitioner.partition("t", b"abc", 1000, [], rng, explicit_partition=9) == 9
    with pytest.raises(ValueError):
        partitioner.partition("t", None, 3, [0, 1, 2], rng, explicit_partition=3)
    # keyed records ignore availability: partition 107 has no leader, the key still maps there
    assert partitioner.partition("t", b"abc", 1000, [0, 1], rng) == 107
    sticky = partitioner.partition("t", None, 3, [0, 1, 2], rng)
    assert partitioner.partition("t", None, 3, [0, 1, 2], rng) == sticky


def test_the_producer_routes_keys_as_kafka_does():
    from kafkadojo.reference import Cluster
    cluster = Cluster(brokers=1, seed=1)
    cluster.create_topic("t", partitions=7, replication_factor=1)
    producer = cluster.producer(acks="1")
    futures = {key: producer.send("t", b"v", key=key) for key in (b"a", b"ab", b"abc", b"k42")}
    producer.flush()
    for key, future in futures.items():
        assert future.partition == partition_for_key(key, 7)


def test_sticky_candidates():
    assert sticky_candidates(4, [3, 1], 1) == [3]
    assert sticky_candidates(4, [], 2) == [0, 1, 3]
    assert sticky_candidates(4, [2], 2) == [2]          # the only choice
    assert sticky_candidates(3, [0, 1, 2], None) == [0, 1, 2]
