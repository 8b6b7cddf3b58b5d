"""Drills: the last stable offset."""

from kafkadojo.reference.consumer import read_committed_batches
from kafkadojo.reference.producer_state import last_stable_offset

from . import drill_kind
from ._cards import flashcards
from .picture import Picture


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
            "its marker is below the high watermark; the LSO is never above the HW.",
            Picture(rows=tuple(
                (f"transaction from {first}", ((
                    "open" if marker is None else f"marker at {marker}",
                    "uncommitted" if marker is None or marker >= high_watermark
                    else "committed"),)) for first, marker in transactions)
                + (("last stable offset", ((answer, "chosen"),)),),
                    caption=f"high watermark {high_watermark}",
                    legend=(("uncommitted", "holds the LSO"), ("committed", "settled"))))


PRODUCERS = {1: "A", 2: "B"}


@drill_kind("transactions.read-committed", "set",
            summary="what a read_committed consumer returns from a log with transactions")
def read_committed(rng, level):
    producers = (1,) if level == 1 else (1, 2)
    open_since = {}                 # producer id -> first offset of its open transaction
    log, aborted = [], []           # log: (offset, producer id, transactional, control)
    while len(log) < 6 + 2 * level or open_since:
        producer = rng.choice(producers + (0,) if level > 1 else producers)
        if producer == 0:           # a plain (non-transactional) write
            log.append((len(log), -1, False, None))
        elif producer in open_since and (rng.random() < 0.35 or len(log) >= 6 + 2 * level):
            control = rng.choice(("COMMIT", "ABORT"))
            if control == "ABORT":  # what the broker's aborted-transaction index records
                aborted.append((producer, open_since[producer]))
            del open_since[producer]
            log.append((len(log), producer, True, control))
        else:
            open_since.setdefault(producer, len(log))
            log.append((len(log), producer, True, None))
    batches = [(offset, offset, producer, transactional, control)
               for offset, producer, transactional, control in log]
    answer = read_committed_batches(batches, aborted)
    return ((tuple(batches), tuple(aborted)),
            "A partition's log, every transaction ended (offset: what): "
            + ", ".join(f"{offset}: {_entry(producer, control)}"
                        for offset, producer, _, control in log)
            + ". Which offsets does a consumer with isolation.level=read_committed return?",
            answer,
            "read_committed returns committed transactional records and every plain one; it "
            "drops the records of aborted transactions (the fetch response lists them, from "
            "the aborted-transaction index) and never returns the COMMIT/ABORT markers, which "
            "still take up offsets.",
            Picture(rows=(("log", tuple(
                (f"{offset}:{_entry(producer, control)}",
                 "committed" if offset in answer else "plain" if control else "lost")
                for offset, producer, _, control in log)),),
                    legend=(("committed", "returned"), ("lost", "dropped (aborted)"),
                            ("plain", "marker, never returned"))))


def _entry(producer, control):
    if producer < 0:
        return "plain"
    name = PRODUCERS[producer]
    return f"{control} marker of {name}" if control else f"{name}'s transaction"


flashcards("transactions", (
    ("How does a transactional.id fence a zombie producer?",
     "InitProducerId with the same transactional.id bumps the producer epoch; the "
     "coordinator and the partitions then refuse the old epoch (PRODUCER_FENCED / "
     "INVALID_PRODUCER_EPOCH), and any transaction the zombie left open is aborted."),
))
