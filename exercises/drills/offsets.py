"""Drills: what a consumer commits."""

from kafkadojo.reference.delivery import committed_offsets
from kafkadojo.reference.monitoring import partition_lag
from kafkadojo.reference.record import Record

from . import drill_kind
from ._cards import flashcards


@drill_kind("offsets.commit", "number",
            summary="the offset to commit after processing a batch")
def commit(rng, level):
    start = rng.randrange(0, 500)
    count = rng.randrange(1, 4 + 3 * level)
    records = [Record("t", 0, start + i, None, b"v", 0) for i in range(count)]
    answer = committed_offsets(records)[("t", 0)]
    return ((start, count),
            f"poll() returned offsets {start} to {start + count - 1} of partition t-0, and "
            f"you processed them all. Which offset do you commit?",
            answer,
            "The committed offset is the next record to read: the last processed + 1.")


@drill_kind("offsets.lag", "number", summary="a consumer group's lag on one partition")
def lag(rng, level):
    high_watermark = rng.randrange(100, 10_000)
    committed = high_watermark - rng.randrange(0, 500 * level)
    answer = partition_lag(high_watermark, committed)
    return ((high_watermark, committed),
            f"A partition's high watermark is {high_watermark}; the group committed "
            f"{committed}. What is its lag?",
            answer, "Lag = high watermark - committed offset (the LSO under read_committed).")


flashcards("offsets", (
    ("At-most-once or at-least-once: which one commits before processing?",
     "At-most-once commits first: a crash after the commit loses the records in hand. "
     "At-least-once processes first, then commits: a crash before the commit processes them "
     "again."),
))
