"""murmur2 and the partitioners, against Kafka's own test vectors and kafka-python; the
built-in partitioner (KIP-794) inside the engine's producer.

Kafka's own unit tests are ported in test_kafka_utils.py and
test_kafka_builtin_partitioner.py."""

from collections import Counter

import pytest
from hypothesis import given, settings, strategies as st
from kafka.partitioner.default import murmur2 as kafka_python_murmur2

from kafkadojo.reference import Cluster
from kafkadojo.reference.partitioner import murmur2, next_partition, partition_for_key, to_positive
from kafkadojo.reference.seams import REFERENCE

# BuiltInPartitioner.partitionForKey with 1,000 partitions (docs/kafka-semantics.md)
PARTITION_VECTORS = {b"": 681, b"a": 524, b"ab": 434, b"abc": 107, b"123456789": 566, b"\x00 ": 742}


def signed(unsigned):
    return unsigned - (1 << 32) if unsigned >= 1 << 31 else unsigned


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


# -- next_partition ----------------------------------------------------------------------

@st.composite
def tables(draw):
    n = draw(st.integers(1, 10))
    available = sorted(draw(st.lists(st.integers(0, n - 1), unique=True, min_size=1, max_size=n)))
    weighed = [p for p in available if draw(st.booleans())] or available[:1]
    return n, available, {p: draw(st.integers(0, 9)) for p in weighed}


@given(tables())
def test_one_cycle_of_numbers_chooses_each_partition_by_its_inverted_queue(table):
    """Over random numbers 0 .. total-1, each weighed partition is chosen exactly
    (longest queue + 1 - its queue) times, and only weighed partitions are chosen."""
    n, available, sizes = table
    weights = {p: max(sizes.values()) + 1 - size for p, size in sizes.items()}
    chosen = Counter(next_partition(r, n, available, sizes) for r in range(sum(weights.values())))
    assert chosen == Counter(weights)


@given(st.integers(0, (1 << 31) - 1), tables())
def test_the_choice_depends_only_on_the_number_modulo_the_total(number, table):
    n, available, sizes = table
    total = sum(max(sizes.values()) + 1 - size for size in sizes.values())
    assert next_partition(number, n, available, sizes) == next_partition(number % total, n,
                                                                         available, sizes)


def test_without_queue_sizes_the_choice_is_uniform_over_available_partitions():
    assert [next_partition(r, 8, [2, 5], None) for r in range(4)] == [2, 5, 2, 5]
    assert [next_partition(r, 3, [], None) for r in range(4)] == [0, 1, 2, 0]


def test_the_previous_partition_may_come_again():
    """Kafka 3.3+: unlike KIP-480's StickyPartitionCache, nothing leaves the current
    partition out; with one partition available it is chosen every time."""
    assert {next_partition(r, 4, [3], None) for r in range(10)} == {3}
    assert {next_partition(r, 1, [], None) for r in range(10)} == {0}


# -- inside the engine's producer ---------------------------------------------------------

def unkeyed_spread(isolate_leader_of=None, sends=3_000, after_ms=0, **options):
    """Records without a key, 5 every 5 ms, on 6 partitions led by 3 brokers (2 each); the
    producer may be cut off from one broker. Returns (partitions led by that broker, how many
    records sent ``after_ms`` or later went to each partition)."""
    cluster = Cluster(brokers=3, seed=2)
    cluster.create_topic("t", partitions=6, replication_factor=1)
    producer = cluster.producer(acks="1", linger_ms=5, batch_size=2_000,
                                max_in_flight_requests_per_connection=1, **options)
    for p in range(6):
        producer.send("t", b"warm", partition=p)
    producer.flush()
    led = set()
    if isolate_leader_of is not None:
        slow = cluster.leader("t", isolate_leader_of)
        led = {p for p in range(6) if cluster.leader("t", p) == slow}
        cluster.partition_network([producer.node_id], [slow])
    start = cluster.now
    futures = []
    while len(futures) < sends:
        futures.extend(producer.send("t", b"x" * 90) for _ in range(5))
        cluster.run_for(5)
    late = futures[len(futures) * after_ms // (cluster.now - start):]
    return led, Counter(f.partition for f in late)


def test_switches_after_batch_size_bytes_and_spreads_over_all_partitions():
    # Adaptive partitioning weighs partitions by their queues, so the spread is not even:
    # but no partition is starved.
    _, counts = unkeyed_spread()
    assert set(counts) == set(range(6))
    assert max(counts.values()) < 4 * min(counts.values()), counts


def test_adaptive_partitioning_sends_less_to_a_broker_whose_queues_grow():
    led, counts = unkeyed_spread(isolate_leader_of=0)
    share = sum(counts[p] for p in led) / sum(counts.values())
    _, uniform = unkeyed_spread(isolate_leader_of=0, partitioner_adaptive_partitioning_enable=False)
    uniform_share = sum(uniform[p] for p in led) / sum(uniform.values())
    # A stuck partition's batch keeps filling until it is full (as in Kafka), so its queue
    # grows a batch per batch.size, and its share falls as the queue grows.
    assert share < 0.15 < 0.25 < uniform_share, (share, uniform_share)


def test_availability_timeout_leaves_a_stuck_broker_out():
    """Once the broker has had batches ready and undrained for 500 ms, its partitions (all
    holding batches) get no new records; queue sizes alone only make them rarer."""
    led, counts = unkeyed_spread(isolate_leader_of=0, after_ms=1_000,
                                 partitioner_availability_timeout_ms=500)
    assert sum(counts[p] for p in led) == 0 and sum(counts.values()) > 1_000
    _, adaptive = unkeyed_spread(isolate_leader_of=0, after_ms=1_000)
    assert sum(adaptive[p] for p in led) > 0


def test_same_seed_same_partitions():
    assert unkeyed_spread(sends=500) == unkeyed_spread(sends=500)


def test_ignore_keys_makes_keyed_records_sticky():
    cluster = Cluster(brokers=1, seed=3)
    cluster.create_topic("t", partitions=8, replication_factor=1)
    keyed = cluster.producer(acks="1")
    ignoring = cluster.producer(acks="1", partitioner_ignore_keys=True)
    keys = [b"k%d" % i for i in range(20)]
    by_key = [keyed.send("t", b"v", key=k) for k in keys]
    sticky = [ignoring.send("t", b"v", key=k) for k in keys]
    keyed.flush()
    ignoring.flush()
    assert [f.partition for f in by_key] == [partition_for_key(k, 8) for k in keys]
    assert len({f.partition for f in sticky}) == 1       # 20 small records: under batch.size
    assert all(f.succeeded for f in by_key + sticky)


def test_the_producer_calls_the_next_partition_seam():
    calls = []

    def always_last(random_number, num_partitions, available_partitions, queue_sizes):
        calls.append((num_partitions, tuple(available_partitions), queue_sizes))
        return num_partitions - 1

    cluster = Cluster(brokers=1, seed=4, seams=REFERENCE.with_rules(next_partition=always_last))
    cluster.create_topic("t", partitions=5, replication_factor=1)
    producer = cluster.producer(acks="1", batch_size=500)
    futures = [producer.send("t", b"x" * 50) for _ in range(40)]
    producer.flush()
    assert {f.partition for f in futures} == {4}
    assert len(calls) > 1 and calls[0] == (5, (0, 1, 2, 3, 4), None)


def test_the_producer_routes_keys_as_kafka_does():
    cluster = Cluster(brokers=1, seed=1)
    cluster.create_topic("t", partitions=7, replication_factor=1)
    producer = cluster.producer(acks="1")
    futures = {key: producer.send("t", b"v", key=key) for key in (b"a", b"ab", b"abc", b"k42")}
    producer.flush()
    for key, future in futures.items():
        assert future.partition == partition_for_key(key, 7)


def test_the_sticky_picture_shows_the_slow_broker_starved_only_by_weighing_queues():
    from kafkadojo.exercises.pictures import draw_sticky_spread, sticky_spread
    counts, slow = sticky_spread()
    uniform, _ = sticky_spread(next_partition=lambda r, n, available, queues:
                               next_partition(r, n, available, None))
    assert slow and sum(counts[p] for p in slow) * 3 < sum(uniform[p] for p in slow)
    assert "led by broker 0" in draw_sticky_spread()
    assert "the producer stopped: IndexError" in draw_sticky_spread(next_partition=lambda *a: 99)


def test_send_many_before_the_metadata_is_known_sends_every_record():
    cluster = Cluster(brokers=1, seed=5)
    cluster.create_topic("t", partitions=3, replication_factor=1)
    producer = cluster.producer(acks="1", batch_size=1_000)
    futures = producer.send_many("t", [b"v%03d" % i for i in range(500)])
    producer.flush()
    assert all(f.succeeded for f in futures)
    assert producer.records_sent == 500
    assert sum(cluster.log(0, "t", p).log_end_offset for p in range(3)) == 500
