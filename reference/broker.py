"""A broker and the partitions it hosts.

A broker keeps two kinds of state, and a crash treats them differently:

- on disk, surviving a crash: each partition's ``Log`` (minus its unflushed tail if the
  machine lost power), the high-watermark checkpoint, and the metadata image;
- in memory, lost in a crash: which partitions it leads or follows, what it knows of
  each follower, produce requests waiting for acks=all, parked fetches.

A ``Partition`` here is Kafka's ``kafka.cluster.Partition``: the leader's side of
replication (tracking followers, moving the high watermark, growing and shrinking the
ISR) and the follower's side (truncating on a leader change, fetching).
"""

from collections import deque
from functools import partial
from typing import NamedTuple

from . import errors
from .auth_helper import denied_error
from .authenticator import SaslServerAuthenticator
from .authorizer import CLUSTER_NAME
from .quota_manager import ClientQuotaManager, ClientRequestQuotaManager
from .cleaner import LogCleaner, cleanup_policies
from .config import BROKER_DEFAULTS, TOPIC_CONFIG_BROKER_NAME
from .coordinator import OFFSETS_TOPIC, GroupCoordinator
from .isr import acks_all_outcome, effective_min_isr
from .log import HIGH_WATERMARK, LOG_END, NONE, TXN_COMMITTED, Log
from .memory_records import batch_from_bytes, batch_to_bytes, batches_size
from .metadata import MetadataImage
from .producer_state import (APPEND, DUPLICATE, INVALID_PRODUCER_EPOCH, NO_PRODUCER_EPOCH,
                             OUT_OF_ORDER_SEQUENCE_NUMBER, BatchMetadata)
from .record_batch import HEADER_BYTES, columns_size
from .replication import truncation_offset_from_high_watermark
from .transaction_coordinator import TRANSACTION_STATE_TOPIC, TransactionCoordinator

INTERNAL_TOPICS = (OFFSETS_TOPIC, TRANSACTION_STATE_TOPIC)


class FetchResponse(NamedTuple):
    error: errors.KafkaError | None
    batches: list
    high_watermark: int
    log_start_offset: int
    log_end_offset: int
    # read_committed fetches: the LSO, and the aborted transactions the batches may hold
    last_stable_offset: int = -1
    aborted_transactions: tuple = ()
    throttle_time_ms: int = 0           # KIP-219: over its quota, the client waits this long


class ProduceResponse(NamedTuple):
    error: errors.KafkaError | None
    base_offset: int
    # KIP-951: with NOT_LEADER_OR_FOLLOWER, the (leader, leader epoch) this broker knows of
    current_leader: tuple | None = None
    throttle_time_ms: int = 0           # KIP-219: over its quota, the client waits this long


class FollowerState:
    """What the leader knows of one follower (Kafka's ``ReplicaState``)."""

    __slots__ = ("leo", "last_caught_up_ms", "last_fetch_leader_leo", "last_fetch_ms")

    def __init__(self, caught_up_ms):
        self.leo = -1                   # unknown until the follower's first fetch
        self.last_caught_up_ms = caught_up_ms
        self.last_fetch_leader_leo = -1
        self.last_fetch_ms = -1

    def __repr__(self):
        return f"FollowerState(leo={self.leo}, last_caught_up_ms={self.last_caught_up_ms})"


class Expiry:
    """The purgatory's clock for one kind of waiting request on one partition. Kafka's timing
    wheel expires each request at its own deadline; here one timer, at the earliest deadline
    waiting, expires what is due and then waits for the next (a restart drops it)."""

    __slots__ = ("broker", "expire", "deadlines", "at")

    def __init__(self, broker, expire, deadlines):
        self.broker = broker
        self.expire = expire            # expire(now): answer the requests that are due
        self.deadlines = deadlines      # deadlines(): those of the requests still waiting
        self.at = None                  # when the timer fires; None: no timer

    def arm(self, deadline):
        if self.at is None or deadline < self.at:
            self.at = deadline
            broker = self.broker
            broker.sim.schedule(deadline - broker.sim.now, self.fire, broker.incarnation, deadline)

    def fire(self, incarnation, deadline):
        broker = self.broker
        if not broker.alive or broker.incarnation != incarnation or self.at != deadline:
            return      # the broker restarted, or an earlier deadline took this timer's place
        self.at = None
        self.expire(broker.sim.now)
        earliest = min(self.deadlines(), default=None)
        if earliest is not None:
            self.arm(earliest)


class Partition:
    """One replica of one partition on one broker, as leader or follower."""

    def __init__(self, broker, topic, index, log):
        self.broker = broker
        self.topic = topic
        self.index = index
        self.log = log
        self.replicas = ()
        self.leader = -1
        self.leader_epoch = -1
        self.partition_epoch = -1
        self.isr = ()
        self.pending_isr = None             # an AlterPartition request in flight
        self.pending_isr_sent_ms = 0
        self.followers = {}                 # broker id -> FollowerState (leader only)
        self.leader_epoch_start_offset = 0
        self.waiting_produces = deque()     # acks=all produces waiting for the HW
        self.waiting_fetches = []           # fetches parked until data arrives
        self.produce_expiry = Expiry(broker, self.expire_waiting_produces,
                                     lambda: (item[4] for item in self.waiting_produces))
        self.fetch_expiry = Expiry(broker, lambda now: self.wake_fetches(expired_only_at=now),
                                   lambda: (fetch[4] for fetch in self.waiting_fetches))
        self._min_isr = None
        self._min_isr_at = -1               # the metadata offset _min_isr was worked out at
        self.fetch_token = None             # follower only: identifies the current fetch session
        self.fetch_sent_ms = None           # follower only: when the in-flight request left
        self.fetch_offset_sent = None       # follower only: offset of the last fetch sent
        self.fetch_leader_incarnation = None  # the leader process that request went to

    @property
    def maximal_isr(self):
        """The ISR the HW must respect: while an expansion is pending it already counts."""
        if self.pending_isr is None:
            return self.isr
        return tuple(r for r in self.replicas if r in self.isr or r in self.pending_isr)

    @property
    def min_isr(self):
        """``min.insync.replicas`` as it applies here, capped at the replication factor; both
        change only with new metadata, so it is worked out once per metadata offset."""
        offset = self.broker.metadata.offset
        if self._min_isr_at != offset:
            self._min_isr = effective_min_isr(
                self.broker.topic_config(self.topic, "min.insync.replicas"), len(self.replicas))
            self._min_isr_at = offset
        return self._min_isr

    @property
    def is_leader(self):
        return self.leader == self.broker.node_id

    # -- the leader's side -------------------------------------------------------------
    def update_follower(self, replica_id, fetch_offset, now):
        """A follower fetched from ``fetch_offset``: it holds everything below it."""
        state = self.followers.get(replica_id)
        if state is None:
            return
        leader_leo = self.log.log_end_offset
        state.last_caught_up_ms = self.broker.seams.last_caught_up_time(
            fetch_offset, now, leader_leo, state.last_caught_up_ms,
            state.last_fetch_leader_leo, state.last_fetch_ms)
        moved = fetch_offset != state.leo
        state.leo = fetch_offset
        state.last_fetch_leader_leo = leader_leo
        state.last_fetch_ms = now
        if replica_id not in self.isr:
            self.maybe_expand_isr(replica_id)
        if moved:
            # As Kafka's updateFollowerFetchState: the HW can move only if a follower did.
            self.maybe_increment_high_watermark(now)

    def maybe_increment_high_watermark(self, now):
        log = self.log
        leader_leo = log.log_end_offset
        maximal = self.isr if self.pending_isr is None else self.maximal_isr
        broker = self.broker
        seams = broker.seams
        follower_leos = []
        for replica_id, state in self.followers.items():
            if replica_id in maximal:
                follower_leos.append(state.leo)
            elif (state.leo < leader_leo and broker.is_eligible(replica_id)
                  and seams.is_caught_up(state.leo, leader_leo, state.last_caught_up_ms,
                                         now, broker.config["replica.lag.time.max.ms"])):
                # about to join the ISR: wait for it rather than commit without it
                follower_leos.append(state.leo)
        proposed = seams.next_high_watermark(
            log.high_watermark, leader_leo, follower_leos, len(self.isr), self.min_isr)
        # Like Kafka's UnifiedLog.maybeIncrementHighWatermark: never past the LEO, never back.
        new_hw = min(proposed, leader_leo)
        if new_hw > log.high_watermark:
            log.high_watermark = new_hw
            self.complete_waiting_produces()
            self.wake_fetches()

    def complete_waiting_produces(self):
        hw = self.log.high_watermark
        waiting = self.waiting_produces
        if not waiting or waiting[0][0] > hw:
            return
        maximal_size = len(self.maximal_isr)
        min_isr = self.min_isr
        while waiting and waiting[0][0] <= hw:
            required_offset, requester, respond, base_offset, _deadline = waiting.popleft()
            outcome = acks_all_outcome(hw, required_offset, maximal_size, min_isr)
            error = None if outcome == "ok" else outcome
            self.broker.reply(requester, respond, ProduceResponse(error, base_offset))

    def expire_waiting_produces(self, now):
        waiting = self.waiting_produces
        if not waiting:
            return
        keep = deque()
        for item in waiting:
            if item[4] <= now:
                self.broker.reply(item[1], item[2], ProduceResponse(
                    errors.RequestTimedOutError("acks=all: not replicated to the ISR in time"),
                    item[3]))
            else:
                keep.append(item)
        self.waiting_produces = keep

    def abandon_waiting_requests(self):
        """Leadership moved away: nobody here can answer these any more."""
        for _, requester, respond, base_offset, _ in self.waiting_produces:
            self.broker.reply(requester, respond, ProduceResponse(
                errors.NotLeaderOrFollowerError(f"{self.topic}-{self.index}: leadership moved"),
                base_offset, self.broker.current_leader(self.topic, self.index)))
        self.waiting_produces = deque()
        fetches, self.waiting_fetches = self.waiting_fetches, []
        for fetch in fetches:
            self.broker.reply(fetch[0], fetch[5], self.error_fetch_response(
                errors.NotLeaderOrFollowerError(f"{self.topic}-{self.index}: leadership moved")))

    def wake_fetches(self, expired_only_at=None):
        """Answer parked fetches that now have something to read (or whose wait is over)."""
        if not self.waiting_fetches:
            return
        log = self.log
        still_waiting = []
        for fetch in self.waiting_fetches:
            requester, fetch_offset, isolation, max_bytes, deadline, respond = fetch
            error, upper = log.fetch_upper_bound(fetch_offset, isolation)
            if error != NONE:
                self.broker.reply(requester, respond, self.out_of_range(fetch_offset))
            elif fetch_offset < upper or (expired_only_at is not None
                                          and deadline <= expired_only_at):
                (self.broker.reply if isolation == LOG_END else self.broker.reply_fetch)(
                    requester, respond,
                    self.read_for_fetch(fetch_offset, max_bytes, upper, isolation))
            else:
                still_waiting.append(fetch)
        self.waiting_fetches = still_waiting

    def read_for_fetch(self, fetch_offset, max_bytes, upper, isolation=None):
        log = self.log
        batches = log.read(fetch_offset, max_bytes, upper)
        if self.broker.cluster.wire_format:
            batches = [batch_to_bytes(batch, self.broker.seams) for batch in batches]
        if isolation != TXN_COMMITTED:
            return FetchResponse(None, batches, log.high_watermark, log.log_start_offset,
                                 log.log_end_offset)
        # read_committed: the LSO, and the aborted transactions these batches may hold
        return FetchResponse(None, batches, log.high_watermark, log.log_start_offset,
                             log.log_end_offset, log.last_stable_offset,
                             tuple(log.producer_state.aborted_for_fetch(fetch_offset, upper)))

    def out_of_range(self, fetch_offset):
        log = self.log
        return self.error_fetch_response(errors.OffsetOutOfRangeError(
            f"{self.topic}-{self.index}: fetch offset {fetch_offset} outside "
            f"[{log.log_start_offset}, {log.log_end_offset}]"))

    def error_fetch_response(self, error):
        log = self.log
        return FetchResponse(error, [], log.high_watermark, log.log_start_offset,
                             log.log_end_offset)

    def maybe_expand_isr(self, replica_id):
        if self.pending_isr is not None or not self.broker.is_eligible(replica_id):
            return
        state = self.followers[replica_id]
        if self.broker.seams.can_join_isr(state.leo, self.log.high_watermark,
                                          self.leader_epoch_start_offset):
            new_isr = tuple(r for r in self.replicas if r in self.isr or r == replica_id)
            self.broker.alter_partition(self, new_isr)

    def maybe_shrink_isr(self, now):
        if not self.is_leader or self.pending_isr is not None:
            return
        seams = self.broker.seams
        lag_max = self.broker.config["replica.lag.time.max.ms"]
        leader_leo = self.log.log_end_offset
        out_of_sync = [r for r in self.isr if r != self.leader and not seams.is_caught_up(
            self.followers[r].leo, leader_leo, self.followers[r].last_caught_up_ms, now, lag_max)]
        if out_of_sync:
            self.broker.alter_partition(self, tuple(r for r in self.isr if r not in out_of_sync))

    def apply_isr(self, registration, now):
        """The controller accepted an ISR change (or reported a newer one)."""
        self.isr = registration.isr
        self.partition_epoch = registration.partition_epoch
        self.pending_isr = None
        if self.is_leader:
            self.maybe_increment_high_watermark(now)
            self.complete_waiting_produces()

    def __repr__(self):
        role = "leader" if self.is_leader else f"follower of {self.leader}"
        return (f"Partition({self.topic}-{self.index} on broker {self.broker.node_id}: {role}, "
                f"epoch {self.leader_epoch}, ISR {list(self.isr)}, HW {self.log.high_watermark}, "
                f"LEO {self.log.log_end_offset})")


def _throttled(respond, throttle_time_ms, response):
    """The client's callback, given the response with its throttle time."""
    respond(response._replace(throttle_time_ms=throttle_time_ms))


def isolation_of(replica_id):
    """Followers (replica id >= 0) read to the log end; consumers (-1) to the high watermark."""
    return LOG_END if replica_id >= 0 else HIGH_WATERMARK


class Broker:
    """A Kafka broker: partition replicas, request handlers, and its background tasks."""

    def __init__(self, cluster, broker_id, config):
        self.cluster = cluster
        self.sim = cluster.sim
        self.net = cluster.network
        self.seams = cluster.seams
        self.node_id = broker_id
        # reply(requester, respond, response) is net.send(self, requester, respond, response):
        # bound once, it costs no Python call of its own (brokers reply to every request).
        self.reply = partial(self.net.send, self)
        self.config = config
        self.alive = True
        self.incarnation = 0
        # on disk
        self.logs = {}                  # (topic, partition) -> Log
        self.hw_checkpoint = {}         # (topic, partition) -> high watermark
        self.metadata = MetadataImage()
        self._topic_configs = {}        # (topic, name) -> value, for the image at this offset
        self._topic_configs_offset = -1
        # in memory
        self.partitions = {}            # (topic, partition) -> Partition
        self.caught_up = False          # has this incarnation applied the controller's metadata?
        self.metadata_request_sent_ms = None
        self.group_coordinator = GroupCoordinator(self)
        self.transaction_coordinator = TransactionCoordinator(self)
        self.authenticator = SaslServerAuthenticator(self)
        self.produce_quotas = ClientQuotaManager(self, "producer_byte_rate")
        self.fetch_quotas = ClientQuotaManager(self, "consumer_byte_rate")
        self.request_quotas = ClientRequestQuotaManager(self)
        self.muted_until = {}           # client id -> when its throttled channel opens again
        self.handler_busy_ms = 0.0      # request handler time spent (RequestHandlerAvgIdlePercent)
        self.corrupt_fetches = 0        # fetched bytes a CRC refused (wire_format)
        self.log_cleaner = LogCleaner(self)

    # -- lifecycle ---------------------------------------------------------------------
    def start(self):
        incarnation = self.incarnation
        self.fetch_metadata()
        self.every(self.config["replica.lag.time.max.ms"] // 2, incarnation, self.shrink_isrs)
        self.every(self.config["replica.high.watermark.checkpoint.interval.ms"], incarnation,
                   self.checkpoint_high_watermarks)
        self.every(1_000, incarnation, self.watch_requests)
        self.every(self.config["log.retention.check.interval.ms"], incarnation,
                   self.delete_old_segments)
        self.every(self.config["offsets.retention.check.interval.ms"], incarnation,
                   lambda: self.group_coordinator.expire_offsets())
        if self.config["log.cleaner.enable"]:
            self.every(self.config["log.cleaner.backoff.ms"], incarnation,
                       self.log_cleaner.clean_filthiest_logs)

    def every(self, interval_ms, incarnation, task):
        def run():
            if self.alive and self.incarnation == incarnation:
                task()
                self.sim.schedule(interval_ms, run)
        self.sim.schedule(interval_ms, run)

    def crash(self, lose_unflushed=False):
        """Stop at once. With ``lose_unflushed`` the machine lost power: each log loses
        what was never flushed to disk."""
        self.alive = False
        if lose_unflushed:
            for log in self.logs.values():
                log.lose_unflushed()
        self.partitions = {}
        self.caught_up = False

    def restart(self):
        """Come back with a new incarnation: disk state as it was, memory empty. The broker
        serves nothing until it has caught up with the controller's metadata."""
        self.incarnation += 1
        self.alive = True
        for key, log in self.logs.items():
            # As Kafka's updateHighWatermark: within [log start offset, log end offset].
            log.high_watermark = max(log.log_start_offset,
                                     min(self.hw_checkpoint.get(key, 0), log.log_end_offset))
        self.partitions = {}
        self.caught_up = False
        self.metadata_request_sent_ms = None
        self.group_coordinator = GroupCoordinator(self)
        self.transaction_coordinator = TransactionCoordinator(self)
        self.authenticator = SaslServerAuthenticator(self)
        self.produce_quotas = ClientQuotaManager(self, "producer_byte_rate")
        self.fetch_quotas = ClientQuotaManager(self, "consumer_byte_rate")
        self.request_quotas = ClientRequestQuotaManager(self)
        self.muted_until = {}
        self.log_cleaner = LogCleaner(self)
        self.start()

    def delete_old_segments(self):
        """The log manager's retention check: every replica, leader or follower, applies
        retention to its own log, bounded by its own high watermark. A topic that is only
        compacted is never cut by age or size, only up to its log start offset."""
        now = self.sim.now
        for (topic, _), log in self.logs.items():
            if "delete" in self.topic_config(topic, "cleanup.policy"):
                log.delete_old_segments(now, self.topic_config(topic, "retention.ms"),
                                        self.topic_config(topic, "retention.bytes"))
            else:
                log.delete_old_segments(now, retention_ms=-1, retention_bytes=-1)

    def topic_config(self, topic, name):
        key = (topic, name)
        cache = self._topic_configs
        if key in cache and self._topic_configs_offset == self.metadata.offset:
            return cache[key]
        if self._topic_configs_offset != self.metadata.offset:
            # Metadata records (a new topic, its configs) arrived: look everything up again.
            cache.clear()
            self._topic_configs_offset = self.metadata.offset
        record = self.metadata.topics.get(topic)
        if record is not None and name in record.configs:
            value = record.configs[name]
        else:
            value = self.config[TOPIC_CONFIG_BROKER_NAME.get(name, name)]
        if name == "cleanup.policy":
            value = cleanup_policies(value)     # {"compact"}, {"delete"} or both
        cache[key] = value
        return value

    def is_eligible(self, replica_id):
        """KIP-841: a fenced broker may not join an ISR."""
        return replica_id not in self.metadata.fenced

    # -- metadata from the controller ---------------------------------------------------
    def fetch_metadata(self):
        """Replicate the controller's metadata log; each request also counts as a heartbeat."""
        controller = self.cluster.controller
        self.metadata_request_sent_ms = self.sim.now
        self.net.send(self, controller, controller.handle_broker_heartbeat, self,
                      self.node_id, self.incarnation, self.metadata.offset,
                      self.on_metadata_response)

    def on_metadata_response(self, records, incarnation):
        if incarnation != self.incarnation:
            return
        self.metadata_request_sent_ms = None
        changed = []
        for record in records:
            self.metadata.apply(record)
            if hasattr(record, "registration"):
                changed.append((record.topic, record.partition))
        if not self.caught_up:
            self.caught_up = True
            changed = list(self.metadata.partitions)
        for key in dict.fromkeys(changed):
            self.reconcile(key)
        self.fetch_metadata()

    def reconcile(self, key):
        """Make this broker's role for a partition match the latest registration."""
        registration = self.metadata.partitions[key]
        if self.node_id not in registration.replicas:
            if key in self.logs:
                self.stop_replica(key)      # reassigned away (perhaps while this broker was down)
            return
        partition = self.partitions.get(key)
        if partition is None:
            partition = Partition(self, key[0], key[1], self.log_for(key))
            partition.replicas = registration.replicas
            self.partitions[key] = partition
        now = self.sim.now
        if registration.leader == self.node_id:
            if not partition.is_leader or registration.leader_epoch > partition.leader_epoch:
                self.become_leader(partition, registration)
                if key[0] == OFFSETS_TOPIC:
                    self.group_coordinator.on_elected(key[1], partition.log)
                elif key[0] == TRANSACTION_STATE_TOPIC:
                    self.transaction_coordinator.on_elected(key[1], partition.log,
                                                            registration.leader_epoch)
            else:
                if registration.replicas != partition.replicas:
                    self.update_replicas(partition, registration)
                if registration.partition_epoch > partition.partition_epoch:
                    partition.apply_isr(registration, now)
        elif (partition.is_leader or registration.leader_epoch > partition.leader_epoch
              or registration.leader != partition.leader):
            if key[0] == OFFSETS_TOPIC:
                self.group_coordinator.on_resigned(key[1])
            elif key[0] == TRANSACTION_STATE_TOPIC:
                self.transaction_coordinator.on_resigned(key[1])
            self.become_follower(partition, registration)
        elif registration.partition_epoch > partition.partition_epoch:
            partition.replicas = registration.replicas
            partition.isr = registration.isr
            partition.partition_epoch = registration.partition_epoch

    def update_replicas(self, partition, registration):
        """A reassignment added replicas without a new leader epoch: the leader tracks each
        new one from its first fetch (``Partition.updateAssignmentAndIsr``)."""
        partition.replicas = registration.replicas
        partition.followers = {
            r: partition.followers.get(r) or FollowerState(0)
            for r in registration.replicas if r != self.node_id}

    def stop_replica(self, key):
        """This broker is no longer one of the partition's replicas: stop serving and fetching
        it, and delete its log (``ReplicaManager.stopPartitions`` with ``deleteLocalLog``)."""
        partition = self.partitions.pop(key, None)
        if partition is not None:
            partition.abandon_waiting_requests()
            partition.fetch_token = None
            if key[0] == OFFSETS_TOPIC:
                self.group_coordinator.on_resigned(key[1])
            elif key[0] == TRANSACTION_STATE_TOPIC:
                self.transaction_coordinator.on_resigned(key[1])
        del self.logs[key]
        self.hw_checkpoint.pop(key, None)

    def log_for(self, key):
        log = self.logs.get(key)
        if log is None:
            topic = key[0]
            segment_ms = self.topic_config(topic, "segment.ms")
            if "compact" in self.topic_config(topic, "cleanup.policy"):
                # LogConfig.maxSegmentMs: the active segment is never cleaned, so it rolls
                # in time for max.compaction.lag.ms
                segment_ms = min(segment_ms, self.topic_config(topic, "max.compaction.lag.ms"))
            log = Log(topic, key[1],
                      segment_bytes=self.topic_config(topic, "segment.bytes"),
                      segment_ms=segment_ms,
                      flush_messages=self.topic_config(topic, "flush.messages"),
                      flush_ms=self.topic_config(topic, "flush.ms"),
                      now=self.sim.now, seams=self.seams)
            self.logs[key] = log
        return log

    def become_leader(self, partition, registration):
        now = self.sim.now
        log = partition.log
        partition.replicas = registration.replicas
        partition.leader = self.node_id
        partition.leader_epoch = registration.leader_epoch
        partition.partition_epoch = registration.partition_epoch
        partition.isr = registration.isr
        partition.pending_isr = None
        partition.fetch_token = None
        # Every record this leader writes from now on belongs to the new epoch.
        log.epochs.assign(registration.leader_epoch, log.log_end_offset)
        partition.leader_epoch_start_offset = log.log_end_offset
        partition.followers = {
            r: FollowerState(now if r in registration.isr else 0)
            for r in registration.replicas if r != self.node_id}
        partition.maybe_increment_high_watermark(now)

    def become_follower(self, partition, registration):
        partition.abandon_waiting_requests()
        partition.replicas = registration.replicas
        partition.leader = registration.leader
        partition.leader_epoch = registration.leader_epoch
        partition.partition_epoch = registration.partition_epoch
        partition.isr = registration.isr
        partition.pending_isr = None
        partition.followers = {}
        token = partition.fetch_token = object()
        partition.fetch_offset_sent = None
        if partition.leader < 0:
            return          # offline: nobody to follow until the controller elects someone
        if self.cluster.truncation == "high-watermark":
            log = partition.log
            log.truncate_to(truncation_offset_from_high_watermark(log.high_watermark,
                                                                  log.log_end_offset))
            self.send_fetch(partition, token)
        else:
            self.send_offset_for_leader_epoch(partition, token)

    # -- the follower's side -------------------------------------------------------------
    def leader_broker(self, partition):
        return self.cluster.brokers[partition.leader]

    def send_offset_for_leader_epoch(self, partition, token):
        leader = self.leader_broker(partition)
        partition.fetch_sent_ms = self.sim.now
        partition.fetch_leader_incarnation = leader.incarnation
        self.net.send(self, leader, leader.handle_offset_for_leader_epoch, self,
                      partition.topic, partition.index, partition.leader_epoch,
                      partition.log.epochs.latest_epoch,
                      lambda response: self.on_offset_for_leader_epoch(partition, token, response))

    def on_offset_for_leader_epoch(self, partition, token, response):
        if partition.fetch_token is not token or self.partitions.get(
                (partition.topic, partition.index)) is not partition:
            return
        partition.fetch_sent_ms = None
        error, leader_epoch, end_offset = response
        if error is not None:
            self.retry_later(partition, token, self.send_offset_for_leader_epoch)
            return
        log = partition.log
        offset, done = self.seams.truncation_offset(
            leader_epoch, end_offset, list(log.epochs.entries), log.log_end_offset,
            log.high_watermark)
        log.truncate_to(offset)
        if done:
            self.send_fetch(partition, token)
        else:
            self.send_offset_for_leader_epoch(partition, token)

    def send_fetch(self, partition, token):
        leader = self.leader_broker(partition)
        partition.fetch_sent_ms = self.sim.now
        partition.fetch_leader_incarnation = leader.incarnation
        partition.fetch_offset_sent = partition.log.log_end_offset
        self.net.send(self, leader, leader.handle_fetch, self, partition.topic, partition.index,
                      partition.log.log_end_offset, partition.leader_epoch, self.node_id,
                      self.config["replica.fetch.wait.max.ms"],
                      self.config["replica.fetch.max.bytes"],
                      partial(self.on_fetch_response, partition, token))

    def on_fetch_response(self, partition, token, response):
        if partition.fetch_token is not token or self.partitions.get(
                (partition.topic, partition.index)) is not partition:
            return
        partition.fetch_sent_ms = None
        log = partition.log
        if response.error is not None:
            if isinstance(response.error, errors.OffsetOutOfRangeError) \
                    and response.log_end_offset < log.log_end_offset:
                # The leader has less than we do (it was elected uncleanly): match it.
                log.truncate_to(response.log_end_offset)
                self.send_fetch(partition, token)
            elif isinstance(response.error, errors.OffsetOutOfRangeError) \
                    and log.log_end_offset < response.log_start_offset:
                # Retention deleted what we still need: start over from the leader's start.
                log.truncate_fully_and_start_at(response.log_start_offset, self.sim.now)
                self.send_fetch(partition, token)
            else:
                self.retry_later(partition, token, self.send_fetch)
            return
        now = self.sim.now
        batches = response.batches
        if self.cluster.wire_format:
            try:
                batches = [batch_from_bytes(data, self.seams) for data in batches]
            except errors.CorruptRecordError:
                # ReplicaFetcherThread: the partition backs off and fetches the same again
                self.corrupt_fetches += 1
                self.retry_later(partition, token, self.send_fetch)
                return
        for batch in batches:
            log.append_as_follower(batch, now)
        hw = min(response.high_watermark, log.log_end_offset)
        if hw > log.high_watermark:
            log.high_watermark = hw
        # Follow the leader's log start offset (retention, DeleteRecords) within what we hold.
        start = min(response.log_start_offset, log.high_watermark)
        if start > log.log_start_offset:
            log.advance_log_start_offset(start, now)
        self.send_fetch(partition, token)

    def retry_later(self, partition, token, send):
        def retry():
            if self.alive and partition.fetch_token is token:
                send(partition, token)
        self.sim.schedule(self.config["replica.fetch.backoff.ms"], retry)

    # -- request handlers ------------------------------------------------------------------
    def partition_for_request(self, topic, index, current_leader_epoch):
        """The partition this broker leads, or the error to answer with."""
        partition = self.partitions.get((topic, index))
        if partition is not None and self.caught_up and partition.leader == self.node_id and (
                current_leader_epoch is None or current_leader_epoch == partition.leader_epoch):
            return partition, None
        if partition is None or not self.caught_up:
            if topic not in self.metadata.topics or not (
                    0 <= index < self.metadata.topics[topic].num_partitions):
                return None, errors.UnknownTopicOrPartitionError(f"{topic}-{index}")
            return None, errors.NotLeaderOrFollowerError(
                f"broker {self.node_id} does not host {topic}-{index}")
        if not partition.is_leader:
            return partition, errors.NotLeaderOrFollowerError(
                f"broker {self.node_id} is not the leader of {topic}-{index}")
        if current_leader_epoch is not None:
            if current_leader_epoch < partition.leader_epoch:
                return partition, errors.FencedLeaderEpochError(
                    f"{topic}-{index}: request epoch {current_leader_epoch} < "
                    f"leader epoch {partition.leader_epoch}")
            if current_leader_epoch > partition.leader_epoch:
                return partition, errors.UnknownLeaderEpochError(
                    f"{topic}-{index}: request epoch {current_leader_epoch} > "
                    f"leader epoch {partition.leader_epoch}")
        return partition, None

    def current_leader(self, topic, index):
        """KIP-951: the partition's leader and leader epoch in this broker's metadata image,
        sent back with NOT_LEADER_OR_FOLLOWER so that the client need not ask for metadata."""
        registration = self.metadata.partitions.get((topic, index))
        if registration is None or registration.leader < 0:
            return None
        return (registration.leader, registration.leader_epoch)

    # -- security --------------------------------------------------------------------------
    def handle_sasl_authenticate(self, requester, mechanism, message, respond):
        """SaslHandshake and SaslAuthenticate, one SCRAM message at a time."""
        self.authenticator.handle(requester, mechanism, message, respond)

    def quota_user(self, requester):
        """The user a client's quotas go by: its authenticated name, ANONYMOUS on a
        PLAINTEXT listener."""
        principal = self.authenticator.principal_of(requester) or ""
        return principal.partition(":")[2]

    def reply_fetch(self, requester, respond, response):
        """Answer a consumer's fetch within its quotas: its bytes count against its byte
        rate and its handler time against its request percentage; a fetch that takes it
        over either is answered empty, with the longer throttle time, and its bytes are
        taken off again (ClientQuotaManager.unrecordQuotaSensor); the channel is then muted
        for that long (KIP-219)."""
        if self.cluster.client_quotas:
            now = self.sim.now
            size = batches_size(response.batches)
            user = self.quota_user(requester)
            throttle = self.fetch_quotas.record(user, requester.node_id, size,
                                                now).throttle_time_ms if size else 0
            throttle = max(throttle, self.request_quotas.record(
                user, requester.node_id, self.request_quotas.percentage(self.REQUEST_MS),
                now).throttle_time_ms)
            if throttle:
                if size:
                    self.fetch_quotas.unrecord(user, requester.node_id, size, now)
                self.muted_until[requester.node_id] = now + throttle
                response = response._replace(batches=[], throttle_time_ms=throttle)
        self.reply(requester, respond, response)

    def authorized(self, requester, operation, resource_type, name):
        """Whether the authorizer lets ``requester`` do ``operation`` on the resource; every
        request is allowed without an authorizer (``authorizer.class.name`` empty). Brokers'
        own requests (replication, coordinators' writes) are the cluster's: always allowed."""
        authorizer = self.cluster.authorizer
        if authorizer is None or isinstance(requester, Broker):
            return True
        principal = self.authenticator.principal_of(requester)
        if principal is None:
            return False
        return authorizer.authorize(principal, requester.host, operation, resource_type, name)

    def refusal(self, requester, api, topics=(), group_id=None, transactional_id=None):
        """What KafkaApis answers a client that may not make this request: the error of the
        first ACL check that fails (``required_acls``), or None when every one passes."""
        if self.cluster.authorizer is None or isinstance(requester, Broker):
            return None
        for operation, resource_type, name in self.seams.required_acls(
                api, topics, group_id, transactional_id):
            if self.authorized(requester, operation, resource_type, name):
                continue
            if api == "CreateTopics" and self.authorized(requester, "CREATE", "CLUSTER",
                                                         CLUSTER_NAME):
                continue                # CREATE on the cluster covers every topic
            if api == "InitProducerId" and resource_type == "CLUSTER" and \
                    self.may_write_some_topic(requester):
                continue                # KIP-679: WRITE on any topic will do
            return denied_error(operation, resource_type, name)
        return None

    def handle_produce_bytes(self, requester, topic, index, data, acks, timeout_ms, respond,
                             transactional_id=None):
        """A produce request whose batch came as bytes (``Cluster(wire_format=True)``): read
        it, CRC checked, then append it as any other. Bytes that do not add up are refused
        with CORRUPT_MESSAGE, which the producer retries."""
        try:
            batch = batch_from_bytes(data, self.seams)
        except errors.CorruptRecordError as corrupt:
            if acks != 0:
                self.reply(requester, respond, ProduceResponse(corrupt, -1))
            return
        producer = None
        if batch.producer_id >= 0:
            producer = (batch.producer_id, batch.producer_epoch, batch.base_sequence,
                        transactional_id)
        compression = (None if batch.compression == "none"
                       else (batch.compression, len(data) - HEADER_BYTES))
        self.handle_produce(requester, topic, index, batch.keys, batch.values,
                            batch.timestamps, batch.headers, acks, timeout_ms, respond,
                            producer, compression)

    def handle_produce(self, requester, topic, index, keys, values, timestamps, headers,
                       acks, timeout_ms, respond, producer=None, compression=None):
        # checked before the topic's existence: whether it exists must not leak
        transactional_id = producer[3] if producer is not None and len(producer) > 3 else None
        denied = self.refusal(requester, "Produce", [topic],
                              transactional_id=transactional_id or None)
        if denied is not None:
            if acks != 0:
                self.reply(requester, respond, ProduceResponse(denied, -1))
            return
        if self.cluster.client_quotas:
            muted = self.muted_until.get(requester.node_id, 0)
            if muted > self.sim.now:    # KIP-219: a throttled client's channel is muted
                self.sim.schedule(muted - self.sim.now, self.handle_produce, requester, topic,
                                  index, keys, values, timestamps, headers, acks, timeout_ms,
                                  respond, producer, compression)
                return
            # the batch's bytes as they came over the wire (compressed, if they were)
            size = (HEADER_BYTES + compression[1] if compression and compression[1] is not None
                    else columns_size(keys, values, timestamps, headers))
            user, now = self.quota_user(requester), self.sim.now
            throttle = self.produce_quotas.record(user, requester.node_id, size,
                                                  now).throttle_time_ms
            handler_ms = self.REQUEST_MS + size * self.BYTE_MS
            throttle = max(throttle, self.request_quotas.record(
                user, requester.node_id, self.request_quotas.percentage(handler_ms),
                now).throttle_time_ms)
            if throttle:
                self.muted_until[requester.node_id] = self.sim.now + throttle
                respond = partial(_throttled, respond, throttle)
        if topic in INTERNAL_TOPICS:
            # Only the coordinators write there (ReplicaManager's internalTopicsAllowed).
            if acks != 0:
                self.reply(requester, respond, ProduceResponse(errors.InvalidTopicError(
                    f"cannot append to internal topic {topic}"), -1))
            return
        self.append_records(requester, topic, index, keys, values, timestamps, headers,
                            acks, timeout_ms, respond, producer, compression=compression)

    # What a request costs a request handler thread: a fixed part and a part per byte (the
    # engine's model; Kafka measures the time its threads spend)
    REQUEST_MS = 0.05
    BYTE_MS = 1 / 10_000.0             # 10 MB/s a thread

    def append_records(self, requester, topic, index, keys, values, timestamps, headers,
                       acks, timeout_ms, respond, producer=None, verified=False,
                       compression=None):
        """Append a batch as the partition's leader and answer by ``acks``. ``producer`` is an
        idempotent producer's ``(producer_id, epoch, base_sequence)`` (a fourth item, its
        transactional.id, for a transactional one): a retry of one of its last batches gets
        that batch's offsets and is not appended again (producer_state.py). A transactional
        batch that would start a transaction here is first verified with the coordinator
        (KIP-890, ``verify_then_append``) unless ``verified`` already."""
        partition, error = self.partition_for_request(topic, index, None)
        if error is None and acks not in (0, 1, -1):
            error = errors.InvalidRequiredAcksError(f"acks={acks}")
        if error is None and (keys is None or None in keys) and "compact" in self.topic_config(
                topic, "cleanup.policy"):
            error = errors.InvalidRecordError(      # LogValidator
                f"compacted topic cannot accept a record without a key ({topic}-{index})")
        if error is None and acks == -1 and not self.seams.acks_all_accepted(
                len(partition.isr), self.topic_config(topic, "min.insync.replicas"),
                len(partition.replicas)):
            error = errors.NotEnoughReplicasError(
                f"the ISR has {len(partition.isr)} replica(s), fewer than "
                f"min.insync.replicas={partition.min_isr}")
        if error is not None:
            if acks != 0:
                hint = (self.current_leader(topic, index)
                        if isinstance(error, errors.NotLeaderOrFollowerError) else None)
                self.reply(requester, respond, ProduceResponse(error, -1, hint))
            return
        now = self.sim.now
        log = partition.log
        self.handler_busy_ms += self.REQUEST_MS
        duplicate = None
        if producer is not None:
            duplicate, error = self.check_producer(log, producer, len(values))
            if error is not None:
                if acks != 0:
                    self.reply(requester, respond, ProduceResponse(error, -1))
                return
            if (duplicate is None and not verified and len(producer) > 3 and producer[3]
                    and producer[2] >= 0
                    and self.config["transaction.partition.verification.enable"]
                    and not log.producer_state.in_transaction(producer[0])):
                self.verify_then_append(requester, topic, index, keys, values, timestamps,
                                        headers, acks, timeout_ms, respond, producer,
                                        compression)
                return
        if duplicate is not None:
            # answered as the original was: its offsets, once it is committed
            base_offset, next_offset = duplicate.first_offset, duplicate.last_offset + 1
        else:
            try:
                batch = log.append_as_leader(keys, values, timestamps, headers,
                                             partition.leader_epoch, now, producer,
                                             self.stored_compression(topic, compression))
            except errors.RecordListTooLargeError as too_large:     # larger than segment.bytes
                if acks != 0:
                    self.reply(requester, respond, ProduceResponse(too_large, -1))
                return
            base_offset, next_offset = batch.base_offset, batch.next_offset
            self.handler_busy_ms += batch.size_bytes * self.BYTE_MS
            partition.maybe_increment_high_watermark(now)
            partition.wake_fetches()
        self.answer_by_acks(partition, requester, respond, acks, base_offset, next_offset,
                            timeout_ms)

    def stored_compression(self, topic, compression):
        """The codec a batch is stored with (``LogValidator``): the producer's, with its
        compressed bytes as sent, under the topic's ``compression.type=producer``; else the
        topic's own (``uncompressed``: none), recompressed here if it differs."""
        sent = compression or ("none", None)
        wanted = self.topic_config(topic, "compression.type")
        if wanted == "producer":
            return sent
        codec = "none" if wanted == "uncompressed" else wanted
        return sent if codec == sent[0] else (codec, None)

    def verify_then_append(self, requester, topic, index, keys, values, timestamps, headers,
                           acks, timeout_ms, respond, producer, compression=None):
        """KIP-890 part 1 (Kafka 3.6+, ``transaction.partition.verification.enable``): a
        transactional batch that would open a transaction on this partition is appended
        only if the coordinator confirms that the partition is in the producer's ongoing
        transaction (AddPartitionsToTxn, verify only). A produce request that arrives after
        its transaction ended is refused (TRANSACTION_ABORTABLE, Kafka 3.8+), instead of
        opening a transaction nobody will ever close (a hanging transaction, KAFKA-12671)."""
        producer_id, epoch, _, transactional_id = producer[:4]
        index_state = self.transaction_coordinator.partition_for(transactional_id)
        registration = self.metadata.partitions.get((TRANSACTION_STATE_TOPIC, index_state))
        if registration is None or registration.leader < 0:
            if acks != 0:
                self.reply(requester, respond, ProduceResponse(errors.NotEnoughReplicasError(
                    f"{topic}-{index}: cannot verify the transaction: no coordinator"), -1))
            return
        coordinator = self.cluster.brokers[registration.leader]
        incarnation = self.incarnation

        def on_verified(error):
            if not self.alive or self.incarnation != incarnation:
                return
            if error is None:
                self.append_records(requester, topic, index, keys, values, timestamps, headers,
                                    acks, timeout_ms, respond, producer, verified=True,
                                    compression=compression)
            elif acks != 0:
                if error.retriable:     # what a client before KIP-890 retries (KAFKA-15653)
                    error = errors.NotEnoughReplicasError(f"verification: {error}")
                self.reply(requester, respond, ProduceResponse(error, -1))
        self.net.send(self, coordinator, coordinator.handle_txn_request,
                      "handle_verify_partition", self, transactional_id, producer_id, epoch,
                      (topic, index), on_verified)

    def answer_by_acks(self, partition, requester, respond, acks, base_offset, next_offset,
                       timeout_ms):
        """Answer an append: at once (acks=1), or once it is committed (acks=all)."""
        if acks == 0:
            return
        if acks == 1:
            self.reply(requester, respond, ProduceResponse(None, base_offset))
            return
        outcome = acks_all_outcome(partition.log.high_watermark, next_offset,
                                   len(partition.maximal_isr), partition.min_isr)
        if outcome is None:
            deadline = self.sim.now + timeout_ms
            partition.waiting_produces.append(
                (next_offset, requester, respond, base_offset, deadline))
            partition.produce_expiry.arm(deadline)
        else:
            self.reply(requester, respond,
                       ProduceResponse(None if outcome == "ok" else outcome, base_offset))

    def check_producer(self, log, producer, record_count):
        """The idempotent producer's check (``UnifiedLog.analyzeAndValidateProducerState``):
        ``(the duplicated batch's metadata or None, the error or None)``. A batch with no
        sequence (-1) comes from a coordinator (TxnOffsetCommit): only its epoch is checked."""
        producer_id, epoch, base_sequence = producer[:3]
        entry = log.producer_state.get(producer_id)
        if not (len(producer) > 3 and producer[3]) and log.producer_state.in_transaction(
                producer_id):
            return None, errors.InvalidTxnStateError(       # ProducerAppendInfo.checkProducerEpoch
                f"{log.topic}-{log.partition}: producer {producer_id} sent a batch outside "
                f"the transaction it has open here")
        if base_sequence < 0:
            if entry is not None and epoch < entry.epoch:
                return None, errors.InvalidProducerEpochError(
                    f"{log.topic}-{log.partition}: producer {producer_id}'s epoch {epoch} is "
                    f"older than {entry.epoch}")
            return None, None
        last_sequence = self.seams.increment_sequence(base_sequence, record_count - 1)
        verdict, metadata = self.seams.check_append(
            entry.epoch if entry else NO_PRODUCER_EPOCH, list(entry.batches) if entry else [],
            epoch, base_sequence, last_sequence)
        if verdict == DUPLICATE:
            return BatchMetadata(*metadata), None       # a plain tuple from a learner's rule
        if verdict == OUT_OF_ORDER_SEQUENCE_NUMBER:
            return None, errors.OutOfOrderSequenceNumberError(
                f"{log.topic}-{log.partition}: producer {producer_id} sent sequence "
                f"{base_sequence}, the last batch ended at "
                f"{entry.batches[-1].last_sequence if entry and entry.batches else 'none'}")
        if verdict == INVALID_PRODUCER_EPOCH:
            return None, errors.InvalidProducerEpochError(
                f"{log.topic}-{log.partition}: producer {producer_id}'s epoch {epoch} is older "
                f"than {entry.epoch}")
        if verdict != APPEND:
            raise errors.InvalidRequestError(f"check_append answered {verdict!r}")
        return None, None

    def handle_write_txn_marker(self, requester, topic, index, producer_id, producer_epoch,
                                coordinator_epoch, commit, respond):
        """WriteTxnMarkers, for one partition: its leader appends the COMMIT or ABORT marker
        (``appendEndTxnMarker``) and answers (the error, or None) once it is committed. An
        older epoch than the partition knows gets INVALID_PRODUCER_EPOCH, an older
        coordinator TRANSACTION_COORDINATOR_FENCED. A marker for ``__consumer_offsets``
        makes the group coordinator apply or drop the transaction's offsets."""
        partition, error = self.partition_for_request(topic, index, None)
        if error is None:
            entry = partition.log.producer_state.get(producer_id)
            if entry is not None and producer_epoch < entry.epoch:
                error = errors.InvalidProducerEpochError(
                    f"{topic}-{index}: marker epoch {producer_epoch} < {entry.epoch}")
            elif entry is not None and coordinator_epoch < entry.coordinator_epoch:
                error = errors.TransactionCoordinatorFencedError(
                    f"{topic}-{index}: coordinator epoch {coordinator_epoch} < "
                    f"{entry.coordinator_epoch}")
            elif not self.seams.acks_all_accepted(
                    len(partition.isr), self.topic_config(topic, "min.insync.replicas"),
                    len(partition.replicas)):
                error = errors.NotEnoughReplicasError(
                    f"{topic}-{index}: the ISR is smaller than min.insync.replicas")
        if error is not None:
            self.reply(requester, respond, error)
            return
        now = self.sim.now
        marker = "COMMIT" if commit else "ABORT"
        batch = partition.log.append_marker_as_leader(producer_id, producer_epoch, marker,
                                                      coordinator_epoch,
                                                      partition.leader_epoch, now)
        partition.maybe_increment_high_watermark(now)
        partition.wake_fetches()
        if topic == OFFSETS_TOPIC:
            self.group_coordinator.on_transaction_completed(index, producer_id, commit)
        self.answer_by_acks(partition, requester, lambda response: respond(response.error), -1,
                            batch.base_offset, batch.next_offset, self.config["request.timeout.ms"])

    def handle_txn_request(self, request, requester, transactional_id, *args):
        """InitProducerId (with a transactional.id), AddPartitionsToTxn, AddOffsetsToTxn and
        EndTxn: the transaction coordinator answers them (``request`` names its handler),
        once it is known whether the requester may: WRITE on the transactional.id, and
        WRITE on each topic it adds, READ on the group whose offsets it adds."""
        api = self.TXN_APIS.get(request)     # None: a broker's own (KIP-890 verification)
        topics = sorted({topic for topic, _ in args[-2]}) if api == "AddPartitionsToTxn" else ()
        group_id = args[-2] if api == "AddOffsetsToTxn" else None
        refusal = self.refusal(requester, api, topics, group_id, transactional_id)
        coordinator = self.transaction_coordinator
        coordinator.refusal = refusal
        try:
            getattr(coordinator, request)(requester, transactional_id, *args)
        finally:
            coordinator.refusal = None

    def handle_init_producer_id(self, requester, transactional_id, respond):
        """InitProducerId for an idempotent producer (no transactional.id): a new producer id,
        epoch 0. Producer ids come from the controller, unique in the cluster (Kafka's
        ProducerIdManager takes blocks of them from the controller)."""
        if not self.caught_up:
            self.reply(requester, respond, (errors.CoordinatorNotAvailableError(
                f"broker {self.node_id} is starting"), -1, -1))
            return
        refusal = self.refusal(requester, "InitProducerId")
        if refusal is not None:
            self.reply(requester, respond, (refusal, -1, -1))
            return
        self.reply(requester, respond, (None, self.cluster.controller.allocate_producer_id(), 0))

    def may_write_some_topic(self, requester):
        """KIP-679: an idempotent producer needs IDEMPOTENT_WRITE on the cluster, or WRITE on
        some topic that no DENY shadows (``authorizeByResourceType``)."""
        principal = self.authenticator.principal_of(requester)
        return principal is not None and self.cluster.authorizer.authorize_by_resource_type(
            principal, requester.host, "WRITE", "TOPIC")

    def handle_fetch(self, requester, topic, index, fetch_offset, current_leader_epoch,
                     replica_id, max_wait_ms, max_bytes, respond, read_committed=False):
        """Serve a follower (``replica_id`` >= 0, up to the LEO) or a consumer (``replica_id``
        -1, up to the high watermark; with ``read_committed``, up to the last stable offset).
        With nothing to return yet, park the request for up to ``max_wait_ms``: Kafka's long
        poll."""
        if replica_id < 0 and self.muted_until.get(requester.node_id, 0) > self.sim.now:
            self.sim.schedule(self.muted_until[requester.node_id] - self.sim.now,
                              self.handle_fetch, requester, topic, index, fetch_offset,
                              current_leader_epoch, replica_id, max_wait_ms, max_bytes, respond,
                              read_committed)
            return
        refusal = self.refusal(requester, "Fetch", [topic]) if replica_id < 0 else None
        if refusal is not None:
            self.reply(requester, respond, FetchResponse(refusal, [], -1, -1, -1))
            return
        partition, error = self.partition_for_request(topic, index, current_leader_epoch)
        if error is not None:
            response = (partition.error_fetch_response(error) if partition is not None
                        else FetchResponse(error, [], -1, -1, -1))
            self.reply(requester, respond, response)
            return
        log = partition.log
        isolation = LOG_END if replica_id >= 0 else (
            TXN_COMMITTED if read_committed else HIGH_WATERMARK)
        error, upper = log.fetch_upper_bound(fetch_offset, isolation)
        if error != NONE:
            self.reply(requester, respond, partition.out_of_range(fetch_offset))
            return
        now = self.sim.now
        self.handler_busy_ms += self.REQUEST_MS
        if replica_id >= 0:
            partition.update_follower(replica_id, fetch_offset, now)
        if fetch_offset < upper or max_wait_ms <= 0:
            (self.reply if replica_id >= 0 else self.reply_fetch)(
                requester, respond,
                partition.read_for_fetch(fetch_offset, max_bytes, upper, isolation))
        else:
            deadline = now + max_wait_ms
            partition.waiting_fetches.append(
                (requester, fetch_offset, isolation, max_bytes, deadline, respond))
            partition.fetch_expiry.arm(deadline)

    def handle_offset_for_leader_epoch(self, requester, topic, index, current_leader_epoch,
                                       requested_epoch, respond):
        partition, error = self.partition_for_request(topic, index, current_leader_epoch)
        if error is not None:
            self.reply(requester, respond, (error, -1, -1))
            return
        log = partition.log
        epoch, end_offset = log.epochs.end_offset_for(
            requested_epoch, log.log_end_offset, rule=self.seams.end_offset_for_epoch)
        self.reply(requester, respond, (None, epoch, end_offset))

    def handle_list_offsets(self, requester, topic, index, current_leader_epoch, which, respond,
                            read_committed=False):
        """ListOffsets: ``which`` is "earliest" (the log start offset) or "latest" (the high
        watermark: the end of what consumers may read; for read_committed, the LSO)."""
        refusal = self.refusal(requester, "ListOffsets", [topic])
        if refusal is not None:
            self.reply(requester, respond, (refusal, -1))
            return
        partition, error = self.partition_for_request(topic, index, current_leader_epoch)
        if error is not None:
            self.reply(requester, respond, (error, -1))
            return
        log = partition.log
        offset = log.log_start_offset if which == "earliest" else (
            log.last_stable_offset if read_committed else log.high_watermark)
        self.reply(requester, respond, (None, offset))

    # -- consumer groups -----------------------------------------------------------------
    def handle_find_coordinator(self, requester, key, respond, key_type="group"):
        """FindCoordinator: the leader of the group's ``__consumer_offsets`` partition, or
        (``key_type="transaction"``) of the transactional.id's ``__transaction_state``
        partition. The first request creates that topic (Kafka creates it on demand, too)."""
        if key_type == "transaction":
            refusal = self.refusal(requester, "FindCoordinator", transactional_id=key)
            topic, index = TRANSACTION_STATE_TOPIC, self.transaction_coordinator.partition_for(key)
        else:
            refusal = self.refusal(requester, "FindCoordinator", group_id=key)
            topic, index = OFFSETS_TOPIC, self.group_coordinator.partition_for(key)
        if refusal is not None:
            self.reply(requester, respond, (refusal, -1))
            return
        if topic not in self.metadata.topics:
            controller = self.cluster.controller
            self.net.send(self, controller, controller.handle_create_internal_topic, topic)
            self.reply(requester, respond, (errors.CoordinatorNotAvailableError(
                f"{topic} is being created"), -1))
            return
        registration = self.metadata.partitions.get((topic, index))
        if not self.caught_up or registration is None or registration.leader < 0:
            self.reply(requester, respond, (errors.CoordinatorNotAvailableError(
                f"{topic}-{index} has no leader"), -1))
            return
        self.reply(requester, respond, (None, registration.leader))

    # The coordinators' handlers, by the requests' Kafka names
    GROUP_APIS = {"handle_join_group": "JoinGroup", "handle_sync_group": "SyncGroup",
                  "handle_heartbeat": "Heartbeat", "handle_leave_group": "LeaveGroup",
                  "handle_offset_commit": "OffsetCommit", "handle_offset_fetch": "OffsetFetch",
                  "handle_txn_offset_commit": "TxnOffsetCommit",
                  "handle_delete_group": "DeleteGroups"}
    TXN_APIS = {"handle_init_producer_id": "InitProducerId",
                "handle_add_partitions": "AddPartitionsToTxn",
                "handle_add_offsets": "AddOffsetsToTxn", "handle_end_txn": "EndTxn"}

    def handle_group_request(self, request, requester, group_id, *args):
        """JoinGroup, SyncGroup, Heartbeat, LeaveGroup, OffsetCommit, OffsetFetch,
        TxnOffsetCommit, DeleteGroups: the coordinator answers them (``request`` names its
        handler), once it is known whether the requester may: READ on the group (DESCRIBE
        to fetch offsets, DELETE to delete it); to commit offsets, READ on their topics too;
        in a transaction, WRITE on its transactional.id."""
        api = self.GROUP_APIS[request]
        topics = ()
        if api in ("OffsetCommit", "TxnOffsetCommit", "OffsetFetch") and args[-2] is not None:
            topics = sorted({topic for topic, _ in args[-2]})
        transactional_id = args[0] if api == "TxnOffsetCommit" else None
        refusal = self.refusal(requester, api, topics, group_id, transactional_id)
        coordinator = self.group_coordinator
        coordinator.refusal = refusal
        try:
            getattr(coordinator, request)(requester, group_id, *args)
        finally:
            coordinator.refusal = None

    def handle_admin_request(self, requester, api, topics, respond):
        """CreateTopics, CreateAcls, DescribeAcls, DeleteAcls, AlterClientQuotas: the
        broker checks the ACLs (the controller does the work: see admin.py)."""
        self.reply(requester, respond, self.refusal(requester, api, topics))

    def handle_metadata(self, requester, topics, respond):
        """Answer from this broker's own (possibly stale) metadata image."""
        image = self.metadata
        result = {}
        for topic in (topics if topics is not None else list(image.topics)):
            refusal = self.refusal(requester, "Metadata", [topic])
            if refusal is not None:
                if topics is not None:      # asked by name: refused, existing or not
                    result[topic] = refusal
                continue                    # listing all: the topic is left out
            record = image.topics.get(topic)
            if record is None:
                result[topic] = None
                continue
            result[topic] = [image.partitions.get((topic, p)) for p in range(record.num_partitions)]
        live = sorted(b for b in image.brokers if b not in image.fenced)
        self.reply(requester, respond, (live, result))

    # -- ISR changes ---------------------------------------------------------------------
    def alter_partition(self, partition, new_isr):
        """Ask the controller to record a new ISR (KIP-497 AlterPartition)."""
        partition.pending_isr = new_isr
        partition.pending_isr_sent_ms = self.sim.now
        controller = self.cluster.controller
        self.net.send(self, controller, controller.handle_alter_partition, self,
                      self.node_id, partition.topic, partition.index, partition.leader_epoch,
                      partition.partition_epoch, new_isr,
                      lambda response: self.on_alter_partition(partition, new_isr, response))

    def on_alter_partition(self, partition, requested_isr, response):
        if self.partitions.get((partition.topic, partition.index)) is not partition \
                or partition.pending_isr != requested_isr:
            return
        error, registration = response
        if error is None and registration.partition_epoch > partition.partition_epoch:
            partition.apply_isr(registration, self.sim.now)
        else:
            partition.pending_isr = None    # refused or stale: metadata will tell us the truth

    # -- background tasks ------------------------------------------------------------------
    def shrink_isrs(self):
        now = self.sim.now
        for partition in self.partitions.values():
            partition.maybe_shrink_isr(now)

    def checkpoint_high_watermarks(self):
        for key, log in self.logs.items():
            self.hw_checkpoint[key] = log.high_watermark

    def watch_requests(self):
        """Resend requests whose answer never came (the network lost it)."""
        now = self.sim.now
        timeout = self.config["replica.socket.timeout.ms"]
        if (self.metadata_request_sent_ms is not None
                and now - self.metadata_request_sent_ms > 2 * self.config["broker.heartbeat.interval.ms"]):
            self.fetch_metadata()
        for partition in self.partitions.values():
            if partition.fetch_sent_ms is not None and (
                    now - partition.fetch_sent_ms > timeout or self.connection_reset(partition)):
                token = partition.fetch_token = object()
                partition.fetch_sent_ms = None
                if partition.leader >= 0 and not partition.is_leader:
                    self.send_offset_for_leader_epoch(partition, token) \
                        if self.cluster.truncation == "leader-epoch" else self.send_fetch(partition, token)
            if partition.pending_isr is not None and now - partition.pending_isr_sent_ms > timeout:
                partition.pending_isr = None

    def connection_reset(self, partition):
        """A crashed leader's connections are reset by its OS: the follower learns at once,
        not after a request timeout (a network partition, by contrast, is silent)."""
        if partition.leader < 0:
            return False
        leader = self.cluster.brokers[partition.leader]
        return not leader.alive or leader.incarnation != partition.fetch_leader_incarnation

    def __repr__(self):
        state = "up" if self.alive else "down"
        return f"Broker({self.node_id}, {state}, incarnation {self.incarnation})"


__all__ = ["Broker", "Partition", "FollowerState", "FetchResponse", "ProduceResponse",
           "BROKER_DEFAULTS"]
