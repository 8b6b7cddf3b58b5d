"""Which ACLs a request needs: the checks Kafka's request handlers (KafkaApis, through its
AuthHelper) make before they do anything else.

Every client request names resources: the topics it reads or writes, the consumer group it
joins, the transactional.id it writes with, or the cluster itself. For each one KafkaApis
asks the authorizer one question, "may this principal do this operation to this
resource?", in a fixed order, and the first "no" is the answer the client gets, named by the
resource's type (TOPIC_AUTHORIZATION_FAILED, GROUP_..., TRANSACTIONAL_ID_...,
CLUSTER_AUTHORIZATION_FAILED).

Two requests accept either of two ACLs, and the broker, not the list, knows it:
CreateTopics needs CREATE on each topic, or CREATE on the cluster for all of them; an
idempotent producer's InitProducerId needs IDEMPOTENT_WRITE on the cluster, or (KIP-679,
Kafka 3.0+) WRITE on any topic.

``required_acls`` is an exercise: the broker calls it through its seams.
"""

from . import errors
from .authorizer import CLUSTER_NAME

# The client requests the broker checks, by the names Kafka's ApiKeys gives them.
CLIENT_APIS = ("Produce", "Fetch", "ListOffsets", "Metadata", "OffsetCommit", "OffsetFetch",
               "FindCoordinator", "JoinGroup", "Heartbeat", "LeaveGroup", "SyncGroup",
               "DeleteGroups", "InitProducerId", "AddPartitionsToTxn", "AddOffsetsToTxn",
               "EndTxn", "TxnOffsetCommit", "CreateTopics", "CreateAcls", "DescribeAcls",
               "DeleteAcls", "AlterClientQuotas", "DescribeClientQuotas")

# The error a failed check answers, by the type of the resource it was about.
DENIED_ERRORS = {"TOPIC": errors.TopicAuthorizationFailedError,
                 "GROUP": errors.GroupAuthorizationFailedError,
                 "TRANSACTIONAL_ID": errors.TransactionalIdAuthorizationFailedError,
                 "CLUSTER": errors.ClusterAuthorizationFailedError}


def required_acls(api, topics=(), group_id=None, transactional_id=None):
    """The ACL checks KafkaApis makes for one client request, in the order it makes them: a
    list of ``(operation, resource_type, resource_name)``, one per resource.

    ``api`` is the request's name ("Produce", "OffsetCommit", ...: CLIENT_APIS); ``topics``
    the topics it names, in order, each checked on its own; ``group_id`` and
    ``transactional_id`` the group and the transactional.id it carries, or None (a
    FindCoordinator carries one of the two: which coordinator it looks for). The cluster
    resource is named ``CLUSTER_NAME``. An unknown ``api`` is a ValueError.
    """
    cluster = ("CLUSTER", CLUSTER_NAME)

    def on_topics(operation):
        return [(operation, "TOPIC", topic) for topic in topics]

    def write_transactional_id():
        return [("WRITE", "TRANSACTIONAL_ID", transactional_id)]

    if api == "Produce":            # only a transactional produce carries a transactional.id
        checks = write_transactional_id() if transactional_id is not None else []
        return checks + on_topics("WRITE")
    if api == "Fetch":
        return on_topics("READ")
    if api in ("ListOffsets", "Metadata"):
        return on_topics("DESCRIBE")
    if api == "CreateTopics":
        return on_topics("CREATE")
    if api == "FindCoordinator":
        if transactional_id is not None:
            return [("DESCRIBE", "TRANSACTIONAL_ID", transactional_id)]
        return [("DESCRIBE", "GROUP", group_id)]
    if api in ("JoinGroup", "Heartbeat", "LeaveGroup", "SyncGroup"):
        return [("READ", "GROUP", group_id)]
    if api == "OffsetCommit":
        return [("READ", "GROUP", group_id)] + on_topics("READ")
    if api == "OffsetFetch":
        return [("DESCRIBE", "GROUP", group_id)] + on_topics("DESCRIBE")
    if api == "DeleteGroups":
        return [("DELETE", "GROUP", group_id)]
    if api == "InitProducerId":
        if transactional_id is not None:
            return write_transactional_id()
        return [("IDEMPOTENT_WRITE", *cluster)]
    if api == "AddPartitionsToTxn":
        return write_transactional_id() + on_topics("WRITE")
    if api == "AddOffsetsToTxn":
        return write_transactional_id() + [("READ", "GROUP", group_id)]
    if api == "EndTxn":
        return write_transactional_id()
    if api == "TxnOffsetCommit":    # the transactional.id first, then the group
        return write_transactional_id() + [("READ", "GROUP", group_id)] + on_topics("READ")
    if api in ("CreateAcls", "DeleteAcls"):
        return [("ALTER", *cluster)]
    if api == "DescribeAcls":
        return [("DESCRIBE", *cluster)]
    if api == "AlterClientQuotas":
        return [("ALTER_CONFIGS", *cluster)]
    if api == "DescribeClientQuotas":
        return [("DESCRIBE_CONFIGS", *cluster)]
    raise ValueError(f"unknown request {api!r}")


def denied_error(operation, resource_type, name):
    """The error a client gets when the check ``(operation, resource_type, name)`` fails."""
    error = DENIED_ERRORS.get(resource_type, errors.ClusterAuthorizationFailedError)
    return error(f"{operation} on {resource_type.lower().replace('_', '.')} {name!r}")
