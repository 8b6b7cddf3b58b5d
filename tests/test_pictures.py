"""The notebooks' pictures with a learner's rule that raises: each says which rule, with
which arguments, raised what, in one short line, never a traceback through the simulator."""

import pytest

from kafkadojo.exercises import pictures


def broken(*args):
    raise ZeroDivisionError("division by zero")


def assert_short_message(html, rule):
    assert f"your {rule}(" in html and "raised ZeroDivisionError: division by zero" in html
    assert "Traceback" not in html and "sim.py" not in html and len(html) < 600


def test_a_broken_partition_rule_in_the_key_picture():
    assert_short_message(pictures.draw_key_spread(6, partition_rule=broken), "partition_for_key")
    assert "b&#x27;user-" in pictures.draw_key_spread(6, partition_rule=broken)   # its key shown


def test_a_broken_sticky_rule():
    assert_short_message(pictures.draw_sticky_spread(next_partition=broken), "next_partition")


def test_a_broken_high_watermark_rule_in_the_leader_crash_picture():
    widget = pictures.show_leader_crash(next_high_watermark=broken)
    assert_short_message(widget.value, "next_high_watermark")


def test_a_broken_isr_rule():
    assert_short_message(pictures.draw_isr_story(5_000, rules={"is_caught_up": broken}),
                         "is_caught_up")


def test_a_broken_assignor_in_the_groups_picture():
    widget = pictures.show_groups(rules={"range_assign": broken})
    assert_short_message(widget.children[-1].value, "range_assign")


def test_a_broken_log_rule_stops_the_log_story_with_the_same_line():
    snapshots = pictures.log_story({"should_roll": broken})
    assert any("your should_roll(" in str(snapshot) and "ZeroDivisionError" in str(snapshot)
               for snapshot in snapshots)


def test_long_arguments_are_cut_short():
    failure = pictures.RuleFailed("sticky_assign", (list(range(500)),), ValueError("x" * 500))
    assert len(str(failure)) < 220 and "..." in str(failure)


@pytest.mark.parametrize("rule", [None, pictures.partition_for_key])
def test_a_working_rule_draws_the_picture(rule):
    assert "busiest partition" in pictures.draw_key_spread(6, partition_rule=rule)


def test_a_revoke_rule_opens_the_groups_picture_on_the_cooperative_protocol():
    """The eager protocol never asks what to revoke: a broken revoke rule would look right."""
    widget = pictures.show_groups({"partitions_to_revoke": lambda owned, assigned: []})
    assert widget.children[0].children[0].value == "cooperative-sticky"
    assert pictures.show_groups().children[0].children[0].value == "range"


def test_in_a_rolling_restart_static_members_keep_their_partitions_and_their_colour():
    dynamic = pictures.group_story("range", static=False, scenario="rolling restart")
    static = pictures.group_story("range", static=True, scenario="rolling restart")
    assert static.restarted and static.rebalances <= 1 and pictures.partition_moves(static) == 0
    assert dynamic.rebalances > 4 and pictures.partition_moves(dynamic) > 4
    drawn = pictures.draw_ownership(static)
    for new, old in static.restarted:
        assert f">{old}</text>" in drawn and f">{new}</text>" not in drawn     # one legend entry


def test_every_control_shows_its_whole_label():
    for widget in (pictures.show_key_spread(), pictures.show_log(), pictures.show_isr()):
        controls = [w for w in widget.children if getattr(w, "description", "")]
        assert controls and all(w.style.description_width == "initial" for w in controls)


def test_pictures_show_in_static_html_where_no_widget_can_run(tmp_path):
    """Executed and exported with nbconvert (no widget manager, no network), each picture
    still shows: its static copy is in the page and nothing outside a script hides it."""
    import re

    import nbformat
    from nbclient import NotebookClient
    from nbconvert import HTMLExporter

    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("from kafkadojo.exercises import pictures"),
        nbformat.v4.new_code_cell("pictures.show_key_spread()"),
        nbformat.v4.new_code_cell("pictures.show_log()")])
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    page, _ = HTMLExporter(template_name="lab").from_notebook_node(notebook)
    outside_scripts = re.sub(r"<script\b.*?</script>", "", page, flags=re.S)
    copies = re.findall(rf"<div class=['\"]{pictures.STATIC_COPY}['\"]>(.*?)\(a still picture",
                        outside_scripts, flags=re.S)
    assert len(copies) == 2
    assert "busiest partition" in copies[0] and "segment" in copies[1]
    assert pictures.HIDE_STATIC_COPY not in outside_scripts


def test_replica_rows_are_aligned_offset_by_offset_in_svg_with_a_legend():
    import re
    snapshots = pictures.leader_crash_story()
    drawn = pictures.draw_snapshot(snapshots[len(snapshots) // 2])
    assert "<svg" in drawn and "committed (below the HW)" in drawn and "high watermark" in drawn
    cells = re.findall(r"<rect x='(\d+)' y='(\d+)' width='\d+' height='\d+' rx='3' fill='[^']+'>"
                       r"<title>offset (\d+):", drawn)
    by_offset = {}
    for x, _, offset in cells:
        by_offset.setdefault(int(offset), set()).add(int(x))
    rows = {int(y) for _, y, _ in cells}
    assert len(rows) >= 2 and by_offset and all(len(xs) == 1 for xs in by_offset.values())


def test_the_log_picture_tiles_segments_along_the_offsets_in_svg():
    import re
    drawn = pictures.draw_log(pictures.log_story()[-1])
    assert "<svg" in drawn and "deleted by retention" in drawn and "log start" in drawn
    columns = {}
    for x, offset in re.findall(r"<rect x='(\d+)' y='\d+' width='(?:\d+)' height='18' rx='2' "
                                r"fill='[^']+'><title>offset (\d+)</title>", drawn):
        columns.setdefault(int(offset), set()).add(int(x))
    assert len(columns) > 10 and all(len(xs) == 1 for xs in columns.values())
    assert sorted(columns) == sorted(columns, key=lambda o: min(columns[o]))   # left to right


def test_the_compaction_picture_shows_cleaning_tombstones_and_the_slow_readers_copy():
    import re
    snapshots = pictures.compaction_story()
    assert len(snapshots) == pictures.TABLE_WRITES + 1 and not any(s["error"] for s in snapshots)
    assert all(not s["resurrected"] for s in snapshots)      # Kafka's rules: no deleted key back
    last = snapshots[-1]
    assert set(last["reader_table"]) <= set(last["log_table"]) and "bob" not in last["log_table"]
    drawn = pictures.draw_compaction(last)
    assert "<svg" in drawn and "removed by the cleaner" in drawn and "first uncleanable" in drawn
    assert len(re.findall(r"text-decoration='line-through'", drawn)) >= 10     # crossed out
    # bob's tombstone, the picture at 15 s: kept, with its horizon still ahead or not yet set
    at_15 = pictures.draw_compaction(snapshots[15])
    assert "bob&#x27;s tombstone" in at_15 and "The slow reader still has" not in at_15


def test_a_rule_that_drops_tombstones_at_once_brings_a_deleted_key_back_to_the_slow_reader():
    def drops_tombstones_at_once(offset, key, has_value, horizon, offset_map, latest, now):
        if offset > latest:
            return True
        return key is not None and offset >= offset_map.get(key, -1) and has_value
    snapshots = pictures.compaction_story({"should_retain_record": drops_tombstones_at_once})
    assert snapshots[-1]["resurrected"] == ["bob", "cy"]
    assert "The slow reader still has bob, cy" in pictures.draw_compaction(snapshots[-1])
    # delete.retention.ms below the reader's 9 s lag: Kafka's own rule loses cy's delete too
    assert pictures.compaction_story(delete_retention_ms=4_000)[-1]["resurrected"] == ["cy"]


def test_a_broken_cleaner_rule_stops_the_compaction_story_with_one_line():
    snapshots = pictures.compaction_story({"dirty_ratio": broken})
    assert "your dirty_ratio(" in snapshots[-1]["error"] and "ZeroDivisionError" in snapshots[-1]["error"]
    assert_short_message(pictures.draw_compaction(snapshots[-1]).split("<svg")[0]
                         + snapshots[-1]["error"], "dirty_ratio")


def test_the_idempotence_picture_shows_a_retry_written_once_or_twice():
    with_ids = pictures.draw_idempotence(True)
    without = pictures.draw_idempotence(False)
    assert "answered with offset 2, nothing appended" in with_ids and "written twice" not in with_ids
    assert "appended it again, at offset 3" in without and "written twice: order-2" in without


def test_a_broken_check_append_stops_the_idempotence_picture_with_one_line():
    assert_short_message(pictures.draw_idempotence(True, {"check_append": broken}),
                         "check_append")


def test_the_transactions_picture_shows_markers_the_lso_and_both_kinds_of_reader():
    snapshots = pictures.transaction_story(zombie=False)
    states = [state for _, _, state, _ in snapshots]
    assert states.index("PrepareCommit") < states.index("CompleteCommit") < \
        states.index("PrepareAbort") < states.index("CompleteAbort")
    # partition 0: 'a' is read by read_uncommitted before its commit, by read_committed after
    seen = [(views[0][3], views[0][4]) for _, _, _, views in snapshots]
    first_uncommitted = next(i for i, (unc, _) in enumerate(seen) if "a" in unc)
    first_committed = next(i for i, (_, com) in enumerate(seen) if "a" in com)
    assert first_uncommitted < first_committed
    assert all("x" not in com for _, com in seen)           # the aborted one, never
    assert any("x" in unc for unc, _ in seen)
    lsos = [views[0][2] for _, _, _, views in snapshots]
    assert lsos == sorted(lsos) and lsos[-1] == snapshots[-1][3][0][1]   # LSO catches the HW
    drawn = pictures.draw_transaction(snapshots[-1])
    assert "ABORT" in drawn and "COMMIT" in drawn and "read_committed sees" in drawn


def test_the_zombie_story_fences_the_first_instance():
    snapshots = pictures.transaction_story(zombie=True)
    captions = " ".join(caption for _, caption, _, _ in snapshots)
    assert "PRODUCER_FENCED, refused" in captions
    assert all("c" not in views[0][4] for _, _, _, views in snapshots)


def test_a_broken_rule_stops_the_transactions_picture_with_one_line():
    with pytest.raises(pictures.RuleFailed) as failure:
        pictures.transaction_story(rules={"last_stable_offset": broken})
    assert_short_message(pictures._failed(failure.value), "last_stable_offset")


def test_the_acl_grid_shows_each_decision_and_the_acl_behind_it():
    grid = pictures.acl_grid(pictures.ACL_STORIES["a deny for everyone"][1])
    assert grid[("User:tenantB-app", "tenantB.orders", "READ")] == (
        "DENIED", "DENY ALL prefixed tenantB. for User:*")           # deny wins over its ALLOW
    assert grid[("User:tenantA-app", "shared.events", "DESCRIBE")][0] == "ALLOWED"   # implied
    assert grid[("User:admin", "tenantB.orders", "READ")] == ("ALLOWED", "a super user")
    loose = pictures.acl_grid(pictures.ACL_STORIES["a prefix without its dot"][1])
    assert loose[("User:tenantA-app", "tenantAB.secrets", "READ")][0] == "ALLOWED"
    drawn = pictures.draw_acls("two tenants", allow_everyone=True)
    assert "DENIED" in drawn and "ALLOWED" in drawn and "tenantA." in drawn


def test_a_broken_authorizer_stops_the_acl_picture_with_one_line():
    assert_short_message(pictures.draw_acls("two tenants", rules={"authorize": broken}),
                         "authorize")


def test_the_quota_picture_holds_the_noisy_producer_and_spares_the_quiet_one():
    points = pictures.quota_story(10)
    late = points[len(points) // 2:]
    noisy = sum(p[1] for p in late) / len(late)
    quiet = sum(p[2] for p in late) / len(late)
    assert 5 <= noisy <= 15                     # about the quota, not the 40 KB/s it sends
    assert 1.5 <= quiet <= 2.5                  # all it sends
    assert any(p[3] for p in points) and "quota 10 KB/s" in pictures.draw_quota_story(points, 10)


def test_a_broken_throttle_rule_stops_the_quota_picture_with_one_line():
    assert_short_message(pictures.draw_quotas(10, {"throttle_time_ms": broken}),
                         "throttle_time_ms")


def test_the_hot_broker_story_shows_a_rolling_restarts_hot_broker_cooled_by_an_election():
    story = pictures.hot_broker_story()
    before, after = story["before"], story["after"]
    assert max(before["busy"].values()) >= 1.5 * max(after["busy"].values())
    assert before["hot"] == [0] and after["hot"] == []
    assert before["leaders"] == {0: 4, 1: 2, 2: 0}
    assert after["leaders"] == {0: 2, 1: 2, 2: 2}                     # spread again
    assert all(preferred for led in after["led"].values() for *_, preferred in led)
    assert [p for _, p, preferred in before["led"][0] if not preferred] == [2, 5]
    assert abs(before["average"] - after["average"]) < 0.01           # the average hides it
    assert before["gap"] > 0.15 and after["gap"] < 0.03


def test_the_hot_broker_picture_draws_both_runs_side_by_side_with_a_legend():
    import re
    drawn = pictures.draw_hot_brokers(pictures.hot_broker_story())
    assert drawn.startswith("<svg") and drawn.count("<svg") == 1
    titles = re.findall(r"<text x='(\d+)' y='14' font-weight='bold'>([^<]+)</text>", drawn)
    assert [title for _, title in titles] == ["before: after a rolling restart, no election",
                                              "after: a preferred leader election"]
    assert int(titles[0][0]) < int(titles[1][0])                      # side by side
    boxes = re.findall(r"rx='3' fill='([^']+)'><title>clicks-(\d+): broker (\d+) is", drawn)
    assert len(boxes) == 12 and [b for _, _, b in boxes[:6]] == ["0"] * 4 + ["1"] * 2
    assert sum(color == pictures.UNCOMMITTED for color, _, _ in boxes) == 2
    hot_bars = re.findall(rf"fill='{pictures.LOST}'><title>broker (\d+): request handlers "
                          r"(\d+)% busy", drawn)
    assert hot_bars == [("0", "26")]
    assert drawn.count(">cluster average 13%</text>") == 2            # one under each run
    for meaning in ("led by its preferred replica", "led by another replica",
                    "request handlers busy", "a hot broker"):
        assert f">{meaning}</text>" in drawn
    assert "broker 0 is hot" in drawn and "no hot broker" in drawn
    assert "preferred leader election moved 2 leader(s)" in drawn     # what happened


def test_the_hot_broker_picture_is_a_widget_and_takes_another_placement_scenario(monkeypatch):
    from kafkadojo.reference import placement
    widget = pictures.show_hot_brokers()
    assert "broker 0 is hot" in widget.children[-1].value
    monkeypatch.setitem(placement.SCENARIOS, "another", placement.hot_broker)
    story = pictures.hot_broker_story(scenario="another")
    assert story["before"]["title"] == "before: without the fix" and story["after"]["hot"] == []


def test_the_quotas_notebook_shows_the_hot_broker_picture_after_the_quota_pictures():
    import json

    from kafkadojo.exercises import notebooks
    cells = json.loads(notebooks.path_for("quotas").read_text())["cells"]
    ids = [c["metadata"].get("nbgrader", {}).get("grade_id") for c in cells]
    picture = cells[ids.index("picture_hot_brokers")]
    assert "".join(picture["source"]) == "pictures.show_hot_brokers()"
    assert picture["metadata"]["nbgrader"]["locked"]
    assert ids.index("picture_buggy") < ids.index("picture_hot_brokers") < \
        ids.index("quotas-quotas-questions")
    prose = "".join("".join(c["source"]) for c in cells[:ids.index("picture_hot_brokers")]
                    if c["cell_type"] == "markdown")
    for term in ("RequestHandlerAvgIdlePercent", "--election-type preferred",
                 "auto.leader.rebalance.enable", "comes back as a\nfollower"):
        assert term in prose
