"""The admin client (Kafka's ``Admin``): topics, ACLs and quotas, asked for as a principal.

``Cluster.create_topic`` and ``Cluster.create_acls`` are the operator at the controller's
console: they always work. An ``Admin`` is a client like a producer: it authenticates with
a broker, and the broker checks its ACLs (``required_acls``: CREATE on the topic or the
cluster to create a topic, ALTER on the cluster to change ACLs, DESCRIBE to list them,
ALTER_CONFIGS to set quotas) before the controller does the work.

    admin = cluster.admin(security_protocol="SASL_PLAINTEXT", ...)
    admin.create_topic("tenantA.orders", partitions=3)   # or CLUSTER/TOPIC_AUTHORIZATION_FAILED

Each call blocks, as ``Admin.createTopics(...).all().get()`` does, and raises the Kafka
error the broker answered.
"""

from . import errors
from .client import Client
from .coordinator import OFFSETS_TOPIC
from .transaction_coordinator import TRANSACTION_STATE_TOPIC
from .config import ADMIN_DEFAULTS, merged

INTERNAL_TOPICS = (OFFSETS_TOPIC, TRANSACTION_STATE_TOPIC)


class Admin(Client):
    def __init__(self, cluster, client_id, config=None):
        super().__init__(cluster, client_id, merged(ADMIN_DEFAULTS, config, "admin"))

    def create_topic(self, name, partitions=1, replication_factor=None, config=None):
        self.authorize_with_broker("CreateTopics", topics=[name])
        self.cluster.create_topic(name, partitions, replication_factor, config)

    def create_acls(self, acls):
        self.authorize_with_broker("CreateAcls")
        self.cluster.create_acls(acls)

    def describe_acls(self, acl_filter=None):
        self.authorize_with_broker("DescribeAcls")
        return self.cluster.describe_acls(acl_filter)

    def delete_acls(self, acl_filter):
        self.authorize_with_broker("DeleteAcls")
        return self.cluster.delete_acls(acl_filter)

    def alter_client_quotas(self, entity, quotas):
        self.authorize_with_broker("AlterClientQuotas")
        self.cluster.alter_client_quotas(entity, quotas)

    def list_topics(self, list_internal=False):
        """ListTopics (a Metadata request for every topic): the names this principal may
        DESCRIBE, sorted; the others are left out, as if they did not exist. Internal topics
        (``__consumer_offsets``, ``__transaction_state``) only with ``list_internal``, as
        ``ListTopicsOptions.listInternal`` says."""
        _, topics = self.ask("Metadata", lambda broker: broker.handle_metadata, None)
        return sorted(t for t in topics if list_internal or t not in INTERNAL_TOPICS)

    def authorize_with_broker(self, api, topics=()):
        """Send the request to a live broker and wait for its answer: raise the error it
        gives (an ACL refused, authentication failed, no answer in ``request.timeout.ms``)."""
        refusal = self.ask(api, lambda broker: broker.handle_admin_request, api, list(topics))
        if refusal is not None:
            raise refusal

    def ask(self, api, handler, *args):
        """Send ``handler(broker)(self, *args, respond)`` to a live broker and wait for the
        answer."""
        answers = []
        brokers = [b for b in self.cluster.brokers if b.alive]
        if not brokers:
            raise errors.RequestTimedOutError("no broker is up")
        broker = brokers[self.sim.rng.randrange(len(brokers))]
        self.net.send(self, broker, handler(broker), self, *args, answers.append)
        timeout = self.config["request.timeout.ms"]
        self.cluster.run_for(timeout, until=lambda: answers or self.authentication_error)
        if self.authentication_error is not None:
            raise self.authentication_error
        if not answers:
            raise errors.RequestTimedOutError(f"{api}: no answer within {timeout} ms")
        return answers[0]
