"""The engine end to end: produce, replicate, consume, fail over; and bad input."""

import pytest

from kafkadojo.reference import Cluster, errors
from kafkadojo.reference.monitoring import (describe_partition, format_partition, isr_events,
                                             offline_partitions, under_replicated_partitions)


def make(brokers=3, seed=3, **topic):
    cluster = Cluster(brokers=brokers, seed=seed)
    cluster.create_topic("t", partitions=topic.pop("partitions", 1),
                         replication_factor=topic.pop("rf", brokers),
                         config=topic.pop("config", {"min.insync.replicas": 2}))
    return cluster


def read_all(cluster, topic="t", partitions=1):
    consumer = cluster.consumer(auto_offset_reset="earliest")
    consumer.assign([(topic, p) for p in range(partitions)])
    records = []
    for _ in range(20):
        batch = consumer.poll(300)
        records += batch
        if not batch and records:
            break
    return records


def test_acks_all_record_is_on_every_isr_replica_when_acknowledged():
    cluster = make()
    producer = cluster.producer(acks="all", linger_ms=0)
    offset = producer.send("t", b"v", partition=0).get()
    assert offset == 0
    for broker in range(3):
        assert cluster.log(broker, "t", 0).values() == [b"v"]
    assert cluster.log(cluster.leader("t", 0), "t", 0).high_watermark == 1


def test_consumers_read_only_committed_records_in_order():
    cluster = make(partitions=2)
    producer = cluster.producer(acks="all")
    futures = [producer.send("t", b"%d" % i, key=b"k%d" % (i % 5)) for i in range(50)]
    producer.flush()
    assert all(f.succeeded for f in futures)
    records = read_all(cluster, partitions=2)
    assert sorted(r.value for r in records) == sorted(b"%d" % i for i in range(50))
    for p in range(2):
        offsets = [r.offset for r in records if r.partition == p]
        assert offsets == list(range(len(offsets)))


def test_keyed_records_keep_their_order_on_one_partition():
    cluster = make(partitions=4)
    producer = cluster.producer(acks="all")
    futures = [producer.send("t", b"%d" % i, key=b"user-1") for i in range(20)]
    producer.flush()
    assert len({f.partition for f in futures}) == 1
    assert [f.offset for f in futures] == list(range(20))


def test_follower_learns_the_high_watermark_one_fetch_later():
    cluster = make()
    producer = cluster.producer(acks="all", linger_ms=0)
    producer.send("t", b"v", partition=0).get()
    leader = cluster.leader("t", 0)
    follower = next(b for b in range(3) if b != leader)
    assert cluster.log(leader, "t", 0).high_watermark == 1
    assert cluster.log(follower, "t", 0).high_watermark == 0
    cluster.run_for(1_000)      # the follower's next (long-poll) fetch returns the new HW
    assert cluster.log(follower, "t", 0).high_watermark == 1


def test_leader_crash_elects_an_isr_replica_and_keeps_acknowledged_records():
    cluster = make()
    producer = cluster.producer(acks="all", linger_ms=0)
    for i in range(10):
        producer.send("t", b"%d" % i, partition=0)
    producer.flush()
    old = cluster.leader("t", 0)
    cluster.crash(old)
    cluster.run_for(15_000)
    new = cluster.leader("t", 0)
    assert new not in (old, -1)
    assert cluster.registration("t", 0).leader_epoch == 1
    assert old not in cluster.isr("t", 0)
    assert producer.send("t", b"after", partition=0).get() == 10
    assert [r.value for r in read_all(cluster)] == [b"%d" % i for i in range(10)] + [b"after"]
    assert any("fenced" in text for _, text in cluster.events)


def test_a_producer_with_stale_metadata_follows_the_new_leader():
    cluster = make()
    producer = cluster.producer(acks="all", linger_ms=0)
    producer.send("t", b"a", partition=0).get()
    old_leader = cluster.leader("t", 0)
    cluster.crash(old_leader)
    # The producer still names the dead leader. It refuses the connection, so the batch waits
    # in the accumulator (no attempt spent) until a metadata refresh names the new leader.
    future = producer.send("t", b"b", partition=0)
    assert future.get() == 1
    assert future.batch.attempts == 1
    assert future.batch.sent_to[0].node_id == cluster.leader("t", 0) != old_leader


def test_isr_shrinks_when_a_follower_lags_and_expands_when_it_catches_up():
    cluster = make()
    leader = cluster.leader("t", 0)
    follower = next(b for b in range(3) if b != leader)
    cluster.partition_network([leader], [follower])       # the follower cannot fetch
    producer = cluster.producer(acks="1", linger_ms=0)
    producer.send("t", b"x", partition=0).get()
    cluster.run_for(45_000)
    assert follower not in cluster.isr("t", 0)
    assert ("t", 0) in under_replicated_partitions(cluster)
    cluster.heal()
    cluster.run_for(35_000)
    assert sorted(cluster.isr("t", 0)) == [0, 1, 2]
    kinds = [text for _, text in isr_events(cluster)]
    assert any("shrank" in k for k in kinds) and any("expanded" in k for k in kinds)
    assert under_replicated_partitions(cluster) == []


def test_acks_all_is_refused_when_the_isr_is_below_min_insync_replicas():
    cluster = make()
    leader = cluster.leader("t", 0)
    for broker in range(3):
        if broker != leader:
            cluster.crash(broker)
    cluster.run_for(15_000)
    assert cluster.isr("t", 0) == [leader]
    producer = cluster.producer(acks="all", linger_ms=0, retries=0)
    with pytest.raises(errors.NotEnoughReplicasError) as raised:
        producer.send("t", b"x", partition=0).get()
    assert raised.value.name == "NOT_ENOUGH_REPLICAS"
    # nothing was appended
    assert cluster.log(leader, "t", 0).log_end_offset == 0
    # acks=1 still works, and the record stays uncommitted (HW frozen below min ISR)
    assert cluster.producer(acks="1", linger_ms=0).send("t", b"y", partition=0).get() == 0
    assert cluster.log(leader, "t", 0).high_watermark == 0


def test_not_enough_replicas_after_append_when_the_isr_shrinks_while_waiting():
    cluster = Cluster(brokers=3, seed=5, config={"replica.lag.time.max.ms": 2_000})
    cluster.create_topic("t", replication_factor=3, config={"min.insync.replicas": 3})
    leader = cluster.leader("t", 0)
    follower = next(b for b in range(3) if b != leader)
    cluster.partition_network([leader], [follower])
    producer = cluster.producer(acks="all", linger_ms=0, retries=0, request_timeout_ms=5_000)
    future = producer.send("t", b"x", partition=0)
    cluster.run_until(lambda: future.done, timeout_ms=20_000)
    # HW cannot move (ISR would be below min.insync.replicas), so the request times out
    # or is answered NOT_ENOUGH_REPLICAS_AFTER_APPEND; either way: not acknowledged.
    assert future.error is not None
    assert future.error.name in ("REQUEST_TIMED_OUT", "NOT_ENOUGH_REPLICAS_AFTER_APPEND")
    assert cluster.log(leader, "t", 0).log_end_offset == 1


def test_unclean_election_is_recorded_and_offline_otherwise():
    cluster = make(config={"min.insync.replicas": 1})
    leader = cluster.leader("t", 0)
    others = [b for b in range(3) if b != leader]
    for b in others:
        cluster.crash(b)
    cluster.run_for(15_000)
    cluster.crash(leader)
    for b in others:
        cluster.restart(b)
    cluster.run_for(15_000)
    assert cluster.leader("t", 0) == -1
    assert offline_partitions(cluster) == [("t", 0)]


def test_the_same_seed_replays_the_same_run():
    def run(seed):
        cluster = make(seed=seed, partitions=3)
        producer = cluster.producer(acks="all")
        futures = [producer.send("t", b"%d" % i) for i in range(200)]
        cluster.crash(1)
        producer.flush()
        cluster.run_for(20_000)
        return ([(f.partition, f.offset, f.error and f.error.name) for f in futures],
                cluster.events, cluster.sim.events_run)
    assert run(11) == run(11)
    assert run(11) != run(12)


def test_monitoring_views_describe_each_replica():
    cluster = make()
    cluster.producer(acks="all", linger_ms=0).send("t", b"v", partition=0).get()
    rows = describe_partition(cluster, "t", 0)
    assert {r.role for r in rows} == {"leader", "follower"}
    assert all(r.in_isr and r.log_end_offset == 1 for r in rows)
    table = format_partition(cluster, "t", 0)
    assert "leader" in table and "LEO" in table


# -- bad input: a clear Kafka-named error, and the simulation still works afterwards ----------

def test_bad_input_raises_kafka_named_errors_and_corrupts_nothing():
    cluster = make(partitions=2)
    producer = cluster.producer(acks="all", linger_ms=0)
    producer.send("t", b"warm-up", partition=0).get()
    with pytest.raises(errors.UnknownTopicOrPartitionError):
        producer.send("no-such-topic", b"x").get()
    with pytest.raises(errors.UnknownTopicOrPartitionError) as raised:
        producer.send("t", b"x", partition=7)
    assert "0 to 1" in str(raised.value)
    with pytest.raises(errors.UnknownTopicOrPartitionError):
        producer.send("t", b"x", partition=-1)
    with pytest.raises(errors.InvalidRequiredAcksError):
        cluster.producer(acks=2)
    with pytest.raises(errors.InvalidConfigurationError) as raised:
        cluster.producer(lingr_ms=5)
    assert "linger.ms" in str(raised.value)
    with pytest.raises(errors.KafkaError):
        producer.send("t", 12345)
    consumer = cluster.consumer()
    consumer.assign([("t", 0)])
    with pytest.raises(errors.OffsetOutOfRangeError):
        consumer.seek("t", 0, -5)
    with pytest.raises(errors.InvalidTopicError):
        cluster.create_topic("bad topic!")
    with pytest.raises(errors.TopicExistsError):
        cluster.create_topic("t")
    with pytest.raises(errors.InvalidPartitionsError):
        cluster.create_topic("u", partitions=0)
    with pytest.raises(errors.InvalidReplicationFactorError):
        cluster.create_topic("u", replication_factor=4)
    with pytest.raises(errors.InvalidConfigurationError):
        cluster.create_topic("u", config={"min.insync.replica": 2})
    with pytest.raises(errors.BrokerNotAvailableError):
        cluster.crash(9)
    with pytest.raises(errors.InvalidConfigurationError):
        Cluster(truncation="sometimes")
    # ... and the cluster carries on as if nothing happened
    assert producer.send("t", b"still fine", partition=0).get() == 1
    assert [r.value for r in read_all(cluster, partitions=1)] == [b"warm-up", b"still fine"]


def test_reading_from_an_offset_beyond_the_log_end_resets_or_raises():
    cluster = make()
    cluster.producer(acks="all", linger_ms=0).send("t", b"v", partition=0).get()
    strict = cluster.consumer(auto_offset_reset="none")
    strict.assign([("t", 0)])
    strict.seek("t", 0, 50)
    with pytest.raises(errors.OffsetOutOfRangeError):
        strict.poll(1_000)
    forgiving = cluster.consumer(auto_offset_reset="earliest")
    forgiving.assign([("t", 0)])
    forgiving.seek("t", 0, 50)
    assert [r.value for r in forgiving.poll(2_000)] == [b"v"]


def test_consumer_of_an_unknown_topic_gets_a_clear_error():
    cluster = make()
    consumer = cluster.consumer()
    consumer.assign([("nope", 0)])
    with pytest.raises(errors.UnknownTopicOrPartitionError):
        consumer.poll(1_000)


def test_blocking_calls_inside_callbacks_are_refused_clearly():
    cluster = make()
    producer = cluster.producer(acks="all", linger_ms=0)
    seen = []
    def callback(future):
        try:
            producer.flush()
        except RuntimeError as error:
            seen.append(str(error))
    producer.send("t", b"v", partition=0).add_callback(callback)
    producer.flush()
    assert seen and "already running" in seen[0]


def test_acks_0_is_fire_and_forget():
    cluster = make()
    producer = cluster.producer(acks=0, linger_ms=0)
    future = producer.send("t", b"v", partition=0)
    cluster.run_for(5)
    assert future.succeeded and future.offset == -1      # no offset is ever learned
    cluster.run_for(1_000)
    assert cluster.log(cluster.leader("t", 0), "t", 0).values() == [b"v"]


def test_linger_ms_gathers_records_into_one_batch_and_batch_size_splits_them():
    cluster = make()
    lingering = cluster.producer(acks="1", linger_ms=50)
    lingering.send("t", b"warm-up", partition=0).get()      # metadata first
    futures = [lingering.send("t", b"x" * 10, partition=0) for _ in range(30)]
    cluster.run_for(20)
    assert not any(f.done for f in futures)          # still lingering
    lingering.flush()
    assert len({id(f.batch) for f in futures}) == 1
    small = cluster.producer(acks="1", linger_ms=50, batch_size=200)
    small.send("t", b"warm-up", partition=0).get()
    futures = [small.send("t", b"x" * 10, partition=0) for _ in range(30)]
    small.flush()
    batches = {id(f.batch): f.batch for f in futures}
    assert len(batches) > 1 and all(b.size_bytes <= 200 for b in batches.values())
    leader_log = cluster.log(cluster.leader("t", 0), "t", 0)
    assert len(list(leader_log.batches)) == 3 + len(batches)     # + the two warm-ups


def test_a_lossy_network_still_delivers_every_acknowledged_record():
    cluster = Cluster(brokers=3, seed=9, drop_rate=0.05,
                      config={"replica.socket.timeout.ms": 2_000})
    cluster.create_topic("t", replication_factor=3, config={"min.insync.replicas": 2})
    producer = cluster.producer(acks="all", request_timeout_ms=1_000)
    futures = []
    for i in range(100):
        futures.append(producer.send("t", b"%d" % i, partition=0))
        cluster.run_for(20)
    producer.flush()
    assert cluster.network.messages_lost > 0
    acknowledged = [f.batch.values[f.index] for f in futures if f.succeeded]
    assert len(acknowledged) > 50
    cluster.run_for(5_000)
    log = cluster.log(cluster.leader("t", 0), "t", 0)
    committed = set(log.values(0, log.high_watermark))
    assert set(acknowledged) <= committed


def test_step_by_step_for_pictures():
    cluster = make()
    producer = cluster.producer(acks="all", linger_ms=0)
    future = producer.send("t", b"v", partition=0)
    leos = []
    while not future.done:
        cluster.step()
        leos.append(tuple(cluster.log(b, "t", 0).log_end_offset for b in range(3)))
    assert leos[0] != leos[-1] and leos[-1] == (1, 1, 1)


def test_retention_deletes_old_segments_on_every_replica_and_consumers_start_after_it():
    cluster = make(config={"min.insync.replicas": 2, "segment.bytes": 400,
                           "retention.ms": 250_000})
    producer = cluster.producer(acks="all", linger_ms=0)
    for i in range(40):
        producer.send("t", b"old-%02d" % i, partition=0).get()
    cluster.run_for(120_000)
    for i in range(10):
        producer.send("t", b"new-%02d" % i, partition=0).get()
    cluster.run_for(200_000)      # past the first log.retention.check.interval.ms (300 s)
    starts = set()
    for broker in range(3):
        log = cluster.log(broker, "t", 0)
        assert 0 < log.log_start_offset <= log.high_watermark
        assert log.log_start_offset == log.segments[0].base_offset
        starts.add(log.log_start_offset)
    values = [r.value for r in read_all(cluster)]
    assert values[-10:] == [b"new-%02d" % i for i in range(10)]
    assert len(values) == 50 - min(starts)
    assert all(v.startswith(b"new") for v in values[40 - min(starts):])


def test_a_follower_behind_the_leaders_log_start_starts_over_from_it():
    cluster = make(config={"min.insync.replicas": 1, "segment.bytes": 300,
                           "retention.ms": 10_000})
    leader = cluster.leader("t", 0)
    follower = next(b for b in range(3) if b != leader)
    cluster.crash(follower)
    producer = cluster.producer(acks="all", linger_ms=0)
    for i in range(30):
        producer.send("t", b"%02d" % i, partition=0).get()
    cluster.run_for(400_000)                      # retention runs while the follower is away
    leader_log = cluster.log(leader, "t", 0)
    assert leader_log.log_start_offset > 0
    cluster.restart(follower)
    cluster.run_for(60_000)
    log = cluster.log(follower, "t", 0)
    assert log.log_start_offset >= leader_log.log_start_offset
    assert log.log_end_offset == leader_log.log_end_offset
    assert log.values() == leader_log.values(log.log_start_offset)
    assert follower in cluster.isr("t", 0)


@pytest.mark.parametrize("config", [{"retention.ms": -2}, {"retention.bytes": "1GB"},
                                    {"segment.bytes": 0}])
def test_bad_retention_and_segment_configs_are_rejected(config):
    cluster = Cluster(brokers=1, seed=1)
    with pytest.raises(errors.InvalidConfigurationError):
        cluster.create_topic("t", config=config)


def test_a_second_new_topic_sent_to_before_metadata_comes_is_asked_for_at_once():
    """Records for a topic first sent while the metadata request for another topic was on
    its way are sent once their own metadata comes (asked for after retry.backoff.ms), not
    at the next periodic refresh (metadata.max.age.ms, five minutes)."""
    cluster = Cluster(3, seed=1)
    cluster.create_topic("first", 1, 3)
    cluster.create_topic("second", 1, 3)
    producer = cluster.producer(linger_ms=20)
    futures = [producer.send(topic, value=b"x") for topic in ("first", "second")
               for _ in range(20)]
    start = cluster.now
    assert producer.flush()
    assert all(f.succeeded for f in futures)
    assert cluster.now - start < 1_000
