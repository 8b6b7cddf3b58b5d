"""Throughput of the reference engine: against mockafka-py, and against the engine as it was
before it was made faster, in one run.

Run with ``make bench``. It prints rates and ratios; it asserts nothing (speed is tracked,
not tested).

**Against mockafka-py.** The workloads are the same for both: 100-byte values, one
partition. mockafka-py keeps records in a dict and does no replication; the engine
replicates every record to three brokers (acks=all, min.insync.replicas=2) through its
simulated network.

**The log cleaner against its floor.** Records per second one cleaning pass gets through
(the offset map, then the copy), next to a plain dict rebuilt from the same records: the
least work any compaction must do.

**Against the earlier engine.** How many seeded fault schedules (1,000 operations each,
checked) one process runs per minute, and the runs the autograder's in-cluster properties
make (300-operation schedules, retention, a consumer group, crashed delivery loops), each
next to the same runs on the engine of commit ``BASELINE`` (the last one before the
engine's hot paths were profiled and tuned, issue 10). That engine is taken from git
(``git archive``, into a temporary folder; the checkout is not touched) and both engines
run the same seeds, each in a fresh process, alternately, so that the load other programs
put on the machine falls on both alike; each keeps its best of ``--rounds`` rounds. Rates
are per second of CPU time of that process (wall-clock time on a shared machine mostly
measures the other programs); the wall-clock rate is shown too. Why a previous commit and
not a figure written down once: a figure measured on another day, under another load, on
another machine, says nothing about this run. What the ratio does not separate: changes
since ``BASELINE`` that model Kafka more faithfully (they can add work) count in it too.
Without git or that commit (an unpacked release), only the current engine's rates are shown.

    python benchmarks/bench_engine.py [--records N] [--rounds N] [--jobs N] [--skip-peer]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

VALUE = b"x" * 100
REPOSITORY = Path(__file__).resolve().parent.parent
BASELINE = "a0177f1c1e0fb48004b708ec470e89ab4bf2483e"

# name -> (what it is, seeds per round)
WORKLOADS = {
    "schedules": ("seeded fault schedules (1,000 operations each, checked)", 20),
    "property-schedules": ("in-cluster property runs: WorkloadConfig(operations=300, "
                           "fault_interval_ms=600)", 40),
    "retention": ("in-cluster property runs: run_retention(seed)", 60),
    "group": ("in-cluster property runs: run_group(seed, 'sticky', duration_ms=60_000)", 12),
    "delivery": ("in-cluster property runs: run_delivery('at-least-once', crash_at=[n])", 80),
}


def rate(count, seconds):
    return count / seconds if seconds > 0 else float("inf")


def best_of(repeats, fn):
    return max(fn() for _ in range(repeats))


# -- the engine against mockafka-py ---------------------------------------------------------------

def mockafka_produce(n):
    from mockafka import FakeAdminClientImpl, FakeProducer
    from mockafka.admin_client import NewTopic
    from mockafka.kafka_store import KafkaStore
    KafkaStore(clean=True)
    FakeAdminClientImpl().create_topics([NewTopic("bench", num_partitions=1)])
    producer = FakeProducer()
    start = time.perf_counter()
    for _ in range(n):
        producer.produce("bench", value=VALUE, partition=0)
    return rate(n, time.perf_counter() - start)


def mockafka_consume(n):
    from mockafka import FakeAdminClientImpl, FakeConsumer, FakeProducer
    from mockafka.admin_client import NewTopic
    from mockafka.kafka_store import KafkaStore
    KafkaStore(clean=True)
    FakeAdminClientImpl().create_topics([NewTopic("bench", num_partitions=1)])
    producer = FakeProducer()
    for _ in range(n):
        producer.produce("bench", value=VALUE, partition=0)
    consumer = FakeConsumer()
    consumer.subscribe(["bench"])
    start = time.perf_counter()
    got = 0
    while consumer.poll() is not None:
        got += 1
    return rate(got, time.perf_counter() - start)


def engine_cluster():
    from kafkadojo.reference import Cluster
    cluster = Cluster(brokers=3, seed=1)
    cluster.create_topic("bench", partitions=1, replication_factor=3,
                         config={"min.insync.replicas": 2})
    return cluster


def engine_produce(n, batched):
    cluster = engine_cluster()
    producer = cluster.producer(acks="all")
    producer.send("bench", VALUE).get()
    start = time.perf_counter()
    if batched:
        producer.send_many("bench", [VALUE] * n)
    else:
        send = producer.send
        for _ in range(n):
            send("bench", VALUE)
    producer.flush()
    elapsed = time.perf_counter() - start
    leader = cluster.leader("bench", 0)
    assert cluster.log(leader, "bench", 0).high_watermark == n + 1, "not all records committed"
    return rate(n, elapsed)


def engine_consume(n, one_per_call):
    cluster = engine_cluster()
    producer = cluster.producer(acks="all")
    producer.send("bench", VALUE).get()         # the producer learns the topic's metadata
    producer.send_many("bench", [VALUE] * n)
    producer.flush()
    consumer = cluster.consumer(auto_offset_reset="earliest")
    consumer.assign([("bench", 0)])
    start = time.perf_counter()
    got = 0
    limit = 1 if one_per_call else None
    while got < n + 1:
        records = consumer.poll(100, max_records=limit)
        if not records:
            break
        got += len(records)
    return rate(got, time.perf_counter() - start)


def against_peer(n):
    print(f"records per run: {n:,}; values of {len(VALUE)} bytes; best of 3 runs\n")
    peer_produce = best_of(3, lambda: mockafka_produce(n))
    peer_consume = best_of(3, lambda: mockafka_consume(n))
    rows = [
        ("produce, one record per call", best_of(3, lambda: engine_produce(n, batched=False)),
         peer_produce),
        ("produce, batched (send_many)", best_of(3, lambda: engine_produce(n * 3, batched=True)),
         peer_produce),
        ("consume, one record per poll", best_of(3, lambda: engine_consume(n, one_per_call=True)),
         peer_consume),
        ("consume, batched poll", best_of(3, lambda: engine_consume(n * 3, one_per_call=False)),
         peer_consume),
    ]
    print(f"{'workload':<32} {'kafkadojo (RF=3, acks=all)':>28} "
          f"{'mockafka-py (no replication)':>30} {'ratio':>7}")
    for name, ours, theirs in rows:
        print(f"{name:<32} {ours:>24,.0f}/s {theirs:>26,.0f}/s {ours / theirs:>6.2f}x")


# -- the engine against its earlier self ----------------------------------------------------------

def one_run(workload, seed):
    """One run of ``workload``, through the API both engines have."""
    if workload == "schedules":
        from kafkadojo.reference.workload import run
        return run(seed)
    if workload == "property-schedules":
        from kafkadojo.reference.workload import WorkloadConfig, run
        return run(seed, WorkloadConfig(operations=300, fault_interval_ms=600))
    if workload == "retention":
        from kafkadojo.reference.workload import run_retention
        return run_retention(seed)
    if workload == "group":
        from kafkadojo.reference.rebalance import run_group
        return run_group(seed=seed, strategy="sticky", duration_ms=60_000)
    if workload == "delivery":
        from kafkadojo.reference.delivery import run_delivery
        return run_delivery("at-least-once", crash_at=[seed % 40])
    raise ValueError(workload)


def worker(root, workload, count):
    """In a fresh process: time ``count`` runs of ``workload`` on the engine under ``root``
    (``-``: the installed one); print the CPU and wall seconds as JSON."""
    if root != "-":
        sys.path.insert(0, root)
    import kafkadojo.reference
    if root != "-":
        assert kafkadojo.reference.__file__.startswith(root), kafkadojo.reference.__file__
    one_run(workload, count)                # warm up: imports, first-call caches
    wall, cpu = time.perf_counter(), time.process_time()
    for seed in range(count):
        one_run(workload, seed)
    print(json.dumps({"cpu": time.process_time() - cpu, "wall": time.perf_counter() - wall}))


def baseline_engine(folder, revision=BASELINE):
    """The engine of commit ``revision``, unpacked under ``folder`` as an importable
    ``kafkadojo`` package; None if git or the commit is not there."""
    source = Path(folder) / "source"
    source.mkdir()
    try:
        archive = subprocess.run(["git", "-C", str(REPOSITORY), "archive", revision],
                                 capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(source)], input=archive, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    # Lay it out as pyproject.toml maps it: kafkadojo.reference is reference/, and so on.
    package = Path(folder) / "root" / "kafkadojo"
    shutil.copytree(source / "kafkadojo", package)
    for name in ("reference", "exercises", "autograder"):
        (package / name).symlink_to(source / name)
    return str(Path(folder) / "root")


def timed(root, workload, count):
    scratch = tempfile.mkdtemp(prefix="kafkadojo-bench-")
    try:
        # Run from an empty folder: nothing there may shadow the engine being measured.
        output = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--worker", root,
                                 workload, str(count)], cwd=scratch, capture_output=True,
                                text=True, check=True).stdout
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return json.loads(output.splitlines()[-1])


def against_baseline(rounds, workloads):
    with tempfile.TemporaryDirectory(prefix="kafkadojo-baseline-") as folder:
        baseline = baseline_engine(folder)
        if baseline is None:
            print(f"(the engine of commit {BASELINE[:12]} is not available here: no baseline)")
        engines = {"now": "-", "before": baseline} if baseline else {"now": "-"}
        print(f"the engine now against commit {BASELINE[:12]} (before issue 10's tuning): "
              f"same seeds, one process each, alternately, best of {rounds} rounds; "
              f"runs per CPU-minute (per wall-clock minute)")
        for workload in workloads:
            what, count = WORKLOADS[workload]
            best = {}
            for round_number in range(rounds):
                order = list(engines) if round_number % 2 == 0 else list(reversed(engines))
                for engine in order:
                    seconds = timed(engines[engine], workload, count)
                    kept = best.get(engine)
                    if kept is None or seconds["cpu"] < kept["cpu"]:
                        best[engine] = seconds
            now = best["now"]
            line = (f"  {what}:\n    now    {rate(count, now['cpu']) * 60:>8,.0f}/min "
                    f"({rate(count, now['wall']) * 60:,.0f})")
            if "before" in best:
                before = best["before"]
                line += (f"\n    before {rate(count, before['cpu']) * 60:>8,.0f}/min "
                         f"({rate(count, before['wall']) * 60:,.0f})"
                         f"\n    ratio  {before['cpu'] / now['cpu']:>8.2f}x")
            print(line, flush=True)


# -- the log cleaner against its floor --------------------------------------------------------------

def compaction_log(records, keys, seed=0):
    """A compacted log of ``records`` keyed writes over ``keys`` keys (one in ten a delete),
    batches of 10, segments of 16 KiB, everything committed."""
    import random

    from kafkadojo.reference.log import Log
    from kafkadojo.reference.seams import REFERENCE
    rng = random.Random(seed)
    log = Log("bench", 0, segment_bytes=16_384, seams=REFERENCE)
    for start in range(0, records, 10):
        chosen = [b"key-%06d" % rng.randrange(keys) for _ in range(10)]
        values = [None if rng.random() < 0.1 else VALUE for _ in range(10)]
        log.append_as_leader(chosen, values, [start] * 10, None, 0, start)
    log.roll(records)
    log.high_watermark = log.log_end_offset
    return log


def cleaner_against_floor(records=200_000, keys=10_000, rounds=3):
    """Records cleaned per second by one cleaning pass of the engine's cleaner, next to the
    floor: a dict rebuilt from the same records (each key to its latest record), the least
    any compaction must do. Each best of ``rounds``."""
    from kafkadojo.reference.cleaner import Cleaner, CleanerStats
    from kafkadojo.reference.seams import REFERENCE

    def clean():
        log = compaction_log(records, keys)
        start = time.perf_counter()
        Cleaner(REFERENCE, CleanerStats()).clean(log, 0, log.segments[-1].base_offset, records,
                                                 86_400_000, map_capacity=10**9)
        return rate(records, time.perf_counter() - start)

    def rebuild():
        log = compaction_log(records, keys)
        start = time.perf_counter()
        latest = {}
        for batch in log.batches:
            for offset, key, value in zip(batch.record_offsets(), batch.keys, batch.values):
                latest[key] = (offset, value)
        return rate(records, time.perf_counter() - start)

    ours, floor = best_of(rounds, clean), best_of(rounds, rebuild)
    print(f"{'log cleaner, one pass':<32} {ours:>24,.0f}/s {'dict rebuild (the floor)':>24} "
          f"{floor:>10,.0f}/s {ours / floor:>6.2f}x   ({records:,} records, {keys:,} keys)")


# -- the producer's batching levers -----------------------------------------------------------------

LEVER_LINGERS = (0, 5, 20, 100)
LEVER_BATCH_SIZES = (16_384, 131_072)
LEVER_CODECS = ("none", "gzip", "snappy", "lz4", "zstd")


def batching_levers(records=6_000, lingers=LEVER_LINGERS, batch_sizes=LEVER_BATCH_SIZES,
                    codecs=LEVER_CODECS):
    """linger.ms, batch.size and compression.type against bytes on the wire and latency: a
    table, then the bytes per record and the p99 latency as bars. Simulated bytes and
    milliseconds: the same on every machine."""
    from kafkadojo.reference.workload import run_batching
    rows = []
    for codec in codecs:
        for batch_size in batch_sizes:
            for linger in lingers:
                wire, batches, mean, p99, _ = run_batching(linger, batch_size, codec, records)
                rows.append((codec, batch_size, linger, wire, batches, mean, p99))
    print(f"the producer's batching levers: {records:,} order events (~110 B of JSON each), "
          f"6 a simulated ms, 3 partitions, RF 3, acks=all")
    print(f"{'compression':<12}{'batch.size':>11}{'linger.ms':>10}{'bytes/record':>14}"
          f"{'batches':>9}{'mean ms':>9}{'p99 ms':>8}")
    for codec, batch_size, linger, wire, batches, mean, p99 in rows:
        print(f"{codec:<12}{batch_size:>11,}{linger:>10}{wire / records:>14.1f}{batches:>9,}"
              f"{mean:>9.1f}{p99:>8}")
    widest = max(wire for *_, wire, _, _, _ in rows) / records
    slowest = max(p99 for *_, p99 in rows) or 1
    print(f"\nbytes per record (|) and p99 latency (#), batch.size={batch_sizes[0]:,}:")
    for codec, batch_size, linger, wire, _, _, p99 in rows:
        if batch_size != batch_sizes[0]:
            continue
        label = f"{codec} linger={linger}"
        print(f"  {label:<18} {'|' * max(1, round(30 * wire / records / widest)):<30} "
              f"{wire / records:6.1f} B  {'#' * max(1, round(20 * p99 / slowest)):<20} {p99} ms")
    return rows


# -- many processes ---------------------------------------------------------------------------------

def one_schedule(seed):
    from kafkadojo.reference.workload import run
    outcome = run(seed)
    return outcome.valid, len(outcome.history)


def schedules_per_minute(count, jobs):
    start = time.perf_counter()
    with ProcessPoolExecutor(jobs) as pool:
        results = list(pool.map(one_schedule, range(count), chunksize=4))
    elapsed = time.perf_counter() - start
    ops = sum(n for _, n in results) / max(1, len(results))
    return count / elapsed * 60, ops, all(v for v, _ in results)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--worker":
        worker(argv[1], argv[2], int(argv[3]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=300_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--schedules", type=int, default=100,
                        help="schedules for the many-process rate")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--workloads", default=",".join(WORKLOADS),
                        help=f"comma-separated, of {', '.join(WORKLOADS)}")
    parser.add_argument("--skip-peer", action="store_true", help="leave out mockafka-py")
    parser.add_argument("--levers-only", action="store_true",
                        help="only the producer's batching levers (linger.ms, batch.size, "
                             "compression.type): bytes on the wire and latency")
    parser.add_argument("--lever-records", type=int, default=6_000)
    args = parser.parse_args(argv)

    if args.levers_only:
        batching_levers(args.lever_records)
        return 0
    if not args.skip_peer:
        against_peer(args.records)
        print()
    against_baseline(args.rounds, [w for w in args.workloads.split(",") if w])
    print()
    cleaner_against_floor(rounds=args.rounds)
    print()
    batching_levers(args.lever_records)
    if args.jobs > 1:
        per_minute, ops, valid = schedules_per_minute(args.schedules, args.jobs)
        print(f"\n{args.jobs} processes: {per_minute:,.0f} fault schedules/minute "
              f"({ops:,.0f} history ops each; all valid: {valid})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
