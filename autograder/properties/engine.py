"""Properties that run the learner's rule inside the engine, under seeded faults."""

from kafkadojo.reference.seams import REFERENCE
from kafkadojo.reference.sim import StepBudgetExceeded
from kafkadojo.reference.workload import WorkloadConfig, run

from . import Failure, LearnerError

# Small schedules: enough faults to matter, quick enough for a class.
SCHEDULE = WorkloadConfig(operations=300, fault_interval_ms=600)
SCHEDULE_SOURCE = "WorkloadConfig(operations=300, fault_interval_ms=600)"
# Events one run of the engine may take with a learner's rule in it: Kafka's rules need a
# few thousand for these runs, so a rule that needs 50 times more is stuck, not slow.
EVENT_BUDGET = 300_000


def in_the_engine(learner, seam, function, seeds, config=SCHEDULE, config_source=SCHEDULE_SOURCE):
    """Run fault schedules with the learner's ``function`` plugged into ``seam``; the first
    schedule that loses an acknowledged write, forks the log or breaks an invariant fails."""
    seams = REFERENCE.with_rules(**{seam: learner.function(function)})
    for seed in seeds:
        try:
            outcome = run(seed, config, seams=seams, event_budget=EVENT_BUDGET)
        except Exception as error:      # noqa: BLE001 - judged by engine_failure
            return engine_failure(error, f"fault schedule seed {seed}",
                                  _replay(seam, seed, config_source))
        if not outcome.valid:
            kinds = [k for k in outcome.result.anomalies if k not in ("duplicate", "nonmonotonic-send")]
            kinds += [v.kind for v in outcome.violations]
            detail = outcome.result.report(max_per_kind=2, history=outcome.history)
            if outcome.violations:
                detail = "\n".join(str(v) for v in outcome.violations[:3]) + "\n" + detail
            return Failure(kinds[0] if kinds else "invalid", f"fault schedule seed {seed}",
                           expected="no acknowledged record lost, no forked log",
                           got=detail, replay=_replay(seam, seed, config_source))
    return None


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


def _replay(seam, seed, config_source=SCHEDULE_SOURCE):
    return (">>> from kafkadojo.reference.workload import run, WorkloadConfig\n"
            ">>> from kafkadojo.reference.seams import REFERENCE\n"
            f">>> run({seed}, {config_source},\n"
            f"...     seams=REFERENCE.with_rules({seam}=YOUR_FUNCTION)).report()")
