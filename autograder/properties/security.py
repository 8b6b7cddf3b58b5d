"""Hidden properties: security (which ACL applies, the authorizer's decision, SCRAM's keys and
the broker's check of a proof)."""

import base64

import scramp
from hypothesis import strategies as st

from kafkadojo.reference import auth_helper, authorizer, scram
from kafkadojo.reference.workload import run_acls

from . import differential, examples, known_mistakes, prop
from .engine import workload_runs
from .log import mutant

# -- acl_matches ---------------------------------------------------------------------------------
FOO = ("TOPIC", "foo_", "PREFIXED", "User:bob", "*")        # StandardAuthorizerTest.newFooAcl


def _foo(operation, permission):
    return (*FOO, operation, permission)


MATCH_CASES = [
    # StandardAuthorizerTest.testFindResultImplication
    ((_foo("READ", "ALLOW"), "TOPIC", "foo_bar", "User:bob", "1.2.3.4", "DESCRIBE"), "ALLOW"),
    ((_foo("ALTER", "ALLOW"), "TOPIC", "foo_bar", "User:bob", "1.2.3.4", "DESCRIBE"), "ALLOW"),
    ((_foo("CREATE", "ALLOW"), "TOPIC", "foo_bar", "User:bob", "1.2.3.4", "DESCRIBE"), None),
    ((_foo("READ", "DENY"), "TOPIC", "foo_bar", "User:bob", "1.2.3.4", "DESCRIBE"), None),
    ((_foo("DESCRIBE", "DENY"), "TOPIC", "foo_bar", "User:bob", "1.2.3.4", "DESCRIBE"), "DENY"),
    ((_foo("ALTER_CONFIGS", "ALLOW"), "TOPIC", "foo_bar", "User:bob", "h", "DESCRIBE_CONFIGS"),
     "ALLOW"),
    ((_foo("ALTER_CONFIGS", "DENY"), "TOPIC", "foo_bar", "User:bob", "h", "DESCRIBE_CONFIGS"),
     None),
    # StandardAuthorizerTest.testFindResultPrincipalMatching
    ((_foo("READ", "ALLOW"), "TOPIC", "foo_bar", "User:alice", "h", "READ"), None),
    ((("GROUP", "bar", "LITERAL", "User:*", "*", "READ", "DENY"), "GROUP", "bar", "User:alice",
      "h", "READ"), "DENY"),
    # patterns
    ((("TOPIC", "*", "LITERAL", "User:bob", "*", "READ", "ALLOW"), "TOPIC", "x", "User:bob", "h",
      "READ"), "ALLOW"),
    ((("TOPIC", "*", "PREFIXED", "User:bob", "*", "READ", "ALLOW"), "TOPIC", "x", "User:bob",
      "h", "READ"), None),
    ((("TOPIC", "foo", "LITERAL", "User:bob", "*", "READ", "ALLOW"), "TOPIC", "foobar",
      "User:bob", "h", "READ"), None),
    ((("TOPIC", "foo", "PREFIXED", "User:bob", "*", "READ", "ALLOW"), "TOPIC", "foo",
      "User:bob", "h", "READ"), "ALLOW"),
    ((("TOPIC", "foo", "LITERAL", "User:bob", "10.0.0.1", "ALL", "DENY"), "TOPIC", "foo",
      "User:bob", "10.0.0.2", "READ"), None),
    ((("GROUP", "foo", "LITERAL", "User:bob", "*", "ALL", "DENY"), "TOPIC", "foo", "User:bob",
      "h", "READ"), None),
]
MATCH_MISTAKES = (
    ("deny-implies-too", mutant(authorizer.acl_matches, (
        '    if permission == "ALLOW":\n        if operation == "DESCRIBE"',
        '    if True:\n        if operation == "DESCRIBE"'))),
    ("prefixed-star-is-a-wildcard", mutant(authorizer.acl_matches, (
        "        if not name.startswith(acl_name):",
        '        if not name.startswith(acl_name) and acl_name != WILDCARD:'))),
    ("literal-matches-as-a-prefix", mutant(authorizer.acl_matches, (
        "        if acl_name != name and acl_name != WILDCARD:",
        "        if not name.startswith(acl_name) and acl_name != WILDCARD:"))),
    ("no-wildcard-principal", mutant(authorizer.acl_matches, (
        "    if acl_principal != principal and acl_principal != WILDCARD_PRINCIPAL:",
        "    if acl_principal != principal:"))),
    ("create-implies-describe", mutant(authorizer.acl_matches, (
        '("READ", "WRITE", "DELETE", "ALTER")', '("READ", "WRITE", "DELETE", "ALTER", "CREATE")'))),
)
name_match = known_mistakes(*MATCH_MISTAKES)

NAMES = ["foo", "foo_", "foo_bar", "foobar", "f", "*", "bar", "tenantA.", "tenantA.orders",
         "tenantAB.x", "", "_"]
OPS = ["READ", "WRITE", "DESCRIBE", "ALL", "ALTER", "DELETE", "CREATE", "ALTER_CONFIGS",
       "DESCRIBE_CONFIGS"]
PRINCIPALS = ["User:alice", "User:bob", "User:*"]
HOSTS = ["*", "10.0.0.1", "10.0.0.2"]
TYPES = ["TOPIC", "GROUP", "TRANSACTIONAL_ID"]


@st.composite
def an_acl(draw):
    return (draw(st.sampled_from(TYPES)), draw(st.sampled_from(NAMES[:-2] + ["t", "tenant"])),
            draw(st.sampled_from(["LITERAL", "PREFIXED"])), draw(st.sampled_from(PRINCIPALS)),
            draw(st.sampled_from(HOSTS)), draw(st.sampled_from(OPS)),
            draw(st.sampled_from(["ALLOW", "DENY"])))


@st.composite
def a_request(draw):
    return (draw(st.sampled_from(TYPES)), draw(st.sampled_from(NAMES)),
            draw(st.sampled_from(PRINCIPALS[:2])), draw(st.sampled_from(HOSTS[1:])),
            draw(st.sampled_from([o for o in OPS if o != "ALL"])))


@st.composite
def match_args(draw):
    acl, request = draw(an_acl()), draw(a_request())
    if draw(st.booleans()):         # mostly on the ACL's own resource and principal
        request = (acl[0], draw(st.sampled_from([acl[1], acl[1] + "x", acl[1][:-1] or "z"])),
                   *request[2:])
    return (acl, *request)


@prop("security.acl_matches", "finds what StandardAuthorizerData.findResult finds in Kafka's "
                              "cases", 1)
def match_examples(learner):
    return examples(learner, "acl_matches", MATCH_CASES, anomaly="wrong-acl-match",
                    diagnose=name_match)


@prop("security.acl_matches", "agrees with findResult on any ACL and request", 2)
def match_differential(learner):
    return differential(learner, "acl_matches", authorizer.acl_matches, match_args(),
                        examples=400, anomaly="wrong-acl-match", diagnose=name_match)


# -- authorize ----------------------------------------------------------------------------------
def _topic(name, pattern, principal, operation, permission, host="*"):
    return ("TOPIC", name, pattern, principal, host, operation, permission)


MANY = (_topic("green2", "LITERAL", "User:*", "READ", "ALLOW"),
        _topic("green", "PREFIXED", "User:bob", "READ", "ALLOW"),
        _topic("alpha", "PREFIXED", "User:*", "READ", "ALLOW"),
        _topic("alp", "PREFIXED", "User:bob", "READ", "DENY"),
        ("GROUP", "*", "LITERAL", "User:bob", "*", "WRITE", "ALLOW"),
        ("GROUP", "wheel", "LITERAL", "User:*", "*", "WRITE", "DENY"))
PREFIXES = (_topic("fooa", "PREFIXED", "User:alice", "ALL", "ALLOW"),
            _topic("foobar", "LITERAL", "User:bob", "ALL", "ALLOW"),
            _topic("f", "PREFIXED", "User:bob", "ALL", "ALLOW"))
NONE = frozenset()
AUTHORIZE_CASES = [
    # StandardAuthorizerTest.testAllowEveryoneIfNoAclFoundConfigEnabled
    (((_topic("topic1", "LITERAL", "User:Alice", "READ", "ALLOW"),), NONE, True, "User:Bob",
      "h", "READ", "TOPIC", "topic1"), "DENIED"),
    (((_topic("topic1", "LITERAL", "User:Alice", "READ", "ALLOW"),), NONE, True, "User:Bob",
      "h", "READ", "TOPIC", "topic2"), "ALLOWED"),
    (((), NONE, False, "User:Bob", "h", "READ", "TOPIC", "topic2"), "DENIED"),
    # StandardAuthorizerTest.testAuthorizationWithManyAcls
    ((MANY, NONE, False, "User:bob", "h", "READ", "TOPIC", "green1"), "ALLOWED"),
    ((MANY, NONE, False, "User:bob", "h", "WRITE", "GROUP", "wheel"), "DENIED"),
    ((MANY, NONE, False, "User:bob", "h", "READ", "TOPIC", "alpha"), "DENIED"),
    ((MANY, NONE, False, "User:bob", "h", "WRITE", "GROUP", "arbitrary"), "ALLOWED"),
    # StandardAuthorizerTest.testPrefixAcls (KAFKA-14265)
    ((PREFIXES, NONE, False, "User:bob", "h", "WRITE", "TOPIC", "foobarr"), "ALLOWED"),
    ((PREFIXES, NONE, False, "User:bob", "h", "READ", "TOPIC", "fooa"), "ALLOWED"),
    ((PREFIXES, NONE, False, "User:bob", "h", "READ", "TOPIC", "goobar"), "DENIED"),
    # AuthorizerTest.testSuperUserHasAccess
    (((_topic("foo", "LITERAL", "User:*", "ALL", "DENY"),), frozenset({"User:superuser1"}),
      False, "User:superuser1", "h", "READ", "TOPIC", "foo"), "ALLOWED"),
    # AuthorizerTest.testWildCardAcls, last step: the wildcard DENY beats the literal ALLOW
    (((_topic("*", "LITERAL", "User:alice", "READ", "ALLOW"),
       _topic("foo", "LITERAL", "User:alice", "WRITE", "ALLOW"),
       _topic("*", "LITERAL", "User:alice", "WRITE", "DENY")), NONE, False, "User:alice", "h",
      "WRITE", "TOPIC", "foo"), "DENIED"),
]
AUTHORIZE_MISTAKES = (
    ("first-match-wins", mutant(authorizer.authorize, (
        '        if verdict == "ALLOW":\n            allowed = True',
        '        if verdict == "ALLOW":\n            return ALLOWED'))),
    ("default-ignores-other-principals", mutant(authorizer.authorize, (
        "    if resource_has_acls(acls, resource_type, name):\n        return DENIED\n", ""))),
    ("super-users-obey-denies", mutant(authorizer.authorize, (
        "    if principal in super_users:\n        return ALLOWED\n", ""))),
)
name_authorize = known_mistakes(*AUTHORIZE_MISTAKES)


@st.composite
def an_acl_for(draw, request):
    """An ACL that may well apply to ``request``: its resource (literally, by a prefix of its
    name, or by the wildcard), its principal or everyone, its host or any."""
    resource_type, name, principal, host, operation = request
    pattern, acl_name = draw(st.sampled_from([("LITERAL", name), ("LITERAL", name),
                                              ("LITERAL", "*"), ("PREFIXED", name[:2] or "x"),
                                              ("PREFIXED", name + "x")]))
    return (resource_type, acl_name or "x", pattern,
            draw(st.sampled_from([principal, principal, "User:*", "User:carol"])),
            draw(st.sampled_from([host, "*", "*", "10.9.9.9"])),
            draw(st.sampled_from([operation, operation, "ALL", "READ", "DESCRIBE",
                                  "ALTER_CONFIGS"])),
            draw(st.sampled_from(["ALLOW", "DENY"])))


@st.composite
def authorize_args(draw):
    """ACLs for other resources and ACLs about the request's own resource, in any order,
    and the request."""
    request = draw(a_request())
    acls = draw(st.lists(an_acl(), max_size=4)) + draw(st.lists(an_acl_for(request),
                                                                max_size=5))
    acls = tuple(draw(st.permutations(acls)))
    resource_type, name, principal, host, operation = request
    super_users = draw(st.sampled_from([NONE, frozenset({"User:alice"})]))
    return (acls, super_users, draw(st.booleans()), principal, host, operation, resource_type,
            name)


@prop("security.authorize", "decides as StandardAuthorizer in Kafka's cases", 1)
def authorize_examples(learner):
    return examples(learner, "authorize", AUTHORIZE_CASES, anomaly="wrong-decision",
                    diagnose=name_authorize)


@prop("security.authorize", "agrees with StandardAuthorizer on any ACLs and request", 1)
def authorize_differential(learner):
    return differential(learner, "authorize", authorizer.authorize, authorize_args(),
                        examples=300, anomaly="wrong-decision", diagnose=name_authorize)


# -- in a cluster --------------------------------------------------------------------------------
# run_acls costs about 0.1 s with Kafka's rules; the mistakes it catches (a DENY that does not
# win, a first match that decides, a default that ignores other principals' ACLs, a proof
# check that accepts anything, keys derived wrong) show on the first seed or two.
ACL_SEEDS = 20


def in_a_secure_cluster(learner, seam, groups=False):
    return workload_runs(learner, seam, run_acls, "ACL", ACL_SEEDS,
                         "every user does exactly what the ACLs allow, and only the right "
                         "password gets in", **({"groups": True} if groups else {}))


@prop("security.authorize", "inside a secured cluster, every user reads and writes exactly "
                            "what the ACLs allow", 1)
def authorize_in_the_engine(learner):
    return in_a_secure_cluster(learner, "authorize")


# -- required_acls -------------------------------------------------------------------------------
CLUSTER = ("CLUSTER", "kafka-cluster")
TXN_WRITE = ("WRITE", "TRANSACTIONAL_ID", "transactional.id")
# AuthorizerIntegrationTest.requestKeysToAcls (Kafka 3.9): the ACLs each request needs, for
# topic "topic", group "my-group" and transactional.id "transactional.id"; the order is
# KafkaApis's (the transactional.id first, then the group, then the topics)
REQUIRED_CASES = [
    (("Metadata", ["topic"]), [("DESCRIBE", "TOPIC", "topic")]),
    (("Produce", ["topic"]), [("WRITE", "TOPIC", "topic")]),
    (("Produce", ["topic"], None, "transactional.id"), [TXN_WRITE, ("WRITE", "TOPIC", "topic")]),
    (("Fetch", ["topic"]), [("READ", "TOPIC", "topic")]),
    (("ListOffsets", ["topic"]), [("DESCRIBE", "TOPIC", "topic")]),
    (("OffsetCommit", ["topic"], "my-group"),
     [("READ", "GROUP", "my-group"), ("READ", "TOPIC", "topic")]),
    (("OffsetFetch", ["topic"], "my-group"),
     [("DESCRIBE", "GROUP", "my-group"), ("DESCRIBE", "TOPIC", "topic")]),
    (("FindCoordinator", [], "my-group"), [("DESCRIBE", "GROUP", "my-group")]),
    (("FindCoordinator", [], None, "transactional.id"),
     [("DESCRIBE", "TRANSACTIONAL_ID", "transactional.id")]),
    (("JoinGroup", [], "my-group"), [("READ", "GROUP", "my-group")]),
    (("SyncGroup", [], "my-group"), [("READ", "GROUP", "my-group")]),
    (("Heartbeat", [], "my-group"), [("READ", "GROUP", "my-group")]),
    (("LeaveGroup", [], "my-group"), [("READ", "GROUP", "my-group")]),
    (("DeleteGroups", [], "my-group"), [("DELETE", "GROUP", "my-group")]),
    (("CreateTopics", ["topic"]), [("CREATE", "TOPIC", "topic")]),
    (("InitProducerId", [], None, "transactional.id"), [TXN_WRITE]),
    (("InitProducerId", []), [("IDEMPOTENT_WRITE", *CLUSTER)]),
    (("AddPartitionsToTxn", ["topic"], None, "transactional.id"),
     [TXN_WRITE, ("WRITE", "TOPIC", "topic")]),
    (("AddOffsetsToTxn", [], "my-group", "transactional.id"),
     [TXN_WRITE, ("READ", "GROUP", "my-group")]),
    (("EndTxn", [], None, "transactional.id"), [TXN_WRITE]),
    (("TxnOffsetCommit", ["topic"], "my-group", "transactional.id"),
     [TXN_WRITE, ("READ", "GROUP", "my-group"), ("READ", "TOPIC", "topic")]),
    (("CreateAcls", []), [("ALTER", *CLUSTER)]),
    (("DescribeAcls", []), [("DESCRIBE", *CLUSTER)]),
    (("DeleteAcls", []), [("ALTER", *CLUSTER)]),
    (("AlterClientQuotas", []), [("ALTER_CONFIGS", *CLUSTER)]),
    (("DescribeClientQuotas", []), [("DESCRIBE_CONFIGS", *CLUSTER)]),
    # every topic of a request is checked, in the request's order
    (("Fetch", ["b", "a", "c"]), [("READ", "TOPIC", "b"), ("READ", "TOPIC", "a"),
                                  ("READ", "TOPIC", "c")]),
    (("Produce", [], None, None), []),
]
REQUIRED_MISTAKES = (
    ("commit-only-describes", mutant(auth_helper.required_acls, (
        '        return [("READ", "GROUP", group_id)] + on_topics("READ")',
        '        return [("READ", "GROUP", group_id)] + on_topics("DESCRIBE")'))),
    ("offset-fetch-reads", mutant(auth_helper.required_acls, (
        '        return [("DESCRIBE", "GROUP", group_id)] + on_topics("DESCRIBE")',
        '        return [("READ", "GROUP", group_id)] + on_topics("READ")'))),
    ("topic-before-transactional-id", mutant(auth_helper.required_acls, (
        '        return checks + on_topics("WRITE")', '        return on_topics("WRITE") + checks'))),
    ("group-before-transactional-id", mutant(auth_helper.required_acls, (
        '        return write_transactional_id() + [("READ", "GROUP", group_id)] + on_topics("READ")',
        '        return [("READ", "GROUP", group_id)] + write_transactional_id() + on_topics("READ")'))),
    ("first-topic-only", mutant(auth_helper.required_acls, (
        '        return [(operation, "TOPIC", topic) for topic in topics]',
        '        return [(operation, "TOPIC", topic) for topic in topics[:1]]'))),
)
name_required = known_mistakes(*REQUIRED_MISTAKES)

# what each request carries besides its topics: (group_id, transactional_id) choices
TOPIC_NAMES = ["orders", "tenantA.orders", "payments", "__consumer_offsets", "t"]
CARRIES = {"FindCoordinator": "group-or-transaction", "JoinGroup": "group",
           "SyncGroup": "group", "Heartbeat": "group", "LeaveGroup": "group",
           "DeleteGroups": "group", "OffsetCommit": "group", "OffsetFetch": "group",
           "AddOffsetsToTxn": "both", "TxnOffsetCommit": "both", "EndTxn": "transaction",
           "AddPartitionsToTxn": "transaction", "Produce": "maybe-transaction",
           "InitProducerId": "maybe-transaction"}


@st.composite
def required_args(draw):
    api = draw(st.sampled_from(auth_helper.CLIENT_APIS))
    topics = draw(st.lists(st.sampled_from(TOPIC_NAMES), max_size=3, unique=True))
    group, txn = draw(st.sampled_from(["g", "billing"])), draw(st.sampled_from(["tx", "t1"]))
    carries = CARRIES.get(api)
    if carries == "group-or-transaction":
        carries = draw(st.sampled_from(["group", "transaction"]))
    if carries == "maybe-transaction":
        carries = draw(st.sampled_from([None, "transaction"]))
    return (api, topics, group if carries in ("group", "both") else None,
            txn if carries in ("transaction", "both") else None)


@prop("security.required_acls", "checks what KafkaApis checks in AuthorizerIntegrationTest's "
                                "requests", 1)
def required_examples(learner):
    return examples(learner, "required_acls", REQUIRED_CASES, anomaly="wrong-acl-checks",
                    diagnose=name_required)


@prop("security.required_acls", "agrees with KafkaApis on any request", 1)
def required_differential(learner):
    return differential(learner, "required_acls", auth_helper.required_acls, required_args(),
                        examples=300, anomaly="wrong-acl-checks", diagnose=name_required)


@prop("security.required_acls", "inside a secured cluster, every user reads, writes, joins "
                                "and lists exactly what the ACLs allow", 1)
def required_in_the_engine(learner):
    return in_a_secure_cluster(learner, "required_acls", groups=True)


# -- SCRAM -----------------------------------------------------------------------------------------
RFC_SALT = base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ==")
RFC_STORED = scram.scram_credential("pencil", RFC_SALT, 4096)
CREDENTIAL_CASES = [
    # RFC 7677's user "user", password "pencil"
    (("pencil", RFC_SALT, 4096, "SCRAM-SHA-256"), tuple(RFC_STORED)),
    (("pencil", RFC_SALT, 4096, "SCRAM-SHA-512"),
     tuple(scram.scram_credential("pencil", RFC_SALT, 4096, "SCRAM-SHA-512"))),
    (("pässwörd", b"salt", 4096, "SCRAM-SHA-256"),           # UTF-8, no SASLprep
     tuple(scram.scram_credential("pässwörd", b"salt", 4096))),
]
CREDENTIAL_MISTAKES = (
    ("stored-key-not-hashed", mutant(scram.scram_credential, (
        "stored_key = hashlib.new(hash_name, client_key).digest()", "stored_key = client_key"))),
    ("keys-swapped", mutant(scram.scram_credential, (
        'client_key = hmac.new(salted, b"Client Key", hash_name).digest()',
        'client_key = hmac.new(salted, b"Server Key", hash_name).digest()'))),
)
name_credential = known_mistakes(*CREDENTIAL_MISTAKES)


@st.composite
def credential_args(draw):
    password = draw(st.one_of(st.text(st.characters(min_codepoint=32, max_codepoint=126),
                                      min_size=1, max_size=12),
                              st.text(min_size=1, max_size=6)))
    salt = draw(st.binary(min_size=8, max_size=16))
    return (password, salt, draw(st.sampled_from([4096, 4097, 4200])),
            draw(st.sampled_from(sorted(scram.MECHANISMS))))


def scramp_credential(password, salt, iterations, mechanism):
    """The keys the scramp package derives: an oracle written apart from Kafka and from the
    engine (it applies SASLprep, which changes nothing in printable ASCII)."""
    salt, stored_key, server_key, iterations = scramp.ScramMechanism(
        mechanism).make_auth_info(password, iteration_count=iterations, salt=salt)
    return scram.ScramCredential(salt, stored_key, server_key, iterations)


@st.composite
def ascii_credential_args(draw):
    password = draw(st.text(st.characters(min_codepoint=32, max_codepoint=126), min_size=1,
                            max_size=12))
    return (password, draw(st.binary(min_size=12, max_size=16)),
            draw(st.sampled_from([4096, 4097, 4200])), draw(st.sampled_from(sorted(
                scram.MECHANISMS))))


@prop("security.scram_credential", "derives RFC 7677's keys, ScramFormatter's and scramp's "
                                   "on any password", 1)
def credential_examples(learner):
    return (examples(learner, "scram_credential", CREDENTIAL_CASES, anomaly="wrong-keys",
                     diagnose=name_credential)
            or differential(learner, "scram_credential", scramp_credential,
                            ascii_credential_args(), examples=10, anomaly="wrong-keys",
                            diagnose=name_credential)
            or differential(learner, "scram_credential", scram.scram_credential,
                            credential_args(), examples=30, anomaly="wrong-keys",
                            diagnose=name_credential))


@prop("security.scram_credential", "inside a secured cluster, users log in with their "
                                   "passwords", 1)
def credential_in_the_engine(learner):
    return in_a_secure_cluster(learner, "scram_credential")


AUTH_MESSAGE = b"n=user,r=abc,r=abcdef,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,c=biws,r=abcdef"
GOOD_PROOF = scram.client_proof("pencil", RFC_SALT, 4096, AUTH_MESSAGE)
PROOF_CASES = [
    ((RFC_STORED.stored_key, AUTH_MESSAGE, GOOD_PROOF, "SCRAM-SHA-256"), True),
    ((RFC_STORED.stored_key, AUTH_MESSAGE + b"!", GOOD_PROOF, "SCRAM-SHA-256"), False),
    ((RFC_STORED.stored_key, AUTH_MESSAGE, GOOD_PROOF[:-1], "SCRAM-SHA-256"), False),
    ((RFC_STORED.stored_key, AUTH_MESSAGE, GOOD_PROOF + b"\0", "SCRAM-SHA-256"), False),
    ((RFC_STORED.stored_key, AUTH_MESSAGE, bytes(32), "SCRAM-SHA-256"), False),
    ((RFC_STORED.stored_key, AUTH_MESSAGE, b"", "SCRAM-SHA-256"), False),
    ((RFC_STORED.stored_key, AUTH_MESSAGE,
      scram.client_proof("pencil2", RFC_SALT, 4096, AUTH_MESSAGE), "SCRAM-SHA-256"), False),
]


@st.composite
def proof_args(draw):
    mechanism = draw(st.sampled_from(sorted(scram.MECHANISMS)))
    password = draw(st.text(st.characters(min_codepoint=32, max_codepoint=126), min_size=1,
                            max_size=8))
    message = draw(st.binary(min_size=1, max_size=40))
    credential = scram.scram_credential(password, b"saltsalt", 4096, mechanism)
    proof = scram.client_proof(password, b"saltsalt", 4096, message, mechanism)
    change = draw(st.sampled_from(["none", "none", "flip", "cut", "grow", "other"]))
    if change == "flip":
        at = draw(st.integers(0, len(proof) - 1))
        proof = proof[:at] + bytes([proof[at] ^ 1]) + proof[at + 1:]
    elif change == "cut":
        proof = proof[:draw(st.integers(0, len(proof) - 1))]
    elif change == "grow":
        proof = proof + b"\x00"
    elif change == "other":
        proof = scram.client_proof(password + "x", b"saltsalt", 4096, message, mechanism)
    return (credential.stored_key, message, proof, mechanism)


@prop("security.verify_client_proof", "accepts exactly the right proofs", 1)
def proof_properties(learner):
    return (examples(learner, "verify_client_proof", PROOF_CASES, anomaly="wrong-proof-check")
            or differential(learner, "verify_client_proof", scram.verify_client_proof,
                            proof_args(), examples=40, anomaly="wrong-proof-check"))


@prop("security.verify_client_proof", "inside a secured cluster, only the right password "
                                      "gets in", 1)
def proof_in_the_engine(learner):
    return in_a_secure_cluster(learner, "verify_client_proof")
