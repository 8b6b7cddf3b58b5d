"""Drills: what a consumer commits."""

from kafkadojo.reference.delivery import AT_LEAST_ONCE, AT_MOST_ONCE, committed_offsets, run_delivery
from kafkadojo.reference.monitoring import partition_lag
from kafkadojo.reference.record import Record

from . import drill_kind
from .picture import Picture
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
            "The committed offset is the next record to read: the last processed + 1.",
            Picture(rows=(("t-0", ((f"{start}..{start + count - 1} processed", "committed"),
                                   (answer, "chosen"))),),
                    legend=(("chosen", "committed: where the group resumes"),)))


@drill_kind("offsets.lag", "number", summary="a consumer group's lag on one partition")
def lag(rng, level):
    high_watermark = rng.randrange(100, 10_000)
    committed = high_watermark - rng.randrange(0, 500 * level)
    answer = partition_lag(high_watermark, committed)
    return ((high_watermark, committed),
            f"A partition's high watermark is {high_watermark}; the group committed "
            f"{committed}. What is its lag?",
            answer, "Lag = high watermark - committed offset (the LSO under read_committed).",
            Picture(rows=(("partition", ((f"..{committed - 1} read", "committed"),
                                         (f"{committed}..{high_watermark - 1}: {answer}",
                                          "uncommitted"))),),
                    legend=(("uncommitted", "the lag"),)))


@drill_kind("offsets.crash-step", "set",
            summary="what a crash at a given step loses or processes twice (runs a cluster)")
def crash_step(rng, level):
    guarantee = rng.choice((AT_LEAST_ONCE, AT_MOST_ONCE))
    records, per_poll = rng.randrange(6, 10), rng.choice((3, 4))
    polls = -(-records // per_poll)
    steps = records + polls                 # each process() and each commit is a step
    when = "before" if level == 1 else rng.choice(("before", "after"))
    crash_at = [(rng.randrange(steps), when)]
    seed = rng.randrange(1_000)
    outcome = run_delivery(guarantee, crash_at=crash_at, seed=seed, records=records,
                           partitions=1, max_poll_records=per_poll)
    taken = sum(1 for step in outcome.timeline if step.what in ("process", "commit"))
    if level == 3 and taken > crash_at[0][0] + 1:
        # a second crash, at a step the next instance does take
        crash_at.append((rng.randrange(crash_at[0][0] + 1, taken),
                         rng.choice(("before", "after"))))
        outcome = run_delivery(guarantee, crash_at=crash_at, seed=seed, records=records,
                               partitions=1, max_poll_records=per_poll)
    order = ("processes each record, then commits the offset after the batch"
             if guarantee == AT_LEAST_ONCE else
             "commits the offset after the batch first, then processes each record")
    crashes = " and then ".join(f"just {w} step {n}" for n, w in crash_at)
    asked = "processed more than once" if guarantee == AT_LEAST_ONCE else "never processed"
    answer = sorted({offset for _, offset in (outcome.duplicated if guarantee == AT_LEAST_ONCE
                                              else outcome.lost)})
    return ((guarantee, tuple(crash_at), seed, records, per_poll),
            f"An application reads one partition, offsets 0 to {records - 1}, with "
            f"max.poll.records={per_poll} and enable.auto.commit=false. For each poll it "
            f"{order} ({guarantee}). Each process() and each commit is a step, numbered from "
            f"0 across restarts. It crashes {crashes}; each time a new instance of the same "
            f"group starts from the committed offset. Which offsets are {asked}? (or none)",
            answer,
            "A restarted consumer resumes at the committed offset. Committing after "
            "processing (at-least-once) repeats what was processed since the last commit; "
            "committing first (at-most-once) skips what was committed but not processed yet.",
            _delivery_picture(outcome))


def _delivery_picture(outcome):
    lost = {o for _, o in outcome.lost}
    seen, cells = set(), []
    for _, offset in outcome.effects:
        cells.append((offset, "duplicate" if offset in seen else "committed"))
        seen.add(offset)
    return Picture(
        rows=(("processed, in order", tuple(cells)),
              ("never processed", tuple((o, "lost") for o in sorted(lost)))),
        legend=(("committed", "processed"), ("duplicate", "processed again"),
                ("lost", "never processed")),
        timeline=tuple((step.time_ms, f"#{step.instance} {step.what} {step.detail}".rstrip())
                       for step in outcome.timeline))


flashcards("offsets", (
    ("At-most-once or at-least-once: which one commits before processing?",
     "At-most-once commits first: a crash after the commit loses the records in hand. "
     "At-least-once processes first, then commits: a crash before the commit processes them "
     "again."),
))
