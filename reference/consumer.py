"""A consumer that reads assigned partitions from their leaders (``KafkaConsumer.assign``).

It keeps a *position* per partition (the next offset to read), fetches from the leader
(long-polling up to ``fetch.max.wait.ms``), and sees only records below the high
watermark: a record is readable once it is committed. Its fetches carry the leader epoch
it knows (KIP-320), so a deposed leader cannot serve it stale data.

Consumer groups, offset commits and rebalances build on this in ``group.py``.
"""

from . import errors
from .client import Client
from .config import CONSUMER_DEFAULTS, merged, require

WATCHDOG_MS = 100


class PartitionFetchState:
    __slots__ = ("position", "in_flight", "sent_ms", "sent_to", "buffer", "resetting", "epoch",
                 "token")

    def __init__(self):
        self.position = None        # unknown until reset by auto.offset.reset or seek()
        self.in_flight = False
        self.sent_ms = 0
        self.sent_to = None         # (broker, incarnation) the request in flight went to
        self.buffer = []            # fetched records not yet returned by poll()
        self.resetting = False
        self.epoch = -1
        self.token = 0


class Consumer(Client):
    """A simulated ``KafkaConsumer`` with manual assignment. Create it with ``cluster.consumer()``."""

    def __init__(self, cluster, client_id, config=None):
        super().__init__(cluster, client_id, merged(CONSUMER_DEFAULTS, config, "consumer"))
        require(self.config["auto.offset.reset"] in ("earliest", "latest", "none"),
                f"auto.offset.reset must be earliest, latest or none, "
                f"got {self.config['auto.offset.reset']!r}")
        require(self.config["isolation.level"] == "read_uncommitted",
                "isolation.level=read_committed arrives with transactions; use read_uncommitted")
        self.assignment = {}            # (topic, partition) -> PartitionFetchState
        self.pending_error = None
        self.polling = False            # inside a blocking poll(): keep fetching as answers arrive
        self.closed = False
        self.sim.schedule(WATCHDOG_MS, self.watchdog)

    # -- assignment and positions ------------------------------------------------------
    def assign(self, partitions):
        """Read exactly these ``(topic, partition)`` pairs (replacing any earlier assignment)."""
        partitions = [tuple(tp) for tp in partitions]
        for topic, partition in partitions:
            if type(partition) is not int or partition < 0:
                raise errors.UnknownTopicOrPartitionError(f"invalid partition {topic}-{partition}")
        self.assignment = {tp: self.assignment.get(tp) or PartitionFetchState() for tp in partitions}
        self.request_metadata()

    def seek(self, topic, partition, offset):
        if type(offset) is not int or offset < 0:
            raise errors.OffsetOutOfRangeError(f"cannot seek to offset {offset!r}: offsets are >= 0")
        state = self.assigned(topic, partition)
        state.position = offset
        state.buffer = []
        state.token += 1            # answers to fetches made before the seek are ignored
        state.in_flight = False

    def position(self, topic, partition):
        return self.assigned(topic, partition).position

    def assigned(self, topic, partition):
        state = self.assignment.get((topic, partition))
        if state is None:
            raise errors.KafkaError(f"{topic}-{partition} is not assigned to this consumer")
        return state

    # -- polling -------------------------------------------------------------------------
    def poll(self, timeout_ms=0, max_records=None):
        """Return buffered records, first running the simulation up to ``timeout_ms`` for
        fetches to answer. Raises the Kafka error that made a partition unreadable."""
        self.start_fetches()
        if timeout_ms:
            self.polling = True
            try:
                self.cluster.run_for(timeout_ms, until=self.has_records)
            finally:
                self.polling = False
        return self.take_records(max_records)

    def poll_nowait(self, max_records=None):
        """For code running inside the simulation: take what is buffered, start fetches."""
        records = self.take_records(max_records)
        self.start_fetches()
        return records

    def has_records(self):
        return self.pending_error is not None or any(s.buffer for s in self.assignment.values())

    def take_records(self, max_records=None):
        if self.pending_error is not None:
            error, self.pending_error = self.pending_error, None
            raise error
        limit = max_records or self.config["max.poll.records"]
        out = []
        for state in self.assignment.values():
            if state.buffer and len(out) < limit:
                take = state.buffer[:limit - len(out)]
                del state.buffer[:len(take)]
                out.extend(take)
                state.position = take[-1].offset + 1
        self.start_fetches()
        return out

    def start_fetches(self):
        for (topic, partition), state in self.assignment.items():
            if state.in_flight or state.buffer:
                continue
            registrations = self.metadata.get(topic)
            if registrations is None or registrations[partition].leader < 0:
                self.request_metadata()
                continue
            registration = registrations[partition]
            broker = self.cluster.brokers[registration.leader]
            if not broker.alive:
                self.request_metadata()
                continue
            state.in_flight = True
            state.sent_ms = self.sim.now
            state.sent_to = (broker, broker.incarnation)
            state.epoch = registration.leader_epoch
            token = state.token
            if state.position is None:
                which = "latest" if self.config["auto.offset.reset"] == "latest" else "earliest"
                if self.config["auto.offset.reset"] == "none":
                    state.in_flight = False
                    self.pending_error = errors.OffsetOutOfRangeError(
                        f"{topic}-{partition}: no position and auto.offset.reset=none")
                    continue
                self.net.send(self, broker, broker.handle_list_offsets, self, topic, partition,
                              registration.leader_epoch, which,
                              lambda response, tp=(topic, partition), token=token:
                              self.on_list_offsets(tp, token, response))
            else:
                self.net.send(self, broker, broker.handle_fetch, self, topic, partition,
                              state.position, registration.leader_epoch, -1,
                              self.config["fetch.max.wait.ms"],
                              self.config["max.partition.fetch.bytes"],
                              lambda response, tp=(topic, partition), token=token:
                              self.on_fetch(tp, token, response))

    def on_list_offsets(self, tp, token, response):
        state = self.assignment.get(tp)
        if state is None or state.token != token:
            return
        state.in_flight = False
        error, offset = response
        if error is not None:
            self.request_metadata()
            self.fetch_again(self.config["retry.backoff.ms"])
            return
        if state.position is None:
            state.position = offset
        self.fetch_again(0)

    def fetch_again(self, delay_ms):
        if self.polling:
            self.sim.schedule(delay_ms, self.start_fetches)

    def on_fetch(self, tp, token, response):
        state = self.assignment.get(tp)
        if state is None or state.token != token:
            return
        state.in_flight = False
        error = response.error
        if error is not None:
            if isinstance(error, errors.OffsetOutOfRangeError):
                if self.config["auto.offset.reset"] == "none":
                    self.pending_error = error
                else:
                    state.position = None       # reset by auto.offset.reset on the next fetch
            else:
                self.request_metadata()
            self.fetch_again(self.config["retry.backoff.ms"])
            return
        topic, partition = tp
        records = []
        position = state.position
        for batch in response.batches:
            for record in batch.records(topic, partition):
                if record.offset >= position:
                    records.append(record)
        state.buffer.extend(records)
        self.fetch_again(0)

    # -- metadata ------------------------------------------------------------------------
    def metadata_topics(self):
        return sorted({tp[0] for tp in self.assignment})

    def metadata_updated(self, topics):
        for topic, registrations in topics.items():
            if registrations is None:
                self.pending_error = errors.UnknownTopicOrPartitionError(
                    f"topic {topic!r} does not exist")
                continue
            for (assigned_topic, partition) in self.assignment:
                if assigned_topic == topic and partition >= len(registrations):
                    self.pending_error = errors.UnknownTopicOrPartitionError(
                        f"{topic}-{partition}: the topic has {len(registrations)} partition(s)")
        self.fetch_again(0)

    def watchdog(self):
        now = self.sim.now
        timeout = self.config["request.timeout.ms"]
        for state in self.assignment.values():
            if state.in_flight and (now - state.sent_ms >= timeout or not state.sent_to[0].alive
                                    or state.sent_to[0].incarnation != state.sent_to[1]):
                state.in_flight = False
                state.token += 1
                self.request_metadata()
        self.expire_metadata_request(now, timeout)
        if not self.closed:
            self.sim.schedule(WATCHDOG_MS, self.watchdog)

    def close(self):
        self.closed = True
        self.assignment = {}
