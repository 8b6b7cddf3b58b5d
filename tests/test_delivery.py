"""Delivery semantics in the engine: a crash injected at every step of the poll loop."""

import pytest

from kafkadojo.reference import errors
from kafkadojo.reference.delivery import (AT_LEAST_ONCE, AT_MOST_ONCE, committed_offsets,
                                          crash_points, plan_batch, run_delivery)
from kafkadojo.reference.record import Record


def test_committed_offset_is_last_processed_plus_one_per_partition():
    batch = [Record("t", 0, 40, None, b"", 0), Record("t", 0, 41, None, b"", 0),
             Record("t", 1, 7, None, b"", 0)]
    assert committed_offsets(batch) == {("t", 0): 42, ("t", 1): 8}
    assert [kind for kind, _ in plan_batch(batch, AT_MOST_ONCE)] == ["commit"] + ["process"] * 3
    assert [kind for kind, _ in plan_batch(batch, AT_LEAST_ONCE)] == ["process"] * 3 + ["commit"]


@pytest.mark.parametrize("guarantee", [AT_MOST_ONCE, AT_LEAST_ONCE])
def test_without_a_crash_every_record_is_processed_exactly_once(guarantee):
    outcome = run_delivery(guarantee)
    assert sorted(outcome.effects) == list(outcome.produced) and len(outcome.produced) == 12


def test_at_most_once_loses_but_never_duplicates_wherever_it_crashes():
    points = crash_points(AT_MOST_ONCE)
    losses = 0
    for point in points:
        outcome = run_delivery(AT_MOST_ONCE, crash_at=[point])
        assert not outcome.duplicated, outcome.report()
        losses += bool(outcome.lost)
    assert losses > 0                   # some crash points do lose records


def test_at_least_once_duplicates_but_never_loses_wherever_it_crashes():
    duplicates = 0
    for point in crash_points(AT_LEAST_ONCE):
        outcome = run_delivery(AT_LEAST_ONCE, crash_at=[point])
        assert not outcome.lost, outcome.report()
        duplicates += bool(outcome.duplicated)
    assert duplicates > 0


def test_an_idempotent_sink_turns_at_least_once_into_exactly_once_effects():
    for point in crash_points(AT_LEAST_ONCE)[::3]:
        outcome = run_delivery(AT_LEAST_ONCE, crash_at=[point, (point[0] + 7, "after")],
                               idempotent_sink=True)
        assert sorted(outcome.effects) == list(outcome.produced), outcome.report()
        assert len(outcome.processed) >= len(outcome.produced)


def test_the_report_names_the_violation_and_replays_it():
    def commit_first_always(records, guarantee):
        return plan_batch(records, AT_MOST_ONCE)
    from kafkadojo.reference.seams import REFERENCE
    outcome = run_delivery(AT_LEAST_ONCE, crash_at=[(1, "after")],
                           seams=REFERENCE.with_rules(plan_batch=commit_first_always))
    assert outcome.violations()[0][0] == "lost-record"
    report = outcome.report()
    assert "VIOLATION lost-record" in report and "crash" in report and "replay:" in report
    again = run_delivery(AT_LEAST_ONCE, crash_at=[(1, "after")],
                         seams=REFERENCE.with_rules(plan_batch=commit_first_always))
    assert again == outcome             # the same seed replays the same run


def test_bad_guarantee_is_refused():
    with pytest.raises(errors.InvalidConfigurationError, match="guarantee"):
        run_delivery("exactly-twice")


def test_the_pictures_show_what_a_crash_and_a_rebalance_cost():
    from kafkadojo.exercises import pictures
    lossy = pictures.draw_delivery(run_delivery(AT_MOST_ONCE, crash_at=[(5, "after")]))
    assert "lost: never processed" in lossy and "within the at-most-once guarantee" in lossy
    doubled = pictures.draw_delivery(run_delivery(AT_LEAST_ONCE, crash_at=[(5, "after")]))
    assert "processed twice" in doubled
    groups = pictures.draw_ownership(pictures.group_story("cooperative-sticky"))
    assert "clicks-5" in groups and "member joins" not in groups and "joins" in groups
    stuck = pictures.group_story("cooperative-sticky", faults=("join",),
                                 rules={"partitions_to_revoke": lambda owned, assigned: []})
    assert min(stuck.final_counts().values()) == 0      # the newcomer never gets a partition
