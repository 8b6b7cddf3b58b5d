"""Which partition a record goes to: Kafka's murmur2 for keyed records, the built-in
partitioner (KIP-794, Kafka 3.3+) for records without a key.

Byte-exact with Kafka: ``murmur2`` is ``org.apache.kafka.common.utils.Utils.murmur2`` and
returns the same signed 32-bit int Java does, so a key lands on the same partition here as
on a real cluster with the same partition count.

Records without a key: Kafka 2.4-3.2 used KIP-480's ``StickyPartitionCache`` (stay on a
partition until a new batch is needed, then move uniformly to another available one).
Since Kafka 3.3 the producer's ``BuiltInPartitioner`` (KIP-794) stays on a partition until
``batch.size`` bytes have been produced to it, then picks the next one among the partitions
that have a leader, the previous one included, favouring partitions whose queues of unsent
batches are short. That is the rule modelled here.
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


def next_partition(random_number, num_partitions, available_partitions, queue_sizes):
    """The partition the built-in partitioner moves a topic's records without a key to
    (Kafka 3.3+, KIP-794: ``BuiltInPartitioner.nextPartition``).

    ``random_number`` is a non-negative int (Kafka draws ``Utils.toPositive(nextInt())``),
    ``available_partitions`` the partitions that have a leader, in increasing order.
    ``queue_sizes`` is None when the producer does not weigh partitions by load; otherwise
    (``partitioner.adaptive.partitioning.enable``) a non-empty dict, in increasing partition
    order, from each partition it may choose (it has a leader, and its broker is not
    excluded by ``partitioner.availability.timeout.ms``) to the number of batches waiting
    in its queue.

    With queue sizes, each partition's weight is the longest queue + 1 - its own queue, so
    short queues are chosen more often. Lay the weights out as running sums in partition
    order (queues 0, 3, 1 give weights 4, 1, 3 and sums 4, 5, 8), take ``random_number``
    modulo the total (8) and choose the first partition whose running sum is greater than
    that (0-3 choose the first partition, 4 the second, 5-7 the third). Without queue
    sizes, choose ``available_partitions[random_number % len(available_partitions)]``, or
    ``random_number % num_partitions`` when no partition has a leader. The partition the
    producer is leaving is a candidate like any other.
    """
    if queue_sizes:
        longest = max(queue_sizes.values())
        total = sum(longest + 1 - size for size in queue_sizes.values())
        pick = random_number % total
        running = 0
        for partition, size in queue_sizes.items():
            running += longest + 1 - size
            if running > pick:
                return partition
    if available_partitions:
        return available_partitions[random_number % len(available_partitions)]
    return random_number % num_partitions


class BuiltInPartitioner:
    """KIP-794's sticky partitioning for one topic (Kafka's ``BuiltInPartitioner``): records
    without a key go to one partition until ``sticky_batch_size`` (``batch.size``) bytes have
    been produced to it, then to ``next_partition``'s choice.

    ``random_int()`` returns the next non-negative random int (the engine draws it from the
    simulator's seeded RNG). ``load_stats()`` returns what ``next_partition`` takes as
    ``queue_sizes``: Kafka's sender thread recomputes it on every pass over the accumulator,
    the engine when a switch needs it.
    """

    def __init__(self, topic, sticky_batch_size, random_int, next_partition_rule=next_partition,
                 load_stats=lambda: None):
        if sticky_batch_size < 1:
            raise ValueError(f"stickyBatchSize must be >= 1 but got {sticky_batch_size}")
        self.topic = topic
        self.sticky_batch_size = sticky_batch_size
        self.random_int = random_int
        self.next_partition_rule = next_partition_rule
        self.load_stats = load_stats
        self.current = None             # the sticky partition, chosen on first use
        self.produced_bytes = 0         # bytes produced to it since it was chosen

    def peek_partition(self, num_partitions, available_partitions):
        """The sticky partition (``peekCurrentPartitionInfo``), chosen now if there is none."""
        if self.current is None:
            self.current = self.choose(num_partitions, available_partitions)
        return self.current

    def update_partition_info(self, appended_bytes, num_partitions, available_partitions,
                              enable_switch=True):
        """``appended_bytes`` more went to the sticky partition: switch once ``batch.size``
        bytes have gone there and switching is enabled (the partition has no batch still
        filling up), or in any case at twice ``batch.size``. Returns the sticky partition."""
        self.produced_bytes += appended_bytes
        if (self.produced_bytes >= self.sticky_batch_size and enable_switch
                or self.produced_bytes >= 2 * self.sticky_batch_size):
            self.current = self.choose(num_partitions, available_partitions)
            self.produced_bytes = 0
        return self.current

    def choose(self, num_partitions, available_partitions):
        queue_sizes = self.load_stats()
        return self.next_partition_rule(self.random_int(), num_partitions,
                                        list(available_partitions), queue_sizes or None)
