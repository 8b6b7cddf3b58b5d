"""The authorizer: which ACL applies to a request, the decision (deny wins, super users, the
no-ACL default, implied operations), and the administration of ACLs with filters."""

import pytest

from kafkadojo.reference import errors
from kafkadojo.reference.authorizer import (ALLOWED, DENIED, AclBinding, AclFilter,
                                            StandardAuthorizer, acl_matches, authorize)
from kafkadojo.reference.seams import REFERENCE


def acl(name="orders", operation="READ", permission="ALLOW", principal="User:alice",
        host="*", pattern="LITERAL", resource_type="TOPIC"):
    return AclBinding(resource_type, name, pattern, principal, host, operation, permission)


def decide(acls, operation="READ", name="orders", principal="User:alice", host="10.0.0.1",
           resource_type="TOPIC", super_users=(), allow_if_none=False):
    return authorize(acls, frozenset(super_users), allow_if_none, principal, host, operation,
                     resource_type, name)


def test_an_acl_applies_by_pattern_principal_host_and_operation():
    request = ("TOPIC", "orders", "User:alice", "10.0.0.1", "READ")
    assert acl_matches(acl(), *request) == "ALLOW"
    assert acl_matches(acl(permission="DENY"), *request) == "DENY"
    assert acl_matches(acl(name="order", pattern="PREFIXED"), *request) == "ALLOW"
    assert acl_matches(acl(name="orders", pattern="PREFIXED"), *request) == "ALLOW"   # itself
    assert acl_matches(acl(name="orders2", pattern="PREFIXED"), *request) is None
    assert acl_matches(acl(name="*"), *request) == "ALLOW"                    # LITERAL *
    assert acl_matches(acl(name="*", pattern="PREFIXED"), *request) is None   # the prefix "*"
    assert acl_matches(acl(principal="User:*"), *request) == "ALLOW"
    assert acl_matches(acl(principal="User:bob"), *request) is None
    assert acl_matches(acl(host="10.0.0.1"), *request) == "ALLOW"
    assert acl_matches(acl(host="10.0.0.2"), *request) is None
    assert acl_matches(acl(resource_type="GROUP"), *request) is None
    assert acl_matches(acl(operation="WRITE"), *request) is None
    assert acl_matches(acl(operation="ALL"), *request) == "ALLOW"


def test_implied_operations_hold_for_allow_only():
    describe = ("TOPIC", "orders", "User:alice", "h", "DESCRIBE")
    for implying in ("READ", "WRITE", "DELETE", "ALTER"):
        assert acl_matches(acl(operation=implying), *describe) == "ALLOW"
        assert acl_matches(acl(operation=implying, permission="DENY"), *describe) is None
    assert acl_matches(acl(operation="CREATE"), *describe) is None
    configs = ("TOPIC", "orders", "User:alice", "h", "DESCRIBE_CONFIGS")
    assert acl_matches(acl(operation="ALTER_CONFIGS"), *configs) == "ALLOW"
    assert acl_matches(acl(operation="ALTER"), *configs) is None
    assert acl_matches(acl(operation="ALL", permission="DENY"), *describe) == "DENY"


def test_deny_wins_and_super_users_pass():
    acls = [acl(principal="User:*"), acl(permission="DENY")]
    assert decide(acls) == DENIED
    assert decide(acls, principal="User:bob") == ALLOWED
    assert decide(acls, super_users=["User:alice"]) == ALLOWED
    # a DENY of READ does not deny DESCRIBE; a DENY of ALL does
    assert decide([acl(), acl(permission="DENY")], operation="DESCRIBE") == ALLOWED
    assert decide([acl(), acl(permission="DENY", operation="ALL")],
                  operation="DESCRIBE") == DENIED


def test_without_a_matching_acl_any_acl_on_the_resource_denies():
    assert decide([], allow_if_none=True) == ALLOWED
    assert decide([], allow_if_none=False) == DENIED
    # an ACL for someone else, or for another operation, turns the default off
    assert decide([acl(principal="User:bob")], allow_if_none=True) == DENIED
    assert decide([acl(operation="WRITE")], allow_if_none=True) == DENIED
    assert decide([acl(name="ord", pattern="PREFIXED", principal="User:bob")],
                  allow_if_none=True) == DENIED
    # an ACL on another resource does not
    assert decide([acl(name="payments")], allow_if_none=True) == ALLOWED


def test_tenant_prefixes_are_a_boundary():
    acls = [acl(name="tenantA.", pattern="PREFIXED", principal="User:alice", operation="ALL"),
            acl(name="tenantB.", pattern="PREFIXED", principal="User:bob", operation="ALL")]
    for operation in ("READ", "WRITE", "DESCRIBE"):
        assert decide(acls, operation, "tenantA.orders") == ALLOWED
        assert decide(acls, operation, "tenantB.orders") == DENIED
        assert decide(acls, operation, "tenantB.orders", principal="User:bob") == ALLOWED
    # the pitfall: a prefix without its separator also covers "tenantAB..."
    loose = [acl(name="tenantA", pattern="PREFIXED", principal="User:alice", operation="ALL")]
    assert decide(loose, "READ", "tenantAB.secrets") == ALLOWED


def test_acls_are_validated_and_administered_with_filters():
    authorizer = StandardAuthorizer(REFERENCE)
    bad = {acl(resource_type="TOPICS"): "Invalid resourceType TOPICS",
           acl(pattern="MATCH"): "Invalid patternType MATCH",
           acl(operation="REDA"): "Invalid operation REDA",
           acl(permission="MAYBE"): "Invalid permissionType MAYBE",
           acl(name=""): "Invalid empty resource name",
           acl(resource_type="CLUSTER", name="prod"): "The only valid name for the CLUSTER",
           acl(principal="alice"): "Could not parse principal", acl(host=""): "empty host"}
    results = authorizer.create_acls([acl(name="fine"), *bad])
    assert results[0] == (acl(name="fine"), None)           # each binding on its own
    for (binding, error), words in zip(results[1:], bad.values()):
        assert isinstance(error, errors.InvalidRequestError) and words in str(error), binding
    assert authorizer.acls == [acl(name="fine")]
    authorizer.delete_acls(AclFilter())
    authorizer.create_acls([acl(), acl(operation="WRITE"), acl(name="tenantA.",
                                                                pattern="PREFIXED")])
    assert len(authorizer.describe_acls()) == 3
    assert authorizer.describe_acls(AclFilter(operation="WRITE")) == [acl(operation="WRITE")]
    assert len(authorizer.describe_acls(AclFilter(name="tenantA.orders",
                                                  pattern_type="MATCH"))) == 1
    assert authorizer.delete_acls(AclFilter(name="orders")) == [acl(), acl(operation="WRITE")]
    assert authorizer.acls == [acl(name="tenantA.", pattern="PREFIXED")]
    assert authorizer.authorize("User:alice", "h", "READ", "TOPIC", "tenantA.x")
    assert not authorizer.authorize("User:alice", "h", "READ", "TOPIC", "orders")
