"""Drills: which partition a record goes to."""

from kafkadojo.reference.partitioner import murmur2, partition_for_key, to_positive

from . import drill_kind
from .picture import Picture
from ._cards import flashcards

WORDS = ("user", "order", "cart", "acct", "sensor", "tenant", "device", "payment")


@drill_kind("partitioning.key-partition", "number",
            summary="the partition the default partitioner picks for a key")
def key_partition(rng, level):
    key = f"{rng.choice(WORDS)}-{rng.randrange(10 ** (level + 1))}"
    partitions = rng.choice(((3, 6), (6, 12, 10), (7, 24, 50))[level - 1])
    answer = partition_for_key(key.encode(), partitions)
    hashed = murmur2(key.encode())
    return ((key, partitions),
            f"A topic has {partitions} partitions. Which partition does a record with key "
            f"{key!r} go to? (murmur2({key!r}) = {hashed})",
            answer,
            "Kafka's default partitioner (Utils.toPositive(murmur2(key)) % partitions): "
            "toPositive masks the sign bit (n & 0x7fffffff); it is not abs().",
            _hash_steps(hashed, partitions, answer))


def _hash_steps(hashed, partitions, answer):
    return Picture(rows=(
        ("murmur2", ((hashed, "plain"),)),
        ("& 0x7fffffff", ((to_positive(hashed), "plain"),)),
        (f"% {partitions}", ((answer, "chosen"),)),
    ), legend=(("chosen", "the partition"),))


@drill_kind("partitioning.to-positive", "number",
            summary="toPositive of a negative hash, then the partition")
def negative_hash(rng, level):
    value = -rng.randrange(1, 2 ** 31)
    partitions = rng.choice((3, 6, 10, 12, 24))
    answer = to_positive(value) % partitions
    return ((value, partitions),
            f"murmur2 gave {value} for a key; the topic has {partitions} partitions. "
            f"Which partition?",
            answer,
            f"toPositive({value}) = {value} & 0x7fffffff = {to_positive(value)}; "
            f"{to_positive(value)} % {partitions} = {answer} (abs() would give "
            f"{abs(value) % partitions}).",
            _hash_steps(value, partitions, answer))


flashcards("partitioning", (
    ("Why can adding partitions to a topic break per-key ordering?",
     "The partition is hash(key) % partitions: with more partitions the same key maps to a "
     "different partition, so its new records land elsewhere while older ones sit in the "
     "old partition; a consumer can read them out of order."),
    ("What does the built-in partitioner (KIP-794, Kafka 3.3+) do with records that have no "
     "key?",
     "It sticks to one partition until about batch.size bytes went there, then switches, "
     "preferring partitions whose brokers have shorter queues (adaptive partitioning): "
     "bigger batches, fewer requests."),
))
