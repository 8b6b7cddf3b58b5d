"""Rebalances you can watch: members join, leave, crash and stall while a group reads.

``run_group`` starts a group of consumer applications inside the simulation (each polls
every ``poll_interval_ms`` and processes what it gets), then lets a *nemesis* of member
faults loose on it. From ``cluster.ownership_log`` it rebuilds who owned which partition
when, and measures what the rebalances cost:

- **pause**: partition-milliseconds in which nobody owned a partition (its records waited);
  the eager protocol stops every partition at each rebalance, the cooperative one only
  those that move;
- **rebalances**: generations the group went through; flaky members (crashing, or stalling
  past ``max.poll.interval.ms``) cause *rebalance storms*;
- **double ownership**: moments when two members both believed they owned a partition. The
  protocols exist to prevent exactly this; a member that revokes too little causes it.

    from kafkadojo.reference.rebalance import run_group
    print(run_group(seed=3, strategy="cooperative-sticky").report())
"""

import random
from typing import NamedTuple

from . import errors
from .cluster import Cluster

TOPIC = "clicks"
MEMBER_FAULTS = ("join", "leave", "crash", "stall")


class Ownership(NamedTuple):
    partition: tuple
    owner: str
    start_ms: int
    end_ms: int


class GroupOutcome(NamedTuple):
    strategy: str
    seed: int
    intervals: tuple            # Ownership
    faults: tuple               # (time, text)
    generations: int
    pause_ms: int               # partition-ms without an owner, after the group first formed
    double_ownership: tuple     # (time, partition, owners): the protocol failed
    start_ms: int
    end_ms: int
    history: tuple              # the coordinator's notes
    final_members: tuple = ()   # client ids of the group's members at the end
    zombies: tuple = ()         # (time, partition, owners): one owner already removed
    restarted: tuple = ()       # (new process, old one): the same static member, restarted

    @property
    def rebalances(self):
        """How many times the group started rebalancing."""
        return sum(1 for _, _, text in self.history if text.startswith("rebalance"))

    def final_counts(self):
        """Partitions per member at the end (members owning nothing included)."""
        counts = dict.fromkeys(self.final_members, 0)
        for o in self.intervals:
            if o.end_ms == self.end_ms and o.owner in counts:
                counts[o.owner] += 1
        return counts

    def report(self):
        lines = [f"{self.strategy}, seed {self.seed}: {self.rebalances} rebalance(s), "
                 f"{self.generations} generation(s), "
                 f"{self.pause_ms} partition-ms paused, "
                 f"{len(self.double_ownership)} moment(s) of double ownership"]
        lines += [f"  t={t:>6}  {text}" for t, text in self.faults]
        for t, partition, owners in self.double_ownership[:5]:
            lines.append(f"  DOUBLE OWNERSHIP at t={t}: {partition[0]}-{partition[1]} owned by "
                         + " and ".join(owners))
        for t, partition, owners in self.zombies[:3]:
            lines.append(f"  zombie at t={t}: {partition[0]}-{partition[1]} read by "
                         + " and ".join(owners) + ", one of them already removed from the group "
                         "(its commits will fail)")
        lines.append(f"  partitions per member at the end: {self.final_counts()}")
        lines.append(f"  replay: run_group(seed={self.seed}, strategy={self.strategy!r})")
        return "\n".join(lines)


def ownership_intervals(log, group_id, end_ms):
    """Rebuild ``Ownership`` intervals from ``cluster.ownership_log``."""
    open_since = {}                     # (client, partition) -> start
    intervals = []
    for time, group, client, kind, partitions in log:
        if group != group_id:
            continue
        for partition in partitions:
            if kind == "assigned":
                open_since.setdefault((client, partition), time)
            elif (client, partition) in open_since:
                intervals.append(Ownership(partition, client,
                                           open_since.pop((client, partition)), time))
    for (client, partition), start in open_since.items():
        intervals.append(Ownership(partition, client, start, end_ms))
    return sorted(intervals, key=lambda o: (o.partition, o.start_ms, o.owner))


def removals(history):
    """``{client id: [times]}``: when the coordinator removed a member of that client
    (member ids are the client id, a dash, and a random suffix)."""
    found = {}
    for time, _, text in history:
        if " removed: " in text:
            member_id = text.split(" removed: ")[0]
            found.setdefault(member_id.rsplit("-", 1)[0], []).append(time)
    return found


def double_ownership(intervals, removed=None):
    """Overlapping intervals of two different owners on one partition, split in two:
    ``(double, zombie)``. A *zombie* overlap is one where an owner had already been removed
    from the group by the coordinator (it stopped polling for max.poll.interval.ms, or its
    session expired) but had not noticed yet: Kafka cannot prevent that one, only fence
    its commits. Every other overlap is a broken protocol."""
    removed = removed or {}
    double, zombie = [], []
    by_partition = {}
    for interval in intervals:
        by_partition.setdefault(interval.partition, []).append(interval)

    def is_zombie(o, t):
        return any(o.start_ms <= r <= t for r in removed.get(o.owner, ()))

    for partition, owned in sorted(by_partition.items()):
        for i, a in enumerate(owned):
            for b in owned[i + 1:]:
                if a.owner != b.owner and b.start_ms < a.end_ms and a.start_ms < b.end_ms:
                    t = max(a.start_ms, b.start_ms)
                    found = (t, partition, (a.owner, b.owner))
                    (zombie if is_zombie(a, t) or is_zombie(b, t) else double).append(found)
    return sorted(double), sorted(zombie)


def paused_ms(intervals, partitions, start_ms, end_ms):
    """Partition-milliseconds in [start_ms, end_ms) during which a partition had no owner."""
    total = 0
    for partition in partitions:
        covered = sorted((max(o.start_ms, start_ms), min(o.end_ms, end_ms))
                         for o in intervals if o.partition == partition)
        cursor = start_ms
        for begin, finish in covered:
            if begin > cursor:
                total += begin - cursor
            cursor = max(cursor, finish)
        total += max(0, end_ms - cursor)
    return total


class App:
    """A consumer application inside the simulation: poll, process (which takes a while:
    up to ``processing_ms``), repeat. It joins rebalances only when it polls."""

    def __init__(self, cluster, name, config, poll_interval_ms, processing_ms, seed, topic=TOPIC):
        self.cluster = cluster
        self.name = name
        self.poll_interval_ms = poll_interval_ms
        self.processing_ms = processing_ms
        self.rng = random.Random(f"{seed}-{name}")
        self.stalled_until = 0
        self.consumer = cluster.consumer(name, config=config)
        self.consumer.subscribe([topic])
        self.running = True
        cluster.sim.schedule(0, self.loop)

    def loop(self):
        if not self.running:
            return
        if self.cluster.now >= self.stalled_until:
            try:
                self.consumer.poll_nowait()
            except errors.FencedInstanceIdError:    # a newer process has our instance id
                self.running = False
                return
        busy = int(self.rng.random() * self.processing_ms)
        self.cluster.sim.schedule(self.poll_interval_ms + busy, self.loop)

    def stop(self, crash):
        self.running = False
        if crash:
            self.consumer.crash()
        else:
            self.consumer.close()       # inside the simulation: no final commit


def run_group(seed=0, strategy="range", members=3, partitions=6, duration_ms=120_000,
              faults=MEMBER_FAULTS, fault_interval_ms=15_000, static=False, seams=None,
              session_timeout_ms=10_000, max_poll_interval_ms=20_000, poll_interval_ms=100,
              processing_ms=2_000, event_budget=None, brokers=3):
    """The faults hit members only, so one broker (``brokers=1``: nothing to replicate)
    shows the same rebalances in a fraction of the time."""
    cluster = Cluster(brokers, seed=seed, seams=seams, config={"offsets.topic.num.partitions": 3},
                      event_budget=event_budget)
    cluster.create_topic(TOPIC, partitions, min(brokers, 3))
    rng = random.Random(seed)          # the nemesis: the same faults whatever the strategy
    counter = [0]
    apps = []
    fault_log = []

    def config(instance):
        return {"group.id": "dashboard", "partition.assignment.strategy": strategy,
                "session.timeout.ms": session_timeout_ms, "heartbeat.interval.ms": 1_000,
                "max.poll.interval.ms": max_poll_interval_ms,
                "group.instance.id": f"dashboard-{instance}" if static else None}

    def start(instance=None):
        counter[0] += 1
        instance = instance if instance is not None else counter[0]
        apps.append(App(cluster, f"member-{counter[0]}", config(instance), poll_interval_ms,
                        processing_ms, seed))
        return apps[-1]

    def restart(app):
        cluster.run_for(2_000)
        if not static:
            return start()
        instance = int(app.consumer.config["group.instance.id"].rsplit("-", 1)[1])
        replacement = start(instance)
        restarted.append((replacement.name, restarted_as.get(app.name, app.name)))
        restarted_as[replacement.name] = restarted_as.get(app.name, app.name)
        return replacement

    restarted, restarted_as = [], {}
    for _ in range(members):
        start()
    cluster.run_for(6_000)              # let the group form
    formed = cluster.now
    end = formed + duration_ms
    while cluster.now < end:
        cluster.run_for(int(rng.expovariate(1 / fault_interval_ms)) + 1)
        running = [a for a in apps if a.running]
        fault = rng.choice(faults)
        if fault == "join" or len(running) <= 1:    # keep someone reading
            app = start()
            fault_log.append((cluster.now, f"{app.name} joins"))
        elif fault in ("leave", "crash"):
            app = rng.choice(running)
            app.stop(crash=fault == "crash")
            fault_log.append((cluster.now, f"{app.name} {'crashes' if fault == 'crash' else 'leaves'}"))
            if static and fault == "crash":
                replacement = restart(app)
                fault_log.append((cluster.now, f"{replacement.name} restarts as {app.name}'s "
                                               f"group.instance.id"))
        elif fault == "restart":
            # A rolling restart: a member shuts down and a new process takes its place 2 s
            # later, well within session.timeout.ms. A static member sends no LeaveGroup
            # and comes back as itself; a dynamic one leaves, and its successor joins anew.
            app = rng.choice(running)
            app.stop(crash=False)
            replacement = restart(app)
            fault_log.append((cluster.now, f"{app.name} restarts as {replacement.name}"
                                           + (" (the same group.instance.id)" if static else "")))
        elif fault == "stall":
            app = rng.choice(running)
            app.stalled_until = cluster.now + max_poll_interval_ms + 5_000
            fault_log.append((cluster.now, f"{app.name} stalls (no poll) for "
                                           f"{max_poll_interval_ms + 5_000} ms"))
    settle(cluster, apps)
    end = cluster.now
    intervals = ownership_intervals(cluster.ownership_log, "dashboard", end)
    description = (cluster.describe_group("dashboard") if cluster.group_coordinator("dashboard")
                   else {"history": (), "members": {}})
    history = tuple(description["history"])
    final_members = tuple(sorted(m["client_id"] for m in description["members"].values()))
    double, zombie = double_ownership(intervals, removals(history))
    return GroupOutcome(
        strategy, seed, tuple(intervals), tuple(fault_log),
        sum(1 for _, _, text in history if text.startswith("generation") and "stable" not in text),
        paused_ms(intervals, [(TOPIC, p) for p in range(partitions)], formed, end),
        tuple(double), formed, end, history, final_members, tuple(zombie), tuple(restarted))


def settle(cluster, apps, quiet_ms=30_000, limit_ms=120_000):
    """Faults over: run until the group is stable with every running app in it (or give
    up after ``limit_ms``: a group that never settles shows in the outcome)."""
    cluster.run_for(quiet_ms)
    deadline = cluster.now + limit_ms
    while cluster.now < deadline:
        running = [a for a in apps if a.running]
        coordinator = cluster.group_coordinator("dashboard")
        if coordinator is not None and running:
            group = coordinator.group_coordinator.describe("dashboard")
            if (group and group["state"] == "Stable" and len(group["members"]) == len(running)
                    and all(a.consumer.group.state == "stable" and not a.consumer.group.rejoin_needed
                            for a in running)):
                return
        cluster.run_for(5_000)
