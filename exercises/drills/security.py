"""Drills: whether the authorizer allows a request, and what a request needs."""

from kafkadojo.reference.auth_helper import required_acls
from kafkadojo.reference.authorizer import ALLOWED, acl_matches, authorize

from . import drill_kind
from ._cards import flashcards
from .picture import Picture

PATTERNS = (("orders", "LITERAL"), ("ord", "PREFIXED"), ("*", "LITERAL"), ("pay", "PREFIXED"))


@drill_kind("security.authorize", "word", summary="the StandardAuthorizer's decision")
def decision(rng, level):
    acls = []
    for _ in range(level + 1):
        name, pattern = rng.choice(PATTERNS)
        acls.append(("TOPIC", name, pattern, rng.choice(("User:alice", "User:*")), "*",
                     rng.choice(("READ", "WRITE", "ALL")), rng.choice(("ALLOW", "ALLOW",
                                                                       "DENY"))))
    operation = rng.choice(("READ", "WRITE", "DESCRIBE"))
    topic = rng.choice(("orders", "payments", "ordinals"))
    answer = authorize(tuple(acls), frozenset(), False, "User:alice", "10.0.0.1", operation,
                       "TOPIC", topic)
    listed = "\n".join(f"  {permission} {principal} {op} on TOPIC {pattern} {name!r}"
                       for _, name, pattern, principal, _, op, permission in acls)
    return ((tuple(acls), operation, topic),
            f"ACLs:\n{listed}\nMay User:alice {operation} topic {topic!r}? (allowed/denied)",
            "ALLOWED" if answer == ALLOWED else "DENIED",
            "A matching DENY wins; then a matching ALLOW allows (READ and WRITE imply "
            "DESCRIBE, for ALLOW only); with no match, denied.",
            Picture(rows=tuple(_acl_row(acl, operation, topic) for acl in acls),
                    caption=f"User:alice {operation} {topic!r}: each ACL on its own",
                    legend=(("lost", "a matching DENY"), ("committed", "a matching ALLOW"))))


def _acl_row(acl, operation, topic):
    """One ACL's say on the request (the authorizer's own acl_matches): a DENY, an ALLOW,
    or nothing."""
    _, name, pattern, principal, _, op, permission = acl
    says = acl_matches(acl, "TOPIC", topic, "User:alice", "10.0.0.1", operation)
    tone = "plain" if says is None else "lost" if says == "DENY" else "committed"
    return (f"{permission} {principal} {op} {pattern} {name!r}",
            (("matches" if says else "no match", tone),))


@drill_kind("security.request-acls", "word",
            summary="the first ACL a request is checked against")
def first_check(rng, level):
    api = rng.choice(("Produce", "Fetch", "OffsetCommit", "OffsetFetch", "JoinGroup",
                      "AddOffsetsToTxn", "TxnOffsetCommit", "CreateAcls"))
    group = "billing" if api in ("OffsetCommit", "OffsetFetch", "JoinGroup",
                                 "AddOffsetsToTxn", "TxnOffsetCommit") else None
    transactional_id = "tx" if api in ("AddOffsetsToTxn", "TxnOffsetCommit") or (
        api == "Produce" and level > 1) else None
    checks = required_acls(api, ["orders"], group, transactional_id)
    operation, resource_type, _ = checks[0]
    carried = ", ".join(x for x in (f"group {group!r}" if group else "",
                                    f"transactional.id {transactional_id!r}"
                                    if transactional_id else "") if x)
    return ((api, group, transactional_id),
            f"A {api} request on topic 'orders'" + (f" with {carried}" if carried else "")
            + ": what is the first ACL check, as OPERATION RESOURCE_TYPE? (e.g. READ TOPIC)",
            f"{operation}_{resource_type}",
            f"KafkaApis checks, in order: {', '.join(f'{o} {t}' for o, t, _ in checks)}.",
            Picture(rows=(("checks, in order", tuple(
                (f"{o} {t} {n!r}", "chosen" if i == 0 else "plain")
                for i, (o, t, n) in enumerate(checks))),),
                    legend=(("chosen", "the first"),)))


flashcards("security", (
    ("Why does Kafka answer TOPIC_AUTHORIZATION_FAILED for a topic that does not exist?",
     "It checks DESCRIBE before it looks the topic up, so that a principal cannot learn "
     "which topics exist by asking for names it may not see."),
    ("Why does a tenant prefix need its separator ('tenantA.', not 'tenantA')?",
     "A PREFIXED ACL matches every name that starts with it: 'tenantA' also covers "
     "'tenantAB.secrets', another tenant's topic."),
))
