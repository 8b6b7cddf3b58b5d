"""Drills: the high watermark."""

from kafkadojo.reference.replication import next_high_watermark

from . import drill_kind
from ._cards import flashcards


@drill_kind("replication.high-watermark", "number",
            summary="the leader's high watermark after its followers' fetches")
def high_watermark(rng, level):
    followers = level + 1
    leader_leo = rng.randrange(10, 60)
    follower_leos = [rng.randrange(leader_leo - 8, leader_leo + 1) for _ in range(followers)]
    current_hw = min(follower_leos) - rng.randrange(0, 3)
    isr_size = rng.randrange(1, followers + 2)
    min_isr = rng.choice((1, 2, 2, 3))
    isr_leos = follower_leos[:isr_size - 1]
    answer = next_high_watermark(current_hw, leader_leo, isr_leos, isr_size, min_isr)
    return ((current_hw, leader_leo, isr_leos, isr_size, min_isr),
            f"The leader's log ends at offset {leader_leo} (LEO) and its high watermark is "
            f"{current_hw}. The ISR has {isr_size} replica(s): the leader"
            + (f" and followers whose LEOs are {isr_leos}" if isr_leos else " alone")
            + f"; min.insync.replicas={min_isr}. What is the high watermark now?",
            answer,
            "The HW is the smallest LEO in the ISR (leader included), and never moves back; "
            "since KAFKA-15583 (3.7) it does not move at all while the ISR is smaller than "
            "min.insync.replicas.")


flashcards("replication", (
    ("Why does a follower truncate by the leader epoch (KIP-101, KIP-279) and not to its own "
     "high watermark after a restart?",
     "Its HW can lag the leader's: truncating to it can drop records the leader has since "
     "committed, and if that follower then becomes leader they are lost; the epoch lookup "
     "(OffsetForLeaderEpoch) truncates exactly where its log diverges from the leader's."),
    ("What does acks=all wait for?",
     "For every replica in the current ISR to have the batch (the HW to pass it). With an "
     "ISR of one that is only the leader: min.insync.replicas is what refuses writes then."),
))
