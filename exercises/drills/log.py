"""Drills: what retention deletes."""

from kafkadojo.reference.log import deletable_segments

from . import drill_kind
from .picture import Picture
from ._cards import flashcards


@drill_kind("log.retention", "number",
            summary="the log start offset after time retention")
def retention(rng, level):
    segments, base, now = [], 0, 100_000
    for _ in range(2 + level):
        size = rng.randrange(5, 20)
        segments.append((base, size * 100, now - rng.randrange(1, 60) * 1_000))
        base += size
    segments.sort()
    # timestamps grow with offsets at level 1; producers may set them out of order later
    if level == 1:
        stamps = sorted(s[2] for s in segments)
        segments = [(b, size, t) for (b, size, _), t in zip(segments, stamps)]
    log_end = base
    retention_ms = rng.choice((10_000, 20_000, 30_000, 45_000))
    count, start = deletable_segments(segments, 0, log_end, log_end, now, retention_ms, -1)
    shown = "\n".join(f"  base offset {b:>3}, newest record {(now - t) // 1000:>2} s old"
                      for b, _, t in segments)
    return ((tuple(segments), log_end, now, retention_ms),
            f"A log's segments, oldest first (the last is active; the log ends at {log_end}, "
            f"all of it below the high watermark):\n{shown}\nretention.ms={retention_ms:,}. "
            f"What is the log start offset after retention runs?",
            start,
            "Time retention deletes from the oldest segment while its newest record is older "
            "than retention.ms, and stops at the first that is not (even if older ones "
            "follow); the log start offset is the first kept segment's base offset.",
            Picture(rows=(("segments", tuple(
                (f"{b}: {(now - t) // 1000} s", "lost" if n < count else "committed")
                for n, (b, _, t) in enumerate(segments))),),
                    legend=(("lost", "deleted"), ("committed", "kept"))))


flashcards("log", (
    ("Why does a consumer never read past the high watermark?",
     "Records above it are not on every ISR replica yet: after a leader change they could "
     "be truncated, and a consumer that read them would have seen records that then vanish."),
    ("What is a log segment, and when does a new one start?",
     "A file of the partition's log (with its indexes); the active one takes appends and "
     "rolls when it would exceed segment.bytes or is older than segment.ms. Retention and "
     "compaction work on whole closed segments."),
))
