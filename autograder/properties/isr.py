"""Hidden properties: the ISR, elections, and acks=all."""

from hypothesis import strategies as st

from kafkadojo.reference import election, isr

from . import differential, prop
from .engine import in_the_engine

TIME = st.integers(0, 100_000)
OFFSET = st.integers(-1, 200)


@prop("isr.last_caught_up_time", "tracks ReplicaState's last caught-up time over any fetch", 2)
def caught_up_time(learner):
    return differential(learner, "last_caught_up_time", isr.last_caught_up_time,
                        st.tuples(OFFSET, TIME, OFFSET, TIME, OFFSET, TIME),
                        examples=300, anomaly="wrong-caught-up-time")


@prop("isr.is_caught_up", "agrees with ReplicaState.isCaughtUp", 1)
def caught_up(learner):
    return differential(learner, "is_caught_up", isr.is_caught_up,
                        st.tuples(OFFSET, OFFSET, TIME, TIME, st.integers(0, 60_000)),
                        anomaly="wrong-in-sync")


@prop("isr.can_join_isr", "admits a follower exactly when Partition.isFollowerInSync does", 2)
def join(learner):
    return differential(learner, "can_join_isr", isr.can_join_isr,
                        st.tuples(OFFSET, OFFSET, OFFSET), anomaly="wrong-isr-expansion")


@st.composite
def election_args(draw, unclean):
    n = draw(st.integers(1, 5))
    assignment = tuple(draw(st.permutations(range(n))))
    isr_members = tuple(r for r in assignment if draw(st.booleans())) or assignment[:1]
    live = set(draw(st.lists(st.integers(0, n - 1), unique=True)))
    return (assignment, isr_members, live, unclean)


@prop("isr.elect_leader", "clean elections pick Kafka's leader, or none", 1)
def clean(learner):
    return differential(learner, "elect_leader", election.elect_leader, election_args(False),
                        anomaly="wrong-leader")


@prop("isr.elect_leader", "unclean elections happen exactly when allowed and needed", 1)
def unclean(learner):
    return differential(learner, "elect_leader", election.elect_leader, election_args(True),
                        anomaly="wrong-leader")


@prop("isr.elect_leader", "inside a cluster under faults, elections lose no acknowledged write", 1)
def elect_in_the_engine(learner):
    return in_the_engine(learner, "elect_leader", "elect_leader", seeds=range(6))


@prop("isr.acks_all_accepted", "accepts acks=all exactly when Kafka does", 1)
def acks_all(learner):
    return differential(learner, "acks_all_accepted", isr.acks_all_accepted,
                        st.tuples(st.integers(0, 6), st.integers(1, 6), st.integers(1, 6)),
                        anomaly="wrong-acks-decision")
