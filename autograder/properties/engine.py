"""Properties that run the learner's rule inside the engine, under seeded faults.

How many seeds. A wrong rule breaks a schedule only when the faults happen to expose it
(a high-watermark rule that commits up to the furthest follower lost a write on about one
seed in eight before ``DurabilityWatch``), so a property runs many seeds and stops at the
first that fails. The count is FIXED, never "as many as time allows": a grade must not
depend on how fast or how busy the grading machine is. It is derived from the time a
correct rule may take, so a faster engine buys more seeds: re-measure
``SECONDS_PER_SCHEDULE`` with ``calibrate_all()`` after the engine gets faster, and every
property gets the seeds its share now affords.
"""

import dataclasses
import time

from kafkadojo.reference.seams import REFERENCE
from kafkadojo.reference.sim import StepBudgetExceeded
from kafkadojo.reference.workload import WorkloadConfig, run

from . import Failure, LearnerError, remembered

# Kafka's durability rules, watched while the faults run (invariants.DurabilityWatch).
WATCH_MS = 50
# Small schedules: enough faults to matter, quick enough for a class.
SCHEDULE = WorkloadConfig(operations=300, fault_interval_ms=600, watch_interval_ms=WATCH_MS)
# Faults that change leaders while producers keep writing: a leader cut off from the
# controller takes writes it will have to truncate, and elections happen with replicas
# out of the ISR. Truncation and election rules act only then.
LEADER_CHANGES = WorkloadConfig(operations=300, fault_interval_ms=1_000,
                                faults=("partition", "partition", "heal", "crash", "restart",
                                        "bounce"),
                                watch_interval_ms=WATCH_MS)

# Events one run of the engine may take with a learner's rule in it: Kafka's rules need a
# few thousand for these runs, so a rule that needs 50 times more is stuck, not slow.
EVENT_BUDGET = 300_000

# -- the seed budget ---------------------------------------------------------------------------
# A whole course must grade in under 30 s with correct answers, which run every seed (on the
# 2-core reference machine, `kafkadojo grade --jobs 2`: 25 s for the eight assignments of
# issue 13, see benchmarks/bench_grading.py). When this was set, the rest of the course took
# about 10 s, and five properties ran fault schedules
# (next_high_watermark, truncation_offset, elect_leader, should_roll, fetch_upper_bound), so
# each may spend about 3 s on a correct rule: 5% of its exercise's 60 s budget
# (grader.EXERCISE_BUDGET_S), which leaves a slow but correct learner's rule ample room.
IN_CLUSTER_SHARE_S = 3.0
# One schedule with a correct rule answered from its sandbox, per seam, measured with
# calibrate_all() on the 2-core reference machine while it was busy (load about 4): an idle
# one takes about half, so a course grades well inside its 30 s. The rule's round trips to
# its sandbox dominate: the engine asks next_high_watermark about 600 questions a schedule
# (370 different ones: answers are remembered), truncation_offset about 8. Re-measure when
# the engine or the sandbox gets faster.
SECONDS_PER_SCHEDULE = {
    "next_high_watermark": 0.075,
    "truncation_offset": 0.045,
    "elect_leader": 0.045,
    "should_roll": 0.075,
    "fetch_upper_bound": 0.08,
    # group runs (groups.GROUP_RUN, one broker), measured with groups.calibrate; their
    # properties have a share of their own (groups.GROUP_SHARE_S)
    "sticky_assign": 0.016,
    "partitions_to_revoke": 0.016,
}
UNMEASURED_SECONDS_PER_SCHEDULE = 0.08
# Never fewer: the rarer mistakes (an election from outside the ISR shows on about one
# seed in eight) would slip through too often.
MIN_SEEDS = 40


def seed_count(seam, share_s=IN_CLUSTER_SHARE_S):
    """The seeds a property of ``seam`` runs: all its share buys, never fewer than
    ``MIN_SEEDS``. The same on every machine: a grade must not depend on its speed."""
    cost = SECONDS_PER_SCHEDULE.get(seam, UNMEASURED_SECONDS_PER_SCHEDULE)
    return max(MIN_SEEDS, int(share_s / cost))


def in_the_engine(learner, seam, function, seeds=None, config=SCHEDULE, config_source=None,
                  fail_on=()):
    """Run fault schedules (seeds ``0 .. seed_count(seam) - 1``, or the seeds given) with
    the learner's ``function`` plugged into ``seam``; the first schedule that loses an
    acknowledged write, forks the log or breaks an invariant fails, and the feedback names
    its seed. ``fail_on`` names anomalies that fail it too, though at-least-once delivery
    allows them (``duplicate``, for the idempotent producer).
    ``config_source`` is how the replay spells ``config`` (built from it when None)."""
    seams = REFERENCE.with_rules(**{seam: remembered(learner.function(function))})
    if seeds is None:
        seeds = seed_count(seam)
    seeds = list(range(seeds) if isinstance(seeds, int) else seeds)
    for tried, seed in enumerate(seeds):
        where = f"fault schedule seed {seed} ({_passed_before(tried, seeds)})"
        replay = engine_replay(seam, seed, config, config_source)
        try:
            outcome = run(seed, config, seams=seams, event_budget=EVENT_BUDGET)
        except Exception as error:      # noqa: BLE001 - judged by engine_failure
            return engine_failure(error, where, replay)
        if not outcome.valid or any(kind in outcome.result.anomalies for kind in fail_on):
            kinds = [v.kind for v in outcome.violations]
            kinds += [k for k in fail_on if k in outcome.result.anomalies]
            kinds += [k for k in outcome.result.anomalies if k not in ("duplicate", "nonmonotonic-send")]
            detail = outcome.result.report(max_per_kind=2, history=outcome.history)
            if outcome.violations:
                broken = "\n".join(str(v) for v in outcome.violations[:3])
                # the history's own verdict only when it saw something too
                detail = broken + ("\n" + detail if not outcome.result.valid else "")
            return Failure(kinds[0] if kinds else "invalid", where,
                           expected="no acknowledged record lost, no forked log, every "
                                    "committed record on every in-sync replica"
                                    + (", no record written twice" if fail_on else ""),
                           got=detail, replay=replay)
    return None


def _passed_before(tried, seeds):
    if tried == 0:
        return f"the first of the {len(seeds)} schedules tried"
    passed = f"seed {seeds[0]}" if tried == 1 else f"seeds {seeds[0]} to {seeds[tried - 1]}"
    return f"after {passed} passed, of the {len(seeds)} tried"


def engine_failure(error, where, replay):
    """The engine stopped on the learner's rule: it did not return (``LearnerError``), or
    the engine could not use what it returned."""
    if isinstance(error, LearnerError):
        return Failure(error.outcome.kind, f"{where}: the engine called {error.call}",
                       got=error.outcome.describe(), replay=replay)
    if isinstance(error, StepBudgetExceeded):
        return Failure("engine-step-budget", where,
                       expected=f"the run ends within {EVENT_BUDGET:,} simulated events "
                                "(Kafka's rules need a few thousand)",
                       got=f"with your rule the cluster ran {error}: does it stop progress, "
                           "or make clients retry forever?", replay=replay)
    return Failure("engine-error", where,
                   got=f"the engine failed on your function's answers: "
                       f"{type(error).__name__}: {error}", replay=replay)


def workload_runs(learner, seam, workload, label, seeds, expected, **options):
    """Run ``workload`` (a ``reference.workload`` function: ``workload(seed, seams=...,
    event_budget=..., **options)`` with ``.valid`` and ``.anomalies`` [(kind, detail)]) on
    seeds ``0 .. seeds-1`` with the learner's ``seam`` plugged in; the first anomaly fails,
    named, with ``expected`` (what Kafka promises) and a replay that runs as printed."""
    seams = REFERENCE.with_rules(**{seam: remembered(learner.function(seam))})
    shown = "".join(f", {name}={value!r}" for name, value in options.items())
    for seed in range(seeds):
        replay = (f">>> from kafkadojo.reference.workload import {workload.__name__}\n"
                  ">>> from kafkadojo.reference.seams import REFERENCE\n"
                  f">>> print({workload.__name__}({seed}, REFERENCE.with_rules("
                  f"{seam}=YOUR_FUNCTION){shown}).report())")
        where = f"{label} seed {seed} (of the {seeds} tried)"
        try:
            outcome = workload(seed, seams=seams, event_budget=EVENT_BUDGET, **options)
        except Exception as error:      # noqa: BLE001 - judged by engine_failure
            return engine_failure(error, where, replay)
        if not outcome.valid:
            kind, detail = outcome.anomalies[0]
            return Failure(kind, where, expected=expected, got=detail, replay=replay)
    return None


def config_source(config):
    """``config`` as the Python that builds it: only what differs from the defaults."""
    defaults = WorkloadConfig()
    changed = [f"{f.name}={getattr(config, f.name)!r}" for f in dataclasses.fields(config)
               if getattr(config, f.name) != getattr(defaults, f.name)]
    return "WorkloadConfig(" + ", ".join(changed) + ")"


def engine_replay(seam, seed, config=SCHEDULE, source=None):
    """How a learner replays one schedule with their rule (it runs as printed once
    YOUR_FUNCTION names it). Long lines are continued with ``...``, as the REPL shows them."""
    return (">>> from kafkadojo.reference.workload import run, WorkloadConfig\n"
            ">>> from kafkadojo.reference.seams import REFERENCE\n"
            f">>> print(run({seed}, {source or config_source(config)},\n"
            f"...     seams=REFERENCE.with_rules({seam}=YOUR_FUNCTION)).report())")


def calibrate(seam, config=SCHEDULE, seeds=10):
    """Seconds one schedule takes with the reference's rule for ``seam`` answered from a
    sandbox, as a property runs it: what ``SECONDS_PER_SCHEDULE[seam]`` should say on the
    reference machine."""
    from kafkadojo.exercises.catalog import EXERCISES, solution_module

    from ..sandbox import Sandbox
    from . import Learner

    exercise = next(e for e in EXERCISES if e.seam == seam)
    with Sandbox(solution_module(exercise.assignment)) as sandbox:
        sandbox.start()
        seams = REFERENCE.with_rules(
            **{seam: Learner(sandbox).function(exercise.function, remember=True)})
        start = time.perf_counter()
        for seed in range(seeds):
            run(seed, config, seams=seams, event_budget=EVENT_BUDGET)
        return (time.perf_counter() - start) / seeds


def calibrate_all(seeds=10):
    """``SECONDS_PER_SCHEDULE`` as this machine measures it, for each property's schedule:
    ``python -c "from kafkadojo.autograder.properties.engine import calibrate_all as c; c()"``."""
    from .log import SMALL_SEGMENTS
    schedules = {"next_high_watermark": SCHEDULE, "truncation_offset": LEADER_CHANGES,
                 "elect_leader": LEADER_CHANGES, "should_roll": SMALL_SEGMENTS,
                 "fetch_upper_bound": SMALL_SEGMENTS}
    measured = {seam: round(calibrate(seam, config, seeds), 3) for seam, config in schedules.items()}
    for seam, seconds in measured.items():
        print(f"    {seam!r}: {seconds},")
    return measured
