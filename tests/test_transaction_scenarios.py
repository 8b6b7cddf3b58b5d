"""The transaction scenarios, replayed by name: each shows its anomaly without the fix and
none with it."""

import pytest

from kafkadojo.reference.transaction_scenarios import SCENARIOS, run_scenario

EXPECTED = {
    "zombie-fenced": {"duplicate"},
    "hanging-transaction": {"hanging-transaction", "lost-write"},
    "delayed-end-txn": {"aborted-read"},
}


def test_every_scenario_is_tested():
    assert set(EXPECTED) == set(SCENARIOS)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_without_the_fix_the_scenario_shows_its_anomaly(name):
    result = run_scenario(name, fixed=False)
    assert {kind for kind, _ in result.anomalies} == EXPECTED[name], result.report()
    assert "ANOMALY" in result.report()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_with_the_fix_nothing_goes_wrong(name):
    result = run_scenario(name, fixed=True)
    assert result.anomalies == [], result.report()
    assert sorted(result.read_committed) == sorted(result.expected)


def test_the_zombie_is_told_it_is_fenced_and_the_late_copy_of_end_txn_too():
    assert "PRODUCER_FENCED: it is a zombie" in run_scenario("zombie-fenced", fixed=True).report()
    assert "reaches the coordinator: PRODUCER_FENCED" in run_scenario(
        "delayed-end-txn", fixed=True).report()


def test_a_hanging_transaction_holds_the_lso_and_verification_refuses_the_late_batch():
    broken = run_scenario("hanging-transaction", fixed=False)
    (lso, hw), = [v for v in broken.stable.values() if v[0] < v[1]]
    assert lso < hw
    assert "holds ['first', 'COMMIT', 'ABORT', 'late']" in broken.report()
    fixed = run_scenario("hanging-transaction", fixed=True)
    assert "holds ['first', 'COMMIT', 'ABORT']" in fixed.report()


def test_scenarios_replay_exactly():
    for name in EXPECTED:
        assert run_scenario(name, fixed=False).report() == run_scenario(name, fixed=False).report()
