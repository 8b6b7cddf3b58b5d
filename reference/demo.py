"""``make demo``: a leader crash on a three-broker cluster, KIP-101's data loss and its fix,
then a consumer group: eager and cooperative rebalances, and what a crash costs each
delivery guarantee; then one line each from the later chapters: a zombie fenced by
transactions, a tenant boundary that leaks, a hot broker cooled by a leader election."""

from .cluster import Cluster
from .delivery import run_delivery
from .rebalance import run_group
from .monitoring import format_partition
from .scenarios import run_scenario


def leader_crash(seed):
    cluster = Cluster(brokers=3, seed=seed)
    cluster.create_topic("orders", partitions=1, replication_factor=3,
                         config={"min.insync.replicas": 2})
    producer = cluster.producer(acks="all", linger_ms=0)
    for i in range(5):
        producer.send("orders", b"order-%d" % i, key=b"customer-7")
    producer.flush()
    print(f"5 orders acknowledged with acks=all, t={cluster.now} ms\n")
    print(format_partition(cluster, "orders", 0))
    leader = cluster.leader("orders", 0)
    print(f"\n>>> broker {leader}, the leader, crashes")
    cluster.crash(leader)
    cluster.run_for(15_000)
    for time_ms, text in cluster.events[-3:]:
        print(f"  t={time_ms:>6} ms  {text}")
    print()
    print(format_partition(cluster, "orders", 0))
    consumer = cluster.consumer(auto_offset_reset="earliest")
    consumer.assign([("orders", 0)])
    values = [r.value.decode() for r in consumer.poll(2_000)]
    print(f"\na consumer reads from the new leader: {values}")


def main(seed=7):
    print("kafkadojo demo: the reference engine, simulated and seeded "
          f"(seed {seed}; same seed, same run)\n")
    leader_crash(seed)
    print("\n" + "-" * 78 + "\n")
    for fixed in (False, True):
        print(run_scenario("kip-101-case-1", fixed=fixed).report())
        print()
    print("-" * 78 + "\n")
    print("A consumer group of three under the same member faults, eager then cooperative:\n")
    for strategy in ("sticky", "cooperative-sticky"):
        print(run_group(seed=4, strategy=strategy, faults=("join", "leave"),
                        duration_ms=90_000).report().splitlines()[0])
    print("\nA crash just after processing one record, for each guarantee:\n")
    for guarantee in ("at-most-once", "at-least-once", "exactly-once"):
        outcome = run_delivery(guarantee, crash_at=[(1, "after")])
        print(f"  {guarantee:<14} lost {len(outcome.lost)}, duplicated {len(outcome.duplicated)}"
              f"   (replay: run_delivery({guarantee!r}, crash_at=[(1, 'after')]))")
        if guarantee == "exactly-once":
            print(f"  {'':<14} in its output topic: lost {len(outcome.outputs_lost)}, "
                  f"duplicated {len(outcome.outputs_duplicated)} (above: a sink outside "
                  f"Kafka, which no transaction covers)")
    print("\n" + "-" * 78 + "\n")
    later_chapters()
    return 0


def later_chapters():
    from .placement import run_scenario as placement
    from .tenancy import run_scenario as tenancy
    from .transaction_scenarios import run_scenario as transactions
    print("Later chapters, one line each (each replays by name, broken and fixed):\n")
    for fixed in (False, True):
        zombie = transactions("zombie-fenced", fixed=fixed)
        print(f"  zombie-fenced ({'with' if fixed else 'without'} a transactional.id): "
              f"{'; '.join(kind for kind, _ in zombie.anomalies) or 'no anomaly'}")
    for fixed in (False, True):
        boundary = tenancy("tenant-boundary", fixed=fixed)
        print(f"  tenant-boundary ({'prefix with' if fixed else 'prefix without'} its dot): "
              f"{len(boundary.wrong)} attempt(s) not as intended")
    for fixed in (False, True):
        hot = placement("hot-broker", fixed=fixed)
        idle = ", ".join(f"{broker}: {ratio:.0%}" for broker, ratio in sorted(hot.idle.items()))
        print(f"  hot-broker ({'after' if fixed else 'without'} a preferred leader election): "
              f"leaders {hot.leaders}, request handlers idle {idle}")
