"""Hidden properties: partitioning."""

from hypothesis import strategies as st

from kafkadojo.reference import partitioner

from . import differential, examples, prop

KAFKA_MURMUR2 = [((b"21",), -973932308), ((b"foobar",), -790332482),
                 ((b"a-little-bit-long-string",), -985981536),
                 ((b"a-little-bit-longer-string",), -1486304829),
                 ((b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",), -58897971),
                 ((b"abc",), 479470107)]
KAFKA_PARTITIONS = [((b"",), 681), ((b"a",), 524), ((b"ab",), 434), ((b"abc",), 107),
                    ((b"123456789",), 566), ((b"\x00 ",), 742)]


@prop("partitioning.murmur2", "matches Kafka's own murmur2 test vectors", 1)
def murmur2_vectors(learner):
    return examples(learner, "murmur2", KAFKA_MURMUR2, anomaly="wrong-hash")


@prop("partitioning.murmur2", "agrees with Kafka on random keys of every length", 2)
def murmur2_random(learner):
    return differential(learner, "murmur2", partitioner.murmur2,
                        st.tuples(st.binary(max_size=40)), examples=300, anomaly="wrong-hash")


@prop("partitioning.partition_for_key", "maps Kafka's test keys to Kafka's partitions", 1)
def partition_vectors(learner):
    return examples(learner, "partition_for_key",
                    [((key, 1000), p) for (key,), p in KAFKA_PARTITIONS],
                    anomaly="wrong-partition")


@prop("partitioning.partition_for_key", "agrees with Kafka for any key and partition count", 1)
def partition_random(learner):
    return differential(learner, "partition_for_key", partitioner.partition_for_key,
                        st.tuples(st.binary(max_size=24), st.integers(1, 5000)),
                        anomaly="wrong-partition")


@st.composite
def sticky_args(draw, some_available):
    n = draw(st.integers(1, 12))
    available = draw(st.lists(st.integers(0, n - 1), unique=True,
                              min_size=1 if some_available else 0,
                              max_size=n if some_available else 0))
    previous = draw(st.one_of(st.none(), st.integers(0, n - 1)))
    return (n, available, previous)


@prop("partitioning.sticky_candidates", "moves among available partitions, never back to the same one", 1)
def sticky_available(learner):
    return differential(learner, "sticky_candidates", partitioner.sticky_candidates,
                        sticky_args(True), anomaly="wrong-candidates")


@prop("partitioning.sticky_candidates", "falls back to all partitions when none has a leader", 1)
def sticky_none_available(learner):
    return differential(learner, "sticky_candidates", partitioner.sticky_candidates,
                        sticky_args(False), anomaly="wrong-candidates")
