"""The engine's sizes are the record batch codec's bytes: a stored batch is as large as its
encoding (compacted, compressed or not), the producer fills batches by Kafka's rule
(``MemoryRecordsBuilder.hasRoomFor``), compressed batches by the estimated ratio, and the
topic's ``compression.type`` decides how a batch is stored."""

import pytest
from hypothesis import given, settings, strategies as st

from kafkadojo.reference import Cluster, errors
from kafkadojo.reference.compression import CODECS
from kafkadojo.reference.producer import (COMPRESSION_RATIO_DETERIORATE_STEP, _float32,
                                          updated_compression_ratio)
from kafkadojo.reference.record import RecordBatch
from kafkadojo.reference.record_batch import (decode_batch, encode_batch,
                                              record_size)

for module in ("lz4", "zstandard", "snappy"):
    pytest.importorskip(module)


def _encoded(batch):
    """The batch's bytes, by the codec: what its size must be."""
    offsets = list(batch.record_offsets())
    records = [(offset, timestamp, None if batch.keys is None else batch.keys[i],
                batch.values[i], () if batch.headers is None else batch.headers[i])
               for i, (offset, timestamp) in enumerate(zip(offsets, batch.timestamps))]
    return encode_batch(records, base_offset=batch.base_offset, codec=batch.compression,
                        delete_horizon_ms=batch.delete_horizon if batch.delete_horizon >= 0
                        else None, last_offset_delta=batch.next_offset - 1 - batch.base_offset)


values = st.one_of(st.none(), st.binary(max_size=300))
headers = st.lists(st.tuples(st.text(max_size=5), values), max_size=2).map(tuple)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(values, values, st.integers(0, 10 ** 9), headers), min_size=1,
                max_size=20),
       st.sampled_from(CODECS), st.integers(0, 10 ** 6), st.booleans(), st.booleans())
def test_a_stored_batch_is_as_large_as_its_bytes(records, codec, base_offset, gaps, horizon):
    keys = [k for k, _, _, _ in records]
    offsets = None
    if gaps:                                # a compacted batch: its records keep their offsets
        offsets = [base_offset + 3 * i for i in range(len(records))]
    batch = RecordBatch(base_offset, 0, keys, [v for _, v, _, _ in records],
                        [t for _, _, t, _ in records], [h for _, _, _, h in records],
                        offsets=offsets, next_offset=None if offsets is None else offsets[-1] + 5,
                        delete_horizon=10 ** 9 + 7 if horizon else -1, compression=codec)
    data = _encoded(batch)
    assert batch.size_bytes == len(data)
    assert decode_batch(data).attributes.compression == codec


def _stored(cluster, topic="t"):
    log = cluster.log(cluster.leader(topic, 0), topic, 0)
    return [b for segment in log.segments for b in segment.batches]


def test_the_producer_fills_a_batch_as_hasRoomFor_does():
    cluster = Cluster(3, seed=2)
    cluster.create_topic("t", 1, 3)
    producer = cluster.producer(batch_size=600, linger_ms=1_000)
    sizes = [17, 40, 3, 90, 120, 5, 60, 33, 70, 11] * 4
    for n, size in enumerate(sizes):
        producer.send("t", value=b"v" * size, key=b"k%d" % n, partition=0,
                      headers=[("trace", b"x")] if n % 3 == 0 else None)
    producer.flush()
    batches = _stored(cluster)
    assert len(batches) > 3
    sent = 0
    for batch in batches[:-1]:
        sent += len(batch.values)
        assert batch.size_bytes <= 600
        # the next record did not fit: at the next offset delta it would pass 600
        following = record_size(len(batch.values), 0, b"k%d" % sent, b"v" * sizes[sent],
                                (("trace", b"x"),) if sent % 3 == 0 else ())
        assert batch.size_bytes + following > 600
    assert sent + len(batches[-1].values) == len(sizes)


def test_compressed_batches_are_stored_as_sent_and_sized_by_their_bytes():
    for codec in ("gzip", "snappy", "lz4", "zstd"):
        cluster = Cluster(3, seed=1)
        cluster.create_topic("t", 1, 3)
        producer = cluster.producer(compression_type=codec, linger_ms=50)
        for n in range(400):
            producer.send("t", value=f"payment {n} for customer {n % 7}".encode(),
                          key=b"k%d" % (n % 5))
        producer.flush()
        batches = _stored(cluster)
        assert {b.compression for b in batches} == {codec}
        for batch in batches:
            assert batch.size_bytes == len(_encoded(batch))
        # well compressible: the estimate moved down from 1.0, 0.005 a batch (KAFKA-9700)
        assert producer.compression_ratios["t"] < 1.0
        uncompressed = sum(RecordBatch(b.base_offset, 0, b.keys, b.values,
                                       b.timestamps).size_bytes for b in batches)
        assert sum(b.size_bytes for b in batches) < uncompressed / 2, codec


def test_the_topic_compression_type_decides_how_batches_are_stored():
    cluster = Cluster(3, seed=1)
    cluster.create_topic("zstd-topic", 1, 3, config={"compression.type": "zstd"})
    cluster.create_topic("plain-topic", 1, 3, config={"compression.type": "uncompressed"})
    producer = cluster.producer(compression_type="gzip", linger_ms=20)
    for topic in ("zstd-topic", "plain-topic"):
        for n in range(50):
            producer.send(topic, value=b"x" * 100)
    producer.flush()
    for topic, codec in (("zstd-topic", "zstd"), ("plain-topic", "none")):
        batches = _stored(cluster, topic)
        assert {b.compression for b in batches} == {codec}
        assert all(b.size_bytes == len(_encoded(b)) for b in batches)
    with pytest.raises(errors.InvalidConfigurationError, match="compression.type"):
        cluster.create_topic("bad", 1, 1, config={"compression.type": "none"})
    with pytest.raises(errors.InvalidConfigurationError, match="must be one of: none, gzip"):
        cluster.producer(compression_type="brotli")


def test_the_ratio_estimate_as_CompressionRatioEstimatorTest_testUpdateEstimation():
    for current, observed in ((0.8, 0.84), (0.6, 0.7), (0.6, 0.4), (0.004, 0.001)):
        current, observed = _float32(current), _float32(observed)
        assert updated_compression_ratio(current, observed) >= observed
    # worse: up by at least 0.05; better: down by 0.005, no further than observed
    assert updated_compression_ratio(_float32(0.8), _float32(0.84)) == _float32(
        _float32(0.8) + COMPRESSION_RATIO_DETERIORATE_STEP)
    assert updated_compression_ratio(_float32(0.6), _float32(0.4)) == _float32(
        _float32(0.6) - _float32(0.005))
    assert updated_compression_ratio(_float32(0.5), _float32(0.5)) == _float32(0.5)


def test_a_produce_quota_counts_the_bytes_on_the_wire():
    """A compressed batch costs its compressed bytes against a produce quota: the same
    records, compressed well, are throttled less and so are all sent sooner."""
    elapsed = {}
    for codec in ("none", "zstd"):
        cluster = Cluster(3, seed=4)
        cluster.create_topic("t", 1, 3)
        cluster.alter_client_quotas({"client-id": "app"}, {"producer_byte_rate": 20_000})
        producer = cluster.producer("app", compression_type=codec, linger_ms=5)
        start = cluster.now
        for n in range(2_000):              # 400 KB: over 20 KB/s for the quota's 10 s
            producer.send("t", value=b"the same old payload, number %d" % (n % 3) * 6)
        producer.flush()
        elapsed[codec] = cluster.now - start
    assert elapsed["zstd"] * 3 < elapsed["none"], elapsed
