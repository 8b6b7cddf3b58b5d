"""Real Kafka clients, simulated brokers: the request side of ``kafkadojo serve``
(Kafka's ``RequestChannel.Request`` and ``KafkaApis``).

A real client (kafka-python, aiokafka, librdkafka, Java) speaks Kafka's binary protocol
over TCP. ``network_server.py`` owns the sockets; this module turns bytes into engine
requests and the engine's answers back into bytes. A request travels like this:

1. **Frame.** Every request is a 4-byte size, then that many bytes (``take_frame``).
2. **Header.** The frame starts with the API key (which request: 0 Produce, 1 Fetch, ...),
   its version, a correlation id the client matches the answer by, and the client id
   (``parse_request``). Header v1, or v2 (with tagged fields) for a "flexible" version.
3. **Body.** ``kio`` reads the body with the schema Kafka generates from its JSON message
   definitions, for exactly that API and version. Unknown keys, versions we do not
   advertise, and bytes that do not parse are ``InvalidRequest``: the connection is closed,
   as Kafka's SocketServer does. (ApiVersions is the exception: a client may ask with a
   version newer than ours, and is answered with v0 and UNSUPPORTED_VERSION, so it can
   ask again with one we know.)
4. **Engine request.** ``KafkaApis`` sends the engine's own broker handler
   (``Broker.handle_produce``, ``handle_fetch``, ``handle_group_request``, ...) over the
   simulated network, from a ``ClientNode``: one simulated client per TCP connection. The
   engine cannot tell it from its own simulated clients, so its rules decide every answer:
   leaders and leader epochs, the ISR, acks and min.insync.replicas, ACLs, quotas, the group
   and transaction coordinators. One Kafka request naming several partitions becomes one
   engine request per partition (the engine's handlers take one partition each).
5. **Answer.** The engine answers by sending ``respond(response)`` back over the simulated
   network (with its latency, partitions and crashes). When every part of a request has
   its answer, ``KafkaApis`` builds the response with ``kio`` (field names as in Kafka's
   schemas; fields a version lacks are left out) and hands it to the connection, which
   writes ``size | response header | body``. The response header is v1 for a flexible
   version, v0 otherwise, and always v0 for ApiVersions.

Records go through the engine's own codec: a produced batch is read with
``record_batch.decode_batch`` (a CRC that does not match is CORRUPT_MESSAGE) into the
columns the engine stores; a fetch encodes the batches the engine returns with
``encode_batch``, with their real offsets, leader epochs, timestamps, producer ids,
sequence numbers and transactional/control bits.

Simplifications, said plainly:

- APIs: only those in ``SUPPORTED_VERSIONS``; no admin APIs (CreateTopics,
  DescribeConfigs, ...), no fetch sessions (KIP-227: every fetch is a full one,
  ``session_id`` 0), no topic ids in requests (Fetch stops at v12, Produce at v11);
  Metadata reports a topic id derived from the topic's name. Transactions as Kafka 3.x
  runs them (``transaction.version`` 1).
- kio refuses a request with a tagged field its schema does not know (Kafka skips it):
  such a request closes the connection.
- OffsetForLeaderEpoch goes to the engine's handler for followers; the DESCRIBE ACL Kafka
  checks for a client is checked at the broker, before it.
- ListOffsets answers only the earliest (-2, and -4: without tiered storage the local log
  is the log) and the latest (-1) offset; a timestamp lookup is INVALID_REQUEST.
- Fetch answers as soon as any partition has data (or ``min.bytes`` is reached), without
  ``max.bytes`` across partitions (each partition's ``partition_max_bytes`` holds).
- OffsetFetch for "all partitions" asks the coordinator about every partition of every
  topic and returns those with an offset. Committed metadata strings and leader epochs
  are not kept (the engine stores offsets only).
- Each TCP connection is its own simulated client: SASL sessions are per connection, as in
  Kafka, but client quotas are counted per connection, not per client id.
- SaslHandshake v1 only (v0's unframed tokens are not read); SCRAM only, as the engine.
- Auto topic creation (``auto.create.topics.enable``, on by default in Kafka) is a server
  option here: the broker asks the controller over the simulated network, as Kafka's
  AutoTopicCreationManager does.
- No TLS: PLAINTEXT and SASL_PLAINTEXT listeners only.
"""

import dataclasses
import datetime
import functools
import io
import logging
import struct
import sys
import uuid
from collections import Counter
from typing import NamedTuple

from kio.index import load_request_schema, load_response_schema
from kio.schema.errors import ErrorCode
from kio.serial import entity_reader, entity_writer

from . import errors
from .authenticator import sasl_required
from .cluster import LEGAL_TOPIC_NAME
from .coordinator import OFFSETS_TOPIC, Subscription
from .record_batch import HEADER_BYTES, MAGIC, decode_batch, encode_batch
from .transaction_coordinator import TRANSACTION_STATE_TOPIC

log = logging.getLogger("kafkadojo.serve")

# API keys (Kafka's ApiKeys)
PRODUCE, FETCH, LIST_OFFSETS, METADATA = 0, 1, 2, 3
OFFSET_COMMIT, OFFSET_FETCH, FIND_COORDINATOR = 8, 9, 10
JOIN_GROUP, HEARTBEAT, LEAVE_GROUP, SYNC_GROUP = 11, 12, 13, 14
SASL_HANDSHAKE, API_VERSIONS = 17, 18
INIT_PRODUCER_ID, OFFSET_FOR_LEADER_EPOCH = 22, 23
ADD_PARTITIONS_TO_TXN, ADD_OFFSETS_TO_TXN, END_TXN = 24, 25, 26
TXN_OFFSET_COMMIT, SASL_AUTHENTICATE = 28, 36

# What ApiVersions advertises: (oldest, newest) version handled here. The oldest are
# Kafka 4.0's (KIP-896 removed the older ones); the newest stop before topic ids (Fetch 13,
# Produce 12+), OffsetFetch's batched groups (8), and transaction version 2's EndTxn (5).
SUPPORTED_VERSIONS = {
    PRODUCE: (3, 11), FETCH: (4, 12), LIST_OFFSETS: (1, 10), METADATA: (0, 12),
    OFFSET_COMMIT: (2, 9), OFFSET_FETCH: (1, 7), FIND_COORDINATOR: (0, 5),
    JOIN_GROUP: (0, 9), HEARTBEAT: (0, 4), LEAVE_GROUP: (0, 5), SYNC_GROUP: (0, 5),
    SASL_HANDSHAKE: (1, 1), API_VERSIONS: (0, 4), INIT_PRODUCER_ID: (0, 5),
    OFFSET_FOR_LEADER_EPOCH: (2, 4),
    ADD_PARTITIONS_TO_TXN: (0, 3), ADD_OFFSETS_TO_TXN: (0, 4), END_TXN: (0, 4),
    TXN_OFFSET_COMMIT: (0, 3), SASL_AUTHENTICATE: (0, 2),
}

API_NAMES = {
    PRODUCE: "Produce", FETCH: "Fetch", LIST_OFFSETS: "ListOffsets", METADATA: "Metadata",
    OFFSET_COMMIT: "OffsetCommit", OFFSET_FETCH: "OffsetFetch",
    FIND_COORDINATOR: "FindCoordinator", JOIN_GROUP: "JoinGroup", HEARTBEAT: "Heartbeat",
    LEAVE_GROUP: "LeaveGroup", SYNC_GROUP: "SyncGroup", SASL_HANDSHAKE: "SaslHandshake",
    API_VERSIONS: "ApiVersions", INIT_PRODUCER_ID: "InitProducerId",
    OFFSET_FOR_LEADER_EPOCH: "OffsetForLeaderEpoch",
    ADD_PARTITIONS_TO_TXN: "AddPartitionsToTxn", ADD_OFFSETS_TO_TXN: "AddOffsetsToTxn",
    END_TXN: "EndTxn", TXN_OFFSET_COMMIT: "TxnOffsetCommit",
    SASL_AUTHENTICATE: "SaslAuthenticate",
}

# Before a SASL listener has authenticated a connection, only these may be asked.
SASL_APIS = (API_VERSIONS, SASL_HANDSHAKE, SASL_AUTHENTICATE)

# socket.request.max.bytes: a larger size prefix closes the connection
DEFAULT_MAX_REQUEST_BYTES = 104_857_600

UNSUPPORTED_VERSION = 35
ILLEGAL_SASL_STATE = 34
UNKNOWN_TOPIC_ID = 100
AUTHORIZED_OPERATIONS_OMITTED = -2147483648     # Integer.MIN_VALUE: not asked for
INTERNAL_TOPICS = (OFFSETS_TOPIC, TRANSACTION_STATE_TOPIC)
COORDINATOR_ERRORS = (errors.NotCoordinatorError, errors.CoordinatorNotAvailableError,
                      errors.CoordinatorLoadInProgressError,
                      errors.GroupAuthorizationFailedError)


class InvalidRequest(Exception):
    """Bytes that are not a request we can answer: the connection is closed."""


class FrameTooLarge(InvalidRequest):
    """A size prefix below 0 or above socket.request.max.bytes."""


class Request(NamedTuple):
    """One parsed request (``RequestChannel.Request``); ``body`` is the kio entity, None
    for an ApiVersions request of a version we do not know."""
    api_key: int
    api_version: int
    correlation_id: int
    client_id: str
    body: object


class ClientNode:
    """One TCP connection as a node of the simulated network: what the engine's broker
    handlers see as the requester, and where their answers are delivered. ``alive`` turns
    False when the connection closes, and the network then drops answers on their way.
    ``host`` is the client's address, as ACLs name hosts."""

    def __init__(self, node_id, host, on_link_broken=None):
        self.node_id = node_id
        self.host = host
        self.alive = True
        self.incarnation = 0
        self.on_link_broken = on_link_broken

    def connection_broken(self, other):
        """The simulated network broke this node's link (``drop_rate``): so does TCP."""
        if self.on_link_broken is not None:
            self.on_link_broken(other)

    def __repr__(self):
        return f"ClientNode({self.node_id!r}, {self.host})"


# -- the wire: frames, headers, responses ---------------------------------------------------

def take_frame(buffer, max_request_bytes=DEFAULT_MAX_REQUEST_BYTES):
    """The next whole request frame from ``buffer`` (a bytearray, consumed), or None if it
    has not all arrived yet. A size below 0 or above ``max_request_bytes`` is refused before
    its bytes are read (Kafka's ``NetworkReceive``: InvalidReceiveException)."""
    if len(buffer) < 4:
        return None
    (size,) = struct.unpack_from(">i", buffer)
    if size < 0 or size > max_request_bytes:
        raise FrameTooLarge(f"a request of {size} bytes (socket.request.max.bytes="
                            f"{max_request_bytes})")
    if len(buffer) < 4 + size:
        return None
    frame = bytes(buffer[4:4 + size])
    del buffer[:4 + size]
    return frame


def is_supported(api_key, api_version):
    versions = SUPPORTED_VERSIONS.get(api_key)
    return versions is not None and versions[0] <= api_version <= versions[1]


@functools.lru_cache(maxsize=None)
def _reader(entity_class):
    return entity_reader(entity_class)


@functools.lru_cache(maxsize=None)
def _writer(entity_class):
    return entity_writer(entity_class)


def parse_request(frame):
    """A frame's ``Request``; ``InvalidRequest`` for anything we cannot answer."""
    if len(frame) < 8:
        raise InvalidRequest(f"{len(frame)} bytes: shorter than a request header")
    api_key, api_version, correlation_id = struct.unpack_from(">hhi", frame)
    if api_key == API_VERSIONS and not is_supported(api_key, api_version):
        # answered with v0 and UNSUPPORTED_VERSION; nothing after the correlation id is read
        return Request(api_key, api_version, correlation_id, "", None)
    if api_key not in SUPPORTED_VERSIONS:
        raise InvalidRequest(f"unknown or unsupported API key {api_key}")
    if not is_supported(api_key, api_version):
        raise InvalidRequest(f"API key {api_key} version {api_version} is not supported "
                             f"(versions {SUPPORTED_VERSIONS[api_key]})")
    try:
        schema = load_request_schema(api_key, api_version)
        header, at = _reader(schema.__header_schema__)(frame, 0)
        body, size = _reader(schema)(frame, at)
    except Exception as error:      # noqa: BLE001 - kio's readers fail in several ways
        raise InvalidRequest(f"API key {api_key} v{api_version} does not parse: "
                             f"{type(error).__name__}: {error}") from None
    if at + size != len(frame):
        raise InvalidRequest(f"{len(frame) - at - size} bytes follow the request body")
    return Request(api_key, api_version, correlation_id, header.client_id or "", body)


def encode_response(correlation_id, response):
    """``size | response header | body``: the header is the one kio's schema names for the
    response (v1 for a flexible version, v0 otherwise and for ApiVersions)."""
    header_schema = type(response).__header_schema__
    out = io.BytesIO()
    out.write(b"\0\0\0\0")
    _writer(header_schema)(out, header_schema(correlation_id=correlation_id))
    _writer(type(response))(out, response)
    data = out.getbuffer()
    struct.pack_into(">i", data, 0, len(data) - 4)
    return bytes(data)


def api_versions_listing(schema):
    return tuple(schema("ApiVersion", api_key=key, min_version=low, max_version=high)
                 for key, (low, high) in sorted(SUPPORTED_VERSIONS.items()))


def unsupported_api_versions_response(correlation_id):
    """ApiVersions asked with a version we do not know: v0, UNSUPPORTED_VERSION, and the
    versions we do know (Kafka's ``ApiVersionsRequest.getErrorResponse``)."""
    schema = ResponseSchema.of(API_VERSIONS, 0)
    response = schema.body(error_code=UNSUPPORTED_VERSION, api_keys=api_versions_listing(schema))
    return encode_response(correlation_id, response)


class ResponseSchema:
    """The kio classes of one API's response at one version. Handlers build every response
    with the newest field names; a field this version does not have is left out."""

    def __init__(self, api_key, api_version):
        self.top = load_response_schema(api_key, api_version)
        self.module = sys.modules[self.top.__module__]

    @staticmethod
    @functools.lru_cache(maxsize=None)
    def of(api_key, api_version):
        return ResponseSchema(api_key, api_version)

    def __call__(self, entity_name, /, **fields):
        return _build(getattr(self.module, entity_name), fields)

    def has(self, name):
        return hasattr(self.module, name)

    def body(self, **fields):
        return _build(self.top, fields)


def _build(entity_class, fields):
    values = {}
    for field in dataclasses.fields(entity_class):
        if field.name in fields:
            values[field.name] = _as_field(field, fields[field.name])
    return entity_class(**values)


def _as_field(field, value):
    kafka_type = field.metadata.get("kafka_type")
    if kafka_type in ("timedelta_i32", "timedelta_i64") and isinstance(value, int):
        return datetime.timedelta(milliseconds=value)
    if kafka_type == "datetime_i64" and isinstance(value, int):
        return None if value < 0 else datetime.datetime.fromtimestamp(
            value / 1000, datetime.timezone.utc)
    if kafka_type == "error_code":
        try:
            return ErrorCode(value)
        except ValueError:
            return ErrorCode.unknown_server_error
    if isinstance(value, list):
        return tuple(value)
    return value


def millis(value):
    """A duration field as milliseconds (kio reads them as timedeltas)."""
    if isinstance(value, datetime.timedelta):
        return int(value / datetime.timedelta(milliseconds=1))
    return int(value)


def not_negative(duration_ms):
    """A client's timeout as the engine may take it: a timer set in the past would run the
    simulator's clock backwards (Kafka expires such a request at once)."""
    return max(duration_ms, 0)


def code(error):
    """The Kafka error code of an engine answer (0: none)."""
    if error is None:
        return 0
    return error.code if isinstance(getattr(error, "code", None), int) else -1


def message(error):
    return None if error is None else str(error)


def topic_id(name):
    """A topic's id, derived from its name: the engine names topics, Kafka 2.8+ also
    numbers them (KIP-516), and clients only compare ids."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"kafkadojo:topic:{name}")


# -- the consumer protocol: what group members tell each other through the coordinator -----

class WireSubscription(Subscription):
    """A member's subscription as the engine's coordinator reads it (topics, owned
    partitions, generation), carrying the bytes the member sent: the group leader gets
    them back as they were, user data and all."""


def _consumer_protocol(kind, version):
    name = f"kio.schema.consumer_protocol_{kind}.v{version}.data"
    __import__(name)
    module = sys.modules[name]
    return module, getattr(module, f"ConsumerProtocol{kind.capitalize()}")


def decode_subscription(metadata):
    """ConsumerProtocolSubscription (an int16 version, then that version's fields; a newer
    version than we know is read as the newest, as Kafka's ConsumerProtocol reads it). Bytes
    that are not one (another protocol type, such as Connect's) subscribe to nothing."""
    metadata = bytes(metadata or b"")
    try:
        (version,) = struct.unpack_from(">h", metadata)
        _, schema = _consumer_protocol("subscription", max(0, min(version, 3)))
        subscription, _ = _reader(schema)(metadata, 2)
        owned = tuple((tp.topic, p) for tp in getattr(subscription, "owned_partitions", ())
                      for p in tp.partitions)
        result = WireSubscription(tuple(subscription.topics), owned,
                                  getattr(subscription, "generation_id", -1))
    except Exception:       # noqa: BLE001 - not a consumer's subscription
        result = WireSubscription(())
    result.metadata = metadata
    return result


def encode_subscription(subscription):
    raw = getattr(subscription, "metadata", None)
    if raw is not None:
        return raw
    module, schema = _consumer_protocol("subscription", 1)
    out = io.BytesIO()
    out.write(struct.pack(">h", 1))
    _writer(schema)(out, schema(topics=tuple(subscription.topics), user_data=None,
                                owned_partitions=_topic_partitions(module, subscription.owned)))
    return out.getvalue()


def decode_assignment(data):
    """ConsumerProtocolAssignment: the ``(topic, partition)`` pairs it assigns (none, for
    bytes of another protocol type: the members get them back as they were anyway)."""
    data = bytes(data or b"")
    try:
        (version,) = struct.unpack_from(">h", data)
        _, schema = _consumer_protocol("assignment", max(0, min(version, 3)))
        assignment, _ = _reader(schema)(data, 2)
    except Exception:       # noqa: BLE001 - not a consumer's assignment
        return ()
    return tuple((tp.topic, p) for tp in assignment.assigned_partitions for p in tp.partitions)


def encode_assignment(partitions):
    module, schema = _consumer_protocol("assignment", 0)
    out = io.BytesIO()
    out.write(struct.pack(">h", 0))
    _writer(schema)(out, schema(assigned_partitions=_topic_partitions(module, partitions),
                                user_data=None))
    return out.getvalue()


def _topic_partitions(module, partitions):
    by_topic = {}
    for topic, partition in partitions:
        by_topic.setdefault(topic, []).append(partition)
    return tuple(module.TopicPartition(topic=t, partitions=tuple(sorted(ps)))
                 for t, ps in sorted(by_topic.items()))


# -- records: the engine's columns <-> record batch bytes -------------------------------------

class ProducedBatch(NamedTuple):
    """A produced batch as the engine's ``handle_produce`` takes it."""
    keys: list | None
    values: list
    timestamps: list
    headers: list | None
    producer: tuple | None
    compression: tuple | None


def read_produced_batch(records, transactional_id):
    """The one record batch of a produce request's partition (Kafka's ``ProduceRequest``
    v3+ takes exactly one, magic v2), checked as the broker's LogValidator checks it.
    Raises the Kafka error to answer with."""
    data = bytes(records or b"")
    if len(data) < HEADER_BYTES:
        raise errors.CorruptRecordError(f"{len(data)} bytes: not a record batch")
    (length,) = struct.unpack_from(">i", data, 8)
    if length + 12 != len(data):
        raise errors.InvalidRecordError(
            "a produce request carries exactly one record batch per partition")
    if data[16] != MAGIC:
        raise errors.InvalidRecordError(f"magic {data[16]}: produce v3+ takes magic v2")
    batch = decode_batch(data)          # CRC, lengths, codec: CORRUPT_MESSAGE
    attributes = batch.attributes
    if attributes.control:
        raise errors.InvalidRecordError("a producer may not write control batches")
    if not batch.records:
        raise errors.InvalidRecordError("a record batch with no records")
    if any(record.offset != batch.base_offset + i for i, record in enumerate(batch.records)):
        raise errors.InvalidRecordError("the records' offset deltas are not 0, 1, 2, ...")
    if attributes.transactional and not transactional_id:
        raise errors.InvalidRecordError("a transactional batch without a transactional.id")
    producer = None
    if batch.producer_id >= 0:
        producer = (batch.producer_id, batch.producer_epoch, batch.base_sequence)
        if attributes.transactional:
            producer += (transactional_id,)
    keys = [record.key for record in batch.records]
    headers = [record.headers for record in batch.records]
    compression = None
    if attributes.compression != "none":
        compression = (attributes.compression, len(data) - HEADER_BYTES)
    return ProducedBatch(None if all(k is None for k in keys) else keys,
                         [record.value for record in batch.records],
                         [record.timestamp for record in batch.records],
                         headers if any(headers) else None, producer, compression)


def encode_fetched(batches, topic, partition):
    """The engine's batches as the bytes a Fetch returns, one record batch v2 each."""
    out = []
    for batch in batches:
        records = [(r.offset, r.timestamp, r.key, r.value, r.headers)
                   for r in batch.records(topic, partition)]
        out.append(encode_batch(
            records, base_offset=batch.base_offset, partition_leader_epoch=batch.leader_epoch,
            codec=batch.compression if records else "none",
            producer_id=batch.producer_id, producer_epoch=batch.producer_epoch,
            base_sequence=batch.base_sequence, transactional=batch.transactional,
            control=batch.control is not None,
            delete_horizon_ms=batch.delete_horizon if batch.delete_horizon >= 0 else None,
            last_offset_delta=batch.next_offset - 1 - batch.base_offset,
            max_timestamp=batch.max_timestamp))
    return b"".join(out)


# -- KafkaApis -----------------------------------------------------------------------------

class Gather:
    """The engine's answers to the parts of one client request (one per partition, per
    group member, per coordinator key): ``done(answers)`` once every one is in."""

    def __init__(self, count, done):
        self.answers = [None] * count
        self.missing = set(range(count))
        self.done = done

    def answer(self, index):
        def respond(response):
            if self.done is None or index not in self.missing:
                return
            self.answers[index] = response
            self.missing.discard(index)
            if not self.missing:
                done, self.done = self.done, None
                done(self.answers)
        return respond

    def finish_if_empty(self):
        if not self.missing and self.done is not None:
            done, self.done = self.done, None
            done(self.answers)


class KafkaApis:
    """Kafka's request handlers, one per API: each turns a request into engine requests,
    and their answers into the response.

    ``channel`` is the request's connection (network_server.Connection): ``node`` (its
    ClientNode), ``broker_id``, ``send_response(request, response)``,
    ``no_response(request)`` and ``close(reason)``. ``endpoints`` maps each broker id to
    the ``(host, port)`` its listener has."""

    def __init__(self, cluster, endpoints, auto_create_topics=True, cluster_id="kafkadojo"):
        self.cluster = cluster
        self.network = cluster.network
        self.endpoints = endpoints
        self.auto_create_topics = auto_create_topics
        self.cluster_id = cluster_id
        # (group id, member id) -> (generation, the assignment bytes its leader sent)
        self.assignments = {}
        self.requests = Counter()       # "Produce v9" -> requests handled (RequestsPerSec)
        self.handlers = {
            PRODUCE: self.handle_produce_request, FETCH: self.handle_fetch_request,
            LIST_OFFSETS: self.handle_list_offsets_request,
            METADATA: self.handle_metadata_request,
            OFFSET_COMMIT: self.handle_offset_commit_request,
            OFFSET_FETCH: self.handle_offset_fetch_request,
            FIND_COORDINATOR: self.handle_find_coordinator_request,
            JOIN_GROUP: self.handle_join_group_request,
            HEARTBEAT: self.handle_heartbeat_request,
            LEAVE_GROUP: self.handle_leave_group_request,
            SYNC_GROUP: self.handle_sync_group_request,
            SASL_HANDSHAKE: self.handle_sasl_handshake_request,
            API_VERSIONS: self.handle_api_versions_request,
            INIT_PRODUCER_ID: self.handle_init_producer_id_request,
            OFFSET_FOR_LEADER_EPOCH: self.handle_offset_for_leader_epoch_request,
            ADD_PARTITIONS_TO_TXN: self.handle_add_partitions_to_txn_request,
            ADD_OFFSETS_TO_TXN: self.handle_add_offsets_to_txn_request,
            END_TXN: self.handle_end_txn_request,
            TXN_OFFSET_COMMIT: self.handle_txn_offset_commit_request,
            SASL_AUTHENTICATE: self.handle_sasl_authenticate_request,
        }

    # -- plumbing --------------------------------------------------------------------------
    def handle(self, request, channel):
        """Answer one request (``KafkaApis.handle``). Before a SASL listener has
        authenticated the connection, anything but the SASL exchange closes it."""
        broker = self.cluster.brokers[channel.broker_id]
        self.requests[f"{API_NAMES[request.api_key]} v{request.api_version}"] += 1
        if (request.api_key not in SASL_APIS and sasl_required(broker.config)
                and broker.authenticator.principal_of(channel.node) is None):
            channel.close(f"API key {request.api_key} before SASL authentication")
            return
        self.handlers[request.api_key](request, channel, broker)

    def send(self, channel, broker, handler, *args):
        """An engine request from the connection's node to ``broker``, over the simulated
        network. Should the engine fail on what a client sent, that client's connection
        closes and the server goes on."""
        def deliver(*delivered):
            try:
                handler(*delivered)
            except Exception:       # noqa: BLE001 - contain one client's failure
                log.exception("the engine failed on a request from %s", channel.node)
                channel.close("the engine failed on its request")
        self.network.send(channel.node, broker, deliver, *args)

    def reply(self, request, channel, build):
        """A ``done`` callback: ``build(answers)`` makes the response (a failure while
        making it closes that connection, not the server)."""
        def done(answers):
            try:
                response = build(answers)
            except Exception:       # noqa: BLE001
                log.exception("building the response to API key %d v%d failed",
                              request.api_key, request.api_version)
                channel.close("building its response failed")
                return
            channel.send_response(request, response)
        return done

    def endpoint(self, broker_id):
        return self.endpoints.get(broker_id, ("", -1))

    # -- ApiVersions -------------------------------------------------------------------------
    def handle_api_versions_request(self, request, channel, broker):
        schema = ResponseSchema.of(API_VERSIONS, request.api_version)
        channel.send_response(request, schema.body(
            error_code=0, api_keys=api_versions_listing(schema), throttle_time=0))

    # -- Metadata ---------------------------------------------------------------------------
    def handle_metadata_request(self, request, channel, broker):
        body = request.body
        topics = None if body.topics is None else [t.name for t in body.topics]
        if request.api_version == 0 and not topics:
            topics = None                   # v0: an empty list means every topic
        unnamed = topics is not None and None in topics     # asked by topic id only
        if unnamed:
            topics = [t for t in topics if t is not None]
        may_create = self.auto_create_topics and getattr(body, "allow_auto_topic_creation", True)
        creating = set()                    # the topics the broker asked the controller for
        schema = ResponseSchema.of(METADATA, request.api_version)

        def build(answers):
            live, result = answers[0]
            described = [self.topic_metadata(schema, name, registrations, live, creating)
                         for name, registrations in result.items()]
            if unnamed:
                described.append(schema("MetadataResponseTopic", error_code=UNKNOWN_TOPIC_ID,
                                        name=None, topic_id=uuid.UUID(int=0),
                                        is_internal=False, partitions=(),
                                        topic_authorized_operations=AUTHORIZED_OPERATIONS_OMITTED))
            brokers = [schema("MetadataResponseBroker", node_id=b, host=self.endpoint(b)[0],
                              port=self.endpoint(b)[1], rack=None)
                       for b in live if b in self.endpoints]
            return schema.body(throttle_time=0, brokers=brokers, cluster_id=self.cluster_id,
                               controller_id=min(live, default=-1), topics=described,
                               cluster_authorized_operations=AUTHORIZED_OPERATIONS_OMITTED)

        gather = Gather(1, self.reply(request, channel, build))
        self.send(channel, broker, self.metadata_at_broker, broker, channel.node, topics,
                  may_create, creating, gather.answer(0))

    def metadata_at_broker(self, broker, requester, topics, may_create, creating, respond):
        """Runs at the broker: its Metadata answer, and (auto.create.topics.enable) a
        request to the controller for each named topic it does not know and the client may
        create (Kafka's AutoTopicCreationManager); the answer says LEADER_NOT_AVAILABLE for
        those, and the client asks again."""
        broker.handle_metadata(requester, topics, respond)
        for name in (topics or ()) if may_create else ():
            if (name not in broker.metadata.topics and name not in INTERNAL_TOPICS
                    and LEGAL_TOPIC_NAME.match(name) and name not in (".", "..")
                    and broker.refusal(requester, "CreateTopics", [name]) is None):
                creating.add(name)
                self.create_topic(broker, name)

    def create_topic(self, broker, name):
        """The controller creates ``name`` with the broker's defaults (``num.partitions``,
        ``default.replication.factor``), unless it exists by the time the request arrives."""
        controller = self.cluster.controller
        config = broker.config
        replication_factor = min(config["default.replication.factor"], len(self.cluster.brokers))

        def create():
            if name not in controller.topics:
                controller.create_topic(name, config["num.partitions"], replication_factor, {})
        self.network.send(broker, controller, create)

    def topic_metadata(self, schema, name, registrations, live, creating):
        fields = dict(name=name, topic_id=topic_id(name), is_internal=name in INTERNAL_TOPICS,
                      topic_authorized_operations=AUTHORIZED_OPERATIONS_OMITTED)
        if isinstance(registrations, errors.KafkaError):
            return schema("MetadataResponseTopic", error_code=code(registrations),
                          partitions=(), **fields)
        if registrations is None:
            error = (errors.LeaderNotAvailableError if name in creating
                     else errors.UnknownTopicOrPartitionError)
            return schema("MetadataResponseTopic", error_code=error.code, partitions=(),
                          **fields)
        partitions = [
            schema("MetadataResponsePartition",
                   error_code=0 if reg.leader in live else errors.LeaderNotAvailableError.code,
                   partition_index=index, leader_id=reg.leader, leader_epoch=reg.leader_epoch,
                   replica_nodes=reg.replicas, isr_nodes=reg.isr,
                   offline_replicas=[r for r in reg.replicas if r not in live])
            for index, reg in enumerate(registrations) if reg is not None]
        return schema("MetadataResponseTopic", error_code=0, partitions=partitions, **fields)

    # -- Produce -----------------------------------------------------------------------------
    def handle_produce_request(self, request, channel, broker):
        body = request.body
        acks = body.acks
        timeout_ms = not_negative(millis(body.timeout))
        parts = [(topic.name, p.index, p.records)
                 for topic in body.topic_data for p in topic.partition_data]
        schema = ResponseSchema.of(PRODUCE, request.api_version)
        if acks == 0:
            done = self.produced_without_acks(request, channel)
        else:
            done = self.reply(request, channel,
                              lambda answers: self.produce_response(schema, parts, answers))
        gather = Gather(len(parts), done)
        for index, (topic, partition, records) in enumerate(parts):
            respond = gather.answer(index)
            try:
                batch = read_produced_batch(records, body.transactional_id)
            except errors.KafkaError as error:
                respond(_ProduceAnswer(error))
                continue
            # acks=0 appends exactly as acks=1 does; asking for the engine's answer lets the
            # broker close the connection on an error, which is how an acks=0 producer learns.
            self.send(channel, broker, broker.handle_produce, channel.node, topic, partition,
                      batch.keys, batch.values, batch.timestamps, batch.headers,
                      1 if acks == 0 else acks, timeout_ms, respond, batch.producer,
                      batch.compression)
        gather.finish_if_empty()

    def produced_without_acks(self, request, channel):
        def done(answers):
            failed = next((a.error for a in answers if a.error is not None), None)
            if failed is not None:
                channel.close(f"acks=0 produce failed: {failed}")
            else:
                channel.no_response(request)
        return done

    def produce_response(self, schema, parts, answers):
        by_topic, hints = {}, {}
        for (topic, partition, _), answer in zip(parts, answers):
            fields = dict(index=partition, error_code=code(answer.error),
                          base_offset=answer.base_offset, log_append_time=-1,
                          log_start_offset=-1, record_errors=(),
                          error_message=message(answer.error))
            if answer.current_leader is not None and schema.has("LeaderIdAndEpoch"):
                leader, epoch = answer.current_leader
                fields["current_leader"] = schema("LeaderIdAndEpoch", leader_id=leader,
                                                  leader_epoch=epoch)
                hints[leader] = self.endpoint(leader)
            by_topic.setdefault(topic, []).append(schema("PartitionProduceResponse", **fields))
        # KIP-951 (v10+): where the new leaders listen, so the producer need not ask Metadata
        endpoints = [schema("NodeEndpoint", node_id=b, host=host, port=port, rack=None)
                     for b, (host, port) in sorted(hints.items())]
        return schema.body(
            responses=[schema("TopicProduceResponse", name=t, partition_responses=ps)
                       for t, ps in by_topic.items()],
            throttle_time=max((a.throttle_time_ms for a in answers), default=0),
            node_endpoints=endpoints)

    # -- Fetch --------------------------------------------------------------------------------
    def handle_fetch_request(self, request, channel, broker):
        """A consumer's fetch. First every partition is read without waiting; if that is
        not ``min_bytes``, every partition is asked again with the request's ``max_wait``
        (the engine's long poll), and the request is answered as soon as ``min_bytes`` have
        come (a ``DelayedFetch``)."""
        body = request.body
        read_committed = getattr(body, "isolation_level", 0) == 1
        parts = [(topic.topic, p.partition, p.fetch_offset,
                  _epoch_or_none(getattr(p, "current_leader_epoch", -1)), p.partition_max_bytes)
                 for topic in body.topics for p in topic.partitions]
        max_wait_ms = millis(body.max_wait)
        schema = ResponseSchema.of(FETCH, request.api_version)
        respond = self.reply(request, channel, lambda answers: self.fetch_response(
            schema, parts, answers, read_committed))

        def first_look(answers):
            ready = sum(_fetched_bytes(a) for a in answers)
            if (not parts or max_wait_ms <= 0 or body.min_bytes <= 0 or ready >= body.min_bytes
                    or any(a.error is not None for a in answers)):
                respond(answers)
                return
            delayed = DelayedFetch(answers, body.min_bytes, respond)
            for index, (topic, partition, offset, epoch, max_bytes) in enumerate(parts):
                self.send(channel, broker, broker.handle_fetch, channel.node, topic, partition,
                          offset, epoch, -1, max_wait_ms, max_bytes, delayed.answer(index),
                          read_committed)

        gather = Gather(len(parts), first_look)
        for index, (topic, partition, offset, epoch, max_bytes) in enumerate(parts):
            self.send(channel, broker, broker.handle_fetch, channel.node, topic, partition,
                      offset, epoch, -1, 0, max_bytes, gather.answer(index), read_committed)
        gather.finish_if_empty()

    def fetch_response(self, schema, parts, answers, read_committed):
        by_topic = {}
        for (topic, partition, *_), answer in zip(parts, answers):
            aborted = None
            if read_committed:
                aborted = [schema("AbortedTransaction", producer_id=a.producer_id,
                                  first_offset=a.first_offset)
                           for a in answer.aborted_transactions]
            stable = answer.last_stable_offset if answer.last_stable_offset >= 0 \
                else answer.high_watermark
            by_topic.setdefault(topic, []).append(schema(
                "PartitionData", partition_index=partition, error_code=code(answer.error),
                high_watermark=answer.high_watermark, last_stable_offset=stable,
                log_start_offset=answer.log_start_offset, aborted_transactions=aborted,
                preferred_read_replica=-1,
                records=encode_fetched(answer.batches, topic, partition)))
        return schema.body(
            throttle_time=max((a.throttle_time_ms for a in answers), default=0), error_code=0,
            session_id=0,
            responses=[schema("FetchableTopicResponse", topic=t, partitions=ps)
                       for t, ps in by_topic.items()])

    # -- ListOffsets ----------------------------------------------------------------------
    LIST_OFFSETS_SPECS = {-2: "earliest", -1: "latest", -4: "earliest"}

    def handle_list_offsets_request(self, request, channel, broker):
        body = request.body
        read_committed = getattr(body, "isolation_level", 0) == 1
        parts = [(topic.name, p.partition_index, p.timestamp,
                  _epoch_or_none(getattr(p, "current_leader_epoch", -1)))
                 for topic in body.topics for p in topic.partitions]
        schema = ResponseSchema.of(LIST_OFFSETS, request.api_version)

        def build(answers):
            by_topic = {}
            for (topic, partition, *_), (error, offset) in zip(parts, answers):
                by_topic.setdefault(topic, []).append(schema(
                    "ListOffsetsPartitionResponse", partition_index=partition,
                    error_code=code(error), timestamp=-1, offset=offset, leader_epoch=-1))
            return schema.body(throttle_time=0, topics=[
                schema("ListOffsetsTopicResponse", name=t, partitions=ps)
                for t, ps in by_topic.items()])

        gather = Gather(len(parts), self.reply(request, channel, build))
        for index, (topic, partition, timestamp, epoch) in enumerate(parts):
            which = self.LIST_OFFSETS_SPECS.get(timestamp)
            if which is None:
                gather.answer(index)((errors.InvalidRequestError(
                    f"ListOffsets by timestamp ({timestamp}) is not supported here"), -1))
                continue
            self.send(channel, broker, broker.handle_list_offsets, channel.node, topic,
                      partition, epoch, which, gather.answer(index), read_committed)
        gather.finish_if_empty()

    # -- OffsetForLeaderEpoch ---------------------------------------------------------------
    def handle_offset_for_leader_epoch_request(self, request, channel, broker):
        """KIP-320: after a leader change, a consumer asks where the epoch of its last
        fetched record ends on the new leader; a smaller offset than its position means
        the log it read was truncated."""
        parts = [(topic.topic, p.partition,
                  _epoch_or_none(getattr(p, "current_leader_epoch", -1)), p.leader_epoch)
                 for topic in request.body.topics for p in topic.partitions]
        schema = ResponseSchema.of(OFFSET_FOR_LEADER_EPOCH, request.api_version)

        def build(answers):
            by_topic = {}
            for (topic, partition, *_), (error, epoch, end_offset) in zip(parts, answers):
                by_topic.setdefault(topic, []).append(schema(
                    "EpochEndOffset", error_code=code(error), partition=partition,
                    leader_epoch=epoch, end_offset=end_offset))
            return schema.body(throttle_time=0, topics=[
                schema("OffsetForLeaderTopicResult", topic=t, partitions=ps)
                for t, ps in by_topic.items()])

        gather = Gather(len(parts), self.reply(request, channel, build))
        for index, (topic, partition, current_epoch, epoch) in enumerate(parts):
            self.send(channel, broker, self.offset_for_leader_epoch, broker, channel.node,
                      topic, partition, current_epoch, epoch, gather.answer(index))
        gather.finish_if_empty()

    @staticmethod
    def offset_for_leader_epoch(broker, requester, topic, partition, current_epoch, epoch,
                                respond):
        """Runs at the broker. The engine's handler serves followers, whose requests are
        the cluster's own; a client needs DESCRIBE on the topic first, as in Kafka (the ACL
        ListOffsets needs)."""
        refusal = broker.refusal(requester, "ListOffsets", [topic])
        if refusal is not None:
            broker.reply(requester, respond, (refusal, -1, -1))
            return
        broker.handle_offset_for_leader_epoch(requester, topic, partition, current_epoch,
                                              epoch, respond)

    # -- FindCoordinator -------------------------------------------------------------------
    def handle_find_coordinator_request(self, request, channel, broker):
        body = request.body
        key_type = getattr(body, "key_type", 0)
        batched = request.api_version >= 4          # KIP-699: several keys at once
        keys = list(body.coordinator_keys) if batched else [body.key]
        schema = ResponseSchema.of(FIND_COORDINATOR, request.api_version)

        def described(key, answer):
            error, broker_id = answer
            host, port = self.endpoint(broker_id) if error is None else ("", -1)
            return dict(key=key, node_id=broker_id if error is None else -1, host=host,
                        port=port, error_code=code(error), error_message=message(error))

        def build(answers):
            found = [described(key, answer) for key, answer in zip(keys, answers)]
            if batched:
                return schema.body(throttle_time=0, coordinators=[
                    schema("Coordinator", **fields) for fields in found])
            return schema.body(throttle_time=0, **found[0])

        gather = Gather(len(keys), self.reply(request, channel, build))
        for index, key in enumerate(keys):
            if key_type not in (0, 1):
                gather.answer(index)((errors.InvalidRequestError(
                    f"coordinator key type {key_type}"), -1))
                continue
            self.send(channel, broker, broker.handle_find_coordinator, channel.node, key,
                      gather.answer(index), "transaction" if key_type == 1 else "group")
        gather.finish_if_empty()

    # -- consumer groups -----------------------------------------------------------------
    def group_request(self, channel, broker, handler, group_id, *args):
        """A request for the group coordinator (``Broker.handle_group_request``)."""
        self.send(channel, broker, broker.handle_group_request, handler, channel.node,
                  group_id, *args)

    def handle_join_group_request(self, request, channel, broker):
        body = request.body
        session_timeout_ms = millis(body.session_timeout)
        rebalance_timeout = getattr(body, "rebalance_timeout", None)
        rebalance_timeout_ms = not_negative(session_timeout_ms if rebalance_timeout is None
                                            else millis(rebalance_timeout))
        protocols = [(p.name, decode_subscription(p.metadata)) for p in body.protocols]
        schema = ResponseSchema.of(JOIN_GROUP, request.api_version)
        if not protocols or not body.protocol_type:
            # Kafka's GroupCoordinator refuses these before anything else
            channel.send_response(request, schema.body(
                throttle_time=0, error_code=errors.InconsistentGroupProtocolError.code,
                generation_id=-1, protocol_type=None, protocol_name=None, leader="",
                skip_assignment=False, member_id=body.member_id, members=()))
            return

        def build(answers):
            joined = answers[0]
            members = [schema("JoinGroupResponseMember", member_id=member_id,
                              group_instance_id=instance_id or None,
                              metadata=encode_subscription(subscription))
                       for member_id, instance_id, subscription in joined.members]
            return schema.body(
                throttle_time=0, error_code=code(joined.error), generation_id=joined.generation,
                protocol_type=body.protocol_type,
                protocol_name=joined.protocol if request.api_version >= 7
                else (joined.protocol or ""),
                leader=joined.leader_id or "", skip_assignment=False,
                member_id=joined.member_id or "", members=members)

        gather = Gather(1, self.reply(request, channel, build))
        self.group_request(channel, broker, "handle_join_group", body.group_id, body.member_id,
                           getattr(body, "group_instance_id", None) or None,
                           request.client_id, session_timeout_ms, rebalance_timeout_ms,
                           protocols, gather.answer(0))

    def handle_sync_group_request(self, request, channel, broker):
        body = request.body
        group_id, member_id, generation = body.group_id, body.member_id, body.generation_id
        assignments = {a.member_id: decode_assignment(a.assignment) for a in body.assignments}
        for a in body.assignments:
            self.assignments[(group_id, a.member_id)] = (generation, bytes(a.assignment))
        schema = ResponseSchema.of(SYNC_GROUP, request.api_version)

        def build(answers):
            error, partitions = answers[0]
            assignment = b""
            if error is None:
                kept = self.assignments.get((group_id, member_id))
                assignment = (kept[1] if kept is not None and kept[0] == generation
                              else encode_assignment(partitions))
            else:
                self.assignments.pop((group_id, member_id), None)
            return schema.body(throttle_time=0, error_code=code(error),
                               protocol_type=getattr(body, "protocol_type", None),
                               protocol_name=getattr(body, "protocol_name", None),
                               assignment=assignment)

        gather = Gather(1, self.reply(request, channel, build))
        self.group_request(channel, broker, "handle_sync_group", group_id, generation,
                           member_id, getattr(body, "group_instance_id", None) or None,
                           assignments, gather.answer(0))

    def handle_heartbeat_request(self, request, channel, broker):
        body = request.body
        schema = ResponseSchema.of(HEARTBEAT, request.api_version)
        gather = Gather(1, self.reply(request, channel, lambda answers: schema.body(
            throttle_time=0, error_code=code(answers[0]))))
        self.group_request(channel, broker, "handle_heartbeat", body.group_id,
                           body.generation_id, body.member_id,
                           getattr(body, "group_instance_id", None) or None, gather.answer(0))

    def handle_leave_group_request(self, request, channel, broker):
        body = request.body
        batched = request.api_version >= 3          # KIP-345: several members at once
        members = ([(m.member_id, m.group_instance_id or None) for m in body.members]
                   if batched else [(body.member_id, None)])
        schema = ResponseSchema.of(LEAVE_GROUP, request.api_version)

        def build(answers):
            for member_id, _ in members:
                self.assignments.pop((body.group_id, member_id), None)
            if not batched:
                return schema.body(throttle_time=0, error_code=code(answers[0]))
            group_error = next((e for e in answers if isinstance(e, COORDINATOR_ERRORS)), None)
            return schema.body(throttle_time=0, error_code=code(group_error), members=[
                schema("MemberResponse", member_id=m, group_instance_id=i,
                       error_code=code(e)) for (m, i), e in zip(members, answers)])

        gather = Gather(len(members), self.reply(request, channel, build))
        for index, (member_id, instance_id) in enumerate(members):
            self.group_request(channel, broker, "handle_leave_group", body.group_id,
                               member_id, instance_id, gather.answer(index))
        gather.finish_if_empty()

    @staticmethod
    def committed_offsets(body):
        """An (Txn)OffsetCommit request's offsets: ``{(topic, partition): offset}``."""
        return {(t.name, p.partition_index): p.committed_offset
                for t in body.topics for p in t.partitions}

    @staticmethod
    def commit_response(schema, prefix, body, result):
        """An (Txn)OffsetCommit response (``prefix``: "OffsetCommit" or "TxnOffsetCommit"):
        each partition of the request with the coordinator's error for it."""
        return schema.body(throttle_time=0, topics=[
            schema(f"{prefix}ResponseTopic", name=t.name, partitions=[
                schema(f"{prefix}ResponsePartition", partition_index=p.partition_index,
                       error_code=code(result.get((t.name, p.partition_index))))
                for p in t.partitions])
            for t in body.topics])

    def handle_offset_commit_request(self, request, channel, broker):
        body = request.body
        offsets = self.committed_offsets(body)
        schema = ResponseSchema.of(OFFSET_COMMIT, request.api_version)
        gather = Gather(1, self.reply(request, channel, lambda answers: self.commit_response(
            schema, "OffsetCommit", body, answers[0])))
        self.group_request(channel, broker, "handle_offset_commit", body.group_id,
                           getattr(body, "generation_id_or_member_epoch", -1), body.member_id,
                           getattr(body, "group_instance_id", None) or None, offsets,
                           gather.answer(0))

    def handle_offset_fetch_request(self, request, channel, broker):
        body = request.body
        if body.topics is None:
            # every partition with a committed offset: ask about every partition there is
            partitions = [key for key in broker.metadata.partitions
                          if key[0] not in INTERNAL_TOPICS]
        else:
            partitions = [(t.name, p) for t in body.topics for p in t.partition_indexes]
        schema = ResponseSchema.of(OFFSET_FETCH, request.api_version)

        def build(answers):
            error, offsets = answers[0]
            group_level = isinstance(error, COORDINATOR_ERRORS) and request.api_version >= 2
            by_topic = {}
            for topic, partition in partitions:
                offset = -1 if error is not None else offsets.get((topic, partition), -1)
                if body.topics is None and offset < 0:
                    continue
                by_topic.setdefault(topic, []).append(schema(
                    "OffsetFetchResponsePartition", partition_index=partition,
                    committed_offset=offset, committed_leader_epoch=-1, metadata="",
                    error_code=0 if group_level else code(error)))
            if group_level:
                by_topic = {}
            return schema.body(throttle_time=0, error_code=code(error) if group_level else 0,
                               topics=[schema("OffsetFetchResponseTopic", name=t, partitions=ps)
                                       for t, ps in by_topic.items()])

        gather = Gather(1, self.reply(request, channel, build))
        self.group_request(channel, broker, "handle_offset_fetch", body.group_id, partitions,
                           gather.answer(0))

    # -- transactions ----------------------------------------------------------------------
    def txn_request(self, channel, broker, handler, transactional_id, *args):
        """A request for the transaction coordinator (``Broker.handle_txn_request``)."""
        self.send(channel, broker, broker.handle_txn_request, handler, channel.node,
                  transactional_id, *args)

    def handle_init_producer_id_request(self, request, channel, broker):
        body = request.body
        schema = ResponseSchema.of(INIT_PRODUCER_ID, request.api_version)

        def build(answers):
            error, producer_id, epoch = answers[0]
            return schema.body(throttle_time=0, error_code=code(error),
                               producer_id=producer_id, producer_epoch=epoch)

        gather = Gather(1, self.reply(request, channel, build))
        if body.transactional_id is None:       # an idempotent producer
            self.send(channel, broker, broker.handle_init_producer_id, channel.node, None,
                      gather.answer(0))
        else:
            self.txn_request(channel, broker, "handle_init_producer_id", body.transactional_id,
                             millis(body.transaction_timeout), gather.answer(0))

    def handle_add_partitions_to_txn_request(self, request, channel, broker):
        body = request.body
        topics = body.v3_and_below_topics
        partitions = [(t.name, p) for t in topics for p in t.partitions]
        schema = ResponseSchema.of(ADD_PARTITIONS_TO_TXN, request.api_version)

        def build(answers):
            error = code(answers[0])
            return schema.body(throttle_time=0, results_by_topic_v3_and_below=[
                schema("AddPartitionsToTxnTopicResult", name=t.name, results_by_partition=[
                    schema("AddPartitionsToTxnPartitionResult", partition_index=p,
                           partition_error_code=error) for p in t.partitions])
                for t in topics])

        gather = Gather(1, self.reply(request, channel, build))
        self.txn_request(channel, broker, "handle_add_partitions",
                         body.v3_and_below_transactional_id, body.v3_and_below_producer_id,
                         body.v3_and_below_producer_epoch, partitions, gather.answer(0))

    def handle_add_offsets_to_txn_request(self, request, channel, broker):
        body = request.body
        schema = ResponseSchema.of(ADD_OFFSETS_TO_TXN, request.api_version)
        gather = Gather(1, self.reply(request, channel, lambda answers: schema.body(
            throttle_time=0, error_code=code(answers[0]))))
        self.txn_request(channel, broker, "handle_add_offsets", body.transactional_id,
                         body.producer_id, body.producer_epoch, body.group_id, gather.answer(0))

    def handle_end_txn_request(self, request, channel, broker):
        body = request.body
        schema = ResponseSchema.of(END_TXN, request.api_version)
        gather = Gather(1, self.reply(request, channel, lambda answers: schema.body(
            throttle_time=0, error_code=code(answers[0][0]))))
        self.txn_request(channel, broker, "handle_end_txn", body.transactional_id,
                         body.producer_id, body.producer_epoch, body.committed, gather.answer(0))

    def handle_txn_offset_commit_request(self, request, channel, broker):
        body = request.body
        offsets = self.committed_offsets(body)
        schema = ResponseSchema.of(TXN_OFFSET_COMMIT, request.api_version)
        gather = Gather(1, self.reply(request, channel, lambda answers: self.commit_response(
            schema, "TxnOffsetCommit", body, answers[0])))
        self.group_request(channel, broker, "handle_txn_offset_commit", body.group_id,
                           body.transactional_id, body.producer_id, body.producer_epoch,
                           getattr(body, "generation_id", -1), getattr(body, "member_id", ""),
                           getattr(body, "group_instance_id", None) or None, offsets,
                           gather.answer(0))

    # -- SASL -------------------------------------------------------------------------------
    def handle_sasl_handshake_request(self, request, channel, broker):
        """The mechanism for this connection's exchange (Kafka's SaslServerAuthenticator
        answers it itself); the SCRAM messages follow in SaslAuthenticate."""
        enabled = [m.strip() for m in broker.config["sasl.enabled.mechanisms"].split(",")]
        schema = ResponseSchema.of(SASL_HANDSHAKE, request.api_version)
        mechanism = request.body.mechanism
        if not sasl_required(broker.config):
            error = ILLEGAL_SASL_STATE
        elif mechanism not in enabled:
            error = errors.UnsupportedSaslMechanismError.code
        else:
            error = 0
            channel.sasl_mechanism = mechanism
        channel.send_response(request, schema.body(error_code=error, mechanisms=enabled))

    def handle_sasl_authenticate_request(self, request, channel, broker):
        schema = ResponseSchema.of(SASL_AUTHENTICATE, request.api_version)
        mechanism = getattr(channel, "sasl_mechanism", None)
        if mechanism is None:
            channel.send_response(request, schema.body(
                error_code=ILLEGAL_SASL_STATE, error_message="SaslHandshake first",
                auth_bytes=b"", session_lifetime=0), close_after=True)
            return
        try:
            text = bytes(request.body.auth_bytes).decode("utf-8")
        except UnicodeDecodeError:
            text = "\ufffd"         # the engine's SCRAM server refuses it, as Kafka would

        def answered(answers):
            error, reply = answers[0]
            channel.send_response(request, schema.body(
                error_code=code(error), error_message=message(error),
                auth_bytes=(reply or "").encode("utf-8"), session_lifetime=0),
                close_after=error is not None)  # a failed authentication ends the connection

        gather = Gather(1, answered)
        self.send(channel, broker, broker.handle_sasl_authenticate, channel.node, mechanism,
                  text, gather.answer(0))


class DelayedFetch:
    """Kafka's DelayedFetch: a fetch waiting until its partitions have ``min_bytes``
    between them, or each partition's long poll (the engine's) has run out. It is answered
    with the newest answer of each partition; answers after that are dropped."""

    def __init__(self, first_answers, min_bytes, respond):
        self.latest = list(first_answers)
        self.waiting = len(self.latest)
        self.fetched_bytes = 0
        self.min_bytes = min_bytes
        self.respond = respond

    def answer(self, index):
        def arrived(response):
            if self.respond is None:
                return
            self.latest[index] = response
            self.fetched_bytes += _fetched_bytes(response)
            self.waiting -= 1
            if (self.fetched_bytes >= self.min_bytes or response.error is not None
                    or self.waiting == 0):
                respond, self.respond = self.respond, None
                respond(self.latest)
        return arrived


class _ProduceAnswer(NamedTuple):
    """A produce refused before the engine saw it (a batch that does not decode)."""
    error: errors.KafkaError
    base_offset: int = -1
    current_leader: tuple | None = None
    throttle_time_ms: int = 0


def _epoch_or_none(epoch):
    """A request's current leader epoch (-1: the client does not know one)."""
    return None if epoch is None or epoch < 0 else epoch


def _fetched_bytes(answer):
    return sum(batch.size_bytes for batch in answer.batches)
