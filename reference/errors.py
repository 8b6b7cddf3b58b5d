"""Kafka's errors, by the names and codes Kafka's protocol gives them.

Every error the engine raises or returns is one of these, so a learner who
sees ``NotEnoughReplicasError (NOT_ENOUGH_REPLICAS, code 19)`` can look the
same name up in Kafka's ``org.apache.kafka.common.protocol.Errors``.
``retriable`` says whether a Kafka client would retry the request.
"""


class KafkaError(Exception):
    """Base class: ``name`` and ``code`` are Kafka's (``Errors.java``)."""

    name = "UNKNOWN_SERVER_ERROR"
    code = -1
    retriable = False

    def __str__(self):
        detail = super().__str__()
        return f"{self.name}: {detail}" if detail else self.name


def _error(class_name, kafka_name, code, retriable=False, doc=""):
    cls = type(class_name, (KafkaError,), {"name": kafka_name, "code": code,
                                            "retriable": retriable, "__doc__": doc})
    return cls


OffsetOutOfRangeError = _error(
    "OffsetOutOfRangeError", "OFFSET_OUT_OF_RANGE", 1,
    doc="The requested offset is below the log start offset or above the log end offset.")
CorruptRecordError = _error("CorruptRecordError", "CORRUPT_MESSAGE", 2, retriable=True)
UnknownTopicOrPartitionError = _error(
    "UnknownTopicOrPartitionError", "UNKNOWN_TOPIC_OR_PARTITION", 3, retriable=True,
    doc="The topic does not exist, or the partition number is out of range.")
LeaderNotAvailableError = _error(
    "LeaderNotAvailableError", "LEADER_NOT_AVAILABLE", 5, retriable=True,
    doc="The partition has no leader right now (an election is under way or impossible).")
NotLeaderOrFollowerError = _error(
    "NotLeaderOrFollowerError", "NOT_LEADER_OR_FOLLOWER", 6, retriable=True,
    doc="This broker does not lead the partition: the client's metadata is stale; refresh it.")
RequestTimedOutError = _error(
    "RequestTimedOutError", "REQUEST_TIMED_OUT", 7, retriable=True,
    doc="No response within request.timeout.ms: the outcome is unknown (the write may or may not exist).")
BrokerNotAvailableError = _error("BrokerNotAvailableError", "BROKER_NOT_AVAILABLE", 8)
ReplicaNotAvailableError = _error("ReplicaNotAvailableError", "REPLICA_NOT_AVAILABLE", 9, retriable=True)
MessageSizeTooLargeError = _error("MessageSizeTooLargeError", "MESSAGE_TOO_LARGE", 10)
NetworkError = _error("NetworkError", "NETWORK_EXCEPTION", 13, retriable=True,
                      doc="The connection broke before a response arrived.")
InvalidTopicError = _error("InvalidTopicError", "INVALID_TOPIC_EXCEPTION", 17,
                           doc="The topic name is not legal, or the topic is internal.")
RecordListTooLargeError = _error("RecordListTooLargeError", "RECORD_LIST_TOO_LARGE", 18)
NotEnoughReplicasError = _error(
    "NotEnoughReplicasError", "NOT_ENOUGH_REPLICAS", 19, retriable=True,
    doc="acks=all refused before the append: the ISR is smaller than min.insync.replicas.")
NotEnoughReplicasAfterAppendError = _error(
    "NotEnoughReplicasAfterAppendError", "NOT_ENOUGH_REPLICAS_AFTER_APPEND", 20, retriable=True,
    doc="acks=all: the leader appended the records, then the ISR shrank below "
        "min.insync.replicas before they were committed. The records may still appear.")
InvalidRequiredAcksError = _error(
    "InvalidRequiredAcksError", "INVALID_REQUIRED_ACKS", 21,
    doc="acks must be 0, 1 or all (-1).")
InvalidTimestampError = _error("InvalidTimestampError", "INVALID_TIMESTAMP", 32)
OutOfOrderSequenceNumberError = _error(
    "OutOfOrderSequenceNumberError", "OUT_OF_ORDER_SEQUENCE_NUMBER", 45,
    doc="An idempotent producer's batch does not follow its last one: an earlier batch is "
        "missing (being retried, or lost).")
InvalidProducerEpochError = _error(
    "InvalidProducerEpochError", "INVALID_PRODUCER_EPOCH", 47,
    doc="The producer's epoch is older than the partition's: a newer instance replaced it.")
InvalidRecordError = _error(
    "InvalidRecordError", "INVALID_RECORD", 87,
    doc="The broker refused a record, e.g. one without a key sent to a compacted topic.")
InvalidPartitionsError = _error("InvalidPartitionsError", "INVALID_PARTITIONS", 37)
InvalidReplicationFactorError = _error("InvalidReplicationFactorError", "INVALID_REPLICATION_FACTOR", 38)
InvalidReplicaAssignmentError = _error(
    "InvalidReplicaAssignmentError", "INVALID_REPLICA_ASSIGNMENT", 39,
    doc="A replica list is empty, names a broker twice, or names a broker that is not "
        "registered.")
NoReassignmentInProgressError = _error(
    "NoReassignmentInProgressError", "NO_REASSIGNMENT_IN_PROGRESS", 85,
    doc="A cancellation named a partition that is not being reassigned.")
NewLeaderElectedError = _error(
    "NewLeaderElectedError", "NEW_LEADER_ELECTED", 108,
    doc="AlterPartition changed the partition, but completing its reassignment moved the "
        "leadership away from the sender: it must learn the new leader from the metadata.")
InvalidConfigurationError = _error("InvalidConfigurationError", "INVALID_CONFIG", 40,
                                   doc="A configuration value is unknown or out of its range.")
TopicExistsError = _error("TopicExistsError", "TOPIC_ALREADY_EXISTS", 36)
InvalidRequestError = _error("InvalidRequestError", "INVALID_REQUEST", 42)
KafkaStorageError = _error("KafkaStorageError", "KAFKA_STORAGE_ERROR", 56, retriable=True)
FencedLeaderEpochError = _error(
    "FencedLeaderEpochError", "FENCED_LEADER_EPOCH", 74, retriable=True,
    doc="The request's leader epoch is older than the broker's: the sender is a zombie or stale.")
UnknownLeaderEpochError = _error(
    "UnknownLeaderEpochError", "UNKNOWN_LEADER_EPOCH", 75, retriable=True,
    doc="The request's leader epoch is newer than the broker's: this broker has not caught up yet.")
InvalidUpdateVersionError = _error(
    "InvalidUpdateVersionError", "INVALID_UPDATE_VERSION", 95,
    doc="AlterPartition carried a stale partition epoch; the controller refused the ISR change.")
IneligibleReplicaError = _error(
    "IneligibleReplicaError", "INELIGIBLE_REPLICA", 107,
    doc="AlterPartition tried to add a fenced or shutting-down broker to the ISR.")

# -- consumer groups and offsets --------------------------------------------------------
OffsetMetadataTooLargeError = _error("OffsetMetadataTooLargeError", "OFFSET_METADATA_TOO_LARGE", 12)
CoordinatorLoadInProgressError = _error(
    "CoordinatorLoadInProgressError", "COORDINATOR_LOAD_IN_PROGRESS", 14, retriable=True,
    doc="The coordinator is still reading its __consumer_offsets partition.")
CoordinatorNotAvailableError = _error(
    "CoordinatorNotAvailableError", "COORDINATOR_NOT_AVAILABLE", 15, retriable=True,
    doc="No broker can act as this group's coordinator right now.")
NotCoordinatorError = _error(
    "NotCoordinatorError", "NOT_COORDINATOR", 16, retriable=True,
    doc="This broker is not the group's coordinator (its __consumer_offsets partition moved).")
IllegalGenerationError = _error(
    "IllegalGenerationError", "ILLEGAL_GENERATION", 22,
    doc="The member's generation is not the group's: a rebalance happened without it.")
InconsistentGroupProtocolError = _error(
    "InconsistentGroupProtocolError", "INCONSISTENT_GROUP_PROTOCOL", 23,
    doc="The member supports none of the assignors the rest of the group uses.")
InvalidGroupIdError = _error(
    "InvalidGroupIdError", "INVALID_GROUP_ID", 24,
    doc="Group management and offset commits need a group.id.")
UnknownMemberIdError = _error(
    "UnknownMemberIdError", "UNKNOWN_MEMBER_ID", 25,
    doc="The coordinator does not know this member: it was removed (session timeout, "
        "max.poll.interval.ms, or the coordinator moved) and must join again.")
InvalidSessionTimeoutError = _error(
    "InvalidSessionTimeoutError", "INVALID_SESSION_TIMEOUT", 26,
    doc="session.timeout.ms is outside group.min/max.session.timeout.ms.")
RebalanceInProgressError = _error(
    "RebalanceInProgressError", "REBALANCE_IN_PROGRESS", 27,
    doc="The group is rebalancing: the member must rejoin.")
NonEmptyGroupError = _error(
    "NonEmptyGroupError", "NON_EMPTY_GROUP", 68,
    doc="The group has members: it cannot be deleted.")
GroupIdNotFoundError = _error(
    "GroupIdNotFoundError", "GROUP_ID_NOT_FOUND", 69, doc="No such consumer group.")
FencedInstanceIdError = _error(
    "FencedInstanceIdError", "FENCED_INSTANCE_ID", 82,
    doc="Another consumer with the same group.instance.id joined: this one is a zombie.")

# Transactions (KIP-98)
InvalidTxnStateError = _error(
    "InvalidTxnStateError", "INVALID_TXN_STATE", 48,
    doc="The request does not fit the transaction's state (EndTxn for a transaction that "
        "is not running, or a commit of one being aborted).")
InvalidProducerIdMappingError = _error(
    "InvalidProducerIdMappingError", "INVALID_PRODUCER_ID_MAPPING", 49,
    doc="The producer id is not the one the coordinator has for this transactional.id.")
InvalidTransactionTimeoutError = _error(
    "InvalidTransactionTimeoutError", "INVALID_TRANSACTION_TIMEOUT", 50,
    doc="transaction.timeout.ms is not positive, or above transaction.max.timeout.ms.")
ConcurrentTransactionsError = _error(
    "ConcurrentTransactionsError", "CONCURRENT_TRANSACTIONS", 51, retriable=True,
    doc="The coordinator is still completing this transactional.id's previous transaction "
        "(writing its markers): try again shortly.")
TransactionCoordinatorFencedError = _error(
    "TransactionCoordinatorFencedError", "TRANSACTION_COORDINATOR_FENCED", 52,
    doc="A marker from a transaction coordinator older than the one the partition knows.")
TransactionAbortableError = _error(
    "TransactionAbortableError", "TRANSACTION_ABORTABLE", 120,
    doc="The transaction cannot go on (a partition's leader found the partition not in it, "
        "KIP-890): abort it and start again.")
UnstableOffsetCommitError = _error(
    "UnstableOffsetCommitError", "UNSTABLE_OFFSET_COMMIT", 88, retriable=True,
    doc="The group has offsets committed in a transaction that is not complete yet.")
ProducerFencedError = _error(
    "ProducerFencedError", "PRODUCER_FENCED", 90,
    doc="Another producer with the same transactional.id has started (a newer epoch): this "
        "one is a zombie and must close.")

# Authorization (ACLs)
TopicAuthorizationFailedError = _error(
    "TopicAuthorizationFailedError", "TOPIC_AUTHORIZATION_FAILED", 29,
    doc="No ACL lets this principal do that to the topic (asked before whether the topic "
        "exists, so that its existence does not leak).")
GroupAuthorizationFailedError = _error(
    "GroupAuthorizationFailedError", "GROUP_AUTHORIZATION_FAILED", 30,
    doc="No ACL lets this principal use the consumer group.")
ClusterAuthorizationFailedError = _error(
    "ClusterAuthorizationFailedError", "CLUSTER_AUTHORIZATION_FAILED", 31,
    doc="No ACL lets this principal do that to the cluster (create topics, change ACLs).")
TransactionalIdAuthorizationFailedError = _error(
    "TransactionalIdAuthorizationFailedError", "TRANSACTIONAL_ID_AUTHORIZATION_FAILED", 53,
    doc="No ACL lets this principal write with the transactional.id.")

# Authentication (SASL)
UnsupportedSaslMechanismError = _error(
    "UnsupportedSaslMechanismError", "UNSUPPORTED_SASL_MECHANISM", 33,
    doc="The broker does not offer the SASL mechanism the client asked for.")
SaslAuthenticationFailedError = _error(
    "SaslAuthenticationFailedError", "SASL_AUTHENTICATION_FAILED", 58,
    doc="Authentication failed (an unknown user, a wrong password, a malformed or replayed "
        "message: the same answer for all), and the broker closes the connection.")

# Client-side errors: Java exceptions a KafkaConsumer throws without asking a broker.
CommitFailedError = _error(
    "CommitFailedError", "CommitFailedException", None,
    doc="The commit cannot complete: the group rebalanced and the partitions went to another "
        "member (the poll loop took longer than max.poll.interval.ms, or the member was "
        "removed). The records since the last commit will be read again by the new owner.")
IllegalStateError = _error(
    "IllegalStateError", "IllegalStateException", None,
    doc="The consumer was asked for something its state does not allow, such as committing "
        "a partition that is not assigned to it.")

TransactionStateError = _error(
    "TransactionStateError", "KafkaException", None,
    doc="A transactional call cannot go on: an earlier request of this transaction failed, "
        "so the transaction can only be aborted (or, after a fatal error, the producer "
        "closed).")
ClientTimeoutError = _error(
    "ClientTimeoutError", "TimeoutException", None,
    doc="A blocking client call (init_transactions, commit_transaction, ...) did not finish "
        "within max.block.ms.")

ALL_ERRORS = {cls.name: cls for cls in list(globals().values())
              if isinstance(cls, type) and issubclass(cls, KafkaError)}


def error_for_name(name):
    """The error class for a Kafka error name such as ``"NOT_ENOUGH_REPLICAS"``."""
    return ALL_ERRORS[name]
