"""One seed, one run: the engine's runs replay exactly, and so do the calls it makes to its
rules (a learner's rule, plugged into a seam, is asked the same questions every time).

The engine's hot paths are tuned for speed (``make bench``); these tests pin down that the
tuning leaves no room for chance: same seed, same history, same verdict, same events, same
seam calls, in the same process or a fresh one with another hash seed. (That a tuning
changed nothing at all is checked against the engine before it: see
``benchmarks/engine_digest.py``.)"""

import hashlib
import json
import os
import subprocess
import sys
from dataclasses import fields

import pytest

from kafkadojo.reference.delivery import run_delivery
from kafkadojo.reference.rebalance import run_group
from kafkadojo.reference.seams import REFERENCE, Seams
from kafkadojo.reference.sim import Simulator
from kafkadojo.reference.workload import WorkloadConfig, run, run_retention


class RecordingSeams:
    """Every seam's reference rule, wrapped so that each call (arguments and answer) is
    hashed in order."""

    def __init__(self):
        self.hash = hashlib.sha256()
        self.calls = 0

    def seams(self):
        def recorded(name, rule):
            def call(*args, **kwargs):
                asked = repr((args, sorted(kwargs.items())))
                answer = rule(*args, **kwargs)
                self.hash.update(f"{name}{asked}->{answer!r}\n".encode())
                self.calls += 1
                return answer
            return call
        return REFERENCE.with_rules(**{f.name: recorded(f.name, getattr(REFERENCE, f.name))
                                       for f in fields(Seams)})


def schedule(seed, seams):
    outcome = run(seed, WorkloadConfig(operations=300, fault_interval_ms=600), seams=seams)
    anomalies = {kind: [(a.topic, a.partition, a.offset, a.value, [op.index for op in a.ops])
                        for a in found] for kind, found in outcome.result.anomalies.items()}
    return ([tuple(op) for op in outcome.history.ops], outcome.result.valid, anomalies,
            outcome.result.stats, [tuple(v) for v in outcome.violations], outcome.faults,
            outcome.acknowledged, outcome.simulated_ms, outcome.events)


RUNS = {
    "fault schedule": schedule,
    "retention": lambda seed, seams: run_retention(seed, seams=seams),
    "consumer group": lambda seed, seams: run_group(seed=seed, strategy="cooperative-sticky",
                                                    duration_ms=30_000, seams=seams),
    "crashed delivery": lambda seed, seams: run_delivery("at-least-once", crash_at=[seed + 2],
                                                         seed=seed, seams=seams),
}


def fingerprint(kind, seed):
    recorder = RecordingSeams()
    outcome = RUNS[kind](seed, recorder.seams())
    return (hashlib.sha256(repr(outcome).encode()).hexdigest(), recorder.hash.hexdigest(),
            recorder.calls)


@pytest.mark.parametrize("kind", RUNS)
def test_the_same_seed_gives_the_same_run_and_the_same_seam_calls(kind):
    first = fingerprint(kind, 3)
    assert first[2] > 0, "the run asked its rules nothing"
    assert fingerprint(kind, 3) == first
    assert fingerprint(kind, 4) != first, "the seed changes nothing: the runs test nothing"


def test_a_run_depends_on_nothing_but_its_seed():
    """Not on earlier runs in the process (caches, module state), not on hash randomisation
    (the order of a set of strings): a fresh interpreter with another hash seed agrees."""
    here = [fingerprint(kind, 5) for kind in RUNS]
    code = ("import json, test_determinism as t; "
            "print(json.dumps([t.fingerprint(k, 5) for k in t.RUNS]))")
    fresh = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True, cwd=os.path.dirname(os.path.abspath(__file__)),
                           env={**os.environ, "PYTHONHASHSEED": "1234"}).stdout
    assert [tuple(f) for f in json.loads(fresh.splitlines()[-1])] == here


# -- Simulator.halt: the end of a run without an until() asked after every event ----------------

def test_halt_ends_the_run_after_the_current_event_and_keeps_the_clock_there():
    sim = Simulator()
    ran = []

    def event(name, halt=False):
        ran.append((name, sim.now))
        if halt:
            sim.halt()
    sim.schedule(5, event, "a")
    sim.schedule(10, event, "b", True)
    sim.schedule(10, event, "c")           # due at the same time, but after the halt
    sim.schedule(20, event, "d")
    assert sim.run_until(1_000) is True
    assert ran == [("a", 5), ("b", 10)] and sim.now == 10 and sim.events_run == 2
    assert sim.run_until(1_000) is False    # the rest runs on, and the clock moves to the end
    assert ran[2:] == [("c", 10), ("d", 20)] and sim.now == 1_000 and sim.events_run == 4


def test_a_halt_that_came_too_late_does_not_end_the_next_run():
    sim = Simulator()
    sim.schedule(1, sim.halt)               # the until() below ends this run first
    sim.schedule(2, lambda: None)
    assert sim.run_until(100, until=lambda: sim.now >= 1) is True
    assert sim.run_until(100) is False and sim.now == 100 and sim.events_run == 2
    sim.halt()                              # outside a run: nothing to end
    sim.schedule(1, lambda: None)
    assert sim.run_until(200) is False and sim.now == 200 and sim.pending() == 0
