"""Which partition a record goes to: Kafka's murmur2 for keyed records, the sticky
partitioner (KIP-480) for records without a key.

Byte-exact with Kafka: ``murmur2`` is ``org.apache.kafka.common.utils.Utils.murmur2`` and
returns the same signed 32-bit int Java does, so a key lands on the same partition here as
on a real cluster with the same partition count.
"""

SEED = 0x9747B28C
M = 0x5BD1E995
R = 24
MASK = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """Kafka's ``Utils.murmur2`` (MurmurHash2, 32-bit), as a signed 32-bit int.

    Java computes in 32-bit ints that wrap around; Python ints do not, so every product is
    masked back to 32 bits, and ``>>>`` (Java's logical shift) is a plain ``>>`` on the
    masked, non-negative value.
    """
    length = len(data)
    h = (SEED ^ length) & MASK
    whole = length & ~3
    for i in range(0, whole, 4):
        k = int.from_bytes(data[i:i + 4], "little")
        k = (k * M) & MASK
        k ^= k >> R
        k = (k * M) & MASK
        h = ((h * M) & MASK) ^ k
    tail = length & 3
    # The tail bytes fall through, as in Java's switch without breaks.
    if tail == 3:
        h ^= data[whole + 2] << 16
    if tail >= 2:
        h ^= data[whole + 1] << 8
    if tail >= 1:
        h ^= data[whole]
        h = (h * M) & MASK
    h ^= h >> 13
    h = (h * M) & MASK
    h ^= h >> 15
    return h - (1 << 32) if h & 0x80000000 else h


def to_positive(n: int) -> int:
    """Kafka's ``Utils.toPositive``: clear the sign bit (not ``abs``, which overflows on
    Integer.MIN_VALUE in Java)."""
    return n & 0x7FFFFFFF


def partition_for_key(key: bytes, num_partitions: int) -> int:
    """``BuiltInPartitioner.partitionForKey``: ``toPositive(murmur2(key)) % numPartitions``.

    Over *all* partitions, available or not: a key must always map to the same partition,
    or per-key ordering breaks whenever a leader is briefly unavailable.
    """
    if num_partitions < 1:
        raise ValueError(f"a topic has at least one partition; got num_partitions={num_partitions}")
    return to_positive(murmur2(key)) % num_partitions


def sticky_candidates(num_partitions, available_partitions, previous_partition):
    """The partitions a sticky partitioner may move to when a batch is done
    (``StickyPartitionCache.nextPartition``), in increasing order.

    Prefer partitions that have a leader (``available_partitions``); if none has, any
    partition of the topic. Leave out ``previous_partition`` (None if there was none) unless
    it is the only choice: the point of moving on is to spread batches.
    """
    pool = sorted(available_partitions) if available_partitions else list(range(num_partitions))
    others = [p for p in pool if p != previous_partition]
    return others or pool


def _choose(num_partitions, available_partitions, previous, rng, candidates_rule=sticky_candidates):
    candidates = candidates_rule(num_partitions, available_partitions, previous)
    return candidates[rng.randrange(len(candidates))]


class StickyPartitioner:
    """KIP-480: records without a key stick to one partition per topic until a batch for it
    is completed, then move to another, so batches fill up instead of being spread thin.

    This is the Kafka 2.4-3.2 rule (``StickyPartitionCache``): switch when a new batch is
    needed. Kafka 3.3+ (KIP-794) switches after ``batch.size`` bytes and weighs partitions by
    broker load; we model KIP-480. ``rng`` is the simulator's seeded ``random.Random``.
    """

    def __init__(self, candidates_rule=sticky_candidates):
        self.sticky = {}        # topic -> its current partition
        self.candidates_rule = candidates_rule

    def partition(self, topic, num_partitions, available_partitions, rng):
        """The topic's sticky partition, chosen now if it has none yet."""
        current = self.sticky.get(topic)
        if current is None:
            current = self.sticky[topic] = _choose(num_partitions, available_partitions, None, rng,
                                                   self.candidates_rule)
        return current

    def on_new_batch(self, topic, num_partitions, available_partitions, previous_partition, rng):
        """A batch for ``previous_partition`` is done: move the topic to another partition
        (unless someone already moved it). Returns the topic's sticky partition."""
        current = self.sticky.get(topic)
        if current is None or current == previous_partition:
            current = self.sticky[topic] = _choose(
                num_partitions, available_partitions, previous_partition, rng, self.candidates_rule)
        return current


class DefaultPartitioner:
    """The producer's choice: an explicit partition wins, then the key, then stickiness."""

    def __init__(self):
        self.sticky = StickyPartitioner()

    def partition(self, topic, key, num_partitions, available_partitions, rng,
                  explicit_partition=None):
        if explicit_partition is not None:
            if not 0 <= explicit_partition < num_partitions:
                raise ValueError(f"partition {explicit_partition} is not in [0, {num_partitions})")
            return explicit_partition
        if key is not None:
            return partition_for_key(key, num_partitions)
        return self.sticky.partition(topic, num_partitions, available_partitions, rng)

    def on_new_batch(self, topic, num_partitions, available_partitions, previous_partition, rng):
        return self.sticky.on_new_batch(topic, num_partitions, available_partitions,
                                        previous_partition, rng)
