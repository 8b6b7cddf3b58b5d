"""Client quotas in a running cluster: a producer and a consumer held to their byte rates
(KIP-219: answered at once with a throttle time, then waiting it out), a noisy neighbour
contained, and bad quota settings refused."""

import pytest

from kafkadojo.reference import errors
from kafkadojo.reference.cluster import Cluster

VALUE = b"x" * 1000


def cluster_with(quota_name=None, bound=None, entity=None):
    cluster = Cluster(brokers=1, seed=5)
    cluster.create_topic("t", replication_factor=1)
    if quota_name:
        cluster.alter_client_quotas(entity or {"client-id": "<default>"}, {quota_name: bound})
    return cluster


def produce(cluster, client_id, records, start=None):
    producer = cluster.producer(client_id, linger_ms=0, enable_idempotence=False)
    start = cluster.now if start is None else start
    futures = [producer.send("t", VALUE, partition=0) for _ in range(records)]
    producer.flush()
    assert all(f.succeeded for f in futures)
    return producer, (cluster.now - start) / 1000


def test_a_producer_is_held_to_its_byte_rate():
    _, unlimited = produce(cluster_with(), "app", 200)
    cluster = cluster_with("producer_byte_rate", 10_000)
    producer, limited = produce(cluster, "app", 200)
    assert unlimited < 2
    # 200 KB at 10 KB/s: the first ten seconds' worth goes at once (the rate is measured over
    # ten windows), the rest at the quota
    assert 9 <= limited <= 25
    assert producer.throttled_until                     # the broker told it to wait


def test_a_noisy_neighbour_is_contained():
    """A default client-id quota gives each client a rate of its own: one flooding client is
    throttled, the other is not slowed."""
    cluster = cluster_with("producer_byte_rate", 10_000)
    noisy = cluster.producer("noisy", linger_ms=0, enable_idempotence=False)
    for _ in range(300):
        noisy.send("t", VALUE, partition=0)
    cluster.run_for(3_000)
    quiet = cluster.producer("quiet", linger_ms=0, enable_idempotence=False)
    start = cluster.now
    quiet.send("t", b"small", partition=0).get()
    assert cluster.now - start < 100                    # milliseconds, not seconds
    assert noisy.throttled_until and not quiet.throttled_until


def test_a_user_quota_is_shared_by_the_users_clients():
    cluster = cluster_with("producer_byte_rate", 10_000, entity={"user": "ANONYMOUS"})
    first = cluster.producer("first", linger_ms=0, enable_idempotence=False)
    for _ in range(150):
        first.send("t", VALUE, partition=0)
    cluster.run_for(3_000)
    second = cluster.producer("second", linger_ms=0, enable_idempotence=False)
    second.send("t", b"small", partition=0).get(timeout_ms=60_000)
    # answered at once (KIP-219), but told to wait: it shares the user's exhausted rate
    assert second.throttled_until


def test_a_consumer_is_held_to_its_byte_rate_and_throttled_fetches_are_empty():
    cluster = cluster_with()
    produce(cluster, "writer", 300)
    cluster.alter_client_quotas({"client-id": "reader"}, {"consumer_byte_rate": 10_000})
    consumer = cluster.consumer("reader", auto_offset_reset="earliest",
                                max_partition_fetch_bytes=20_000)
    consumer.assign([("t", 0)])
    start, read = cluster.now, 0
    while read < 300:
        read += len(consumer.poll(1_000))
    # 300 KB at 10 KB/s: the first ten seconds' worth at once, the rest at the quota
    assert 15 <= (cluster.now - start) / 1000 <= 30
    assert consumer.throttled_until


def test_bad_quota_settings_are_refused():
    cluster = cluster_with()
    with pytest.raises(errors.InvalidRequestError, match="positive"):
        cluster.alter_client_quotas({"user": "alice"}, {"producer_byte_rate": -5})
    with pytest.raises(errors.InvalidRequestError, match="percent of a request handler"):
        cluster.alter_client_quotas({"user": "alice"}, {"request_percentage": 0})
    with pytest.raises(errors.InvalidRequestError, match="unknown quota"):
        cluster.alter_client_quotas({"user": "alice"}, {"producer_rate": 5})
    with pytest.raises(errors.InvalidRequestError, match="user and/or a client-id"):
        cluster.alter_client_quotas({"group": "g"}, {"producer_byte_rate": 5})
    cluster.alter_client_quotas({"user": "alice"}, {"producer_byte_rate": 5})
    cluster.alter_client_quotas({"user": "alice"}, {"producer_byte_rate": None})
    assert cluster.client_quotas == {}


def test_under_load_every_group_gets_its_quota_and_wrong_rules_show():
    import math

    from kafkadojo.reference.seams import REFERENCE
    from kafkadojo.reference.workload import run_quotas
    for seed in range(6):
        outcome = run_quotas(seed)
        assert outcome.valid, outcome.report()
    never = REFERENCE.with_rules(throttle_time_ms=lambda rate, bound, window_ms: 0)
    assert run_quotas(0, never).anomalies[0][0] == "quota-exceeded"
    harsh = REFERENCE.with_rules(throttle_time_ms=lambda rate, bound, window_ms: max(
        0, math.floor((rate - bound) * window_ms + 0.5)))
    assert run_quotas(0, harsh).anomalies[0][0] == "over-throttled"


def _chatty_seconds(cluster, requests=1000):
    producer = cluster.producer("chatty", linger_ms=0, enable_idempotence=False,
                                max_in_flight_requests_per_connection=1)
    start = cluster.now
    for _ in range(requests):
        producer.send("t", b"tiny", partition=0).get()
    return producer, (cluster.now - start) / 1000


def test_a_request_percentage_quota_holds_a_chatty_client_to_its_share_of_handler_time():
    """request_percentage (KIP-124): a client sending many small requests is held to its
    share of a request handler thread, however few bytes they carry; a throttle is at most
    one quota window (boundedThrottleTime)."""
    _, unlimited = _chatty_seconds(cluster_with())
    cluster = cluster_with("request_percentage", 0.2, entity={"client-id": "chatty"})
    producer, limited = _chatty_seconds(cluster)
    # 1000 requests of about 0.05 ms each: 50 ms of handler time. At 0.2% of a thread (2 ms a
    # second) that is 25 s, less the 20 ms the ten-window rate lets through at once
    assert unlimited < 5
    assert 12 <= limited <= 30, limited
    assert producer.throttled_until
    rates = cluster.brokers[0].request_quotas.rates
    assert list(rates) == [("", "chatty")]              # counted in the chatty client's rate
    assert not cluster.brokers[0].produce_quotas.rates  # no byte rate quota: nothing counted


def test_a_request_throttle_lasts_at_most_one_quota_window():
    cluster = cluster_with("request_percentage", 0.01, entity={"client-id": "chatty"})
    producer = cluster.producer("chatty", linger_ms=0, enable_idempotence=False)
    waits = []
    for _ in range(300):                                # about 30 ms of handler time
        producer.send("t", VALUE, partition=0)
    for _ in range(200):
        cluster.run_for(50)
        waits.append(max(producer.throttled_until.values(), default=0) - cluster.now)
    assert max(waits) > 500                             # throttled, and for long
    assert max(waits) <= 1000                           # quota.window.size.seconds at most
