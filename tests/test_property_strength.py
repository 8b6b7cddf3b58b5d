"""The hidden properties are strong and honest: answers compared by meaning, anomaly names
only for the mistake they name, realistic wrong rules caught (in-cluster ones on a fixed,
named seed), and every replay line runs as printed and shows the failure again."""

import ast
import contextlib
import inspect
import io
import re
import textwrap

import pytest
from hypothesis import strategies as st

from kafkadojo.autograder import properties
from kafkadojo.autograder.properties import (
    COLLECTION, MAPPING_OF_COLLECTIONS, SEQUENCE, Learner, comparable, differential, examples,
    explain_difference, known_mistakes, load_all, properties_for, timed)
from kafkadojo.autograder.properties import engine
from kafkadojo.autograder.sandbox import Sandbox
from kafkadojo.reference import assignors
from kafkadojo.exercises.catalog import BY_ID, EXERCISES, solution_module


class InProcess:
    """A learner whose functions are plain Python here: the framework's logic, no sandbox."""

    def __init__(self, **functions):
        self.functions = functions

    def call(self, function, *args):
        return self.functions[function](*args)


def check(source, exercise, name_start):
    """``(failure, seconds)`` of one property of ``exercise`` on a learner's ``source``."""
    prop = next(p for p in properties_for(exercise) if p.name.startswith(name_start))
    with Sandbox(source) as sandbox:
        sandbox.start()
        return timed(prop.check, Learner(sandbox))


def learner_module(assignment, appended=""):
    """The reference solution of ``assignment`` with some functions redefined after it."""
    return solution_module(assignment) + "\n\n" + appended


@pytest.fixture(scope="module", autouse=True)
def registered():
    load_all()


# -- 1. compared by meaning ------------------------------------------------------------------------

def test_sequences_lists_tuples_and_nested_values_compare_by_meaning():
    assert comparable([1, (2, 3)]) == comparable((1, [2, 3]))
    assert comparable({"a": [("t", 0)]}) == comparable({"a": (("t", 0),)})
    assert comparable([1, 2]) != comparable([2, 1])
    assert comparable({1, 2}) != comparable([1, 2])       # a set has no order to compare
    assert comparable([("t", 1), ("t", 0)], COLLECTION) == comparable({("t", 0), ("t", 1)}, COLLECTION)
    assert comparable([1, 1], COLLECTION) != comparable({1}, COLLECTION)   # twice is not once
    assert (comparable({"m": [("t", 1), ("t", 0)]}, MAPPING_OF_COLLECTIONS)
            == comparable({"m": {("t", 0), ("t", 1)}}, MAPPING_OF_COLLECTIONS))
    with pytest.raises(ValueError):
        comparable(1, "whatever")


def test_only_a_type_differs_and_the_feedback_says_so():
    learner = InProcess(revoke=lambda owned, assigned: set(owned) - set(assigned))
    failure = examples(learner, "revoke", [(([], []), ())], anomaly="wrong-revocation")
    assert failure.anomaly == "wrong-type"
    assert "set where the contract asks for a tuple" in failure.got
    assert failure.expected == "()" and failure.got.startswith("returned set()")
    # the same answer where the contract leaves the order and the type open: right
    assert examples(learner, "revoke", [(([], []), ())], compare=COLLECTION) is None
    assert explain_difference({("t", 0): 42}, [(("t", 0), 42)])[0] == "wrong-type"
    assert explain_difference(5, "5")[0] == "wrong-type"
    assert explain_difference([1, 2], [2, 1]) == (None, "the right items, in another order than the contract's")
    assert explain_difference([1, 2], [1, 3]) == (None, "")


def test_differential_compares_as_declared_and_shows_the_contracts_value():
    reference = lambda owned, assigned: sorted(set(owned) - set(assigned))   # noqa: E731
    as_set = InProcess(revoke=lambda owned, assigned: set(owned) - set(assigned))
    pairs = st.lists(st.integers(0, 5), max_size=4)
    assert differential(as_set, "revoke", reference, st.tuples(pairs, pairs), examples=50,
                        anomaly="wrong-revocation", compare=COLLECTION) is None
    failure = differential(as_set, "revoke", reference, st.tuples(pairs, pairs), examples=50,
                           anomaly="wrong-revocation", compare=SEQUENCE)
    assert failure.anomaly == "wrong-type", failure
    assert failure.expected.startswith("[")         # the reference's value, as it is


# -- 2. anomaly names only for their mistake ---------------------------------------------------------

def test_a_fixed_case_names_only_its_own_mistake():
    cases = [((41,), 42, {"off-by-one-commit": 41})]
    assert examples(InProcess(f=lambda o: o), "f", cases, anomaly="wrong-offset").anomaly == "off-by-one-commit"
    assert examples(InProcess(f=lambda o: 0), "f", cases, anomaly="wrong-offset").anomaly == "wrong-offset"
    diagnose = known_mistakes(("off-by-one-commit", lambda o: o), ("no-commit", lambda o: None))
    assert examples(InProcess(f=lambda o: None), "f", [((41,), 42)], anomaly="wrong-offset",
                    diagnose=diagnose).anomaly == "no-commit"
    # a mistake that gives the same answer as another is not named: either could be it
    same = known_mistakes(("a", lambda o: 0), ("b", lambda o: 0))
    assert examples(InProcess(f=lambda o: 0), "f", [((41,), 42)], anomaly="generic",
                    diagnose=same).anomaly == "generic"


def test_differential_names_the_mistake_its_diagnosis_proves():
    kafka = lambda n: n + 1     # noqa: E731
    diagnose = known_mistakes(("off-by-one", lambda n: n))
    args = st.tuples(st.integers(0, 9))
    assert differential(InProcess(f=lambda n: n), "f", kafka, args, examples=20, anomaly="wrong",
                        diagnose=diagnose).anomaly == "off-by-one"
    assert differential(InProcess(f=lambda n: n * 3 + 7), "f", kafka, args, examples=20, anomaly="wrong",
                        diagnose=diagnose).anomaly == "wrong"


RANGE_EXTRA_TO_LAST = '''
def range_assign(members, partitions_per_topic):
    assignment = {member.member_id: [] for member in members}
    for topic in sorted(partitions_per_topic):
        consumers = sorted((m for m in members if topic in m.topics), key=member_order)
        if not consumers:
            continue
        count = partitions_per_topic[topic]
        per_member, extra = divmod(count, len(consumers))
        start = 0
        for i, member in enumerate(consumers):
            take = per_member + (1 if i >= len(consumers) - extra else 0)
            assignment[member.member_id] += [(topic, p) for p in range(start, start + take)]
            start += take
    return assignment
'''


def test_range_assignor_giving_the_extra_partitions_to_the_last_members_is_not_a_member_order_bug():
    failure, _ = check(learner_module("groups", RANGE_EXTRA_TO_LAST), "groups.range_assign", "gives")
    assert failure is not None and failure.anomaly != "wrong-member-order", failure
    dynamic_first = learner_module("groups").replace(
        "        return (0, member.group_instance_id, member.member_id)",
        "        return (2, member.group_instance_id, member.member_id)")
    failure, _ = check(dynamic_first, "groups.range_assign", "gives")
    assert failure is not None and failure.anomaly == "wrong-member-order", failure


def test_other_classes_with_the_contracts_meaning_are_right():
    """A defaultdict where a dict is promised, tuples where lists are: the same answer."""
    defaultdict_offsets = learner_module("offsets", (
        "from collections import defaultdict\n"
        "_kafka_committed_offsets = committed_offsets\n\n\n"
        "def committed_offsets(records):\n"
        "    offsets = defaultdict(int)\n"
        "    offsets.update(_kafka_committed_offsets(records))\n"
        "    return offsets\n"))
    failure, _ = check(defaultdict_offsets, "offsets.committed_offsets", "commits")
    assert failure is None, failure
    tuples = learner_module("groups", (
        "_kafka_range_assign = range_assign\n\n\n"
        "def range_assign(members, partitions_per_topic):\n"
        "    return {m: tuple(ps) for m, ps in _kafka_range_assign(members, partitions_per_topic).items()}\n"))
    failure, _ = check(tuples, "groups.range_assign", "gives")
    assert failure is None, failure


def test_revocations_in_any_order_and_type_are_right():
    as_set = learner_module("groups", (
        "def partitions_to_revoke(owned, assigned):\n"
        "    return {tuple(p) for p in owned} - {tuple(p) for p in assigned}\n"))
    failure, _ = check(as_set, "groups.partitions_to_revoke", "revokes exactly")
    assert failure is None, failure


# -- 3. in-cluster properties: many seeds, fixed, the failing one named ----------------------------

def test_every_in_cluster_property_runs_at_least_40_fixed_seeds():
    for seam in ("next_high_watermark", "truncation_offset", "elect_leader", "should_roll",
                 "fetch_upper_bound"):
        assert engine.seed_count(seam) >= engine.MIN_SEEDS >= 40
    # the budget buys seeds: a faster engine (a cheaper schedule) runs more of them
    assert engine.seed_count("x", share_s=100.0) > engine.seed_count("x", share_s=1.0) == 40


# Realistic wrong rules, each a learner's whole function (they run in the sandbox).
HW_FURTHEST_FOLLOWER = '''
def next_high_watermark(current_hw, leader_leo, follower_leos, isr_size, min_insync_replicas):
    if isr_size < min_insync_replicas:
        return current_hw
    return max(current_hw, min(max(follower_leos, default=leader_leo), leader_leo))
'''
HW_MAJORITY = '''
def next_high_watermark(current_hw, leader_leo, follower_leos, isr_size, min_insync_replicas):
    # Raft's rule: committed once a majority has it
    if isr_size < min_insync_replicas:
        return current_hw
    leos = sorted([leader_leo, *follower_leos], reverse=True)
    return max(current_hw, leos[len(leos) // 2])
'''
HW_LEADER_ONLY = '''
def next_high_watermark(current_hw, leader_leo, follower_leos, isr_size, min_insync_replicas):
    if isr_size < min_insync_replicas:
        return current_hw
    return max(current_hw, leader_leo)
'''
TRUNCATE_KEEPING_THE_LARGER_END = '''
def truncation_offset(leader_epoch, leader_end_offset, follower_epoch_entries, follower_leo,
                      follower_hw):
    if leader_end_offset == -1:
        return min(follower_hw, follower_leo), True
    if leader_epoch == -1:
        return min(leader_end_offset, follower_leo), True
    epoch, end = end_offset_for_epoch(follower_epoch_entries, leader_epoch, follower_leo)
    if end == -1:
        return min(leader_end_offset, follower_leo), True
    if epoch != leader_epoch:
        return min(end, follower_leo), False
    return min(max(end, leader_end_offset), follower_leo), True
'''
TRUNCATE_NOTHING = '''
def truncation_offset(leader_epoch, leader_end_offset, follower_epoch_entries, follower_leo,
                      follower_hw):
    return follower_leo, True
'''
TRUNCATE_TO_OWN_EPOCH_END = '''
def truncation_offset(leader_epoch, leader_end_offset, follower_epoch_entries, follower_leo,
                      follower_hw):
    # trusts its own end of the epoch, never the leader's
    if leader_end_offset == -1:
        return min(follower_hw, follower_leo), True
    epoch, end = end_offset_for_epoch(follower_epoch_entries, leader_epoch, follower_leo)
    if end == -1:
        return min(leader_end_offset, follower_leo), True
    return min(end, follower_leo), True
'''
ELECT_ANY_LIVE_REPLICA = '''
def elect_leader(assignment, isr, live_brokers, unclean_enabled):
    for replica in assignment:
        if replica in live_brokers:
            new_isr = tuple(r for r in isr if r in live_brokers) or (replica,)
            return Election(replica, new_isr, replica not in isr)
    return Election(NO_LEADER, tuple(isr), False)
'''
ELECT_UNCLEAN_ALWAYS = '''
_kafka_elect_leader = elect_leader


def elect_leader(assignment, isr, live_brokers, unclean_enabled):
    return _kafka_elect_leader(assignment, isr, live_brokers, True)
'''

CLEANS_ABOVE_THE_HW = '''
_kafka_first_uncleanable_offset = first_uncleanable_offset


def first_uncleanable_offset(segments, first_dirty_offset, last_stable_offset, now_ms,
                             min_compaction_lag_ms):
    # forgets the high watermark: only the active segment bounds the pass
    return _kafka_first_uncleanable_offset(segments, first_dirty_offset, 10**18, now_ms,
                                           min_compaction_lag_ms)
'''
MAPS_BATCH_OFFSETS = '''
_kafka_build_offset_map = build_offset_map


def build_offset_map(segments, start_offset, end_offset, capacity):
    # maps each key to the last offset of its record's batch, not to the record's own
    offset_map, latest_offset = _kafka_build_offset_map(segments, start_offset, end_offset,
                                                        capacity)
    for _, batches in segments:
        for last_offset, records in batches:
            for offset, key in records:
                if key in offset_map and offset_map[key] == offset:
                    offset_map[key] = last_offset
    return offset_map, latest_offset
'''
DROPS_TOMBSTONES_AT_ONCE = '''
def should_retain_record(offset, key, has_value, delete_horizon_ms, offset_map, latest_offset,
                         now_ms):
    if offset > latest_offset:
        return True
    if key is None:
        return False
    return offset >= offset_map.get(key, -1) and has_value
'''
ALWAYS_APPEND = '''
def check_append(epoch, batches, producer_epoch, first_sequence, last_sequence):
    # no producer state at all: every batch is appended
    return APPEND, None
'''
COMPACTION_MUTANTS = [
    ("compaction.first_uncleanable_offset", CLEANS_ABOVE_THE_HW),
    ("compaction.build_offset_map", MAPS_BATCH_OFFSETS),
    ("compaction.should_retain_record", DROPS_TOMBSTONES_AT_ONCE),
]

IN_CLUSTER_MUTANTS = [
    ("replication", "replication.next_high_watermark", HW_FURTHEST_FOLLOWER),
    ("replication", "replication.next_high_watermark", HW_MAJORITY),
    ("replication", "replication.next_high_watermark", HW_LEADER_ONLY),
    ("replication", "replication.truncation_offset", TRUNCATE_KEEPING_THE_LARGER_END),
    ("replication", "replication.truncation_offset", TRUNCATE_NOTHING),
    ("replication", "replication.truncation_offset", TRUNCATE_TO_OWN_EPOCH_END),
    ("isr", "isr.elect_leader", ELECT_ANY_LIVE_REPLICA),
    ("isr", "isr.elect_leader", ELECT_UNCLEAN_ALWAYS),
    ("idempotence", "idempotence.check_append", ALWAYS_APPEND),
]


@pytest.mark.parametrize("assignment, exercise, mutant", IN_CLUSTER_MUTANTS,
                         ids=[m[2].split("def ")[-1].split("(")[0] + f"-{i}"
                              for i, m in enumerate(IN_CLUSTER_MUTANTS)])
def test_in_cluster_properties_catch_realistic_wrong_rules_on_a_named_seed(assignment, exercise, mutant):
    source = learner_module(assignment, mutant)
    first, _ = check(source, exercise, "inside a")
    assert first is not None, f"{exercise}: the wrong rule passed every seed"
    seed = int(re.match(r"fault schedule seed (\d+) ", first.counterexample).group(1))
    assert seed < engine.seed_count(BY_ID[exercise].seam)
    assert f"run({seed}, " in first.replay
    again, _ = check(source, exercise, "inside a")
    assert (again.anomaly, again.counterexample) == (first.anomaly, first.counterexample)


@pytest.mark.parametrize("exercise, mutant", COMPACTION_MUTANTS,
                         ids=[m[0].split(".")[1] for m in COMPACTION_MUTANTS])
def test_compaction_properties_catch_realistic_wrong_rules_on_a_named_seed(exercise, mutant):
    from kafkadojo.autograder.properties.compaction import COMPACTION_SEEDS
    source = learner_module("compaction", mutant)
    first, _ = check(source, exercise, "inside a")
    assert first is not None, f"{exercise}: the wrong rule passed every seed"
    seed = int(re.match(r"compaction seed (\d+) ", first.counterexample).group(1))
    assert seed < COMPACTION_SEEDS[BY_ID[exercise].seam]
    assert f"run_compaction({seed}, " in first.replay
    assert first.anomaly in ("lost-latest-value", "stale-value", "deleted-key-back",
                             "cleaned-above-high-watermark")
    again, _ = check(source, exercise, "inside a")
    assert (again.anomaly, again.counterexample) == (first.anomaly, first.counterexample)


LSO_IS_THE_HW = '''
def last_stable_offset(transactions, high_watermark):
    # forgets open transactions: read_committed reads as far as read_uncommitted
    return high_watermark
'''
KEEPS_ABORTED_BATCHES = '''
def read_committed_batches(batches, aborted_transactions):
    # drops the markers, keeps every data batch: aborted records are returned
    return [batch[0] for batch in batches if batch[4] is None]
'''
THROTTLE_IN_SECONDS = '''
import math


def throttle_time_ms(rate, bound, window_ms):
    # the window in seconds: a throttle a thousand times too short
    return max(0, math.floor((rate - bound) / bound * (window_ms / 1000) + 0.5))
'''
TRANSACTION_MUTANTS = [
    ("transactions.last_stable_offset", LSO_IS_THE_HW),
    ("transactions.read_committed_batches", KEEPS_ABORTED_BATCHES),
]


@pytest.mark.parametrize("exercise, mutant", TRANSACTION_MUTANTS,
                         ids=[m[0].split(".")[1] for m in TRANSACTION_MUTANTS])
def test_transaction_properties_catch_realistic_wrong_rules_on_a_named_seed(exercise, mutant):
    from kafkadojo.autograder.properties.transactions import TRANSACTION_SEEDS
    source = learner_module("transactions", mutant)
    first, _ = check(source, exercise, "inside a")
    assert first is not None, f"{exercise}: the wrong rule passed every seed"
    seed = int(re.match(r"transactions seed (\d+) ", first.counterexample).group(1))
    assert seed < TRANSACTION_SEEDS
    assert f"run_transactions({seed}, " in first.replay
    assert first.anomaly in ("aborted-read", "intermediate-read", "torn-transaction")
    again, _ = check(source, exercise, "inside a")
    assert (again.anomaly, again.counterexample) == (first.anomaly, first.counterexample)


# The engine's own _Balance.reassign, stopped after one walk over the partitions where Kafka
# walks again until a walk moves nothing.
_ONE_BALANCING_WALK = ("\n" + textwrap.dedent(inspect.getsource(assignors._Balance.reassign))
                       .replace("if not modified:", "if True:")
                       + "\n_Balance.reassign = reassign\n")
assert "if True:" in _ONE_BALANCING_WALK

DIFFERENTIAL_MUTANTS = [
    ("isr.elect_leader", "clean", '''
def elect_leader(assignment, isr, live_brokers, unclean_enabled):
    # walks the ISR in its own order, not the assignment's
    for replica in isr:
        if replica in live_brokers:
            return Election(replica, tuple(r for r in isr if r in live_brokers), False)
    if unclean_enabled:
        for replica in assignment:
            if replica in live_brokers:
                return Election(replica, (replica,), True)
    return Election(NO_LEADER, tuple(isr), False)
'''),
    ("isr.is_caught_up", "agrees", '''
def is_caught_up(follower_leo, leader_leo, last_caught_up_ms, now_ms, replica_lag_time_max_ms):
    return follower_leo == leader_leo or now_ms - last_caught_up_ms < replica_lag_time_max_ms
'''),
    ("isr.can_join_isr", "admits", '''
def can_join_isr(follower_leo, leader_hw, leader_epoch_start_offset):
    return follower_leo > leader_hw and follower_leo >= leader_epoch_start_offset
'''),
    ("isr.last_caught_up_time", "tracks", '''
def last_caught_up_time(fetch_offset, fetch_time_ms, leader_leo, previous_caught_up_ms,
                        previous_fetch_leader_leo, previous_fetch_time_ms):
    if fetch_offset >= leader_leo:
        return fetch_time_ms
    if fetch_offset >= previous_fetch_leader_leo:
        return previous_fetch_time_ms
    return previous_caught_up_ms
'''),
    ("isr.acks_all_accepted", "accepts", '''
def acks_all_accepted(isr_size, min_insync_replicas, replication_factor):
    return isr_size >= min_insync_replicas
'''),
    ("groups.sticky_assign", "keeps", '''
_kafka_constrained_sticky = _constrained_sticky

def _constrained_sticky(ordered, partitions, owners):
    # a member with fewer partitions than the quota forgets them: they are dealt out again
    quota = len(partitions) // len(ordered)
    held = {}
    for owner in owners.values():
        held[owner] = held.get(owner, 0) + 1
    return _kafka_constrained_sticky(
        ordered, partitions, {tp: m for tp, m in owners.items() if held[m] >= quota})
'''),
    ("groups.sticky_assign", "owns", _ONE_BALANCING_WALK),
    ("replication.next_high_watermark", "agrees", '''
def next_high_watermark(current_hw, leader_leo, follower_leos, isr_size, min_insync_replicas):
    if isr_size <= min_insync_replicas - 1:
        return current_hw
    return min([leader_leo, *follower_leos])          # may move the HW back
'''),
    ("replication.truncation_offset", "agrees", '''
def truncation_offset(leader_epoch, leader_end_offset, follower_epoch_entries, follower_leo,
                      follower_hw):
    # never asks again: cuts at its own end of an older epoch and stops
    if leader_end_offset == -1:
        return min(follower_hw, follower_leo), True
    if leader_epoch == -1:
        return min(leader_end_offset, follower_leo), True
    epoch, end = end_offset_for_epoch(follower_epoch_entries, leader_epoch, follower_leo)
    if end == -1:
        return min(leader_end_offset, follower_leo), True
    return min(end, leader_end_offset, follower_leo), True
'''),
]


@pytest.mark.parametrize("exercise, name_start, mutant", DIFFERENTIAL_MUTANTS,
                         ids=[f"{m[0]}-{i}" for i, m in enumerate(DIFFERENTIAL_MUTANTS)])
def test_boundary_generators_catch_realistic_wrong_rules(exercise, name_start, mutant):
    failure, _ = check(learner_module(exercise.split(".")[0], mutant), exercise, name_start)
    assert failure is not None, f"{exercise}: the wrong rule passed '{name_start}...'"


# -- 5. every replay runs as printed and shows the failure again -------------------------------------

def _perturb_source(function):
    """A wrong version of any exercise's function: Kafka's answer, a little off (a number
    one more, a flag flipped, a sequence one item short or reversed, a dict one entry
    short)."""
    return f'''
_kafka_{function} = {function}


def _off(value):
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return type(value)(*(_off(v) if i == 0 else v for i, v in enumerate(value)))
    if isinstance(value, (list, tuple)):
        return type(value)(value[:-1]) if value else type(value)([0])
    if isinstance(value, dict):
        return dict(list(value.items())[:-1]) if value else {{"x": 0}}
    if value is None:
        return 0
    return None


def {function}(*args):
    return _off(_kafka_{function}(*args))
'''


UNKNOWN_CODEC_AS_NONE = '''
_kafka_parse_attributes = parse_attributes

def parse_attributes(attributes):
    # a codec id with no codec read as no compression
    return _kafka_parse_attributes(attributes if attributes & 7 < 5 else attributes & ~7)
'''

# Wrong versions for properties a slightly-off answer does not fail (the engine copes with it).
TARGETED = {
    "replication.next_high_watermark": [HW_FURTHEST_FOLLOWER],
    "replication.truncation_offset": [TRUNCATE_KEEPING_THE_LARGER_END],
    "isr.elect_leader": [ELECT_UNCLEAN_ALWAYS],
    "compaction.first_uncleanable_offset": [CLEANS_ABOVE_THE_HW],
    "compaction.build_offset_map": [MAPS_BATCH_OFFSETS],
    "compaction.should_retain_record": [DROPS_TOMBSTONES_AT_ONCE],
    "idempotence.check_append": [ALWAYS_APPEND],
    "transactions.last_stable_offset": [LSO_IS_THE_HW],
    "transactions.read_committed_batches": [KEEPS_ABORTED_BATCHES],
    "quotas.throttle_time_ms": [THROTTLE_IN_SECONDS],
    "wire.parse_attributes": [UNKNOWN_CODEC_AS_NONE],
}


def _wrong_modules(exercise):
    assignment = BY_ID[exercise].assignment
    from kafkadojo.autograder.hostile import HOSTILE
    from kafkadojo.autograder.samples import SAMPLES
    for name, sample in SAMPLES.items():
        # the samples' realistic bugs (never the hostile ones: replays run here, unsandboxed)
        if (exercise in sample.expected_failures and sample.assignment == assignment
                and name not in HOSTILE):
            yield sample.source()
    for appended in TARGETED.get(exercise, []):
        yield learner_module(assignment, appended)
    yield learner_module(assignment, _perturb_source(BY_ID[exercise].function))


def run_replay(replay, namespace):
    """Run a replay as a learner would, in their own module's namespace: ``(printed, value
    of the last expression, exception)``."""
    code = "\n".join(line[4:] for line in replay.splitlines() if line.startswith((">>> ", "... ")))
    tree = ast.parse(code)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    printed, value, raised = io.StringIO(), None, None
    with contextlib.redirect_stdout(printed):
        try:
            exec(compile(tree, "<replay>", "exec"), namespace)
            if last is not None:
                value = eval(compile(ast.Expression(last.value), "<replay>", "eval"), namespace)
        except Exception as error:      # noqa: BLE001 - what the replay raised is the result
            raised = error
    return printed.getvalue(), repr(value), raised


def _namespace(source):
    namespace = {"__name__": "learner"}
    exec(compile(source, "learner.py", "exec"), namespace)
    return namespace


@pytest.mark.parametrize("exercise", [e.id for e in EXERCISES])
def test_every_replay_runs_as_printed_and_shows_the_failure(exercise):
    function = BY_ID[exercise].function
    reference = _namespace(solution_module(BY_ID[exercise].assignment))
    unreplayed = []
    for prop in properties_for(exercise):
        for source in _wrong_modules(exercise):
            with Sandbox(source) as sandbox:
                sandbox.start()
                failure, _ = timed(prop.check, Learner(sandbox))
            if failure is not None and failure.replay:
                break
        else:
            unreplayed.append(prop.name)
            continue
        replay = failure.replay.replace("YOUR_FUNCTION", function)
        wrong = run_replay(replay, _namespace(source))
        right = run_replay(replay, dict(reference))
        assert right[2] is None, f"{prop.name}: the replay fails even with Kafka's rule: {right[2]!r}\n{replay}"
        if wrong[2] is not None:      # only the error the feedback reported
            assert type(wrong[2]).__name__ in failure.got, \
                f"{prop.name}: the replay raised {wrong[2]!r}, the feedback said {failure.got}\n{replay}"
        assert wrong != right, f"{prop.name}: the replay does not show the failure\n{replay}"
    assert not unreplayed, f"no wrong module made these fail with a replay: {unreplayed}"
