"""Kafka's own tests of murmur2, toPositive and the keyed partition, ported.

Each case names the Java test it comes from; kafka-python's murmur2 (which returns the
unsigned value) is a second, independent oracle."""

import pytest
from kafka.partitioner.default import murmur2 as kafka_python_murmur2

from kafkadojo.autograder.properties.partitioning import EXTREME_HASHES, key_hashing_to
from kafkadojo.reference.partitioner import murmur2, partition_for_key, to_positive

INT_MIN, INT_MAX = -(1 << 31), (1 << 31) - 1


def signed(unsigned):
    return unsigned - (1 << 32) if unsigned >= 1 << 31 else unsigned


# org.apache.kafka.common.utils.UtilsTest.testMurmur2
UTILS_TEST_MURMUR2 = [
    (b"21", -973932308),
    (b"foobar", -790332482),
    (b"a-little-bit-long-string", -985981536),
    (b"a-little-bit-longer-string", -1486304829),
    (b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971),
    (bytes([ord("a"), ord("b"), ord("c")]), 479470107),
]


@pytest.mark.parametrize("key, expected", UTILS_TEST_MURMUR2)
def test_murmur2(key, expected):
    """UtilsTest.testMurmur2"""
    assert murmur2(key) == expected


def test_to_positive():
    """Utils.toPositive's contract (UtilsTest has no case of its own; UtilsTest.testAbs tests
    Utils.abs, which maps Integer.MIN_VALUE to 0 as toPositive does): the sign bit is
    cleared, so Integer.MIN_VALUE -> 0 and -1 -> Integer.MAX_VALUE, never abs()."""
    assert to_positive(INT_MIN) == 0
    assert to_positive(-1) == INT_MAX
    assert to_positive(-10) == INT_MAX - 9          # abs(-10) would be 10
    assert to_positive(0) == 0
    assert to_positive(10) == 10
    assert to_positive(INT_MAX) == INT_MAX


def test_key_partition_is_stable():
    """DefaultPartitionerTest.testKeyPartitionIsStable: the same key, the same partition,
    whichever partitions have a leader (there partition 1 has none)."""
    first = partition_for_key(b"key", 3)
    assert partition_for_key(b"key", 3) == first
    assert first == to_positive(murmur2(b"key")) % 3


@pytest.mark.parametrize("target", EXTREME_HASHES)
@pytest.mark.parametrize("prefix", [b"", b"kafk", b"kafkadoj"])
def test_keys_at_the_edges_of_javas_int_hash_as_kafka_python_says(target, prefix):
    """The grader's extreme keys really hash to Integer.MIN_VALUE, -1, 0, MAX_VALUE...: by
    our murmur2 and by kafka-python's, and they partition by toPositive, not abs."""
    key = key_hashing_to(target, prefix)
    assert len(key) == len(prefix) + 4
    assert murmur2(key) == signed(kafka_python_murmur2(key)) == target
    for partitions in (1, 3, 1000, INT_MAX):
        assert partition_for_key(key, partitions) == (target & INT_MAX) % partitions


def test_integer_min_value_goes_to_partition_zero():
    key = key_hashing_to(INT_MIN)
    assert [partition_for_key(key, n) for n in (1, 7, 1000)] == [0, 0, 0]
    assert abs(INT_MIN) % 7 != 0        # what abs() would have done instead
