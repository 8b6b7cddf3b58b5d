"""Drills: what compaction keeps."""

from kafkadojo.reference.cleaner import (SegmentInfo, build_offset_map, dirty_ratio,
                                          should_retain_record)

from . import drill_kind
from ._cards import flashcards
from .picture import Picture


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
            "min.cleanable.dirty.ratio (50%).",
            Picture(rows=(("segments", tuple(
                (f"{s.base_offset}: {s.size_bytes} B",
                 "plain" if s.base_offset >= uncleanable else
                 "uncommitted" if s.base_offset >= first_dirty else "committed")
                for s in segments)),),
                    legend=(("committed", "clean"), ("uncommitted", "dirty"),
                            ("plain", "active, never cleaned"))))


@drill_kind("compaction.keeps", "set", summary="which records a cleaning pass keeps")
def keeps(rng, level):
    keys = ("a", "b", "c", "d")[:level + 1]
    count = rng.randrange(6, 8 + 2 * level)
    records = []                            # (offset, key, value or None for a tombstone)
    for offset in range(count):
        tombstone = level > 1 and rng.random() < 0.25
        records.append((offset, rng.choice(keys), None if tombstone else f"v{offset}"))
    active = rng.randrange(count - 3, count)    # the active segment's base offset
    second_pass = level == 3 and rng.random() < 0.5
    # one record per batch, one closed segment; a tombstone's delete horizon is stamped by
    # the first pass that keeps it (KIP-534): on a later pass past the horizon, it goes
    segments = [(0, [(offset, [(offset, key)]) for offset, key, _ in records[:active]])]
    offset_map, latest = build_offset_map(segments, 0, active, capacity=1_000)
    horizon, now = (1_000, 2_000) if second_pass else (-1, 0)
    answer = [offset for offset, key, value in records
              if should_retain_record(offset, key, value is not None, horizon, offset_map,
                                      latest, now)]
    shown = ", ".join(f"{o}:{k}={'null' if v is None else v}" for o, k, v in records)
    return ((tuple(records), active, second_pass),
            f"A compacted partition holds (offset:key=value) {shown}. The active segment "
            f"starts at offset {active}; everything below it is clean-able (below the HW, "
            f"past min.compaction.lag.ms). "
            + ("This is a later pass: every tombstone here was kept by an earlier pass more "
               "than delete.retention.ms ago. " if second_pass else
               "This is the first pass over this log. ")
            + "Which offsets does the cleaner keep?",
            answer,
            "The cleaner maps each key to its latest offset in the cleanable part, keeps only "
            "those latest records, and never touches the active segment. A tombstone is kept "
            "(Kafka 3.1+, KIP-534) until delete.retention.ms after the pass that first kept "
            "it; offsets never change, so the log has gaps.",
            Picture(rows=(("log", tuple(
                (f"{o}:{k}={'null' if v is None else v}",
                 "committed" if o in answer else "lost") for o, k, v in records)),),
                    caption=f"the active segment starts at {active}",
                    legend=(("committed", "kept"), ("lost", "removed"))))


flashcards("compaction", (
    ("Why can a deleted key come back in a compacted topic?",
     "A tombstone is removed delete.retention.ms after the cleaner first keeps it; a "
     "consumer (or changelog restore) that reads the log more slowly than that misses the "
     "tombstone but may have seen the older value, so the key lives on for it."),
))
