"""The record batch codec: Kafka's record batch, magic v2, byte for byte.

What a producer sends, what a broker writes to its segment files and what a consumer
fetches are the same bytes (Kafka's ``DefaultRecordBatch`` and ``DefaultRecord``). A batch
is a 61-byte header, then its records, compressed together if the batch is:

    baseOffset            int64   offset of the first record
    batchLength           int32   bytes after this field
    partitionLeaderEpoch  int32
    magic                 int8    2
    crc                   uint32  CRC-32C of everything after it: attributes to the end
    attributes            int16   codec (bits 0-2), LogAppendTime (3), transactional (4),
                                  control (5), has a delete horizon (6)
    lastOffsetDelta       int32   last offset - baseOffset
    baseTimestamp         int64   the first record's timestamp (or the delete horizon)
    maxTimestamp          int64
    producerId            int64   -1 unless idempotent
    producerEpoch         int16
    baseSequence          int32
    recordsCount          int32
    records...

A record is small because most of it is a delta from the header, in zigzag varints
(``ByteUtils``): small numbers, negative or not, take one byte.

    length varint | attributes int8 | timestampDelta varlong | offsetDelta varint |
    keyLength varint (-1: null) | key | valueLength varint (-1: null) | value |
    headerCount varint | (keyLength varint | key utf-8 | valueLength varint | value)...

The CRC covers the attributes onwards, not the base offset, length or leader epoch: a
broker assigns the offset and stamps its leader epoch without computing the CRC again.
"""

import struct
from types import SimpleNamespace
from typing import NamedTuple

from . import compression
from .errors import CorruptRecordError

MAGIC = 2
HEADER_BYTES = 61
# where the header's fields start
BATCH_LENGTH_OFFSET = 8
PARTITION_LEADER_EPOCH_OFFSET = 12
MAGIC_OFFSET = 16
CRC_OFFSET = 17
ATTRIBUTES_OFFSET = 21          # the CRC covers the bytes from here to the end
NO_PRODUCER_ID = -1
NO_PRODUCER_EPOCH = -1
NO_SEQUENCE = -1
NO_PARTITION_LEADER_EPOCH = -1
NO_TIMESTAMP = -1

CREATE_TIME = "CreateTime"
LOG_APPEND_TIME = "LogAppendTime"

# attributes' bits (DefaultRecordBatch)
COMPRESSION_CODEC_MASK = 0x07
TIMESTAMP_TYPE_MASK = 0x08
TRANSACTIONAL_FLAG_MASK = 0x10
CONTROL_FLAG_MASK = 0x20
DELETE_HORIZON_FLAG_MASK = 0x40

# a control record's key: version, then the marker's type (ControlRecordType)
ABORT, COMMIT = 0, 1

# what each codec id in the attributes means (CompressionType)
CODECS_BY_ID = compression.BY_ID

_HEADER = struct.Struct(">qiibIhiqqqhii")


# -- zigzag varints (ByteUtils) ---------------------------------------------------------------

def zigzag(value, bits=32):
    """Java's zigzag encoding of a signed ``bits``-bit value, as an unsigned number:
    0, -1, 1, -2, 2, ... become 0, 1, 2, 3, 4, ... so that small numbers, negative or not,
    stay small. In Java, ``(value << 1) ^ (value >> 31)`` on an int (63 for a long)."""
    return ((value << 1) ^ (value >> (bits - 1))) & ((1 << bits) - 1)


def unzigzag(value):
    """The inverse of ``zigzag``: the signed value of an unsigned zigzagged number
    (``(value >>> 1) ^ -(value & 1)`` in Java)."""
    return (value >> 1) ^ -(value & 1)


def write_varint(value):
    """The bytes of ``value``, a Java int, as a zigzag varint (``ByteUtils.writeVarint``):
    zigzag it, then write 7 bits a byte, lowest bits first, setting each byte's top bit
    when another byte follows. In hex: 0 is ``00``, -1 is ``01``, 1 is ``02``, 300 is
    ``d8 04``; a Java int takes at most 5 bytes. A value outside Java's int range raises
    ValueError."""
    if not -(1 << 31) <= value < (1 << 31):
        raise ValueError(f"varint {value} is outside Java's int range")
    return write_unsigned_varint(zigzag(value, 32))


def write_varlong(value):
    """The bytes of ``value``, a Java long, as a zigzag varint (``ByteUtils.writeVarlong``):
    as ``write_varint``, with 64-bit zigzag; at most 10 bytes. A value outside Java's long
    range raises ValueError."""
    if not -(1 << 63) <= value < (1 << 63):
        raise ValueError(f"varlong {value} is outside Java's long range")
    return write_unsigned_varint(zigzag(value, 64))


def write_unsigned_varint(value):
    """The bytes of ``value``, a number >= 0, 7 bits a byte, lowest bits first, with each
    byte's top bit set when another byte follows (``ByteUtils.writeUnsignedVarint``)."""
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def read_varint(data, position):
    """Read the zigzag varint that starts at ``data[position]`` (``ByteUtils.readVarint``):
    return ``(value, the position just after it)``. Read 7 bits a byte, lowest first, until
    a byte without its top bit, then undo the zigzag. As Java's reader: a fifth byte with
    its top bit set (a sixth byte would follow) raises ``CorruptRecordError``; bits beyond
    32 in the fifth byte are dropped, as Java's int arithmetic drops them. Running past the
    end of ``data`` raises ``CorruptRecordError`` too."""
    return _read_unsigned(data, position, 5, 32)


def read_varlong(data, position):
    """``ByteUtils.readVarlong``: as ``read_varint``, at most 10 bytes, 64 bits."""
    return _read_unsigned(data, position, 10, 64)


def _read_unsigned(data, position, max_bytes, bits):
    value, shift = 0, 0
    for count in range(max_bytes):
        if position >= len(data):
            raise CorruptRecordError("a varint runs past the end of the buffer")
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return unzigzag(value & ((1 << bits) - 1)), position
        shift += 7
    raise CorruptRecordError(
        f"{'varint' if bits == 32 else 'varlong'} is too long: the most significant bit in "
        f"byte {max_bytes} is set")


def varint_size(value):
    """Bytes ``write_varint(value)`` (or ``write_varlong``) takes, 7 bits a byte
    (``ByteUtils.sizeOfVarint``): the zigzagged value's bits, rounded up to 7s."""
    if 0 <= value < 64:         # one byte: most deltas and lengths (the engine asks often)
        return 1
    return ((value << 1 if value >= 0 else (-value << 1) - 1).bit_length() + 6) // 7


varlong_size = varint_size      # the same count; a long only has more bits to count


# -- CRC-32C (Crc32C) -------------------------------------------------------------------------

def _crc32c_table():
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1   # Castagnoli, reflected
        table.append(crc)
    return tuple(table)


CRC32C_TABLE = _crc32c_table()


def crc32c(data):
    """The CRC-32C (Castagnoli) of ``data``, as Kafka's ``Crc32C``: start from all ones
    (0xFFFFFFFF); for each byte, look up ``CRC32C_TABLE[(crc ^ byte) & 0xFF]`` and xor it
    with ``crc >> 8``; end by flipping every bit. ``crc32c(b"123456789")`` is 0xE3069283."""
    crc = 0xFFFFFFFF
    table = CRC32C_TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def batch_checksum(batch):
    """The CRC a record batch's bytes must carry in their ``crc`` field: the CRC-32C of the
    bytes it covers, from the attributes (``ATTRIBUTES_OFFSET``) to the end of the batch.
    It leaves out the base offset, the batch length, the partition leader epoch, the magic
    and the CRC itself: the leader stamps the offset and its epoch into a producer's batch
    without computing the CRC again."""
    return crc32c(batch[ATTRIBUTES_OFFSET:])


# -- attributes --------------------------------------------------------------------------------

class BatchAttributes(NamedTuple):
    compression: str            # "none", "gzip", "snappy", "lz4" or "zstd"
    timestamp_type: str         # CREATE_TIME or LOG_APPEND_TIME
    transactional: bool
    control: bool
    has_delete_horizon: bool


def parse_attributes(attributes):
    """What a batch's 16-bit ``attributes`` say, as ``BatchAttributes``
    (``DefaultRecordBatch.compressionType()``, ``timestampType()``, ``isTransactional()``,
    ``isControlBatch()``, ``hasDeleteHorizonMs()``): bits 0-2 are the codec's id (its name
    in ``CODECS_BY_ID``), bit 3 LogAppendTime (else CreateTime), bit 4 transactional,
    bit 5 control, bit 6 a delete horizon; the other bits mean nothing yet. A codec id
    with no codec (5 to 7) raises ``CorruptRecordError``."""
    codec_id = attributes & COMPRESSION_CODEC_MASK
    if codec_id not in CODECS_BY_ID:
        raise CorruptRecordError(f"unknown compression codec id {codec_id}")
    return BatchAttributes(
        CODECS_BY_ID[codec_id],
        LOG_APPEND_TIME if attributes & TIMESTAMP_TYPE_MASK else CREATE_TIME,
        bool(attributes & TRANSACTIONAL_FLAG_MASK), bool(attributes & CONTROL_FLAG_MASK),
        bool(attributes & DELETE_HORIZON_FLAG_MASK))


def batch_attributes(codec="none", timestamp_type=CREATE_TIME, transactional=False,
                     control=False, has_delete_horizon=False):
    """The inverse of ``parse_attributes``."""
    return (compression.ID[codec]
            | (TIMESTAMP_TYPE_MASK if timestamp_type == LOG_APPEND_TIME else 0)
            | (TRANSACTIONAL_FLAG_MASK if transactional else 0)
            | (CONTROL_FLAG_MASK if control else 0)
            | (DELETE_HORIZON_FLAG_MASK if has_delete_horizon else 0))


# -- one record (DefaultRecord) ----------------------------------------------------------------

class DecodedRecord(NamedTuple):
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: tuple              # ((key: str, value: bytes | None), ...)


def encode_record(offset_delta, timestamp_delta, key, value, headers=()):
    """One record's bytes in a batch (``DefaultRecord.writeTo``): its length (a varint),
    then the body the length counts: the attributes (one byte, 0), the timestamp delta (a
    varlong), the offset delta (a varint), the key and the value (each its length as a
    varint, then its bytes; a None key or value is length -1 and no bytes), the number of
    headers (a varint), then each header's key (its UTF-8 bytes, with their length) and
    value (as a record's value). ``headers`` are ``(key: str, value: bytes | None)``;
    a None header key raises ValueError."""
    body = bytearray(b"\x00")                               # attributes: unused, 0
    body += write_varlong(timestamp_delta)
    body += write_varint(offset_delta)
    _write_bytes(body, key)
    _write_bytes(body, value)
    body += write_varint(len(headers))
    for header_key, header_value in headers:
        if header_key is None:
            raise ValueError("a header's key cannot be null")   # Java: IllegalArgumentException
        _write_bytes(body, header_key.encode("utf-8"))
        _write_bytes(body, header_value)
    return write_varint(len(body)) + bytes(body)


def _write_bytes(out, data):
    if data is None:
        out += write_varint(-1)
    else:
        out += write_varint(len(data))
        out += data


def record_size(offset_delta, timestamp_delta, key, value, headers=()):
    """Bytes ``encode_record`` takes, without encoding (``DefaultRecord.sizeInBytes``)."""
    body = 2 + varlong_size(timestamp_delta) + varint_size(offset_delta)   # + attributes,
    body += _bytes_size(key) + _bytes_size(value)                          # + header count
    if headers:
        body += varint_size(len(headers)) - 1
        for header_key, header_value in headers:
            body += _bytes_size(header_key.encode("utf-8")) + _bytes_size(header_value)
    return varint_size(body) + body


def _bytes_size(data):
    return 1 if data is None else varint_size(len(data)) + len(data)


# DefaultRecord.MAX_RECORD_OVERHEAD: the length (5), attributes (1), timestamp delta (10)
# and offset delta (5) at their largest
MAX_RECORD_OVERHEAD = 21


def record_size_upper_bound(key, value, headers=()):
    """What a record may take whatever its deltas (``DefaultRecord.recordSizeUpperBound``):
    the producer sizes a new batch's buffer with it."""
    size = MAX_RECORD_OVERHEAD + _bytes_size(key) + _bytes_size(value) + varint_size(len(headers))
    for header_key, header_value in headers:
        size += _bytes_size(header_key.encode("utf-8")) + _bytes_size(header_value)
    return size


def encode_records(keys, values, timestamps, headers=None, offset_deltas=None,
                   base_timestamp=None):
    """The records of a batch held as columns, encoded one after another: what a codec
    compresses (the same arguments as ``columns_size``)."""
    if not values:
        return b""
    if base_timestamp is None:
        base_timestamp = timestamps[0]
    return b"".join(
        encode_record(index if offset_deltas is None else offset_deltas[index],
                      timestamps[index] - base_timestamp,
                      keys[index] if keys is not None else None, value,
                      headers[index] if headers is not None else ())
        for index, value in enumerate(values))


def columns_size(keys, values, timestamps, headers=None, offset_deltas=None,
                 base_timestamp=None):
    """Bytes of an uncompressed batch held as columns (``record.RecordBatch``): its header
    and every record, counted exactly, encoded never. ``keys`` and ``headers`` None mean
    none for every record; ``offset_deltas`` None means 0, 1, 2, ...; the base timestamp is
    the first record's unless given (a delete horizon takes its place)."""
    if not values:
        return HEADER_BYTES
    if base_timestamp is None:
        base_timestamp = timestamps[0]
    size = HEADER_BYTES
    for index, value in enumerate(values):
        key = keys[index] if keys is not None else None
        record_headers = headers[index] if headers is not None else ()
        size += record_size(index if offset_deltas is None else offset_deltas[index],
                            timestamps[index] - base_timestamp, key, value, record_headers)
    return size


def decode_record(data, position, base_offset, base_timestamp, read_varint=read_varint):
    """``DefaultRecord.readFrom``: ``(DecodedRecord, position after it)``. Lengths that do
    not add up are a corrupt record (``InvalidRecordException`` in Kafka). ``read_varint``
    reads the varints (a learner's, through the engine's seams)."""
    length, position = read_varint(data, position)
    end = position + length
    if length < 1 or end > len(data):
        raise CorruptRecordError(f"a record's length {length} does not fit the batch")
    position += 1                                           # attributes, unused
    timestamp_delta, position = read_varlong(data, position)
    offset_delta, position = read_varint(data, position)
    key, position = _read_bytes(data, position, end, read_varint)
    value, position = _read_bytes(data, position, end, read_varint)
    count, position = read_varint(data, position)
    if count < 0:
        raise CorruptRecordError(f"a record has {count} headers")
    headers = []
    for _ in range(count):
        header_key, position = _read_bytes(data, position, end, read_varint)
        if header_key is None:
            raise CorruptRecordError("a header has a null key")
        header_value, position = _read_bytes(data, position, end, read_varint)
        headers.append((header_key.decode("utf-8", errors="replace"), header_value))
    if position != end:
        raise CorruptRecordError(
            f"a record's length says {length} bytes, its fields take {length + position - end}")
    return DecodedRecord(base_offset + offset_delta, base_timestamp + timestamp_delta, key,
                         value, tuple(headers)), end


def _read_bytes(data, position, end, read_varint):
    length, position = read_varint(data, position)
    if length < 0:
        return None, position
    if position + length > end:
        raise CorruptRecordError(f"a field of {length} bytes runs past its record")
    return bytes(data[position:position + length]), position + length


# -- a batch (DefaultRecordBatch) --------------------------------------------------------------

class DecodedBatch(NamedTuple):
    base_offset: int
    partition_leader_epoch: int
    crc: int
    attributes: BatchAttributes
    last_offset_delta: int
    base_timestamp: int
    max_timestamp: int
    producer_id: int
    producer_epoch: int
    base_sequence: int
    records: tuple              # DecodedRecords

    @property
    def last_offset(self):
        return self.base_offset + self.last_offset_delta


def encode_batch(records, base_offset=0, partition_leader_epoch=NO_PARTITION_LEADER_EPOCH,
                 codec="none", timestamp_type=CREATE_TIME, producer_id=NO_PRODUCER_ID,
                 producer_epoch=NO_PRODUCER_EPOCH, base_sequence=NO_SEQUENCE,
                 transactional=False, control=False, delete_horizon_ms=None,
                 last_offset_delta=None, max_timestamp=None, rules=None, checksum=True):
    """A batch's bytes (``MemoryRecordsBuilder``). ``records`` are ``(offset, timestamp, key,
    value, headers)``, offsets from ``base_offset`` up. The first record's timestamp is the
    base timestamp, unless the batch carries a delete horizon (KIP-534), which takes its
    place. ``last_offset_delta`` defaults to the last record's; a cleaned batch keeps its
    own (``overrideLastOffset``), so it may be larger. ``rules`` give ``encode_record`` and
    ``batch_checksum`` (the engine's ``Seams``, maybe a learner's); by default, this
    module's own. Without ``checksum``, the CRC field is left 0 for the caller to fill."""
    rules = rules or OWN_RULES
    records = list(records)
    offsets = [record[0] for record in records]
    if offsets and (offsets[0] < base_offset or any(
            later <= earlier for earlier, later in zip(offsets, offsets[1:]))):
        raise ValueError(f"offsets must increase from the base offset {base_offset}: "
                         f"{offsets[:5]}...")
    if delete_horizon_ms is not None:
        base_timestamp = delete_horizon_ms
    else:
        base_timestamp = records[0][1] if records else NO_TIMESTAMP
    if max_timestamp is None:
        max_timestamp = max((r[1] for r in records), default=NO_TIMESTAMP)
    if last_offset_delta is None:
        last_offset_delta = records[-1][0] - base_offset if records else 0
    body = b"".join(rules.encode_record(offset - base_offset, timestamp - base_timestamp,
                                        key, value, headers)
                    for offset, timestamp, key, value, headers in records)
    body = compression.compress(codec, body)
    attributes = batch_attributes(codec, timestamp_type, transactional, control,
                                  delete_horizon_ms is not None)
    after_crc = struct.pack(">hiqqqhii", attributes, last_offset_delta, base_timestamp,
                            max_timestamp, producer_id, producer_epoch, base_sequence,
                            len(records)) + body
    length = 4 + 1 + 4 + len(after_crc)     # after the length: leader epoch, magic, crc, rest
    batch = bytearray(struct.pack(">qiibI", base_offset, length, partition_leader_epoch, MAGIC,
                                  0) + after_crc)
    if checksum:
        struct.pack_into(">I", batch, CRC_OFFSET, rules.batch_checksum(bytes(batch)))
    return bytes(batch)


def batch_size(records, base_offset=0, base_timestamp=None):
    """Bytes of an uncompressed batch of ``records`` (as ``encode_batch`` takes them),
    without encoding it (``DefaultRecordBatch.sizeInBytes``)."""
    records = list(records)
    if base_timestamp is None:
        base_timestamp = records[0][1] if records else NO_TIMESTAMP
    return HEADER_BYTES + sum(
        record_size(offset - base_offset, timestamp - base_timestamp, key, value, headers)
        for offset, timestamp, key, value, headers in records)


def decode_batch(data, verify_crc=True, rules=None):
    """One batch from ``data`` (exactly its bytes): ``DecodedBatch``. A wrong magic, a length
    that does not match, a CRC that does not match or records that do not add up are a
    corrupt batch (CORRUPT_MESSAGE). ``rules`` give ``batch_checksum``, ``parse_attributes``
    and ``read_varint`` (the engine's ``Seams``, maybe a learner's); by default, this
    module's own."""
    rules = rules or OWN_RULES
    data = bytes(data)
    if len(data) < HEADER_BYTES:
        raise CorruptRecordError(
            f"a batch is at least {HEADER_BYTES} bytes, this one {len(data)}")
    (base_offset, length, leader_epoch, magic, crc, attributes, last_offset_delta,
     base_timestamp, max_timestamp, producer_id, producer_epoch, base_sequence,
     count) = _HEADER.unpack_from(data)
    if magic != MAGIC:
        raise CorruptRecordError(f"magic {magic}: only record batch v2 is read here")
    if length + 12 != len(data):
        raise CorruptRecordError(
            f"the batch length says {length + 12} bytes in all, there are {len(data)}")
    if verify_crc:
        computed = rules.batch_checksum(data)
        if computed != crc:
            raise CorruptRecordError(
                f"CRC mismatch: the batch says {crc}, its bytes give {computed}")
    parsed = BatchAttributes(*rules.parse_attributes(attributes))
    if count < 0:
        raise CorruptRecordError(f"a batch of {count} records")
    body = compression.decompress(parsed.compression, data[HEADER_BYTES:])
    records, position = [], 0
    for _ in range(count):
        record, position = decode_record(body, position, base_offset, base_timestamp,
                                         rules.read_varint)
        records.append(record)
    if position != len(body):
        raise CorruptRecordError(
            f"{len(body) - position} bytes follow the batch's {count} records")
    return DecodedBatch(base_offset, leader_epoch, crc, parsed, last_offset_delta,
                        base_timestamp, max_timestamp, producer_id, producer_epoch,
                        base_sequence, tuple(records))


def control_record(marker, coordinator_epoch):
    """A transaction marker's key and value (``EndTransactionMarker``): the key is version
    0 and the type (ABORT 0, COMMIT 1), the value version 0 and the coordinator's epoch."""
    kind = {"ABORT": ABORT, "COMMIT": COMMIT}[marker]
    return struct.pack(">hh", 0, kind), struct.pack(">hi", 0, coordinator_epoch)


# The codec's rules when no one gives others: this module's own functions (the engine's
# ``Seams`` has the same names, and may hold a learner's).
OWN_RULES = SimpleNamespace(encode_record=encode_record, batch_checksum=batch_checksum,
                            parse_attributes=parse_attributes, read_varint=read_varint)
