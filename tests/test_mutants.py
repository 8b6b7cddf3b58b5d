"""The mutation-testing tool (benchmarks/mutants.py, run by `make mutants`): its mutants are
the mistakes it says, and the real grader kills a wrong one and lets an equivalent one live."""

import ast
import importlib.util
from pathlib import Path

import pytest

from kafkadojo.exercises.catalog import BY_ID, solution_module
from kafkadojo.reference import isr, monitoring

TOOL = Path(__file__).resolve().parent.parent / "benchmarks" / "mutants.py"


@pytest.fixture(scope="module")
def mutants():
    spec = importlib.util.spec_from_file_location("kafkadojo_mutants", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def by_change(found, function, change):
    return next(m for m in found if m.function == function and m.change == change)


def test_each_mutant_changes_one_thing_in_one_function(mutants):
    found = mutants.mutants_of("offsets.partition_lag", monitoring.partition_lag)
    changes = {m.change for m in found}
    assert {"`is` -> `is not`", "`-` -> `+`", "statement dropped", "condition always True",
            "condition always False"} <= changes
    original = ast.unparse(ast.parse(mutants.function_source(monitoring.partition_lag)))
    assert len({m.source for m in found}) == len(found) and original + "\n" not in {m.source for m in found}
    flipped = by_change(found, "partition_lag", "`-` -> `+`")
    assert flipped.original == "return high_watermark - committed_offset"
    module = mutants.mutated_module(flipped)
    assert module != solution_module("offsets") and "high_watermark + committed_offset" in module
    compile(module, "mutant", "exec")


def test_min_and_max_arguments_are_not_swapped_but_min_becomes_max(mutants):
    found = mutants.mutants_of("isr.acks_all_accepted", isr.effective_min_isr)
    assert [m.change for m in found] == ["`min` -> `max`"]


def test_a_sample_of_mutants_is_the_same_every_run(mutants):
    exercise = BY_ID["groups.range_assign"]
    first = mutants.exercise_mutants(exercise, limit=10)
    assert len(first) == 10 and first == mutants.exercise_mutants(exercise, limit=10)
    assert len(mutants.exercise_mutants(exercise, limit=0)) > 10


def test_the_grader_kills_a_wrong_mutant_and_an_equivalent_one_survives(mutants):
    lag = mutants.mutants_of("offsets.partition_lag", monitoring.partition_lag)
    killed = mutants.grade(by_change(lag, "partition_lag", "`-` -> `+`"))
    assert killed.killed and "wrong-lag" in killed.lost
    # effective_min_isr is min(): its arguments' order cannot matter.
    acks = mutants.mutants_of("isr.acks_all_accepted", isr.acks_all_accepted)
    equivalent = by_change(acks, "acks_all_accepted", "arguments 1 and 2 swapped")
    assert "effective_min_isr" in equivalent.original
    survived = mutants.grade(equivalent)
    assert not survived.killed and survived.lost == ""
    assert equivalent.key in mutants.EQUIVALENT
