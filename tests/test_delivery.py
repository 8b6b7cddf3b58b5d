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


# -- the hidden properties of the offsets assignment, judged in process ------------------------

class InProcessLearner:
    """The properties' view of a learner (``call``, ``function``), running local functions
    here instead of in the sandbox: fast, for judging the properties themselves."""

    def __init__(self, **functions):
        self.functions = functions

    def call(self, name, *args):
        return self.functions[name](*args)

    def function(self, name, remember=False):
        return self.functions[name]


def replayed(replay, **names):
    """Run a replay line exactly as printed (the ``>>>``/``...`` prompts stripped), with the
    learner's functions under their names; what it prints."""
    import contextlib
    import io
    source = "\n".join(line[4:] for line in replay.splitlines())
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(source, "<replay>", "exec"), dict(names))     # noqa: S102 - our own text
    return printed.getvalue()


def never_commits(records, guarantee):
    return [("process", record) for record in records]


def commits_last_processed(records, guarantee):
    return [("process", r) for r in records] + [("commit", {(r.topic, r.partition): r.offset
                                                            for r in records})]


def commits_by_partition(records, guarantee):
    return [("process", r) for r in records] + [("commit", {r.partition: r.offset + 1
                                                            for r in records})]


def commit_first_always(records, guarantee):
    return plan_batch(records, AT_MOST_ONCE)


def test_the_properties_pass_the_reference():
    from kafkadojo.autograder.properties import offsets
    learner = InProcessLearner(plan_batch=plan_batch)
    assert offsets.at_most_once(learner) is None
    assert offsets.at_least_once(learner) is None


@pytest.mark.parametrize("plan, guarantee, anomaly, shown", [
    (never_commits, AT_LEAST_ONCE, "never-committed", "replay: run_delivery('at-least-once', crash_at=[]"),
    (commits_last_processed, AT_LEAST_ONCE, "off-by-one-commit", "committed at the end: p0->7 (end 8)"),
    (commit_first_always, AT_LEAST_ONCE, "lost-record", "VIOLATION lost-record"),
    (lambda records, guarantee: plan_batch(records, AT_LEAST_ONCE), AT_MOST_ONCE, "duplicate",
     "VIOLATION duplicate"),
    (lambda records, guarantee: plan_batch(records[::-1], guarantee), AT_LEAST_ONCE,
     "out-of-order", "process  p0@3\n"),
])
def test_a_wrong_plan_fails_with_its_anomaly_and_its_replay_runs_as_printed(plan, guarantee,
                                                                           anomaly, shown):
    from kafkadojo.autograder.properties import offsets
    check = offsets.at_most_once if guarantee == AT_MOST_ONCE else offsets.at_least_once
    failure = check(InProcessLearner(plan_batch=plan))
    assert failure.anomaly == anomaly
    printed = replayed(failure.replay, plan_batch=plan)
    assert shown in printed and printed.strip() == failure.got.strip()


def test_a_malformed_plan_is_named_and_its_replay_raises_the_same_error():
    from kafkadojo.autograder.properties import offsets
    from kafkadojo.reference.delivery import PlanError
    failure = offsets.at_least_once(InProcessLearner(plan_batch=commits_by_partition))
    assert failure.anomaly == "malformed-plan"
    assert "keys are (topic, partition) pairs" in failure.got and "got the key 0" in failure.got
    with pytest.raises(PlanError, match="got the key 0"):
        replayed(failure.replay, plan_batch=commits_by_partition)


def test_the_plan_is_crashed_at_every_step_of_every_application_shape():
    from kafkadojo.autograder.properties import offsets
    calls = []

    def counting(records, guarantee):
        calls.append(len(records))
        return plan_batch(records, guarantee)
    assert offsets.at_least_once(InProcessLearner(plan_batch=counting)) is None
    assert 1 in calls and 9 >= max(calls) >= 6          # one-record and many-partition batches
    # A mistake only the last step of the one-record-per-batch application shows.
    def loses_the_last_record(records, guarantee):
        steps = plan_batch(records, guarantee)
        if records[-1].offset == 2 and len(records) == 1:
            return [steps[-1], *steps[:-1]]             # commits first, on this batch only
        return steps
    failure = offsets.at_least_once(InProcessLearner(plan_batch=loses_the_last_record))
    assert failure.anomaly == "lost-record" and "max_poll_records=1" in failure.replay


@pytest.mark.parametrize("got, anomaly", [
    ({("t", 0): 41}, "off-by-one-commit"),
    ({("t", 0): 40}, "first-record-commit"),
    ({0: 42}, "partition-only-key"),
    ({("t", 0): 43}, None),
    ([(("t", 0), 42)], None),
    ({}, None),
])
def test_committed_offsets_mistakes_are_named_only_when_they_are_that_mistake(got, anomaly):
    from kafkadojo.autograder.properties.offsets import commit_mistake
    batch = [Record("t", 0, 39, None, b"", 0), Record("t", 0, 41, None, b"", 0)]
    assert commit_mistake(batch, got) == anomaly


def test_committed_offsets_is_judged_on_batches_kafka_returns_at_their_edges():
    from hypothesis import HealthCheck, given, settings
    from kafkadojo.autograder.properties.offsets import batches
    seen = set()

    @settings(max_examples=200, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))     # as differential() draws them
    @given(batches())
    def draw(args):
        records = args[0]
        keys = {(r.topic, r.partition) for r in records}
        seen.add("empty" if not records else "one record" if len(records) == 1 else "more")
        if len(keys) >= 6:
            seen.add("many partitions")
        if len({p for _, p in keys}) < len(keys):
            seen.add("two topics, one partition number")
        if any(a.offset + 1 < b.offset and (a.topic, a.partition) == (b.topic, b.partition)
               for a, b in zip(records, records[1:])):
            seen.add("a gap (compacted topic)")
        if any(r.offset > 2 ** 32 for r in records):
            seen.add("offsets past 32 bits")
    draw()
    assert seen == {"empty", "one record", "more", "many partitions", "a gap (compacted topic)",
                    "two topics, one partition number", "offsets past 32 bits"}


def test_lag_is_negative_past_the_high_watermark_as_kafka_prints_it():
    from kafkadojo.autograder.properties.offsets import lag, lag_mistake
    from kafkadojo.reference.monitoring import partition_lag
    assert partition_lag(40, 45) == -5 and partition_lag(7, 7) == 0
    assert partition_lag(100, None) is None
    assert lag(InProcessLearner(partition_lag=partition_lag)) is None
    clamped = lag(InProcessLearner(partition_lag=lambda hw, c: None if c is None else max(0, hw - c)))
    assert clamped.anomaly == "clamped-lag"
    assert lag_mistake(100, 60, -40) == "reversed-lag" and lag_mistake(100, None, 0) == "lag-without-commit"
    assert lag_mistake(100, 60, 41) is None                     # the generic wrong-lag


def test_a_run_reports_what_it_left_uncommitted():
    from kafkadojo.reference.seams import REFERENCE
    outcome = run_delivery(AT_LEAST_ONCE, seams=REFERENCE.with_rules(plan_batch=commits_last_processed))
    assert outcome.uncommitted == [(0, 7, 8), (1, 3, 4)]
    assert run_delivery(AT_LEAST_ONCE).uncommitted == []
    assert run_delivery(AT_MOST_ONCE, crash_at=[(5, "after")]).uncommitted == []


def test_committed_offsets_feedback_names_the_mistake_and_accepts_any_mapping():
    from collections import defaultdict
    from kafkadojo.autograder.properties.offsets import committed
    by_partition = committed(InProcessLearner(committed_offsets=lambda records: {
        r.partition: r.offset + 1 for r in records}))
    assert by_partition.anomaly == "partition-only-key"
    last_processed = committed(InProcessLearner(committed_offsets=lambda records: {
        (r.topic, r.partition): r.offset for r in records}))
    assert last_processed.anomaly == "off-by-one-commit"
    first_record = committed(InProcessLearner(committed_offsets=lambda records: dict(reversed([
        ((r.topic, r.partition), r.offset + 1) for r in records]))))
    # Shrunk to two records of one partition, the first record + 1 is also the last record:
    # two mistakes give that answer, so neither is named.
    assert first_record.anomaly == "wrong-committed-offset"
    assert "partition=0, offset=0" in first_record.counterexample
    as_defaultdict = InProcessLearner(committed_offsets=lambda records: defaultdict(
        int, committed_offsets(records)))
    assert committed(as_defaultdict) is None


# -- exactly-once: transactions ------------------------------------------------------------------

def test_exactly_once_holds_for_the_output_topic_whatever_step_crashes():
    from kafkadojo.reference.delivery import EXACTLY_ONCE, crash_points, run_delivery
    points = crash_points(EXACTLY_ONCE)
    assert len(points) >= 20
    sink_duplicates = 0
    for point in points:
        outcome = run_delivery(EXACTLY_ONCE, crash_at=[point])
        assert outcome.violations() == [], outcome.report()
        assert sorted(outcome.outputs) == sorted(outcome.produced), outcome.report()
        sink_duplicates += bool(outcome.duplicated)
    # the world outside Kafka is another matter: a crash after a side effect repeats it
    assert sink_duplicates > 0


def test_exactly_once_into_an_idempotent_sink_has_no_duplicate_anywhere():
    from kafkadojo.reference.delivery import EXACTLY_ONCE, run_delivery
    outcome = run_delivery(EXACTLY_ONCE, crash_at=[(5, "after")], idempotent_sink=True)
    assert not outcome.duplicated and not outcome.outputs_duplicated
    plain = run_delivery(EXACTLY_ONCE, crash_at=[(5, "after")])
    assert plain.duplicated and "the sink outside Kafka got some effects twice" in plain.report()
    assert "each exactly once" in plain.report()
