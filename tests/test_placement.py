"""Hot brokers: leadership piled on one broker after restarts, its request handlers busy,
and the preferred leader election that spreads the load again; partition reassignment
(KIP-455) and the skewed assignment it fixes."""

import pytest

from kafkadojo.reference import errors
from kafkadojo.reference.cluster import Cluster
from kafkadojo.reference.monitoring import leaders_per_broker
from kafkadojo.reference.placement import run_scenario


def test_a_rolling_restart_makes_a_hot_broker_and_a_preferred_election_cools_it():
    broken, fixed = run_scenario("hot-broker", fixed=False), run_scenario("hot-broker", fixed=True)
    assert max(broken.leaders.values()) == 4 and min(broken.leaders.values()) == 0
    busiest = min(broken.idle, key=broken.idle.get)
    assert broken.leaders[busiest] == 4 and broken.hottest_gap > 0.15, broken.report()
    assert set(fixed.leaders.values()) == {2} and fixed.hottest_gap < 0.03, fixed.report()
    assert "preferred leader election moved 2 leader(s)" in fixed.report()


def test_the_preferred_replica_must_be_in_sync_to_lead_again():
    cluster = Cluster(brokers=3, seed=4)
    cluster.create_topic("t", partitions=3, replication_factor=3)
    cluster.crash(0)
    cluster.run_for(15_000)
    assert leaders_per_broker(cluster, "t")[0] == 0
    assert cluster.elect_preferred_leaders() == []          # broker 0 is down: nothing moves
    cluster.restart(0)
    cluster.run_for(15_000)
    assert cluster.elect_preferred_leaders() == [("t", 0)]
    assert leaders_per_broker(cluster, "t") == {0: 1, 1: 1, 2: 1}


# -- partition reassignment ------------------------------------------------------------------
def four_brokers_one_partition(records=100):
    """Broker 3 holds nothing yet; t-0 is on [0, 1, 2], led by 0, with ``records`` in it."""
    cluster = Cluster(brokers=4, seed=3)
    cluster.create_topic("t", partitions=1, replication_factor=3,
                         config={"min.insync.replicas": 2})
    producer = cluster.producer(acks="all")
    sent = [producer.send("t", f"before-{i}".encode(), partition=0) for i in range(records)]
    cluster.run_for(2_000)
    assert [future.get() for future in sent] == list(range(records))
    assert cluster.registration("t", 0).replicas == (0, 1, 2) and cluster.leader("t", 0) == 0
    return cluster, producer


def read_all(cluster, topic="t", partition=0):
    consumer = cluster.consumer(auto_offset_reset="earliest")
    consumer.assign([(topic, partition)])
    values = []
    for _ in range(10):
        values += [record.value for record in consumer.poll(500)]
    return values


def test_a_reassignment_completes_only_once_the_new_replicas_are_in_sync():
    cluster, producer = four_brokers_one_partition()
    cluster.crash(3)
    cluster.run_for(15_000)
    cluster.alter_partition_reassignments({("t", 0): [3, 1, 2]})
    ongoing = {("t", 0): {"replicas": [3, 1, 2, 0], "adding": [3], "removing": [0]}}
    assert cluster.list_partition_reassignments() == ongoing
    during = [producer.send("t", f"during-{i}".encode(), partition=0) for i in range(50)]
    cluster.run_for(20_000)
    # Broker 3 is down, so it cannot catch up: nothing completes, nobody is removed.
    assert [future.get() for future in during] == list(range(100, 150))
    assert cluster.list_partition_reassignments() == ongoing
    assert cluster.leader("t", 0) == 0 and cluster.log(0, "t", 0).log_end_offset == 150
    cluster.restart(3)
    assert cluster.run_until_reassigned(timeout_ms=10_000)
    assert cluster.list_partition_reassignments() == {}
    registration = cluster.registration("t", 0)
    assert registration.replicas == (3, 1, 2) and set(registration.isr) == {1, 2, 3}
    # The leader was removed: the first in-sync replica of the target leads now.
    assert registration.leader == 3 and registration.leader_epoch == 1
    assert cluster.log(0, "t", 0) is None                  # the removed replica's copy is gone
    after = [producer.send("t", f"after-{i}".encode(), partition=0) for i in range(50)]
    cluster.run_for(2_000)
    assert [future.get() for future in after] == list(range(150, 200))
    assert [cluster.log(b, "t", 0).log_end_offset for b in (1, 2, 3)] == [200, 200, 200]
    expected = [f"{stage}-{i}".encode() for stage, count in
                (("before", 100), ("during", 50), ("after", 50)) for i in range(count)]
    assert read_all(cluster) == expected


def test_a_reassignment_moves_the_leader_only_when_it_removes_it():
    cluster, _ = four_brokers_one_partition()
    cluster.alter_partition_reassignments({("t", 0): [3, 0, 1]})     # 0 stays, 2 goes
    assert cluster.run_until_reassigned(timeout_ms=10_000)
    registration = cluster.registration("t", 0)
    assert registration.replicas == (3, 0, 1) and cluster.log(2, "t", 0) is None
    assert registration.leader == 0         # still a replica: a preferred election moves it
    assert cluster.elect_preferred_leaders() == [("t", 0)] and cluster.leader("t", 0) == 3
    cluster.alter_partition_reassignments({("t", 0): [1, 2]})        # the leader 3 goes
    assert cluster.run_until_reassigned(timeout_ms=10_000)
    assert cluster.registration("t", 0).replicas == (1, 2) and cluster.leader("t", 0) == 1
    assert cluster.log(3, "t", 0) is None and cluster.log(0, "t", 0) is None
    assert read_all(cluster) == [f"before-{i}".encode() for i in range(100)]
    assert any("broker 1 elected leader (reassignment completed: broker 3 is no longer a "
               "replica)" in text for _, text in cluster.events)


def test_cancelling_a_reassignment_removes_the_replicas_it_was_adding():
    cluster, _ = four_brokers_one_partition()
    cluster.partition_network([3], [0])         # broker 3 can reach the controller, not 0
    cluster.alter_partition_reassignments({("t", 0): [3, 1, 2]})
    cluster.run_for(5_000)
    assert cluster.list_partition_reassignments()[("t", 0)]["adding"] == [3]
    assert cluster.log(3, "t", 0).log_end_offset == 0          # created, but cut off
    epoch = cluster.registration("t", 0).leader_epoch
    cluster.alter_partition_reassignments({("t", 0): None})
    registration = cluster.registration("t", 0)
    assert cluster.list_partition_reassignments() == {}
    # Kafka's revert keeps the current list's order, the target's first: [1, 2] then 0.
    assert registration.replicas == (1, 2, 0) and registration.leader == 0
    assert registration.leader_epoch == epoch + 1            # a replica left: epoch bumped
    assert cluster.log(3, "t", 0) is None
    with pytest.raises(errors.NoReassignmentInProgressError):
        cluster.alter_partition_reassignments({("t", 0): None})


def test_a_replica_removed_while_its_broker_is_down_is_deleted_when_it_returns():
    cluster, _ = four_brokers_one_partition()
    cluster.crash(0)
    cluster.run_for(15_000)
    assert cluster.leader("t", 0) == 1
    cluster.alter_partition_reassignments({("t", 0): [3, 1, 2]})
    assert cluster.run_until_reassigned(timeout_ms=10_000)
    assert cluster.registration("t", 0).replicas == (3, 1, 2)
    assert cluster.log(0, "t", 0).log_end_offset == 100     # still on broker 0's disk
    cluster.restart(0)
    cluster.run_for(2_000)
    assert cluster.log(0, "t", 0) is None


def test_bad_reassignments_are_refused_by_kafkas_error_names():
    cluster, _ = four_brokers_one_partition()
    refused = {("nope", 0): [0, 1, 2], ("t", 7): [0, 1, 2]}
    for key, target in refused.items():
        with pytest.raises(errors.UnknownTopicOrPartitionError):
            cluster.alter_partition_reassignments({key: target})
    for target in ([], [1, 1, 2], [0, 9], "012"):
        with pytest.raises(errors.InvalidReplicaAssignmentError):
            cluster.alter_partition_reassignments({("t", 0): target})
    with pytest.raises(errors.NoReassignmentInProgressError) as cancel:
        cluster.alter_partition_reassignments({("t", 0): None})
    assert cancel.value.name == "NO_REASSIGNMENT_IN_PROGRESS" and cancel.value.code == 85
    assert cluster.registration("t", 0).replicas == (0, 1, 2)      # none of them changed it
    # Each partition on its own: a bad one does not stop a good one.
    cluster.create_topic("u", partitions=1, replication_factor=2)
    with pytest.raises(errors.InvalidReplicaAssignmentError):
        cluster.alter_partition_reassignments({("t", 0): [5], ("u", 0): [2, 3]})
    assert cluster.run_until_reassigned(timeout_ms=10_000)
    assert cluster.registration("u", 0).replicas == (2, 3)


def test_a_topic_can_be_created_with_a_replica_assignment():
    cluster = Cluster(brokers=3, seed=1)
    cluster.create_topic("t", replica_assignment={0: [2, 0], 1: [2, 1]})
    assert [cluster.registration("t", p).replicas for p in (0, 1)] == [(2, 0), (2, 1)]
    assert leaders_per_broker(cluster, "t") == {0: 0, 1: 0, 2: 2}
    assert cluster.log(1, "t", 0) is None and cluster.log(1, "t", 1) is not None
    bad = ({0: [0, 0]}, {0: [0, 1], 2: [1, 2]}, [[0, 1], [1]], [[0, 7]], [])
    for assignment in bad:
        with pytest.raises(errors.InvalidReplicaAssignmentError):
            cluster.create_topic("u", replica_assignment=assignment)
    with pytest.raises(errors.InvalidRequestError):
        cluster.create_topic("u", partitions=2, replica_assignment=[[0], [1]])
    assert cluster.topics() == ["t"]


def test_a_skewed_assignment_needs_a_reassignment_before_the_preferred_election():
    broken = run_scenario("skewed-assignment", fixed=False)
    fixed = run_scenario("skewed-assignment", fixed=True)
    assert broken.leaders == {0: 6, 1: 0, 2: 0}
    assert "preferred leader election moved 0 leader(s)" in broken.report()
    assert min(broken.idle, key=broken.idle.get) == 0 and broken.hottest_gap > 0.25, \
        broken.report()
    assert fixed.leaders == {0: 2, 1: 2, 2: 2} and fixed.hottest_gap < 0.03, fixed.report()
    assert "preferred replicas per broker {0: 2, 1: 2, 2: 2}" in fixed.report()
    assert "preferred leader election moved 4 leader(s)" in fixed.report()


def test_the_controller_moves_leaders_back_every_imbalance_check():
    """auto.leader.rebalance.enable (on by default): every
    leader.imbalance.check.interval.seconds the controller elects the preferred replica of
    every partition it leads not (QuorumController.maybeBalancePartitionLeaders)."""
    def leaders_after_restart(config):
        cluster = Cluster(brokers=3, seed=2, config=config)
        cluster.create_topic("t", partitions=3, replication_factor=3)
        cluster.crash(0)
        cluster.run_for(15_000)
        cluster.restart(0)
        cluster.run_for(15_000)
        before = leaders_per_broker(cluster, "t")
        cluster.run_for(60_000)
        return before, leaders_per_broker(cluster, "t")
    before, after = leaders_after_restart({"leader.imbalance.check.interval.seconds": 60})
    assert before[0] == 0 and after == {0: 1, 1: 1, 2: 1}
    before, after = leaders_after_restart({"auto.leader.rebalance.enable": False})
    assert before[0] == 0 and after[0] == 0
    with pytest.raises(errors.InvalidConfigurationError, match="leader.imbalance"):
        Cluster(brokers=1, config={"leader.imbalance.check.interval.seconds": 0})
