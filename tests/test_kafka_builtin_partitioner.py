"""Kafka's tests of the built-in partitioner (KIP-794, Kafka 3.3+), ported.

BuiltInPartitionerTest drives ``BuiltInPartitioner`` alone; RecordAccumulatorTest's
built-in partitioner cases drive it through the producer, here the engine's ``Producer``.
Kafka's ``SequentialPartitioner`` (a "random" number that counts 0, 1, 2, ...) is
``Sequential`` below."""

import random

import pytest

from kafkadojo.reference import Cluster
from kafkadojo.reference.partitioner import BuiltInPartitioner, next_partition


class Sequential:
    """BuiltInPartitionerTest.SequentialPartitioner's randomPartition(): 0, 1, 2, ..."""

    def __init__(self):
        self.calls = 0

    def __call__(self):
        self.calls += 1
        return self.calls - 1


def sticky_run(partitioner, num_partitions, available, appends, appended_bytes=1):
    """peekCurrentPartitionInfo, then updatePartitionInfo(appended_bytes), ``appends`` times:
    the partitions the records went to."""
    chosen = []
    for _ in range(appends):
        chosen.append(partitioner.peek_partition(num_partitions, available))
        partitioner.update_partition_info(appended_bytes, num_partitions, available)
    return chosen


# -- BuiltInPartitionerTest ------------------------------------------------------------------

def test_sticky_partitioning():
    """BuiltInPartitionerTest.testStickyPartitioning"""
    topic_a = BuiltInPartitioner("topicA", 3, Sequential())
    first = topic_a.peek_partition(3, [0, 1, 2])
    topic_a.update_partition_info(1, 3, [0, 1, 2])
    assert topic_a.peek_partition(3, [0, 1, 2]) == first
    topic_a.update_partition_info(1, 3, [0, 1, 2])
    assert topic_a.peek_partition(3, [0, 1, 2]) == first
    topic_a.update_partition_info(1, 3, [0, 1, 2])
    # after 3 records (the sticky batch size), the partition has switched
    assert topic_a.peek_partition(3, [0, 1, 2]) != first
    # switching works with one partition too
    topic_b = BuiltInPartitioner("topicB", 1, Sequential())
    assert sticky_run(topic_b, 1, [0], 10) == [0] * 10


def test_unavailable_partitions():
    """BuiltInPartitionerTest.unavailablePartitionsTest: partition 1 of topic A, partition 0
    of topic B and the only partition of topic C have no leader."""
    rng = random.Random(794)
    topic_a = BuiltInPartitioner("topicA", 1, lambda: rng.getrandbits(31))
    chosen_a = sticky_run(topic_a, 3, [0, 2], 101)
    assert 1 not in chosen_a
    assert len(set(chosen_a)) > 1, "expected to find a partition other than the first"
    topic_b = BuiltInPartitioner("topicB", 1, lambda: rng.getrandbits(31))
    assert sticky_run(topic_b, 2, [1], 101) == [1] * 101
    # with no partition available, one is still chosen among all partitions
    topic_c = BuiltInPartitioner("topicC", 1, lambda: rng.getrandbits(31))
    assert sticky_run(topic_c, 1, [], 2) == [0, 0]


def test_adaptive_partitions():
    """BuiltInPartitionerTest.adaptivePartitionsTest: over two full cycles of the random
    numbers, each partition is chosen exactly (max queue + 1 - its queue) times per cycle."""
    queue_sizes = {0: 5, 1: 0, 2: 3, 3: 0, 4: 1}
    expected_frequencies = {p: 6 - size for p, size in queue_sizes.items()}   # 6: max + 1
    partitioner = BuiltInPartitioner("topicA", 1, Sequential(),
                                     load_stats=lambda: dict(queue_sizes))
    cycles = 2
    range_end = sum(expected_frequencies.values())      # loadStatsRangeEnd()
    chosen = sticky_run(partitioner, 5, [0, 1, 2, 3, 4], range_end * cycles)
    assert {p: chosen.count(p) for p in queue_sizes} == {
        p: f * cycles for p, f in expected_frequencies.items()}


def test_sticky_batch_size_more_than_zero():
    """BuiltInPartitionerTest.testStickyBatchSizeMoreThatZero"""
    with pytest.raises(ValueError):
        BuiltInPartitioner("topicA", 0, Sequential())
    BuiltInPartitioner("topicA", 1, Sequential())


def test_adaptive_partitions_leave_out_high_latency_nodes():
    """RecordAccumulatorTest.testAdaptiveBuiltInPartitioner, first the frequencies for queues
    1, 7, 2, then with node 0 (leader of partitions 0 and 1) past
    partitioner.availability.timeout.ms: only partition 2 remains to weigh."""
    queue_sizes = {0: 1, 1: 7, 2: 2}
    stats = {"now": dict(queue_sizes)}
    partitioner = BuiltInPartitioner("topic", 1, Sequential(), load_stats=lambda: stats["now"])
    partitioner.update_partition_info(1, 3, [0, 1, 2])      # prime: switch on every record
    cycles = 2
    range_end = sum(8 - size for size in queue_sizes.values())
    chosen = sticky_run(partitioner, 3, [0, 1, 2], range_end * cycles)
    assert [chosen.count(p) for p in (0, 1, 2)] == [(8 - q) * cycles for q in (1, 7, 2)]
    stats["now"] = {2: 2}
    partitioner.update_partition_info(1, 3, [0, 1, 2])
    assert sticky_run(partitioner, 3, [0, 1, 2], 10) == [2] * 10


def test_no_partition_left_to_weigh_falls_back_to_the_available_ones():
    """BuiltInPartitioner.updatePartitionLoadStats: with every partition left out (length 0),
    no load stats: the choice is uniform over the partitions that have a leader."""
    assert next_partition(5, 4, [1, 2], None) == [1, 2][5 % 2]


# -- RecordAccumulatorTest, through the engine's producer --------------------------------------

def producer_on(partitions, **options):
    cluster = Cluster(brokers=2, seed=7)
    cluster.create_topic("topic", partitions=partitions, replication_factor=1)
    producer = cluster.producer(acks="1", **options)
    producer.send("topic", b"", partition=0).get()          # learn the metadata
    sequential = Sequential()
    producer.random_partition = sequential
    return cluster, producer, sequential


def test_uniform_built_in_partitioner():
    """RecordAccumulatorTest.testUniformBuiltInPartitioner: batch.size 1024 (the sticky limit
    too), records appended without running the sender."""
    _, producer, sequential = producer_on(3, batch_size=1024, linger_ms=0,
                                          partitioner_adaptive_partitioning_enable=False)
    large = bytes(1024)
    # a small record: the first partition
    assert producer.send("topic", b"value").partition == 0 and sequential.calls == 1
    # past the sticky limit, but the large record's batch is still filling: no switch
    assert producer.send("topic", large).partition == 0 and sequential.calls == 1
    # the next large record completes that batch: switch
    assert producer.send("topic", large).partition == 1 and sequential.calls == 2
    assert producer.send("topic", large).partition == 2 and sequential.calls == 3
    assert producer.send("topic", large).partition == 0 and sequential.calls == 4


def test_built_in_partitioner_fractional_batches():
    """RecordAccumulatorTest.testBuiltInPartitionerFractionalBatches: with linger.ms, a
    partition switch waits for the batch to be sent, so no batch is a small fraction."""
    cluster, producer, _ = producer_on(3, batch_size=512, linger_ms=10)
    for _ in range(10):
        futures = [producer.send("topic", bytes(32)) for _ in range(512 * 2 // 3 // 32)]
        cluster.run_for(10)
        batches = {id(f.batch): f.batch for f in futures}
        assert len(batches) == 1, "one batch per linger.ms"
        (batch,) = batches.values()
        assert 512 // 2 < batch.size_bytes < 512
