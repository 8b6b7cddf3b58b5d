"""Drills: the high watermark."""

from kafkadojo.reference.replication import next_high_watermark
from kafkadojo.reference.scenarios import crash_after_writes

from . import drill_kind
from .picture import Picture
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
            "min.insync.replicas.",
            replica_logs([("leader", leader_leo)] + [
                (f"follower {n + 1}", leo) for n, leo in enumerate(isr_leos)], answer))


def replica_logs(replicas, high_watermark):
    """Each replica's log as offset ranges: below the high watermark, and above it."""
    rows = []
    for label, leo in replicas:
        cells = []
        if min(leo, high_watermark) > 0:
            cells.append((_offsets(0, min(leo, high_watermark)), "committed"))
        if leo > high_watermark:
            cells.append((_offsets(high_watermark, leo), "uncommitted"))
        rows.append((f"{label} (LEO {leo})", tuple(cells)))
    return Picture(rows=tuple(rows), caption=f"high watermark {high_watermark}",
                   legend=(("committed", "below the HW"), ("uncommitted", "not committed")))


def _offsets(start, end):
    return str(start) if end == start + 1 else f"{start}-{end - 1}"


@drill_kind("replication.acks-crash", "set",
            summary="which acknowledged records a leader's crash loses (runs a cluster)")
def acks_crash(rng, level):
    acks = rng.choice(("1", "all"))
    min_isr = rng.choice((1, 2)) if level > 1 else 2
    crash_after_ms = rng.choice((2_000, 25_000)) if level > 1 else 2_000
    unclean = level == 3 and rng.random() < 0.5
    third_down = level == 3 and rng.random() < 0.5
    before, during = rng.randrange(1, 4), rng.randrange(2, 5)
    seed = rng.randrange(1_000)
    result = crash_after_writes(acks, min_isr, crash_after_ms, unclean, third_down, before,
                                during, seed)
    followers = "broker 1" if third_down else "brokers 1 and 2"
    last = before + during - 1
    prompt = (
        f"Replicas 0 (leader), 1 and 2; replica.lag.time.max.ms=10,000, "
        f"min.insync.replicas={min_isr}, unclean.leader.election.enable="
        f"{str(unclean).lower()}. "
        + ("Broker 2 crashed long ago: the ISR is [0, 1]. " if third_down else "")
        + f"A producer with acks={acks} (no retries) writes {_records(0, before)} while the "
        f"followers keep up. Then the network between the leader and {followers} is cut (the "
        f"controller still sees every broker), and {_records(before, last + 1)} are sent at "
        f"once. "
        f"{crash_after_ms // 1000} s later the leader crashes and the network heals; 20 s "
        f"later broker 0 returns. Which acknowledged records are lost? (their numbers, or "
        f"none)")
    lost = [_number(value) for value in result.lost]
    return ((acks, min_isr, crash_after_ms, unclean, third_down, before, during, seed),
            prompt, lost,
            "acks=1 is acknowledged by the leader alone; acks=all once the ISR has it, and "
            "the ISR shrinks to the leader after replica.lag.time.max.ms (checked every half "
            "of it), when min.insync.replicas allows. A clean election takes only an ISR "
            "member, so with the ISR down to a dead leader the partition waits offline for "
            "it; an unclean one takes a replica that lacks the records.",
            _crash_picture(result))


def _number(value):
    return int(value.decode()[1:])


def _records(start, end):
    return f"r{start}" if end == start + 1 else f"r{start}..r{end - 1}"


def _crash_picture(result):
    """Each broker's log at the end (acknowledged and kept, lost, never acknowledged), and
    the run's timeline."""
    acknowledged, lost = set(result.acknowledged), set(result.lost)
    rows = tuple((f"broker {broker}", tuple(
        (value.decode(), "committed" if value in acknowledged else "plain")
        for value in values)) for broker, values in sorted(result.replicas.items()))
    rows += (("lost", tuple((value.decode(), "lost") for value in result.acknowledged
                            if value in lost)),)
    # the controller's own log (faults, fencing, elections, ISR changes), and the producer's
    # answers as they came
    events = [e for e in result.cluster.events if not e[1].startswith("created topic")]
    answers = [step for step in result.steps if step[1].startswith(("produce ", "r"))]
    timeline = sorted(events + answers, key=lambda step: step[0])
    return Picture(rows=rows, timeline=tuple(timeline), caption="the logs at the end",
                   legend=(("committed", "acknowledged"), ("plain", "never acknowledged"),
                           ("lost", "acknowledged, then lost")))


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
