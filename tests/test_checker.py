"""The history checker names each anomaly, and only when the history shows it."""

from hypothesis import given, strategies as st

from kafkadojo.reference.checker import check
from kafkadojo.reference.history import History


def clean_history():
    h = History()
    for i, value in enumerate([b"a", b"b", b"c"]):
        h.invoke_send(i, "p", "t", None, value)
        h.send_ok(i, "p", "t", 0, i, value)
    h.assign(5, "c", "t", (0,))
    h.poll_ok(6, "c", "t", 0, [(0, b"a"), (1, b"b")])
    h.poll_ok(7, "c", "t", 0, [(2, b"c")])
    return h


def kinds(history, **options):
    return set(check(history, **options).anomalies)


def test_a_clean_history_has_no_anomaly():
    result = check(clean_history(), require_all_seen=True)
    assert result.valid and result.anomalies == {}
    assert result.stats["sends acknowledged"] == 3 and result.stats["records read"] == 3
    assert "no anomalies" in result.report()


def test_lost_write_needs_a_read_past_its_offset():
    h = History()
    h.send_ok(0, "p", "t", 0, 0, b"a")
    h.send_ok(1, "p", "t", 0, 1, b"b")
    h.poll_ok(2, "c", "t", 0, [(1, b"b")])
    result = check(h)
    assert set(result.anomalies) == {"lost-write"} and not result.valid
    anomaly = result.anomalies["lost-write"][0]
    assert (anomaly.offset, anomaly.value) == (0, b"a")
    assert [op.index for op in anomaly.ops] == [0, 2]
    report = result.report()
    assert "lost-write" in report and "t/0@0" in report


def test_unseen_invalidates_only_when_everything_was_drained():
    h = History()
    h.send_ok(0, "p", "t", 0, 0, b"a")
    h.send_ok(1, "p", "t", 0, 1, b"b")
    h.poll_ok(2, "c", "t", 0, [(0, b"a")])
    assert kinds(h) == {"unseen"}
    assert check(h).valid
    assert not check(h, require_all_seen=True).valid


def test_duplicate_one_value_at_two_offsets():
    h = History()
    h.send_ok(0, "p", "t", 0, 0, b"a")
    h.poll_ok(1, "c", "t", 0, [(0, b"a"), (1, b"a")])
    assert kinds(h) == {"duplicate"}
    assert check(h, tolerate=("duplicate",)).valid


def test_inconsistent_offsets_one_offset_two_values():
    h = History()
    h.send_ok(0, "p", "t", 0, 0, b"a")
    h.poll_ok(1, "c", "t", 0, [(0, b"b")])
    found = kinds(h)
    assert "inconsistent-offsets" in found
    # same value read twice at the same offset is fine
    h2 = History()
    h2.send_ok(0, "p", "t", 0, 0, b"a")
    h2.poll_ok(1, "c", "t", 0, [(0, b"a")])
    h2.poll_ok(2, "d", "t", 0, [(0, b"a")])
    assert kinds(h2) == set()


def test_aborted_read_of_a_definitely_failed_send():
    h = History()
    h.invoke_send(0, "p", "t", None, b"x")
    h.send_fail(1, "p", "t", None, b"x", "NOT_ENOUGH_REPLICAS")
    h.poll_ok(2, "c", "t", 0, [(0, b"x")])
    assert kinds(h) == {"aborted-read"}
    # an indeterminate send that shows up later is not an anomaly
    h2 = History()
    h2.send_info(1, "p", "t", None, b"x", "REQUEST_TIMED_OUT")
    h2.poll_ok(2, "c", "t", 0, [(0, b"x")])
    assert kinds(h2) == set()


def test_poll_skip_only_over_offsets_known_to_hold_records():
    h = History()
    for offset, value in enumerate([b"a", b"b", b"c"]):
        h.send_ok(0, "p", "t", 0, offset, value)
    h.poll_ok(1, "c", "t", 0, [(0, b"a")])
    h.poll_ok(2, "c", "t", 0, [(2, b"c")])
    h.poll_ok(3, "d", "t", 0, [(1, b"b")])
    assert kinds(h) == {"poll-skip"}
    # a gap nobody knows anything about (compaction, markers) is not a skip
    h2 = History()
    h2.send_ok(0, "p", "t", 0, 0, b"a")
    h2.send_ok(0, "p", "t", 0, 5, b"f")
    h2.poll_ok(1, "c", "t", 0, [(0, b"a"), (5, b"f")])
    assert kinds(h2) == set()


def test_nonmonotonic_poll_unless_repositioned():
    h = History()
    h.send_ok(0, "p", "t", 0, 0, b"a")
    h.send_ok(0, "p", "t", 0, 1, b"b")
    h.poll_ok(1, "c", "t", 0, [(0, b"a"), (1, b"b")])
    h.poll_ok(2, "c", "t", 0, [(0, b"a")])
    assert kinds(h) == {"nonmonotonic-poll"}
    h2 = History()
    h2.send_ok(0, "p", "t", 0, 0, b"a")
    h2.send_ok(0, "p", "t", 0, 1, b"b")
    h2.poll_ok(1, "c", "t", 0, [(0, b"a"), (1, b"b")])
    h2.assign(2, "c", "t", (0,))
    h2.poll_ok(3, "c", "t", 0, [(0, b"a")])
    assert kinds(h2) == set()


def test_nonmonotonic_send_per_producer_and_partition():
    h = History()
    h.send_ok(0, "p", "t", 0, 5, b"a")
    h.send_ok(1, "p", "t", 0, 3, b"b")
    h.send_ok(2, "q", "t", 0, 4, b"c")        # another producer: its own order
    h.send_ok(3, "p", "t", 1, 0, b"d")        # another partition: its own order
    assert kinds(h) == {"nonmonotonic-send", "unseen"}
    assert len(check(h).anomalies["nonmonotonic-send"]) == 1


def test_report_names_kinds_and_op_indexes():
    h = History()
    h.send_ok(0, "p", "t", 0, 0, b"a")
    h.send_ok(1, "p", "t", 0, 1, b"b")
    h.poll_ok(2, "c", "t", 0, [(1, b"b")])
    report = check(h).report()
    assert "lost-write" in report and "op 0" in report and "never" in report
    assert "    0  t=0ms" in report


@given(st.lists(st.tuples(st.integers(0, 2), st.booleans()), min_size=1, max_size=60),
       st.integers(1, 3), st.data())
def test_histories_of_a_correct_log_are_valid_and_a_dropped_read_is_caught(sends, consumers, data):
    """Model a correct log: sends are acknowledged at consecutive offsets per partition, and
    consumers read contiguous runs. Valid; then delete one read record from the middle of a
    consumer's reads: the checker must see a poll-skip or a lost write."""
    h = History()
    logs = {0: [], 1: [], 2: []}
    for n, (partition, _) in enumerate(sends):
        value = b"%d" % n
        h.invoke_send(n, "p", "t", None, value)
        h.send_ok(n, "p", "t", partition, len(logs[partition]), value)
        logs[partition].append(value)
    for c in range(consumers):
        h.assign(1000, f"c{c}", "t", (0, 1, 2))
        for partition, values in logs.items():
            position = 0
            while position < len(values):
                step = data.draw(st.integers(1, 5))
                chunk = [(o, values[o]) for o in range(position, min(position + step, len(values)))]
                h.poll_ok(1001, f"c{c}", "t", partition, chunk)
                position += len(chunk)
    assert check(h, require_all_seen=True).valid

    longest = max(logs, key=lambda p: len(logs[p]))
    if len(logs[longest]) < 3 or consumers != 1:
        return
    victim = data.draw(st.integers(1, len(logs[longest]) - 2))
    broken = History()
    for op in h.ops:
        if op.f == "poll":
            topic, partition, records = op.value
            if partition == longest:
                records = tuple(r for r in records if r[0] != victim)
            if records:
                broken.poll_ok(op.time, op.process, topic, partition, records)
        elif op.f == "send" and op.type == "ok":
            broken.send_ok(op.time, op.process, *op.value)
        elif op.f == "send":
            broken.invoke_send(op.time, op.process, *op.value)
        else:
            broken.assign(op.time, op.process, *op.value)
    found = set(check(broken).anomalies)
    assert found & {"poll-skip", "lost-write"}, found
