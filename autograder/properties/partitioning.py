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
INT_MIN, INT_MAX = -(1 << 31), (1 << 31) - 1
MASK = 0xFFFFFFFF


def _unmix_right(value, shift):
    """The inverse of ``value ^= value >> shift`` on 32 bits."""
    result = value
    for _ in range(32 // shift + 1):
        result = value ^ (result >> shift)
    return result & MASK


def key_hashing_to(target, prefix=b""):
    """A key of ``len(prefix) + 4`` bytes whose murmur2 is ``target``: for a fixed length,
    every step of murmur2 after the last whole block can be undone, so the last block can be
    solved for."""
    m_inverse = pow(partitioner.M, -1, 1 << 32)
    h = target & MASK
    h = _unmix_right(h, 15)
    h = (h * m_inverse) & MASK
    h = _unmix_right(h, 13)
    before = (partitioner.SEED ^ (len(prefix) + 4)) & MASK
    for i in range(0, len(prefix), 4):
        k = (int.from_bytes(prefix[i:i + 4], "little") * partitioner.M) & MASK
        k = ((k ^ (k >> partitioner.R)) * partitioner.M) & MASK
        before = ((before * partitioner.M) & MASK) ^ k
    k = h ^ ((before * partitioner.M) & MASK)
    k = (k * m_inverse) & MASK
    k = _unmix_right(k, partitioner.R)
    k = (k * m_inverse) & MASK
    return prefix + k.to_bytes(4, "little")


# Keys at the edges of Java's int: a sign conversion off by one (> 2**31 instead of >=),
# or Math.abs instead of toPositive, shows only here.
EXTREME_HASHES = (INT_MIN, INT_MIN + 1, -1, 0, 1, INT_MAX - 1, INT_MAX)
EXTREME_KEYS = tuple(key_hashing_to(h, prefix) for h in EXTREME_HASHES
                     for prefix in (b"", b"kafk"))


@prop("partitioning.murmur2", "matches Kafka's own murmur2 test vectors", 1)
def murmur2_vectors(learner):
    return examples(learner, "murmur2", KAFKA_MURMUR2, anomaly="wrong-hash")


@prop("partitioning.murmur2", "is exact at the edges of Java's int (Integer.MIN_VALUE, -1, 0, "
      "Integer.MAX_VALUE) and for the empty key", 1)
def murmur2_extremes(learner):
    cases = [((key,), partitioner.murmur2(key)) for key in (b"", *EXTREME_KEYS)]
    return examples(learner, "murmur2", cases, anomaly="wrong-hash")


@prop("partitioning.murmur2", "agrees with Kafka on random keys of every length", 1)
def murmur2_random(learner):
    return differential(learner, "murmur2", partitioner.murmur2,
                        st.tuples(st.binary(max_size=40)), examples=300, anomaly="wrong-hash")


@prop("partitioning.partition_for_key", "maps Kafka's test keys to Kafka's partitions", 1)
def partition_vectors(learner):
    return examples(learner, "partition_for_key",
                    [((key, 1000), p) for (key,), p in KAFKA_PARTITIONS],
                    anomaly="wrong-partition")


@prop("partitioning.partition_for_key", "agrees with Kafka for any key and partition count, "
      "extreme hashes and one partition included", 1)
def partition_random(learner):
    keys = st.one_of(st.sampled_from(EXTREME_KEYS), st.binary(max_size=24))
    counts = st.one_of(st.just(1), st.integers(1, 5000), st.just(INT_MAX))
    return differential(learner, "partition_for_key", partitioner.partition_for_key,
                        st.tuples(keys, counts), anomaly="wrong-partition")


RANDOM_NUMBER = st.one_of(st.integers(0, 64), st.integers(0, INT_MAX), st.sampled_from([0, INT_MAX]))


@st.composite
def available_partitions(draw, at_least=0):
    n = draw(st.integers(1, 12))
    available = sorted(draw(st.lists(st.integers(0, n - 1), unique=True, min_size=at_least,
                                     max_size=n)))
    return n, available


@st.composite
def uniform_args(draw):
    n, available = draw(available_partitions())      # none, some or all have a leader
    return (draw(RANDOM_NUMBER), n, available, None)


@st.composite
def weighted_args(draw):
    n, available = draw(available_partitions(at_least=1))
    # partitions on a broker left out by partitioner.availability.timeout.ms are not weighed
    weighed = [p for p in available if draw(st.booleans())] or available[:1]
    sizes = {p: draw(st.one_of(st.integers(0, 3), st.integers(0, 40))) for p in weighed}
    longest = max(sizes.values())
    sums, running = [], 0
    for size in sizes.values():
        running += longest + 1 - size
        sums.append(running)
    # a pick that lands exactly on a running sum belongs to the next partition
    on_a_sum = st.builds(lambda s, laps: s + laps * running, st.sampled_from([0, *sums[:-1]]),
                         st.integers(0, INT_MAX // running))
    number = draw(st.one_of(on_a_sum, RANDOM_NUMBER))
    return (min(number, INT_MAX), n, available, sizes)


@prop("partitioning.next_partition", "without queue sizes, chooses among the partitions with a "
      "leader (or all, when none has one) as Kafka does", 1)
def next_partition_uniform(learner):
    return differential(learner, "next_partition", partitioner.next_partition, uniform_args(),
                        anomaly="wrong-next-partition")


@prop("partitioning.next_partition", "with queue sizes, chooses by Kafka's cumulative frequency "
      "table of inverted queue sizes", 1)
def next_partition_weighted(learner):
    return differential(learner, "next_partition", partitioner.next_partition, weighted_args(),
                        examples=300, anomaly="wrong-next-partition")
