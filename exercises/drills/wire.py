"""Drills: the record batch's bytes."""

from kafkadojo.reference.record_batch import (HEADER_BYTES, batch_size, record_size,
                                              write_varint)

from . import drill_kind
from ._cards import flashcards
from .picture import Picture


@drill_kind("wire.varint", "numbers",
            summary="a number as Kafka's zigzag varint, byte by byte")
def varint(rng, level):
    bound = (64, 8192, 2 ** 20)[level - 1]         # one byte, two, three
    value = rng.randrange(-bound, bound)
    encoded = list(write_varint(value))
    zigzagged = value * 2 if value >= 0 else -value * 2 - 1
    return ((value,),
            f"Kafka writes {value} as a zigzag varint (ByteUtils.writeVarint). Which bytes, "
            f"in decimal, in order? (e.g. 128 1)",
            encoded,
            "Zigzag first (n << 1) ^ (n >> 31), so small negatives stay small; then 7 bits a "
            "byte, lowest first, the top bit set on every byte but the last.",
            Picture(rows=(("zigzag", ((zigzagged, "plain"),)),
                          ("bytes", tuple((f"{byte} = {byte:08b}",
                                           "chosen" if byte & 0x80 else "plain")
                                          for byte in encoded))),
                    legend=(("chosen", "the top bit: another byte follows"),)))


@drill_kind("wire.batch-size", "number",
            summary="the bytes of a small uncompressed record batch")
def size(rng, level):
    count = rng.randrange(1, 2 + level)
    records = []
    for index in range(count):
        key = None if rng.random() < 0.4 else b"k" * rng.randrange(1, 6)
        value = b"v" * rng.choice((0, 5, 10, 60, 100)[:2 + level])
        records.append((index, 1_000 + index * rng.choice((0, 1, 100)), key, value, ()))
    answer = batch_size(records)
    shown = "; ".join(f"key {'null' if k is None else _bytes(k)}, value {_bytes(v)}, "
                      f"timestamp {t}" for _, t, k, v, _ in records)
    return ((tuple(records),),
            f"An uncompressed record batch (v2) holds {count} record(s), offsets from 0, no "
            f"headers: {shown}. How many bytes is the batch?",
            answer,
            f"A {HEADER_BYTES}-byte header, then each record: its length varint, attributes "
            f"(1), the timestamp delta varlong, the offset delta varint, the key's and the "
            f"value's length varints (-1 for null, one byte) and bytes, the header count (1).",
            Picture(rows=(("header", ((HEADER_BYTES, "plain"),)),
                          ("records", tuple(
                              (record_size(o, t - records[0][1], k, v), "committed")
                              for o, t, k, v, _ in records)),
                          ("batch", ((answer, "chosen"),))),
                    legend=(("committed", "each record's bytes"), ("chosen", "in all"))))


def _bytes(data):
    return f"{len(data)} byte{'' if len(data) == 1 else 's'}"


flashcards("wire", (
    ("Which bytes of a record batch does its CRC cover, and why not all of them?",
     "CRC-32C over everything from the attributes to the end: not the base offset, the "
     "length or the partition leader epoch, which the broker sets when it appends (its "
     "offsets, its epoch) without computing the CRC again."),
    ("Why does linger.ms=0 still batch records under load?",
     "A batch is ready at once, but until the sender drains it (a free slot of "
     "max.in.flight.requests.per.connection) it keeps taking records; only a full batch is "
     "closed early."),
))
