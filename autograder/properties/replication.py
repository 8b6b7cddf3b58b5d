"""Hidden properties: replication (high watermark, leader epochs, truncation)."""

from hypothesis import strategies as st

from kafkadojo.reference import replication

from . import differential, examples, prop
from .engine import LEADER_CHANGES, in_the_engine


def near(value, spread=1):
    """``value`` itself or just either side of it: where a rule's comparison flips."""
    return st.integers(value - spread, value + spread)


@st.composite
def hw_args(draw):
    """Replica states as the leader sees them, with every LEO as often at the HW, at the
    leader's LEO or just beside them as anywhere, no followers at all, a follower not heard
    from yet (-1), and the ISR's size at, just under and just over min.insync.replicas."""
    leader_leo = draw(st.integers(0, 60))
    current_hw = draw(st.one_of(st.integers(0, leader_leo), st.sampled_from([0, leader_leo])))
    follower = st.one_of(st.integers(-1, leader_leo), st.sampled_from([-1, current_hw, leader_leo]),
                         near(current_hw).filter(lambda leo: leo <= leader_leo))
    followers = draw(st.lists(follower, max_size=4))
    min_isr = draw(st.integers(1, 4))
    isr_size = draw(st.one_of(st.integers(1, 5), near(min_isr).filter(lambda n: n >= 1)))
    return (current_hw, leader_leo, followers, isr_size, min_isr)


@prop("replication.next_high_watermark", "agrees with Kafka's rule on any replica state", 2)
def hw_differential(learner):
    return differential(learner, "next_high_watermark", replication.next_high_watermark,
                        hw_args(), examples=300, anomaly="wrong-high-watermark")


@prop("replication.next_high_watermark",
      "inside a 3-broker cluster under crashes and partitions, loses no acknowledged write", 2)
def hw_in_the_engine(learner):
    return in_the_engine(learner, "next_high_watermark", "next_high_watermark")


@st.composite
def epoch_cache(draw, max_epochs=5):
    epochs = sorted(draw(st.sets(st.integers(0, 12), max_size=max_epochs)))
    starts = sorted(draw(st.lists(st.integers(0, 80), min_size=len(epochs), max_size=len(epochs),
                                  unique=True)))
    return [(e, s) for e, s in zip(epochs, starts)]


@st.composite
def end_offset_args(draw):
    entries = draw(epoch_cache())
    leo = draw(st.integers(entries[-1][1] if entries else 0, 100))
    requested = draw(st.integers(-1, 14))
    return (entries, requested, leo)


KIP_279 = [
    (([(0, 0), (2, 10), (5, 30)], 5, 42), (5, 42)),
    (([(0, 0), (2, 10), (5, 30)], 1, 42), (0, 10)),
    (([(0, 0), (2, 10), (5, 30)], 6, 42), (-1, -1)),
    (([(3, 100), (4, 120)], 1, 150), (1, 100)),
    (([(0, 0)], -1, 7), (-1, -1)),
]


@prop("replication.end_offset_for_epoch", "answers the KIP-101/279 examples", 1)
def end_offset_examples(learner):
    return examples(learner, "end_offset_for_epoch", KIP_279, anomaly="wrong-epoch-end")


@prop("replication.end_offset_for_epoch", "agrees with LeaderEpochFileCache.endOffsetFor on any cache", 2)
def end_offset_differential(learner):
    return differential(learner, "end_offset_for_epoch", replication.end_offset_for_epoch,
                        end_offset_args(), examples=300, anomaly="wrong-epoch-end")


@st.composite
def truncation_args(draw):
    """A follower's cache and log, and the leader's answer for an epoch the follower has, one
    it lacks, or none, with the leader's end offset at, just under and just over the
    follower's own end of that epoch and its LEO, and the follower's HW at its LEO."""
    entries = draw(epoch_cache())
    follower_leo = draw(st.integers(entries[-1][1] if entries else 0, 100))
    follower_hw = draw(st.one_of(st.integers(0, follower_leo), st.just(follower_leo)))
    if draw(st.integers(0, 5)) == 0:
        leader_epoch, leader_end = draw(st.sampled_from([(-1, -1), (-1, 7), (3, -1)]))
        return (leader_epoch, leader_end, entries, follower_leo, follower_hw)
    epochs = [epoch for epoch, _ in entries]
    leader_epoch = draw(st.one_of(st.integers(0, 12), st.sampled_from(epochs or [0])))
    _, follower_end = replication.end_offset_for_epoch(entries, leader_epoch, follower_leo)
    leader_end = draw(st.one_of(st.integers(0, 100), near(follower_end).filter(lambda o: o >= 0),
                                near(follower_leo)))
    return (leader_epoch, leader_end, entries, follower_leo, follower_hw)


@prop("replication.truncation_offset", "agrees with KIP-279's truncation on any pair of logs", 2)
def truncation_differential(learner):
    return differential(learner, "truncation_offset", replication.truncation_offset,
                        truncation_args(), examples=300, anomaly="wrong-truncation")


@prop("replication.truncation_offset",
      "inside a cluster whose leaders change under partitions and crashes, no log forks", 1)
def truncation_in_the_engine(learner):
    return in_the_engine(learner, "truncation_offset", "truncation_offset", config=LEADER_CHANGES)
