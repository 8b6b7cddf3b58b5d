"""``kafkadojo drill``: one question at a time in a terminal, the answer typed, the verdict and
the engine's explanation shown; a replay line for every question; at the end (or when the
time of a mock interview is up) a score per concept and the weakest concepts named."""

import random
import time

from . import CONCEPTS, Session, ask, kinds_for, load_kinds


def choose(rng, concept=None, kind=None, level=None):
    """The next question's (kind, seed, level): a random kind of ``concept`` (or of every
    concept, concepts equally likely), a random seed."""
    if kind is None:
        concepts = [concept] if concept else [c for c in CONCEPTS if kinds_for(c)]
        kind = rng.choice(kinds_for(rng.choice(concepts)))
    return kind, rng.randrange(10_000), _level(load_kinds()[kind].levels, level)


def _level(levels, wanted):
    """The level asked for, or the highest the kind has below it (a flashcard has one)."""
    if wanted is None:
        return levels[0]
    return max(level for level in levels if level <= wanted)


def run(read=input, write=print, concept=None, kind=None, level=None, seed=None, count=5,
        minutes=None, clock=time.monotonic, rng=None, history=None):
    """Ask questions until ``count`` are done (``seed`` given: that one question only), the
    ``minutes`` are up, or the input ends (EOF, or 'q'). With a ``history``, spaced
    repetition picks the kinds (the most overdue first) and every answer is recorded.
    Returns the Session."""
    rng = rng or random.Random()
    session = Session()
    deadline = clock() + minutes * 60 if minutes else None
    asked = 0
    while True:
        if seed is not None and asked == 1:
            break
        if deadline is None and seed is None and asked >= count:
            break
        if deadline is not None and clock() >= deadline:
            write("\nTime is up.")
            break
        if seed is not None:
            question = ask(kind, seed, level or 1)
        elif history is not None and kind is None:
            question = ask(*choose(rng, kind=history.next_kind(rng, concept), level=level))
        else:
            question = ask(*choose(rng, concept, kind, level))
        asked += 1
        write(f"\n[{asked}] {question.kind}, level {question.level}  (replay: "
              f"{question.replay})")
        write(question.prompt)
        try:
            typed = read("> ")
        except EOFError:
            write("")
            break
        if typed.strip().lower() in ("q", "quit", "exit"):
            break
        if question.flashcard:
            write(f"Model answer: {question.answer}")
            try:
                rating = read("Did you have it? [y/n] ")
            except EOFError:
                break
            right = rating.strip().lower().startswith("y")
            session.record(question, right)
            if history is not None:
                history.record(question, right)
            continue
        verdict = question.check(typed)
        session.record(question, verdict.right)
        if history is not None:
            history.record(question, verdict.right)
        if verdict.right:
            write(f"Right: {verdict.expected}. {verdict.explanation}")
        else:
            read_as = f" (read as: {verdict.understood})" if verdict.understood else ""
            write(f"Not quite{read_as}. The engine says: {verdict.expected}. "
                  f"{verdict.explanation}")
        if question.picture is not None:
            write(question.picture.text())
    write(summary(session))
    return session


def summary(session):
    scores = session.by_concept()
    if not scores:
        return "No question answered."
    lines = ["", "Score by concept:"]
    for concept in CONCEPTS:
        if concept in scores:
            done, good = scores[concept]
            lines.append(f"  {concept:<14} {good}/{done}")
    total = sum(good for _, good in scores.values())
    lines.append(f"  {'all':<14} {total}/{sum(done for done, _ in scores.values())}")
    weak = [c for c in session.weakest() if scores[c][1] < scores[c][0]]
    if weak:
        lines.append(f"Weakest: {', '.join(weak)}")
    return "\n".join(lines)
