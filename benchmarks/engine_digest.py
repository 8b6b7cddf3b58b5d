"""Did a change to the engine change its behaviour? Fingerprints of a fixed set of runs, on
the engine in the working tree and on the engine of a git revision, side by side.

A speed-up must change nothing: not one history, verdict, fault or event count, and not
one call to a rule through its seam (a learner's rule plugged into a seam must be asked the
same questions, the same number of times). Each run here (fault schedules of several
configurations, retention, consumer groups, crashed delivery loops) is fingerprinted with
every seam call it makes (the arguments and the answer, in order), in a fresh process per
engine with a fixed hash seed. Compare against the commit before a speed-up:

    python benchmarks/engine_digest.py --against HEAD      # the working tree vs. HEAD
    python benchmarks/engine_digest.py --against a0177f1   # ... vs. the engine before issue 10

It prints the runs whose fingerprints differ (none: same behaviour) and exits 1 if any do.
A change that is meant to change behaviour (a fidelity fix) differs, of course: this is a
check for changes that must not.
"""

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_engine import baseline_engine


def fingerprints():
    """{run: (outcome digest, seam-call digest, seam calls)} for the engine imported."""
    from dataclasses import fields, replace

    from kafkadojo.reference.delivery import run_delivery
    from kafkadojo.reference.rebalance import run_group
    from kafkadojo.reference.seams import REFERENCE, Seams
    from kafkadojo.reference.workload import WorkloadConfig, run, run_retention

    def digest(*parts):
        return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]

    def recording():
        log = {"hash": hashlib.sha256(), "calls": 0}

        def wrap(name, rule):
            def call(*args, **kwargs):
                asked = repr((args, sorted(kwargs.items())))
                answer = rule(*args, **kwargs)
                log["hash"].update(f"{name}{asked}->{answer!r}\n".encode())
                log["calls"] += 1
                return answer
            return call
        seams = REFERENCE.with_rules(**{f.name: wrap(f.name, getattr(REFERENCE, f.name))
                                        for f in fields(Seams)})
        return seams, log

    def schedule_digest(outcome):
        anomalies = {kind: [(a.topic, a.partition, a.offset, a.value,
                             [op.index for op in a.ops], a.explanation) for a in found]
                     for kind, found in outcome.result.anomalies.items()}
        return digest([tuple(op) for op in outcome.history.ops], outcome.result.valid,
                      anomalies, outcome.result.stats, [tuple(v) for v in outcome.violations],
                      outcome.faults, outcome.acknowledged, outcome.simulated_ms, outcome.events)

    runs = {}
    configs = {"default": {}, "acks=1": {"acks": "1"},
               "unclean": {"unclean_leader_election": True, "min_insync_replicas": 1},
               "hw-truncation": {"truncation": "high-watermark"}, "unkeyed": {"keyed": False},
               "power-loss": {"lose_unflushed_on_crash": True},
               "5 brokers": {"brokers": 5, "partitions": 4, "producers": 3}}
    for name, change in configs.items():
        for seed in range(4):
            runs[f"schedule {name} seed {seed}"] = lambda seams, seed=seed, change=change: \
                schedule_digest(run(seed, replace(WorkloadConfig(operations=400), **change),
                                    seams=seams))
    for seed in range(8):
        runs[f"retention seed {seed}"] = lambda seams, seed=seed: digest(
            run_retention(seed, seams=seams))
    for strategy in ("range", "roundrobin", "sticky", "cooperative-sticky"):
        for seed in range(2):
            runs[f"group {strategy} seed {seed}"] = lambda seams, seed=seed, strategy=strategy: \
                digest(run_group(seed=seed, strategy=strategy, duration_ms=40_000, seams=seams))
    for guarantee in ("at-most-once", "at-least-once"):
        for crash in ([], [3], [(5, "after")], [2, 9]):
            runs[f"delivery {guarantee} crash {crash}"] = \
                lambda seams, guarantee=guarantee, crash=crash: digest(
                    run_delivery(guarantee, crash_at=crash, seams=seams))
    result = {}
    for name, one in runs.items():
        seams, log = recording()
        result[name] = (one(seams), log["hash"].hexdigest()[:16], log["calls"])
    return result


def measure(root):
    """The fingerprints of the engine under ``root`` (``-``: the installed one), computed in
    a fresh process with a fixed hash seed."""
    with tempfile.TemporaryDirectory(prefix="kafkadojo-digest-") as scratch:
        output = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--worker", root],
            cwd=scratch, capture_output=True, text=True, check=True,
            env={**os.environ, "PYTHONHASHSEED": "0"}).stdout
    return json.loads(output.splitlines()[-1])


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--worker":
        if argv[1] != "-":
            sys.path.insert(0, argv[1])
            import kafkadojo.reference
            assert kafkadojo.reference.__file__.startswith(argv[1]), kafkadojo.reference.__file__
        print(json.dumps(fingerprints()))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", default="HEAD", help="a git revision (default HEAD)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="kafkadojo-digest-base-") as folder:
        root = baseline_engine(folder, args.against)
        if root is None:
            print(f"cannot unpack the engine of {args.against!r} with git")
            return 2
        before, now = measure(root), measure("-")
    differ = [name for name in before if before[name] != now.get(name)]
    calls = sum(calls for _, _, calls in now.values())
    print(f"{len(before)} runs, {calls:,} seam calls: "
          + ("the same on both engines" if not differ else f"{len(differ)} differ"))
    for name in differ:
        print(f"  {name}: {args.against} {before[name]}  now {now.get(name)}")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
