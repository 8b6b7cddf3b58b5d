"""Client quotas, with cases ported from Kafka 3.9's tests (each names its test):
ClientQuotaManagerTest, QuotaUtilsTest, RateTest."""

from types import SimpleNamespace

import pytest

from kafkadojo.reference.quota_manager import (DEFAULT, ClientQuotaManager,
                                               ClientRequestQuotaManager, Rate, quota_limit,
                                               quota_metric_tags, throttle_time_ms)
from kafkadojo.reference.seams import REFERENCE


class _Broker(SimpleNamespace):
    """What a ClientQuotaManager reads of its broker: config, seams, the cluster's quotas."""

    def __init__(self, samples=11, quotas=None):
        super().__init__(config={"quota.window.num": samples, "quota.window.size.seconds": 1},
                         seams=REFERENCE, cluster=SimpleNamespace(client_quotas=quotas or {}))


def produce_quotas(entities):
    return {entity: {"producer_byte_rate": bound} for entity, bound in entities.items()}


# -- QuotaUtilsTest --------------------------------------------------------------------------
@pytest.mark.parametrize("observed, bound, samples, expected", [
    (16.5, 16.5, 10, 0), (16.5, 16.5, 11, 0),                   # testThrottleTimeObservedRateEqualsQuota
    (100, 50, 3, 2000),                                         # ...AboveQuota
])
def test_throttle_time(observed, bound, samples, expected):
    """QuotaUtilsTest: with no samples the window is (samples - 1) whole windows."""
    window = Rate(samples, 1000).window_size_ms(0)
    assert window == (samples - 1) * 1000
    assert throttle_time_ms(observed, bound, window) == expected


def test_throttle_time_rounds_as_java_and_never_goes_negative():
    assert throttle_time_ms(16.5, 20.4, 10_000) == 0            # below the quota: no wait
    assert throttle_time_ms(101, 100, 50) == 1                  # 0.5 rounds up (Math.round)
    assert throttle_time_ms(103, 100, 50) == 2                  # 1.5 too, not to even


# -- RateTest ------------------------------------------------------------------------------------
@pytest.mark.parametrize("samples, window_s", [(1, 1), (1, 11), (11, 1), (11, 11)])
def test_rate_with_no_prior_available_samples(samples, window_s):
    """RateTest.testRateWithNoPriorAvailableSamples."""
    rate = Rate(samples, window_s * 1000)
    rate.record(50, 0)
    now = window_s * 1000 - 1
    expected = 50 / ((window_s * 1000 - 1) / 1000 + (samples - 1) * window_s)
    assert rate.measure(now) == pytest.approx(expected)


def test_rate_is_consistent_after_the_first_window():
    """RateTest.testRateIsConsistentAfterTheFirstWindow (Kafka 3.9: an overlapping sample is
    kept, so the rate does not drop when the oldest window expires)."""
    rate, now = Rate(2, 1000), 0
    steps = [0, 99] + [100] * 9
    for step in steps:
        now += step
        rate.record(1, now)
    now += 101
    for step in steps:
        now += step
        rate.record(1, now)
        assert 10 <= rate.measure(now) <= 11
        assert rate.measure(now) == rate.measure(now)


# -- ClientQuotaManagerTest ----------------------------------------------------------------------
def test_quota_violation():
    """ClientQuotaManagerTest.testQuotaViolation: 400 B/s under a default client-id quota of
    500, then a burst: (4000 + 2300) / 10.5 s = 600 B/s, (600 - 500) / 500 * 10500 = 2100."""
    manager = ClientQuotaManager(_Broker(quotas=produce_quotas({(None, DEFAULT): 500})),
                                 "producer_byte_rate")
    now = 0
    for _ in range(10):
        assert manager.record("ANONYMOUS", "unknown", 400, now).throttle_time_ms == 0
        now += 1000
    now += 500
    assert manager.record("ANONYMOUS", "unknown", 2300, now).throttle_time_ms == 2100
    now += 2100
    for _ in range(10):
        manager.record("ANONYMOUS", "unknown", 400, now)
        now += 1000
    assert manager.record("ANONYMOUS", "unknown", 0, now).throttle_time_ms == 0


PRECEDENCE = {("<default>", None): 1000, (None, DEFAULT): 2000, (DEFAULT, DEFAULT): 3000,
              ("userA", None): 4000, ("userA", "client1"): 5000, ("userB", None): 6000,
              ("userB", "client1"): 7000, ("userB", DEFAULT): 8000, ("userC", None): 10000,
              (None, "client1"): 9000}


def test_quota_config_precedence():
    """ClientQuotaManagerTest.testQuotaConfigPrecedence, its first ten checks: the bound, and
    whether value * 11 recorded at one instant is throttled (checkQuota)."""
    manager = ClientQuotaManager(_Broker(quotas=produce_quotas(PRECEDENCE)), "producer_byte_rate")
    for user, client, bound, value, throttled in [
            ("userA", "client1", 5000, 4500, False), ("userA", "client2", 4000, 4500, True),
            ("userA", "client3", 4000, 0, True), ("userA", "client1", 5000, 0, False),
            ("userB", "client1", 7000, 8000, True), ("userB", "client2", 8000, 7000, False),
            ("userB", "client3", 8000, 7000, False), ("userD", "client1", 3000, 3500, True),
            ("userD", "client2", 3000, 2500, False), ("userE", "client1", 3000, 2500, False)]:
        tags = quota_metric_tags(PRECEDENCE, user, client)
        assert quota_limit(PRECEDENCE, *tags) == bound, (user, client)
        delay = manager.record(user, client, value * 11, 0).throttle_time_ms
        assert (delay > 0) == throttled, (user, client, delay)


def test_quota_precedence_after_removals():
    """testQuotaConfigPrecedence, continued: without (<default>, <default>), userD falls to
    the default user quota, shared by all of a user's clients; without that, the default
    client-id quota, shared across users."""
    quotas = dict(PRECEDENCE)
    del quotas[(DEFAULT, DEFAULT)]
    assert quota_limit(quotas, *quota_metric_tags(quotas, "userD", "client1")) == 1000
    assert quota_metric_tags(quotas, "userF", "client4") == ("userF", "")
    manager = ClientQuotaManager(_Broker(quotas=produce_quotas(quotas)), "producer_byte_rate")
    assert manager.record("userF", "client4", 800 * 11, 0).throttle_time_ms == 0
    assert manager.record("userF", "client5", 800 * 11, 0).throttle_time_ms == 7600   # shared
    del quotas[(DEFAULT, None)]
    assert quota_limit(quotas, *quota_metric_tags(quotas, "userF", "client5")) == 2000
    assert quota_metric_tags(quotas, "userF", "client5") == ("", "client5")
    manager = ClientQuotaManager(_Broker(quotas=produce_quotas(quotas)), "producer_byte_rate")
    assert manager.record("userF", "client5", 2500 * 11, 0).throttle_time_ms == 3750
    assert manager.record("userG", "client5", 0, 0).throttle_time_ms == 3750         # shared


def test_no_quota_anywhere_records_nothing():
    manager = ClientQuotaManager(_Broker(), "producer_byte_rate")
    assert manager.record("alice", "c", 10**9, 0).throttle_time_ms == 0
    assert manager.rates == {}


# -- ClientRequestQuotaManagerTest -------------------------------------------------------------
def test_request_percentage_quota_violation():
    """ClientRequestQuotaManagerTest.testRequestPercentageQuotaViolation: a quota of 1% of a
    thread (10 ms a second); 4 ms a second is within it; a spike of 67.1 ms makes
    (40 + 67.1) / 10.5 s = 10.2 ms a second: (10.2 - 10) / 10 * 10.5 s = 210 ms; a spike of
    500 ms is throttled for one window at most (boundedThrottleTime), until it rolls over."""
    quotas = {("ANONYMOUS", "test-client"): {"request_percentage": 1.0}}
    manager = ClientRequestQuotaManager(_Broker(quotas=quotas))
    percent = manager.percentage
    assert percent(4) == pytest.approx(0.4)         # millisToPercent(4)

    def record(value, now):
        return manager.record("ANONYMOUS", "test-client", value, now).throttle_time_ms
    now = 0
    for _ in range(10):
        assert record(percent(4), now) == 0
        now += 1000
    now += 500
    throttle = record(percent(67.1), now)
    assert throttle == 210
    now += throttle
    for _ in range(11):
        record(percent(4), now)
        now += 1000
    assert record(0, now) == 0                      # the bursty sample has rolled over
    assert record(percent(500), now) == 1000        # bounded by one window
    for _ in range(10):
        now += 1000
        assert record(0, now) == 1000
    now += 1000
    assert record(0, now) == 0
