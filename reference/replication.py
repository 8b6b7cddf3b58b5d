"""Replication rules: the high watermark and leader-epoch truncation.

Each function here is one rule Kafka's brokers follow, kept small and pure so that the
engine calls it and a learner can replace it (see ``seams.py``).

- ``next_high_watermark``: how the leader decides which records are committed
  (``Partition.maybeIncrementLeaderHW``).
- ``end_offset_for_epoch``: the leader's answer to a follower's OffsetForLeaderEpoch
  request (``LeaderEpochFileCache.endOffsetFor``, KIP-101 and KIP-279).
- ``truncation_offset``: where a follower cuts its log after hearing that answer
  (``AbstractFetcherThread.getOffsetTruncationState``, KIP-279).
- ``truncation_offset_from_high_watermark``: the pre-KIP-101 rule, truncate to your own
  HW, kept so that its data-loss scenarios can be replayed.
"""

UNDEFINED_EPOCH = -1
UNDEFINED_EPOCH_OFFSET = -1


def next_high_watermark(current_hw, leader_leo, follower_leos, isr_size, min_insync_replicas):
    """The leader's new high watermark.

    ``follower_leos`` are the log end offsets of the followers whose progress the HW must
    wait for: the ISR members (Kafka's *maximal* ISR, which counts a pending expansion) and
    caught-up replicas about to join it. The HW is the smallest LEO among the leader and
    them: every record below it is on each of those replicas.

    Two more rules: the HW never goes backwards, and since Kafka 3.7 (KAFKA-15583) it does
    not move at all while the ISR is smaller than ``min_insync_replicas`` (the effective
    value, already capped at the replication factor), so that a lone leader cannot commit
    records that exist nowhere else.
    """
    if isr_size < min_insync_replicas:
        return current_hw
    candidate = min(follower_leos, default=leader_leo)
    candidate = min(candidate, leader_leo)
    return max(current_hw, candidate)


def end_offset_for_epoch(epoch_entries, requested_epoch, log_end_offset):
    """The leader's answer to OffsetForLeaderEpoch: ``(epoch, end_offset)``.

    ``epoch_entries`` is the leader's epoch cache, ``[(epoch, start_offset), ...]`` with both
    increasing. The answer names the largest epoch the leader knows that is <= the requested
    one, and the offset where it ended: the start of the next epoch in the leader's cache, or
    the leader's LEO if it is still the latest epoch.

    - requested epoch undefined (-1), or newer than every epoch the leader knows:
      ``(UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET)``;
    - requested epoch is the leader's latest: ``(requested_epoch, log_end_offset)``;
    - requested epoch older than the leader's first: ``(requested_epoch, first start offset)``.
    """
    if requested_epoch == UNDEFINED_EPOCH or not epoch_entries:
        return UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET
    if epoch_entries[-1][0] == requested_epoch:
        return requested_epoch, log_end_offset
    floor = None
    for epoch, start_offset in epoch_entries:
        if epoch > requested_epoch:
            # the first epoch after the requested one: where the floor epoch ended
            if floor is None:
                return requested_epoch, start_offset
            return floor, start_offset
        floor = epoch
    return UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET


def truncation_offset(leader_epoch, leader_end_offset, follower_epoch_entries,
                      follower_leo, follower_hw):
    """Where a follower truncates, given the leader's ``(leader_epoch, leader_end_offset)``
    answer for the follower's latest epoch. Returns ``(offset, done)``.

    - The leader knows no such epoch (``leader_end_offset == -1``): fall back to the
      follower's own high watermark; done.
    - The follower also has ``leader_epoch``: its log agrees with the leader's up to where
      that epoch ended on *both* logs: truncate to the smaller end; done.
    - The follower does not have ``leader_epoch``: cut back to the end of the follower's
      largest epoch below it, and ask again (not done).
    - The follower has no epoch at or below ``leader_epoch``: trust the leader's end offset.
    Never above the follower's own log end offset.
    """
    if leader_end_offset == UNDEFINED_EPOCH_OFFSET:
        return min(follower_hw, follower_leo), True
    if leader_epoch == UNDEFINED_EPOCH:
        return min(leader_end_offset, follower_leo), True
    follower_epoch, follower_end_offset = end_offset_for_epoch(
        follower_epoch_entries, leader_epoch, follower_leo)
    if follower_end_offset == UNDEFINED_EPOCH_OFFSET:
        return min(leader_end_offset, follower_leo), True
    if follower_epoch != leader_epoch:
        return min(follower_end_offset, follower_leo), False
    return min(follower_end_offset, leader_end_offset, follower_leo), True


def truncation_offset_from_high_watermark(follower_hw, follower_leo):
    """Before KIP-101 a follower truncated to its own high watermark on every leader change.
    Its HW lags the leader's by a fetch, so this can cut committed records (KIP-101 case 1)
    and can leave diverged logs (case 2)."""
    return min(follower_hw, follower_leo)
