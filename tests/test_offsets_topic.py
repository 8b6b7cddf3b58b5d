"""`__consumer_offsets` as Kafka keeps it: compacted, offsets that expire, groups deleted."""

import pytest

from kafkadojo.reference import errors
from kafkadojo.reference.cluster import Cluster
from kafkadojo.reference.coordinator import (OFFSETS_TOPIC, GroupMetadata, STABLE,
                                             coordinator_partition, decode_offset_commit,
                                             expired_offsets)
from kafkadojo.reference.coordinator import EMPTY

MINUTE = 60_000


def cluster_for_offsets(**config):
    cluster = Cluster(3, seed=2, config={"offsets.topic.num.partitions": 3,
                                         "offsets.retention.minutes": 1,
                                         "offsets.retention.check.interval.ms": 5_000, **config})
    for topic in ("orders", "audit"):
        cluster.create_topic(topic, 2, 3)
    return cluster


def offsets_log(cluster, group_id):
    index = coordinator_partition(group_id, 3)
    broker = cluster.group_coordinator(group_id)
    return cluster.log(broker.node_id, OFFSETS_TOPIC, index)


def stored_offsets(log):
    """What a coordinator loading ``log`` ends with (the log replayed, tombstones deleting)."""
    stored = {}
    for batch in log.batches:
        for record in batch.records(OFFSETS_TOPIC, log.partition):
            _, topic, partition, offset = decode_offset_commit(record.key, record.value)
            if offset is None:
                stored.pop((topic, partition), None)
            else:
                stored[(topic, partition)] = offset
    return stored


def member(cluster, name, topics, group_id="g"):
    consumer = cluster.consumer(name, group_id=group_id, auto_offset_reset="earliest",
                                enable_auto_commit=False)
    consumer.subscribe(topics)
    for _ in range(60):
        consumer.poll(100)
    return consumer


def test_expired_offsets_follow_kafkas_rule_for_each_kind_of_group():
    """GroupMetadata.removeExpiredOffsets (Kafka 2.1+, KIP-211)."""
    group = GroupMetadata("g")
    group.offsets = {("a", 0): 5, ("b", 0): 7}
    group.commit_timestamps = {("a", 0): 1_000, ("b", 0): 50_000}
    # a consumer that only commits: each offset by its own commit time
    assert expired_offsets(group, 61_000, 60_000) == [("a", 0)]
    assert expired_offsets(group, 60_999, 60_000) == []
    # an empty consumer group: all at once, from when it became empty
    group.protocol_type, group.state, group.state_timestamp = "consumer", EMPTY, 30_000
    assert expired_offsets(group, 89_999, 60_000) == []
    assert expired_offsets(group, 90_000, 60_000) == [("a", 0), ("b", 0)]
    group.state_timestamp = None        # loaded from the log: the commit times decide
    assert expired_offsets(group, 61_000, 60_000) == [("a", 0)]


def test_an_empty_groups_offsets_expire_and_leave_tombstones():
    cluster = cluster_for_offsets()
    consumer = member(cluster, "c1", ["orders"])
    consumer.commit({("orders", 0): 0, ("orders", 1): 0})
    consumer.close()
    cluster.run_for(1_000)                      # its LeaveGroup arrives
    assert cluster.describe_group("g")["state"] == "Empty"
    cluster.run_for(MINUTE - 10_000)
    assert cluster.describe_group("g")["offsets"]           # not yet a minute empty
    cluster.run_for(20_000)
    with pytest.raises(errors.GroupIdNotFoundError):         # expired, and the group is gone
        cluster.describe_group("g")
    assert stored_offsets(offsets_log(cluster, "g")) == {}   # tombstones were written


def test_a_stable_group_loses_the_offsets_of_a_topic_it_no_longer_reads():
    cluster = cluster_for_offsets()
    reader = member(cluster, "c1", ["orders", "audit"])
    reader.commit({("orders", 0): 0, ("audit", 0): 0})
    reader.subscribe(["orders"])                # audit: no longer read
    for _ in range(3):                          # stay in the group, beyond the retention
        for _ in range(300):
            reader.poll(100)
        reader.commit({("orders", 0): 0})
    group = cluster.describe_group("g")
    assert group["state"] == STABLE
    assert group["offsets"] == {("orders", 0): 0}


def test_delete_group_needs_an_empty_group_and_deletes_its_offsets():
    cluster = cluster_for_offsets(**{"offsets.retention.minutes": 10_080})
    consumer = member(cluster, "c1", ["orders"])
    consumer.commit({("orders", 0): 0})
    with pytest.raises(errors.NonEmptyGroupError):
        cluster.delete_group("g")
    consumer.close()
    cluster.run_for(1_000)
    cluster.delete_group("g")
    with pytest.raises(errors.GroupIdNotFoundError):
        cluster.describe_group("g")
    with pytest.raises(errors.GroupIdNotFoundError):
        cluster.delete_group("g")
    assert stored_offsets(offsets_log(cluster, "g")) == {}


def test_a_coordinator_loading_a_compacted_offsets_log_ends_with_the_same_offsets():
    """Many commits, __consumer_offsets with small segments and a busy cleaner: the log
    shrinks, and a new coordinator elected after a crash loads exactly the offsets the old
    one had (expired and deleted ones included, as absent)."""
    cluster = cluster_for_offsets(**{"offsets.topic.segment.bytes": 600,
                                     "log.cleaner.backoff.ms": 1_000,
                                     "log.cleaner.min.cleanable.ratio": 0.1,
                                     "offsets.retention.minutes": 10_080})
    producer = cluster.producer(linger_ms=0)
    for i in range(40):
        producer.send("orders", key=b"k%d" % i, value=b"v%d" % i)
    producer.flush()
    consumer = member(cluster, "c1", ["orders"])
    other = member(cluster, "c2", ["audit"], group_id="gone")
    other.commit({("audit", 0): 0})
    other.close()
    cluster.run_for(1_000)
    cluster.delete_group("gone")
    for step in range(60):
        consumer.commit({("orders", 0): step % 15, ("orders", 1): step % 10})
        consumer.poll(100)
    cluster.run_for(5_000)
    before = cluster.describe_group("g")["offsets"]
    log = offsets_log(cluster, "g")
    records = sum(len(batch) for batch in log.batches)
    assert records < 60                         # 60 commits of 2 offsets, compacted
    assert stored_offsets(log) == before
    coordinator = cluster.group_coordinator("g").node_id
    cluster.crash(coordinator)
    for _ in range(200):
        consumer.poll(100)
    assert cluster.group_coordinator("g").node_id != coordinator
    assert cluster.describe_group("g")["offsets"] == before == {("orders", 0): 14,
                                                                 ("orders", 1): 9}
    with pytest.raises(errors.GroupIdNotFoundError):
        cluster.describe_group("gone")
