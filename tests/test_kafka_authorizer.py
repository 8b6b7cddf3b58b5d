"""Cases ported from Kafka's authorizer tests (Kafka 3.8/3.9 sources; each names its test):
StandardAuthorizerTest (KRaft's authorizer) and AuthorizerTest (run there against it too)."""

import pytest

from kafkadojo.reference.authorizer import (ALLOWED, DENIED, OPERATIONS, AclBinding, AclFilter,
                                            StandardAuthorizer, acl_matches, authorize,
                                            authorize_by_resource_type)
from kafkadojo.reference.seams import REFERENCE

LOCAL = "127.0.0.1"         # InetAddress.getLocalHost(), wherever the Java test runs


def acl(resource_type, name, pattern, principal, host, operation, permission):
    return AclBinding(resource_type, name, pattern, principal, host, operation, permission)


def check(acls, principal, requests, expected, host=LOCAL, super_users=("User:superman",),
          allow_if_none=False):
    """Each ``(operation, resource_type, name)`` of ``requests`` as ``principal``: the
    decisions, A (ALLOWED) or D (DENIED) each, as the Java test lists them."""
    decisions = {ALLOWED: "A", DENIED: "D"}
    got = "".join(decisions[authorize(acls, frozenset(super_users), allow_if_none, principal,
                                      host, op, rtype, name)] for op, rtype, name in requests)
    assert got == expected


def foo_acl(operation, permission):     # StandardAuthorizerTest.newFooAcl
    return acl("TOPIC", "foo_", "PREFIXED", "User:bob", "*", operation, permission)


def bar_acl(operation, permission):     # StandardAuthorizerTest.newBarAcl
    return acl("GROUP", "bar", "LITERAL", "User:*", "*", operation, permission)


# -- StandardAuthorizerTest ---------------------------------------------------------------------
@pytest.mark.parametrize("allow_if_none, expected", [(True, "DA"), (False, "DD")])
def test_allow_everyone_if_no_acl_found(allow_if_none, expected):
    """testAllowEveryoneIfNoAclFoundConfigEnabled / ...Disabled: any ACL on the resource, for
    anyone, turns the default off for it."""
    acls = [acl("TOPIC", "topic1", "LITERAL", "User:Alice", "*", "READ", "ALLOW")]
    check(acls, "User:Bob", [("READ", "TOPIC", "topic1"), ("READ", "TOPIC", "topic2")],
          expected, super_users=("User:alice", "User:chris"), allow_if_none=allow_if_none)


def test_find_result_implication():
    """testFindResultImplication: implied operations hold for ALLOW only."""
    match = lambda op, acl_op, perm: acl_matches(   # noqa: E731
        foo_acl(acl_op, perm), "TOPIC", "foo_bar", "User:bob", LOCAL, op)
    for acl_op in ("DESCRIBE", "READ", "WRITE", "DELETE", "ALTER"):
        assert match("DESCRIBE", acl_op, "ALLOW") == "ALLOW"
    assert match("DESCRIBE", "CREATE", "ALLOW") is None
    for acl_op in ("READ", "WRITE", "DELETE", "ALTER"):
        assert match("DESCRIBE", acl_op, "DENY") is None
    assert match("DESCRIBE", "DESCRIBE", "DENY") == "DENY"
    for acl_op in ("DESCRIBE_CONFIGS", "ALTER_CONFIGS"):
        assert match("DESCRIBE_CONFIGS", acl_op, "ALLOW") == "ALLOW"
    assert match("DESCRIBE_CONFIGS", "ALTER_CONFIGS", "DENY") is None
    assert match("ALTER_CONFIGS", "ALTER_CONFIGS", "DENY") == "DENY"


def test_find_result_principal_matching():
    """testFindResultPrincipalMatching."""
    assert acl_matches(foo_acl("READ", "ALLOW"), "TOPIC", "foo_bar", "User:bob", LOCAL,
                       "READ") == "ALLOW"
    assert acl_matches(foo_acl("READ", "ALLOW"), "TOPIC", "foo_bar", "User:alice", LOCAL,
                       "READ") is None
    assert acl_matches(bar_acl("READ", "DENY"), "GROUP", "bar", "User:alice", LOCAL,
                       "READ") == "DENY"


def test_simple_authorizations():
    """testSimpleAuthorizations."""
    acls = [foo_acl("READ", "ALLOW"), foo_acl("WRITE", "ALLOW"),
            bar_acl("DESCRIBE_CONFIGS", "ALLOW"), bar_acl("ALTER_CONFIGS", "ALLOW")]
    check(acls, "User:bob", [("READ", "TOPIC", "foo_")], "A")
    check(acls, "User:fred", [("ALTER_CONFIGS", "GROUP", "bar")], "A")


def test_deny_precedence_with_operation_all():
    """testDenyPrecedenceWithOperationAll."""
    acls = [acl("TOPIC", "foo", "LITERAL", "User:alice", "*", "ALL", "DENY"),
            acl("TOPIC", "foo", "PREFIXED", "User:alice", "*", "READ", "ALLOW"),
            acl("TOPIC", "foo", "LITERAL", "User:*", "*", "ALL", "DENY"),
            acl("TOPIC", "foo", "PREFIXED", "User:*", "*", "DESCRIBE", "ALLOW")]
    check(acls, "User:alice", [("WRITE", "TOPIC", "foo"), ("READ", "TOPIC", "foo"),
                               ("DESCRIBE", "TOPIC", "foo"), ("READ", "TOPIC", "foobar")],
          "DDDA")
    check(acls, "User:bob", [("DESCRIBE", "TOPIC", "foo"), ("READ", "TOPIC", "foo"),
                             ("WRITE", "TOPIC", "foo"), ("DESCRIBE", "TOPIC", "foobaz"),
                             ("READ", "TOPIC", "foobaz")], "DDDAD")


def test_topic_acl_with_operation_all():
    """testTopicAclWithOperationAll."""
    acls = [acl("TOPIC", "foo", "LITERAL", "User:*", "*", "ALL", "ALLOW"),
            acl("TOPIC", "bar", "PREFIXED", "User:alice", "*", "ALL", "ALLOW"),
            acl("TOPIC", "baz", "LITERAL", "User:bob", "*", "ALL", "ALLOW")]
    check(acls, "User:alice", [("WRITE", "TOPIC", "foo"), ("DESCRIBE_CONFIGS", "TOPIC", "bar"),
                               ("DESCRIBE", "TOPIC", "baz")], "AAD")
    check(acls, "User:bob", [("WRITE", "TOPIC", "foo"), ("READ", "TOPIC", "bar"),
                             ("DESCRIBE", "TOPIC", "baz")], "ADA")
    check(acls, "User:malory", [("DESCRIBE", "TOPIC", "foo"), ("WRITE", "TOPIC", "bar"),
                                ("READ", "TOPIC", "baz")], "ADD")


@pytest.mark.parametrize("principal, host, expected", [
    ("User:alice", LOCAL, "ADA"), ("User:alice", "192.168.1.1", "DDD"),
    ("User:alice", "192.168.1.2", "ADD"), ("User:bob", LOCAL, "DDA"),
    ("User:bob", "192.168.1.1", "DDD"), ("User:bob", "192.168.1.2", "DAA")])
def test_host_address_acl_validation(principal, host, expected):
    """testHostAddressAclValidation: hosts are compared as IP strings."""
    acls = [acl("TOPIC", "foo", "LITERAL", "User:alice", "192.168.1.1", "READ", "DENY"),
            acl("TOPIC", "foo", "LITERAL", "User:alice", "*", "READ", "ALLOW"),
            acl("TOPIC", "bar", "LITERAL", "User:bob", "192.168.1.2", "READ", "ALLOW"),
            acl("TOPIC", "bar", "LITERAL", "User:*", LOCAL, "DESCRIBE", "ALLOW")]
    check(acls, principal, [("READ", "TOPIC", "foo"), ("READ", "TOPIC", "bar"),
                            ("DESCRIBE", "TOPIC", "bar")], expected, host=host)


def test_authorization_with_many_acls():
    """testAuthorizationWithManyAcls."""
    acls = [acl("TOPIC", "green2", "LITERAL", "User:*", "*", "READ", "ALLOW"),
            acl("TOPIC", "green", "PREFIXED", "User:bob", "*", "READ", "ALLOW"),
            acl("TOPIC", "betamax4", "LITERAL", "User:bob", "*", "READ", "ALLOW"),
            acl("TOPIC", "betamax", "LITERAL", "User:bob", "*", "READ", "ALLOW"),
            acl("TOPIC", "beta", "PREFIXED", "User:*", "*", "READ", "ALLOW"),
            acl("TOPIC", "alpha", "PREFIXED", "User:*", "*", "READ", "ALLOW"),
            acl("TOPIC", "alp", "PREFIXED", "User:bob", "*", "READ", "DENY"),
            acl("GROUP", "*", "LITERAL", "User:bob", "*", "WRITE", "ALLOW"),
            acl("GROUP", "wheel", "LITERAL", "User:*", "*", "WRITE", "DENY")]
    check(acls, "User:bob", [("READ", "TOPIC", "green1"), ("WRITE", "GROUP", "wheel")], "AD")
    check(acls, "User:bob", [("READ", "TOPIC", "alpha"), ("WRITE", "GROUP", "arbitrary"),
                             ("READ", "TOPIC", "ala")], "DAD")


def test_prefix_acls():
    """testPrefixAcls, KAFKA-14265's regression test: prefix ACLs between the name and a
    shorter prefix (fooa, foobar) must not hide that prefix (f)."""
    acls = [acl("TOPIC", "fooa", "PREFIXED", "User:alice", "*", "ALL", "ALLOW"),
            acl("TOPIC", "foobar", "LITERAL", "User:bob", "*", "ALL", "ALLOW"),
            acl("TOPIC", "f", "PREFIXED", "User:bob", "*", "ALL", "ALLOW")]
    check(acls, "User:bob", [("WRITE", "TOPIC", "foobarr"), ("READ", "TOPIC", "goobar"),
                             ("READ", "TOPIC", "fooa")], "ADA")
    check(acls, "User:alice", [("DESCRIBE", "TOPIC", "fooa"), ("WRITE", "TOPIC", "bar"),
                               ("READ", "TOPIC", "baz")], "ADD")


# -- AuthorizerTest ------------------------------------------------------------------------------
SUPER = ("User:superuser1", "User:superuser2")
H1, H2 = "192.168.1.1", "192.168.1.2"


def test_topic_acl():
    """AuthorizerTest.testTopicAcl."""
    on = lambda principal, host, op, perm: acl(    # noqa: E731
        "TOPIC", "foo-1", "LITERAL", principal, host, op, perm)
    acls = [on("User:alice", H1, "READ", "ALLOW"), on("User:alice", H2, "READ", "ALLOW"),
            on("User:alice", H1, "READ", "DENY"), on("User:alice", H1, "WRITE", "ALLOW"),
            on("User:alice", "*", "DESCRIBE", "ALLOW"), on("User:rob", "*", "READ", "ALLOW"),
            on("User:batman", "*", "WRITE", "ALLOW")]
    for principal, host, op, expected in [
            ("User:alice", H2, "READ", "A"), ("User:alice", H1, "READ", "D"),
            ("User:alice", H1, "WRITE", "A"), ("User:alice", H2, "WRITE", "D"),
            ("User:alice", H1, "DESCRIBE", "A"), ("User:alice", H2, "DESCRIBE", "A"),
            ("User:alice", H1, "ALTER", "D"), ("User:alice", H2, "ALTER", "D"),
            ("User:rob", H1, "DESCRIBE", "A"), ("User:batman", H1, "DESCRIBE", "A"),
            ("User:rob", H1, "READ", "A"), ("User:batman", H1, "WRITE", "A")]:
        check(acls, principal, [(op, "TOPIC", "foo-1")], expected, host=host, super_users=SUPER)


def test_deny_takes_precedence_allow_all_and_super_users():
    """AuthorizerTest.testDenyTakesPrecedence, testAllowAllAccess, testSuperUserHasAccess,
    testNoAclFound, testNoAclFoundOverride."""
    everyone = acl("TOPIC", "foo-1", "LITERAL", "User:*", "*", "ALL", "ALLOW")
    denied = acl("TOPIC", "foo-1", "LITERAL", "User:alice", "192.168.2.1", "ALL", "DENY")
    check([everyone, denied], "User:alice", [("READ", "TOPIC", "foo-1")], "D",
          host="192.168.2.1", super_users=SUPER)
    check([everyone], "User:random", [("READ", "TOPIC", "foo-1")], "A", host="192.0.4.4",
          super_users=SUPER)
    deny_all = acl("TOPIC", "foo-1", "LITERAL", "User:*", "*", "ALL", "DENY")
    for superuser in SUPER:
        check([deny_all], superuser, [("READ", "TOPIC", "foo-1")], "A", super_users=SUPER)
    check([], "User:alice", [("READ", "TOPIC", "foo-1")], "D", super_users=SUPER)
    check([], "User:alice", [("READ", "TOPIC", "foo-1")], "A", super_users=SUPER,
          allow_if_none=True)


def test_wild_card_acls():
    """AuthorizerTest.testWildCardAcls, step by step."""
    host = "192.168.3.1"
    acls = []
    check(acls, "User:alice", [("READ", "TOPIC", "foo-1")], "D", host="192.168.0.1")
    acls.append(acl("TOPIC", "*", "LITERAL", "User:alice", host, "READ", "ALLOW"))
    check(acls, "User:alice", [("READ", "TOPIC", "foo-1")], "A", host=host)
    acls.append(acl("TOPIC", "foo-1", "LITERAL", "User:alice", host, "WRITE", "ALLOW"))
    acls.append(acl("TOPIC", "*", "LITERAL", "User:alice", host, "WRITE", "DENY"))
    check(acls, "User:alice", [("WRITE", "TOPIC", "foo-1")], "D", host=host)


def test_allowed_through_wildcard_and_prefixed_resources():
    """AuthorizerTest.testAccessAllowedIfAllowAclExistsOnWildcardResource,
    ...OnPrefixedResource, and testAuthorizeWithPrefixedResource."""
    read = lambda name, pattern, perm="ALLOW": acl(     # noqa: E731
        "TOPIC", name, pattern, "User:*", "*", "READ", perm)
    check([read("*", "LITERAL")], "User:alice", [("READ", "TOPIC", "foo-1")], "A")
    check([read("foo", "PREFIXED")], "User:alice", [("READ", "TOPIC", "foo-1")], "A")
    denies = [read(name, pattern, "DENY") for name, pattern in (
        ("a_other", "LITERAL"), ("a_other", "PREFIXED"), ("foo-1", "PREFIXED"),
        ("foo-2", "PREFIXED"), ("foo-3-zzz", "PREFIXED"), ("fooo-4", "PREFIXED"),
        ("fo-5", "PREFIXED"), ("fop-6", "PREFIXED"), ("fon-7", "PREFIXED"),
        ("fon-", "PREFIXED"), ("z_other", "PREFIXED"), ("z_other", "LITERAL"))]
    check(denies + [read("foo", "PREFIXED")], "User:alice", [("READ", "TOPIC", "foo-9")], "A")


def test_single_character_resource_acls():
    """AuthorizerTest.testSingleCharacterResourceAcls (KAFKA-7702)."""
    acls = [acl("TOPIC", "f", "LITERAL", "User:*", "*", "READ", "ALLOW")]
    check(acls, "User:alice", [("READ", "TOPIC", "f"), ("READ", "TOPIC", "foo")], "AD")
    acls.append(acl("TOPIC", "_", "PREFIXED", "User:*", "*", "READ", "ALLOW"))
    check(acls, "User:alice", [("READ", "TOPIC", "_foo"), ("READ", "TOPIC", "_"),
                               ("READ", "TOPIC", "foo_")], "AAD")


IMPLIED = {"ALL": set(OPERATIONS) - {"ALL"}, "READ": {"DESCRIBE"}, "WRITE": {"DESCRIBE"},
           "DELETE": {"DESCRIBE"}, "ALTER": {"DESCRIBE"}, "ALTER_CONFIGS": {"DESCRIBE_CONFIGS"}}


@pytest.mark.parametrize("operation", sorted(IMPLIED))
def test_acl_inheritance(operation):
    """AuthorizerTest.testAclInheritance (implAllow): an ALLOW of ``operation`` allows it and
    what it implies, nothing else (a request for ALL itself only with ALL)."""
    acls = [acl("CLUSTER", "kafka-cluster", "LITERAL", "User:alice", "*", operation, "ALLOW")]
    for requested in OPERATIONS:
        expected = "A" if requested == operation or requested in IMPLIED[operation] else "D"
        check(acls, "User:alice", [(requested, "CLUSTER", "kafka-cluster")], expected,
              host="192.168.3.1")


@pytest.mark.parametrize("operation", ["ALL", "DESCRIBE", "DESCRIBE_CONFIGS", "READ"])
def test_acl_inheritance_of_deny(operation):
    """AuthorizerTest.testAclInheritance (implDeny): with ALL allowed, a DENY of
    ``operation`` denies it (everything, for ALL) and implies nothing."""
    acls = [acl("CLUSTER", "kafka-cluster", "LITERAL", "User:alice", "*", operation, "DENY"),
            acl("CLUSTER", "kafka-cluster", "LITERAL", "User:alice", "*", "ALL", "ALLOW")]
    for requested in OPERATIONS:
        denied = operation == "ALL" or requested == operation
        check(acls, "User:alice", [(requested, "CLUSTER", "kafka-cluster")],
              "D" if denied else "A", host="192.168.3.1")


def test_acls_filter():
    """AuthorizerTest.testAclsFilter (describe and delete by filter)."""
    authorizer = StandardAuthorizer(REFERENCE)
    acl1 = acl("TOPIC", "foo-1", "LITERAL", "User:alice", "*", "READ", "ALLOW")
    acl2 = acl("TOPIC", "foo-1", "LITERAL", "User:alice", "192.168.0.1", "WRITE", "ALLOW")
    acl3 = acl("TOPIC", "bar-1", "LITERAL", "User:alice", "*", "DESCRIBE", "ALLOW")
    acl4 = acl("TOPIC", "bar-", "PREFIXED", "User:*", "*", "READ", "ALLOW")
    authorizer.create_acls([acl1, acl2, acl3, acl4])
    assert authorizer.describe_acls() == [acl1, acl2, acl3, acl4]
    assert authorizer.describe_acls(AclFilter("TOPIC", "foo-1", "LITERAL")) == [acl1, acl2]
    assert authorizer.describe_acls(AclFilter("TOPIC", "bar-", "PREFIXED")) == [acl4]
    assert authorizer.describe_acls(AclFilter(None, "bar-1", "MATCH")) == [acl3, acl4]
    assert authorizer.delete_acls(AclFilter(None, "bar-1", "MATCH")) == [acl3, acl4]
    assert authorizer.delete_acls(AclFilter(*acl1)) == [acl1]
    assert authorizer.delete_acls(AclFilter("TOPIC", "baz")) == []
    assert authorizer.acls == [acl2]


def test_get_acls_principal():
    """AuthorizerTest.testGetAclsPrincipal: filters compare principals exactly."""
    authorizer = StandardAuthorizer(REFERENCE)
    alice = acl("TOPIC", "foo", "LITERAL", "User:alice", "*", "WRITE", "ALLOW")
    everyone = acl("TOPIC", "bar", "LITERAL", "User:*", "*", "WRITE", "ALLOW")
    authorizer.create_acls([alice, everyone])
    assert authorizer.describe_acls(AclFilter(principal="User:alice")) == [alice]
    assert authorizer.describe_acls(AclFilter(principal="User:*")) == [everyone]


# -- AuthorizerTest: authorizeByResourceType (KIP-679) ------------------------------------------
U1, U2, H1, H2 = "User:user1", "User:user2", "192.168.1.1", "192.168.1.2"


def by_type(acls, principal, host, operation, resource_type, super_users=(),
            allow_if_none=False):
    return authorize_by_resource_type(tuple(acls), frozenset(super_users), allow_if_none,
                                      principal, host, operation, resource_type) == ALLOWED


def test_authorize_by_resource_type_deny_takes_precedence():
    """AuthorizerTest.testAuthorizeByResourceTypeDenyTakesPrecedence"""
    acls = [acl("TOPIC", "sb1", "LITERAL", U1, H1, "WRITE", "ALLOW")]
    assert by_type(acls, U1, H1, "WRITE", "TOPIC")
    acls.append(acl("TOPIC", "sb1", "LITERAL", U1, H1, "WRITE", "DENY"))
    assert not by_type(acls, U1, H1, "WRITE", "TOPIC")


def test_authorize_by_resource_type_prefixed_resource_deny_dominate():
    """AuthorizerTest.testAuthorizeByResourceTypePrefixedResourceDenyDominate"""
    def group(name, permission):
        return acl("GROUP", name, "PREFIXED", U1, H1, "READ", permission)
    steps = [(group("abcde", "ALLOW"), True), (group("abcd", "DENY"), False),
             (group("abc", "ALLOW"), True), (group("a", "DENY"), False),
             (group("ab", "ALLOW"), False)]
    acls = []
    for added, expected in steps:
        acls.append(added)
        assert by_type(acls, U1, H1, "READ", "GROUP") is expected, added


def test_authorize_by_resource_type_wildcard_resource_deny_dominate():
    """AuthorizerTest.testAuthorizeByResourceTypeWildcardResourceDenyDominate"""
    steps = [(acl("GROUP", "hello", "PREFIXED", U1, H1, "WRITE", "ALLOW"), True),
             (acl("GROUP", "*", "LITERAL", U1, H1, "WRITE", "DENY"), False),
             (acl("GROUP", "*", "LITERAL", U1, H1, "WRITE", "ALLOW"), False),
             (acl("GROUP", "aloha", "LITERAL", U1, H1, "WRITE", "ALLOW"), False)]
    acls = []
    for added, expected in steps:
        acls.append(added)
        assert by_type(acls, U1, H1, "WRITE", "GROUP") is expected, added


def test_authorize_by_resource_type_isolation_unrelated_deny_wont_dominate_allow():
    """AuthorizerTest.testAuthorizeByResourceTypeIsolationUnrelatedDenyWontDominateAllow"""
    acls = [acl("TOPIC", "sb1", "LITERAL", U1, H1, "READ", "DENY"),
            acl("TOPIC", "sb1", "LITERAL", U2, H1, "READ", "DENY"),
            acl("TOPIC", "sb1", "LITERAL", U1, H2, "WRITE", "DENY"),
            acl("TOPIC", "sb1", "LITERAL", U2, H2, "READ", "DENY"),
            acl("TOPIC", "sb1", "LITERAL", U1, H2, "READ", "ALLOW"),
            acl("TOPIC", "sb2", "LITERAL", U1, H2, "READ", "DENY"),
            acl("GROUP", "s", "PREFIXED", U1, H2, "READ", "DENY")]
    for resource_type in ("TOPIC", "GROUP", "TRANSACTIONAL_ID", "CLUSTER"):
        assert not by_type(acls, U1, H1, "READ", resource_type)
    assert by_type(acls, U1, H2, "READ", "TOPIC")


def test_authorize_by_resource_type_with_all_operation_ace():
    """AuthorizerTest.testAuthorizeByResourceTypeWithAllOperationAce"""
    assert not by_type([], U1, H1, "READ", "TOPIC")
    acls = [acl("TOPIC", "sb1", "LITERAL", U1, H1, "WRITE", "DENY"),
            acl("TOPIC", "sb1", "LITERAL", U1, H1, "ALL", "ALLOW")]
    assert by_type(acls, U1, H1, "READ", "TOPIC")
    acls.append(acl("TOPIC", "sb1", "LITERAL", U1, H1, "ALL", "DENY"))
    assert not by_type(acls, U1, H1, "READ", "TOPIC")


def test_authorize_by_resource_type_with_all_host_ace():
    """AuthorizerTest.testAuthorizeByResourceTypeWithAllHostAce"""
    acls = [acl("TOPIC", "sb1", "LITERAL", U1, H1, "READ", "ALLOW")]
    assert by_type(acls, U1, H1, "READ", "TOPIC")
    acls.append(acl("TOPIC", "sb1", "LITERAL", U1, "*", "READ", "DENY"))
    assert not by_type(acls, U1, H1, "READ", "TOPIC")
    acls.append(acl("TOPIC", "sb2", "LITERAL", U1, H1, "READ", "DENY"))
    assert not by_type(acls, U1, H1, "READ", "TOPIC")
    assert not by_type(acls, U1, H2, "READ", "TOPIC")
    acls.append(acl("TOPIC", "sb2", "LITERAL", U1, "*", "READ", "ALLOW"))
    assert by_type(acls, U1, H2, "READ", "TOPIC")
    acls.append(acl("TOPIC", "sb2", "LITERAL", U1, "*", "READ", "DENY"))
    assert not by_type(acls, U1, H2, "READ", "TOPIC")


def test_authorize_by_resource_type_with_all_principal_ace():
    """AuthorizerTest.testAuthorizeByResourceTypeWithAllPrincipalAce"""
    acls = [acl("TOPIC", "sb1", "LITERAL", U1, H1, "READ", "ALLOW")]
    assert by_type(acls, U1, H1, "READ", "TOPIC")
    acls.append(acl("TOPIC", "sb1", "LITERAL", "User:*", H1, "READ", "DENY"))
    assert not by_type(acls, U1, H1, "READ", "TOPIC")
    acls.append(acl("TOPIC", "sb2", "LITERAL", U1, H1, "READ", "DENY"))
    assert not by_type(acls, U1, H1, "READ", "TOPIC")
    assert not by_type(acls, U2, H1, "READ", "TOPIC")
    acls.append(acl("TOPIC", "sb2", "LITERAL", "User:*", H1, "READ", "ALLOW"))
    assert by_type(acls, U2, H1, "READ", "TOPIC")
    acls.append(acl("TOPIC", "sb2", "LITERAL", "User:*", H1, "READ", "DENY"))
    assert not by_type(acls, U2, H1, "READ", "TOPIC")


def test_authorize_by_resource_type_super_user_has_access():
    """AuthorizerTest.testAuthorzeByResourceTypeSuperUserHasAccess (sic)"""
    acls = [acl(resource_type, "*", "LITERAL", "User:*", "*", "ALL", "DENY")
            for resource_type in ("TOPIC", "CLUSTER", "GROUP", "TRANSACTIONAL_ID")]
    for resource_type in ("TOPIC", "CLUSTER", "GROUP", "TRANSACTIONAL_ID"):
        assert by_type(acls, "User:superuser1", "192.0.4.4", "READ", resource_type,
                       super_users=("User:superuser1",))
        assert not by_type(acls, U1, "192.0.4.4", "READ", resource_type)


def test_authorize_by_resource_type_enable_allow_everyone():
    """AuthorizerTest's testAuthorizeByResourceTypeEnableAllowEveryOne: with
    allow.everyone.if.no.acl.found and no ACLs, anyone may read some topic."""
    assert by_type([], U1, H1, "READ", "TOPIC", allow_if_none=True)
    assert not by_type([], U1, H1, "READ", "TOPIC")
