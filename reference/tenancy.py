"""Tenants on one cluster, replayable by name, broken and fixed:

- ``tenant-boundary``: two tenants, each with ALL on its own topic prefix. With the prefix
  ``tenantA.`` tenant A reads, writes and lists its topics and none of tenant B's; with the
  prefix ``tenantA`` (no dot, the broken version) it also reads tenant ``tenantAB``'s.
- ``prefix-acl-search`` (KAFKA-14265, Kafka 3.3.0 to 3.3.1): the StandardAuthorizer looked
  for prefix ACLs by walking its sorted ACLs back from the resource name and stopped at the
  first ACL name that was not a prefix of it; so with prefix ACLs ``fooa`` and ``f`` and a
  literal ``foobar``, a request for ``foobarr`` never reached ``f``. Broken: that search;
  fixed: Kafka 3.3.2's.

    from kafkadojo.reference.tenancy import run_scenario
    print(run_scenario("prefix-acl-search", fixed=False).report())
"""

from dataclasses import dataclass, field

from . import errors
from .authorizer import ALLOWED, DENIED, AclBinding, acl_matches, resource_has_acls
from .cluster import Cluster
from .scenarios import run_scenario as _run_scenario
from .seams import REFERENCE

SECURE = {"listeners": "SASL_PLAINTEXT://:9092", "sasl.enabled.mechanisms": "SCRAM-SHA-256",
          "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
          "super.users": "User:admin"}


def kafka_3_3_0_authorize(acls, super_users, allow_everyone_if_no_acl_found, principal, host,
                          operation, resource_type, name):
    """StandardAuthorizer as Kafka 3.3.0 searched prefix ACLs (KAFKA-14265): walking the
    prefix ACLs sorted by name, backwards from the resource name, it stopped at the first
    whose name is not a prefix of the resource's, so a shorter prefix further back was
    never seen. The rest is the fixed rule."""
    if principal in super_users:
        return ALLOWED
    literal = [acl for acl in acls if acl[2] == "LITERAL"]
    prefixed = sorted((acl for acl in acls if acl[2] == "PREFIXED" and acl[0] == resource_type
                       and acl[1] <= name), key=lambda acl: acl[1], reverse=True)
    seen = list(literal)
    for acl in prefixed:
        if not name.startswith(acl[1]):
            break                       # the bug: a shorter prefix may still come
        seen.append(acl)
    verdicts = [acl_matches(acl, resource_type, name, principal, host, operation)
                for acl in seen]
    if "DENY" in verdicts:
        return DENIED
    if "ALLOW" in verdicts:
        return ALLOWED
    if resource_has_acls(seen, resource_type, name):
        return DENIED
    return ALLOWED if allow_everyone_if_no_acl_found else DENIED


@dataclass
class TenancyResult:
    name: str
    fixed: bool
    summary: str
    attempts: list = field(default_factory=list)    # (user, action, topic, outcome, intended?)
    cluster: Cluster = None

    @property
    def wrong(self):
        """Attempts that went other than intended: a tenant crossing its boundary, or an
        application refused what its ACLs grant."""
        return [a for a in self.attempts if (a[3] == "ok") != a[4]]

    def report(self):
        version = "with the fix" if self.fixed else "without the fix"
        lines = [f"== {self.name} ({version}) ==", self.summary, ""]
        for user, action, topic, outcome, intended in self.attempts:
            verdict = "as intended" if (outcome == "ok") == intended else "NOT AS INTENDED"
            lines.append(f"  {user:<12} {action:<5} {topic:<18} {outcome:<28} "
                         f"({'should work' if intended else 'should be refused'}: {verdict})")
        lines.append("")
        lines.append(f"  {len(self.wrong)} attempt(s) went other than intended"
                     if self.wrong else "  every attempt went as intended")
        return "\n".join(lines)


def _login(user):
    return {"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "SCRAM-SHA-256",
            "sasl_jaas_config": "org.apache.kafka.common.security.scram.ScramLoginModule "
                                f'required username="{user}" password="{user}-pw";'}


def _attempt(result, cluster, user, action, topic, allowed):
    if action == "write":
        producer = cluster.producer(enable_idempotence=False, **_login(user))
        future = producer.send(topic, b"from " + user.encode(), partition=0)
        cluster.run_for(2_000)
        error = future.error if future.done else errors.RequestTimedOutError("no answer")
    else:
        consumer = cluster.consumer(auto_offset_reset="earliest", **_login(user))
        consumer.assign([(topic, 0)])
        error = None
        try:
            for _ in range(3):
                consumer.poll(500)
        except errors.KafkaError as failure:
            error = failure
    result.attempts.append((user, action, topic, "ok" if error is None else error.name,
                            allowed))


def _secured(users, topics, acls, seed, seams=REFERENCE):
    cluster = Cluster(brokers=3, seed=seed, config=SECURE, seams=seams)
    for user in users:
        cluster.upsert_scram_credential(user, f"{user}-pw")
    for topic in topics:
        cluster.create_topic(topic, replication_factor=3)
    cluster.create_acls(acls)
    return cluster


def tenant_boundary(fixed=True, seed=1):
    separator = "." if fixed else ""
    acls = [AclBinding("TOPIC", f"tenantA{separator}", "PREFIXED", "User:tenantA-app", "*",
                       "ALL", "ALLOW"),
            AclBinding("TOPIC", "tenantAB.", "PREFIXED", "User:tenantAB-app", "*", "ALL",
                       "ALLOW")]
    result = TenancyResult("tenant-boundary", fixed,
                           f"tenantA-app has ALL on the prefix 'tenantA{separator}', "
                           f"tenantAB-app on 'tenantAB.'.")
    cluster = result.cluster = _secured(("tenantA-app", "tenantAB-app"),
                                        ("tenantA.orders", "tenantAB.secrets"), acls, seed)
    for user, action, topic, allowed in (
            ("tenantA-app", "write", "tenantA.orders", True),
            ("tenantA-app", "read", "tenantA.orders", True),
            ("tenantAB-app", "write", "tenantAB.secrets", True),
            ("tenantA-app", "read", "tenantAB.secrets", False),     # another tenant's topic
            ("tenantAB-app", "read", "tenantA.orders", False)):
        _attempt(result, cluster, user, action, topic, allowed)
    return result


def prefix_acl_search(fixed=True, seed=1):
    acls = [AclBinding("TOPIC", "fooa", "PREFIXED", "User:alice", "*", "ALL", "ALLOW"),
            AclBinding("TOPIC", "foobar", "LITERAL", "User:bob", "*", "ALL", "ALLOW"),
            AclBinding("TOPIC", "f", "PREFIXED", "User:bob", "*", "ALL", "ALLOW")]
    seams = REFERENCE if fixed else REFERENCE.with_rules(authorize=kafka_3_3_0_authorize)
    result = TenancyResult("prefix-acl-search", fixed,
                           "bob has ALL on the prefix 'f' (and on the literal 'foobar'); "
                           "alice has ALL on the prefix 'fooa'. "
                           + ("Kafka 3.3.2's prefix search." if fixed else
                              "Kafka 3.3.0's prefix search, which stops at 'fooa'."))
    cluster = result.cluster = _secured(("alice", "bob"), ("foobarr", "fooa", "goobar"), acls,
                                        seed, seams)
    for user, action, topic, allowed in (("bob", "write", "foobarr", True),
                                         ("bob", "read", "goobar", False),
                                         ("bob", "read", "fooa", True),
                                         ("alice", "write", "fooa", True)):
        _attempt(result, cluster, user, action, topic, allowed)
    return result


SCENARIOS = {"tenant-boundary": tenant_boundary, "prefix-acl-search": prefix_acl_search}


def run_scenario(name, fixed=False, seed=1):
    """Replay the tenancy scenario ``name``, broken (``fixed=False``) or fixed."""
    return _run_scenario(name, fixed, seed, scenarios=SCENARIOS)
