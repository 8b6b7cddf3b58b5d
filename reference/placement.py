"""Where leaders sit, and why it matters: the ``hot-broker`` and ``skewed-assignment``
scenarios, replayable by name.

Every partition's leader does the work of its produce and fetch requests. Leadership moves
when brokers restart (a restarted broker comes back as a follower), so after a rolling
restart one broker can lead most partitions: its request handlers are busy (their idle
ratio, Kafka's RequestHandlerAvgIdlePercent, falls) while the cluster as a whole is not.
Kafka's answer is the *preferred leader*: the first replica of each partition's assignment,
which ``kafka-leader-election --election-type preferred`` (or the controller itself, with
``auto.leader.rebalance.enable``) makes leader again once it is in sync.

    from kafkadojo.reference.placement import run_scenario
    print(run_scenario("hot-broker", fixed=False).report())

A preferred leader election cannot help when the assignment itself is skewed: in the
``skewed-assignment`` scenario a topic was created with a hand-made replica assignment
that puts broker 0 first in every list, so broker 0 is every partition's preferred leader.
The fix is to change the assignment: a partition reassignment (KIP-455,
``kafka-reassign-partitions``) rotates the replica lists so that each broker comes first in
an equal share, and a preferred leader election then moves the leaders.

    print(run_scenario("skewed-assignment", fixed=False).report())

Simplifications, said plainly: request handler time is the engine's model (a fixed cost per
request and a cost per byte appended), not measured; the controller's own rebalance
(``auto.leader.rebalance.enable``, on by default) runs only every
``leader.imbalance.check.interval.seconds`` (300), so these scenarios, shorter than that,
show the imbalance and the explicit election that ends it; a reassignment's new replicas copy the log as fast as followers fetch
(no ``leader.replication.throttled.rate``).
"""

from dataclasses import dataclass, field

from .cluster import Cluster
from .monitoring import handler_snapshot, leaders_per_broker, request_handler_idle_ratio
from .scenarios import run_scenario as _run_scenario

TOPIC = "clicks"


@dataclass
class PlacementResult:
    name: str
    fixed: bool
    summary: str
    steps: list = field(default_factory=list)           # (time, text)
    leaders: dict = field(default_factory=dict)          # broker -> partitions led, at the end
    idle: dict = field(default_factory=dict)             # broker -> handler idle ratio, last run
    cluster: Cluster = None

    @property
    def hottest_gap(self):
        """How far the busiest broker's idle ratio is below the idlest one's."""
        return max(self.idle.values()) - min(self.idle.values())

    def report(self):
        version = "with the fix" if self.fixed else "without the fix"
        lines = [f"== {self.name} ({version}) ==", self.summary, ""]
        lines += [f"  t={t:>6} ms  {text}" for t, text in self.steps]
        lines.append("")
        for broker in sorted(self.idle):
            lines.append(f"  broker {broker}: leads {self.leaders[broker]} partition(s), "
                         f"request handlers {self.idle[broker]:.0%} idle")
        return "\n".join(lines)


def _load(cluster, producer, seconds, partitions):
    since = handler_snapshot(cluster)
    for _ in range(seconds * 10):
        for partition in range(partitions):
            for _ in range(60):
                producer.send(TOPIC, b"x" * 1000, partition=partition)
        cluster.run_for(100)
    return request_handler_idle_ratio(cluster, since)


def hot_broker(fixed=True, seed=2, partitions=6):
    """A rolling restart piles leadership on broker 0; a steady load then keeps its
    handlers busy; the fix is a preferred leader election."""
    result = PlacementResult("hot-broker", fixed,
                             "Three brokers, six partitions, each broker first in two "
                             "assignments. Brokers 1 and 2 restart one after the other; then "
                             "producers write 3.6 MB/s spread evenly over the partitions (one request handler thread a broker). "
                             + ("A preferred leader election comes first." if fixed else
                                "Nobody moves the leaders back (the controller's own "
                                "check comes every 5 minutes)."))
    cluster = result.cluster = Cluster(brokers=3, seed=seed, config={"num.io.threads": 1})
    cluster.create_topic(TOPIC, partitions=partitions, replication_factor=3,
                         config={"min.insync.replicas": 2})
    say = lambda text: result.steps.append((cluster.now, text))      # noqa: E731
    say(f"leaders per broker: {leaders_per_broker(cluster, TOPIC)}")
    for broker in (1, 2):
        cluster.crash(broker)
        cluster.run_for(15_000)
        cluster.restart(broker)
        cluster.run_for(15_000)
        say(f"broker {broker} restarted; leaders per broker: "
            f"{leaders_per_broker(cluster, TOPIC)}")
    if fixed:
        moved = cluster.elect_preferred_leaders()
        say(f"preferred leader election moved {len(moved)} leader(s): "
            f"{leaders_per_broker(cluster, TOPIC)}")
    return _under_load(result, say, partitions)


def _under_load(result, say, partitions):
    """Ten seconds of producers writing evenly to every partition: each broker's idle
    ratio and leaders then."""
    cluster = result.cluster
    result.idle = _load(cluster, cluster.producer("load", linger_ms=5), 10, partitions)
    result.leaders = leaders_per_broker(cluster, TOPIC)
    say("10 s of load")
    return result


def skewed_assignment(fixed=True, seed=2, partitions=6):
    """A topic created with broker 0 first in every replica list: it leads every partition,
    and a preferred leader election leaves it so. The fix is a reassignment that rotates
    the lists (each broker first in an equal share), then a preferred leader election."""
    result = PlacementResult("skewed-assignment", fixed,
                             "Three brokers, six partitions created with a replica assignment "
                             "that puts broker 0 first in every list; then producers write "
                             "3.6 MB/s spread evenly over the partitions (one request handler "
                             "thread a broker). " + (
                                 "A reassignment rotates the replica lists first, then a "
                                 "preferred leader election." if fixed else
                                 "A preferred leader election is all anyone tries."))
    cluster = result.cluster = Cluster(brokers=3, seed=seed, config={"num.io.threads": 1})
    brokers = len(cluster.brokers)
    skewed = {p: [0, 1, 2] if p % 2 == 0 else [0, 2, 1] for p in range(partitions)}
    cluster.create_topic(TOPIC, replica_assignment=skewed, config={"min.insync.replicas": 2})
    say = lambda text: result.steps.append((cluster.now, text))      # noqa: E731
    say(f"created with broker 0 first everywhere: leaders per broker "
        f"{leaders_per_broker(cluster, TOPIC)}")
    if fixed:
        cluster.alter_partition_reassignments(
            {(TOPIC, p): _first(replicas, p % brokers) for p, replicas in skewed.items()})
        cluster.run_until_reassigned()
        say(f"reassignment done: preferred replicas per broker "
            f"{_preferred_per_broker(cluster)}, leaders per broker "
            f"{leaders_per_broker(cluster, TOPIC)}")
    moved = cluster.elect_preferred_leaders()
    say(f"preferred leader election moved {len(moved)} leader(s): "
        f"{leaders_per_broker(cluster, TOPIC)}")
    return _under_load(result, say, partitions)


def _first(replicas, broker):
    """The replica list rotated so that ``broker`` comes first (the same brokers, so the
    reassignment moves no data and completes at once)."""
    i = replicas.index(broker)
    return replicas[i:] + replicas[:i]


def _preferred_per_broker(cluster):
    counts = {broker.node_id: 0 for broker in cluster.brokers}
    for _, partition in cluster.partitions(TOPIC):
        counts[cluster.registration(TOPIC, partition).replicas[0]] += 1
    return counts


SCENARIOS = {"hot-broker": hot_broker, "skewed-assignment": skewed_assignment}


def run_scenario(name, fixed=False, seed=2):
    """Replay the placement scenario ``name``, broken (``fixed=False``) or fixed."""
    return _run_scenario(name, fixed, seed, scenarios=SCENARIOS)
