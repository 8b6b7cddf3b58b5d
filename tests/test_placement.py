"""Hot brokers: leadership piled on one broker after restarts, its request handlers busy,
and the preferred leader election that spreads the load again."""

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
