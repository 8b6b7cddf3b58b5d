"""Each documented data-loss scenario loses exactly the records it should, and its fix
loses none (or, for KIP-101 case 2, stops the replicas diverging)."""

import pytest

from kafkadojo.reference.scenarios import SCENARIOS, run_scenario


def test_kip_101_case_1_truncating_to_the_high_watermark_loses_m2():
    broken = run_scenario("kip-101-case-1", fixed=False)
    assert broken.acknowledged == [b"m1", b"m2", b"m3"]
    assert broken.lost == [b"m2"]
    assert broken.replicas == {0: [b"m1", b"m3"], 1: [b"m1", b"m3"]}
    assert not broken.diverged


def test_kip_101_case_1_with_leader_epochs_keeps_m2():
    fixed = run_scenario("kip-101-case-1", fixed=True)
    assert fixed.lost == []
    assert fixed.replicas == {0: [b"m1", b"m2", b"m3"], 1: [b"m1", b"m2", b"m3"]}


def test_kip_101_case_2_truncating_to_the_high_watermark_forks_the_log():
    broken = run_scenario("kip-101-case-2", fixed=False)
    assert broken.replicas == {0: [b"m1", b"m2"], 1: [b"m1", b"m3"]}
    assert broken.diverged
    assert {v.kind for v in broken.violations} >= {"replicas-diverged"}
    assert broken.lost == [b"m2"]


def test_kip_101_case_2_with_leader_epochs_converges():
    fixed = run_scenario("kip-101-case-2", fixed=True)
    assert fixed.replicas == {0: [b"m1", b"m3"], 1: [b"m1", b"m3"]}
    assert not fixed.diverged
    assert fixed.lost == [b"m2"]     # both of its durable copies were on the losing side


def test_last_replica_standing_loses_everything_the_leader_had_not_flushed():
    broken = run_scenario("last-replica-standing", fixed=False)
    assert broken.acknowledged == [b"r1", b"r2", b"r3"]
    assert broken.lost == [b"r1", b"r2", b"r3"]
    assert broken.replicas == {0: [], 1: [], 2: []}
    fixed = run_scenario("last-replica-standing", fixed=True)
    assert fixed.lost == []
    # r4 "failed" (its retry met NOT_ENOUGH_REPLICAS) yet its first, timed-out attempt was
    # appended: a failed send is not proof the record is absent.
    assert all(values[:3] == [b"r1", b"r2", b"r3"] for values in fixed.replicas.values())


def test_unclean_leader_election_loses_what_the_stale_replica_lacked():
    broken = run_scenario("unclean-leader-election", fixed=False)
    assert broken.lost == [b"r1", b"r2", b"r3"]
    assert broken.cluster.controller.unclean_elections == 1
    fixed = run_scenario("unclean-leader-election", fixed=True)
    assert fixed.lost == []
    assert fixed.cluster.controller.unclean_elections == 0


def test_acks_1_loses_records_the_leader_acknowledged_alone():
    broken = run_scenario("acks-1", fixed=False)
    assert broken.acknowledged == [b"r0", b"r1", b"r2"]
    assert broken.lost == [b"r1", b"r2"]
    fixed = run_scenario("acks-1", fixed=True)
    assert fixed.acknowledged == [b"r0"]     # acks=all refused to acknowledge r1, r2
    assert fixed.lost == []


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenarios_replay_exactly_and_narrate(name):
    first, second = run_scenario(name), run_scenario(name)
    assert first.steps == second.steps
    assert first.replicas == second.replicas
    report = first.report()
    assert name in report and "t=" in report


def test_unknown_scenario_names_the_known_ones():
    with pytest.raises(KeyError) as raised:
        run_scenario("kip-999")
    assert "kip-101-case-1" in str(raised.value)


def test_the_engine_demo_tells_each_chapter(capsys):
    """``kafkadojo demo --engine``: the leader crash, KIP-101, the group, the guarantees, and
    one line from each later chapter, every one with its broken and fixed outcome."""
    from kafkadojo.reference.demo import main
    assert main() == 0
    out = capsys.readouterr().out
    assert "in its output topic: lost 0, duplicated 0" in out
    assert "zombie-fenced (without a transactional.id): duplicate" in out
    assert "zombie-fenced (with a transactional.id): no anomaly" in out
    assert "tenant-boundary (prefix without its dot): 1 attempt(s) not as intended" in out
    assert "tenant-boundary (prefix with its dot): 0 attempt(s)" in out
    assert "leaders {0: 2, 1: 2, 2: 2}" in out
