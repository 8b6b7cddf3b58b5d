"""Hidden properties: the ISR, elections, and acks=all."""

from hypothesis import strategies as st

from kafkadojo.reference import election, isr

from . import COLLECTION, comparable, differential, prop
from .engine import LEADER_CHANGES, in_the_engine

TIME = st.integers(0, 100_000)
OFFSET = st.integers(-1, 200)


def near(value, spread=1):
    """``value`` itself or just either side of it: where a rule's comparison flips."""
    return st.integers(value - spread, value + spread)


@st.composite
def fetch_args(draw):
    """One more fetch from a follower, with the offsets and times on, just below and just
    above each other as often as anywhere: ``fetch_offset`` at the leader's LEO or at the
    LEO of the previous fetch, the previous caught-up time before or after this fetch."""
    leader_leo = draw(OFFSET)
    previous_leo = draw(st.one_of(OFFSET, near(leader_leo)))
    fetch_offset = draw(st.one_of(OFFSET, near(leader_leo), near(previous_leo)))
    previous_fetch_ms = draw(TIME)
    fetch_ms = draw(st.one_of(TIME, near(previous_fetch_ms)))
    caught_up_ms = draw(st.one_of(TIME, st.just(-1), near(fetch_ms), near(previous_fetch_ms)))
    return (fetch_offset, fetch_ms, leader_leo, caught_up_ms, previous_leo, previous_fetch_ms)


@prop("isr.last_caught_up_time", "tracks ReplicaState's last caught-up time over any fetch", 2)
def caught_up_time(learner):
    return differential(learner, "last_caught_up_time", isr.last_caught_up_time,
                        fetch_args(), examples=300, anomaly="wrong-caught-up-time")


@st.composite
def lag_args(draw):
    """A follower's lag, with ``now - last caught-up`` at, just under and just over
    ``replica.lag.time.max.ms``, and its LEO at the leader's."""
    leader_leo = draw(OFFSET)
    follower_leo = draw(st.one_of(OFFSET, near(leader_leo)))
    lag_max = draw(st.one_of(st.integers(0, 60_000), st.sampled_from([0, 1, 10_000, 30_000])))
    caught_up_ms = draw(TIME)
    now_ms = draw(st.one_of(TIME, near(caught_up_ms + lag_max), near(caught_up_ms)))
    return (follower_leo, leader_leo, caught_up_ms, now_ms, lag_max)


@prop("isr.is_caught_up", "agrees with ReplicaState.isCaughtUp", 1)
def caught_up(learner):
    return differential(learner, "is_caught_up", isr.is_caught_up, lag_args(),
                        examples=300, anomaly="wrong-in-sync")


@st.composite
def join_args(draw):
    """A follower's LEO at, just under and just over the leader's HW and its epoch start."""
    leader_hw = draw(OFFSET)
    epoch_start = draw(st.one_of(OFFSET, near(leader_hw)))
    follower_leo = draw(st.one_of(OFFSET, near(leader_hw), near(epoch_start)))
    return (follower_leo, leader_hw, epoch_start)


@prop("isr.can_join_isr", "admits a follower exactly when Partition.isFollowerInSync does", 2)
def join(learner):
    return differential(learner, "can_join_isr", isr.can_join_isr, join_args(),
                        examples=300, anomaly="wrong-isr-expansion")


@st.composite
def election_args(draw, unclean):
    """A partition whose leader is gone: broker ids that are not 0..n-1, an ISR listed in
    its own order (Kafka keeps the order the ISR changed in, not the assignment's), live
    brokers that may include others' replicas or none of this partition's."""
    assignment = tuple(draw(st.lists(st.integers(0, 9), min_size=1, max_size=5, unique=True)))
    members = draw(st.lists(st.sampled_from(assignment), min_size=1, unique=True))
    isr_members = tuple(draw(st.permutations(members)))
    live = draw(st.one_of(
        st.sets(st.integers(0, 9)),
        st.sets(st.sampled_from(assignment)),
        st.just(set(assignment) - set(isr_members))))
    return (assignment, isr_members, live, unclean)


def election_answer(answer):
    """``(leader, isr, unclean)`` compared with the ISR in any order: which replicas are in
    sync is the answer, not the order they are listed in."""
    if isinstance(answer, (list, tuple)) and len(answer) == 3:
        leader, members, unclean = answer
        return (leader, comparable(members, COLLECTION), unclean)
    return comparable(answer)


@prop("isr.elect_leader", "clean elections pick Kafka's leader, or none", 1)
def clean(learner):
    return differential(learner, "elect_leader", election.elect_leader, election_args(False),
                        examples=300, anomaly="wrong-leader", compare=election_answer)


@prop("isr.elect_leader", "unclean elections happen exactly when allowed and needed", 1)
def unclean(learner):
    return differential(learner, "elect_leader", election.elect_leader, election_args(True),
                        examples=300, anomaly="wrong-leader", compare=election_answer)


@prop("isr.elect_leader",
      "inside a cluster whose leaders fail under partitions, elects only from the ISR and "
      "loses no acknowledged write", 1)
def elect_in_the_engine(learner):
    return in_the_engine(learner, "elect_leader", "elect_leader", config=LEADER_CHANGES)


@prop("isr.acks_all_accepted", "accepts acks=all exactly when Kafka does", 1)
def acks_all(learner):
    # min.insync.replicas at, under and above the ISR's size and the replication factor
    return differential(learner, "acks_all_accepted", isr.acks_all_accepted,
                        st.tuples(st.integers(0, 6), st.integers(1, 7), st.integers(1, 6)),
                        anomaly="wrong-acks-decision")
