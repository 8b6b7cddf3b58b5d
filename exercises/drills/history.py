"""What a learner has drilled, and what comes up next: spaced repetition with FSRS (the
``fsrs`` package's Scheduler), one card per drill kind, kept in a small SQLite file in the
user's data folder (``platformdirs``; ``KAFKADOJO_DATA_DIR`` overrides it).

A kind answered right comes back later and later; one answered wrong comes back soon. A
history file that cannot be read is set aside (renamed, never deleted) and a new one
started: drilling never stops on a broken file.
"""

import json
import os
import sqlite3
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from . import CONCEPTS, kinds_for, load_kinds

SCHEMA = """
CREATE TABLE IF NOT EXISTS cards (kind TEXT PRIMARY KEY, card TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS reviews (at TEXT NOT NULL, kind TEXT NOT NULL,
    concept TEXT NOT NULL, level INTEGER NOT NULL, seed INTEGER NOT NULL,
    right INTEGER NOT NULL);
"""


def default_path():
    folder = os.environ.get("KAFKADOJO_DATA_DIR")
    if not folder:
        import platformdirs
        folder = platformdirs.user_data_dir("kafkadojo")
    return Path(folder) / "drills.sqlite"


class History:
    def __init__(self, path=None, warn=lambda text: print(text, file=sys.stderr)):
        from fsrs import Scheduler
        self.path = Path(path) if path else default_path()
        self.scheduler = Scheduler()
        self.warn = warn
        self.db = self._open()

    def _open(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = None
        try:
            db = sqlite3.connect(self.path)
            db.executescript(SCHEMA)
            for (text,) in db.execute("SELECT card FROM cards"):
                json.loads(text)
            return db
        except (sqlite3.DatabaseError, ValueError) as error:
            aside = self.path.with_name(f"{self.path.name}.unreadable-{int(time.time())}")
            if db is not None:
                db.close()
            self.path.rename(aside)
            self.warn(f"kafkadojo drill: the history file {self.path} could not be read "
                      f"({error}); it was moved to {aside} and a new one started")
            db = sqlite3.connect(self.path)
            db.executescript(SCHEMA)
            return db

    def close(self):
        self.db.close()

    # -- the schedule -------------------------------------------------------------------
    def card(self, kind):
        from fsrs import Card
        row = self.db.execute("SELECT card FROM cards WHERE kind = ?", (kind,)).fetchone()
        return Card.from_dict(json.loads(row[0])) if row else None

    def record(self, question, right, now=None):
        """A review: the kind's card moves by FSRS (Good if right, Again if not)."""
        from fsrs import Card, Rating
        now = now or datetime.now(timezone.utc)
        card = self.card(question.kind) or Card()
        card, _ = self.scheduler.review_card(card, Rating.Good if right else Rating.Again,
                                             review_datetime=now)
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO cards VALUES (?, ?)",
                            (question.kind, json.dumps(card.to_dict())))
            self.db.execute("INSERT INTO reviews VALUES (?, ?, ?, ?, ?, ?)",
                            (now.isoformat(), question.kind, question.concept, question.level,
                             question.seed, int(bool(right))))

    def next_kind(self, rng, concept=None, now=None):
        """What to drill next: the kind most overdue; else one never drilled (concepts in
        turn); else the one due soonest."""
        now = now or datetime.now(timezone.utc)
        kinds = kinds_for(concept)
        due, unseen = [], []
        for kind in kinds:
            card = self.card(kind)
            if card is None:
                unseen.append(kind)
            else:
                due.append((card.due, kind))
        overdue = sorted(entry for entry in due if entry[0] <= now)
        if overdue:
            return overdue[0][1]
        if unseen:
            drilled = {row[0] for row in self.db.execute("SELECT DISTINCT concept FROM reviews")}
            fresh = [k for k in unseen if load_kinds()[k].concept not in drilled] or unseen
            return rng.choice(fresh)
        return min(due)[1]

    # -- progress -------------------------------------------------------------------------
    def stats(self):
        """``{concept: (reviews, right)}`` and ``[(day, reviews, right)]``, oldest day first."""
        by_concept = {concept: (0, 0) for concept in CONCEPTS}
        for concept, count, right in self.db.execute(
                "SELECT concept, COUNT(*), SUM(right) FROM reviews GROUP BY concept"):
            by_concept[concept] = (count, right or 0)
        days = [(day, count, right or 0) for day, count, right in self.db.execute(
            "SELECT substr(at, 1, 10), COUNT(*), SUM(right) FROM reviews GROUP BY 1 ORDER BY 1")]
        return by_concept, days


def format_stats(history, width=40):
    """Progress as a text chart: per day, a bar of reviews (# right, . wrong); then per
    concept, the share answered right."""
    by_concept, days = history.stats()
    if not days:
        return "No drill recorded yet: run  kafkadojo drill"
    most = max(count for _, count, _ in days)
    lines = ["Reviews per day (# right, . wrong):"]
    for day, count, right in days[-30:]:
        scale = width / most if most > width else 1
        bar = "#" * round(right * scale) + "." * round((count - right) * scale)
        lines.append(f"  {day}  {bar} {right}/{count}")
    lines.append("")
    lines.append("By concept (right / reviews):")
    for concept, (count, right) in by_concept.items():
        share = f"{right / count:>4.0%}" if count else "   -"
        lines.append(f"  {concept:<14} {share}  {right}/{count}")
    return "\n".join(lines)
