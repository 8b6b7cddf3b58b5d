"""Interview drills: short questions generated from a seed, answered by the reference engine.

A *drill kind* is one sort of question ("which partition does this key go to?"). It lives
in its concept's module (``partitioning.py``, ``replication.py``, ...) and registers itself
with ``@drill_kind``: given a random generator and a level, it returns the question's
inputs, its prompt, and the engine's answer. Nothing here knows any rule of Kafka's: the
answer is always computed by the engine's own function, so a drill can never disagree with
the course.

    from kafkadojo.exercises.drills import ask
    question = ask("partitioning.key-partition", seed=7, level=1)
    print(question.prompt)
    question.check("2")          # -> Verdict(right, shown, explanation)

A flashcard is a kind whose answer the engine cannot check ("what does
min.insync.replicas protect against?"): the learner answers, reads a model answer, and
rates themselves.
"""

import importlib
import random
import re
from dataclasses import dataclass, field

from .picture import Picture

CONCEPTS = ("partitioning", "log", "compaction", "replication", "isr", "groups", "offsets",
            "idempotence", "transactions", "security", "quotas", "wire")
LEVELS = (1, 2, 3)      # 1: a small case; 3: more members, brokers, faults or configs


@dataclass(frozen=True)
class Verdict:
    right: bool
    understood: str             # the answer as the drill read it ("" if it could not)
    expected: str               # the engine's answer, as a person would write it
    explanation: str


@dataclass(frozen=True)
class Question:
    kind: str
    concept: str
    level: int
    seed: int
    prompt: str
    answer: object              # the engine's answer, in the form ``form`` reads
    form: str                   # "number", "numbers", "set", "assignment", "word", "card"
    explanation: str
    inputs: tuple = ()          # what the engine was asked, for tests and replays
    picture: Picture = None     # what the engine saw, shown after the answer

    @property
    def flashcard(self):
        return self.form == "card"

    @property
    def replay(self):
        return f"kafkadojo drill --kind {self.kind} --level {self.level} --replay {self.seed}"

    def check(self, text):
        """Judge a typed answer: forms a person would type are accepted (spaces, commas,
        brackets; any order where order does not matter)."""
        expected = shown(self.answer, self.form)
        try:
            understood = parse(text, self.form)
        except ValueError as error:
            return Verdict(False, "", expected, f"{error}. {self.explanation}")
        return Verdict(understood == normal(self.answer, self.form),
                       shown(understood, self.form), expected, self.explanation)


@dataclass(frozen=True)
class DrillKind:
    name: str                   # "<concept>.<what>", e.g. "partitioning.key-partition"
    concept: str
    form: str
    make: object                # make(rng, level) -> (inputs, prompt, answer, explanation[,
                                #                      picture])
    levels: tuple = LEVELS
    summary: str = ""


KINDS = {}


def drill_kind(name, form, summary="", levels=LEVELS):
    """Register ``make(rng, level) -> (inputs, prompt, answer, explanation)`` as a drill
    kind of the concept its name starts with; ``make`` may add a ``Picture`` (what the
    engine saw) as a fifth item."""
    concept = name.split(".")[0]
    if concept not in CONCEPTS:
        raise ValueError(f"drill kind {name!r}: its name starts with a concept of {CONCEPTS}")
    if form not in FORMS:
        raise ValueError(f"drill kind {name!r}: form {form!r} is not one of {sorted(FORMS)}")

    def register(make):
        if name in KINDS:
            raise ValueError(f"drill kind {name!r} is registered twice")
        KINDS[name] = DrillKind(name, concept, form, make, tuple(levels), summary)
        return make
    return register


def load_kinds():
    """Import every concept's drill module (each registers its kinds); returns KINDS."""
    for concept in CONCEPTS:
        try:
            importlib.import_module(f"{__name__}.{concept}")
        except ModuleNotFoundError as missing:
            if missing.name != f"{__name__}.{concept}":
                raise
    return KINDS


def ask(kind, seed, level=1):
    """The question of ``kind`` for ``seed`` and ``level``: always the same one."""
    kinds = load_kinds()
    if kind not in kinds:
        raise ValueError(f"no drill kind {kind!r}; there are: {', '.join(sorted(kinds))}")
    found = kinds[kind]
    if level not in found.levels:
        raise ValueError(f"{kind} has levels {list(found.levels)}, not {level!r}")
    rng = random.Random(f"{kind}/{level}/{seed}")
    inputs, prompt, answer, explanation, *picture = found.make(rng, level)
    return Question(kind, found.concept, level, seed, prompt, answer, found.form,
                    explanation, tuple(inputs), picture[0] if picture else None)


def kinds_for(concept=None):
    kinds = load_kinds()
    if concept is not None and concept not in CONCEPTS:
        raise ValueError(f"no concept {concept!r}; the concepts are: {', '.join(CONCEPTS)}")
    return sorted(k for k, v in kinds.items() if concept is None or v.concept == concept)


# -- reading answers --------------------------------------------------------------------------
def _numbers(text):
    found = re.findall(r"-?\d+", text)
    if not found:
        raise ValueError(f"expected numbers, read none in {text!r}")
    return [int(n) for n in found]


def _number(text):
    numbers = _numbers(text)
    if len(numbers) != 1:
        raise ValueError(f"expected one number, read {len(numbers)} in {text!r}")
    return numbers[0]


def _word(text):
    word = text.strip().strip(".!").upper().replace(" ", "_")
    if not word:
        raise ValueError("expected a word, read nothing")
    return word


def _assignment(text):
    """``a: 0 1; b: 2`` (or one member per line, or ``a=0,1 b=2``): member -> sorted
    numbers."""
    result = {}
    for part in re.split(r"[;\n]|(?<=\d)\s+(?=[A-Za-z])", text):
        if not part.strip():
            continue
        match = re.match(r"\s*([\w.-]+)\s*[:=]\s*(.*)$", part)
        if match is None:
            raise ValueError(f"write each member as 'name: partitions', not {part.strip()!r}")
        member, rest = match.groups()
        result[member] = sorted(int(n) for n in re.findall(r"-?\d+", rest))
    if not result:
        raise ValueError("expected 'member: partitions; ...', read nothing")
    return result


NOTHING = ("", "-", "none", "nothing", "no", "empty", "[]", "{}", "()")

FORMS = {
    "number": (_number, lambda answer: answer, str),
    "numbers": (_numbers, list, lambda a: ", ".join(map(str, a))),
    "set": (lambda text: [] if text.strip().lower().strip(".") in NOTHING
            else sorted(set(_numbers(text))), lambda answer: sorted(set(answer)),
            lambda a: ", ".join(map(str, a)) or "none"),
    "assignment": (_assignment, lambda answer: {m: sorted(p) for m, p in answer.items()},
                   lambda a: "; ".join(f"{m}: {' '.join(map(str, p)) or '-'}"
                                       for m, p in sorted(a.items()))),
    "word": (_word, lambda answer: answer.upper(), str),
    "card": (lambda text: text.strip(), lambda answer: answer, str),
}


def parse(text, form):
    return FORMS[form][0](text or "")


def normal(answer, form):
    return FORMS[form][1](answer)


def shown(answer, form):
    return FORMS[form][2](normal(answer, form) if form != "card" else answer)


@dataclass
class Session:
    """A run of drills: what was asked and how it went, per concept."""
    results: list = field(default_factory=list)     # (question, right)

    def record(self, question, right):
        self.results.append((question, right))

    def by_concept(self):
        scores = {}
        for question, right in self.results:
            done, good = scores.get(question.concept, (0, 0))
            scores[question.concept] = (done + 1, good + bool(right))
        return scores

    def weakest(self, count=3):
        scores = self.by_concept()
        return sorted(scores, key=lambda c: (scores[c][1] / scores[c][0], c))[:count]
