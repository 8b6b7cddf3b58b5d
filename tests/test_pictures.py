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
    assert_short_message(widget.children[1].value, "range_assign")


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
