"""Tenants on one cluster, replayed by name: the tenant boundary with and without the
prefix's separator, and KAFKA-14265's prefix ACL search."""

from kafkadojo.reference.authorizer import authorize
from kafkadojo.reference.tenancy import SCENARIOS, kafka_3_3_0_authorize, run_scenario


def test_without_the_fix_one_attempt_goes_wrong_and_with_it_none():
    for name in SCENARIOS:
        broken, fixed = run_scenario(name, fixed=False), run_scenario(name, fixed=True)
        assert len(broken.wrong) == 1 and "NOT AS INTENDED" in broken.report(), broken.report()
        assert fixed.wrong == [] and "every attempt went as intended" in fixed.report()


def test_a_tenant_prefix_without_its_dot_crosses_into_another_tenant():
    broken = run_scenario("tenant-boundary", fixed=False)
    assert broken.wrong[0][:4] == ("tenantA-app", "read", "tenantAB.secrets", "ok")


def test_kafka_3_3_0s_search_misses_the_shorter_prefix():
    """StandardAuthorizerTest.testPrefixAcls, under the bug and under the fix."""
    acls = (("TOPIC", "fooa", "PREFIXED", "User:alice", "*", "ALL", "ALLOW"),
            ("TOPIC", "foobar", "LITERAL", "User:bob", "*", "ALL", "ALLOW"),
            ("TOPIC", "f", "PREFIXED", "User:bob", "*", "ALL", "ALLOW"))
    args = (acls, frozenset(), False, "User:bob", "h", "WRITE", "TOPIC", "foobarr")
    assert kafka_3_3_0_authorize(*args) == "DENIED"
    assert authorize(*args) == "ALLOWED"
