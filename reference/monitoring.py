"""What an operator watches: under-replicated partitions, ISR churn, replica progress,
consumer lag.

These are the engine's versions of Kafka's ``UnderReplicatedPartitions``,
``IsrShrinksPerSec``/``IsrExpandsPerSec``, the per-replica log end offsets that
``kafka-topics --describe`` and ``kafka-log-dirs`` show, and the LAG column of
``kafka-consumer-groups --describe``.
"""

from typing import NamedTuple


class ReplicaProgress(NamedTuple):
    broker: int
    role: str               # "leader", "follower", "offline" (broker down) or "-" (no replica)
    in_isr: bool
    log_start_offset: int
    high_watermark: int
    log_end_offset: int


def describe_partition(cluster, topic, partition):
    """Per replica: role, ISR membership, log start offset, HW and LEO."""
    reg = cluster.registration(topic, partition)
    rows = []
    for broker_id in reg.replicas:
        broker = cluster.brokers[broker_id]
        log = broker.logs.get((topic, partition))
        if not broker.alive:
            role = "offline"
        elif broker_id == reg.leader:
            role = "leader"
        else:
            role = "follower"
        rows.append(ReplicaProgress(
            broker_id, role, broker_id in reg.isr,
            log.log_start_offset if log else 0,
            log.high_watermark if log else 0,
            log.log_end_offset if log else 0))
    return rows


def under_replicated_partitions(cluster):
    """Partitions whose ISR is smaller than their replica set (Kafka's URP metric). While a
    partition is reassigned, the replicas still being added do not count (Kafka's
    replicationFactor of an ongoing reassignment)."""
    return [key for key, reg in sorted(cluster.controller.partitions.items())
            if len(reg.isr) < len(reg.replicas) - len(reg.adding_replicas)]


def offline_partitions(cluster):
    return [key for key, reg in sorted(cluster.controller.partitions.items()) if reg.leader < 0]


def isr_events(cluster):
    """ISR shrinks and expands, in order, as ``(time_ms, text)``."""
    return [(t, text) for t, text in cluster.events if ": ISR " in text]


def format_partition(cluster, topic, partition):
    """A small table, like ``kafka-topics --describe`` with offsets added."""
    reg = cluster.registration(topic, partition)
    lines = [f"{topic}-{partition}  leader {reg.leader}  epoch {reg.leader_epoch}  "
             f"ISR {list(reg.isr)}  replicas {list(reg.replicas)}",
             "  broker  role      ISR  start     HW    LEO"]
    for row in describe_partition(cluster, topic, partition):
        lines.append(f"  {row.broker:>6}  {row.role:<8}  {'yes' if row.in_isr else 'no':<3}  "
                     f"{row.log_start_offset:>5}  {row.high_watermark:>5}  {row.log_end_offset:>5}")
    return "\n".join(lines)


# -- consumer lag -----------------------------------------------------------------------------
def partition_lag(high_watermark, committed_offset):
    """How far a group is behind on one partition: the records it could read (below the
    high watermark) that it has not committed yet. None when the group has committed nothing
    there (``kafka-consumer-groups`` prints "-").

    A committed offset can be past the high watermark (committed before an unclean leader
    election truncated the log, say): Kafka 3.9 subtracts as it is, and both
    ``kafka-consumer-groups`` and the consumer's ``records-lag`` metric show that lag as a
    negative number. So does this function: ``partition_lag(40, 45) == -5``."""
    if committed_offset is None:
        return None
    return high_watermark - committed_offset


def group_lag(partition_lags):
    """A group's total lag: the sum over partitions whose lag is known."""
    return sum(lag for lag in partition_lags.values() if lag is not None)


def consumer_group_lag(cluster, group_id, topics=None):
    """``{(topic, partition): lag}`` for every partition of the group's topics (those it
    committed offsets for, or ``topics``), from each leader's high watermark."""
    offsets = cluster.describe_group(group_id)["offsets"]
    topics = sorted(set(topics or ()) | {t for t, _ in offsets})
    lags = {}
    for topic in topics:
        for _, partition in cluster.partitions(topic):
            leader = cluster.leader(topic, partition)
            log = cluster.log(leader, topic, partition) if leader >= 0 else None
            high_watermark = log.high_watermark if log is not None else 0
            lags[(topic, partition)] = cluster.seams.partition_lag(
                high_watermark, offsets.get((topic, partition)))
    return lags


def cleaner_metrics(cluster):
    """Per live broker, what Kafka's log cleaner reports (its ``LogCleaner`` metrics): passes
    made, bytes read and written (``cleaner-recopy-percent`` is written over read), records
    removed, each compacted replica's dirty ratio (``max-dirty-percent`` is the largest), and
    the partitions it gave up on (``uncleanable-partitions-count``)."""
    metrics = {}
    for broker in cluster.brokers:
        if not broker.alive:
            continue
        stats = broker.log_cleaner.stats
        ratios = broker.log_cleaner.manager.dirty_ratios(cluster.now)
        metrics[broker.node_id] = {
            "runs": stats.runs, "bytes_read": stats.bytes_read,
            "bytes_written": stats.bytes_written, "records_removed": stats.records_removed,
            "recopy_percent": round(100 * stats.bytes_written / stats.bytes_read, 1)
            if stats.bytes_read else 0.0,
            "dirty_ratios": {key: round(ratio, 3) for key, ratio in ratios.items()},
            "max_dirty_percent": round(100 * max(ratios.values(), default=0.0), 1),
            "uncleanable_partitions": sorted(stats.uncleanable)}
    return metrics


# -- hot brokers -----------------------------------------------------------------------------------
def request_handler_idle_ratio(cluster, since):
    """Per broker, the share of its request handler threads' time (``num.io.threads`` of
    them) that was idle since ``since`` (a ``handler_snapshot``), as Kafka's
    RequestHandlerAvgIdlePercent reports it: near 1 for an idle broker, falling towards 0 as
    its handlers get busy. A broker far below the others is a hot broker."""
    taken_at, busy_then = since
    elapsed = max(cluster.now - taken_at, 1)
    ratios = {}
    for broker in cluster.brokers:
        threads = broker.config["num.io.threads"]
        busy = broker.handler_busy_ms - busy_then.get(broker.node_id, 0.0)
        ratios[broker.node_id] = max(0.0, 1 - busy / (threads * elapsed))
    return ratios


def handler_snapshot(cluster):
    """Where the brokers' request handler time stands now, for request_handler_idle_ratio."""
    return cluster.now, {broker.node_id: broker.handler_busy_ms for broker in cluster.brokers}


def leaders_per_broker(cluster, topic=None):
    """How many partition leaders each broker has (of ``topic``, or of every topic)."""
    counts = {broker.node_id: 0 for broker in cluster.brokers}
    for (name, _), registration in cluster.controller.partitions.items():
        if (topic is None or name == topic) and registration.leader >= 0:
            counts[registration.leader] += 1
    return counts
