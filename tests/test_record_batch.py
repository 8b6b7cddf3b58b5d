"""The record batch codec (reference/record_batch.py, reference/compression.py) against
Kafka's own test vectors (each case names the Java test it was ported from) and against
kafka-python's reader and writer, on batches hypothesis generates; malformed bytes are
refused as Kafka's reader refuses them."""

import struct

import pytest
from hypothesis import given, settings, strategies as st

from kafkadojo.reference import errors
from kafkadojo.reference.compression import CODECS
from kafkadojo.reference.record_batch import (
    ATTRIBUTES_OFFSET, HEADER_BYTES, LOG_APPEND_TIME, batch_attributes, batch_size, crc32c,
    decode_batch, encode_batch, parse_attributes, read_varint, read_varlong, record_size,
    encode_record, varint_size, varlong_size, write_varint, write_varlong)

default_records = pytest.importorskip("kafka.record.default_records")

# ByteUtilsTest.testVarintSerde
VARINTS = [(0, "00"), (-1, "01"), (1, "02"), (63, "7e"), (-64, "7f"), (64, "8001"),
           (-65, "8101"), (8191, "fe7f"), (-8192, "ff7f"), (8192, "808001"),
           (-8193, "818001"), (1048575, "feff7f"), (-1048576, "ffff7f"),
           (1048576, "80808001"), (-1048577, "81808001"), (134217727, "feffff7f"),
           (-134217728, "ffffff7f"), (134217728, "8080808001"), (-134217729, "8180808001"),
           (2 ** 31 - 1, "feffffff0f"), (-2 ** 31, "ffffffff0f")]
# ByteUtilsTest.testVarlongSerde (beyond the int range)
VARLONGS = [(17179869183, "feffffff7f"), (-17179869184, "ffffffff7f"),
            (17179869184, "808080808001"), (-17179869185, "818080808001"),
            (2199023255551, "feffffffff7f"), (-2199023255552, "ffffffffff7f"),
            (2199023255552, "80808080808001"), (-2199023255553, "81808080808001"),
            (281474976710655, "feffffffffff7f"), (-281474976710656, "ffffffffffff7f"),
            (281474976710656, "8080808080808001"), (-281474976710657, "8180808080808001"),
            (36028797018963967, "feffffffffffff7f"), (-36028797018963968, "ffffffffffffff7f"),
            (36028797018963968, "808080808080808001"),
            (-36028797018963969, "818080808080808001"),
            (4611686018427387903, "feffffffffffffff7f"),
            (-4611686018427387904, "ffffffffffffffff7f"),
            (4611686018427387904, "80808080808080808001"),
            (-4611686018427387905, "81808080808080808001"),
            (2 ** 63 - 1, "feffffffffffffffff01"), (-2 ** 63, "ffffffffffffffffff01")]


@pytest.mark.parametrize("value, encoded", VARINTS)
def test_varints_as_ByteUtilsTest_testVarintSerde(value, encoded):
    assert write_varint(value).hex() == encoded
    assert read_varint(bytes.fromhex(encoded), 0) == (value, len(encoded) // 2)
    assert varint_size(value) == len(encoded) // 2
    assert write_varlong(value).hex() == encoded        # testVarlongSerde's first half


@pytest.mark.parametrize("value, encoded", VARLONGS)
def test_varlongs_as_ByteUtilsTest_testVarlongSerde(value, encoded):
    assert write_varlong(value).hex() == encoded
    assert read_varlong(bytes.fromhex(encoded), 0) == (value, len(encoded) // 2)
    assert varlong_size(value) == len(encoded) // 2


def test_an_overlong_varint_is_refused_as_ByteUtilsTest_testInvalidVarint():
    with pytest.raises(errors.CorruptRecordError, match="too long"):
        read_varint(bytes.fromhex("ffffffffff01"), 0)
    with pytest.raises(errors.CorruptRecordError, match="too long"):      # testInvalidVarlong
        read_varlong(bytes.fromhex("ffffffffffffffffffff01"), 0)
    with pytest.raises(errors.CorruptRecordError, match="past the end"):
        read_varint(bytes.fromhex("80"), 0)
    with pytest.raises(ValueError):
        write_varint(2 ** 31)


def test_crc32c_as_Crc32CTest_and_the_crc32c_package():
    crc32c_package = pytest.importorskip("crc32c")
    assert crc32c(b"Some String") == 608512271                   # Crc32CTest.testValue
    assert crc32c(b"123456789") == 0xE3069283                    # the standard check value
    for data in (b"", b"\x00" * 33, bytes(range(256)) * 3):
        assert crc32c(data) == crc32c_package.crc32c(data)


def test_the_golden_batch_of_MemoryRecordsTest_testChecksum():
    """Magic 2, uncompressed, (283843, key1, value1) and (1234, key2, value2): 97 bytes,
    CRC 3851219455. Its second record's timestamp delta is negative."""
    batch = encode_batch([(0, 283843, b"key1", b"value1", ()), (1, 1234, b"key2", b"value2", ())])
    assert len(batch) == 97
    assert struct.unpack_from(">I", batch, 17)[0] == 3851219455
    decoded = decode_batch(batch)
    assert decoded.crc == 3851219455
    assert [(r.offset, r.timestamp, r.key, r.value) for r in decoded.records] == [
        (0, 283843, b"key1", b"value1"), (1, 1234, b"key2", b"value2")]
    assert decoded.base_timestamp == 283843 and decoded.max_timestamp == 283843


def test_attributes_name_each_bit():
    for codec in CODECS:
        for bits in range(16):
            flags = dict(timestamp_type=LOG_APPEND_TIME if bits & 1 else "CreateTime",
                         transactional=bool(bits & 2), control=bool(bits & 4),
                         has_delete_horizon=bool(bits & 8))
            attributes = batch_attributes(codec, **flags)
            assert parse_attributes(attributes) == (codec, *flags.values())
    assert parse_attributes(0x30) == ("none", "CreateTime", True, True, False)  # a marker
    with pytest.raises(errors.CorruptRecordError, match="codec id 5"):
        parse_attributes(5)


headers = st.lists(st.tuples(st.text(max_size=8), st.one_of(st.none(), st.binary(max_size=8))),
                   max_size=3).map(tuple)
records = st.lists(st.tuples(st.one_of(st.none(), st.binary(max_size=40)),
                             st.one_of(st.none(), st.binary(max_size=200)),
                             st.integers(-2 ** 40, 2 ** 40), headers),
                   min_size=1, max_size=12)
KAFKA_PYTHON_CODEC = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}


def _as_batch(generated, base_offset):
    return [(base_offset + i, timestamp, key, value, h)
            for i, (key, value, timestamp, h) in enumerate(generated)]


@settings(max_examples=60, deadline=None)
@given(records, st.sampled_from(CODECS), st.integers(0, 2 ** 40),
       st.integers(-1, 2 ** 20), st.booleans())
def test_kafka_python_reads_what_we_write(generated, codec, base_offset, producer_id,
                                          transactional):
    if codec in ("snappy", "lz4", "zstd"):
        pytest.importorskip({"snappy": "snappy", "lz4": "lz4", "zstd": "zstandard"}[codec])
    batch = _as_batch(generated, base_offset)
    data = encode_batch(batch, base_offset=base_offset, codec=codec, producer_id=producer_id,
                        producer_epoch=3, base_sequence=7, transactional=transactional)
    theirs = default_records.DefaultRecordBatch(bytearray(data))
    assert theirs.validate_crc()
    assert theirs.compression_type == KAFKA_PYTHON_CODEC[codec]
    assert theirs.is_transactional == transactional and theirs.producer_id == producer_id
    assert [(r.offset, r.timestamp, r.key, r.value, tuple(tuple(h) for h in r.headers))
            for r in theirs] == batch
    if codec == "none":
        assert batch_size(batch, base_offset) == len(data)


@settings(max_examples=60, deadline=None)
@given(records, st.sampled_from(CODECS), st.integers(0, 2 ** 40))
def test_we_read_what_kafka_python_writes(generated, codec, base_offset):
    if codec in ("snappy", "lz4", "zstd"):
        pytest.importorskip({"snappy": "snappy", "lz4": "lz4", "zstd": "zstandard"}[codec])
    batch = _as_batch(generated, base_offset)
    builder = default_records.DefaultRecordBatchBuilder(
        magic=2, compression_type=KAFKA_PYTHON_CODEC[codec], is_transactional=0,
        producer_id=-1, producer_epoch=-1, base_sequence=-1, batch_size=10 ** 7)
    for offset, timestamp, key, value, h in batch:
        builder.append(offset - base_offset, timestamp, key, value, list(h))
    data = bytearray(builder.build())
    data[0:8] = struct.pack(">q", base_offset)      # the broker's offset; the CRC does not cover it
    decoded = decode_batch(data)
    # kafka-python keeps a batch uncompressed when compressing would make it larger
    written = {v: k for k, v in KAFKA_PYTHON_CODEC.items()}[
        default_records.DefaultRecordBatch(bytearray(data)).compression_type]
    assert decoded.attributes.compression == written and written in (codec, "none")
    assert [(r.offset, r.timestamp, r.key, r.value, r.headers) for r in decoded.records] == batch


def test_one_record_is_its_size():
    for args in ((0, 0, None, None), (5, -3, b"k", b"v" * 300, (("h", None), ("é", b"x")))):
        assert record_size(*args) == len(encode_record(*args))


def test_malformed_batches_are_corrupt():
    good = encode_batch([(0, 10, b"k", b"v", ()), (1, 11, None, b"w", ())], codec="gzip")
    cases = {
        "too short": good[:40],
        "cut off": good[:-1],
        "a wrong CRC": good[:-1] + bytes([good[-1] ^ 1]),
        "magic 1": good[:16] + b"\x01" + good[17:],
        "length": good[:8] + struct.pack(">i", 1000) + good[12:],
    }
    for what, data in cases.items():
        with pytest.raises(errors.CorruptRecordError):
            decode_batch(data)
    # A record count that the bytes do not hold, with the CRC made right again: the
    # records themselves are refused.
    plain = bytearray(encode_batch([(0, 10, b"k", b"v", ())]))
    struct.pack_into(">i", plain, 57, 2)
    struct.pack_into(">I", plain, 17, crc32c(bytes(plain[ATTRIBUTES_OFFSET:])))
    with pytest.raises(errors.CorruptRecordError):
        decode_batch(plain)
    assert len(encode_batch([])) == HEADER_BYTES and decode_batch(encode_batch([])).records == ()


def test_lz4_frames_are_as_kafkas_reader_wants_them():
    lz4 = pytest.importorskip("lz4.frame")
    data = encode_batch([(0, 1, None, b"x" * 1000, ())], codec="lz4")
    frame = data[HEADER_BYTES:]
    assert frame[:4] == bytes.fromhex("04224d18") and frame[4] == 0x60 and frame[5] == 0x40
    assert lz4.decompress(frame)            # a frame the library reads, too
    linked = bytearray(data)
    linked[HEADER_BYTES + 4] &= ~0x20       # FLG: blocks depend on the ones before
    struct.pack_into(">I", linked, 17, crc32c(bytes(linked[ATTRIBUTES_OFFSET:])))
    with pytest.raises(errors.CorruptRecordError, match="dependent block"):
        decode_batch(linked)


def test_snappy_uses_xerial_framing_and_raw_snappy_is_read_too():
    snappy = pytest.importorskip("snappy")
    data = encode_batch([(0, 1, None, b"y" * 70_000, ())], codec="snappy")
    assert data[HEADER_BYTES:HEADER_BYTES + 16] == b"\x82SNAPPY\x00" + bytes.fromhex(
        "0000000100000001")
    raw = bytearray(data[:HEADER_BYTES]) + snappy.compress(encode_record(0, 0, None, b"z"))
    struct.pack_into(">i", raw, 8, len(raw) - 12)
    struct.pack_into(">I", raw, 17, crc32c(bytes(raw[ATTRIBUTES_OFFSET:])))
    assert decode_batch(raw).records[0].value == b"z"
