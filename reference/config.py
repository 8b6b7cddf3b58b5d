"""Configuration, by Kafka's own names and defaults.

Configs are plain dicts keyed by Kafka's names (``"min.insync.replicas"``), so what a
learner sets here is what they would set on a real broker, topic or producer. Unknown
names and out-of-range values raise ``InvalidConfigurationError`` instead of being
silently ignored.
"""

import difflib

from .errors import InvalidConfigurationError

# Broker configs (server.properties). Times are simulated milliseconds.
BROKER_DEFAULTS = {
    "min.insync.replicas": 1,
    "unclean.leader.election.enable": False,
    "default.replication.factor": 1,
    "num.partitions": 1,
    "replica.lag.time.max.ms": 30_000,
    "replica.fetch.wait.max.ms": 500,
    "replica.fetch.max.bytes": 1_048_576,
    "replica.socket.timeout.ms": 30_000,
    "replica.fetch.backoff.ms": 1_000,
    "replica.high.watermark.checkpoint.interval.ms": 5_000,
    "broker.heartbeat.interval.ms": 2_000,
    "broker.session.timeout.ms": 9_000,
    "log.segment.bytes": 1_073_741_824,
    "log.roll.ms": 604_800_000,
    "log.retention.ms": 604_800_000,       # Kafka says log.retention.hours=168: seven days
    "log.retention.bytes": -1,             # no size limit
    "compression.type": "producer",        # keep the producer's codec (or uncompressed, gzip...)
    "log.retention.check.interval.ms": 300_000,
    "log.flush.interval.messages": None,   # Kafka's default: never fsync, rely on replication
    "log.flush.interval.ms": None,
    # "compact" keeps each key's latest value instead of deleting by age or size;
    # "compact,delete" does both (cleaner.py)
    "log.cleanup.policy": "delete",
    # the log cleaner (compaction)
    "log.cleaner.enable": True,
    "log.cleaner.backoff.ms": 15_000,                  # how long the cleaner sleeps when idle
    "log.cleaner.min.cleanable.ratio": 0.5,
    "log.cleaner.min.compaction.lag.ms": 0,
    "log.cleaner.max.compaction.lag.ms": 9_223_372_036_854_775_807,   # Long.MAX_VALUE: never
    "log.cleaner.delete.retention.ms": 86_400_000,     # how long tombstones stay readable
    "log.cleaner.dedupe.buffer.size": 134_217_728,     # the offset map: 24 bytes a key
    "log.cleaner.io.buffer.load.factor": 0.9,          # ...filled up to this fraction
    # The group coordinator and its __consumer_offsets topic
    "offsets.topic.num.partitions": 50,
    "offsets.topic.replication.factor": 3,   # capped at the number of brokers, as in tests
    "offsets.topic.segment.bytes": 104_857_600,   # not log.segment.bytes: commits always fit
    "offsets.commit.timeout.ms": 5_000,
    "offsets.retention.minutes": 10_080,           # 7 days (KIP-186)
    "offsets.retention.check.interval.ms": 600_000,
    "group.initial.rebalance.delay.ms": 3_000,
    "group.min.session.timeout.ms": 6_000,
    "group.max.session.timeout.ms": 1_800_000,
    # The transaction coordinator and its __transaction_state topic
    "transaction.state.log.num.partitions": 50,
    "transaction.state.log.replication.factor": 3,  # capped at the number of brokers
    "transaction.state.log.min.isr": 2,
    "transaction.state.log.segment.bytes": 104_857_600,
    "transaction.max.timeout.ms": 900_000,
    "transaction.abort.timed.out.transaction.cleanup.interval.ms": 10_000,
    "request.timeout.ms": 30_000,                   # the coordinator's marker requests
    "transaction.partition.verification.enable": True,   # KIP-890 part 1 (Kafka 3.6+)
    "transaction.version": 1,     # 2: KIP-890 part 2's epoch bump on every EndTxn (Kafka 4.0)
    # Security: the listener, SASL, and the authorizer (authenticator.py, authorizer.py)
    "listeners": "PLAINTEXT://:9092",       # or SASL_PLAINTEXT://:9092
    "sasl.enabled.mechanisms": "GSSAPI",    # Kafka's default; SCRAM-SHA-256, SCRAM-SHA-512
    "authorizer.class.name": "",            # org.apache.kafka.metadata.authorizer.StandardAuthorizer
    "super.users": "",                      # User:admin;User:ops
    "allow.everyone.if.no.acl.found": False,
    # request handlers: how busy they are (monitoring.request_handler_idle_ratio)
    "num.io.threads": 8,
    # the controller moves leaders back to their preferred replicas now and then
    "auto.leader.rebalance.enable": True,
    "leader.imbalance.check.interval.seconds": 300,
    # client quotas (quota_manager.py)
    "quota.window.num": 11,
    "quota.window.size.seconds": 1,
}

# Topic-level overrides and the broker config each one defaults to.
TOPIC_CONFIG_BROKER_NAME = {
    "min.insync.replicas": "min.insync.replicas",
    "unclean.leader.election.enable": "unclean.leader.election.enable",
    "segment.bytes": "log.segment.bytes",
    "segment.ms": "log.roll.ms",
    "retention.ms": "log.retention.ms",
    "retention.bytes": "log.retention.bytes",
    "flush.messages": "log.flush.interval.messages",
    "flush.ms": "log.flush.interval.ms",
    "cleanup.policy": "log.cleanup.policy",
    "min.cleanable.dirty.ratio": "log.cleaner.min.cleanable.ratio",
    "min.compaction.lag.ms": "log.cleaner.min.compaction.lag.ms",
    "max.compaction.lag.ms": "log.cleaner.max.compaction.lag.ms",
    "delete.retention.ms": "log.cleaner.delete.retention.ms",
    "compression.type": "compression.type",
}

PRODUCER_DEFAULTS = {
    "acks": "all",                     # Kafka 3.0+ default (with idempotence)
    "enable.idempotence": True,        # Kafka 3.0+ default (KIP-679): see producer.py
    "retries": 2_147_483_647,
    "linger.ms": 5,                    # Kafka 4.0 default
    "batch.size": 16_384,
    "compression.type": "none",        # none, gzip, snappy, lz4 or zstd
    "max.in.flight.requests.per.connection": 5,
    "request.timeout.ms": 30_000,
    "delivery.timeout.ms": 120_000,
    "retry.backoff.ms": 100,
    "retry.backoff.max.ms": 1_000,     # KIP-580: backoff doubles up to this
    "reconnect.backoff.ms": 50,        # wait before connecting again to a broker
    "reconnect.backoff.max.ms": 1_000, # ...doubled per refusal in a row, up to this
    "metadata.max.age.ms": 300_000,
    # the built-in partitioner, for records without a key (KIP-794, Kafka 3.3+)
    "partitioner.adaptive.partitioning.enable": True,   # weigh partitions by queued batches
    "partitioner.availability.timeout.ms": 0,           # 0: never leave out a slow broker
    "partitioner.ignore.keys": False,                   # True: keyed records are sticky too
    # transactions
    "transactional.id": None,
    "transaction.timeout.ms": 60_000,
    "max.block.ms": 60_000,           # how long init/commit/abort_transaction() may block
    # security (authenticator.py)
    "security.protocol": "PLAINTEXT",
    "sasl.mechanism": "GSSAPI",
    "sasl.jaas.config": None,
}

CONSUMER_DEFAULTS = {
    "auto.offset.reset": "latest",
    "fetch.max.wait.ms": 500,
    "fetch.min.bytes": 1,
    "max.partition.fetch.bytes": 1_048_576,
    "max.poll.records": 500,
    "request.timeout.ms": 30_000,
    "retry.backoff.ms": 100,
    "isolation.level": "read_uncommitted",
    # consumer groups
    "group.id": None,
    "group.instance.id": None,          # set it for static membership (KIP-345)
    "session.timeout.ms": 45_000,
    "heartbeat.interval.ms": 3_000,
    "max.poll.interval.ms": 300_000,
    "enable.auto.commit": True,         # Kafka's default whenever group.id is set
    "auto.commit.interval.ms": 5_000,
    "partition.assignment.strategy": ("range", "cooperative-sticky"),   # Kafka 3.x default
    # security (authenticator.py)
    "security.protocol": "PLAINTEXT",
    "sasl.mechanism": "GSSAPI",
    "sasl.jaas.config": None,
}

ADMIN_DEFAULTS = {
    "request.timeout.ms": 30_000,
    "retry.backoff.ms": 100,
    # security (authenticator.py)
    "security.protocol": "PLAINTEXT",
    "sasl.mechanism": "GSSAPI",
    "sasl.jaas.config": None,
}


def merged(defaults, overrides, what):
    """``defaults`` updated with ``overrides``; an unknown name is an error, with a suggestion."""
    config = dict(defaults)
    for name, value in (overrides or {}).items():
        if name not in defaults:
            close = difflib.get_close_matches(name, defaults, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise InvalidConfigurationError(f"unknown {what} config {name!r}{hint}")
        config[name] = value
    return config


def require(condition, message):
    if not condition:
        raise InvalidConfigurationError(message)


def normalize_acks(acks):
    """Kafka accepts acks as 0, 1, -1 or "all"; we keep -1 for "all" as the protocol does."""
    if acks in ("all", -1, "-1"):
        return -1
    if acks in (0, 1, "0", "1"):
        return int(acks)
    from .errors import InvalidRequiredAcksError
    raise InvalidRequiredAcksError(f"acks={acks!r}: must be 0, 1 or all (-1)")


def validate_cleaner_configs(configs, what):
    """The log cleaner's settings in ``configs`` (Kafka names, topic or broker), checked as
    Kafka's LogConfig and KafkaConfig check them."""
    from .cleaner import cleanup_policies
    for name, value in configs.items():
        short = name.removeprefix("log.cleaner.").removeprefix("log.")
        if short == "cleanup.policy":
            cleanup_policies(value)
        elif short in ("min.cleanable.ratio", "min.cleanable.dirty.ratio"):
            require(isinstance(value, (int, float)) and not isinstance(value, bool)
                    and 0 <= value <= 1, f"{name} must be a number in [0, 1], got {value!r}")
        elif short in ("min.compaction.lag.ms", "delete.retention.ms", "backoff.ms"):
            require(isinstance(value, int) and not isinstance(value, bool) and value >= 0,
                    f"{name} must be an integer >= 0, got {value!r}")
        elif short in ("max.compaction.lag.ms", "dedupe.buffer.size"):
            require(isinstance(value, int) and not isinstance(value, bool) and value >= 1,
                    f"{name} must be an integer >= 1, got {value!r}")
        elif short == "io.buffer.load.factor":
            require(isinstance(value, (int, float)) and 0 < value <= 1,
                    f"{name} must be a number in (0, 1], got {value!r}")
        elif short == "enable":
            require(isinstance(value, bool), f"{name} must be True or False, got {value!r}")
    if "log.cleaner.dedupe.buffer.size" in configs and "log.cleaner.io.buffer.load.factor" in configs:
        slots = configs["log.cleaner.dedupe.buffer.size"] // 24     # 24 bytes a key (cleaner.py)
        require(slots * configs["log.cleaner.io.buffer.load.factor"] > 1,
                "log.cleaner.dedupe.buffer.size is too small: the offset map must hold at least "
                "one key (24 bytes a key, times log.cleaner.io.buffer.load.factor)")
    low = next((configs[n] for n in ("min.compaction.lag.ms", "log.cleaner.min.compaction.lag.ms")
                if n in configs), None)
    high = next((configs[n] for n in ("max.compaction.lag.ms", "log.cleaner.max.compaction.lag.ms")
                 if n in configs), None)
    if low is not None and high is not None:
        require(low <= high, f"{what}: min.compaction.lag.ms ({low}) may not be larger than "
                             f"max.compaction.lag.ms ({high})")
