"""Builds the course notebooks (nbgrader source format) from prose and the exercise catalog.

    python -m kafkadojo.exercises.notebooks            # write notebooks/source/*/
    python -m kafkadojo.exercises.notebooks --check    # fail if a committed notebook is stale

A notebook's solution cells are the engine's own functions (inside nbgrader's
``### BEGIN SOLUTION`` markers), generated here, so the notebooks never hold a copy of a
solution that could drift from the engine.
"""

import ast
import inspect
import json
import sys
import textwrap
from pathlib import Path

from kafkadojo.exercises.catalog import BY_ID, GIVENS, exercises_for

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "notebooks" / "source"

VISIBLE_TESTS = {
    "partitioning.murmur2": [
        'assert murmur2(b"21") == -973932308          # Kafka\'s own test vectors',
        'assert murmur2(b"foobar") == -790332482',
        'assert murmur2(b"abc") == 479470107',
    ],
    "partitioning.partition_for_key": [
        'assert partition_for_key(b"abc", 1000) == 107',
        'assert partition_for_key(b"", 1000) == 681',
    ],
    "partitioning.next_partition": [
        "assert next_partition(7, 4, [1, 3], None) == 3           # [1, 3][7 % 2]",
        "assert next_partition(6, 4, [], None) == 2               # no leader anywhere: 6 % 4",
        "assert next_partition(4, 3, [0, 1, 2], {0: 0, 1: 3, 2: 1}) == 1   # sums 4, 5, 8",
        "assert next_partition(12, 3, [0, 1, 2], {0: 0, 1: 3, 2: 1}) == 1  # 12 % 8 == 4",
    ],
    "log.largest_lower_bound": [
        "assert largest_lower_bound([0, 10, 20], 15) == 1",
        "assert largest_lower_bound([0, 10, 20], 20) == 2",
        "assert largest_lower_bound([5, 10], 3) == -1",
    ],
    "log.should_roll": [
        "assert should_roll(300, 150, 0, 400, 60_000)          # would pass segment.bytes",
        "assert not should_roll(300, 100, 0, 400, 60_000)      # exactly full is fine",
        "assert should_roll(10, 10, 60_001, 400, 60_000)       # too old",
        "assert not should_roll(0, 400, 90_000, 400, 60_000)   # never roll an empty segment",
    ],
    "log.fetch_upper_bound": [
        "assert fetch_upper_bound(5, 0, 7, 9, LOG_END) == (NONE, 9)",
        "assert fetch_upper_bound(5, 0, 7, 9, HIGH_WATERMARK) == (NONE, 7)",
        "assert fetch_upper_bound(10, 0, 7, 9, HIGH_WATERMARK) == (OFFSET_OUT_OF_RANGE, -1)",
    ],
    "log.deletable_segments": [
        "segments = [(0, 100, 1_000), (10, 100, 2_000), (20, 100, 3_000)]",
        "assert deletable_segments(segments, 0, 25, 25, 3_500, 1_000, -1) == (2, 20)   # retention.ms",
        "assert deletable_segments(segments, 0, 25, 25, 0, -1, 150) == (1, 10)        # retention.bytes",
        "assert deletable_segments(segments, 0, 15, 25, 9_999, 0, -1) == (1, 10)      # not past the HW",
        "newest_first = [(0, 100, 9_000), (10, 100, 1_000), (20, 100, 9_500)]",
        "# the log start pass deletes the first segment; the time pass goes on from the second",
        "assert deletable_segments(newest_first, 15, 25, 25, 10_000, 5_000, -1) == (2, 20)",
    ],
    "replication.next_high_watermark": [
        "assert next_high_watermark(0, 10, [7, 9], 3, 2) == 7",
        "assert next_high_watermark(8, 10, [5], 2, 1) == 8      # never backwards",
        "assert next_high_watermark(3, 10, [], 1, 2) == 3       # frozen below min ISR",
    ],
    "replication.end_offset_for_epoch": [
        "assert end_offset_for_epoch([(0, 0), (2, 10), (5, 30)], 5, 42) == (5, 42)",
        "assert end_offset_for_epoch([(0, 0), (2, 10), (5, 30)], 1, 42) == (0, 10)",
    ],
    "replication.truncation_offset": [
        "assert truncation_offset(0, 2, [(0, 0)], 2, 1) == (2, True)    # KIP-101 case 1: keep m2",
        "assert truncation_offset(2, 12, [(0, 0), (2, 10)], 15, 11) == (12, True)",
    ],
    "isr.last_caught_up_time": [
        "assert last_caught_up_time(10, 500, 10, 100, 8, 400) == 500",
        "assert last_caught_up_time(8, 500, 10, 100, 8, 400) == 400",
    ],
    "isr.is_caught_up": [
        "assert is_caught_up(10, 10, 0, 99_999, 30_000)",
        "assert not is_caught_up(9, 10, 0, 31_000, 30_000)",
    ],
    "isr.can_join_isr": [
        "assert can_join_isr(10, 10, 8)",
        "assert not can_join_isr(9, 10, 8)",
    ],
    "isr.elect_leader": [
        "assert tuple(elect_leader((2, 0, 1), (0, 1), {0, 1, 2}, False)) == (0, (0, 1), False)",
        "assert elect_leader((0, 1, 2), (0,), {1, 2}, False)[0] == -1",
    ],
    "groups.range_assign": [
        'members = [Member("m1", ("t", "u")), Member("m2", ("t", "u"))]',
        'assert range_assign(members, {"t": 3, "u": 3}) == {',
        '    "m1": [("t", 0), ("t", 1), ("u", 0), ("u", 1)], "m2": [("t", 2), ("u", 2)]}',
    ],
    "groups.round_robin_assign": [
        'members = [Member("m1", ("t", "u")), Member("m2", ("t", "u"))]',
        'assert round_robin_assign(members, {"t": 3, "u": 1}) == {',
        '    "m1": [("t", 0), ("t", 2)], "m2": [("t", 1), ("u", 0)]}',
    ],
    "groups.sticky_assign": [
        'before = [Member("m1", ("t",), None, (("t", 0), ("t", 1), ("t", 2)), 1),',
        '          Member("m2", ("t",), None, (("t", 3),), 1), Member("m3", ("t",))]',
        'after = sticky_assign(before, {"t": 4})',
        'assert sorted(len(owned) for owned in after.values()) == [1, 1, 2]',
        'assert ("t", 3) in after["m2"] and len(set(after["m1"]) & {("t", 0), ("t", 1), ("t", 2)}) == 2',
    ],
    "groups.partitions_to_revoke": [
        'assert partitions_to_revoke([("t", 0), ("t", 1)], [("t", 1), ("t", 2)]) == [("t", 0)]',
    ],
    "offsets.committed_offsets": [
        'batch = [Record("t", 0, 40, None, b"a", 0), Record("t", 0, 41, None, b"b", 0),',
        '         Record("t", 1, 7, None, b"c", 0)]',
        'assert committed_offsets(batch) == {("t", 0): 42, ("t", 1): 8}',
    ],
    "offsets.plan_batch": [
        'batch = [Record("t", 0, 0, None, b"a", 0), Record("t", 0, 1, None, b"b", 0)]',
        'steps = plan_batch(batch, AT_LEAST_ONCE)',
        'assert [kind for kind, _ in steps].count("commit") >= 1',
        'assert [record for kind, record in steps if kind == "process"] == batch',
    ],
    "offsets.partition_lag": [
        "assert partition_lag(100, 60) == 40",
        "assert partition_lag(100, None) is None      # nothing committed: unknown",
    ],
    "isr.acks_all_accepted": [
        "assert not acks_all_accepted(1, 2, 3)",
        "assert acks_all_accepted(1, 3, 1)",
    ],
}


def md(text):
    return ("markdown", textwrap.dedent(text).strip(), {})


def code(text, **nbgrader):
    return ("code", textwrap.dedent(text).strip(), nbgrader)


def solution_region(function, hints=(), nested=()):
    """The def line and contract stay visible; the body becomes the solution region.
    ``nested``: functions of the learner's own design, defined at the start of the body, so
    that nbgrader's release keeps nothing of them and puts no stub at the top level."""
    source = textwrap.dedent(inspect.getsource(function))
    tree = ast.parse(source).body[0]
    lines = source.splitlines()
    doc_end = tree.body[0].end_lineno if ast.get_docstring(tree) else tree.lineno
    hint_lines = "".join(f"    # Hint: {hint}\n" for hint in hints)
    inner = "".join(textwrap.indent(textwrap.dedent(inspect.getsource(f)).rstrip(), "    ")
                    + "\n\n" for f in nested)
    return ("\n".join(lines[:doc_end]) + "\n" + hint_lines + "    ### BEGIN SOLUTION\n" + inner
            + "\n".join(lines[doc_end:]).rstrip("\n") + "\n    ### END SOLUTION")


def solution_cell(exercise):
    """Every solution region is a function body: a released cell only defines functions,
    so it loads as it is, and a learner who fills in the bodies gets every point."""
    parts = [solution_region(helper) for helper in exercise.helpers]
    parts.append(solution_region(exercise.reference, exercise.hints, exercise.internals))
    return "\n\n\n".join(parts)


def exercise_cells(exercise_id):
    exercise = BY_ID[exercise_id]
    seam = (f" The engine calls it through the seam `{exercise.seam}`." if exercise.seam
            else "")
    return [
        md(f"""
        ### Exercise: `{exercise.function}` ({exercise.points} point{"s" if exercise.points != 1 else ""})

        Implement the function below: its docstring is the contract.{seam} The visible
        tests under it are a first check; the grade cell after them runs the hidden
        properties in a separate process and prints what they found."""),
        code(solution_cell(exercise), solution=True,
             grade_id=f"{exercise.grade_id}-solution"),
        code("\n".join(VISIBLE_TESTS[exercise_id]), grade_id=f"{exercise.grade_id}-visible",
             locked=True),
        code(f'check("{exercise_id}")', grade=True, points=exercise.points,
             grade_id=exercise.grade_id, locked=True),
    ]


SETUP = code("""
    # Setup: the grader (runs your code in a separate process) and the engine's pictures.
    from kafkadojo.autograder.notebook import check
    from kafkadojo.exercises import pictures""", grade_id="setup", locked=True)


def _givens(assignment):
    if not GIVENS.get(assignment):
        return []
    return [md("""
            These are given: Kafka's constants and types that the exercises use. Run the cell;
            the grader includes it with your code."""),
            code(GIVENS[assignment], grade_id=f"{assignment}-givens", locked=True)]


def _exercises(assignment):
    cells = _givens(assignment)
    for exercise in exercises_for(assignment):
        cells += exercise_cells(exercise.id)
    return cells


def partitioning():
    return [
        md("""
        # Partitions and keys

        A Kafka topic is split into **partitions**, and each partition is an ordered log of
        its own. Order exists *inside* a partition, never across them. Which partition a
        record joins is decided by the producer, before it ever reaches a broker:

        1. a partition named explicitly wins;
        2. otherwise a record with a **key** goes to `toPositive(murmur2(key)) % partitions`,
           so every record of one key (one user, one order) lands in one partition and keeps
           its order;
        3. a record with **no key** goes to the topic's *sticky* partition, which moves on
           once `batch.size` bytes have gone to it (Kafka 3.3+, KIP-794).

        You will write the keyed rule and the sticky partitioner's choice exactly as Kafka's
        Java client does, bit for bit: a key must land on the same partition from Python as
        from Java."""),
        SETUP,
        md("""
        ## Hot partitions

        Hashing spreads *keys* evenly, not *traffic*. Drag the sliders: when one key carries
        a large share of the records (a celebrity account, a default tenant id), its
        partition does that share of the work, however many partitions you add. The cure is
        in the key design (add a sub-key, split the entity), not in the partition count."""),
        code("pictures.show_key_spread()", grade_id="picture_keys", locked=True),
        md("""
        ## murmur2, as Java computes it

        Kafka hashes keys with MurmurHash2 in 32-bit Java ints, which wrap around on
        overflow and shift with `>>>` (logical) as well as `>>`. Python's integers never
        overflow, so the same arithmetic needs a mask after every multiplication. The seed
        is `0x9747b28c`, the multiplier `0x5bd1e995`, the shift 24; the last one to three
        bytes are folded in by a `switch` whose cases fall through.

        *What an interviewer probes:* why must a key's partition never depend on which
        partitions are currently available? (Because per-key order would break whenever a
        leader is briefly offline.) And why `toPositive` and not `abs`?"""),
        *_givens("partitioning"),
        *exercise_cells("partitioning.murmur2"),
        *exercise_cells("partitioning.partition_for_key"),
        md("""
        ## Records without a key: the built-in partitioner

        Spreading key-less records one by one over all partitions makes many small batches
        (one per partition per `linger.ms`), and small batches are slow. So the producer
        *sticks* to one partition per topic and moves on only after `batch.size` bytes
        (16 KiB) went there; if that partition's batch is still filling up, it waits for
        the batch to be full or sent (but never past twice `batch.size`).

        Where to next? Kafka 2.4 to 3.2 (KIP-480's `StickyPartitionCache`) moved when a new
        batch began, to a random available partition *other than* the current one. Since
        Kafka 3.3 (KIP-794's `BuiltInPartitioner`) any partition with a leader may come
        next, the current one included, and with `partitioner.adaptive.partitioning.enable`
        (the default) a partition is chosen less often the more batches wait in its queue:
        a slow broker's queues grow, so it gets less new work. Queue sizes 0, 3 and 1 become
        weights 4, 1 and 3 (the longest queue + 1, minus the queue), laid out as running sums
        4, 5, 8: a random number modulo 8 picks the first partition for 0 to 3, the second for
        4 and the third for 5 to 7. With `partitioner.availability.timeout.ms` set, partitions
        whose broker has not taken a ready batch for that long are left out altogether.
        `next_partition` is that choice; the engine's producer calls it with numbers from the
        simulator's seeded random generator.

        Below, a producer sends key-less records to six partitions while it cannot reach
        broker 0: its requests time out and its partitions' queues grow. Switch adaptive
        partitioning off and watch broker 0 get its full share of records that cannot be
        sent; set an availability timeout and watch it get almost none."""),
        code("pictures.show_sticky_spread()", grade_id="picture_sticky", locked=True),
        *exercise_cells("partitioning.next_partition"),
        md("""
        ## Watch your rules

        Pass your own `partition_for_key` to the picture: the bars should not change. If
        they do, your partitioner disagrees with every Java producer sharing the topic.
        Then run the slow-broker producer on your `next_partition`."""),
        code("pictures.show_key_spread(partition_rule=partition_for_key)",
             grade_id="picture_yours", locked=True),
        code("pictures.show_sticky_spread(next_partition=next_partition)",
             grade_id="picture_sticky_yours", locked=True),
    ]


def log():
    return [
        md("""
        # The partition log: offsets, segments and retention

        A partition is an append-only log. Every record gets the next **offset**, and
        offsets never change and are never reused: they are how consumers remember where
        they were and how followers tell the leader how far they have copied. Three offsets
        describe a log at any moment:

        - the **log start offset**, the first record still stored;
        - the **high watermark**, below which records are committed (the replication
          notebook shows how the leader moves it);
        - the **log end offset** (LEO), the offset the next record will get.

        On disk the log is not one file but a list of **segments**, each named by its first
        offset (its *base offset*). Only the newest, the *active* segment, takes appends;
        when it is full (`segment.bytes`) or old enough (`segment.ms`) it is *rolled*:
        closed, and a new active segment begins. Segments are what make old data cheap to
        drop: **retention** deletes whole segments from the oldest end, when they are older
        than `retention.ms` or the partition holds more than `retention.bytes`, and the log
        start offset moves up to the first segment that remains. Nothing is ever deleted
        from the middle of a log, and nothing above the high watermark is ever deleted.

        Kafka simplifications here: sizes are estimates of the v2 batch format, the offset
        index holds every batch (Kafka's is sparse, one entry per `index.interval.bytes`),
        `segment.jitter.ms` is not modelled, and a segment rolls only by size and time
        (Kafka also rolls when its offset or time index is full, or when an offset would
        not fit in 32 bits relative to the segment's base offset)."""),
        SETUP,
        md("""
        ## Watch a log roll and shrink

        One record a second; the follower trails by two records, then stalls for a while
        (seconds 18 to 30), so the high watermark stops while the log end keeps going.
        Every 8 seconds the broker checks retention. Move `segment.bytes` and
        `retention.ms` and watch which segments go, and which never may."""),
        code("pictures.show_log()", grade_id="picture_log", locked=True),
        md("""
        ## Finding an offset

        A fetch asks for "records from offset 1,234,567". The broker finds the segment whose
        base offset is the largest one not above it, then, in that segment's *offset index*,
        the batch with the largest base offset not above it, and reads from there. Both
        steps are one search in a sorted list, and both are yours to write."""),
        *_givens("log"),
        *exercise_cells("log.largest_lower_bound"),
        md("""
        ## Rolling, and how far a fetch may read

        Rolling is decided just before an append. A follower and a consumer fetch from the
        same log but not to the same place: a follower must copy everything (that is how
        records become committed), while a consumer must never see a record that a leader
        crash could still take back."""),
        *exercise_cells("log.should_roll"),
        *exercise_cells("log.fetch_upper_bound"),
        md("""
        ## Retention

        *What an interviewer probes:* a topic has `retention.ms` of one hour, yet a consumer
        still reads a record written yesterday. How? (Retention deletes whole segments, and
        a segment goes only when its *newest* record has expired: a quiet partition's
        active segment can hold a day of records. `segment.ms` bounds that.) And why may
        retention never pass the high watermark? (The log start offset would pass records
        that are not yet on every in-sync replica, and a follower could be asked to fetch
        from before the start.)

        Kafka's broker runs three passes over a log, one after another, and each starts at
        the oldest segment the passes before it left: first the segments wholly below the
        log start offset (DeleteRecords moved it), then enough of the oldest segments to
        bring the log down to `retention.bytes`, then the expired ones. A segment's age is
        its newest record's timestamp, and producers set timestamps, so they need not grow
        from one segment to the next: the time pass stops at the first segment that has not
        expired, even when older ones follow it."""),
        *exercise_cells("log.deletable_segments"),
        md("""
        ## Your rules in the log

        The same story with your `should_roll` and `deletable_segments` plugged in. Then a
        rule that forgets the high watermark, with a short retention: when the follower
        stalls, it deletes records that were never committed, and the engine refuses."""),
        code("""pictures.show_log({"should_roll": should_roll, "deletable_segments": deletable_segments})""",
             grade_id="picture_yours", locked=True),
        code("""
            def forgets_the_high_watermark(segments, log_start_offset, high_watermark,
                                           log_end_offset, now_ms, retention_ms, retention_bytes):
                count = 0
                for base_offset, size, largest_timestamp in segments:
                    if now_ms - largest_timestamp <= retention_ms:
                        break
                    count += 1
                first_kept = segments[count][0] if count < len(segments) else log_end_offset
                return count, max(log_start_offset, first_kept)

            pictures.show_log({"deletable_segments": forgets_the_high_watermark}, retention_ms=5_000)""",
             grade_id="picture_buggy", locked=True),
    ]


def replication():
    return [
        md("""
        # Replication, the high watermark and leader epochs

        Each partition has one **leader** and some **followers**. Followers *pull*: they
        fetch from the leader like consumers do, and each fetch tells the leader how far the
        follower has got (its log end offset, **LEO**). From those the leader computes the
        **high watermark** (HW): the offset below which every in-sync replica has the
        records. Records below the HW are *committed*: consumers may read them, and a
        producer asking for `acks=all` is answered once its records fall below it.

        When a leader fails, a follower takes over, and the others must make their logs
        agree with it. How far back a follower cuts its log is where Kafka once lost data:
        it used to cut to its own HW, which lags the leader's by a fetch (KIP-101). Today
        each leader numbers its term with a **leader epoch** and followers ask the new
        leader where their last epoch ended (OffsetForLeaderEpoch)."""),
        SETUP,
        md("""
        ## A leader crash, step by step

        Below, three replicas take writes with `acks=all` and `min.insync.replicas=2`; then
        the network between the leader and its followers fails, more writes arrive, and the
        leader crashes. Green records are committed (below the HW), amber are not. Step
        through it: nothing acknowledged is lost, because the leader never counted a record
        as committed before the followers had it."""),
        code("pictures.show_leader_crash()", grade_id="picture_reference", locked=True),
        *_exercises("replication"),
        md("""
        ## Your rules in the cluster

        Run the same story with your `next_high_watermark` and `truncation_offset` plugged
        into the engine. Then try the buggy rule in the next cell, which commits whatever
        the leader has: watch acknowledged records disappear when the leader dies.

        *What an interviewer probes:* with `acks=all` and `min.insync.replicas=1`, can an
        acknowledged write be lost? (Yes: the ISR can shrink to the leader alone, which
        then acknowledges by itself. That is why Kafka 3.7 froze the HW below the minimum,
        and why `min.insync.replicas=2` with three replicas is the usual advice.)"""),
        code("pictures.show_leader_crash(next_high_watermark, truncation_offset)",
             grade_id="picture_yours", locked=True),
        code("""
            def commit_whatever_the_leader_has(current_hw, leader_leo, follower_leos, isr_size,
                                               min_insync_replicas):
                return max(current_hw, leader_leo)

            pictures.show_leader_crash(commit_whatever_the_leader_has)""",
             grade_id="picture_buggy", locked=True),
    ]


def isr():
    return [
        md("""
        # In-sync replicas and elections

        The **ISR** (in-sync replica set) is the set of replicas the leader waits for. A
        follower leaves it when it has not caught up with the leader for
        `replica.lag.time.max.ms`; it rejoins once it holds everything up to the leader's
        high watermark and everything written since the leader's epoch began. The leader
        changes the ISR only by asking the controller (AlterPartition), so a deposed leader
        cannot quietly shrink the ISR to itself.

        When a leader dies, the controller elects the first replica of the assignment that
        is alive *and* in the ISR: a **clean** election, which keeps every committed record.
        If none is alive, the partition stays offline, unless
        `unclean.leader.election.enable` lets a replica from outside the ISR lead, trading
        the records it lacks for availability."""),
        SETUP,
        md("""
        ## A follower that falls behind

        Cut a follower off from its leader for a while. Shorter than the lag bound, nothing
        happens; longer, the ISR shrinks, and expands again soon after the network heals."""),
        code("pictures.show_isr()", grade_id="picture_isr", locked=True),
        *_exercises("isr"),
        md("""
        ## Your rules in the cluster

        The same follower, cut off for as long as you like, with your caught-up tracking,
        ISR test and election plugged into the engine. The ISR should shrink and expand
        exactly as it did above."""),
        code("""
            pictures.show_isr({"last_caught_up_time": last_caught_up_time,
                               "is_caught_up": is_caught_up, "can_join_isr": can_join_isr,
                               "elect_leader": elect_leader})""",
             grade_id="picture_yours", locked=True),
        md("""
        *What an interviewer probes:* why does a follower that is merely slow, not dead,
        leave the ISR? (Because with `acks=all` every producer waits for the slowest ISR
        member; dropping it trades durability margin for latency, bounded by
        `min.insync.replicas`.) And what does `unclean.leader.election.enable=true` buy?"""),
    ]


def groups():
    return [
        md("""
        # Consumer groups and rebalancing

        A **consumer group** shares the partitions of its topics among its members: each
        partition is read by exactly one member, so adding members (up to the number of
        partitions) adds throughput, and a member that dies hands its partitions to the
        others.

        One broker, the group's **coordinator** (the leader of partition
        `abs(hash(group.id)) % 50` of `__consumer_offsets`), keeps the membership. Members
        **join** (JoinGroup); once every known member has rejoined, the coordinator bumps
        the **generation** and names one member the **leader**. The leader runs the
        **assignor** over every member's subscription and sends the result back
        (SyncGroup); the coordinator hands each member its share. Members then
        **heartbeat**: one silent for `session.timeout.ms` is removed, and one that does not
        call `poll()` within `max.poll.interval.ms` leaves by itself. Either way the group
        **rebalances**.

        In the **eager** protocol every member gives up all its partitions before it
        rejoins, so the whole group stops reading during every rebalance. The
        **cooperative** protocol (KIP-429) lets members keep their partitions; after the
        rebalance each gives up only the partitions that moved away, and a second,
        short rebalance hands those to their new owners. With **static membership**
        (`group.instance.id`, KIP-345) a restarted member takes its old place back without
        any rebalance; an old process still using that id is fenced (`FENCED_INSTANCE_ID`).

        Simplifications: a new member gets its id at once (Kafka first answers
        MEMBER_ID_REQUIRED), and group membership lives only in the coordinator's memory:
        after the coordinator moves, members join the new one again (their committed
        offsets are safe in `__consumer_offsets`)."""),
        SETUP,
        md("""
        ## Watch partitions move

        Three members read six partitions while members join, leave and crash (the same
        faults for every assignor). Each row is a partition, each colour a member; grey is a
        partition nobody owns, whose records wait. Compare `range` with
        `cooperative-sticky`, then tick static membership."""),
        code("pictures.show_groups()", grade_id="picture_reference", locked=True),
        *_exercises("groups"),
        md("""
        ## Your assignors in the group

        The same group, with the engine's leader running your assignors and your revocation
        rule. Partitions should never turn red (two owners at once)."""),
        code("""
            pictures.show_groups({"range_assign": range_assign,
                                  "round_robin_assign": round_robin_assign,
                                  "sticky_assign": sticky_assign,
                                  "partitions_to_revoke": partitions_to_revoke})""",
             grade_id="picture_yours", locked=True),
        md("""
        And a cooperative member that revokes nothing. The assignor never hands out a
        partition its owner still claims, so nobody reads a partition twice; instead the
        partitions meant for a newcomer never move, and it sits idle (no colour of its own)
        while the group stays unbalanced."""),
        code("""
            def revoke_nothing(owned, assigned):
                return []

            pictures.show_groups({"partitions_to_revoke": revoke_nothing})""",
             grade_id="picture_buggy", locked=True),
        md("""
        *What an interviewer probes:* a consumer takes 10 minutes for some batches; what
        happens with the default `max.poll.interval.ms` (5 minutes)? (It leaves the group,
        its partitions move, and its commit fails with CommitFailedException: the records
        are read again by the new owner. Lower `max.poll.records`, or raise the interval.)
        Why would you choose static membership for a stateful service on Kubernetes?"""),
    ]


def offsets():
    return [
        md("""
        # Offsets and delivery semantics

        A consumer group remembers how far it has read with **committed offsets**: for each
        partition, the offset of the *next* record to read. They are stored as records in
        the internal topic `__consumer_offsets`, written by the group's coordinator and
        replicated like any other partition, so they survive the coordinator's crash.
        (That topic is `cleanup.policy=compact`: Kafka keeps only the latest commit per
        partition. The engine does not compact yet, so here its log keeps every commit; the
        newest still wins when a new coordinator reads it back.)

        A consumer can commit automatically (`enable.auto.commit`, every
        `auto.commit.interval.ms`, the positions of what `poll()` returned), or itself, with
        `commit()` (waits) or `commit_async()` (does not). When it commits, relative to the
        side effects of processing, decides what a crash costs:

        | commit ...            | a crash between the two ...     | guarantee      |
        |-----------------------|---------------------------------|----------------|
        | before processing     | skips what was not processed    | at-most-once   |
        | after processing      | reprocesses what was not committed | at-least-once |

        Exactly-once *effects* need more: an idempotent sink (each record's effect written
        under a key such as its partition and offset, so a second write changes nothing), or
        Kafka transactions, which commit the offsets and the output atomically."""),
        SETUP,
        md("""
        ## Crash anywhere

        The application below reads 12 payments in batches of up to four, processes each
        one (a write into a sink) and commits. Choose a guarantee, a step at which the
        process dies (each process and commit call is a step), and whether the sink is
        idempotent. A new instance (the same `group.instance.id`, so it takes over without
        a rebalance) resumes from the committed offsets. Red records were lost, orange ones
        processed twice."""),
        code("pictures.show_delivery()", grade_id="picture_reference", locked=True),
        *_exercises("offsets"),
        md("""
        ## Your loop in the engine

        The same application, running your `plan_batch` (and through it your
        `committed_offsets`). The grader crashes it at every step, before and after each
        effect, and checks the guarantee you were asked for."""),
        code("pictures.show_delivery(plan_batch)", grade_id="picture_yours", locked=True),
        md("""
        ## Lag

        **Consumer lag** is how far a group is behind: per partition, the high watermark
        minus the committed offset (`kafka-consumer-groups --describe` shows it in the LAG
        column). A growing lag means the group reads slower than producers write; a lag
        that jumps to zero and back is a group that commits rarely.

        *What an interviewer probes:* with `enable.auto.commit=true`, which guarantee do you
        get? (At-least-once, as long as you finish processing a batch before the next
        `poll()`: auto-commit commits the positions of what earlier polls returned. Hand
        records to another thread and you can lose them.) And why is the committed offset
        the last processed offset *plus one*?"""),
    ]


BUILDERS = {"partitioning": partitioning, "log": log, "replication": replication, "isr": isr,
            "groups": groups, "offsets": offsets}


def build(assignment):
    cells = []
    for kind, source, nbgrader in BUILDERS[assignment]():
        metadata = {}
        if nbgrader:
            metadata["nbgrader"] = {"grade": bool(nbgrader.get("grade", False)),
                                    "grade_id": nbgrader["grade_id"],
                                    "locked": bool(nbgrader.get("locked", False)),
                                    "schema_version": 3,
                                    "solution": bool(nbgrader.get("solution", False))}
            if nbgrader.get("grade"):
                metadata["nbgrader"]["points"] = nbgrader["points"]
        cell = {"cell_type": kind, "id": f"{assignment}-{len(cells)}", "metadata": metadata,
                "source": source}
        if kind == "code":
            cell.update(execution_count=None, outputs=[])
        cells.append(cell)
    return {"cells": cells, "metadata": {
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python",
                       "name": "python3"},
        "language_info": {"name": "python"}}, "nbformat": 4, "nbformat_minor": 5}


def path_for(assignment):
    return SOURCE / assignment / f"{assignment}.ipynb"


def render(assignment):
    return json.dumps(build(assignment), indent=1, ensure_ascii=False) + "\n"


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    stale = []
    for assignment in BUILDERS:
        path = path_for(assignment)
        text = render(assignment)
        if "--check" in argv:
            if not path.exists() or path.read_text() != text:
                stale.append(str(path))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            print(f"wrote {path}")
    if stale:
        print("stale notebooks (run python -m kafkadojo.exercises.notebooks):\n  "
              + "\n  ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
