"""A whole simulated Kafka cluster: start here.

    from kafkadojo.reference import Cluster

    cluster = Cluster(brokers=3, seed=42)
    cluster.create_topic("orders", partitions=3, replication_factor=3,
                         config={"min.insync.replicas": 2})
    producer = cluster.producer(acks="all")
    offset = producer.send("orders", b"hello", key=b"user-1").get()
    cluster.crash(cluster.leader("orders", 0))
    cluster.run_for(15_000)                       # simulated milliseconds

Everything runs on one seeded simulator: the same seed and the same calls give the same
history, event for event.
"""

import re

from . import errors
from .admin import Admin
from .authorizer import AclFilter, StandardAuthorizer
from .broker import Broker
from .cleaner import DELETE_HORIZON, TOMBSTONE_EXPIRY
from .config import (BROKER_DEFAULTS, TOPIC_CONFIG_BROKER_NAME, merged, require,
                     validate_cleaner_configs)
from .coordinator import OFFSETS_TOPIC, coordinator_partition
from .consumer import Consumer
from .controller import Controller
from .memory_records import garble_batches
from .producer import Producer
from .seams import REFERENCE
from .quota_manager import QUOTA_NAMES
from .scram import ScramCredential
from .sim import Network, Simulator

TRUNCATION_MODES = ("leader-epoch", "high-watermark")
# a topic's compression.type (BrokerCompressionType): the producer's codec, none, or one codec
TOPIC_COMPRESSION_TYPES = ("producer", "uncompressed", "gzip", "snappy", "lz4", "zstd")
LEGAL_TOPIC_NAME = re.compile(r"^[a-zA-Z0-9._-]{1,249}$")


def _kafka_names(options):
    """Let Python keywords stand for Kafka names: linger_ms -> linger.ms."""
    return {name.replace("_", "."): value for name, value in options.items()}


class Cluster:
    """Brokers, a controller, a network and a clock, all simulated and seeded.

    ``truncation`` chooses how a follower repairs its log after a leader change:
    ``"leader-epoch"`` (KIP-101/279, Kafka since 0.11) or ``"high-watermark"`` (the older
    rule, kept so its data-loss scenarios can be replayed). ``tombstone_expiry`` chooses how
    the log cleaner times tombstones: ``"delete-horizon"`` (KIP-534, Kafka 3.1+) or
    ``"segment-time"`` (the older rule, under which a tombstone could live forever).
    ``wire_format`` ships every batch over the network as record batch v2 bytes, checked
    by their CRC on arrival (``memory_records.py``): slower, and it lets a link corrupt
    them (``corrupt_link``).
    """

    def __init__(self, brokers=3, seed=0, config=None, seams=None, truncation="leader-epoch",
                 min_latency_ms=1, max_latency_ms=3, drop_rate=0.0, event_budget=None,
                 tombstone_expiry=DELETE_HORIZON, wire_format=False):
        require(isinstance(brokers, int) and brokers >= 1, f"brokers must be >= 1, got {brokers!r}")
        require(truncation in TRUNCATION_MODES,
                f"truncation must be one of {TRUNCATION_MODES}, got {truncation!r}")
        require(0 <= min_latency_ms <= max_latency_ms, "need 0 <= min_latency_ms <= max_latency_ms")
        require(0.0 <= drop_rate < 1.0, "drop_rate must be in [0, 1)")
        require(tombstone_expiry in TOMBSTONE_EXPIRY,
                f"tombstone_expiry must be one of {TOMBSTONE_EXPIRY}, got {tombstone_expiry!r}")
        self.tombstone_expiry = tombstone_expiry
        self.wire_format = bool(wire_format)
        self.sim = Simulator(seed, event_budget)
        self.network = Network(self.sim, min_latency_ms, max_latency_ms, drop_rate)
        self.broker_config = merged(BROKER_DEFAULTS, config, "broker")
        validate_cleaner_configs(self.broker_config, "broker config")
        interval = self.broker_config["leader.imbalance.check.interval.seconds"]
        require(isinstance(interval, int) and not isinstance(interval, bool) and interval >= 1,
                f"leader.imbalance.check.interval.seconds must be an integer >= 1, "
                f"got {interval!r}")
        self.seams = seams or REFERENCE
        self.authorizer = None          # the cluster's ACLs, when authorizer.class.name is set
        if self.broker_config["authorizer.class.name"]:
            super_users = [u.strip() for u in self.broker_config["super.users"].split(";")
                           if u.strip()]
            self.authorizer = StandardAuthorizer(
                self.seams, super_users, self.broker_config["allow.everyone.if.no.acl.found"])
        self.scram_credentials = {}     # (user, mechanism) -> ScramCredential
        self.client_quotas = {}         # (user, client id) -> {quota name: bytes per second}
        self.truncation = truncation
        self.controller = Controller(self)
        self.brokers = [Broker(self, i, self.broker_config) for i in range(brokers)]
        for broker in self.brokers:
            self.controller.register_broker(broker.node_id)
        self.controller.start()
        for broker in self.brokers:
            broker.start()
        self.clients = []
        self.ownership_log = []     # (time, group, client, "assigned"|"revoked"|"lost", partitions)
        # (time, transactional.id, producer id, epoch, state): every state a transaction
        # coordinator wrote, kept here because a coordinator's memory dies with its broker
        self.transaction_log = []
        self.run_for(10)

    # -- time ----------------------------------------------------------------------------
    @property
    def now(self):
        return self.sim.now

    @property
    def seed(self):
        return self.sim.seed

    def run_for(self, duration_ms, until=None):
        """Advance simulated time by ``duration_ms`` (or until ``until()`` holds)."""
        return self.sim.run_until(self.sim.now + duration_ms, until=until)

    def run_until(self, until, timeout_ms=60_000):
        """Run until ``until()`` holds; False if ``timeout_ms`` passed first."""
        return self.sim.run_until(self.sim.now + timeout_ms, until=until)

    def step(self):
        return self.sim.step()

    # -- security: users and ACLs (the admin API, as a super user uses it) ---------------------
    def upsert_scram_credential(self, user, password, mechanism="SCRAM-SHA-256",
                                iterations=4096):
        """AlterUserScramCredentials: store ``user``'s SCRAM credential (a fresh salt from the
        seeded random; the password itself is not kept)."""
        require(isinstance(user, str) and user, "a user name is a non-empty string")
        require(isinstance(iterations, int) and 4096 <= iterations <= 16384,
                f"iterations must be between 4096 and 16384 (ScramMechanism), got {iterations!r}")
        salt = self.sim.rng.getrandbits(256).to_bytes(32, "big")
        credential = self.seams.scram_credential(password, salt, iterations, mechanism)
        self.scram_credentials[(user, mechanism)] = ScramCredential(*credential)

    def delete_scram_credential(self, user, mechanism="SCRAM-SHA-256"):
        self.scram_credentials.pop((user, mechanism), None)

    def elect_preferred_leaders(self, partitions=None):
        """ElectLeaders with the PREFERRED type (kafka-leader-election --election-type
        preferred): leadership goes back to each partition's first assigned replica where it
        is in sync. Returns the partitions whose leader moved."""
        moved = self.controller.elect_preferred_leaders(partitions)
        self.run_for(500)               # brokers learn it from the metadata log
        return moved

    def alter_partition_reassignments(self, targets):
        """AlterPartitionReassignments (kafka-reassign-partitions --execute): ``targets`` maps
        ``(topic, partition)`` to its new replica list, the first broker its preferred
        leader, or to None to cancel that partition's reassignment (--cancel). New replicas
        copy the log from the leader; the reassignment completes once every target replica
        is in the ISR, and then the others stop and delete their copy. Leadership moves only
        if the leader is removed (a preferred leader election moves the rest). Raises the
        first partition's error, if any, once the others are under way."""
        results = self.controller.alter_partition_reassignments(targets)
        self.run_for(500)               # brokers learn it from the metadata log
        for error in results.values():
            if error is not None:
                raise error

    def list_partition_reassignments(self):
        """ListPartitionReassignments (kafka-reassign-partitions --list):
        ``{(topic, partition): {"replicas": [...], "adding": [...], "removing": [...]}}``
        for every partition being reassigned."""
        return self.controller.list_partition_reassignments()

    def run_until_reassigned(self, timeout_ms=60_000):
        """Run until no reassignment is in progress and every live broker has learnt so
        (what kafka-reassign-partitions --verify waits for); False if ``timeout_ms`` passed
        first."""
        controller = self.controller
        return self.run_until(lambda: not any(
            reg.adding_replicas or reg.removing_replicas for reg in controller.partitions.values())
            and all(b.metadata.offset == len(controller.metadata_log)
                    for b in self.brokers if b.alive), timeout_ms=timeout_ms)

    def alter_client_quotas(self, entity, quotas):
        """AlterClientQuotas: ``entity`` is ``{"user": name}``, ``{"client-id": id}`` or both
        (``"<default>"`` for a default); ``quotas`` maps ``producer_byte_rate`` or
        ``consumer_byte_rate`` to bytes per second, ``request_percentage`` to a share of
        request handler time (percent of one thread), or None to remove it."""
        unknown = set(entity) - {"user", "client-id"}
        if not entity or unknown:
            raise errors.InvalidRequestError(f"a quota entity names a user and/or a client-id, "
                                             f"not {sorted(unknown) or 'nothing'}")
        key = (entity.get("user"), entity.get("client-id"))
        current = dict(self.client_quotas.get(key, {}))
        for name, value in quotas.items():
            if name not in QUOTA_NAMES:
                raise errors.InvalidRequestError(f"unknown quota {name!r}; known: "
                                                 f"{list(QUOTA_NAMES)}")
            if value is None:
                current.pop(name, None)
            elif isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                unit = ("percent of a request handler thread" if name == "request_percentage"
                        else "bytes per second")
                raise errors.InvalidRequestError(f"{name} must be a positive number ({unit}), "
                                                 f"got {value!r}")
            else:
                current[name] = float(value)
        if current:
            self.client_quotas[key] = current
        else:
            self.client_quotas.pop(key, None)

    def _require_authorizer(self):
        if self.authorizer is None:
            raise errors.InvalidConfigurationError(
                "no authorizer: start the cluster with config={'authorizer.class.name': "
                "'org.apache.kafka.metadata.authorizer.StandardAuthorizer'}")
        return self.authorizer

    def create_acls(self, acls):
        """CreateAcls: ``[AclBinding, ...]``, each one on its own; raises the first binding's
        error, if any, once the others are in (as ``CreateAclsResult.all().get()`` does)."""
        results = self._require_authorizer().create_acls(acls)
        for _, error in results:
            if error is not None:
                raise error
        return [binding for binding, _ in results]

    def describe_acls(self, acl_filter=None):
        return self._require_authorizer().describe_acls(acl_filter or AclFilter())

    def delete_acls(self, acl_filter):
        """DeleteAcls: removes and returns the ACLs ``acl_filter`` selects
        (``AclFilter()`` selects every one)."""
        if not isinstance(acl_filter, AclFilter):
            raise errors.InvalidRequestError(
                f"delete_acls takes an AclFilter (AclFilter() matches every ACL), not "
                f"{acl_filter!r}")
        return self._require_authorizer().delete_acls(acl_filter)

    # -- topics and clients ------------------------------------------------------------------
    def create_topic(self, name, partitions=None, replication_factor=None, config=None,
                     replica_assignment=None):
        """CreateTopics: ``partitions`` (1 unless given) with ``replication_factor`` replicas
        each (``default.replication.factor`` unless given), placed round-robin; or
        ``replica_assignment`` places them by hand, as ``NewTopic(name,
        replicasAssignments)`` does: ``{partition: [broker, ...]}`` or a list of replica
        lists, the first broker of each the partition's preferred leader."""
        if not isinstance(name, str) or not LEGAL_TOPIC_NAME.match(name) or name in (".", ".."):
            raise errors.InvalidTopicError(
                f"illegal topic name {name!r}: use 1-249 characters from [a-zA-Z0-9._-]")
        if name == OFFSETS_TOPIC:
            raise errors.InvalidTopicError(
                f"{name} is internal: the group coordinator creates it when a group first needs it")
        if name in self.controller.topics:
            raise errors.TopicExistsError(f"topic {name!r} already exists")
        assignment = None
        if replica_assignment is not None:
            assignment = self._manual_assignment(replica_assignment, partitions,
                                                 replication_factor)
            partitions, replication_factor = len(assignment), len(assignment[0])
        elif partitions is None:
            partitions = 1
        if not isinstance(partitions, int) or partitions < 1:
            raise errors.InvalidPartitionsError(f"partitions must be >= 1, got {partitions!r}")
        if replication_factor is None:
            replication_factor = self.broker_config["default.replication.factor"]
        if not isinstance(replication_factor, int) or not 1 <= replication_factor <= len(self.brokers):
            raise errors.InvalidReplicationFactorError(
                f"replication factor must be between 1 and the {len(self.brokers)} brokers, "
                f"got {replication_factor!r}")
        configs = self.validate_topic_config(config or {})
        self.controller.create_topic(name, partitions, replication_factor, configs, assignment)
        self.run_until(lambda: all(
            (name, p) in b.partitions for b in self.brokers if b.alive and b.caught_up
            for p in range(partitions) if b.node_id in self.controller.partitions[(name, p)].replicas),
            timeout_ms=5_000)

    def _manual_assignment(self, replica_assignment, partitions, replication_factor):
        if partitions is not None or replication_factor is not None:
            raise errors.InvalidRequestError(
                "a manual replica assignment was given: the partitions and the replication "
                "factor come from it, so leave both out")
        if isinstance(replica_assignment, dict):
            if set(replica_assignment) != set(range(len(replica_assignment))):
                raise errors.InvalidReplicaAssignmentError(
                    f"partitions should be a consecutive 0-based integer sequence, not "
                    f"{sorted(replica_assignment, key=repr)}")
            replica_assignment = [replica_assignment[p] for p in range(len(replica_assignment))]
        if not isinstance(replica_assignment, (list, tuple)) or not replica_assignment:
            raise errors.InvalidReplicaAssignmentError(
                f"a replica assignment is one replica list per partition, not "
                f"{replica_assignment!r}")
        return self.controller.validate_topic_assignment(list(replica_assignment))

    def validate_topic_config(self, config):
        configs = {}
        for name, value in config.items():
            if name not in TOPIC_CONFIG_BROKER_NAME:
                raise errors.InvalidConfigurationError(
                    f"unknown topic config {name!r}; known: {sorted(TOPIC_CONFIG_BROKER_NAME)}")
            if name == "min.insync.replicas":
                require(isinstance(value, int) and value >= 1,
                        f"min.insync.replicas must be an integer >= 1, got {value!r}")
            if name in ("retention.ms", "retention.bytes"):
                require(isinstance(value, int) and value >= -1,
                        f"{name} must be an integer >= -1 (-1: no limit), got {value!r}")
            if name in ("segment.bytes", "segment.ms"):
                require(isinstance(value, int) and value >= 1,
                        f"{name} must be a positive integer, got {value!r}")
            if name == "unclean.leader.election.enable":
                require(isinstance(value, bool), f"{name} must be True or False, got {value!r}")
            if name == "compression.type":
                require(value in TOPIC_COMPRESSION_TYPES,
                        f"compression.type must be one of {list(TOPIC_COMPRESSION_TYPES)}, "
                        f"got {value!r}")
            configs[name] = value
        lags = {name: configs.get(name, self.broker_config[TOPIC_CONFIG_BROKER_NAME[name]])
                for name in ("min.compaction.lag.ms", "max.compaction.lag.ms")}
        validate_cleaner_configs({**configs, **lags}, "topic config")
        return configs

    def producer(self, client_id=None, config=None, **options):
        """A producer; configs by Kafka name in ``config`` or as keywords (``linger_ms=0``)."""
        config = {**(config or {}), **_kafka_names(options)}
        client = Producer(self, client_id or f"producer-{len(self.clients) + 1}", config)
        self.clients.append(client)
        return client

    def admin(self, client_id=None, config=None, **options):
        """An admin client (admin.py): topics, ACLs and quotas as an authenticated principal,
        checked by the brokers' authorizer."""
        config = {**(config or {}), **_kafka_names(options)}
        client = Admin(self, client_id or f"admin-{len(self.clients) + 1}", config)
        self.clients.append(client)
        return client

    def consumer(self, client_id=None, config=None, **options):
        config = {**(config or {}), **_kafka_names(options)}
        client = Consumer(self, client_id or f"consumer-{len(self.clients) + 1}", config)
        self.clients.append(client)
        return client

    # -- faults ----------------------------------------------------------------------------
    def broker(self, broker_id):
        if not isinstance(broker_id, int) or not 0 <= broker_id < len(self.brokers):
            raise errors.BrokerNotAvailableError(
                f"no broker {broker_id!r}: brokers are 0 to {len(self.brokers) - 1}")
        return self.brokers[broker_id]

    def crash(self, broker_id, lose_unflushed=False):
        """Kill a broker. ``lose_unflushed=True`` is a power loss: unflushed records vanish."""
        broker = self.broker(broker_id)
        if broker.alive:
            broker.crash(lose_unflushed)
            self.controller.log_event(
                f"broker {broker_id} crashed" + (" losing its unflushed tail" if lose_unflushed else ""))

    def restart(self, broker_id):
        broker = self.broker(broker_id)
        if not broker.alive:
            broker.restart()
            self.controller.log_event(f"broker {broker_id} restarted")

    def partition_network(self, side_a, side_b):
        """Cut the network between two groups of nodes (broker ids, client ids, "controller")."""
        self.network.partition(side_a, side_b)
        self.controller.log_event(f"network partition: {list(side_a)} | {list(side_b)}")

    def isolate(self, node_id):
        """Cut one node off from every other node."""
        others = [b.node_id for b in self.brokers] + ["controller"] + [c.node_id for c in self.clients]
        self.network.isolate(node_id, others)
        self.controller.log_event(f"network partition: {node_id} isolated")

    def corrupt_link(self, a, b):
        """Flip a bit in every batch's bytes that travels between nodes ``a`` and ``b`` (either
        way), somewhere the CRC covers. Needs ``wire_format``: without bytes, there is
        nothing to corrupt."""
        require(self.wire_format, "corrupt_link needs Cluster(wire_format=True)")
        self.network.corrupt_link(a, b, garble_batches)
        self.controller.log_event(f"link {a}-{b} corrupts batches")

    def heal(self):
        self.network.heal()
        self.controller.log_event("network healed")

    # -- views -----------------------------------------------------------------------------
    def registration(self, topic, partition):
        key = (topic, partition)
        if key not in self.controller.partitions:
            raise errors.UnknownTopicOrPartitionError(f"{topic}-{partition}")
        return self.controller.partitions[key]

    def leader(self, topic, partition):
        """The leader the controller has elected (-1 if offline)."""
        return self.registration(topic, partition).leader

    def isr(self, topic, partition):
        return list(self.registration(topic, partition).isr)

    def log(self, broker_id, topic, partition):
        """A broker's replica of a partition (its ``Log``), or None if it has none."""
        return self.broker(broker_id).logs.get((topic, partition))

    def topics(self):
        return sorted(self.controller.topics)

    def partitions(self, topic=None):
        return sorted(key for key in self.controller.partitions if topic is None or key[0] == topic)

    # -- consumer groups -----------------------------------------------------------------------
    def group_coordinator(self, group_id):
        """The broker coordinating ``group_id`` now (None while nobody can)."""
        index = coordinator_partition(group_id, self.broker_config["offsets.topic.num.partitions"])
        registration = self.controller.partitions.get((OFFSETS_TOPIC, index))
        if registration is None or registration.leader < 0:
            return None
        broker = self.brokers[registration.leader]
        return broker if broker.alive and index in broker.group_coordinator.owned_partitions else None

    def describe_group(self, group_id):
        """State, generation, members and their partitions, committed offsets and history
        (like ``kafka-consumer-groups --describe``). GROUP_ID_NOT_FOUND if there is none."""
        broker = self.group_coordinator(group_id)
        description = broker.group_coordinator.describe(group_id) if broker else None
        if description is None:
            raise errors.GroupIdNotFoundError(f"no consumer group {group_id!r}"
                                              + ("" if broker else " (or its coordinator is down)"))
        return description

    def delete_group(self, group_id, timeout_ms=10_000):
        """DeleteGroups (``kafka-consumer-groups --delete``): an empty group's committed
        offsets are deleted (tombstones in ``__consumer_offsets``), and the group is gone.
        NON_EMPTY_GROUP while it has members; GROUP_ID_NOT_FOUND if there is none."""
        broker = self.group_coordinator(group_id)
        if broker is None:
            raise errors.CoordinatorNotAvailableError(f"group {group_id!r} has no coordinator")
        answer = []
        broker.group_coordinator.handle_delete_group(broker, group_id, answer.append)
        if not self.run_until(lambda: answer, timeout_ms=timeout_ms):
            raise errors.RequestTimedOutError(f"deleting group {group_id!r}: no answer")
        if answer[0] is not None:
            raise answer[0]

    @property
    def events(self):
        """Controller decisions and injected faults, as ``(time_ms, text)``."""
        return list(self.controller.events)

    def __repr__(self):
        up = sum(b.alive for b in self.brokers)
        return (f"Cluster({len(self.brokers)} brokers, {up} up, t={self.now} ms, seed={self.seed}, "
                f"truncation={self.truncation})")
