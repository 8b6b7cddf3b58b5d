"""The wire notebook's pictures (exercises/pictures.py): a batch's bytes, every one named;
Kafka's golden batch and a learner's encoder compared byte for byte; batching levers; a
learner's codec running a cluster that ships bytes."""

import struct

import pytest

from kafkadojo.exercises import pictures
from kafkadojo.reference import record_batch


def test_the_golden_batch_is_kafkas():
    default_records = pytest.importorskip("kafka.record.default_records")
    golden = pictures.GOLDEN_BATCH
    assert len(golden) == 97 and struct.unpack_from(">I", golden, 17)[0] == pictures.GOLDEN_CRC
    theirs = default_records.DefaultRecordBatch(bytearray(golden))
    assert theirs.validate_crc()
    assert [(r.offset, r.timestamp, r.key, r.value) for r in theirs] == [
        (0, 283843, b"key1", b"value1"), (1, 1234, b"key2", b"value2")]


@pytest.mark.parametrize("codec", ["none", "gzip"])
def test_every_byte_of_a_batch_belongs_to_one_named_field(codec):
    data = pictures.sample_batch(3, codec=codec, transactional=True, stamped=True)
    fields = pictures.batch_fields(data)
    covered = [position for _, start, end, _, _ in fields for position in range(start, end)]
    assert covered == list(range(len(data)))
    named = {name: value for name, _, _, value, _ in fields}
    assert named["baseOffset"] == "42" and named["partitionLeaderEpoch"] == "3"
    assert "transactional=True" in named["attributes"]
    if codec == "none":
        assert named["record 1: key"] == "b'user-1'" and named["record 1: header 0 key"] == "b'source'"
    html = pictures.draw_batch(data)
    assert html.count("<span title=") == len(data)


def test_stamping_changes_offset_and_epoch_but_not_the_crc():
    sent, stored = pictures.sample_batch(2), pictures.sample_batch(2, stamped=True)
    assert sent[:8] != stored[:8] and sent[17:21] == stored[17:21] and sent[21:] == stored[21:]


def test_the_engines_codec_writes_the_golden_batch_and_a_wrong_one_is_shown_where():
    html, same = pictures.golden_comparison()
    assert same and "Byte for byte" in html

    def header_count_off(offset_delta, timestamp_delta, key, value, headers=()):
        return record_batch.encode_record(offset_delta, timestamp_delta, key, value,
                                          headers)[:-1] + b"\x02"
    html, same = pictures.golden_comparison(encode_record=header_count_off)
    verdict = html.split("<h4")[0]
    assert not same and "first difference is byte 77, in Kafka's <b>record 0: headerCount</b> (so the CRC " \
        "differs too)" in verdict
    html, same = pictures.golden_comparison(batch_checksum=lambda batch: 0)
    assert not same and "in Kafka's <b>crc</b>" in html


def test_a_rule_that_raises_is_named_not_a_traceback():
    def broken(*args):
        raise KeyError("oops")
    html, same = pictures.golden_comparison(encode_record=broken)
    assert not same and "your encode_record(" in html and "KeyError" in html


def test_lingering_makes_fewer_batches_and_costs_latency():
    html = pictures.draw_batching(16_384, "none", records=600)
    assert html.count("linger.ms=") == len(pictures.LINGERS)
    runs = [__import__("kafkadojo.reference.workload", fromlist=["x"]).run_batching(
        linger, 16_384, "none", 600) for linger in (0, 100)]
    assert runs[1].batches < runs[0].batches and runs[1].mean_latency_ms > runs[0].mean_latency_ms


def test_a_checksum_over_the_base_offset_shows_lost_writes_in_the_cluster():
    assert "Every record acknowledged" in pictures.draw_wire_run()
    wrong = pictures.draw_wire_run({"batch_checksum": lambda batch: record_batch.crc32c(
        batch[:8] + batch[21:])})
    assert "lost-write" in wrong and "replicas-diverged" in wrong


def test_a_served_cluster_shows_what_a_real_client_did_and_a_crash():
    kafka = pytest.importorskip("kafka")
    from kafkadojo.reference import Cluster
    from kafkadojo.reference.network_server import Server
    cluster = Cluster(brokers=3, seed=1)
    cluster.create_topic("orders", partitions=2, replication_factor=3)
    with Server(cluster, port=0) as server:
        producer = kafka.KafkaProducer(bootstrap_servers=server.bootstrap_servers, acks="all")
        for i in range(6):
            producer.send("orders", value=b"x%d" % i, partition=i % 2).get(timeout=10)
        snapshot = pictures.server_snapshot(server)
        assert [(name, ends) for name, _, _, ends, _ in snapshot["partitions"]] == [
            ("orders-0", {0: 3, 1: 3, 2: 3}), ("orders-1", {1: 3, 2: 3, 0: 3})]
        assert any(api.startswith("Produce v") for api in snapshot["requests"])
        server.crash(0)
        drawn = pictures.draw_server(pictures.server_snapshot(server))
        assert "broker 0" in drawn and "title='down'" in drawn.replace('"', "'")
        producer.close(timeout=1)
