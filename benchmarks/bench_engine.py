"""Throughput of the reference engine, side by side with mockafka-py, in one run.

Run with ``make bench``. It prints rates and ratios; it asserts nothing (speed is tracked,
not tested). The workloads are the same for both: 100-byte values, one partition.
mockafka-py keeps records in a dict and does no replication; the engine replicates every
record to three brokers (acks=all, min.insync.replicas=2) through its simulated network.

    python benchmarks/bench_engine.py [--records N] [--schedules N] [--jobs N]
"""

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor

VALUE = b"x" * 100


def rate(count, seconds):
    return count / seconds if seconds > 0 else float("inf")


def best_of(repeats, fn):
    return max(fn() for _ in range(repeats))


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
    producer.send_many("bench", [VALUE] * n)
    producer.flush()
    consumer = cluster.consumer(auto_offset_reset="earliest")
    consumer.assign([("bench", 0)])
    start = time.perf_counter()
    got = 0
    limit = 1 if one_per_call else None
    while got < n:
        records = consumer.poll(100, max_records=limit)
        if not records:
            break
        got += len(records)
    return rate(got, time.perf_counter() - start)


def one_schedule(seed):
    from kafkadojo.reference.workload import run
    outcome = run(seed)
    return outcome.valid, len(outcome.history)


def schedules_per_minute(count, jobs):
    start = time.perf_counter()
    if jobs == 1:
        results = [one_schedule(seed) for seed in range(count)]
    else:
        with ProcessPoolExecutor(jobs) as pool:
            results = list(pool.map(one_schedule, range(count), chunksize=4))
    elapsed = time.perf_counter() - start
    ops = sum(n for _, n in results) / max(1, len(results))
    return count / elapsed * 60, ops, all(v for v, _ in results)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=300_000)
    parser.add_argument("--schedules", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    n = args.records

    print(f"records per run: {n:,}; values of {len(VALUE)} bytes; best of 3 runs\n")
    peer_produce = best_of(3, lambda: mockafka_produce(n))
    peer_consume = best_of(3, lambda: mockafka_consume(n))
    per_record = best_of(3, lambda: engine_produce(n, batched=False))
    batched = best_of(3, lambda: engine_produce(n * 3, batched=True))
    consume_one = best_of(3, lambda: engine_consume(n, one_per_call=True))
    consume_batched = best_of(3, lambda: engine_consume(n * 3, one_per_call=False))

    rows = [
        ("produce, one record per call", per_record, peer_produce),
        ("produce, batched (send_many)", batched, peer_produce),
        ("consume, one record per poll", consume_one, peer_consume),
        ("consume, batched poll", consume_batched, peer_consume),
    ]
    print(f"{'workload':<32} {'kafkadojo (RF=3, acks=all)':>28} {'mockafka-py (no replication)':>30} {'ratio':>7}")
    for name, ours, theirs in rows:
        print(f"{name:<32} {ours:>24,.0f}/s {theirs:>26,.0f}/s {ours / theirs:>6.2f}x")

    print(f"\nseeded fault schedules (1,000 operations each, checked), {args.schedules} schedules:")
    for jobs in sorted({1, args.jobs}):
        per_minute, ops, valid = schedules_per_minute(args.schedules, jobs)
        print(f"  {jobs} process(es): {per_minute:,.0f} schedules/minute "
              f"({ops:,.0f} history ops each; all valid: {valid})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
