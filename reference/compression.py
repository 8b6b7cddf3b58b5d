"""Compression codecs, with the framing Kafka's Java reader accepts (``CompressionType``).

A compressed batch compresses its records together, header excluded. Each codec is a real
library; the framing around it is Kafka's:

- gzip: RFC 1952 (Python's ``gzip``), level 6.
- snappy: xerial's framing, as Java's ``SnappyOutputStream`` writes it: a 16-byte header
  (``0x82 SNAPPY 0``, version 1, compatible version 1), then for each block of at most
  32 KiB of input its compressed length (4 bytes, big-endian) and raw snappy. Kafka reads
  raw snappy too. (The snappy *framing* format, ``ff 06 00 00 sNaPpY``, is another thing,
  and Java cannot read it.)
- lz4: the LZ4 frame format with independent 64 KiB blocks (Kafka's reader refuses
  "dependent block streams"), no content size, no checksums: FLG 0x60, BD 0x40.
- zstd: a standard frame (``zstandard``), level 3; record batch v2 only (KIP-110).

The levels are Kafka 3.8+'s defaults (KIP-390: gzip 6, lz4 9, zstd 3). The libraries are
Python's, not Java's, so a compressed batch may differ from Java's by a few bytes: both
read each other's, which is what the format promises.
"""

import gzip
import io
import struct

from . import errors

ID = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
BY_ID = {number: name for name, number in ID.items()}
CODECS = tuple(ID)

XERIAL_HEADER = b"\x82SNAPPY\x00" + struct.pack(">ii", 1, 1)
XERIAL_BLOCK_BYTES = 32 * 1024


def compress(codec, data):
    if codec == "none":
        return data
    if codec == "gzip":
        return gzip.compress(data, compresslevel=6, mtime=0)   # mtime 0: same records, same bytes
    if codec == "snappy":
        import snappy
        blocks = [snappy.compress(data[start:start + XERIAL_BLOCK_BYTES])
                  for start in range(0, len(data), XERIAL_BLOCK_BYTES)]
        return XERIAL_HEADER + b"".join(struct.pack(">i", len(b)) + b for b in blocks)
    if codec == "lz4":
        import lz4.frame
        return lz4.frame.compress(data, compression_level=9,
                                  block_size=lz4.frame.BLOCKSIZE_MAX64KB,
                                  block_linked=False, content_checksum=False,
                                  store_size=False)
    if codec == "zstd":
        import zstandard
        return zstandard.ZstdCompressor(level=3).compress(data)
    raise ValueError(f"compression.type {codec!r} is not one of {list(CODECS)}")


def decompress(codec, data):
    """The records' bytes; data a codec cannot read is a corrupt batch."""
    try:
        if codec == "none":
            return data
        if codec == "gzip":
            return gzip.decompress(data)
        if codec == "snappy":
            return _unsnappy(data)
        if codec == "lz4":
            import lz4.frame
            if len(data) > 4 and data[4] & 0x20 == 0:
                raise errors.CorruptRecordError("lz4: dependent block streams are unsupported")
            return lz4.frame.decompress(data)
        if codec == "zstd":
            import zstandard
            return zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data)).read()
    except errors.CorruptRecordError:
        raise
    except Exception as error:      # noqa: BLE001 - each library fails in its own way
        raise errors.CorruptRecordError(f"{codec}: {type(error).__name__}: {error}") from None
    raise errors.CorruptRecordError(f"unknown codec {codec!r}")


def _unsnappy(data):
    import snappy
    if not data.startswith(XERIAL_HEADER[:8]):
        return snappy.uncompress(data)           # raw snappy, which Java also reads
    out, position = bytearray(), len(XERIAL_HEADER)
    while position < len(data):
        if position + 4 > len(data):
            raise errors.CorruptRecordError("snappy: a block's length is cut off")
        (length,) = struct.unpack_from(">i", data, position)
        position += 4
        if length < 0 or position + length > len(data):
            raise errors.CorruptRecordError(f"snappy: a block of {length} bytes runs past the end")
        out += snappy.uncompress(data[position:position + length])
        position += length
    return bytes(out)
