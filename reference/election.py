"""Leader election, as the controller does it.

Kafka's ``PartitionLeaderElectionAlgorithms.offlinePartitionLeaderElection`` (and KRaft's
``PartitionChangeBuilder``): walk the replica assignment in order and take the first
replica that is alive and in the ISR. Only when none is, and
``unclean.leader.election.enable`` is true, take the first live replica at all: an
*unclean* election, which gives up every record the new leader does not have.
"""

from typing import NamedTuple


class Election(NamedTuple):
    leader: int          # the new leader's broker id, or -1 when no replica can lead
    isr: tuple           # the ISR after the election
    unclean: bool        # True if the leader came from outside the ISR


NO_LEADER = -1


def elect_leader(assignment, isr, live_brokers, unclean_enabled):
    """Choose a leader for a partition whose leader is gone (or not yet chosen).

    ``assignment`` is the replica list in preference order, ``isr`` the current ISR,
    ``live_brokers`` the brokers the controller believes are alive. The ISR of the result
    drops dead replicas, but an ISR never becomes empty: with no live candidate the old
    ISR is kept and the partition stays offline (leader -1) until one returns.
    """
    for replica in assignment:
        if replica in live_brokers and replica in isr:
            new_isr = tuple(r for r in isr if r in live_brokers)
            return Election(replica, new_isr, False)
    if unclean_enabled:
        for replica in assignment:
            if replica in live_brokers:
                return Election(replica, (replica,), True)
    return Election(NO_LEADER, tuple(isr), False)
