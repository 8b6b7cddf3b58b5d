"""In-sync replicas: who counts as caught up, when the ISR shrinks and grows, and what
``acks=all`` with ``min.insync.replicas`` promises a producer.

The leader owns these decisions (Kafka's ``Partition``); the controller only records the
result (an AlterPartition request). Times are simulated milliseconds.
"""

from .errors import NotEnoughReplicasAfterAppendError


def effective_min_isr(min_insync_replicas, replication_factor):
    """``min.insync.replicas`` capped at the replication factor, as Kafka caps it."""
    return min(min_insync_replicas, replication_factor)


def last_caught_up_time(fetch_offset, fetch_time_ms, leader_leo, previous_caught_up_ms,
                        previous_fetch_leader_leo, previous_fetch_time_ms):
    """When a follower was last known to be caught up, after one more fetch from it.

    Kafka's ``ReplicaState.updateFetchState``: a fetch that reaches the leader's current LEO
    means "caught up now"; one that reaches the LEO the leader had at the follower's previous
    fetch means "caught up as of that previous fetch".
    """
    if fetch_offset >= leader_leo:
        return max(previous_caught_up_ms, fetch_time_ms)
    if fetch_offset >= previous_fetch_leader_leo:
        return max(previous_caught_up_ms, previous_fetch_time_ms)
    return previous_caught_up_ms


def is_caught_up(follower_leo, leader_leo, last_caught_up_ms, now_ms, replica_lag_time_max_ms):
    """``ReplicaState.isCaughtUp``: at the leader's LEO, or caught up within the lag bound."""
    return follower_leo == leader_leo or now_ms - last_caught_up_ms <= replica_lag_time_max_ms


def out_of_sync_replicas(isr, leader_id, followers, leader_leo, now_ms, replica_lag_time_max_ms):
    """The ISR followers that have not caught up within ``replica.lag.time.max.ms``.
    ``followers`` maps broker id to ``(leo, last_caught_up_ms)``."""
    out = []
    for replica in isr:
        if replica == leader_id:
            continue
        leo, caught_up_ms = followers.get(replica, (-1, -1 << 62))
        if not is_caught_up(leo, leader_leo, caught_up_ms, now_ms, replica_lag_time_max_ms):
            out.append(replica)
    return out


def can_join_isr(follower_leo, leader_hw, leader_epoch_start_offset):
    """``Partition.isFollowerInSync``: a follower may rejoin the ISR once it holds everything
    up to the leader's HW and everything written before the leader's current epoch began
    (so it will never need to truncate records the ISR agrees on)."""
    return follower_leo >= leader_hw and follower_leo >= leader_epoch_start_offset


def acks_all_accepted(isr_size, min_insync_replicas, replication_factor):
    """Whether a leader accepts an acks=all produce (``Partition.appendRecordsToLeader``).

    It refuses, before appending anything, when the ISR has fewer members than the
    effective ``min.insync.replicas`` (capped at the replication factor, so a topic with
    fewer replicas than the setting is not refused forever). The producer then gets
    NOT_ENOUGH_REPLICAS. acks=0 and acks=1 never ask.
    """
    return isr_size >= effective_min_isr(min_insync_replicas, replication_factor)


def acks_all_outcome(high_watermark, required_offset, maximal_isr_size, min_isr):
    """``Partition.checkEnoughReplicasReachOffset`` for a waiting acks=all produce.

    Returns None while the records (ending just below ``required_offset``) are not yet
    committed; otherwise the error to answer with, or ``"ok"``. If the ISR shrank below the
    minimum after the append, the records are committed but the producer is told
    NOT_ENOUGH_REPLICAS_AFTER_APPEND (the records may well be there; it should not assume).
    """
    if high_watermark < required_offset:
        return None
    if maximal_isr_size < min_isr:
        return NotEnoughReplicasAfterAppendError(
            f"the ISR shrank to {maximal_isr_size} below min.insync.replicas={min_isr} "
            f"after the append")
    return "ok"
