"""The compaction scenarios: each shows its anomaly without the fix and not with it."""

from kafkadojo.reference.changelog import SCENARIOS, run_scenario


def test_a_late_reader_rebuilds_the_writers_table_from_the_compacted_topic():
    result = run_scenario("changelog-table", fixed=True)
    assert result.reader_table == result.writer_table
    assert len(result.writer_table) == 3                # bob and cy were deleted
    assert result.records_after < result.records_before // 4    # compacted, for real
    assert "RESURRECTED" not in result.report()


def test_before_kip_534_a_tombstone_outlives_delete_retention_ms_without_end():
    broken, fixed = (run_scenario("tombstone-forever", fixed=f) for f in (False, True))
    assert broken.tombstones == ["bob"]                 # two minutes on, 10 s retention
    assert fixed.tombstones == []
    for result in (broken, fixed):                      # the table is right either way
        assert result.reader_table == result.writer_table and "bob" not in result.reader_table


def test_a_reader_slower_than_delete_retention_ms_keeps_a_deleted_key():
    broken, fixed = (run_scenario("slow-reader-resurrects", fixed=f) for f in (False, True))
    assert broken.resurrected == ["bob"] and "RESURRECTED" in broken.report()
    assert fixed.resurrected == [] and fixed.reader_table == fixed.writer_table


def test_every_scenario_replays_exactly():
    for name in SCENARIOS:
        first, again = run_scenario(name, seed=3), run_scenario(name, seed=3)
        assert first.report() == again.report()
