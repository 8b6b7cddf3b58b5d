"""Who may do what: ACLs and Kafka's StandardAuthorizer (KRaft, Kafka 3.9).

An ACL binds a *resource pattern* to an *access control entry*:

- the pattern: a resource type (TOPIC, GROUP, CLUSTER, TRANSACTIONAL_ID), a name, and how
  the name matches: LITERAL (exactly that name; the name ``*`` matches every one) or
  PREFIXED (every name that starts with it: the usual way to give a tenant ``tenantA.*``);
- the entry: a principal (``User:alice``, or ``User:*`` for everyone), a host (an IP
  address, or ``*``), an operation (READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, ...,
  or ALL) and a permission, ALLOW or DENY.

A request is allowed when (``authorize``):

1. its principal is a super user (``super.users``): always;
2. otherwise, no DENY ACL matches it, and some ALLOW ACL does: DENY wins;
3. otherwise, if any ACL at all exists for the resource (for anyone, any operation), no;
4. otherwise ``allow.everyone.if.no.acl.found`` decides (false by default).

An ALLOW of READ, WRITE, DELETE or ALTER also allows DESCRIBE, and ALTER_CONFIGS allows
DESCRIBE_CONFIGS; ALL allows everything. Those implications hold for ALLOW only: a DENY
must name the operation (or ALL).

The rules here (``acl_matches``, ``authorize``) are exercises: the broker calls them through
its seams.
"""

from typing import NamedTuple

from . import errors

RESOURCE_TYPES = ("TOPIC", "GROUP", "CLUSTER", "TRANSACTIONAL_ID", "DELEGATION_TOKEN", "USER")
PATTERN_TYPES = ("LITERAL", "PREFIXED")
OPERATIONS = ("ALL", "READ", "WRITE", "CREATE", "DELETE", "ALTER", "DESCRIBE",
              "CLUSTER_ACTION", "DESCRIBE_CONFIGS", "ALTER_CONFIGS", "IDEMPOTENT_WRITE",
              "CREATE_TOKENS", "DESCRIBE_TOKENS")
PERMISSIONS = ("ALLOW", "DENY")
WILDCARD = "*"
WILDCARD_PRINCIPAL = "User:*"
CLUSTER_NAME = "kafka-cluster"     # the one CLUSTER resource's name
ALLOWED, DENIED = "ALLOWED", "DENIED"


class AclBinding(NamedTuple):
    """One ACL: a resource pattern and an access control entry."""
    resource_type: str
    name: str
    pattern_type: str
    principal: str
    host: str
    operation: str
    permission: str


def acl_matches(acl, resource_type, name, principal, host, operation):
    """What ``acl`` says about a request (``StandardAuthorizerData.findResult``): its
    permission (``"ALLOW"`` or ``"DENY"``) if it applies to the request, else None.
    ``acl`` is ``(resource_type, name, pattern_type, principal, host, operation,
    permission)``. It applies when

    - its resource type is the request's, and its pattern matches the request's (literal)
      resource name: LITERAL names it exactly or is ``*``; PREFIXED is a prefix of it;
    - its principal is the request's, or ``User:*``;
    - its host is the request's, or ``*``;
    - its operation is the request's, or ALL; for an ALLOW, also an operation that implies
      the request's: READ, WRITE, DELETE and ALTER imply DESCRIBE; ALTER_CONFIGS implies
      DESCRIBE_CONFIGS. A DENY implies nothing.
    """
    acl_type, acl_name, pattern, acl_principal, acl_host, acl_operation, permission = acl
    if acl_type != resource_type:
        return None
    if pattern == "LITERAL":
        if acl_name != name and acl_name != WILDCARD:
            return None
    elif pattern == "PREFIXED":
        if not name.startswith(acl_name):
            return None
    else:
        return None
    if acl_principal != principal and acl_principal != WILDCARD_PRINCIPAL:
        return None
    if acl_host != host and acl_host != WILDCARD:
        return None
    if acl_operation == "ALL" or acl_operation == operation:
        return permission
    if permission == "ALLOW":
        if operation == "DESCRIBE" and acl_operation in ("READ", "WRITE", "DELETE", "ALTER"):
            return permission
        if operation == "DESCRIBE_CONFIGS" and acl_operation == "ALTER_CONFIGS":
            return permission
    return None


def resource_has_acls(acls, resource_type, name):
    """Whether any ACL's pattern covers the resource, whoever and whatever it is for."""
    for acl_type, acl_name, pattern, *_ in acls:
        if acl_type != resource_type:
            continue
        if pattern == "LITERAL" and (acl_name == name or acl_name == WILDCARD):
            return True
        if pattern == "PREFIXED" and name.startswith(acl_name):
            return True
    return False


def authorize(acls, super_users, allow_everyone_if_no_acl_found, principal, host, operation,
              resource_type, name):
    """The StandardAuthorizer's decision (Kafka 3.9), ``"ALLOWED"`` or ``"DENIED"``, for
    ``principal`` at ``host`` doing ``operation`` on the resource ``(resource_type, name)``:

    1. a principal in ``super_users`` is allowed;
    2. else any ACL that matches the request (``acl_matches``) with DENY denies it;
    3. else any that matches with ALLOW allows it;
    4. else, if any ACL covers the resource at all (for any principal, host or
       operation), it is denied;
    5. else ``allow_everyone_if_no_acl_found`` decides.
    """
    if principal in super_users:
        return ALLOWED
    allowed = False
    for acl in acls:
        verdict = acl_matches(acl, resource_type, name, principal, host, operation)
        if verdict == "DENY":
            return DENIED
        if verdict == "ALLOW":
            allowed = True
    if allowed:
        return ALLOWED
    if resource_has_acls(acls, resource_type, name):
        return DENIED
    return ALLOWED if allow_everyone_if_no_acl_found else DENIED


# -- administering ACLs (CreateAcls, DescribeAcls, DeleteAcls) ---------------------------------
def authorize_by_resource_type(acls, super_users, allow_everyone_if_no_acl_found, principal,
                               host, operation, resource_type, authorize=authorize):
    """Whether ``principal`` may do ``operation`` on *some* resource of ``resource_type``
    (Kafka's ``Authorizer.authorizeByResourceType``, KIP-679: an idempotent producer needs
    WRITE on some topic). Super users (asked as ``authorize`` on a made-up name) may. Then
    only ACLs for this principal or everyone, this host or any, and this operation or ALL
    count, with no implied operations: a DENY of every name (LITERAL ``*``) refuses at once;
    an ALLOW of ``*`` allows; any other ALLOW allows unless a DENY shadows it: the same
    LITERAL name, or a DENY prefix that its name starts with."""
    if authorize(acls, super_users, allow_everyone_if_no_acl_found, principal, host,
                 operation, resource_type, "hardcode") == ALLOWED:
        return ALLOWED
    denied_names, denied_prefixes, allowed, allows_every_name = set(), set(), [], False
    for acl_type, name, pattern, acl_principal, acl_host, acl_operation, permission in acls:
        if (acl_type != resource_type or acl_host not in (host, WILDCARD)
                or acl_principal not in (principal, WILDCARD_PRINCIPAL)
                or acl_operation not in (operation, "ALL")):
            continue
        if permission == "DENY":
            if pattern == "LITERAL" and name == WILDCARD:
                return DENIED
            (denied_names if pattern == "LITERAL" else denied_prefixes).add(name)
        else:
            allows_every_name = allows_every_name or name == WILDCARD
            allowed.append((pattern, name))
    if allows_every_name:
        return ALLOWED
    for pattern, name in allowed:
        shadowed = (pattern == "LITERAL" and name in denied_names) or any(
            name[:end] in denied_prefixes for end in range(1, len(name) + 1))
        if not shadowed:
            return ALLOWED
    return DENIED


def validate_acl(acl):
    """The checks a new ACL passes, in Kafka's order (the broker's ``AclApis``, then the
    controller's ``AclControlManager.validateNewAcl``): the ACL, or InvalidRequestError with
    Kafka's words. One more than Kafka: a principal must read ``Type:name`` (Kafka stores
    one without a colon and fails each authorization that meets it later)."""
    if not isinstance(acl, AclBinding):
        raise errors.InvalidRequestError(f"not an ACL binding: {acl!r}")
    if acl.resource_type == "CLUSTER" and acl.name != CLUSTER_NAME:
        raise errors.InvalidRequestError(
            f"The only valid name for the CLUSTER resource is {CLUSTER_NAME}")
    if acl.name == "":
        raise errors.InvalidRequestError("Invalid empty resource name")
    if acl.resource_type not in RESOURCE_TYPES:
        raise errors.InvalidRequestError(f"Invalid resourceType {acl.resource_type}")
    if acl.pattern_type not in PATTERN_TYPES:
        raise errors.InvalidRequestError(f"Invalid patternType {acl.pattern_type}")
    if acl.operation not in OPERATIONS:
        raise errors.InvalidRequestError(f"Invalid operation {acl.operation}")
    if acl.permission not in PERMISSIONS:
        raise errors.InvalidRequestError(f"Invalid permissionType {acl.permission}")
    if not isinstance(acl.name, str):
        raise errors.InvalidRequestError("Resource name should not be empty")
    kind, _, who = acl.principal.partition(":") if isinstance(acl.principal, str) else ("", "", "")
    if not kind or not who:
        raise errors.InvalidRequestError(f"Could not parse principal from `{acl.principal}` "
                                         "(no colon is present separating the principal "
                                         "type from the principal name)")
    if not isinstance(acl.host, str) or not acl.host:
        raise errors.InvalidRequestError("Invalid empty host")
    return acl


class AclFilter(NamedTuple):
    """What DescribeAcls and DeleteAcls select (``AclBindingFilter``): None is ANY. A pattern
    type of ``"MATCH"`` selects the ACLs that would apply to the literal resource name."""
    resource_type: str | None = None
    name: str | None = None
    pattern_type: str | None = None
    principal: str | None = None
    host: str | None = None
    operation: str | None = None
    permission: str | None = None

    def selects(self, acl):
        for field in ("resource_type", "principal", "host", "operation", "permission"):
            wanted = getattr(self, field)
            if wanted is not None and getattr(acl, field) != wanted:
                return False
        if self.pattern_type == "MATCH":
            return self.name is None or resource_has_acls([acl], acl.resource_type, self.name)
        if self.pattern_type is not None and acl.pattern_type != self.pattern_type:
            return False
        return self.name is None or acl.name == self.name


class StandardAuthorizer:
    """The cluster's ACLs and the decision over them. Every broker asks the same one (in
    Kafka each broker holds a copy from the metadata log; the engine shares one)."""

    def __init__(self, seams, super_users=(), allow_everyone_if_no_acl_found=False):
        self.seams = seams
        self.acls = []
        self.super_users = frozenset(super_users)
        self.allow_everyone_if_no_acl_found = allow_everyone_if_no_acl_found
        self.decisions = []             # (principal, host, operation, resource, decision)

    def create_acls(self, acls):
        """CreateAcls: each binding on its own (``AclCreateResult``): ``[(binding, error or
        None)]``. A binding already there succeeds and changes nothing."""
        results = []
        for acl in acls:
            try:
                validate_acl(acl)
            except errors.InvalidRequestError as error:
                results.append((acl, error))
                continue
            if acl not in self.acls:
                self.acls.append(acl)
            results.append((acl, None))
        return results

    def describe_acls(self, acl_filter=AclFilter()):
        return [acl for acl in self.acls if acl_filter.selects(acl)]

    def delete_acls(self, acl_filter):
        """DeleteAcls: removes and returns what ``acl_filter`` selects."""
        deleted = self.describe_acls(acl_filter)
        self.acls = [acl for acl in self.acls if acl not in deleted]
        return deleted

    def authorize(self, principal, host, operation, resource_type, name):
        decision = self.seams.authorize(tuple(self.acls), self.super_users,
                                        self.allow_everyone_if_no_acl_found, principal, host,
                                        operation, resource_type, name)
        if decision not in (ALLOWED, DENIED):
            raise errors.InvalidRequestError(f"authorize answered {decision!r}, not "
                                             f"ALLOWED or DENIED")
        self.decisions.append((principal, host, operation, (resource_type, name), decision))
        return decision == ALLOWED

    def authorize_by_resource_type(self, principal, host, operation, resource_type):
        """May ``principal`` do ``operation`` on some resource of the type? (KIP-679)"""
        return authorize_by_resource_type(
            tuple(self.acls), self.super_users, self.allow_everyone_if_no_acl_found, principal,
            host, operation, resource_type, authorize=self.seams.authorize) == ALLOWED
