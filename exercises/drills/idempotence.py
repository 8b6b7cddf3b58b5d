"""Drills: what the leader does with an idempotent producer's batch."""

from kafkadojo.reference.producer_state import BatchMetadata, check_append

from . import drill_kind
from ._cards import flashcards
from .picture import Picture


@drill_kind("idempotence.check-append", "word",
            summary="append, duplicate, or which error")
def check(rng, level):
    epoch = rng.randrange(0, 5)
    last = rng.randrange(0, 50)
    batches = [BatchMetadata(last - 4, last, 100, 104)]
    producer_epoch = epoch + rng.choice((0, 0, 0, -1, 1)) if level > 1 else epoch
    first = rng.choice((last + 1, last + 2, last - 4, 0))
    outcome, _ = check_append(epoch, batches, producer_epoch, first, first + 4)
    return ((epoch, last, producer_epoch, first),
            f"The partition knows producer 7 at epoch {epoch}; its last batch had sequences "
            f"{last - 4}..{last}. A batch arrives from producer 7, epoch {producer_epoch}, "
            f"sequences {first}..{first + 4}. What does the leader do? (append / duplicate / "
            f"the error's name)",
            outcome.upper(),
            "Same epoch: a remembered batch is a duplicate; otherwise the first sequence must "
            "be the last one + 1. An older epoch is fenced (INVALID_PRODUCER_EPOCH); a newer "
            "epoch must start at 0.",
            Picture(rows=(
                (f"remembered, epoch {epoch}", ((f"{last - 4}..{last}", "committed"),)),
                (f"arriving, epoch {producer_epoch}",
                 ((f"{first}..{first + 4}", "committed" if outcome == "append" else
                   "duplicate" if outcome == "duplicate" else "lost"),)),
                ("the leader", ((outcome, "chosen"),))),
                legend=(("duplicate", "already written"), ("lost", "refused"))))


flashcards("idempotence", (
    ("What does enable.idempotence prevent, and what does it not?",
     "Duplicates and reordering from the producer's own retries, per partition and per "
     "producer session (producer id and epoch). Not duplicates from an application that "
     "sends the same record twice, nor across producer restarts without a transactional.id."),
))
