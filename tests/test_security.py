"""Authentication and authorization in a running cluster: SASL/SCRAM on the listener,
principals, and the ACLs every request is checked against."""

import pytest

from kafkadojo.reference import errors
from kafkadojo.reference.authorizer import AclBinding, AclFilter
from kafkadojo.reference.cluster import Cluster

SECURE = {"listeners": "SASL_PLAINTEXT://:9092", "sasl.enabled.mechanisms": "SCRAM-SHA-256",
          "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
          "super.users": "User:admin"}


def jaas(user, password):
    return ("org.apache.kafka.common.security.scram.ScramLoginModule required "
            f'username="{user}" password="{password}";')


def login(user, password=None):
    return {"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "SCRAM-SHA-256",
            "sasl_jaas_config": jaas(user, password or f"{user}-secret")}


def allow(principal, operation, name, resource_type="TOPIC", pattern="LITERAL"):
    return AclBinding(resource_type, name, pattern, f"User:{principal}", "*", operation, "ALLOW")


@pytest.fixture
def cluster():
    cluster = Cluster(brokers=3, seed=3, config=SECURE)
    for user in ("admin", "alice", "bob"):
        cluster.upsert_scram_credential(user, f"{user}-secret")
    cluster.create_topic("orders", partitions=1, replication_factor=3)
    cluster.create_topic("payments", partitions=1, replication_factor=3)
    cluster.create_acls([allow("alice", "WRITE", "orders"), allow("alice", "READ", "orders"),
                         allow("alice", "READ", "billing", "GROUP")])
    return cluster


def test_a_user_with_the_right_password_and_acls_writes_and_reads(cluster):
    producer = cluster.producer(**login("alice"))
    assert producer.send("orders", b"o-1", partition=0).get() == 0
    consumer = cluster.consumer(auto_offset_reset="earliest", group_id="billing",
                                **login("alice"))
    consumer.subscribe(["orders"])
    records = []
    for _ in range(10):
        records += consumer.poll(1_000)
        if records:
            break
    assert [r.value for r in records] == [b"o-1"]
    assert cluster.scram_credentials[("alice", "SCRAM-SHA-256")].iterations == 4096
    assert not any(b"alice-secret" in str(c).encode() for c in cluster.scram_credentials.values())


def test_a_wrong_password_fails_for_good_and_says_nothing_more(cluster):
    producer = cluster.producer(**login("alice", "guess"))
    future = producer.send("orders", b"x", partition=0)
    cluster.run_for(5_000)
    assert isinstance(future.error, errors.SaslAuthenticationFailedError)
    with pytest.raises(errors.SaslAuthenticationFailedError) as failure:
        producer.send("orders", b"y", partition=0)
    unknown = cluster.producer(**login("mallory", "guess"))
    unknown.send("orders", b"z", partition=0)
    cluster.run_for(5_000)
    with pytest.raises(errors.SaslAuthenticationFailedError) as no_such_user:
        unknown.send("orders", b"z", partition=0)
    assert str(failure.value) == str(no_such_user.value)        # nothing tells them apart
    consumer = cluster.consumer(auto_offset_reset="earliest", **login("alice", "guess"))
    consumer.assign([("orders", 0)])
    with pytest.raises(errors.SaslAuthenticationFailedError):
        for _ in range(5):
            consumer.poll(1_000)


def test_writes_and_reads_need_acls_and_existence_does_not_leak(cluster):
    bob = cluster.producer(**login("bob"))
    for topic in ("orders", "no-such-topic"):
        future = bob.send(topic, b"x")
        cluster.run_for(3_000)
        assert isinstance(future.error, errors.TopicAuthorizationFailedError), topic
    reader = cluster.consumer(auto_offset_reset="earliest", **login("bob"))
    reader.assign([("orders", 0)])
    with pytest.raises(errors.TopicAuthorizationFailedError):
        for _ in range(5):
            reader.poll(1_000)
    # alice may write orders, but not payments
    future = cluster.producer(**login("alice")).send("payments", b"p", partition=0)
    cluster.run_for(3_000)
    assert isinstance(future.error, errors.TopicAuthorizationFailedError)


def test_a_group_needs_read_on_the_group(cluster):
    cluster.create_acls([allow("bob", "READ", "orders")])
    consumer = cluster.consumer(group_id="billing", auto_offset_reset="earliest",
                                **login("bob"))
    consumer.subscribe(["orders"])
    with pytest.raises(errors.GroupAuthorizationFailedError):
        for _ in range(10):
            consumer.poll(1_000)


def test_metadata_lists_only_what_the_principal_may_describe(cluster):
    client = cluster.consumer(**login("alice"))
    client.assign([("orders", 0)])
    client.poll(1_000)                      # authenticates with some brokers on the way
    broker = next(b for b in cluster.brokers
                  if b.authenticator.principals.get(client.node_id) == "User:alice")
    answers = []
    broker.handle_metadata(client, None, answers.append)
    broker.handle_metadata(client, ["payments", "no-such-topic"], answers.append)
    cluster.run_for(50)
    assert sorted(answers[0][1]) == ["orders"]          # payments is left out
    for topic in ("payments", "no-such-topic"):        # refused alike, existing or not
        assert isinstance(answers[1][1][topic], errors.TopicAuthorizationFailedError)


def test_super_users_pass_and_a_plaintext_client_gets_nothing(cluster):
    admin = cluster.producer(**login("admin"))
    assert admin.send("payments", b"p", partition=0).get() == 0
    anonymous = cluster.producer(enable_idempotence=False)      # PLAINTEXT, no SASL at all
    future = anonymous.send("orders", b"x", partition=0)
    cluster.run_for(3_000)
    assert isinstance(future.error, errors.TopicAuthorizationFailedError)


def test_idempotence_and_transactions_need_their_acls(cluster):
    # bob may write orders, nothing else: idempotence is allowed (WRITE on a topic, KIP-679)
    cluster.create_acls([allow("bob", "WRITE", "orders")])
    assert cluster.producer(**login("bob")).send("orders", b"b", partition=0).get() >= 0
    # carol may read orders (and so describe it), write nowhere: her idempotent producer
    # is refused by the cluster
    cluster.upsert_scram_credential("carol", "carol-secret")
    cluster.create_acls([allow("carol", "READ", "orders")])
    future = cluster.producer(**login("carol")).send("orders", b"c", partition=0)
    cluster.run_for(5_000)
    assert isinstance(future.error, errors.ClusterAuthorizationFailedError)
    # a transactional.id needs DESCRIBE and WRITE on it
    producer = cluster.producer(transactional_id="orders-app", **login("alice"))
    with pytest.raises(errors.TransactionalIdAuthorizationFailedError):
        producer.init_transactions()
    cluster.create_acls([allow("alice", "WRITE", "orders-app", "TRANSACTIONAL_ID")])
    producer = cluster.producer(transactional_id="orders-app", **login("alice"))
    producer.init_transactions()
    producer.begin_transaction()
    producer.send("orders", b"t", partition=0)
    producer.commit_transaction()


def test_tenant_prefixes_keep_tenants_apart():
    cluster = Cluster(brokers=3, seed=4, config=SECURE)
    for user in ("tenantA-app", "tenantB-app"):
        cluster.upsert_scram_credential(user, f"{user}-secret")
    for topic in ("tenantA.orders", "tenantB.orders"):
        cluster.create_topic(topic, replication_factor=3)
    cluster.create_acls([
        AclBinding("TOPIC", "tenantA.", "PREFIXED", "User:tenantA-app", "*", "ALL", "ALLOW"),
        AclBinding("TOPIC", "tenantB.", "PREFIXED", "User:tenantB-app", "*", "ALL", "ALLOW")])
    a = cluster.producer(**login("tenantA-app"))
    assert a.send("tenantA.orders", b"mine", partition=0).get() == 0
    future = a.send("tenantB.orders", b"theirs", partition=0)
    cluster.run_for(3_000)
    assert isinstance(future.error, errors.TopicAuthorizationFailedError)
    snoop = cluster.consumer(auto_offset_reset="earliest", **login("tenantA-app"))
    snoop.assign([("tenantB.orders", 0)])
    with pytest.raises(errors.TopicAuthorizationFailedError):
        for _ in range(5):
            snoop.poll(1_000)


def test_bad_security_configs_are_refused():
    cluster = Cluster(brokers=1, seed=1)
    with pytest.raises(errors.InvalidConfigurationError, match="ScramLoginModule"):
        cluster.producer(security_protocol="SASL_PLAINTEXT", sasl_mechanism="SCRAM-SHA-256",
                         sasl_jaas_config="username=alice")
    with pytest.raises(errors.InvalidConfigurationError, match="sasl.mechanism"):
        cluster.producer(security_protocol="SASL_PLAINTEXT", sasl_mechanism="PLAIN",
                         sasl_jaas_config=jaas("a", "b"))
    with pytest.raises(errors.InvalidConfigurationError, match="security.protocol"):
        cluster.consumer(security_protocol="SSL")
    with pytest.raises(errors.InvalidConfigurationError, match="iterations"):
        cluster.upsert_scram_credential("alice", "pw", iterations=100)
    with pytest.raises(errors.InvalidConfigurationError, match="no authorizer"):
        cluster.create_acls([allow("alice", "READ", "orders")])


def test_an_admin_client_needs_create_and_alter_on_the_cluster(cluster):
    """CreateTopics needs CREATE on the topic or on the cluster; CreateAcls and DeleteAcls
    ALTER on the cluster, DescribeAcls DESCRIBE, AlterClientQuotas ALTER_CONFIGS
    (AuthorizerIntegrationTest.requestKeysToAcls)."""
    alice = cluster.admin(**login("alice"))
    with pytest.raises(errors.TopicAuthorizationFailedError):
        alice.create_topic("alice.events")
    assert "alice.events" not in cluster.controller.topics
    cluster.create_acls([allow("alice", "CREATE", "alice.", pattern="PREFIXED")])
    alice.create_topic("alice.events", partitions=2)
    assert cluster.controller.topics["alice.events"].num_partitions == 2
    with pytest.raises(errors.TopicAuthorizationFailedError):
        alice.create_topic("bob.events")
    for call in (lambda: alice.create_acls([allow("alice", "ALL", "bob.", pattern="PREFIXED")]),
                 lambda: alice.describe_acls(),
                 lambda: alice.alter_client_quotas({"user": "alice"},
                                                   {"producer_byte_rate": 1e9})):
        with pytest.raises(errors.ClusterAuthorizationFailedError):
            call()
    assert not cluster.client_quotas
    cluster.create_acls([allow("bob", "CREATE", "kafka-cluster", "CLUSTER"),
                         allow("bob", "DESCRIBE", "kafka-cluster", "CLUSTER")])
    bob = cluster.admin(**login("bob"))
    bob.create_topic("anything")                # CREATE on the cluster covers every topic
    assert len(bob.describe_acls()) == len(cluster.describe_acls())
    with pytest.raises(errors.ClusterAuthorizationFailedError):
        bob.delete_acls(AclFilter())
    admin = cluster.admin(**login("admin"))     # a super user
    admin.create_acls([allow("alice", "ALL", "bob.", pattern="PREFIXED")])
    with pytest.raises(errors.SaslAuthenticationFailedError):
        cluster.admin(**login("alice", "guess")).describe_acls()
    with pytest.raises(errors.InvalidRequestError, match="AclFilter"):
        admin.delete_acls(None)
    assert "__consumer_offsets" not in admin.list_topics()     # listInternal is off
    assert admin.list_topics() == sorted(cluster.controller.topics)


def test_a_transactional_produce_checks_the_transactional_id_first():
    """KafkaApis.handleProduceRequest: WRITE on the transactional.id before the topics; a
    principal denied both hears about the transactional.id."""
    from kafkadojo.reference.seams import REFERENCE
    calls = []

    def required_acls(api, topics=(), group_id=None, transactional_id=None):
        checks = REFERENCE.required_acls(api, topics, group_id, transactional_id)
        calls.append((api, checks))
        return checks
    cluster = Cluster(brokers=1, seed=3, config=SECURE,
                      seams=REFERENCE.with_rules(required_acls=required_acls))
    cluster.upsert_scram_credential("alice", "alice-secret")
    cluster.create_topic("orders", partitions=1, replication_factor=1)
    broker = cluster.brokers[0]
    producer = cluster.producer(**login("alice"))
    producer.send("orders", b"x", partition=0)          # authenticates alice with the broker
    cluster.run_for(2_000)
    refusal = broker.refusal(producer, "Produce", ["orders"], transactional_id="tx")
    assert isinstance(refusal, errors.TransactionalIdAuthorizationFailedError)
    assert ("Produce", [("WRITE", "TRANSACTIONAL_ID", "tx"), ("WRITE", "TOPIC", "orders")]) \
        in calls
    cluster.create_acls([allow("alice", "WRITE", "tx", "TRANSACTIONAL_ID")])
    refusal = broker.refusal(producer, "Produce", ["orders"], transactional_id="tx")
    assert isinstance(refusal, errors.TopicAuthorizationFailedError)
    assert "WRITE on topic 'orders'" in str(refusal)


def test_a_learners_required_acls_runs_the_cluster():
    """The broker asks the seam: a rule that lets a commit only DESCRIBE its topics lets a
    principal that may not read a topic commit offsets in it."""
    from kafkadojo.reference.auth_helper import required_acls
    from kafkadojo.reference.seams import REFERENCE

    def commit_only_describes(api, topics=(), group_id=None, transactional_id=None):
        if api == "OffsetCommit":
            return [("READ", "GROUP", group_id)] + [("DESCRIBE", "TOPIC", t) for t in topics]
        return required_acls(api, topics, group_id, transactional_id)

    def refusal_for(seams):
        cluster = Cluster(brokers=1, seed=3, config=SECURE, seams=seams)
        cluster.upsert_scram_credential("alice", "alice-secret")
        cluster.create_topic("orders", partitions=1, replication_factor=1)
        cluster.create_acls([allow("alice", "READ", "billing", "GROUP"),
                             allow("alice", "DESCRIBE", "orders")])
        consumer = cluster.consumer(**login("alice"))
        consumer.assign([("orders", 0)])
        with pytest.raises(errors.TopicAuthorizationFailedError):   # Fetch needs READ
            consumer.poll(1_000)
        return cluster.brokers[0].refusal(consumer, "OffsetCommit", ["orders"], "billing")
    assert isinstance(refusal_for(REFERENCE), errors.TopicAuthorizationFailedError)
    assert refusal_for(REFERENCE.with_rules(required_acls=commit_only_describes)) is None


def test_required_acls_refuses_an_unknown_request():
    from kafkadojo.reference.auth_helper import required_acls
    with pytest.raises(ValueError, match="unknown request 'Produc'"):
        required_acls("Produc", ["t"])


def test_a_deny_prefix_that_shadows_every_write_refuses_idempotence(cluster):
    """AuthorizerIntegrationTest.testAuthorizeByResourceTypePrefixedResourceDenyDominate:
    WRITE on a topic lets an idempotent producer in only if no DENY shadows it; here a DENY
    on the prefix "o" shadows the ALLOW on "orders", so InitProducerId is refused."""
    cluster.upsert_scram_credential("dave", "dave-secret")
    cluster.create_acls([allow("dave", "WRITE", "orders"),
                         AclBinding("TOPIC", "o", "PREFIXED", "User:dave", "*", "WRITE", "DENY")])
    future = cluster.producer(**login("dave")).send("orders", b"d", partition=0)
    cluster.run_for(5_000)
    assert isinstance(future.error, errors.ClusterAuthorizationFailedError)
    cluster.create_acls([allow("dave", "WRITE", "payments")])   # an unshadowed ALLOW
    assert cluster.producer(**login("dave")).send("payments", b"d", partition=0).get() >= 0


def test_random_acls_are_obeyed_in_writes_reads_joins_and_listings():
    """run_acls over random ACLs, logins and attempts: with Kafka's rules every attempt does
    what the ACLs allow; a rule that asks READ where Metadata needs DESCRIBE hides topics a
    principal may describe, and one that asks DESCRIBE where Fetch needs READ lets a
    principal read what it may only describe."""
    from kafkadojo.reference.auth_helper import required_acls
    from kafkadojo.reference.seams import REFERENCE
    from kafkadojo.reference.workload import run_acls
    kinds = set()
    for seed in range(10):
        outcome = run_acls(seed, groups=True)
        assert outcome.valid, outcome.report()
        kinds |= {action.split()[0] for _, action, *_ in outcome.attempts}
    assert kinds == {"write", "read", "join", "list"}

    def asking(api_name, operation):
        def rule(api, topics=(), group_id=None, transactional_id=None):
            if api == api_name:
                return [(operation, "TOPIC", topic) for topic in topics]
            return required_acls(api, topics, group_id, transactional_id)
        return rule
    metadata_reads = run_acls(0, REFERENCE.with_rules(required_acls=asking("Metadata",
                                                                           "READ")),
                              groups=True)
    kind, detail = metadata_reads.anomalies[0]       # READ is not DESCRIBE, either way
    assert kind in ("authorized-refused", "unauthorized-access") and " listed " in detail
    fetch_describes = run_acls(0, REFERENCE.with_rules(required_acls=asking("Fetch",
                                                                            "DESCRIBE")))
    assert fetch_describes.anomalies[0][0] == "unauthorized-access"
