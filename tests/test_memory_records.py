"""A cluster that ships record batch v2 bytes (``Cluster(wire_format=True)``,
reference/memory_records.py): the same logs and records as the columnar engine, a corrupting
link caught by the CRC, and the codec's seams running a whole cluster."""

import pytest

from kafkadojo.reference import Cluster, errors, record_batch
from kafkadojo.reference.memory_records import (batch_from_bytes, batch_to_bytes,
                                                producer_batch_bytes)
from kafkadojo.reference.record import RecordBatch, control_batch
from kafkadojo.reference.record_batch import OWN_RULES, decode_batch
from kafkadojo.reference.seams import Seams


def _run(wire_format, seed=4, transactional=False):
    cluster = Cluster(brokers=3, seed=seed, wire_format=wire_format)
    cluster.create_topic("t", partitions=2, replication_factor=3,
                         config={"min.insync.replicas": 2})
    config = {"acks": "all", "compression.type": "gzip", "enable.idempotence": True}
    if transactional:
        config["transactional.id"] = "tx"
    producer = cluster.producer(config=config)
    if transactional:
        producer.init_transactions()
        producer.begin_transaction()
    for i in range(200):
        producer.send("t", key=str(i % 7).encode(), value=b"v%d" % i,
                      headers=[("h", b"x")] if i % 5 == 0 else ())
    if transactional:
        producer.commit_transaction()
    cluster.run_for(2_000)
    consumer = cluster.consumer(config={"group.id": "g", "auto.offset.reset": "earliest",
                                        "isolation.level": "read_committed"})
    consumer.subscribe(["t"])
    records = []
    for _ in range(100):
        records += consumer.poll(100)
        if len(records) >= 200:
            break
    logs = [[(b.base_offset, b.next_offset, b.size_bytes, b.producer_id, b.base_sequence,
              b.transactional, b.control, list(b.values), b.headers)
             for b in cluster.log(broker, "t", partition).batches]
            for broker in range(3) for partition in range(2)]
    return sorted(records), logs


@pytest.mark.parametrize("transactional", [False, True])
def test_bytes_on_the_wire_change_nothing_a_client_or_a_log_sees(transactional):
    columns, wire = _run(False, transactional=transactional), _run(True, transactional=transactional)
    assert len(columns[0]) == 200
    assert wire == columns
    if transactional:
        assert any(batch[6] == "COMMIT" for log in wire[1] for batch in log)


def test_a_stored_batch_survives_the_trip_as_bytes():
    batch = RecordBatch(40, 3, [b"k", None], [b"a", None], [1_000, 1_250],
                        [(("h", b"1"),), ()], producer_id=7, producer_epoch=2,
                        base_sequence=11, transactional=True, compression="zstd")
    back = batch_from_bytes(batch_to_bytes(batch, OWN_RULES), OWN_RULES)
    assert (back.base_offset, back.leader_epoch, back.keys, back.values, back.timestamps,
            back.headers, back.producer_id, back.producer_epoch, back.base_sequence,
            back.transactional, back.compression) == (
        40, 3, [b"k", None], [b"a", None], [1_000, 1_250], [(("h", b"1"),), ()], 7, 2, 11,
        True, "zstd")
    marker = control_batch(41, 3, 7, 2, "ABORT", 5, 1_300)
    assert batch_from_bytes(batch_to_bytes(marker, OWN_RULES), OWN_RULES).control == "ABORT"


def test_the_leader_ships_the_producers_crc_after_stamping_offset_and_epoch():
    data = producer_batch_bytes(None, [b"a", b"b"], [5, 6], None, "none", None, OWN_RULES)
    sent_crc = decode_batch(data).crc
    stored = RecordBatch(900, 4, None, [b"a", b"b"], [5, 6])    # as the leader stamped it
    shipped = batch_to_bytes(stored, OWN_RULES)
    assert decode_batch(shipped).crc == sent_crc and shipped[:8] != data[:8]


def test_a_corrupting_link_to_a_follower_is_caught_and_nothing_corrupt_is_stored():
    cluster = Cluster(brokers=3, seed=4, wire_format=True)
    cluster.create_topic("t", partitions=1, replication_factor=3,
                         config={"min.insync.replicas": 2})
    leader = cluster.leader("t", 0)
    follower = next(b for b in range(3) if b != leader)
    producer = cluster.producer(config={"acks": "all", "enable.idempotence": True})
    cluster.corrupt_link(leader, follower)
    futures = []
    for i in range(100):
        futures.append(producer.send("t", value=b"v%d" % i))
        cluster.run_for(3)
    cluster.run_for(3_000)
    assert cluster.brokers[follower].corrupt_fetches > 0
    assert cluster.log(follower, "t", 0).log_end_offset == 0
    cluster.heal()
    cluster.run_for(5_000)
    assert all(f.succeeded for f in futures)
    for broker in range(3):
        values = [v for b in cluster.log(broker, "t", 0).batches for v in b.values]
        assert values == [b"v%d" % i for i in range(100)]


def test_a_corrupting_link_to_the_producer_gets_corrupt_message_and_retries():
    cluster = Cluster(brokers=3, seed=5, wire_format=True)
    cluster.create_topic("t", partitions=1, replication_factor=3)
    producer = cluster.producer(config={"acks": "all", "enable.idempotence": True})
    cluster.corrupt_link(cluster.leader("t", 0), producer.node_id)
    answers = []
    leader = cluster.brokers[cluster.leader("t", 0)]
    handle = leader.handle_produce_bytes
    leader.handle_produce_bytes = lambda *args: handle(*args[:6], lambda response: (
        answers.append(response), args[6](response)), *args[7:])
    future = producer.send("t", value=b"hello")
    cluster.run_for(1_000)
    assert not future.done and cluster.log(leader.node_id, "t", 0).log_end_offset == 0
    assert len(answers) > 1 and all(isinstance(a.error, errors.CorruptRecordError)
                                    for a in answers)          # refused, and sent again
    cluster.heal()
    assert future.get() == 0
    assert [v for b in cluster.log(cluster.leader("t", 0), "t", 0).batches
            for v in b.values] == [b"hello"]


def test_a_checksum_over_the_base_offset_breaks_replication_after_the_first_batch():
    """Why the CRC leaves the base offset out: the leader stamps it in and ships the
    producer's CRC. A checksum that covers it fails on every batch not at offset 0."""
    wrong = lambda batch: record_batch.crc32c(batch[:8] + batch[21:])     # noqa: E731
    cluster = Cluster(brokers=3, seed=4, wire_format=True, seams=Seams(batch_checksum=wrong))
    cluster.create_topic("t", partitions=1, replication_factor=3,
                         config={"min.insync.replicas": 2})
    producer = cluster.producer(config={"acks": "all"})
    futures = []
    for _ in range(5):
        futures.append(producer.send("t", value=b"x"))
        cluster.run_for(50)
    cluster.run_for(5_000)
    leader = cluster.leader("t", 0)
    followers = [b for b in range(3) if b != leader]
    assert futures[0].succeeded and not any(f.done for f in futures[1:])
    assert [cluster.log(b, "t", 0).log_end_offset for b in followers] == [1, 1]
    assert all(cluster.brokers[b].corrupt_fetches > 0 for b in followers)


def test_corrupt_link_needs_bytes_on_the_wire():
    with pytest.raises(errors.InvalidConfigurationError, match="wire_format"):
        Cluster(brokers=2, seed=1).corrupt_link(0, 1)


def test_bytes_that_do_not_add_up_are_a_corrupt_batch():
    data = producer_batch_bytes(None, [b"a"], [5], None, "none", None, OWN_RULES)
    for broken in (data[:-1], data[:30], b"\x00" * 61):
        with pytest.raises(errors.CorruptRecordError):
            batch_from_bytes(broken, OWN_RULES)
