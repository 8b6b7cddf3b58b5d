"""The log cleaner on one log: what compaction guarantees, pass after pass."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kafkadojo.reference import errors
from kafkadojo.reference.cleaner import (LogCleaningError, SegmentInfo, build_offset_map, clean_once,
                                         cleanup_policies, dirty_ratio, first_uncleanable_offset,
                                         should_clean, should_retain_record)
from kafkadojo.reference.cluster import Cluster
from kafkadojo.reference.invariants import check_cluster
from kafkadojo.reference.log import Log
from kafkadojo.reference.seams import REFERENCE

TOPIC_DEFAULTS = {"min.cleanable.dirty.ratio": 0.5, "min.compaction.lag.ms": 0,
                  "max.compaction.lag.ms": 2**63 - 1, "delete.retention.ms": 1_000}


def config_of(**overrides):
    config = {**TOPIC_DEFAULTS, **{k.replace("_", "."): v for k, v in overrides.items()}}
    return config.__getitem__


def table(log):
    """Replay the log from its start: each key's latest value; a tombstone deletes it."""
    state = {}
    for batch in log.batches:
        for record in batch.records(log.topic, log.partition):
            if record.value is None:
                state.pop(record.key, None)
            else:
                state[record.key] = record.value
    return state


def records(log):
    return [(r.offset, r.key, r.value) for b in log.batches for r in b.records("t", 0)]


writes = st.lists(st.tuples(st.integers(0, 5), st.booleans(), st.integers(1, 4)),
                  min_size=1, max_size=60)


def build_log(draw_writes, segment_bytes, hw_back):
    log = Log("t", 0, segment_bytes=segment_bytes, seams=REFERENCE)
    now = 0
    for i, (key, delete, size) in enumerate(draw_writes):
        keys = [b"k%d" % ((key + j) % 6) for j in range(size)]
        values = [None if delete and j == 0 else b"v%d" % i for j in range(size)]
        now += 10
        log.append_as_leader(keys, values, [now] * size, None, 0, now)
    log.high_watermark = max(0, log.log_end_offset - hw_back)
    return log, now


@settings(max_examples=150, deadline=None)
@given(writes, st.integers(150, 600), st.integers(0, 5),
       st.lists(st.tuples(st.integers(0, 3_000), st.integers(1, 12)), min_size=1, max_size=5))
def test_cleaning_keeps_every_keys_latest_value(draw_writes, segment_bytes, hw_back, passes):
    """Kafka's compaction guarantee: replaying the log gives the same table before and after
    any number of passes (a key whose tombstone is gone is absent either way); offsets only
    ever lose records, never move; nothing at or above the first uncleanable offset changes."""
    log, now = build_log(draw_writes, segment_bytes, hw_back)
    before_table, before = table(log), records(log)
    leo, start = log.log_end_offset, log.log_start_offset
    for wait, capacity in passes:
        now += wait
        unclean_from = first_uncleanable_offset(
            [SegmentInfo(s.base_offset, s.size_bytes, s.first_timestamp, s.largest_timestamp)
             for s in log.segments], log.cleaner_checkpoint or 0, log.high_watermark, now, 0)
        tail = [r for r in records(log) if r[0] >= unclean_from]
        try:
            clean_once(log, now, REFERENCE, config_of(min_cleanable_dirty_ratio=0.0), capacity)
        except LogCleaningError:
            pass        # the map could not take a single batch: nothing changes
        after = records(log)
        assert table(log) == before_table
        assert [r[0] for r in after] == sorted({r[0] for r in after})
        assert set(after) <= set(before)
        assert [r for r in after if r[0] >= unclean_from] == tail
        assert (log.log_end_offset, log.log_start_offset) == (leo, start)
        assert log.segments[-1].next_offset == leo


def test_a_tombstone_outlives_its_first_pass_and_goes_after_its_horizon():
    log = Log("t", 0, segment_bytes=200, seams=REFERENCE)
    log.append_as_leader([b"a"], [b"1"], [10], None, 0, 10)
    log.append_as_leader([b"a"], [None], [20], None, 0, 20)          # delete a
    log.roll(30)
    log.append_as_leader([b"b"], [b"x"], [30], None, 0, 30)
    log.high_watermark = log.log_end_offset
    config = config_of(min_cleanable_dirty_ratio=0.0, delete_retention_ms=1_000)
    clean_once(log, 5_000, REFERENCE, config, capacity=100)
    assert [(o, k, v) for o, k, v in records(log) if k == b"a"] == [(1, b"a", None)]
    horizon = next(b for b in log.batches if 1 in b.record_offsets()).delete_horizon
    assert horizon == 6_000                     # KIP-534: stamped at the first pass
    log.cleaner_checkpoint = 0                  # clean it all again, before the horizon
    clean_once(log, 5_999, REFERENCE, config, capacity=100)
    assert any(k == b"a" for _, k, _ in records(log))
    log.cleaner_checkpoint = 0
    clean_once(log, 6_000, REFERENCE, config, capacity=100)
    assert not any(k == b"a" for _, k, _ in records(log))
    assert table(log) == {b"b": b"x"}


def test_a_full_offset_map_cleans_part_of_the_log_and_the_next_pass_goes_on():
    log = Log("t", 0, segment_bytes=10_000, seams=REFERENCE)
    for i in range(10):
        log.append_as_leader([b"k%d" % i, b"k%d" % i], [b"old", b"new"], [1, 1], None, 0, 1)
    log.roll(1)
    log.append_as_leader([b"z"], [b"z"], [1], None, 0, 1)
    log.high_watermark = log.log_end_offset
    config = config_of(min_cleanable_dirty_ratio=0.0)
    clean_once(log, 100, REFERENCE, config, capacity=3)
    # k0, k1, k2 fill the map; k2's second record finds it full (an update counts too), so
    # the map reaches offset 4, the last record it took, and the pass cleans up to there
    assert log.cleaner_checkpoint == 5
    assert [o for o, _, _ in records(log)][:5] == [1, 3, 4, 5, 6]
    clean_once(log, 100, REFERENCE, config, capacity=3)
    assert log.cleaner_checkpoint == 9
    assert [o for o, _, _ in records(log)][:6] == [1, 3, 5, 7, 8, 9]
    clean_once(log, 100, REFERENCE, config, capacity=100)
    assert [o for o, _, v in records(log) if v == b"old"] == []


def test_rules_by_hand():
    segments = [SegmentInfo(0, 100, 5, 9), SegmentInfo(10, 300, 15, 19), SegmentInfo(20, 0, -1, -1)]
    assert dirty_ratio(segments, 10, 20) == 0.75
    assert dirty_ratio(segments, 10, 10) == 0.0
    assert not should_clean(segments, 10, 20, 100, 0.75, 2**63 - 1)     # strictly above
    assert should_clean(segments, 10, 20, 100, 0.74, 2**63 - 1)
    assert should_clean(segments, 10, 20, 100, 0.9, 84)                   # 15 < 100 - 84
    assert not should_clean(segments, 10, 20, 100, 0.9, 85)
    assert first_uncleanable_offset(segments, 0, 15, 100, 0) == 10       # rounded down
    assert first_uncleanable_offset(segments, 0, 99, 100, 0) == 20       # the active segment
    assert first_uncleanable_offset(segments, 0, 99, 100, 82) == 10      # 19 > 100 - 82
    assert first_uncleanable_offset(segments, 0, 99, 100, 81) == 20
    # the map reaches the end of the last segment read whole: end_offset - 1
    assert build_offset_map([(0, [(1, [(0, b"a"), (1, b"b")]), (3, [(2, b"a"), (3, None)])])],
                            1, 10, 9) == ({b"b": 1, b"a": 2}, 9)
    # full at b: it reaches a, the last record it took
    assert build_offset_map([(0, [(1, [(0, b"a"), (1, b"b")])])], 0, 5, 1) == ({b"a": 0}, 0)
    assert should_retain_record(9, None, True, -1, {}, 8, 0)             # past the map
    assert not should_retain_record(3, None, True, -1, {}, 8, 0)         # no key
    assert not should_retain_record(3, b"a", True, -1, {b"a": 4}, 8, 0)  # a later one exists
    assert should_retain_record(3, b"a", False, 50, {b"a": 3}, 8, 49)    # tombstone, horizon ahead
    assert not should_retain_record(3, b"a", False, 50, {b"a": 3}, 8, 50)


def test_cleanup_policy_and_cleaner_configs_are_checked():
    assert cleanup_policies("delete,compact") == {"compact", "delete"}
    assert cleanup_policies(["compact"]) == {"compact"}
    with pytest.raises(errors.InvalidConfigurationError, match="cleanup.policy"):
        cleanup_policies("compacted")
    cluster = Cluster(brokers=1, seed=0)
    for bad in ({"cleanup.policy": "none"}, {"min.cleanable.dirty.ratio": 1.5},
                {"min.compaction.lag.ms": -1}, {"delete.retention.ms": -5},
                {"min.compaction.lag.ms": 10, "max.compaction.lag.ms": 5}):
        with pytest.raises(errors.InvalidConfigurationError):
            cluster.create_topic("t", config=bad)
    with pytest.raises(errors.InvalidConfigurationError, match="min.cleanable"):
        Cluster(brokers=1, config={"log.cleaner.min.cleanable.ratio": -0.1})


def test_a_compacted_topic_refuses_a_record_without_a_key():
    cluster = Cluster(brokers=1, seed=0)
    cluster.create_topic("table", config={"cleanup.policy": "compact"})
    producer = cluster.producer(linger_ms=0)
    keyless = producer.send("table", value=b"v")
    producer.flush()
    with pytest.raises(errors.InvalidRecordError):
        keyless.get()
    # LogValidator refuses the whole batch a keyless record is in; the next one goes in
    assert producer.send("table", key=b"k", value=b"v").get() == 0


def test_replicas_clean_on_their_own_and_a_consumer_reads_the_latest_values():
    """Three replicas compact independently (one is down through a pass and catches up
    through the gaps afterwards); a consumer reading from the beginning then sees, for every
    key, its latest value, whichever replica leads."""
    cluster = Cluster(brokers=3, seed=3, config={"log.cleaner.backoff.ms": 1_000})
    cluster.create_topic("table", partitions=1, replication_factor=3, config={
        "cleanup.policy": "compact", "segment.bytes": 400, "delete.retention.ms": 2_000,
        "min.cleanable.dirty.ratio": 0.1})
    producer = cluster.producer(linger_ms=0, batch_size=100)
    expected = {}
    for i in range(300):
        key, value = b"k%d" % (i % 9), (None if i % 31 == 0 else b"v%d" % i)
        producer.send("table", key=key, value=value)
        if value is None:
            expected.pop(key, None)
        else:
            expected[key] = value
        if i == 120:
            producer.flush()
            cluster.crash(2)
        if i == 200:
            producer.flush()
            cluster.run_for(5_000)
            cluster.restart(2)
    producer.flush()
    cluster.run_for(20_000)
    assert sum(b.log_cleaner.stats.runs for b in cluster.brokers) >= 3
    assert all(b.logs[("table", 0)].cleaner_checkpoint for b in cluster.brokers)
    for round_ in range(3):
        consumer = cluster.consumer(auto_offset_reset="earliest", enable_auto_commit=False)
        consumer.assign([("table", 0)])
        leader = cluster.leader("table", 0)
        hw = cluster.log(leader, "table", 0).high_watermark
        seen = {}
        for _ in range(100):
            for record in consumer.poll(timeout_ms=1_000):
                if record.value is None:
                    seen.pop(record.key, None)
                else:
                    seen[record.key] = record.value
            if consumer.position("table", 0) == hw:
                break
        assert seen == expected, f"reading from leader {leader}"
        consumer.close()
        cluster.crash(leader)           # the next round reads from another replica
        cluster.run_for(15_000)
        cluster.restart(leader)
        cluster.run_for(15_000)
    assert check_cluster(cluster) == []


def test_cleaner_metrics_show_what_the_cleaners_did():
    from kafkadojo.reference.monitoring import cleaner_metrics
    cluster = Cluster(brokers=3, seed=5, config={"log.cleaner.backoff.ms": 1_000})
    for topic, ratio in (("lazy", 1.0), ("eager", 0.1)):     # 1.0: never above it
        cluster.create_topic(topic, partitions=1, replication_factor=3, config={
            "cleanup.policy": "compact", "segment.bytes": 300, "min.cleanable.dirty.ratio": ratio})
    producer = cluster.producer(linger_ms=0)
    for i in range(60):
        for topic in ("lazy", "eager"):
            producer.send(topic, key=b"k%d" % (i % 3), value=b"v%d" % i).get()
    cluster.run_for(3_000)
    metrics = cleaner_metrics(cluster)
    assert sorted(metrics) == [0, 1, 2]
    for broker in metrics.values():
        assert broker["runs"] >= 1 and broker["records_removed"] > 40     # "eager" only
        assert 0 < broker["recopy_percent"] < 60
        assert broker["dirty_ratios"][("eager", 0)] == 0.0
        assert broker["dirty_ratios"][("lazy", 0)] == 1.0                # never cleaned
        assert broker["max_dirty_percent"] == 100 * broker["dirty_ratios"][("lazy", 0)]
        assert broker["uncleanable_partitions"] == []


def test_an_idempotent_producers_last_batch_survives_cleaning_empty():
    """LogCleaner's checkBatchRetention (Kafka 3.9): the batch holding a producer's last
    sequence is kept as an empty header (RETAIN_EMPTY), so the producer state a replica
    rebuilds from its log still knows where the producer was."""
    log = Log("t", 0, segment_bytes=10_000, seams=REFERENCE)
    log.append_as_leader([b"a"], [b"1"], [1], None, 0, 1, producer=(7, 0, 0))
    log.append_as_leader([b"b"], [b"2"], [1], None, 0, 1, producer=(8, 0, 0))
    log.append_as_leader([b"a"], [b"3"], [1], None, 0, 1)           # supersedes a, no producer
    log.append_as_leader([b"b"], [b"4"], [1], None, 0, 1, producer=(8, 0, 1))
    log.roll(1)
    log.high_watermark = log.log_end_offset
    clean_once(log, 100, REFERENCE, config_of(min_cleanable_dirty_ratio=0.0), capacity=100)
    batches = {b.base_offset: b for b in log.batches}
    assert len(batches[0]) == 0 and batches[0].producer_id == 7      # kept, empty: 7's last
    assert 1 not in batches                                            # 8 wrote again later
    assert records(log) == [(2, b"a", b"3"), (3, b"b", b"4")]
    log.producer_state.producers.clear()
    log.truncate_to(4)          # nothing cut; the state is rebuilt from the log
    log.producer_state.truncate_to(4, log.batches)
    assert log.producer_state.get(7).batches[-1].last_sequence == 0
