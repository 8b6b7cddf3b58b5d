"""Mutation testing of the hidden properties: how many realistic mistakes do they catch?

For each exercise, every small mistake a learner could make in the engine's own solution
(a comparison flipped, ``<`` for ``<=``, a constant off by one, ``and`` for ``or``, ``min`` for
``max``, a statement dropped, a condition always true or false, two arguments swapped, a
``sorted`` forgotten) is applied, one at a time, to the function in the exercise's solution
module (``exercises.catalog.solution_module``), and the result is graded by the real grader
(``autograder.grader.grade_source``, learner code in its sandbox). A mutant is *killed* when
it loses any point, and *survives* otherwise. A survivor is either equivalent (no input Kafka
can produce tells it apart: ``EQUIVALENT`` below says why, per mutant) or a gap in the
properties.

    python benchmarks/mutants.py                       # every exercise, 40 mutants each
    python benchmarks/mutants.py --exercise offsets.partition_lag --max 0   # all of one
    make mutants                                       # the same as the first line

Our own mutation list over the AST (not mutmut): mutmut mutates files on disk and runs a
test command per mutant, while here each mutant is one function of a generated module,
graded in memory, and the operators are the mistakes the course is about. Progress goes to
stdout; the report to ``build/mutants/report.md`` and ``report.json``. It is slow (about a
second per mutant): it is never part of ``make test``.
"""

import argparse
import ast
import copy
import inspect
import json
import random
import sys
import textwrap
import time
from dataclasses import asdict, dataclass
from pathlib import Path

DEFAULT_MAX = 40            # mutants per exercise, sampled evenly from all of them (seeded)


@dataclass(frozen=True)
class Mutant:
    exercise: str           # exercise id, e.g. "log.should_roll"
    function: str           # the function of its solution that the mutant changes
    line: int               # line of that function's source (1 = its def)
    column: int             # where on that line the mutated code starts
    original: str           # that line, stripped
    change: str             # what the mutation does, e.g. "`<` -> `<=`"
    source: str             # the mutated function's whole source

    @property
    def key(self):
        """Stable across unrelated edits: the function, the line's text, where on it, and
        the change."""
        return f"{self.function}: {self.original} :: {self.change} @{self.column}"


# -- the mutation operators ---------------------------------------------------------------------

COMPARISONS = {ast.Lt: (ast.LtE, ast.Gt), ast.LtE: (ast.Lt, ast.GtE), ast.Gt: (ast.GtE, ast.Lt),
               ast.GtE: (ast.Gt, ast.LtE), ast.Eq: (ast.NotEq,), ast.NotEq: (ast.Eq,),
               ast.In: (ast.NotIn,), ast.NotIn: (ast.In,), ast.Is: (ast.IsNot,),
               ast.IsNot: (ast.Is,)}
ARITHMETIC = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.FloorDiv, ast.FloorDiv: ast.Mult,
              ast.Mod: ast.FloorDiv, ast.BitAnd: ast.BitOr, ast.BitOr: ast.BitAnd,
              ast.BitXor: ast.BitOr, ast.LShift: ast.RShift, ast.RShift: ast.LShift}
SWAPPED_CALLS = {"min": "max", "max": "min", "any": "all", "all": "any"}
UNWRAPPED_CALLS = ("sorted", "reversed")
SYMBOLS = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!=",
           ast.In: "in", ast.NotIn: "not in", ast.Is: "is", ast.IsNot: "is not", ast.Add: "+",
           ast.Sub: "-", ast.Mult: "*", ast.FloorDiv: "//", ast.Mod: "%", ast.BitAnd: "&",
           ast.BitOr: "|", ast.BitXor: "^", ast.LShift: "<<", ast.RShift: ">>"}


class _Mutator(ast.NodeTransformer):
    """Walks a function and applies the ``target``-th of all the mutations it offers (or,
    with ``target=None``, only counts them). Every walk offers the same mutations in the
    same order, so a mutant is just its number. Each visitor offers mutations of the node
    as it was (``options``), after its children had theirs."""

    def __init__(self, target=None):
        self.target = target
        self.offered = 0
        self.applied = None             # (line, column, change) once applied

    def _choose(self, node, options):
        """``options``: ``(change, make)`` pairs; the node, or its mutant if one is chosen."""
        chosen = node
        for change, make in options:
            if self.offered == self.target:
                self.applied = (node.lineno, node.col_offset, change)
                chosen = ast.copy_location(make(), node)
            self.offered += 1
        return chosen

    def visit(self, node):
        node = super().visit(node)
        if isinstance(node, ast.stmt) and not _is_docstring(node) and not isinstance(
                node, (ast.FunctionDef, ast.Return, ast.Pass)):
            node = self._choose(node, [("statement dropped", ast.Pass)])
        return node

    def visit_arguments(self, node):
        return node                     # defaults: the grader passes every argument

    def visit_Compare(self, node):
        self.generic_visit(node)
        options = []
        for index, op in enumerate(node.ops):
            for other in COMPARISONS.get(type(op), ()):
                def make(index=index, other=other):
                    ops = list(node.ops)
                    ops[index] = other()
                    return ast.Compare(node.left, ops, node.comparators)
                options.append((f"`{SYMBOLS[type(op)]}` -> `{SYMBOLS[other]}`", make))
        return self._choose(node, options)

    def visit_Constant(self, node):
        if not isinstance(node.value, int) or isinstance(node.value, bool):
            return node
        return self._choose(node, [(f"{node.value} -> {node.value + delta}",
                                    lambda delta=delta: ast.Constant(node.value + delta))
                                   for delta in (1, -1)])

    def visit_BoolOp(self, node):
        self.generic_visit(node)
        other = ast.Or if isinstance(node.op, ast.And) else ast.And
        names = {ast.And: "and", ast.Or: "or"}
        return self._choose(node, [(f"`{names[type(node.op)]}` -> `{names[other]}`",
                                    lambda: ast.BoolOp(other(), node.values))])

    def visit_BinOp(self, node):
        self.generic_visit(node)
        other = ARITHMETIC.get(type(node.op))
        if other is None:
            return node
        return self._choose(node, [(f"`{SYMBOLS[type(node.op)]}` -> `{SYMBOLS[other]}`",
                                    lambda: ast.BinOp(node.left, other(), node.right))])

    def visit_AugAssign(self, node):
        self.generic_visit(node)
        other = ARITHMETIC.get(type(node.op))
        if other is None:
            return node
        return self._choose(node, [(f"`{SYMBOLS[type(node.op)]}=` -> `{SYMBOLS[other]}=`",
                                    lambda: ast.AugAssign(node.target, other(), node.value))])

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        if not isinstance(node.op, (ast.Not, ast.USub)):
            return node
        name = "not " if isinstance(node.op, ast.Not) else "-"
        return self._choose(node, [(f"`{name}` dropped", lambda: node.operand)])

    def visit_If(self, node):
        self.generic_visit(node)
        return self._choose(node, [(f"condition always {value}",
                                    lambda value=value: ast.If(ast.Constant(value), node.body,
                                                               node.orelse))
                                   for value in (True, False)])

    def visit_List(self, node):
        self.generic_visit(node)
        def make(index):
            elements = list(node.elts)
            elements[index], elements[index + 1] = elements[index + 1], elements[index]
            return ast.List(elements, node.ctx)
        return self._choose(node, [(f"elements {index + 1} and {index + 2} swapped",
                                    lambda index=index: make(index))
                                   for index in range(len(node.elts) - 1)])

    def visit_Call(self, node):
        self.generic_visit(node)
        name = node.func.id if isinstance(node.func, ast.Name) else None
        options = []
        if name in SWAPPED_CALLS:
            swapped = SWAPPED_CALLS[name]
            options.append((f"`{name}` -> `{swapped}`", lambda: ast.Call(
                ast.Name(swapped, ast.Load()), node.args, node.keywords)))
        if name in UNWRAPPED_CALLS and len(node.args) == 1 and not node.keywords:
            options.append((f"`{name}(...)` dropped", lambda: node.args[0]))
        # min and max do not care about their order: swapping their arguments changes nothing.
        for index in range(len(node.args) - 1 if name not in ("min", "max") else 0):
            def make(index=index):
                args = list(node.args)
                args[index], args[index + 1] = args[index + 1], args[index]
                return ast.Call(node.func, args, node.keywords)
            if not any(isinstance(a, ast.Starred) for a in node.args[index:index + 2]):
                options.append((f"arguments {index + 1} and {index + 2} swapped", make))
        return self._choose(node, options)


def _is_docstring(node):
    return (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str))


def function_source(function):
    return textwrap.dedent(inspect.getsource(function))


def mutants_of(exercise_id, function):
    """Every mutant of ``function`` (deduplicated, none the same as the original)."""
    source = function_source(function)
    lines = source.splitlines()
    tree = ast.parse(source)
    counter = _Mutator()
    counter.visit(copy.deepcopy(tree))
    original = ast.unparse(tree)
    found, seen = [], {original}
    for number in range(counter.offered):
        mutator = _Mutator(number)
        mutated = ast.fix_missing_locations(mutator.visit(copy.deepcopy(tree)))
        text = ast.unparse(mutated)
        if text in seen:
            continue
        seen.add(text)
        line, column, change = mutator.applied
        indent = len(lines[line - 1]) - len(lines[line - 1].lstrip())
        found.append(Mutant(exercise_id, function.__name__, line, column - indent,
                            lines[line - 1].strip(), change, text + "\n"))
    return found


def exercise_mutants(exercise, limit=DEFAULT_MAX):
    """Mutants of an exercise's function, its helpers and internals: all, or ``limit`` of
    them sampled with a seed of the exercise's id (the same ones every run)."""
    found = [m for f in (*exercise.helpers, exercise.reference, *exercise.internals)
             for m in mutants_of(exercise.id, f)]
    if limit and len(found) > limit:
        chosen = sorted(random.Random(exercise.id).sample(range(len(found)), limit))
        found = [found[i] for i in chosen]
    return found


def mutated_module(mutant):
    """The exercise's solution module with the mutant in place of its function."""
    from kafkadojo.exercises.catalog import BY_ID, solution_module
    exercise = BY_ID[mutant.exercise]
    module = solution_module(exercise.assignment)
    function = next(f for f in (*exercise.helpers, exercise.reference, *exercise.internals)
                    if f.__name__ == mutant.function)
    original = function_source(function)
    if original not in module:
        raise ValueError(f"{mutant.function} is not in the {exercise.assignment} solution module")
    return module.replace(original, mutant.source, 1)


# -- grading ------------------------------------------------------------------------------------

@dataclass
class Verdict:
    mutant: Mutant
    killed: bool
    lost: str               # "property: anomaly" of the first property that lost points
    seconds: float


def grade(mutant):
    from kafkadojo.autograder.grader import grade_source
    start = time.perf_counter()
    report = grade_source(mutated_module(mutant), [mutant.exercise],
                          submission=f"mutant of {mutant.function}")
    result = report.exercises[0]
    failed = next((p for p in result.properties if not p.passed), None)
    lost = f"{failed.name}: {failed.anomaly}" if failed else ""
    return Verdict(mutant, result.earned < result.points, lost, time.perf_counter() - start)


# Survivors judged equivalent, by Mutant.key: why no input Kafka can produce tells them apart.
def _equivalent(function, line, changes, why):
    """``changes``: ``"change @column"`` (the column within the stripped line)."""
    return {f"{function}: {line} :: {change}": why for change in changes}


ONLY_KNOWN_REQUESTS = ("the broker asks only about the requests it handles (CLIENT_APIS): what an "
                       "unknown name gets is never used")
NO_EMPTY_TOPIC = "a topic has at least one partition: Kafka never asks about zero"
NO_LEFTOVER = ("dead code: once extra is 0, no partition is left after every member is filled "
               "to its quota, so may_take_one_more is never popped")
OPEN_CHOICE = ("the contract accepts any balanced assignment that keeps as many valid claims as "
               "balance allows, not only Kafka's")
ANY_ORDER = "the contract does not order a member's partitions"
# With different subscriptions the contract asks what Kafka's own general-case tests check
# (AbstractStickyAssignorTest's verifyValidityAndBalance): every partition owned once by a
# subscriber, Kafka's isBalanced, and nothing moved when the valid claims are already complete
# and balanced. How the engine's GeneralAssignmentBuilder gets there (a first pass over the new
# partitions, moves back to earlier-generation owners, PartitionMovements, the balance-score
# revert) is Kafka's way, not the contract: a learner may balance their own way.
GENERAL = ("with different subscriptions the contract is validity, balance and no move from "
           "complete balanced claims, not Kafka's way of balancing")
GENERAL_DIFFERS = GENERAL + " (its answers differ from the engine's, and keep that contract)"
GENERAL_SAME = GENERAL + (" (its answers were the engine's on 3,000 random groups: different "
                          "subscriptions and generations, scattered and skewed claims)")
FAST_PATH = "a fast path of isBalanced: when it does not answer, the loop below gives the same"
STOPS_EARLY_ONLY = ("balanced() only lets a walk stop early: answering 'not balanced' more often "
                    "costs a walk that moves nothing, as reassign checks each move itself")
SELF_PAIR = "it also pairs each member with itself, which adds 0 to the sum"
EQUIVALENT = {
    **_equivalent("partition_for_key", "if num_partitions < 1:",
                  ("1 -> 0 @20", "condition always False @0", "statement dropped @0"),
                  NO_EMPTY_TOPIC),
    **_equivalent("partition_for_key", 'raise ValueError(f"a topic has at least one partition; '
                  'got num_partitions={num_partitions}")', ("statement dropped @0",), NO_EMPTY_TOPIC),
    **_equivalent("next_high_watermark", "candidate = min(candidate, leader_leo)",
                  ("statement dropped @0",),
                  "the leader never sees a follower LEO above its own: a fetch beyond its LEO is "
                  "OFFSET_OUT_OF_RANGE and moves nothing, and a new leader resets its followers' "
                  "state (Partition.updateFollowerFetchState, makeLeader)"),
    **_equivalent("truncation_offset", "if leader_epoch == UNDEFINED_EPOCH:",
                  ("condition always False @0", "statement dropped @0"),
                  "an undefined epoch comes with an undefined offset (LeaderEpochFileCache."
                  "endOffsetFor), caught by the branch before; and without this branch the "
                  "follower's own lookup of epoch -1 is undefined too, so the next branch "
                  "returns the same min(leader_end_offset, follower_leo), True"),
    **_equivalent("member_order", "return (0, member.group_instance_id, member.member_id)",
                  ("0 -> -1 @8",), "static members (-1) still sort before dynamic ones (1)"),
    **_equivalent("member_order", 'return (1, member.member_id, "")', ("1 -> 2 @8",),
                  "dynamic members (2) still sort after static ones (0)"),
    **_equivalent("range_assign", "for topic in sorted(partitions_per_topic):",
                  ("`sorted(...)` dropped @13",),
                  "topics are assigned independently, and each member's list is sorted at the "
                  "end"),
    **_equivalent("range_assign", "return {member_id: sorted(owned) for member_id, owned in "
                  "assignment.items()}", ("`sorted(...)` dropped @19",),
                  "topics in sorted order, each a contiguous ascending range: already sorted"),
    **_equivalent("murmur2", 'k = int.from_bytes(data[i:i + 4], "little")', ("4 -> 5 @30",),
                  "the fifth byte lands in bits 32-39 of k, and k is only used as "
                  "(k * M) & MASK, which depends on k mod 2**32 alone"),
    **_equivalent("deletable_segments", "kept = delete_while(below_log_start, 0)",
                  ("0 -> -1 @37",),
                  "from index -1 the pass first looks at segment 0's base offset, which is never "
                  "above the log start offset (nor the HW), so it steps to index 0 and goes on "
                  "exactly as from 0"),
    **_equivalent("valid_claims", "if topic in member.topics and 0 <= partition < "
                  "partitions_per_topic.get(topic, 0):", ("0 -> -1 @30", "0 -> -1 @79"),
                  "partition numbers are never negative: -1 <= p and p < -1 answer as 0 <= p and "
                  "p < 0 do"),
    **_equivalent("valid_claims", "owners[tp] = at_newest[0]", ("0 -> -1 @23",),
                  "only reached with exactly one claimant: at_newest[-1] is at_newest[0]"),
    **_equivalent("deletable_segments", "kept = delete_while(below_log_start, 0)",
                  ("0 -> -1 @37",),
                  "starting at segment -1 (the last), the log start pass first looks at segment "
                  "0's base offset, which is never above the high watermark nor the log start "
                  "offset (Kafka's log start is at least its first segment's base offset, "
                  "LogLoader), so it just steps to segment 0; that pass ignores the byte count"),
    **_equivalent("_constrained_sticky", "if extra == 0:",
                  ("0 -> -1 @12", "condition always False @0", "statement dropped @0"), NO_LEFTOVER),
    **_equivalent("_constrained_sticky", "may_take_one_more.clear()", ("statement dropped @0",),
                  NO_LEFTOVER),
    **_equivalent("_constrained_sticky", "if extra > 0:",
                  ("0 -> -1 @11", "`>` -> `>=` @3", "condition always True @0"), NO_LEFTOVER),
    **_equivalent("_constrained_sticky", "elif under:", ("condition always True @0",),
                  "turn is only read while some member is under its quota"),
    # Choices the contract leaves open: which balanced, maximally sticky assignment.
    **_equivalent("sticky_assign", "if len({tuple(sorted(m.topics)) for m in members}) == 1:",
                  ("`sorted(...)` dropped @14", "1 -> 0 @54", "condition always False @0",
                   "statement dropped @0"), OPEN_CHOICE + " (the general algorithm for equal "
                  "subscriptions too: as balanced and as sticky on 3,000 random groups)"),
    **_equivalent("_constrained_sticky", "key=lambda tp: (tp[1], tp[0]))",
                  ("1 -> 0 @19", "0 -> 1 @26", "0 -> -1 @26"),
                  OPEN_CHOICE + " (which of its partitions a member over its quota keeps)"),
    **_equivalent("_constrained_sticky", "turn = 0", ("0 -> 1 @7", "0 -> -1 @7"),
                  OPEN_CHOICE + " (who gets the next free partition)"),
    **_equivalent("_constrained_sticky", "turn += 1",
                  ("1 -> 2 @8", "1 -> 0 @8", "`+=` -> `-=` @0", "statement dropped @0"),
                  OPEN_CHOICE + " (who gets the next free partition)"),
    **_equivalent("_constrained_sticky", "elif under:",
                  ("condition always False @0", "statement dropped @0"),
                  OPEN_CHOICE + " (who gets the next free partition)"),
    **_equivalent("_constrained_sticky", "target = may_take_one_more.pop(0)",
                  ("0 -> 1 @31", "0 -> -1 @31"),
                  OPEN_CHOICE + " (who takes one more; the list always holds one more member "
                  "than partitions left)"),
    **_equivalent("_constrained_sticky", "return {member_id: sorted(owned) for member_id, owned "
                  "in assignment.items()}", ("`sorted(...)` dropped @19",), ANY_ORDER),
    **_equivalent("_general_sticky", "return {member_id: sorted(owned) for member_id, owned in "
                  "assignment.items()}", ("`sorted(...)` dropped @19",), ANY_ORDER),
    # The general algorithm's own choices: the survivors of a full run of groups.sticky_assign.
    **_equivalent('_general_sticky', 'capacity = {m.member_id: sum(1 for t, _ in partitions if '
                                     't in m.topics) for m in ordered}',
                  ('1 -> 2 @29',), GENERAL_SAME),
    **_equivalent('_general_sticky', 'members = [m for m in sorted(assignment) if '
                                     'len(assignment[m]) < capacity[m]',
                  ('`sorted(...)` dropped @22', '`<` -> `<=` @44'), GENERAL_SAME),
    **_equivalent('_general_sticky', 'or any(len(eligible[t]) > 1 for t, _ in assignment[m])]',
                  ('1 -> 0 @26', '`>` -> `>=` @7'), GENERAL_SAME),
    **_equivalent('_general_sticky', 'movable = [tp for tp in order if len(eligible[tp[0]]) > '
                                     '1]',
                  ('1 -> 0 @56', '`>` -> `>=` @33'), GENERAL_SAME),
    **_equivalent('_general_sticky', 'if not any(t in eligible and t not in m.topics for m in '
                                     'ordered for t, _ in m.owned):',
                  ('`in` -> `not in` @11', '`not in` -> `in` @29', '`and` -> `or` @11',
                   '`any` -> `all` @7', '`not ` dropped @3', 'condition always True @0',
                   'condition always False @0', 'statement dropped @0'), GENERAL_SAME),
    **_equivalent('_general_sticky', 'balance.reassign([tp for tp in unclaimed if tp in '
                                     'movable])',
                  ('`in` -> `not in` @44', 'statement dropped @0'), GENERAL_SAME),
    **_equivalent('_general_sticky', 'if owners and moved and _spread(assignment, members) >= '
                                     '_spread(before, members):',
                  ('`>=` -> `>` @24', 'condition always False @0', 'statement dropped @0'),
                  GENERAL_SAME),
    **_equivalent('_general_sticky', 'assignment = before',
                  ('statement dropped @0',), GENERAL_SAME),
    **_equivalent('_earlier_owners', 'newest = max(m.generation for m in ordered)',
                  ('`max` -> `min` @9',), GENERAL_SAME),
    **_equivalent('_earlier_owners', 'for member in sorted(ordered, key=lambda m: '
                                     '-m.generation):',
                  ('`-` dropped @44', 'statement dropped @0'), GENERAL_SAME),
    **_equivalent('_earlier_owners', 'if member.generation < newest:',
                  ('`<` -> `<=` @3', '`<` -> `>` @3', 'condition always True @0',
                   'condition always False @0', 'statement dropped @0'), GENERAL_SAME),
    **_equivalent('_earlier_owners', 'earlier.setdefault(tuple(tp), member)',
                  ('statement dropped @0',), GENERAL_SAME),
    **_equivalent('_earlier_owners', 'for tp in member.owned:',
                  ('statement dropped @0',), GENERAL_SAME),
    **_equivalent('_spread', 'return sum(abs(a - b) for i, a in enumerate(counts) for b in '
                             'counts[i + 1:])',
                  ('1 -> 0 @72',), SELF_PAIR),
    **_equivalent('_Balance', 'if not counts or max(counts) - min(counts) <= 1:',
                  ('`-` -> `+` @17', '1 -> 0 @46', '`<=` -> `<` @17', '`or` -> `and` @3',
                   'condition always False @0', 'statement dropped @0'), FAST_PATH),
    **_equivalent('_Balance', 'continue',
                  ('statement dropped @0',), STOPS_EARLY_ONLY),
    **_equivalent('_Balance', 'if self.count(member_id) == self.capacity[member_id]:',
                  ('condition always False @0', 'statement dropped @0'), STOPS_EARLY_ONLY),
    **_equivalent('_Balance', 'and self.count(member_id) + 1 < self.count(other)):',
                  ('1 -> 0 @28', '`+` -> `-` @4', '`<` -> `<=` @4'), STOPS_EARLY_ONLY),
    **_equivalent('_Balance', 'if (other != member_id and member_id in self.eligible[tp[0]]',
                  ('`and` -> `or` @4', 'condition always True @0'), STOPS_EARLY_ONLY),
    **_equivalent('_Balance', 'break',
                  ('statement dropped @0',), STOPS_EARLY_ONLY),
    **_equivalent('_Balance', 'if self.balanced():',
                  ('condition always False @0', 'statement dropped @0'), STOPS_EARLY_ONLY),
    **_equivalent('_Balance', 'if earlier in self.eligible[tp[0]] and current > '
                              'self.count(earlier) + 1:',
                  ('1 -> 2 @71', '1 -> 0 @71', '`>` -> `>=` @39', 'condition always False @0'),
                  GENERAL_SAME),
    **_equivalent('_Balance', 'source = self.moves[tp][0] if tp in self.moves else '
                              'self.owner[tp]',
                  ('0 -> 1 @24', '0 -> -1 @24'), GENERAL_DIFFERS),
    **_equivalent('_Balance', 'if p[0] == tp[0] and (was, now) == (target, source))',
                  ('0 -> 1 @5', '0 -> -1 @5', '0 -> 1 @14', '0 -> -1 @14', '`==` -> `!=` @3'),
                  GENERAL_DIFFERS),
    **_equivalent('_Balance', 'tp = back[0] if back else tp',
                  ('0 -> 1 @10', '0 -> -1 @10', 'statement dropped @0'), GENERAL_DIFFERS),
    **_equivalent('_Balance', 'first = self.moves.pop(tp, (self.owner[tp], None))[0]',
                  ('arguments 1 and 2 swapped @8', '0 -> 1 @51', '0 -> -1 @51'),
                  GENERAL_DIFFERS),
    **_equivalent('_Balance', 'if first != target:',
                  ('`!=` -> `==` @3', 'condition always True @0', 'condition always False @0',
                   'statement dropped @0'), GENERAL_DIFFERS),
    **_equivalent('_Balance', 'self.moves[tp] = (first, target)',
                  ('statement dropped @0',), GENERAL_DIFFERS),
    **_equivalent("partitions_to_revoke", "return sorted(set(owned) - set(assigned))",
                  ("`sorted(...)` dropped @7",),
                  "its contract accepts any collection in any order"),
    **_equivalent("acks_all_accepted", "return isr_size >= effective_min_isr(min_insync_replicas, "
                  "replication_factor)", ("arguments 1 and 2 swapped @19",),
                  "effective_min_isr is the min() of its two arguments: their order cannot "
                  "matter"),
    # compaction
    **_equivalent("first_uncleanable_offset", "bounds = [last_stable_offset, bases[-1]]",
                  ("elements 1 and 2 swapped @9",), "only their minimum is read"),
    **_equivalent("first_uncleanable_offset", "break", ("statement dropped @0",),
                  "base offsets increase: a later young segment's base is never the minimum"),
    **_equivalent("build_offset_map", "if last_offset >= start_offset:",
                  ("`>=` -> `>` @3", "condition always True @0"),
                  "whatever a batch ending below or at the start offset sets, the next record "
                  "mapped (the first put never finds the map full: capacity is at least 1) or "
                  "the segment's end sets again before anything returns"),
    **_equivalent("check_append", "if first_sequence != increment_sequence(last_sequence_known, 1):",
                  ("arguments 1 and 2 swapped @21",),
                  "incrementing is symmetric here: n + 1 and 1 + n wrap past 2147483647 alike, "
                  "and -1 + 1 is 1 + -1"),
    **_equivalent("should_retain_record", "latest_for_key = offset >= offset_map.get(key, -1)",
                  ("1 -> 2 @48", "1 -> 0 @48"),
                  "offsets are never negative: every offset is >= -2 and >= 0, as it is >= -1"),
    **_equivalent("java_string_hash",
                  "h = (31 * h + (data[i] << 8 | data[i + 1])) & 0xFFFFFFFF", ("`+` -> `-` @5",),
                  "it computes the negated hash (31 * -h - u = -(31 * h + u), modulo 2**32), and "
                  "the partition takes Utils.abs of it: the same partition for every id (the "
                  "notebook's visible test of java_string_hash catches it)"),
    **_equivalent("read_committed_batches", "if producer_id >= 0:",
                  ("0 -> -1 @18", "condition always True @0"),
                  "a batch without a producer id (-1) is never transactional nor a marker, so it "
                  "is kept either way; taking in the aborted transactions it reaches early only "
                  "moves them in before the next batch with a producer id, which would take them "
                  "in too (its last offset is higher)"),
    **_equivalent("acl_matches", 'elif pattern == "PREFIXED":', ("condition always True @0",),
                  "ACLs are validated when created (validate_acl): a pattern is LITERAL or "
                  "PREFIXED, so the branch for any other is never reached"),
    **_equivalent("verify_client_proof",
                  "client_key = bytes(a ^ b for a, b in zip(signature, proof))",
                  ("arguments 1 and 2 swapped @37",), "XOR is symmetric"),
    **_equivalent("verify_client_proof",
                  "return hmac.compare_digest(hashlib.new(hash_name, client_key).digest(), "
                  "stored_key)", ("arguments 1 and 2 swapped @7",),
                  "comparing a with b is comparing b with a (in constant time either way)"),
    **_equivalent("required_acls", 'if api == "DescribeClientQuotas":',
                  ("condition always True @0",), ONLY_KNOWN_REQUESTS),
    **_equivalent("required_acls", 'raise ValueError(f"unknown request {api!r}")',
                  ("statement dropped @0",), ONLY_KNOWN_REQUESTS),
}


def run(exercise_ids, limit, jobs, progress=print):
    from kafkadojo.exercises.catalog import BY_ID
    mutants = [m for i in exercise_ids for m in exercise_mutants(BY_ID[i], limit)]
    progress(f"{len(mutants)} mutants of {len(exercise_ids)} exercises, {jobs} process(es)")
    verdicts = []
    if jobs > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            for verdict in pool.map(grade, mutants):
                verdicts.append(verdict)
                progress(_line(verdict, len(verdicts), len(mutants)))
    else:
        for mutant in mutants:
            verdicts.append(grade(mutant))
            progress(_line(verdicts[-1], len(verdicts), len(mutants)))
    return verdicts


def _line(verdict, done, total):
    m = verdict.mutant
    state = "killed " if verdict.killed else ("equival" if m.key in EQUIVALENT else "SURVIVED")
    return (f"[{done:>4}/{total}] {state} {m.exercise:<34} {m.function}:{m.line}:{m.column} {m.change}"
            f"  ({verdict.seconds:.1f} s){'  ' + verdict.lost if verdict.killed else ''}")


def write_report(verdicts, directory):
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    by_exercise = {}
    for verdict in verdicts:
        by_exercise.setdefault(verdict.mutant.exercise, []).append(verdict)
    lines = ["# Surviving mutants per exercise", "",
             "| exercise | mutants | killed | equivalent | gaps |", "| --- | --- | --- | --- | --- |"]
    for exercise, found in by_exercise.items():
        survivors = [v for v in found if not v.killed]
        equivalent = [v for v in survivors if v.mutant.key in EQUIVALENT]
        lines.append(f"| {exercise} | {len(found)} | {len(found) - len(survivors)} | "
                     f"{len(equivalent)} | {len(survivors) - len(equivalent)} |")
    for exercise, found in by_exercise.items():
        survivors = [v for v in found if not v.killed]
        if not survivors:
            continue
        lines += ["", f"## {exercise}", ""]
        for verdict in survivors:
            m = verdict.mutant
            why = EQUIVALENT.get(m.key)
            lines.append(f"- {'equivalent' if why else '**gap?**'}: `{m.function}` line {m.line} "
                         f"`{m.original}`: {m.change} at column {m.column}"
                         + (f" ({why})" if why else ""))
    (directory / "report.md").write_text("\n".join(lines) + "\n")
    (directory / "report.json").write_text(json.dumps(
        [{**asdict(v.mutant), "key": v.mutant.key, "killed": v.killed, "lost": v.lost,
          "seconds": round(v.seconds, 2), "equivalent": EQUIVALENT.get(v.mutant.key, "")}
         for v in verdicts], indent=1))
    return directory / "report.md"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exercise", action="append",
                        help="an exercise id, or an assignment (repeatable; default: all)")
    parser.add_argument("--max", type=int, default=DEFAULT_MAX,
                        help=f"mutants per exercise (0: all; default {DEFAULT_MAX})")
    parser.add_argument("--jobs", type=int, default=1, help="grading processes (default 1)")
    parser.add_argument("--out", default="build/mutants", help="where the report goes")
    parser.add_argument("--list", action="store_true", help="list the mutants, grade nothing")
    args = parser.parse_args(argv)
    from kafkadojo.exercises.catalog import BY_ID, EXERCISES
    wanted = args.exercise or [e.id for e in EXERCISES]
    ids = [e.id for e in EXERCISES if e.id in wanted or e.assignment in wanted]
    unknown = [w for w in wanted if w not in BY_ID and not any(e.assignment == w for e in EXERCISES)]
    if unknown:
        parser.error(f"unknown exercise(s) {unknown}")
    if args.list:
        for i in ids:
            for m in exercise_mutants(BY_ID[i], args.max):
                print(f"{m.exercise:<34} {m.function}:{m.line}:{m.column} {m.change:<32} {m.original}")
        return 0
    start = time.perf_counter()
    verdicts = run(ids, args.max, args.jobs)
    path = write_report(verdicts, args.out)
    survivors = [v for v in verdicts if not v.killed]
    gaps = [v for v in survivors if v.mutant.key not in EQUIVALENT]
    print(f"{len(verdicts)} mutants, {len(verdicts) - len(survivors)} killed, "
          f"{len(survivors) - len(gaps)} equivalent, {len(gaps)} unjudged survivors "
          f"({time.perf_counter() - start:.0f} s); report: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
