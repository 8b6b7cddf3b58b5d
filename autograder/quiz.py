"""Grading a quiz (``kafkadojo drill --export``): each ``answer_N()`` runs in the sandbox
like any exercise, the grader takes back only text (or numbers), and the drill's own check
judges it against the engine's answer. A hang, a crash or junk costs that question alone."""

import time

from .grader import defines, load_failure
from .sandbox import Sandbox, safe_repr

MAX_ANSWER_CHARS = 2_000
QUESTION_BUDGET_S = 10.0


def as_text(value):
    """The answer as the learner would have typed it, or None if it is no answer: text, a
    number, yes/no, a list of numbers, or members mapped to lists of numbers."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return value if len(value) <= MAX_ANSWER_CHARS else None
    if isinstance(value, int):
        return str(value) if abs(value) < 10 ** 30 else None
    if isinstance(value, (list, tuple, set, frozenset)) and len(value) <= 1_000 and all(
            isinstance(item, int) and not isinstance(item, bool) for item in value):
        return ", ".join(map(str, value)) or "none"
    if isinstance(value, dict) and len(value) <= 100 and all(
            isinstance(member, str) and as_text(partitions) is not None
            and not isinstance(partitions, (str, int, dict))
            for member, partitions in value.items()):
        return "; ".join(f"{member}: {' '.join(map(str, partitions))}"
                         for member, partitions in value.items())
    return None


def grade_answer(units, number, question, points, budget_s=QUESTION_BUDGET_S, skipped=None):
    """``(feedback, points earned)`` for the learner's ``answer_{number}()``."""
    function = f"answer_{number}"
    with Sandbox(units, deadline=time.monotonic() + budget_s) as sandbox:
        sandbox.skipped.update(skipped or {})
        sandbox.start()
        if skipped is not None:
            skipped.update(sandbox.skipped)
        if function not in sandbox.defined:
            defining = [i for i, unit in enumerate(units) if defines(unit.source, function)]
            if defining and defining[-1] in sandbox.unit_failures:
                unit = units[defining[-1]]
                return f"{function}: {load_failure(unit, sandbox.unit_failures[defining[-1]])}", 0
            return f"{function}: there is no function named {function}", 0
        outcome = sandbox.call(function)
    if not outcome.ok:
        return f"{function}() {outcome.describe()}", 0
    text = as_text(outcome.value)
    if text is None:
        return (f"{function}() returned {safe_repr(outcome.value, 120)}: answer with text, "
                f"as you would type it (\"3\", \"0, 2\", \"none\")", 0)
    verdict = question.check(text)
    if verdict.right:
        return f"{function}: right ({verdict.expected}).", points
    read_as = f" (read as: {verdict.understood})" if verdict.understood else ""
    return (f"{function}: not right. You answered {safe_repr(text, 200)}{read_as}; the "
            f"engine's answer is {verdict.expected}. {verdict.explanation}\n"
            f"Replay it: {question.replay}", 0)
