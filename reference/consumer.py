"""A consumer that reads assigned partitions from their leaders (``KafkaConsumer.assign``).

It keeps a *position* per partition (the next offset to read), fetches from the leader
(long-polling up to ``fetch.max.wait.ms``), and sees only records below the high
watermark: a record is readable once it is committed. Its fetches carry the leader epoch
it knows (KIP-320), so a deposed leader cannot serve it stale data.

With a ``group.id``, ``subscribe(topics)`` hands the choice of partitions to the group
(``group.py``): the consumer joins, gets its share, starts each partition from the group's
committed offset, and commits its progress to ``__consumer_offsets``.
"""

from . import errors
from .client import Client
from .config import CONSUMER_DEFAULTS, merged, require
from .group import ConsumerCoordinator
from .memory_records import batch_from_bytes

WATCHDOG_MS = 100


def read_committed_batches(batches, aborted_transactions):
    """Which fetched batches a read_committed consumer returns records from (Kafka 3.9's
    ``CompletedFetch.nextFetchedRecord``). ``batches`` are the fetched batches in offset
    order, each ``(base_offset, last_offset, producer_id, transactional, control)`` with
    ``control`` None for data, ``"COMMIT"`` or ``"ABORT"`` for a transaction marker.
    ``aborted_transactions`` are the fetch response's ``(producer_id, first_offset)`` pairs.
    Returns the base offsets of the batches to return, in order. Walking the batches:

    - before a batch with a producer id, every aborted transaction whose first offset is at
      or below the batch's last offset marks its producer as aborted;
    - an ABORT marker ends its producer's aborted transaction: the producer is no longer
      marked (its later transactions may commit);
    - a transactional data batch of a marked producer is dropped whole;
    - markers are never returned; everything else is.
    """
    pending = sorted(aborted_transactions, key=lambda txn: txn[1])
    aborted_producers = set()
    kept = []
    for base_offset, last_offset, producer_id, transactional, control in batches:
        if producer_id >= 0:
            while pending and pending[0][1] <= last_offset:
                aborted_producers.add(pending.pop(0)[0])
            if control == "ABORT":
                aborted_producers.discard(producer_id)
            elif control is None and transactional and producer_id in aborted_producers:
                continue
        if control is None:
            kept.append(base_offset)
    return kept


class PartitionFetchState:
    __slots__ = ("position", "in_flight", "sent_ms", "sent_to", "buffer", "epoch", "token",
                 "awaiting_committed", "high_watermark")

    def __init__(self):
        self.position = None        # unknown until reset by auto.offset.reset or seek()
        self.in_flight = False
        self.sent_ms = 0
        self.sent_to = None         # (broker, incarnation) the request in flight went to
        self.buffer = []            # fetched records not yet returned by poll()
        self.epoch = -1
        self.token = 0
        self.awaiting_committed = False     # group member: asking the group where to start
        self.high_watermark = -1            # as of the last fetch answer (read_committed:
                                            # the last stable offset, where its lag ends)


class Consumer(Client):
    """A simulated ``KafkaConsumer`` with manual assignment. Create it with ``cluster.consumer()``."""

    def __init__(self, cluster, client_id, config=None):
        super().__init__(cluster, client_id, merged(CONSUMER_DEFAULTS, config, "consumer"))
        require(self.config["auto.offset.reset"] in ("earliest", "latest", "none"),
                f"auto.offset.reset must be earliest, latest or none, "
                f"got {self.config['auto.offset.reset']!r}")
        require(self.config["isolation.level"] in ("read_uncommitted", "read_committed"),
                f"isolation.level must be read_uncommitted or read_committed, got "
                f"{self.config['isolation.level']!r}")
        self.read_committed = self.config["isolation.level"] == "read_committed"
        self.committed_batches = cluster.seams.read_committed_batches
        self.corrupt_fetches = 0        # fetched bytes a CRC refused (wire_format)
        self.assignment = {}            # (topic, partition) -> PartitionFetchState
        self.throttled_until = {}       # broker id -> until when a quota throttles us there
        self.pending_error = None
        self.polling = False            # inside a blocking poll(): keep fetching as answers arrive
        self.closed = False
        self.group = ConsumerCoordinator(self) if self.config["group.id"] is not None else None
        self.sim.schedule(WATCHDOG_MS, self.watchdog)

    # -- assignment and positions ------------------------------------------------------
    def assign(self, partitions):
        """Read exactly these ``(topic, partition)`` pairs (replacing any earlier assignment)."""
        if self.group is not None and self.group.topics:
            raise errors.IllegalStateError(
                "subscribe() and assign() are mutually exclusive: this consumer subscribed")
        partitions = [tuple(tp) for tp in partitions]
        for topic, partition in partitions:
            if type(partition) is not int or partition < 0:
                raise errors.UnknownTopicOrPartitionError(f"invalid partition {topic}-{partition}")
        self.assignment = {tp: self.assignment.get(tp) or PartitionFetchState() for tp in partitions}
        self.request_metadata()

    def subscribe(self, topics, listener=None):
        """Join the consumer group ``group.id`` and read the partitions it assigns. A
        ``RebalanceListener`` hears of partitions revoked, assigned and lost."""
        if self.group is None:
            raise errors.InvalidGroupIdError(
                "to use group management (subscribe) or commit offsets, set group.id")
        if isinstance(topics, str):
            topics = [topics]
        if not topics:
            raise errors.IllegalStateError("subscribe to at least one topic")
        if self.assignment and not self.group.topics:
            raise errors.IllegalStateError(
                "subscribe() and assign() are mutually exclusive: this consumer used assign()")
        self.group.subscribe(topics, listener)

    def add_partitions(self, partitions):
        """The group gave us these: start each from the group's committed offset."""
        for tp in partitions:
            state = self.assignment[tp] = PartitionFetchState()
            state.awaiting_committed = True
        if partitions:
            self.request_metadata()

    def remove_partitions(self, partitions):
        for tp in partitions:
            self.assignment.pop(tp, None)

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
        if self.group is not None:
            self.group.on_poll()
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
        if self.group is not None:
            self.group.on_poll()
        records = self.take_records(max_records)
        self.start_fetches()
        return records

    def has_records(self):
        return (self.pending_error is not None or self.authentication_error is not None
                or any(s.buffer for s in self.assignment.values())
                or (self.group is not None and self.group.fatal_error is not None))

    def take_records(self, max_records=None):
        if self.authentication_error is not None:
            raise self.authentication_error
        if self.group is not None and self.group.fatal_error is not None:
            raise self.group.fatal_error
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
            if state.in_flight or state.buffer or state.awaiting_committed:
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
            throttled_until = self.throttled_until.get(broker.node_id, 0)
            if throttled_until > self.sim.now:      # KIP-219: wait out the throttle there
                self.fetch_again(throttled_until - self.sim.now)
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
                              self.on_list_offsets(tp, token, response), self.read_committed)
            else:
                self.net.send(self, broker, broker.handle_fetch, self, topic, partition,
                              state.position, registration.leader_epoch, -1,
                              self.config["fetch.max.wait.ms"],
                              self.config["max.partition.fetch.bytes"],
                              lambda response, tp=(topic, partition), token=token:
                              self.on_fetch(tp, token, response), self.read_committed)

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
            elif isinstance(error, errors.TopicAuthorizationFailedError):
                self.pending_error = error      # poll() raises it, as KafkaConsumer does
            else:
                self.request_metadata()
            self.fetch_again(self.config["retry.backoff.ms"])
            return
        if response.throttle_time_ms:
            self.throttled_until[state.sent_to[0].node_id] = \
                self.sim.now + response.throttle_time_ms
        if self.cluster.wire_format and response.batches:
            try:
                response = response._replace(batches=[
                    batch_from_bytes(data, self.cluster.seams) for data in response.batches])
            except errors.CorruptRecordError:
                # check.crcs: Kafka's poll() raises this; here the consumer fetches again
                self.corrupt_fetches += 1
                self.fetch_again(self.config["retry.backoff.ms"])
                return
        topic, partition = tp
        records = []
        position = state.position
        batches = response.batches
        if self.read_committed:
            state.high_watermark = response.last_stable_offset
            batches = self.drop_aborted(batches, response.aborted_transactions)
        else:
            state.high_watermark = response.high_watermark
        for batch in batches:
            if batch.control is not None:
                continue            # a transaction marker: never returned, stepped over
            for record in batch.records(topic, partition):
                if record.offset >= position:
                    records.append(record)
        if not records and response.batches and response.batches[-1].next_offset > position:
            # Batches with nothing left to read (compaction emptied them): step over them,
            # as Kafka's consumer moves on to a batch's next offset (CompletedFetch).
            state.position = response.batches[-1].next_offset
        state.buffer.extend(records)
        self.fetch_again(0)

    def drop_aborted(self, batches, aborted_transactions):
        """The batches a read_committed consumer returns records from, by the rule
        ``read_committed_batches`` (Kafka's CompletedFetch), asked with plain data."""
        described = [(b.base_offset, b.last_offset, b.producer_id, b.transactional, b.control)
                     for b in batches]
        keep = self.committed_batches(described, [(a.producer_id, a.first_offset)
                                                  for a in aborted_transactions])
        try:
            keep = set(keep)
        except TypeError:
            raise errors.InvalidRequestError(
                f"read_committed_batches answered {keep!r}, not a collection of base offsets"
            ) from None
        return [b for b in batches if b.base_offset in keep]

    def records_lag(self, topic, partition):
        """The consumer's ``records-lag`` metric for a partition: how far its position is
        behind the end it may read (the high watermark; for read_committed, the last stable
        offset), as of its last fetch; None before the first (FetcherTest's
        testReadCommittedLagMetric)."""
        state = self.assignment.get((topic, partition))
        if state is None or state.position is None or state.high_watermark < 0:
            return None
        return state.high_watermark - state.position

    def group_metadata(self):
        """This member's group, generation and member id, for a transactional producer's
        ``send_offsets_to_transaction`` (KafkaConsumer.groupMetadata)."""
        from .transaction_manager import ConsumerGroupMetadata
        group = self.require_group()
        return ConsumerGroupMetadata(group.group_id, group.generation, group.member_id,
                                     group.instance_id)

    # -- metadata ------------------------------------------------------------------------
    def metadata_topics(self):
        topics = {tp[0] for tp in self.assignment}
        if self.group is not None:
            topics.update(self.group.topics, self.group.extra_topics)
        return sorted(topics)

    def metadata_updated(self, topics):
        for topic, registrations in topics.items():
            if isinstance(registrations, errors.KafkaError):
                self.pending_error = registrations      # TOPIC_AUTHORIZATION_FAILED
                continue
            if registrations is None:
                self.pending_error = errors.UnknownTopicOrPartitionError(
                    f"topic {topic!r} does not exist")
                continue
            for (assigned_topic, partition) in self.assignment:
                if assigned_topic == topic and partition >= len(registrations):
                    self.pending_error = errors.UnknownTopicOrPartitionError(
                        f"{topic}-{partition}: the topic has {len(registrations)} partition(s)")
        if self.group is not None:
            if self.group.extra_topics & {t for t, r in topics.items() if type(r) is list}:
                self.group.extra_topics.clear()
                self.group.rejoin_needed = True     # the leader can now assign those topics
            self.group.tick()
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
        if self.group is not None:
            self.group.tick()
        if not self.closed:
            self.sim.schedule(WATCHDOG_MS, self.watchdog)

    # -- offsets ---------------------------------------------------------------------------
    def commit_async(self, offsets=None, callback=None):
        """Commit ``{(topic, partition): offset}`` (default: every position, the offset of
        the next record poll() would return) without waiting. ``callback(error)`` runs when
        the coordinator answers; error is None on success. The committed offset is the
        *next* record to read: after processing offset 41, commit 42."""
        group = self.require_group()
        offsets = self.checked_offsets(offsets)
        group.commit(offsets, callback or (lambda error: None))

    def commit(self, offsets=None, timeout_ms=None):
        """Commit and wait (KafkaConsumer.commitSync), retrying while the coordinator moves.
        Raises CommitFailedError if the group rebalanced the partitions away."""
        group = self.require_group()
        offsets = self.checked_offsets(offsets)
        timeout_ms = timeout_ms or self.config["request.timeout.ms"]
        deadline = self.sim.now + timeout_ms
        while True:
            outcome = []
            group.commit(offsets, outcome.append)
            self.cluster.run_until(lambda: bool(outcome), timeout_ms=max(1, deadline - self.sim.now))
            if not outcome:
                raise errors.RequestTimedOutError(f"commit not answered within {timeout_ms} ms")
            error = outcome[0]
            if error is None:
                return
            if not error.retriable or self.sim.now >= deadline:
                raise error
            self.cluster.run_for(self.config["retry.backoff.ms"])

    def committed(self, topic, partition, timeout_ms=None):
        """The group's committed offset for a partition, or None if it has none."""
        group = self.require_group()
        timeout_ms = timeout_ms or self.config["request.timeout.ms"]
        answer = []
        deadline = self.sim.now + timeout_ms
        while group.coordinator is None and self.sim.now < deadline:
            group.find_coordinator()
            self.cluster.run_until(lambda: group.coordinator is not None or not group.finding,
                                   timeout_ms=max(1, deadline - self.sim.now))
            if group.coordinator is None:
                self.cluster.run_for(self.config["retry.backoff.ms"])
        if group.coordinator is None:
            raise errors.CoordinatorNotAvailableError(f"no coordinator for {group.group_id}")
        group.send("handle_offset_fetch", [(topic, partition)], answer.append)
        self.cluster.run_until(lambda: bool(answer), timeout_ms=timeout_ms)
        if not answer:
            raise errors.RequestTimedOutError("OffsetFetch not answered")
        error, offsets = answer[0]
        if error is not None:
            raise error
        offset = offsets.get((topic, partition), -1)
        return None if offset < 0 else offset

    def require_group(self):
        if self.group is None:
            raise errors.InvalidGroupIdError(
                "to use group management (subscribe) or commit offsets, set group.id")
        return self.group

    def checked_offsets(self, offsets):
        """Refuse commits that can only be mistakes, before they reach the group."""
        if offsets is None:
            return {tp: s.position for tp, s in self.assignment.items() if s.position is not None}
        checked = {}
        for tp, offset in dict(offsets).items():
            tp = tuple(tp)
            state = self.assignment.get(tp)
            if state is None:
                raise errors.IllegalStateError(
                    f"cannot commit {tp[0]}-{tp[1]}: it is not assigned to this consumer "
                    f"(assigned: {sorted(self.assignment)})")
            if type(offset) is not int or offset < 0:
                raise errors.OffsetOutOfRangeError(f"cannot commit offset {offset!r}: offsets are >= 0")
            if state.high_watermark >= 0 and offset > state.high_watermark:
                raise errors.OffsetOutOfRangeError(
                    f"cannot commit offset {offset} for {tp[0]}-{tp[1]}: the log ends at "
                    f"{state.high_watermark} (commit the last processed offset + 1)")
            checked[tp] = offset
        return checked

    # -- leaving -----------------------------------------------------------------------------
    def close(self):
        """Close: with enable.auto.commit, commit the positions first; a dynamic group member
        leaves the group so its partitions move at once."""
        if self.group is not None:
            if (self.group.state == "stable" and self.config["enable.auto.commit"]
                    and not self.sim.running):
                try:
                    self.commit()
                except errors.KafkaError:
                    pass                # Kafka logs and closes anyway
            self.group.leave()
        self.closed = True
        self.assignment = {}

    def crash(self):
        """The consumer's process dies: no commit, no LeaveGroup. The group notices only
        when its session times out."""
        if self.group is not None:
            self.group.record("lost", self.group.owned())
        self.alive = False
        self.incarnation += 1
        self.closed = True
        self.assignment = {}
