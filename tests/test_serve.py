"""``kafkadojo serve``: real Kafka clients (kafka-python, aiokafka, confluent-kafka) against
the simulated cluster over TCP, each test with its own server on free ports.

The clients are other people's code: if the server's bytes or answers were wrong, they
would fail to connect, to produce, to join a group or to fail over.
"""

import asyncio
import contextlib
import io
import queue
import random
import re
import socket
import struct
import subprocess
import sys
import threading
import time

import pytest

from kafkadojo.reference import Cluster
from kafkadojo.reference.network_server import Server
from kafkadojo.reference.record_batch import encode_batch

# Fast timeouts, so that a test takes seconds: groups form at once, a dead broker is fenced
# after 1.5 s, the internal topics are small.
FAST = {"group.initial.rebalance.delay.ms": 0, "offsets.topic.num.partitions": 3,
        "transaction.state.log.num.partitions": 3, "broker.session.timeout.ms": 1500,
        "broker.heartbeat.interval.ms": 250, "min.insync.replicas": 2}


@contextlib.contextmanager
def serving(topics=(("t", 2, 3),), brokers=3, **config):
    cluster = Cluster(brokers=brokers, config={**FAST, **config})
    for name, partitions, replication_factor in topics:
        cluster.create_topic(name, partitions, replication_factor)
    server = Server(cluster, port=0).start()
    try:
        yield server
    finally:
        server.stop()


def records(prefix, count):
    return [(f"{prefix}-key-{i}".encode(), f"{prefix}-value-{i}".encode()) for i in range(count)]


# -- kafka-python -------------------------------------------------------------------------

def kafka_python_consumer(server, **options):
    from kafka import KafkaConsumer
    return KafkaConsumer(bootstrap_servers=server.bootstrap_servers,
                         auto_offset_reset="earliest", enable_auto_commit=False,
                         metadata_max_age_ms=1000, retry_backoff_ms=50,
                         reconnect_backoff_ms=50, request_timeout_ms=5000, **options)


def kafka_python_poll(consumer, count, timeout_s=15):
    got = []
    deadline = time.time() + timeout_s
    while len(got) < count and time.time() < deadline:
        for messages in consumer.poll(timeout_ms=200).values():
            got.extend(messages)
    return got


def test_kafka_python_produces_consumes_and_resumes_from_the_committed_offset():
    from kafka import KafkaProducer
    with serving() as server:
        producer = KafkaProducer(bootstrap_servers=server.bootstrap_servers, acks="all")
        first = records("kp", 20)
        sent = [producer.send("t", key=k, value=v, headers=[("trace", k)]) for k, v in first]
        acked = {(m.partition, m.offset) for m in (future.get(timeout=10) for future in sent)}
        assert len(acked) == 20

        consumer = kafka_python_consumer(server, group_id="kp-group")
        consumer.subscribe(["t"])
        got = kafka_python_poll(consumer, 20)
        assert sorted((m.key, m.value) for m in got) == sorted(first)
        assert {(m.partition, m.offset) for m in got} == acked     # the offsets acked
        assert all(m.headers == [("trace", m.key)] for m in got)
        consumer.commit()
        consumer.close()

        second = records("kp2", 10)
        for k, v in second:
            producer.send("t", key=k, value=v).get(timeout=10)
        resumed = kafka_python_consumer(server, group_id="kp-group")
        resumed.subscribe(["t"])
        got = kafka_python_poll(resumed, 10)
        # a consumer that did not resume would read the first 20 again, from the earliest
        assert sorted((m.key, m.value) for m in got) == sorted(second)
        resumed.close()

        # auto.create.topics.enable: an unknown topic is created on first use
        assert producer.send("made-on-demand", b"x").get(timeout=10).offset == 0
        assert "made-on-demand" in server.call(server.cluster.topics)
        producer.close()


# -- aiokafka -------------------------------------------------------------------------------

def test_aiokafka_produces_consumes_and_resumes_from_the_committed_offset():
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    async def consume(server, count):
        consumer = AIOKafkaConsumer("t", bootstrap_servers=server.bootstrap_servers,
                                    group_id="aio-group", auto_offset_reset="earliest",
                                    enable_auto_commit=False, metadata_max_age_ms=1000,
                                    retry_backoff_ms=50)
        await consumer.start()
        got = []
        deadline = time.time() + 15
        while len(got) < count and time.time() < deadline:
            for messages in (await consumer.getmany(timeout_ms=200)).values():
                got.extend(messages)
        await consumer.commit()
        await consumer.stop()
        return got

    async def scenario(server):
        producer = AIOKafkaProducer(bootstrap_servers=server.bootstrap_servers, acks="all")
        await producer.start()
        first = records("aio", 20)
        acked = {(m.partition, m.offset)
                 for m in [await producer.send_and_wait("t", key=k, value=v) for k, v in first]}
        got = await consume(server, 20)
        assert sorted((m.key, m.value) for m in got) == sorted(first)
        assert {(m.partition, m.offset) for m in got} == acked
        second = records("aio2", 10)
        for k, v in second:
            await producer.send_and_wait("t", key=k, value=v)
        await producer.stop()
        got = await consume(server, 10)
        assert sorted((m.key, m.value) for m in got) == sorted(second)

    with serving() as server:
        asyncio.run(scenario(server))


# -- confluent-kafka (librdkafka) ----------------------------------------------------------

def confluent_consumer(server, **config):
    from confluent_kafka import Consumer
    return Consumer({"bootstrap.servers": server.bootstrap_servers,
                     "auto.offset.reset": "earliest", "enable.auto.commit": False,
                     "topic.metadata.refresh.interval.ms": 1000, "reconnect.backoff.ms": 50,
                     "session.timeout.ms": 6000, "heartbeat.interval.ms": 500, **config})


def confluent_poll(consumer, count, timeout_s=15):
    got = []
    deadline = time.time() + timeout_s
    while len(got) < count and time.time() < deadline:
        message = consumer.poll(0.2)
        if message is not None and message.error() is None:
            got.append(message)
    return got


def confluent_producer(server, **config):
    from confluent_kafka import Producer
    return Producer({"bootstrap.servers": server.bootstrap_servers, "acks": "all",
                     "linger.ms": 5, "topic.metadata.refresh.interval.ms": 1000,
                     "reconnect.backoff.ms": 50, "retry.backoff.ms": 50, **config})


def test_confluent_kafka_produces_consumes_and_resumes_from_the_committed_offset():
    with serving() as server:
        producer = confluent_producer(server, **{"enable.idempotence": True,
                                                 "compression.type": "lz4"})
        acked = []

        def delivered(error, message):
            assert error is None, error
            acked.append((message.partition(), message.offset()))

        first = records("rd", 20)
        for k, v in first:
            producer.produce("t", key=k, value=v, headers=[("trace", k)], on_delivery=delivered)
        assert producer.flush(10) == 0
        assert len(set(acked)) == 20

        consumer = confluent_consumer(server, **{"group.id": "rd-group"})
        consumer.subscribe(["t"])
        got = confluent_poll(consumer, 20)
        assert sorted((m.key(), m.value()) for m in got) == sorted(first)
        assert {(m.partition(), m.offset()) for m in got} == set(acked)
        assert all(m.headers() == [("trace", m.key())] for m in got)
        consumer.commit(asynchronous=False)
        consumer.close()

        second = records("rd2", 10)
        for k, v in second:
            producer.produce("t", key=k, value=v, on_delivery=delivered)
        assert producer.flush(10) == 0
        resumed = confluent_consumer(server, **{"group.id": "rd-group"})
        resumed.subscribe(["t"])
        got = confluent_poll(resumed, 10)
        assert sorted((m.key(), m.value()) for m in got) == sorted(second)
        resumed.close()


# -- failover across a leader crash ----------------------------------------------------------

class Reader(threading.Thread):
    """Consumes in the background (``poll_once()`` returns the values it read) until
    stopped, so that consuming goes on through the crash."""

    def __init__(self, poll_once):
        super().__init__(daemon=True)
        self.poll_once, self.seen, self.stopped = poll_once, set(), threading.Event()

    def run(self):
        while not self.stopped.is_set():
            self.seen.update(self.poll_once())

    def wait_for(self, values, timeout_s=15):
        deadline = time.time() + timeout_s
        while not set(values) <= self.seen and time.time() < deadline:
            time.sleep(0.1)
        self.stopped.set()
        self.join()
        return set(values) - self.seen


# acknowledged records before the crash, then for how long the producer goes on after it
ACKED_BEFORE_CRASH = 20
PRODUCE_AFTER_CRASH_S = 3.5


def test_kafka_python_fails_over_a_leader_crash_without_losing_acknowledged_records():
    from kafka import KafkaProducer, TopicPartition
    with serving(topics=(("f", 1, 3),)) as server:
        consumer = kafka_python_consumer(server)
        consumer.assign([TopicPartition("f", 0)])
        reader = Reader(lambda: {m.value for ms in consumer.poll(timeout_ms=100).values()
                                 for m in ms})
        reader.start()
        producer = KafkaProducer(bootstrap_servers=server.bootstrap_servers, acks="all",
                                 retries=100, retry_backoff_ms=50, reconnect_backoff_ms=50,
                                 metadata_max_age_ms=1000, request_timeout_ms=3000)
        try:
            acked, leader, crashed_at = [], server.leader("f", 0), None
            i = 0
            while crashed_at is None or time.time() - crashed_at < PRODUCE_AFTER_CRASH_S:
                if crashed_at is None and len(acked) >= ACKED_BEFORE_CRASH:
                    server.crash(leader)
                    crashed_at = time.time()
                value = f"f-{i}".encode()
                i += 1
                with contextlib.suppress(Exception):    # a send may fail: only acks count
                    producer.send("f", value).get(timeout=10)
                    acked.append(value)
            assert server.leader("f", 0) not in (leader, -1)      # a new leader was elected
            assert len(acked) > ACKED_BEFORE_CRASH                  # acked after the crash too
            lost = reader.wait_for(acked)
            assert not lost, f"lost: {sorted(lost)[:5]}"
        finally:
            reader.stopped.set()
            producer.close()
            consumer.close()


def test_aiokafka_fails_over_a_leader_crash_without_losing_acknowledged_records():
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

    async def scenario(server):
        producer = AIOKafkaProducer(bootstrap_servers=server.bootstrap_servers, acks="all",
                                    retry_backoff_ms=50, request_timeout_ms=3000,
                                    metadata_max_age_ms=1000)
        consumer = AIOKafkaConsumer(bootstrap_servers=server.bootstrap_servers,
                                    auto_offset_reset="earliest", enable_auto_commit=False,
                                    metadata_max_age_ms=1000, retry_backoff_ms=50,
                                    request_timeout_ms=5000)
        await producer.start()
        await consumer.start()
        consumer.assign([TopicPartition("f", 0)])
        seen = set()

        async def read():
            while True:
                for messages in (await consumer.getmany(timeout_ms=100)).values():
                    seen.update(m.value for m in messages)
        reading = asyncio.create_task(read())
        leader = await asyncio.to_thread(server.leader, "f", 0)
        acked, crashed_at, i = [], None, 0
        while crashed_at is None or time.time() - crashed_at < PRODUCE_AFTER_CRASH_S:
            if crashed_at is None and len(acked) >= ACKED_BEFORE_CRASH:
                await asyncio.to_thread(server.crash, leader)
                crashed_at = time.time()
            value = f"a-{i}".encode()
            i += 1
            with contextlib.suppress(Exception):        # a send may fail: only acks count
                await asyncio.wait_for(producer.send_and_wait("f", value), 10)
                acked.append(value)
        deadline = time.time() + 15
        while set(acked) - seen and time.time() < deadline:
            await asyncio.sleep(0.1)
        reading.cancel()
        await producer.stop()
        await consumer.stop()
        return leader, acked, seen

    with serving(topics=(("f", 1, 3),)) as server:
        leader, acked, seen = asyncio.run(scenario(server))
        assert server.leader("f", 0) not in (leader, -1)          # a new leader was elected
        assert len(acked) > ACKED_BEFORE_CRASH                      # acked after the crash too
        lost = set(acked) - seen
        assert not lost, f"lost: {sorted(lost)[:5]}"


def test_confluent_kafka_fails_over_a_leader_crash_without_losing_acknowledged_records():
    from confluent_kafka import TopicPartition
    with serving(topics=(("f", 1, 3),)) as server:
        consumer = confluent_consumer(server, **{"group.id": "unused"})
        consumer.assign([TopicPartition("f", 0, 0)])

        def poll_once():
            message = consumer.poll(0.1)
            return {message.value()} if message is not None and message.error() is None else set()

        reader = Reader(poll_once)
        reader.start()
        producer = confluent_producer(server, **{"enable.idempotence": True})
        acked = []

        def delivered(error, message):
            if error is None:
                acked.append(message.value())

        try:
            leader, crashed_at, sent = server.leader("f", 0), None, 0
            while crashed_at is None or time.time() - crashed_at < PRODUCE_AFTER_CRASH_S:
                if crashed_at is None and len(acked) >= ACKED_BEFORE_CRASH:
                    server.crash(leader)
                    crashed_at = time.time()
                producer.produce("f", f"f-{sent}".encode(), on_delivery=delivered)
                sent += 1
                producer.poll(0.01)
            assert producer.flush(15) == 0
            assert server.leader("f", 0) not in (leader, -1)
            assert len(acked) == sent      # idempotent and retried: every record, once
            lost = reader.wait_for(acked)
            assert not lost, f"lost: {sorted(lost)[:5]}"
        finally:
            reader.stopped.set()
            reader.join(timeout=5)
            consumer.close()


def test_an_isolated_leader_is_replaced_and_rejoins_after_heal():
    from kafka import KafkaProducer
    with serving(topics=(("i", 1, 3),)) as server:
        producer = KafkaProducer(bootstrap_servers=server.bootstrap_servers, acks="all",
                                 retries=100, retry_backoff_ms=50, metadata_max_age_ms=500,
                                 request_timeout_ms=1500)
        producer.send("i", b"before").get(timeout=10)
        leader = server.leader("i", 0)
        server.isolate(leader)
        # silence, not a refusal: the producer times out, finds the leader the controller
        # elected once the isolated broker's session expired, and goes on there
        assert producer.send("i", b"during").get(timeout=15).offset == 1
        assert server.leader("i", 0) not in (leader, -1)
        assert f"isolated: {leader}" in server.status()
        server.heal()
        deadline = time.time() + 10
        while leader not in server.call(server.cluster.isr, "i", 0) and time.time() < deadline:
            time.sleep(0.1)
        assert leader in server.call(server.cluster.isr, "i", 0)   # caught up, back in sync
        producer.close()


# -- transactions and SASL -------------------------------------------------------------------

def test_confluent_kafka_transactions_commit_and_abort_through_the_engines_coordinator():
    from confluent_kafka import TopicPartition
    with serving(topics=(("in", 1, 3), ("out", 1, 3))) as server:
        producer = confluent_producer(server, **{"transactional.id": "tx-1"})
        producer.init_transactions(10)
        group = confluent_consumer(server, **{"group.id": "tx-group"})
        producer.begin_transaction()
        for i in range(5):
            producer.produce("out", f"committed-{i}".encode())
        producer.send_offsets_to_transaction([TopicPartition("in", 0, 42)],
                                             group.consumer_group_metadata(), 10)
        producer.commit_transaction(10)
        producer.begin_transaction()
        for i in range(5):
            producer.produce("out", f"aborted-{i}".encode())
        producer.flush(10)
        producer.abort_transaction(10)
        producer.begin_transaction()
        producer.produce("out", b"last")
        producer.commit_transaction(10)

        committed_reader = confluent_consumer(server, **{"group.id": "reader",
                                                         "isolation.level": "read_committed"})
        committed_reader.assign([TopicPartition("out", 0, 0)])
        got = confluent_poll(committed_reader, 6)
        # offsets 5 and 11 are the COMMIT and ABORT markers: control batches, never shown
        assert [(m.offset(), m.value()) for m in got] == (
            [(i, f"committed-{i}".encode()) for i in range(5)] + [(12, b"last")])
        committed_reader.close()
        everything = confluent_consumer(server, **{"group.id": "reader",
                                                   "isolation.level": "read_uncommitted"})
        everything.assign([TopicPartition("out", 0, 0)])
        assert sum(b"aborted" in m.value() for m in confluent_poll(everything, 11)) == 5
        everything.close()
        # the offsets sent in the committed transaction are the group's now
        assert group.committed([TopicPartition("in", 0)], 10)[0].offset == 42
        group.close()


def test_sasl_scram_authenticates_real_clients_and_refuses_the_rest():
    from confluent_kafka import KafkaError
    from kafka import KafkaProducer
    from kio.schema.metadata.v12.request import MetadataRequest
    sasl = {"listeners": "SASL_PLAINTEXT://:9092", "sasl.enabled.mechanisms": "SCRAM-SHA-256"}
    with serving(topics=(("s", 1, 3),), **sasl) as server:
        server.call(server.cluster.upsert_scram_credential, "alice", "alice-secret")
        producer = KafkaProducer(bootstrap_servers=server.bootstrap_servers, acks="all",
                                 security_protocol="SASL_PLAINTEXT",
                                 sasl_mechanism="SCRAM-SHA-256", sasl_plain_username="alice",
                                 sasl_plain_password="alice-secret")
        assert producer.send("s", b"as alice").get(timeout=10).offset == 0
        producer.close()

        refused = []
        impostor = confluent_producer(server, **{
            "security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "SCRAM-SHA-256",
            "sasl.username": "alice", "sasl.password": "wrong", "error_cb": refused.append})
        deadline = time.time() + 10
        while not refused and time.time() < deadline:
            impostor.poll(0.1)
        assert refused and refused[0].code() == KafkaError._AUTHENTICATION
        assert "SASL_AUTHENTICATION_FAILED" in refused[0].str()

        # a request before authenticating closes the connection
        sock = raw_connection(server)
        sock.sendall(request_bytes(3, 12, 1, body=MetadataRequest(
            topics=None, allow_auto_topic_creation=False,
            include_topic_authorized_operations=False)))
        assert closed_by_server(sock)


# -- bad bytes -------------------------------------------------------------------------------

def request_bytes(api_key, version, correlation_id, body_class=None, body=None):
    """A request frame written with kio, as a client would."""
    from kio.index import load_request_schema
    from kio.serial import entity_writer
    schema = load_request_schema(api_key, version)
    header_class = schema.__header_schema__
    out = io.BytesIO()
    entity_writer(header_class)(out, header_class(
        request_api_key=api_key, request_api_version=version, correlation_id=correlation_id,
        client_id="raw-test"))
    if body is not None:
        entity_writer(schema)(out, body)
    data = out.getvalue()
    return struct.pack(">i", len(data)) + data


def raw_connection(server, broker_id=0):
    sock = socket.create_connection(server.endpoints[broker_id], timeout=5)
    return sock


def read_frame(sock):
    data = b""
    while len(data) < 4 or len(data) < 4 + struct.unpack_from(">i", data)[0]:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data[4:]


def closed_by_server(sock):
    """True once the server has closed the connection (EOF or a reset), without answering."""
    try:
        return sock.recv(65536) == b""
    except ConnectionResetError:
        return True


def produce_request(topic, partition, batch, correlation_id):
    from kio.schema.produce.v9.request import (PartitionProduceData, ProduceRequest,
                                               TopicProduceData)
    body = ProduceRequest(transactional_id=None, acks=-1,
                          timeout=__import__("datetime").timedelta(seconds=5),
                          topic_data=(TopicProduceData(name=topic, partition_data=(
                              PartitionProduceData(index=partition, records=batch),)),))
    return request_bytes(0, 9, correlation_id, body=body)


def produce_error(sock, topic, partition, batch):
    from kio.schema.produce.v9.response import ProduceResponse
    from kio.serial import entity_reader
    sock.sendall(produce_request(topic, partition, batch, 77))
    frame = read_frame(sock)
    assert struct.unpack_from(">i", frame)[0] == 77
    response, _ = entity_reader(ProduceResponse)(frame, 5)     # header v1: id, no tags
    answer = response.responses[0].partition_responses[0]
    return int(answer.error_code), answer.base_offset


def test_bad_bytes_close_only_their_own_connection():
    from kafka import KafkaProducer
    from kio.schema.api_versions.v0.response import ApiVersionsResponse
    from kio.schema.metadata.v12.request import MetadataRequest
    from kio.serial import entity_reader
    with serving() as server:
        bystander = raw_connection(server)     # a connection that stays open throughout

        # a truncated frame: the size says 50 bytes, 8 come, then the client gives up
        sock = raw_connection(server)
        sock.sendall(struct.pack(">i", 50) + b"\x00\x03\x00\x0c\x00\x00\x00\x01")
        sock.shutdown(socket.SHUT_WR)
        assert closed_by_server(sock)
        # a whole frame whose body is cut short: Metadata v12 promising topics that never come
        whole = request_bytes(3, 12, 5, body=MetadataRequest(topics=(),
                              allow_auto_topic_creation=False,
                              include_topic_authorized_operations=False))
        cut = whole[4:-3]
        sock = raw_connection(server)
        sock.sendall(struct.pack(">i", len(cut)) + cut)
        assert closed_by_server(sock)
        # an unknown API key, and a version nobody supports, close the connection
        for api_key, version in ((999, 0), (3, 99), (1, 3)):
            sock = raw_connection(server)
            frame = struct.pack(">hhih", api_key, version, 9, 3) + b"abc" + b"\x00" * 8
            sock.sendall(struct.pack(">i", len(frame)) + frame)
            assert closed_by_server(sock), (api_key, version)
        # ...but ApiVersions of an unknown version is answered with v0, UNSUPPORTED_VERSION
        sock = raw_connection(server)
        frame = struct.pack(">hhih", 18, 99, 42, 3) + b"abc\x00"
        sock.sendall(struct.pack(">i", len(frame)) + frame)
        answer = read_frame(sock)
        assert struct.unpack_from(">i", answer)[0] == 42
        response, _ = entity_reader(ApiVersionsResponse)(answer, 4)
        assert int(response.error_code) == 35
        assert (18, 0, 4) in {(a.api_key, a.min_version, a.max_version) for a in response.api_keys}
        # oversized and negative size prefixes: closed before any body is read
        for size in (104_857_601, 2**31 - 1, -1):
            sock = raw_connection(server)
            sock.sendall(struct.pack(">i", size) + b"\x00" * 16)
            assert closed_by_server(sock), size
        # random garbage, in whole frames and loose: answered or closed, never the server
        rng = random.Random(7)
        for _ in range(30):
            sock = raw_connection(server)
            junk = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 120)))
            if rng.random() < 0.7:
                junk = struct.pack(">i", len(junk)) + junk
            sock.sendall(junk)
            sock.shutdown(socket.SHUT_WR)
            with contextlib.suppress(ConnectionError):
                while sock.recv(65536):
                    pass
            sock.close()
        # a record batch whose CRC does not match is CORRUPT_MESSAGE; the real one is appended
        leader = server.leader("t", 0)
        sock = raw_connection(server, leader)
        batch = bytearray(encode_batch([(0, int(time.time() * 1000), b"k", b"v", ())]))
        good = bytes(batch)
        batch[-1] ^= 0xFF
        assert produce_error(sock, "t", 0, bytes(batch))[0] == 2      # CORRUPT_MESSAGE
        assert produce_error(sock, "t", 0, good) == (0, 0)
        assert produce_error(sock, "t", 0, good + good)[0] == 87     # INVALID_RECORD: 2 batches

        # the connection that did nothing wrong still works, as does a real client
        bystander.sendall(request_bytes(18, 0, 3))
        assert struct.unpack_from(">i", read_frame(bystander))[0] == 3
        producer = KafkaProducer(bootstrap_servers=server.bootstrap_servers, acks="all")
        assert producer.send("t", b"still here", partition=0).get(timeout=10).offset == 1
        producer.close()
        assert server._thread.is_alive()


# -- the command line ------------------------------------------------------------------------

def test_the_command_line_serves_clients_and_obeys_a_crash_typed_on_stdin():
    from kafka import KafkaProducer, TopicPartition
    command = [sys.executable, "-m", "kafkadojo.cli", "serve", "--port", "0",
               "--topic", "cli:1:3", "--config", "min.insync.replicas=2"]
    for name, value in FAST.items():
        command += ["--config", f"{name}={value}"]
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               text=True, bufsize=1)
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout],
                     daemon=True).start()

    def expect(pattern, timeout_s=15):
        deadline = time.time() + timeout_s
        while time.time() < deadline:
            with contextlib.suppress(queue.Empty):
                line = lines.get(timeout=0.2)
                match = re.search(pattern, line)
                if match:
                    return match
        raise AssertionError(f"no line matching {pattern!r}")

    try:
        bootstrap = expect(r"bootstrap: (\S+)").group(1)
        status = expect(r"brokers: (.*)").group(1)
        ports = {int(b): int(p) for b, p in re.findall(r"(\d+) up \([\d.]+:(\d+)\)", status)}
        leader = int(expect(r"cli-0: leader (\d+)").group(1))
        producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", retries=100,
                                 retry_backoff_ms=50, metadata_max_age_ms=1000)
        for i in range(5):
            producer.send("cli", f"before-{i}".encode()).get(timeout=10)

        process.stdin.write(f"crash {leader}\n")
        process.stdin.flush()
        expect(rf"broker {leader} crashed")
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", ports[leader]), timeout=2)
        new_leader = int(expect(r"cli-0: broker (\d+) elected leader").group(1))
        assert new_leader != leader
        for i in range(5):
            producer.send("cli", f"after-{i}".encode()).get(timeout=10)
        producer.close()

        consumer = kafka_python_consumer(type("S", (), {"bootstrap_servers": bootstrap}))
        consumer.assign([TopicPartition("cli", 0)])
        got = [m.value for m in kafka_python_poll(consumer, 10)]
        consumer.close()
        assert sorted(got) == sorted([f"before-{i}".encode() for i in range(5)]
                                     + [f"after-{i}".encode() for i in range(5)])

        process.stdin.write("status\n")
        process.stdin.flush()
        expect(rf"cli-0: leader {new_leader}, epoch 1")
        process.stdin.write("quit\n")
        process.stdin.flush()
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
