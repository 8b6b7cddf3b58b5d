"""Drills: who becomes leader."""

from kafkadojo.reference.election import elect_leader
from kafkadojo.reference.isr import acks_all_accepted

from . import drill_kind
from .picture import Picture
from ._cards import flashcards


@drill_kind("isr.elect-leader", "number",
            summary="the controller's choice of a new leader (-1: none)")
def new_leader(rng, level):
    brokers = level + 2
    assignment = rng.sample(range(1, brokers + 2), brokers)
    isr = tuple(b for b in assignment if rng.random() < 0.6) or (assignment[-1],)
    live = tuple(sorted(b for b in assignment if rng.random() < 0.7))
    unclean = level == 3 and rng.random() < 0.5
    election = elect_leader(tuple(assignment), isr, live, unclean)
    return ((tuple(assignment), isr, live, unclean),
            f"A partition's replicas are {list(assignment)} (in that order), its ISR "
            f"{list(isr)}; the live brokers are {list(live)}; "
            f"unclean.leader.election.enable={str(unclean).lower()}. Which broker becomes "
            f"leader? (-1 if none)",
            election.leader,
            "The first replica in assignment order that is alive and in the ISR; with none, "
            "an unclean election takes the first live replica (and loses what it lacks), "
            "otherwise the partition goes offline.",
            Picture(rows=(("replicas, in order", tuple(
                (f"{b}{' ISR' if b in isr else ''}{'' if b in live else ' down'}",
                 "chosen" if b == election.leader else "lost" if b not in live
                 else "committed" if b in isr else "plain") for b in assignment)),),
                    legend=(("chosen", "elected"), ("committed", "live, in the ISR"),
                            ("plain", "live, not in the ISR"), ("lost", "down"))))


@drill_kind("isr.acks-all", "word", summary="whether an acks=all produce is accepted")
def acks_all(rng, level):
    replication_factor = rng.choice((3, 3, 5) if level > 1 else (3,))
    isr_size = rng.randrange(1, replication_factor + 1)
    min_isr = rng.randrange(1, replication_factor + 2)
    accepted = acks_all_accepted(isr_size, min_isr, replication_factor)
    return ((isr_size, min_isr, replication_factor),
            f"replication.factor={replication_factor}, min.insync.replicas={min_isr}, and "
            f"the ISR has {isr_size} replica(s). Does the leader accept an acks=all produce? "
            f"(yes/no)",
            "YES" if accepted else "NO",
            "Refused (NOT_ENOUGH_REPLICAS) when the ISR is smaller than min.insync.replicas, "
            "capped at the replication factor.",
            Picture(rows=(("ISR", tuple((n + 1, "committed") for n in range(isr_size))),
                          ("needed", tuple((n + 1, "committed" if n < isr_size else "lost")
                                           for n in range(min(min_isr, replication_factor))))),
                    caption=f"min.insync.replicas={min_isr}, replication.factor="
                            f"{replication_factor}: {'accepted' if accepted else 'refused'}",
                    legend=(("committed", "in the ISR"), ("lost", "missing"))))


flashcards("isr", (
    ("What does min.insync.replicas protect against?",
     "Acknowledging a write that too few replicas hold: with acks=all, the leader refuses "
     "writes while the ISR is smaller than it, so an acknowledged record survives the loss "
     "of min.insync.replicas - 1 brokers."),
    ("When does a follower leave the ISR?",
     "When it has not caught up to the leader's log end within replica.lag.time.max.ms "
     "(30 s): the leader shrinks the ISR through the controller (AlterPartition)."),
))
