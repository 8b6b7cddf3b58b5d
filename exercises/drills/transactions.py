"""Drills: the last stable offset."""

from kafkadojo.reference.producer_state import last_stable_offset

from . import drill_kind
from ._cards import flashcards


@drill_kind("transactions.lso", "number",
            summary="the last stable offset of a partition")
def lso(rng, level):
    high_watermark = rng.randrange(30, 90)
    transactions = []
    for _ in range(level):
        first = rng.randrange(0, high_watermark + 5)
        marker = rng.choice((None, first + rng.randrange(1, 20)))
        transactions.append((first, marker))
    answer = last_stable_offset(transactions, high_watermark)
    shown = "; ".join(f"one from offset {first}, " + ("still open" if marker is None else
                                                     f"closed by a marker at {marker}")
                      for first, marker in transactions)
    return ((tuple(transactions), high_watermark),
            f"A partition's high watermark is {high_watermark}. Transactions: {shown}. What "
            f"is the last stable offset?",
            answer,
            "An open transaction holds the LSO at its first offset; a closed one too, until "
            "its marker is below the high watermark; the LSO is never above the HW.")


flashcards("transactions", (
    ("How does a transactional.id fence a zombie producer?",
     "InitProducerId with the same transactional.id bumps the producer epoch; the "
     "coordinator and the partitions then refuse the old epoch (PRODUCER_FENCED / "
     "INVALID_PRODUCER_EPOCH), and any transaction the zombie left open is aborted."),
))
