"""Drills: what compaction keeps."""

from . import drill_kind
from ._cards import flashcards

from kafkadojo.reference.cleaner import dirty_ratio, SegmentInfo


@drill_kind("compaction.dirty-ratio", "number",
            summary="a log's dirty ratio, in percent")
def ratio(rng, level):
    segments, base = [], 0
    for _ in range(3 + level):
        size = rng.randrange(1, 10) * 100
        segments.append(SegmentInfo(base, size, 0, 0))
        base += 10
    first_dirty = segments[rng.randrange(0, len(segments) - 1)].base_offset
    uncleanable = segments[-1].base_offset          # the active segment
    answer = round(100 * dirty_ratio(segments, first_dirty, uncleanable))
    shown = ", ".join(f"{s.base_offset}: {s.size_bytes} B" for s in segments)
    return ((tuple(segments), first_dirty, uncleanable),
            f"Segments (base offset: size) {shown}; the last is active. The cleaner has "
            f"cleaned up to offset {first_dirty}. What is the dirty ratio, in whole percent?",
            answer,
            "dirty ratio = dirty bytes / (clean + dirty bytes), counting closed segments only "
            "(the active one is never cleaned); the cleaner takes the log once it is above "
            "min.cleanable.dirty.ratio (50%).")


flashcards("compaction", (
    ("Why can a deleted key come back in a compacted topic?",
     "A tombstone is removed delete.retention.ms after the cleaner first keeps it; a "
     "consumer (or changelog restore) that reads the log more slowly than that misses the "
     "tombstone but may have seen the older value, so the key lives on for it."),
))
