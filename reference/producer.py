"""The producer: partitioning, batching, acks and retries (Kafka's ``KafkaProducer``).

``send()`` never waits: it picks a partition, appends the record to an open batch in the
*record accumulator* and returns a future. A batch leaves when it is full (``batch.size``)
or has waited ``linger.ms``; it goes to the partition's leader as the producer's cached
metadata names it. A retriable error (a stale leader, too few in-sync replicas, a timeout)
puts the batch back at the front of its partition's queue, to be sent again after a backoff
(``retry.backoff.ms``, doubling) until ``delivery.timeout.ms`` runs out. A broker that is
down refuses the connection: its batches wait in the accumulator, spending no attempts,
while the producer reconnects after ``reconnect.backoff.ms`` (doubling) and refreshes its
metadata to find the partition's new leader.

A timeout is the interesting case: the first attempt may have been written after all, so
a retry could duplicate records. The *idempotent* producer (``enable.idempotence``, on by
default since Kafka 3.0) prevents that: it gets a producer id (InitProducerId) and numbers
the records it sends to each partition, so the leader recognises a retry it has already
appended, and refuses a batch sent behind one that is being retried (producer_state.py).
Retries then go back in sequence order, one partition's lowest unacknowledged batch first.
"""

import struct
from collections import deque
from functools import partial

from . import errors
from .client import Client
from .config import PRODUCER_DEFAULTS, merged, normalize_acks, require
from .partitioner import BuiltInPartitioner
from .compression import CODECS, compress
from .memory_records import producer_batch_bytes
from .record import BATCH_OVERHEAD_BYTES
from .record_batch import MAX_RECORD_OVERHEAD, encode_records, record_size, record_size_upper_bound
from .transaction_manager import TransactionManager

WATCHDOG_MS = 100           # how often timeouts are checked


def _float32(value):
    """``value`` as a Java float holds it: the estimates below are floats in Kafka."""
    return struct.unpack("f", struct.pack("f", value))[0]


# MemoryRecordsBuilder: how much a compressed batch's estimate leans to the safe side
COMPRESSION_RATE_ESTIMATION_FACTOR = _float32(1.05)
# CompressionRatioEstimator: how fast the estimate moves, worse (at least) or better
COMPRESSION_RATIO_DETERIORATE_STEP = _float32(0.05)
COMPRESSION_RATIO_IMPROVING_STEP = _float32(0.005)
SHORT_MAX = 32_767          # Java's Short.MAX_VALUE: the largest producer epoch

# Errors after which the producer refreshes its metadata: InvalidMetadataException's family
# (a stale leader, a broken connection), and a request that timed out.
_STALE_METADATA = (errors.NotLeaderOrFollowerError, errors.NetworkError,
                   errors.UnknownTopicOrPartitionError, errors.FencedLeaderEpochError,
                   errors.RequestTimedOutError)


def exponential_backoff(initial_ms, max_ms, attempts, rng, jitter=0.2):
    """Kafka's ExponentialBackoff with multiplier 2: ``initial_ms`` doubled ``attempts``
    times, but not past ``max_ms``, times a random factor in [1 - jitter, 1 + jitter), and
    never more than ``max_ms`` (with ``max_ms`` <= ``initial_ms``: ``max_ms``, constant).
    The jitter keeps clients that failed together from retrying together."""
    if max_ms <= initial_ms:
        return max_ms
    term = min(initial_ms * 2 ** min(attempts, 64), max_ms)
    factor = 1 - jitter + 2 * jitter * rng.random() if jitter > 0 else 1
    return min(int(term * factor), max_ms)


class Connection:
    """The producer's connection to one broker (NetworkClient's ClusterConnectionStates):
    open to one incarnation of the broker, or closed until ``next_attempt_ms``."""

    __slots__ = ("incarnation", "failures", "next_attempt_ms")

    def __init__(self):
        self.incarnation = None         # the broker incarnation it is open to; None: closed
        self.failures = 0               # failed attempts in a row
        self.next_attempt_ms = 0


def idempotence_enabled(overrides, config):
    """Whether the producer is idempotent (``ProducerConfig.postProcessAndValidateIdempotence
    Configs``, Kafka 3.x). Idempotence needs acks=all, retries and at most 5 requests in flight
    per connection (the broker remembers 5 batches per producer). Asked for explicitly with
    one of them missing, it is an error; on only by default, it is quietly turned off."""
    if not config["enable.idempotence"]:
        return False
    problems = []
    if normalize_acks(config["acks"]) != -1:
        problems.append("Must set acks to all in order to use the idempotent producer. "
                        "Otherwise we cannot guarantee idempotence.")
    if config["retries"] == 0:
        problems.append("Must set retries to non-zero when using the idempotent producer.")
    if config["max.in.flight.requests.per.connection"] > 5:
        problems.append("Must set max.in.flight.requests.per.connection to at most 5 to use "
                        "the idempotent producer.")
    if problems and "enable.idempotence" in (overrides or {}):
        raise errors.InvalidConfigurationError(problems[0])     # Kafka's ConfigException
    return not problems


def _as_bytes(data, what):
    if data is None or isinstance(data, bytes):
        return data
    if isinstance(data, str):
        return data.encode()
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)
    raise errors.KafkaError(
        f"{what} must be bytes, str or None (Kafka's serializers turn objects into bytes); "
        f"got {type(data).__name__}")


class ProducerBatch:
    """Records for one partition, sent and acknowledged together (``ProducerBatch``)."""

    __slots__ = ("topic", "partition", "keys", "values", "timestamps", "headers",
                 "size_bytes", "records_bytes", "codec", "compression_ratio", "compressed_bytes",
                 "capacity", "created_ms", "attempts", "sent_ms", "awaiting_response", "sent_to",
                 "base_offset", "error", "done", "callbacks", "closed", "retry_at_ms", "leader_epoch",
                 "producer_id", "producer_epoch", "base_sequence", "queued")

    def __init__(self, topic, partition, now):
        self.topic = topic
        self.partition = partition
        self.keys = []
        self.values = []
        self.timestamps = []
        self.headers = None
        self.size_bytes = BATCH_OVERHEAD_BYTES  # estimatedBytesWritten, which fills it
        self.records_bytes = 0                  # the records, uncompressed
        self.codec = "none"
        self.compression_ratio = 1.0            # the estimate it was made with
        self.compressed_bytes = None            # the records compressed, once it is closed
        self.capacity = 0               # bytes it may grow to (its buffer, in Kafka)
        self.created_ms = now
        self.attempts = 0
        self.sent_ms = None
        self.awaiting_response = False
        self.sent_to = None             # (broker, incarnation) of the attempt in flight
        self.base_offset = -1
        self.error = None
        self.done = False
        self.callbacks = None
        self.closed = False             # takes no more records
        self.queued = False             # in its partition's ready queue (sendable)
        self.retry_at_ms = 0            # a failed attempt's backoff ends then (KIP-580)
        self.leader_epoch = -1          # the leader epoch its last attempt was sent at
        self.producer_id = -1           # idempotence: the producer id and epoch its
        self.producer_epoch = -1        # sequence numbers were given under,
        self.base_sequence = -1         # and its first record's (-1: none yet)

    def grow(self, record_bytes):
        """A record of ``record_bytes`` was appended: the bytes it counts as written
        (``MemoryRecordsBuilder.estimatedBytesWritten``): exact uncompressed; compressed,
        the records times the estimated compression ratio times 1.05, in Java's floats."""
        self.records_bytes += record_bytes
        if self.codec == "none":
            self.size_bytes = BATCH_OVERHEAD_BYTES + self.records_bytes
        else:
            self.size_bytes = BATCH_OVERHEAD_BYTES + int(_float32(_float32(
                self.records_bytes * self.compression_ratio) * COMPRESSION_RATE_ESTIMATION_FACTOR))

    def room_for(self, timestamp, key, value, headers):
        """The record's size if it fits (``MemoryRecordsBuilder.hasRoomFor``: the bytes
        written so far and this record, at its offset and timestamp deltas, within the
        buffer), else None."""
        size = record_size(len(self.values), timestamp - self.timestamps[0], key, value,
                           headers)
        return size if self.size_bytes + size <= self.capacity else None

    def finish(self, base_offset, error):
        self.done = True
        self.base_offset = base_offset
        self.error = error
        # Each callback runs once; dropping them breaks the cycle batch -> callback ->
        # future -> batch, so a finished batch is freed at once, not by the garbage collector.
        callbacks, self.callbacks = self.callbacks, None
        if callbacks:
            for callback, future in callbacks:
                callback(future)

    def __len__(self):
        return len(self.values)

    def __repr__(self):
        state = ("failed: " + str(self.error)) if self.error else (
            f"offset {self.base_offset}" if self.done else "pending")
        return f"ProducerBatch({self.topic}-{self.partition}, {len(self)} records, {state})"


class RecordMetadataFuture:
    """What ``send()`` returns: becomes done when the record's batch is acknowledged or fails."""

    __slots__ = ("batch", "index", "producer")

    def __init__(self, producer, batch, index):
        self.producer = producer
        self.batch = batch
        self.index = index

    @property
    def done(self):
        return self.batch.done

    @property
    def succeeded(self):
        return self.batch.done and self.batch.error is None

    @property
    def error(self):
        return self.batch.error

    @property
    def topic(self):
        return self.batch.topic

    @property
    def partition(self):
        return self.batch.partition

    @property
    def offset(self):
        """The record's offset once acknowledged (-1 for acks=0, which learns no offset)."""
        base = self.batch.base_offset
        return base + self.index if base >= 0 else -1

    def add_callback(self, callback):
        """Call ``callback(future)`` when done (at once if it already is)."""
        if self.batch.done:
            callback(self)
            return
        if self.batch.callbacks is None:
            self.batch.callbacks = []
        self.batch.callbacks.append((callback, self))

    def get(self, timeout_ms=None):
        """Run the simulation until done; return the offset or raise the Kafka error."""
        if timeout_ms is None:
            timeout_ms = self.producer.config["delivery.timeout.ms"] + 1
        self.producer.cluster.run_for(timeout_ms, until=lambda: self.batch.done)
        if not self.batch.done:
            raise errors.RequestTimedOutError(f"no outcome within {timeout_ms} ms")
        if self.batch.error is not None:
            raise self.batch.error
        return self.offset

    def __repr__(self):
        return f"RecordMetadataFuture({self.topic}-{self.partition}, index {self.index}, {self.batch!r})"


class TopicMetadata:
    """The producer's per-topic view of the metadata cache, shaped for the send() path."""

    __slots__ = ("num_partitions", "leaders", "leader_epochs", "available")

    def __init__(self, registrations):
        self.num_partitions = len(registrations)
        self.leaders = [reg.leader if reg else -1 for reg in registrations]
        self.leader_epochs = [reg.leader_epoch if reg else -1 for reg in registrations]
        self.available = [p for p, leader in enumerate(self.leaders) if leader >= 0]


class Producer(Client):
    """A simulated ``KafkaProducer``. Create it with ``cluster.producer(...)``."""

    def __init__(self, cluster, client_id, config=None):
        super().__init__(cluster, client_id, merged(PRODUCER_DEFAULTS, config, "producer"))
        self.acks = normalize_acks(self.config["acks"])
        require(isinstance(self.config["enable.idempotence"], bool),
                f"enable.idempotence must be True or False, got "
                f"{self.config['enable.idempotence']!r}")
        self.idempotent = idempotence_enabled(config, self.config)
        if self.config["transactional.id"] is not None and not self.idempotent:
            raise errors.InvalidConfigurationError(     # ConfigException, as in Kafka 3.x
                "Cannot set a transactional.id without also enabling idempotence.")
        require(self.config["transactional.id"] is None
                or (isinstance(self.config["transactional.id"], str)
                    and self.config["transactional.id"] != ""),
                f"transactional.id must be a non-empty string, got "
                f"{self.config['transactional.id']!r}")
        self.transactions = (TransactionManager(self)
                             if self.config["transactional.id"] is not None else None)
        self.producer_id = -1            # from InitProducerId, once asked (idempotence)
        self.producer_epoch = -1
        self.init_token = None           # the InitProducerId request in flight, if any
        # per partition (Kafka's TxnPartitionEntry): the epoch its sequences run under, the
        # next batch's first sequence, the last sequence acknowledged
        self.partition_epoch = {}
        self.next_sequence = {}
        self.last_acked_sequence = {}
        self.unresolved = set()          # partitions where a numbered batch failed for good
        for name in ("linger.ms", "batch.size", "request.timeout.ms", "delivery.timeout.ms",
                     "retries", "retry.backoff.ms", "retry.backoff.max.ms",
                     "reconnect.backoff.ms", "reconnect.backoff.max.ms"):
            require(isinstance(self.config[name], int) and self.config[name] >= 0,
                    f"{name} must be a non-negative integer, got {self.config[name]!r}")
        require(self.config["max.in.flight.requests.per.connection"] >= 1,
                "max.in.flight.requests.per.connection must be at least 1")
        self.linger_ms = self.config["linger.ms"]
        self.batch_size = self.config["batch.size"]
        self.compression = self.config["compression.type"]
        require(self.compression in CODECS,     # ConfigException, as in Kafka
                f"Invalid value {self.compression!r} for configuration compression.type: "
                f"String must be one of: {', '.join(CODECS)}")
        # CompressionRatioEstimator's estimate per topic, for this producer's codec (Java
        # keeps one per JVM; each simulated client is its own)
        self.compression_ratios = {}
        self.max_in_flight = self.config["max.in.flight.requests.per.connection"]
        require(isinstance(self.config["partitioner.availability.timeout.ms"], int)
                and self.config["partitioner.availability.timeout.ms"] >= 0,
                "partitioner.availability.timeout.ms must be a non-negative integer")
        require(self.batch_size >= 1, "batch.size must be at least 1 (it is the sticky "
                                      "partitioner's switch size too)")
        self.partitioners = {}           # topic -> BuiltInPartitioner (records without a key)
        self.partition_for_key = cluster.seams.partition_for_key
        self.increment_sequence = cluster.seams.increment_sequence
        self.ignore_keys = bool(self.config["partitioner.ignore.keys"])
        self.adaptive = bool(self.config["partitioner.adaptive.partitioning.enable"])
        self.availability_timeout_ms = self.config["partitioner.availability.timeout.ms"]
        self.node_stats = {}             # broker id -> [ready_ms, drain_ms] (NodeLatencyStats)
        self.queued_partitions = {}      # topic -> partitions this producer has queued for
        self.topics = {}                 # topic -> TopicMetadata (the metadata cache)
        self.unknown_topics = set()      # topics the cluster said do not exist
        self.open_batches = {}           # (topic, partition) -> the batch taking appends
        self.ready = {}                  # (topic, partition) -> deque of closed batches to send
        self.in_flight = {}              # (topic, partition) -> list of batches sent, unanswered
        self.awaiting_metadata = []      # sends made before their topic's metadata was known
        self.connections = {}            # broker id -> Connection
        self.throttled_until = {}        # broker id -> until when a quota throttles us there
        self.wake_ups = set()            # moments a drain is scheduled for (backoffs ending)
        self.unfinished = 0              # batches neither acknowledged nor failed
        self.closed = False
        self.resending = False           # inside metadata_updated, sending what waited for it
        self.records_sent = 0
        self.sim.schedule(WATCHDOG_MS, self.watchdog)
        self.net.register(self)

    # -- send --------------------------------------------------------------------------
    def send(self, topic, value=None, key=None, partition=None, headers=None, timestamp=None):
        """Queue one record; returns a ``RecordMetadataFuture``."""
        if self.closed:
            raise errors.KafkaError("send() on a closed producer")
        if self.authentication_error is not None:
            raise self.authentication_error     # SASL failed, or the cluster refused it
        if self.transactions is not None and not self.resending:
            self.transactions.check_send()
        if key is not None and type(key) is not bytes:
            key = _as_bytes(key, "key")
        if value is not None and type(value) is not bytes:
            value = _as_bytes(value, "value")
        metadata = self.topics.get(topic)
        if metadata is None:
            return self.send_before_metadata(topic, value, key, partition, headers, timestamp)
        sticky = None                    # the topic's BuiltInPartitioner, for records without one
        if partition is None:
            if key is None or self.ignore_keys:
                sticky = self.partitioners.get(topic) or self.new_partitioner(topic)
                partition = self.sticky_partition(sticky, topic, metadata)
            else:
                partition = self.partition_for_key(key, metadata.num_partitions)
        elif type(partition) is not int or not 0 <= partition < metadata.num_partitions:
            raise errors.UnknownTopicOrPartitionError(
                f"partition {partition!r} of topic {topic!r} does not exist: it has "
                f"{metadata.num_partitions} partition(s), 0 to {metadata.num_partitions - 1}")
        if timestamp is None:
            timestamp = self.sim.now
        headers = tuple(headers) if headers else ()
        batch = self.open_batches.get((topic, partition))
        size = batch.room_for(timestamp, key, value, headers) if batch is not None else None
        if batch is not None and size is None:
            self.close_batch(batch)
            batch = None
            if sticky is not None:
                # that batch is full now: a switch put off while it was filling happens here
                moved = sticky.update_partition_info(0, metadata.num_partitions,
                                                     metadata.available)
                if moved != partition:
                    partition = moved
                    batch = self.open_batches.get((topic, partition))
                    if batch is not None:
                        size = batch.room_for(timestamp, key, value, headers)
                        if size is None:
                            self.close_batch(batch)
                            batch = None
        if batch is None:
            size = record_size(0, 0, key, value, headers)
            # the upper bound matters only for a record near batch.size
            batch = self.new_batch(topic, partition, 0 if size + 2 * MAX_RECORD_OVERHEAD
                                   < self.batch_size - BATCH_OVERHEAD_BYTES
                                   else record_size_upper_bound(key, value, headers))
            appended = size + BATCH_OVERHEAD_BYTES
        else:
            appended = size
        batch.keys.append(key)
        batch.values.append(value)
        batch.timestamps.append(timestamp)
        if headers:
            if batch.headers is None:
                batch.headers = [()] * (len(batch.values) - 1)
            batch.headers.append(tuple(headers))
        elif batch.headers is not None:
            batch.headers.append(())
        batch.grow(size)
        self.records_sent += 1
        future = RecordMetadataFuture(self, batch, len(batch.values) - 1)
        full = batch.size_bytes >= batch.capacity
        if full:
            self.close_batch(batch)      # a full batch is ready to send at once, as in Kafka
        if sticky is not None:
            # KIP-794: switch only once the partition has no batch still filling up.
            sticky.update_partition_info(appended, metadata.num_partitions, metadata.available,
                                         enable_switch=full)
        return future

    # -- the built-in partitioner (KIP-794) ------------------------------------------------
    def new_partitioner(self, topic):
        partitioner = BuiltInPartitioner(
            topic, self.batch_size, lambda: self.random_partition(),
            self.cluster.seams.next_partition, lambda: self.load_stats(topic))
        self.partitioners[topic] = partitioner
        return partitioner

    def random_partition(self):
        """Kafka's ``Utils.toPositive(ThreadLocalRandom.current().nextInt())``, from the
        simulator's seeded generator."""
        return self.sim.rng.getrandbits(31)

    def sticky_partition(self, sticky, topic, metadata):
        """The topic's sticky partition for the next record without a key. A switch put off
        while the partition's batch was filling up happens now if that batch is gone (sent,
        or closed when full): RecordAccumulator.partitionChanged."""
        partition = sticky.peek_partition(metadata.num_partitions, metadata.available)
        if (topic, partition) not in self.open_batches:
            partition = sticky.update_partition_info(0, metadata.num_partitions,
                                                     metadata.available)
        return partition

    def load_stats(self, topic):
        """What ``next_partition`` weighs (RecordAccumulator.partitionReady): the number of
        batches queued per partition that has a leader, leaving out partitions whose broker
        has had batches ready but not drained for over ``partitioner.availability.timeout.ms``.
        None (choose uniformly) unless adaptive partitioning is on and this producer has queued
        batches for every partition of the topic: a partition it never queued for has no
        queue Kafka could measure."""
        metadata = self.topics[topic]
        if not self.adaptive or len(self.queued_partitions.get(topic, ())) < metadata.num_partitions:
            return None
        sizes = {}
        for partition in metadata.available:
            key = (topic, partition)
            waiting = len(self.ready.get(key, ()))
            leader = metadata.leaders[partition]
            if waiting:
                # closed batches still here cannot be sent now: the sender would see them
                # ready on every pass, so the leader's ready time is now
                self.node_latency(leader, drained=False)
            filling = self.open_batches.get(key)
            queued = waiting + (filling is not None and not filling.queued)
            if queued and self.broker_too_slow(leader):
                continue        # Kafka measures only partitions with batches queued
            sizes[partition] = queued
        return sizes or None

    def broker_too_slow(self, leader):
        """partitioner.availability.timeout.ms: the leader has had batches ready for longer than
        that without draining any (Kafka's NodeLatencyStats: readyTimeMs - drainTimeMs)."""
        stats = self.node_stats.get(leader)
        return (self.availability_timeout_ms > 0 and stats is not None
                and stats[0] - stats[1] > self.availability_timeout_ms)

    def node_latency(self, leader, drained):
        """Sender.sendProducerData's updateNodeLatencyStats: the node had batches ready now,
        and could take them (``drained``) or not."""
        if self.availability_timeout_ms <= 0:
            return
        stats = self.node_stats.get(leader)
        if stats is None:
            stats = self.node_stats[leader] = [self.sim.now, self.sim.now]
        stats[0] = self.sim.now
        if drained:
            stats[1] = self.sim.now

    def send_many(self, topic, values, partition=None):
        """Send many key-less records in one call, filling whole batches at once: the fast path
        for bulk loads. Returns the futures of the batches' last records."""
        futures = []
        step = max(1, self.batch_size // record_size(0, 0, None, values[0] if values else b""))
        for start in range(0, len(values), step):
            chunk = values[start:start + step]
            future = self.send(topic, chunk[0], partition=partition)
            batch = future.batch
            rest = chunk[1:]
            if batch.closed or topic not in self.topics:
                # the first record filled a batch already, or waits for the topic's metadata
                # in a placeholder of its own: the rest one by one
                for value in rest:
                    future = self.send(topic, value, partition=partition)
                futures.append(future)
                continue
            first = len(batch.values)
            rest_bytes = sum(record_size(first + i, self.sim.now - batch.timestamps[0], None,
                                         value) for i, value in enumerate(rest))
            batch.values.extend(rest)
            batch.keys.extend([None] * len(rest))
            batch.timestamps.extend([self.sim.now] * len(rest))
            if batch.headers is not None:
                batch.headers.extend([()] * len(rest))
            batch.grow(rest_bytes)
            self.records_sent += len(rest)
            futures.append(RecordMetadataFuture(self, batch, len(batch.values) - 1))
            if partition is None:
                metadata = self.topics[topic]
                if self.open_batches.get((topic, batch.partition)) is batch:
                    self.close_batch(batch)
                self.partitioners[topic].update_partition_info(
                    rest_bytes, metadata.num_partitions, metadata.available)
        return futures

    def send_before_metadata(self, topic, value, key, partition, headers, timestamp):
        """Kafka's send() waits (up to max.block.ms) for the topic's metadata; here the record
        waits in a queue and its future fails if the topic turns out not to exist."""
        if topic in self.unknown_topics and self.last_metadata_ms == self.sim.now:
            raise errors.UnknownTopicOrPartitionError(f"topic {topic!r} does not exist")
        holder = ProducerBatch(topic, partition, self.sim.now)
        holder.keys.append(key)
        holder.values.append(value)
        holder.timestamps.append(self.sim.now if timestamp is None else timestamp)
        self.unfinished += 1
        self.awaiting_metadata.append((holder, (topic, value, key, partition, headers, timestamp)))
        self.request_metadata()
        return RecordMetadataFuture(self, holder, 0)

    def new_batch(self, topic, partition, first_record_upper_bound=0):
        """Kafka sizes a batch's buffer for ``batch.size`` bytes, or for its first record if
        that may be larger (``estimateSizeInBytesUpperBound``: the record at its largest
        overhead): a batch is full once its buffer is, so a batch holding one oversized
        record is not full."""
        batch = ProducerBatch(topic, partition, self.sim.now)
        batch.capacity = max(self.batch_size, BATCH_OVERHEAD_BYTES + first_record_upper_bound)
        if self.compression != "none":
            batch.codec = self.compression
            batch.compression_ratio = self.compression_ratios.get(topic, 1.0)
        self.open_batches[(topic, partition)] = batch
        queued = self.queued_partitions.get(topic)
        if queued is None:
            queued = self.queued_partitions[topic] = set()
        queued.add(partition)
        self.unfinished += 1
        if self.linger_ms:
            self.sim.schedule(self.linger_ms, self.linger_expired, batch)
        else:
            self.sim.schedule(0, self.linger_expired, batch)
        return batch

    def linger_expired(self, batch):
        """``linger.ms`` is up: the batch may be sent. Until it is, it keeps taking records
        (RecordAccumulator appends to the last batch of a partition's queue, ready or not):
        so even with linger.ms=0, records batch up while the connection is busy."""
        if not batch.closed and not batch.queued:
            self.enqueue(batch)

    def close_batch(self, batch):
        """The batch takes no more records (it is full, or flushed): queue it for its
        partition's leader, if it is not queued yet."""
        self.seal(batch)
        if batch.queued:
            self.drain((batch.topic, batch.partition))
        else:
            self.enqueue(batch)

    def seal(self, batch):
        batch.closed = True
        key = (batch.topic, batch.partition)
        if self.open_batches.get(key) is batch:
            del self.open_batches[key]

    def enqueue(self, batch):
        batch.queued = True
        key = (batch.topic, batch.partition)
        queue = self.ready.get(key)
        if queue is None:
            queue = self.ready[key] = deque()
        queue.append(batch)
        self.drain(key)

    def compress_batch(self, batch):
        """Compress a closed batch's records (``MemoryRecordsBuilder.close``), and learn from
        how well they compressed (``updated_compression_ratio``)."""
        batch.compressed_bytes = len(compress(batch.codec, encode_records(
            batch.keys, batch.values, batch.timestamps, batch.headers)))
        observed = _float32(batch.compressed_bytes / max(batch.records_bytes, 1))
        self.compression_ratios[batch.topic] = updated_compression_ratio(
            self.compression_ratios.get(batch.topic, 1.0), observed)

    # -- sending batches -----------------------------------------------------------------
    def drain(self, key):
        """Send the partition's queued batches, oldest first, while its leader can take them
        (RecordAccumulator.drain): none while the first waits out its retry backoff, none
        while the leader's connection is down."""
        queue = self.ready.get(key)
        if not queue:
            return
        if self.idempotent and self.producer_id < 0:
            self.init_producer_id()
            return
        in_flight = self.in_flight.get(key)
        if in_flight is None:
            in_flight = self.in_flight[key] = []
        while queue and len(in_flight) < self.max_in_flight:
            metadata = self.topics.get(key[0])
            leader = metadata.leaders[key[1]] if metadata else -1
            if leader < 0:
                self.request_metadata()
                return
            batch = queue[0]
            leader_epoch = metadata.leader_epochs[key[1]]
            if batch.retry_at_ms > self.sim.now and batch.leader_epoch >= leader_epoch:
                # KIP-580's backoff; KIP-951: a retry to a new leader does not wait for it
                self.wake_at(batch.retry_at_ms)
                return
            if self.idempotent and not self.sequence_ready(key, batch, in_flight):
                return
            if self.transactions is not None and not self.transactions.may_send(key):
                return      # sent once the partition is in the transaction
            broker = self.cluster.brokers[leader]
            if not self.connection_ready(broker):
                break
            queue.popleft()
            if not batch.closed:        # drained: it takes no more records, and is compressed
                self.seal(batch)
            if batch.codec != "none" and batch.compressed_bytes is None:
                self.compress_batch(batch)
            self.send_batch(batch, broker, leader_epoch, in_flight)
        if queue and self.availability_timeout_ms > 0:
            metadata = self.topics.get(key[0])
            if metadata and metadata.leaders[key[1]] >= 0:
                self.node_latency(metadata.leaders[key[1]], drained=False)

    def wake_at(self, time_ms):
        """Drain again at ``time_ms`` (a backoff ends then); one wake-up per moment."""
        if time_ms not in self.wake_ups:
            self.wake_ups.add(time_ms)
            self.sim.schedule(time_ms - self.sim.now, self.woken, time_ms)

    def woken(self, time_ms):
        self.wake_ups.discard(time_ms)
        for key, queue in list(self.ready.items()):
            if queue:
                self.drain(key)

    def send_batch(self, batch, broker, leader_epoch, in_flight):
        batch.attempts += 1
        attempt = batch.attempts
        batch.sent_ms = self.sim.now
        batch.awaiting_response = True
        batch.sent_to = (broker, broker.incarnation)
        batch.leader_epoch = leader_epoch
        if self.availability_timeout_ms > 0:
            self.node_latency(broker.node_id, drained=True)
        in_flight.append(batch)
        keys = batch.keys if batch.keys.count(None) != len(batch.keys) else None
        respond = None
        if self.acks != 0:
            respond = partial(self.on_produce_response, batch, attempt)
        producer = None
        if self.idempotent:
            key = (batch.topic, batch.partition)
            if batch.base_sequence < 0:     # numbered when first sent, in queue order
                batch.producer_id = self.producer_id
                batch.producer_epoch = self.partition_epoch.setdefault(key, self.producer_epoch)
                batch.base_sequence = self.next_sequence.get(key, 0)
                self.next_sequence[key] = self.increment_sequence(batch.base_sequence,
                                                                  len(batch.values))
            producer = (batch.producer_id, batch.producer_epoch, batch.base_sequence,
                        self.config["transactional.id"])
        if self.cluster.wire_format:        # the batch's bytes, as a real producer sends them
            data = producer_batch_bytes(keys, batch.values, batch.timestamps, batch.headers,
                                        batch.codec, producer, self.cluster.seams,
                                        transactional=bool(producer and producer[3]))
            self.net.send(self, broker, broker.handle_produce_bytes, self, batch.topic,
                          batch.partition, data, self.acks, self.config["request.timeout.ms"],
                          respond, producer[3] if producer else None)
        else:
            compression = None if batch.codec == "none" else (batch.codec,
                                                               batch.compressed_bytes)
            self.net.send(self, broker, broker.handle_produce, self, batch.topic,
                          batch.partition, keys, batch.values, batch.timestamps, batch.headers,
                          self.acks, self.config["request.timeout.ms"], respond, producer,
                          compression)
        if self.acks == 0:
            # Fire and forget: the producer never learns an offset or an error.
            in_flight.remove(batch)
            batch.awaiting_response = False
            self.finish(batch, -1, None)

    def on_produce_response(self, batch, attempt, response):
        if batch.done or batch.attempts != attempt or not batch.awaiting_response:
            # An answer to an attempt we gave up on: in Kafka the timeout closed the
            # connection, so this answer would never have arrived.
            return
        batch.awaiting_response = False
        key = (batch.topic, batch.partition)
        self.in_flight[key].remove(batch)
        if getattr(response, "throttle_time_ms", 0):
            # KIP-219: the broker is over this client's quota; nothing more goes there until
            # the throttle time is over (NetworkClient.maybeThrottle)
            self.throttled_until[batch.sent_to[0].node_id] = \
                self.sim.now + response.throttle_time_ms
        error = response.error
        if error is None:
            if batch.base_sequence >= 0:
                self.last_acked_sequence[key] = self.increment_sequence(
                    batch.base_sequence, len(batch.values) - 1)
            self.finish(batch, response.base_offset, None)
        elif self.can_retry(batch, error):
            if isinstance(error, _STALE_METADATA) and not self.follow_leader_hint(
                    key, response.current_leader):
                self.request_metadata()
            self.reenqueue(batch)
        else:
            self.finish(batch, -1, error)
        if key in self.unresolved:
            self.maybe_resolve(key)
        self.drain(key)

    def can_retry(self, batch, error):
        retriable = error.retriable
        if isinstance(error, errors.OutOfOrderSequenceNumberError):
            # Sent behind a batch that failed: retried once that one is through (Kafka's
            # TransactionManager.canRetry). If it was next in line, the broker lost track.
            key = (batch.topic, batch.partition)
            retriable = batch.base_sequence != self.increment_sequence(
                self.last_acked_sequence.get(key, -1), 1)
        return (retriable and batch.attempts <= self.config["retries"]
                and self.sim.now - batch.created_ms < self.config["delivery.timeout.ms"])

    def reenqueue(self, batch):
        """A failed attempt goes back to the front of its partition's queue at once, and waits
        out its backoff there: RecordAccumulator.reenqueue. The batches behind it wait too."""
        base = self.config["retry.backoff.ms"]
        # the engine's choice when retry.backoff.max.ms < retry.backoff.ms: a constant retry.backoff.ms
        batch.retry_at_ms = self.sim.now + exponential_backoff(
            base, max(base, self.config["retry.backoff.max.ms"]), batch.attempts - 1,
            self.sim.rng)
        key = (batch.topic, batch.partition)
        queue = self.ready.get(key)
        if queue is None:
            queue = self.ready[key] = deque()
        if batch.base_sequence < 0:
            queue.appendleft(batch)
            return
        # Idempotence: back in sequence order (RecordAccumulator.insertInSequenceOrder)
        at = 0
        while at < len(queue) and queue[at].base_sequence >= 0 and \
                queue[at].producer_epoch == batch.producer_epoch and \
                queue[at].base_sequence < batch.base_sequence:
            at += 1
        queue.insert(at, batch)

    def follow_leader_hint(self, key, current_leader):
        """KIP-951 (Kafka 3.7+): a NOT_LEADER_OR_FOLLOWER answer names the leader the broker
        knows of. A newer one than the cache's is taken at once, without a metadata request.
        Returns whether it was taken."""
        if current_leader is None:
            return False
        leader, leader_epoch = current_leader
        topic, partition = key
        registrations = self.metadata.get(topic)
        if leader < 0 or registrations is None or partition >= len(registrations):
            return False
        known = registrations[partition]
        if known is not None and known.leader_epoch >= leader_epoch:
            return False
        registrations[partition] = known._replace(leader=leader, leader_epoch=leader_epoch)
        self.topics[topic] = TopicMetadata(registrations)
        return True

    # -- connections (NetworkClient) -------------------------------------------------------
    def connection_ready(self, broker):
        """Whether a request can go to ``broker`` now (NetworkClient.ready). A connection
        to a broker that crashed since is broken; a closed one is opened again once its
        reconnect backoff is over, unless the broker refuses it (it is down). Batches for a
        broker that is not ready wait in the accumulator: no attempt is spent on it."""
        throttled_until = self.throttled_until.get(broker.node_id)
        if throttled_until is not None and throttled_until > self.sim.now:
            self.wake_at(throttled_until)
            return False
        connection = self.connections.get(broker.node_id)
        if connection is None:
            connection = self.connections[broker.node_id] = Connection()
        if connection.incarnation is not None:
            if broker.alive and broker.incarnation == connection.incarnation:
                return True
            # The broker crashed since: its connection is gone, and, as after any disconnect,
            # the metadata may be stale (DefaultMetadataUpdater.handleServerDisconnect).
            self.disconnected(connection)
            self.request_metadata()
        elif self.sim.now >= connection.next_attempt_ms:
            if broker.alive:
                connection.incarnation = broker.incarnation
                connection.failures = 0
                return True
            # Refused: the broker is down, and the metadata may be stale.
            self.disconnected(connection)
            self.request_metadata()
        self.wake_at(connection.next_attempt_ms)
        return False

    def connection_broken(self, broker_id):
        """The connection to a broker was reset: every request on it is lost, as the producer
        learns at once (NetworkClient sees the disconnect); its batches are retried after a
        reconnect, in sequence order."""
        connection = self.connections.get(broker_id)
        if connection is None or connection.incarnation is None:
            return
        self.disconnected(connection)
        for in_flight in list(self.in_flight.values()):
            for batch in list(in_flight):
                if batch.sent_to[0].node_id == broker_id:
                    self.on_produce_response(batch, batch.attempts, _RESET)

    def disconnected(self, connection):
        """ClusterConnectionStates.disconnected: wait ``reconnect.backoff.ms``, doubled per
        failure in a row, before the next attempt."""
        connection.incarnation = None
        connection.next_attempt_ms = self.sim.now + exponential_backoff(
            self.config["reconnect.backoff.ms"], self.config["reconnect.backoff.max.ms"],
            connection.failures, self.sim.rng)
        connection.failures += 1

    def finish(self, batch, base_offset, error):
        self.unfinished -= 1
        batch.finish(base_offset, error)
        if error is not None and self.transactions is not None:
            self.transactions.fail(error)       # the transaction can only be aborted now
        if error is not None and batch.base_sequence >= 0 and \
                batch.producer_epoch == self.partition_epoch.get((batch.topic, batch.partition)):
            # it may or may not have been written: the answers to the partition's other
            # numbered batches will tell (TransactionManager.maybeResolveSequences)
            self.unresolved.add((batch.topic, batch.partition))

    # -- idempotence ------------------------------------------------------------------------
    def init_producer_id(self):
        """Ask a broker for a producer id (InitProducerId); batches wait until it comes. (A
        transactional producer gets its id from init_transactions(), before any send.)"""
        if self.init_token is not None or self.transactions is not None:
            return
        broker = next((b for b in self.cluster.brokers if self.connection_ready(b)), None)
        if broker is None:
            return          # connection_ready scheduled a drain for when one may be ready
        token = self.init_token = object()
        self.net.send(self, broker, broker.handle_init_producer_id, self, None,
                      partial(self.on_init_producer_id, token))
        self.sim.schedule(self.config["request.timeout.ms"], self.init_timed_out, token)

    def on_init_producer_id(self, token, response):
        if token is not self.init_token:
            return
        self.init_token = None
        error, producer_id, epoch = response
        if isinstance(error, errors.ClusterAuthorizationFailedError):
            self.authentication_failed(error)   # fatal: no idempotent write is allowed
            return
        if error is not None:
            self.wake_at(self.sim.now + self.config["retry.backoff.ms"])
            return
        self.producer_id, self.producer_epoch = producer_id, epoch
        self.partition_epoch, self.next_sequence, self.last_acked_sequence = {}, {}, {}
        self.woken(self.sim.now)

    def init_timed_out(self, token):
        if token is self.init_token:
            self.init_token = None
            self.wake_at(self.sim.now)

    def outstanding(self, key):
        """Whether any numbered batch of ``key`` is still unanswered or waiting to be retried."""
        return bool(self.in_flight.get(key)) or any(
            b.base_sequence >= 0 for b in self.ready.get(key, ()))

    def maybe_resolve(self, key):
        """A numbered batch of ``key`` failed for good. Once every other numbered batch of it
        is answered: if the acknowledged sequences run on to the next one, the failed batch
        was written after all (later ones were accepted in sequence) and nothing is wrong;
        otherwise the sequence has a hole, and the producer bumps its epoch so that ``key``
        starts again from 0 (KIP-360, for the idempotent producer). Returns whether ``key``
        is resolved."""
        if key not in self.unresolved:
            return True
        if self.outstanding(key):
            return False
        next_sequence = self.next_sequence.get(key, 0)
        if self.increment_sequence(self.last_acked_sequence.get(key, -1), 1) != next_sequence:
            if self.transactions is not None:
                # only the coordinator may give a transactional producer a new epoch: after
                # the transaction is aborted (TransactionManager.bump_epoch, which also
                # clears ``unresolved``); until then nothing more goes to this partition
                self.transactions.epoch_bump_needed = True
                return False
            self.unresolved.discard(key)
            if self.producer_epoch >= SHORT_MAX:
                # the epoch is exhausted: a new producer id, from epoch 0 (Kafka's
                # bumpIdempotentEpochAndResetIdIfNeeded)
                self.set_producer_id(-1, -1)
                self.wake_at(self.sim.now)      # the next drain asks for one
                return False
            self.producer_epoch += 1
            self.start_sequences_at_beginning(key)
            return True
        self.unresolved.discard(key)
        return True

    def sequence_ready(self, key, batch, in_flight):
        """Whether ``batch``, first in ``key``'s queue, may be sent now (RecordAccumulator's
        shouldStopDrainBatchesForPartition)."""
        if batch.base_sequence >= 0:
            # a retry goes when it is the lowest unacknowledged sequence of its epoch
            return not any(b.producer_epoch == batch.producer_epoch
                           and b.base_sequence < batch.base_sequence for b in in_flight)
        if not self.maybe_resolve(key):
            return False            # no new batch while a failed one's fate is unknown
        if self.partition_epoch.get(key, self.producer_epoch) != self.producer_epoch:
            if self.outstanding(key):
                return False        # the old epoch's batches first
            self.start_sequences_at_beginning(key)
        return True

    def start_sequences_at_beginning(self, key):
        """``key``'s next batch is numbered 0 under the producer's current epoch."""
        self.partition_epoch[key] = self.producer_epoch
        self.next_sequence[key] = 0
        self.last_acked_sequence.pop(key, None)

    def watchdog(self):
        """Time out requests whose answer never came (``request.timeout.ms``) and batches that
        outlived ``delivery.timeout.ms``."""
        now = self.sim.now
        request_timeout = self.config["request.timeout.ms"]
        delivery_timeout = self.config["delivery.timeout.ms"]
        for in_flight in self.in_flight.values():
            if not in_flight:
                continue
            for batch in list(in_flight):
                broker, incarnation = batch.sent_to
                if now - batch.sent_ms >= request_timeout:
                    self.on_produce_response(batch, batch.attempts, _TIMED_OUT)
                elif not broker.alive or broker.incarnation != incarnation:
                    # The broker crashed: its OS reset the connection, so we know now.
                    self.on_produce_response(batch, batch.attempts, _RESET)
        for queue in self.ready.values():
            # Oldest first, stopping at the first batch still in time, as Kafka's
            # RecordAccumulator.expiredBatches does.
            while queue and now - queue[0].created_ms >= delivery_timeout:
                self.seal(queue[0])
                self.finish(queue.popleft(), -1, errors.RequestTimedOutError(
                    f"expired after delivery.timeout.ms={delivery_timeout} waiting to be sent"))
        if self.expire_metadata_request(now, request_timeout):
            self.request_metadata()
        if not self.closed or self.unfinished:
            self.sim.schedule(WATCHDOG_MS, self.watchdog)

    # -- metadata ------------------------------------------------------------------------
    def metadata_topics(self):
        """The topics this producer sends to, asked by name as Kafka's producer asks (so a
        topic it may not describe is refused by name, not just left out)."""
        return sorted(set(self.topics) | {args[0] for _, args in self.awaiting_metadata})

    def metadata_updated(self, topics):
        for topic, registrations in topics.items():
            if type(registrations) is list:
                self.topics[topic] = TopicMetadata(self.metadata[topic])
        waiting, self.awaiting_metadata = self.awaiting_metadata, []
        self.resending = True           # sends the application made earlier, checked then
        try:
            self.send_waiting(waiting, topics)
        finally:
            self.resending = False
        if self.awaiting_metadata:      # topics first sent after that request left
            self.request_metadata()
        for key in list(self.ready):
            self.drain(key)

    def send_waiting(self, waiting, topics):
        for holder, (topic, value, key, partition, headers, timestamp) in waiting:
            self.unfinished -= 1
            if isinstance(topics.get(topic), errors.KafkaError):   # TOPIC_AUTHORIZATION_FAILED
                holder.finish(-1, topics[topic])
                continue
            if topic not in self.topics:
                if topic in topics:         # asked about, and it does not exist
                    self.unknown_topics.add(topic)
                    holder.finish(-1, errors.UnknownTopicOrPartitionError(
                        f"topic {topic!r} does not exist"))
                else:                       # sent after the request left: ask again
                    self.awaiting_metadata.append((holder, (topic, value, key, partition,
                                                            headers, timestamp)))
                    self.unfinished += 1
                continue
            try:
                future = self.send(topic, value, key, partition, headers, timestamp)
            except errors.KafkaError as error:
                holder.finish(-1, error)
                continue
            self.chain(holder, future)

    @staticmethod
    def chain(holder, future):
        """Resolve the placeholder batch a pre-metadata send returned once the real one is done."""
        def resolve(done_future):
            holder.topic, holder.partition = done_future.topic, done_future.partition
            holder.attempts = done_future.batch.attempts
            offset = done_future.offset
            holder.finish(offset, done_future.error)
        future.add_callback(resolve)

    # -- blocking helpers ------------------------------------------------------------------
    def flush(self, timeout_ms=None):
        """Send every open batch now and run the simulation until all have an outcome."""
        for batch in list(self.open_batches.values()):
            self.close_batch(batch)
        if timeout_ms is None:
            timeout_ms = self.config["delivery.timeout.ms"] + 1
        return self.cluster.run_for(timeout_ms, until=lambda: self.unfinished == 0)

    def close(self):
        self.flush()
        self.closed = True

    # -- transactions (transaction_manager.py) -----------------------------------------------
    def require_transactional(self):
        if self.transactions is None:
            raise errors.IllegalStateError(
                "Transactional method invoked on a non-transactional producer.")
        return self.transactions

    def init_transactions(self):
        """Get this transactional.id's producer id and a new epoch, fencing older instances
        (their open transaction is aborted first)."""
        self.require_transactional().init_transactions()

    def begin_transaction(self):
        self.require_transactional().begin_transaction()

    def send_offsets_to_transaction(self, offsets, group_metadata):
        """Commit a consumer group's ``offsets`` in this transaction."""
        self.require_transactional().send_offsets_to_transaction(offsets, group_metadata)

    def commit_transaction(self):
        """Send everything, then have the coordinator commit: blocks until it is decided."""
        self.require_transactional().commit_transaction()

    def abort_transaction(self):
        """Drop what is not sent yet, then have the coordinator abort."""
        self.require_transactional().abort_transaction()

    def set_producer_id(self, producer_id, epoch):
        """A new producer id or epoch (InitProducerId): every partition's sequence starts
        again from 0."""
        self.producer_id, self.producer_epoch = producer_id, epoch
        self.partition_epoch, self.next_sequence, self.last_acked_sequence = {}, {}, {}
        self.unresolved.clear()

    def authentication_failed(self, error):
        """Fatal: SASL failed, or the cluster refuses this producer. What waits fails now;
        every later send raises ``error``."""
        super().authentication_failed(error)
        self.drop_unsent(error)
        waiting, self.awaiting_metadata = self.awaiting_metadata, []
        for holder, _ in waiting:
            self.unfinished -= 1
            holder.finish(-1, error)

    def drop_unsent(self, error):
        """Fail every batch not sent yet (an aborted transaction's)."""
        for batch in list(self.open_batches.values()):
            self.seal(batch)
            if not batch.queued:
                batch.queued = True
                self.ready.setdefault((batch.topic, batch.partition), deque()).append(batch)
        for queue in self.ready.values():
            while queue:
                self.finish(queue.popleft(), -1, error)

    def fail_waiting(self, error):
        """A fatal answer to AddPartitionsToTxn: the batches waiting for it fail."""
        self.drop_unsent(error)


class _Answer:
    __slots__ = ("error", "base_offset", "current_leader")

    def __init__(self, error):
        self.error = error
        self.base_offset = -1
        self.current_leader = None


def updated_compression_ratio(current, observed):
    """``CompressionRatioEstimator.updateEstimation`` (Kafka 2.6+, KAFKA-9700): a batch that
    compressed worse than estimated moves the estimate up at once, by at least 0.05; a
    better one moves it down by 0.005 a batch, never below what was observed."""
    if observed > current:
        return max(_float32(current + COMPRESSION_RATIO_DETERIORATE_STEP), observed)
    if observed < current:
        return max(_float32(current - COMPRESSION_RATIO_IMPROVING_STEP), observed)
    return current


_RESET = _Answer(errors.NetworkError("connection reset: the broker crashed"))
_TIMED_OUT = _Answer(errors.RequestTimedOutError("no response within request.timeout.ms"))
