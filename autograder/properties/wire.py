"""Hidden properties: the wire (zigzag varints, one record's bytes, CRC-32C, which bytes a
batch's CRC covers, the attributes), checked against Kafka's own test vectors, the engine's
codec, kafka-python's reader and writer, and inside a cluster that ships bytes."""

import struct
from types import SimpleNamespace

from hypothesis import strategies as st

from kafkadojo.reference import record_batch
from kafkadojo.reference.errors import CorruptRecordError
from kafkadojo.reference.record_batch import OWN_RULES, decode_batch, encode_batch
from kafkadojo.reference.workload import run_wire

from . import Failure, LearnerError, Raises, differential, examples, known_mistakes, prop
from .engine import workload_runs

INT_MIN, INT_MAX = -(1 << 31), (1 << 31) - 1
LONG_MIN, LONG_MAX = -(1 << 63), (1 << 63) - 1
CORRUPT = Raises("CorruptRecordError")

# ByteUtilsTest.testVarintSerde
VARINTS = [(0, "00"), (-1, "01"), (1, "02"), (63, "7e"), (-64, "7f"), (64, "8001"),
           (-65, "8101"), (8191, "fe7f"), (-8192, "ff7f"), (8192, "808001"),
           (-8193, "818001"), (1048575, "feff7f"), (-1048576, "ffff7f"),
           (1048576, "80808001"), (-1048577, "81808001"), (134217727, "feffff7f"),
           (-134217728, "ffffff7f"), (134217728, "8080808001"), (-134217729, "8180808001"),
           (INT_MAX, "feffffff0f"), (INT_MIN, "ffffffff0f")]

# The records of MemoryRecordsTest.testChecksum's golden batch (97 bytes, CRC 3851219455):
# timestamps 283843 and 1234, so the second record's timestamp delta is negative.
GOLDEN_RECORDS = [(0, 283843, b"key1", b"value1", ()), (1, 1234, b"key2", b"value2", ())]
GOLDEN_CRC = 3851219455


def _golden_batch():
    return encode_batch(GOLDEN_RECORDS)


# -- write_varint ----------------------------------------------------------------------------------
VARINT_MISTAKES = known_mistakes(
    ("no-zigzag", lambda value: record_batch.write_unsigned_varint(value & 0xFFFFFFFF)),
    ("zigzag-on-64-bits", lambda value: record_batch.write_unsigned_varint(
        record_batch.zigzag(value, 64))),
    ("high-bits-first", lambda value: bytes(reversed(record_batch.write_varint(value)))),
)


@prop("wire.write_varint", "writes ByteUtilsTest's varints byte for byte", 1)
def varint_vectors(learner):
    return examples(learner, "write_varint",
                    [((value,), bytes.fromhex(encoded)) for value, encoded in VARINTS],
                    anomaly="wrong-varint", diagnose=VARINT_MISTAKES)


@prop("wire.write_varint", "agrees with ByteUtils.writeVarint on any int, and refuses what "
                           "is not a Java int", 1)
def varint_differential(learner):
    ints = st.one_of(st.integers(-300, 300), st.integers(INT_MIN, INT_MAX),
                     st.sampled_from([INT_MIN, INT_MIN + 1, INT_MAX, INT_MAX + 1, INT_MIN - 1,
                                      1 << 40, -(1 << 40)]))
    return differential(learner, "write_varint", record_batch.write_varint, st.tuples(ints),
                        examples=200, anomaly="wrong-varint", diagnose=VARINT_MISTAKES,
                        raises=(ValueError,))


# -- read_varint -----------------------------------------------------------------------------------
@prop("wire.read_varint", "reads ByteUtilsTest's varints, from any position", 1)
def read_vectors(learner):
    cases = [((bytes.fromhex(encoded), 0), (value, len(encoded) // 2))
             for value, encoded in VARINTS]
    cases += [((b"\x07\x07" + bytes.fromhex(encoded) + b"\x09", 2),
               (value, 2 + len(encoded) // 2)) for value, encoded in VARINTS[::4]]
    return examples(learner, "read_varint", cases, anomaly="wrong-varint")


@st.composite
def varint_in_a_buffer(draw):
    before = draw(st.binary(max_size=4))
    value = draw(st.one_of(st.integers(-300, 300), st.integers(INT_MIN, INT_MAX)))
    after = draw(st.binary(max_size=3))
    return before + record_batch.write_varint(value) + after, len(before)


@prop("wire.read_varint", "agrees with ByteUtils.readVarint on any varint in any buffer", 1)
def read_differential(learner):
    return differential(learner, "read_varint", record_batch.read_varint, varint_in_a_buffer(),
                        examples=150, anomaly="wrong-varint", raises=(CorruptRecordError,))


@prop("wire.read_varint", "refuses a varint as Java does: too long, or cut off (and keeps "
                          "only an int's 32 bits)", 1)
def read_malformed(learner):
    cases = [((bytes.fromhex("ffffffffff01"), 0), CORRUPT),      # testInvalidVarint
             ((bytes.fromhex("8080808080"), 0), CORRUPT),
             ((b"", 0), CORRUPT), ((b"\x80", 0), CORRUPT), ((b"\x05\xff", 1), CORRUPT),
             ((b"\x02", 1), CORRUPT)]
    cases += [((data, 0), record_batch.read_varint(data, 0))    # bits beyond 32 are dropped
              for data in (bytes.fromhex("ffffffff7f"), bytes.fromhex("808080807f"),
                           bytes.fromhex("feffffff1f"))]
    failure = examples(learner, "read_varint", cases, anomaly="wrong-varint-error")
    if failure is not None:
        return failure
    return differential(learner, "read_varint", record_batch.read_varint,
                        st.tuples(st.binary(max_size=7), st.just(0)), examples=150,
                        anomaly="wrong-varint-error", raises=(CorruptRecordError,))


def _kafka_python_batch(records):
    """``records`` as kafka-python's DefaultRecordBatchBuilder writes them, or the engine's
    encoder where kafka-python is not installed."""
    try:
        from kafka.record.default_records import DefaultRecordBatchBuilder
    except ImportError:
        return encode_batch(records)
    builder = DefaultRecordBatchBuilder(magic=2, compression_type=0, is_transactional=0,
                                        producer_id=-1, producer_epoch=-1, base_sequence=-1,
                                        batch_size=10 ** 7)
    for offset, timestamp, key, value, headers in records:
        builder.append(offset, timestamp, key, value, list(headers))
    return bytes(builder.build())


@st.composite
def some_records(draw, max_records=6):
    count = draw(st.integers(1, max_records))
    records = []
    for offset in range(count):
        headers = tuple(draw(st.lists(st.tuples(st.text(max_size=6),
                                                st.one_of(st.none(), st.binary(max_size=6))),
                                      max_size=2)))
        records.append((offset, draw(st.integers(-(1 << 40), 1 << 40)),
                        draw(st.one_of(st.none(), st.binary(max_size=150))),
                        draw(st.one_of(st.none(), st.binary(max_size=150))), headers))
    return records


@prop("wire.read_varint", "reads back every record of batches kafka-python writes", 1)
def read_batches(learner):
    import random
    rng = random.Random(11)
    rules = SimpleNamespace(**vars(OWN_RULES))
    rules.read_varint = learner.function("read_varint")
    for case in range(8):
        records = [(offset, rng.randrange(-(1 << 33), 1 << 33),
                    rng.choice([None, b"", b"k" * rng.randrange(200)]),
                    rng.choice([None, b"v" * rng.randrange(300)]),
                    tuple(("h%d" % i, rng.choice([None, b"x"])) for i in range(rng.randrange(3))))
                   for offset in range(rng.randrange(1, 6))]
        data = _kafka_python_batch(records)
        got = _read_with(data, rules)
        if got != records:
            return Failure("wrong-record-read", f"batch {case}: {len(records)} records as "
                                                "kafka-python writes them, read with your "
                                                "read_varint", expected=repr(records)[:600],
                           got=repr(got)[:600], replay=_read_replay(data, "read_varint"))
    return None


def _read_with(data, rules):
    """The records ``data`` holds, read with ``rules``; or what went wrong."""
    try:
        return [tuple(record) for record in decode_batch(data, rules=rules).records]
    except LearnerError:
        raise
    except Exception as error:      # noqa: BLE001 - refused as corrupt, or unusable answers
        return f"{type(error).__name__}: {error}"


def _read_replay(data, seam):
    return (">>> from types import SimpleNamespace\n"
            ">>> from kafkadojo.reference.record_batch import OWN_RULES, decode_batch\n"
            f">>> rules = SimpleNamespace(**{{**vars(OWN_RULES), '{seam}': {seam}}})\n"
            f">>> data = bytes.fromhex('{data.hex()}')\n"
            ">>> [tuple(record) for record in decode_batch(data, rules=rules).records]")


# -- encode_record -----------------------------------------------------------------------------------
def _null_as_empty(offset_delta, timestamp_delta, key, value, headers=()):
    return record_batch.encode_record(offset_delta, timestamp_delta,
                                      b"" if key is None else key,
                                      b"" if value is None else value, headers)


def _no_length_prefix(*args):
    record = record_batch.encode_record(*args)
    return record[len(record) - record_batch.read_varint(record, 0)[0]:]


RECORD_MISTAKES = known_mistakes(("null-as-empty", _null_as_empty),
                                 ("no-length-prefix", _no_length_prefix))


def _record_args(records, base_offset=0):
    base_timestamp = records[0][1]
    return [((offset - base_offset, timestamp - base_timestamp, key, value, headers),)
            for offset, timestamp, key, value, headers in records]


@prop("wire.encode_record", "writes the records of Kafka's golden batch "
                            "(MemoryRecordsTest.testChecksum) byte for byte", 1)
def record_golden(learner):
    cases = [(args, record_batch.encode_record(*args)) for (args,) in _record_args(
        GOLDEN_RECORDS)]
    cases += [(args, record_batch.encode_record(*args)) for args in (
        (0, 0, None, None, ()), (3, -7, b"", b"", ()),
        (1, 5, b"k", None, (("h", None), ("é", b"x"))), (0, 1 << 40, None, b"v" * 200, ()))]
    return examples(learner, "encode_record", cases, anomaly="wrong-record-bytes",
                    diagnose=RECORD_MISTAKES)


@st.composite
def record_arguments(draw):
    delta = st.one_of(st.integers(0, 300), st.integers(0, INT_MAX))
    timestamp = st.one_of(st.integers(-300, 300), st.integers(LONG_MIN // 2, LONG_MAX // 2))
    data = st.one_of(st.none(), st.binary(max_size=140))
    headers = st.lists(st.tuples(st.text(max_size=8), st.one_of(st.none(), st.binary(max_size=8))),
                       max_size=3).map(tuple)
    return (draw(delta), draw(timestamp), draw(data), draw(data), draw(headers))


@prop("wire.encode_record", "agrees with DefaultRecord.writeTo on any record", 1)
def record_differential(learner):
    return differential(learner, "encode_record", record_batch.encode_record,
                        record_arguments(), examples=150, anomaly="wrong-record-bytes",
                        diagnose=RECORD_MISTAKES)


@prop("wire.encode_record", "writes batches that kafka-python's reader and the engine's "
                            "read back as they were", 1)
def record_read_back(learner):
    try:
        from kafka.record.default_records import DefaultRecordBatch
    except ImportError:
        DefaultRecordBatch = None
    import random
    rng = random.Random(5)
    rules = SimpleNamespace(**vars(OWN_RULES))
    rules.encode_record = learner.function("encode_record")
    for case in range(8):
        base = rng.choice([0, 1_000, 1 << 33])
        records = [(base + i, rng.randrange(1 << 41), rng.choice([None, b"k%d" % i, b""]),
                    rng.choice([None, bytes(rng.randrange(256) for _ in range(rng.randrange(200)))]),
                    tuple((rng.choice(["h", "ключ", ""]), rng.choice([None, b"x"]))
                          for _ in range(rng.randrange(3))))
                   for i in range(rng.randrange(1, 6))]
        try:
            data = encode_batch(records, base_offset=base, rules=rules)
        except LearnerError:
            raise
        except Exception as error:      # noqa: BLE001 - records the encoder cannot take
            data, written = None, f"{type(error).__name__}: {error}"
        readers = [("the engine's reader", lambda: _read_with(data, OWN_RULES))]
        if DefaultRecordBatch is not None:
            readers.append(("kafka-python's reader", lambda: [
                (r.offset, r.timestamp, r.key, r.value, tuple(tuple(h) for h in r.headers))
                for r in DefaultRecordBatch(bytearray(data))]))
        for reader, read in readers:
            try:
                got = read() if data is not None else written
            except Exception as error:      # noqa: BLE001 - a reader refusing the bytes
                got = f"{type(error).__name__}: {error}"
            if got != records:
                replay = (">>> from types import SimpleNamespace\n"
                          ">>> from kafkadojo.reference.record_batch import OWN_RULES, "
                          "decode_batch, encode_batch\n"
                          ">>> rules = SimpleNamespace(**{**vars(OWN_RULES), "
                          "'encode_record': encode_record})\n"
                          f">>> records = {records!r}\n"
                          f">>> data = encode_batch(records, base_offset={base}, rules=rules)\n"
                          ">>> [tuple(record) for record in decode_batch(data).records] "
                          "== records")
                return Failure("unreadable-record", f"batch {case}: {len(records)} records "
                                                    f"written with your encode_record, read "
                                                    f"by {reader}",
                               expected=repr(records)[:600], got=repr(got)[:600],
                               replay=replay)
    return None


# -- in a cluster that ships bytes -----------------------------------------------------------------
WIRE_SEEDS = 4


def in_a_cluster(learner, seam):
    return workload_runs(learner, seam, run_wire, "wire", WIRE_SEEDS,
                         "every record acknowledged, replicated to all three brokers and read "
                         "back as sent")


@prop("wire.encode_record", "in a three-broker cluster that ships bytes, consumers read "
                            "exactly what producers sent", 1)
def record_in_a_cluster(learner):
    return in_a_cluster(learner, "encode_record")


# -- crc32c ----------------------------------------------------------------------------------------------
CRC_CASES = [((b"123456789",), 0xE3069283), ((b"Some String",), 608512271),   # Crc32CTest
             ((b"",), 0),
             # RFC 3720 (iSCSI), appendix B.4
             ((bytes(32),), 0x8A9136AA), ((b"\xff" * 32,), 0x62A8AB43),
             ((bytes(range(32)),), 0x46DD794E), ((bytes(range(31, -1, -1)),), 0x113FDB5C)]
CRC_MISTAKES = known_mistakes(
    ("crc-not-inverted", lambda data: record_batch.crc32c(data) ^ 0xFFFFFFFF),
)


@prop("wire.crc32c", "matches Crc32CTest's and RFC 3720's check values", 1)
def crc_vectors(learner):
    return examples(learner, "crc32c", CRC_CASES, anomaly="wrong-crc", diagnose=CRC_MISTAKES)


@prop("wire.crc32c", "agrees with Crc32C on any bytes", 1)
def crc_differential(learner):
    return differential(learner, "crc32c", record_batch.crc32c,
                        st.tuples(st.binary(max_size=300)), examples=100, anomaly="wrong-crc",
                        diagnose=CRC_MISTAKES)


# -- batch_checksum ----------------------------------------------------------------------------------
def _covering(start):
    return lambda batch: record_batch.crc32c(batch[start:])


CHECKSUM_MISTAKES = known_mistakes(
    ("crc-covers-the-whole-batch", _covering(0)),
    ("crc-covers-the-leader-epoch", _covering(record_batch.PARTITION_LEADER_EPOCH_OFFSET)),
    ("crc-covers-the-magic", _covering(record_batch.MAGIC_OFFSET)),
    ("crc-covers-itself", _covering(record_batch.CRC_OFFSET)),
    ("crc-skips-the-attributes", _covering(record_batch.ATTRIBUTES_OFFSET + 2)),
    ("crc-covers-only-the-header", lambda batch: record_batch.crc32c(
        batch[record_batch.ATTRIBUTES_OFFSET:record_batch.HEADER_BYTES])),
)


def _stamped(data, base_offset, leader_epoch):
    data = bytearray(data)
    struct.pack_into(">q", data, 0, base_offset)
    struct.pack_into(">i", data, record_batch.PARTITION_LEADER_EPOCH_OFFSET, leader_epoch)
    return bytes(data)


@prop("wire.batch_checksum", "gives Kafka's golden batch its CRC (MemoryRecordsTest."
                             "testChecksum), before and after a leader stamps it", 1)
def checksum_golden(learner):
    golden = _golden_batch()
    return examples(learner, "batch_checksum",
                    [((golden,), GOLDEN_CRC), ((_stamped(golden, 283, 7),), GOLDEN_CRC),
                     ((_stamped(golden, 1 << 40, 0),), GOLDEN_CRC)],
                    anomaly="wrong-crc", diagnose=CHECKSUM_MISTAKES)


@st.composite
def any_batch(draw):
    records = draw(some_records(max_records=3))
    base_offset = draw(st.integers(0, 1 << 40))
    records = [(base_offset + offset, *rest) for offset, *rest in records]
    data = bytearray(encode_batch(
        records, base_offset=base_offset, partition_leader_epoch=draw(st.integers(-1, 1000)),
        codec=draw(st.sampled_from(["none", "gzip"])), producer_id=draw(st.integers(-1, 1000)),
        transactional=draw(st.booleans())))
    struct.pack_into(">I", data, record_batch.CRC_OFFSET, draw(st.integers(0, 0xFFFFFFFF)))
    return (bytes(data),)


@prop("wire.batch_checksum", "agrees with DefaultRecordBatch.computeChecksum on any batch", 1)
def checksum_differential(learner):
    return differential(learner, "batch_checksum", record_batch.batch_checksum, any_batch(),
                        examples=60, anomaly="wrong-crc", diagnose=CHECKSUM_MISTAKES)


@prop("wire.batch_checksum", "in a three-broker cluster that ships bytes, followers take "
                             "the leader's batches", 1)
def checksum_in_a_cluster(learner):
    return in_a_cluster(learner, "batch_checksum")


# -- parse_attributes ----------------------------------------------------------------------------------
ATTRIBUTE_MISTAKES = known_mistakes(
    ("flags-not-bools", lambda attributes: (
        record_batch.CODECS_BY_ID.get(attributes & 7), record_batch.parse_attributes(
            attributes).timestamp_type, attributes & 0x10, attributes & 0x20, attributes & 0x40)),
)


@prop("wire.parse_attributes", "names every codec and flag as DefaultRecordBatch does", 1)
def attributes_every_bit(learner):
    cases = [((attributes,), record_batch.parse_attributes(attributes))
             for attributes in range(128) if attributes & 7 < 5]
    cases += [((0x30,), ("none", "CreateTime", True, True, False)),     # a transaction marker
              ((0x0F84,), ("zstd", "CreateTime", False, False, False))]     # bits no one uses
    return examples(learner, "parse_attributes", cases, anomaly="wrong-attributes",
                    diagnose=ATTRIBUTE_MISTAKES)


@prop("wire.parse_attributes", "refuses a codec id that names no codec (5, 6, 7)", 1)
def attributes_unknown_codec(learner):
    return examples(learner, "parse_attributes",
                    [((codec,), CORRUPT) for codec in (5, 6, 7, 0x15, 0x7F)],
                    anomaly="unknown-codec-accepted")
