"""Batches as bytes on the wire (Kafka's ``MemoryRecords``), for a cluster that ships them.

The engine keeps a batch's records as columns (``record.RecordBatch``): fast, and exactly
sized. With ``Cluster(wire_format=True)`` every batch that crosses the network travels as
record batch v2 bytes instead: a producer's batch to its leader, a leader's batches to its
followers and to consumers. The receiver decodes them and checks their CRC, so a byte
flipped on the way (``Cluster.corrupt_link``) is caught as Kafka catches it: the leader
answers CORRUPT_MESSAGE and the producer sends the batch again; a follower or a consumer
drops the fetched bytes and fetches them again.

The codec's rules come from the cluster's ``Seams`` (``encode_record``, ``batch_checksum``,
``parse_attributes``, ``read_varint``), so a learner's codec can run a whole cluster.

One detail is Kafka's and matters: the CRC a leader ships is the one its producer computed,
on a batch whose base offset was 0 and whose partition leader epoch was not set yet. The
leader stamps both into the batch and leaves the CRC alone, which is why the CRC must not
cover them.
"""

import struct

from .record import ABORT, COMMIT, RecordBatch
from .record_batch import (ATTRIBUTES_OFFSET, CRC_OFFSET, NO_PARTITION_LEADER_EPOCH,
                           PARTITION_LEADER_EPOCH_OFFSET, decode_batch, encode_batch)

_CONTROL_TYPES = {0: ABORT, 1: COMMIT}


def batch_to_bytes(batch, rules):
    """A stored batch as a leader ships it, its CRC the one the producer computed before the
    leader stamped its offset and epoch in (see the module's docstring; a batch the broker
    wrote itself, a marker or a cleaned batch, gets one the same way). A batch never changes
    once stored, so its bytes are made once for every follower and consumer."""
    if batch.wire is not None and batch.wire[0] is rules:
        return batch.wire[1]
    offsets = batch.record_offsets()
    keys = batch.keys or (None,) * len(batch.values)
    headers = batch.headers or ((),) * len(batch.values)
    records = list(zip(offsets, batch.timestamps, keys, batch.values, headers))
    data = bytearray(encode_batch(
        records, base_offset=batch.base_offset, partition_leader_epoch=NO_PARTITION_LEADER_EPOCH,
        codec=batch.compression, producer_id=batch.producer_id,
        producer_epoch=batch.producer_epoch, base_sequence=batch.base_sequence,
        transactional=batch.transactional, control=batch.control is not None,
        delete_horizon_ms=batch.delete_horizon if batch.delete_horizon >= 0 else None,
        last_offset_delta=batch.next_offset - 1 - batch.base_offset, rules=rules,
        checksum=False))
    struct.pack_into(">q", data, 0, 0)                  # as the producer had it
    struct.pack_into(">I", data, CRC_OFFSET, rules.batch_checksum(bytes(data)))
    struct.pack_into(">q", data, 0, batch.base_offset)  # then the leader's stamps
    struct.pack_into(">i", data, PARTITION_LEADER_EPOCH_OFFSET, batch.leader_epoch)
    batch.wire = (rules, bytes(data))
    return batch.wire[1]


def producer_batch_bytes(keys, values, timestamps, headers, codec, producer, rules,
                         transactional=False):
    """What a producer sends: its batch at base offset 0, no leader epoch yet, its
    ``producer`` ``(producer_id, epoch, base_sequence)`` (None: not idempotent)."""
    producer_id, producer_epoch, base_sequence = producer[:3] if producer else (-1, -1, -1)
    keys = keys or (None,) * len(values)
    headers = headers or ((),) * len(values)
    records = [(index, timestamp, key, value, record_headers) for index, (
        timestamp, key, value, record_headers) in enumerate(zip(timestamps, keys, values,
                                                                headers))]
    return encode_batch(records, codec=codec, producer_id=producer_id,
                        producer_epoch=producer_epoch, base_sequence=base_sequence,
                        transactional=transactional, rules=rules)


def batch_from_bytes(data, rules):
    """The batch ``data`` holds, CRC checked (``CorruptRecordError`` if anything is off), as
    the engine's ``RecordBatch``."""
    decoded = decode_batch(data, rules=rules)
    records = decoded.records
    offsets = [record.offset for record in records]
    consecutive = offsets == list(range(decoded.base_offset, decoded.base_offset + len(offsets)))
    keys = [record.key for record in records]
    headers = [record.headers for record in records]
    control = None
    if decoded.attributes.control and records:
        control = _CONTROL_TYPES.get(int.from_bytes(records[0].key[2:4], "big"), ABORT)
    return RecordBatch(
        decoded.base_offset, decoded.partition_leader_epoch,
        None if all(key is None for key in keys) else keys,
        [record.value for record in records], [record.timestamp for record in records],
        None if not any(headers) else headers,
        size_bytes=len(data), offsets=None if consecutive else offsets,
        next_offset=decoded.last_offset + 1,
        delete_horizon=decoded.base_timestamp if decoded.attributes.has_delete_horizon else -1,
        producer_id=decoded.producer_id, producer_epoch=decoded.producer_epoch,
        base_sequence=decoded.base_sequence, transactional=decoded.attributes.transactional,
        control=control, compression=decoded.attributes.compression)


def batches_size(batches):
    """Bytes of a fetch response's batches, whether they travel as bytes or as columns."""
    return sum(len(batch) if isinstance(batch, bytes) else batch.size_bytes
               for batch in batches)


def flip_a_byte(data, rng):
    """``data`` with one bit flipped somewhere the CRC covers: what a bad link does."""
    data = bytearray(data)
    position = rng.randrange(ATTRIBUTES_OFFSET, len(data))
    data[position] ^= 1 << rng.randrange(8)
    return bytes(data)



def garble_batches(args, rng):
    """A message's arguments as a bad link delivers them: a bit flipped in each batch's bytes
    (a produce request's batch, a fetch response's batches)."""
    garbled = []
    for arg in args:
        if isinstance(arg, bytes) and len(arg) > ATTRIBUTES_OFFSET:
            arg = flip_a_byte(arg, rng)
        elif hasattr(arg, "batches") and arg.batches and isinstance(arg.batches[0], bytes):
            arg = arg._replace(batches=[flip_a_byte(batch, rng) for batch in arg.batches])
        garbled.append(arg)
    return tuple(garbled)
