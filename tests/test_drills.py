"""Interview drills: every kind's answer is the engine's, right answers are accepted in the
forms a person types, wrong ones are refused, and the terminal flow works (driven in tmux)."""

import random
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from kafkadojo.exercises.drills import CONCEPTS, ask, kinds_for, load_kinds
from kafkadojo.exercises.drills.runner import run
from kafkadojo.reference.assignors import Member, range_assign, round_robin_assign
from kafkadojo.reference.auth_helper import required_acls
from kafkadojo.reference.authorizer import authorize
from kafkadojo.reference.assignors import sticky_assign
from kafkadojo.reference.cleaner import build_offset_map, dirty_ratio, should_retain_record
from kafkadojo.reference.consumer import read_committed_batches
from kafkadojo.reference.delivery import committed_offsets, run_delivery
from kafkadojo.reference.election import elect_leader
from kafkadojo.reference.isr import acks_all_accepted
from kafkadojo.reference.log import deletable_segments
from kafkadojo.reference.monitoring import partition_lag
from kafkadojo.reference.partitioner import partition_for_key, to_positive
from kafkadojo.reference.producer_state import BatchMetadata, check_append, last_stable_offset
from kafkadojo.reference.quota_manager import quota_limit, throttle_time_ms
from kafkadojo.reference.record import Record
from kafkadojo.reference.record_batch import encode_batch, write_varint
from kafkadojo.reference.replication import next_high_watermark
from kafkadojo.reference.scenarios import crash_after_writes

ROOT = Path(__file__).resolve().parent.parent


def _range(members, partitions):
    got = range_assign([Member(m, ("t",)) for m in members], {"t": partitions})
    return {m: sorted(p for _, p in got.get(m, ())) for m in members}


def _round_robin(members, partitions):
    got = round_robin_assign([Member(m, ("t",)) for m in members], {"t": partitions})
    return {m: sorted(p for _, p in got.get(m, ())) for m in members}


def _records(start, count):
    return committed_offsets([Record("t", 0, start + i, None, b"v", 0)
                              for i in range(count)])[("t", 0)]


def _lost_acknowledged(*args):
    return [int(value.decode()[1:]) for value in crash_after_writes(*args).lost]


def _crash_step(guarantee, crash_at, seed, records, per_poll):
    outcome = run_delivery(guarantee, crash_at=list(crash_at), seed=seed, records=records,
                           partitions=1, max_poll_records=per_poll)
    asked = outcome.duplicated if guarantee == "at-least-once" else outcome.lost
    return sorted({offset for _, offset in asked})


def _kept(records, active, second_pass):
    segments = [(0, [(o, [(o, k)]) for o, k, _ in records[:active]])]
    offset_map, latest = build_offset_map(segments, 0, active, 1_000)
    horizon, now = (1_000, 2_000) if second_pass else (-1, 0)
    return [o for o, k, v in records
            if should_retain_record(o, k, v is not None, horizon, offset_map, latest, now)]


def _sticky_moves(owned, after, partitions):
    owned = dict(owned)
    members = [Member(m, ("t",), owned=tuple(("t", p) for p in owned.get(m, ())),
                      generation=1 if m in owned else -1) for m in after]
    previous = {p: m for m, ps in owned.items() for p in ps}
    return sum(1 for m, got in sticky_assign(members, {"t": partitions}).items()
               for _, p in got if previous[p] != m and previous[p] in after)


# What each kind asks of the engine, from the inputs the question kept
ENGINE = {
    "partitioning.key-partition": lambda key, n: partition_for_key(key.encode(), n),
    "partitioning.to-positive": lambda value, n: to_positive(value) % n,
    "log.retention": lambda segments, end, now, ms: deletable_segments(
        list(segments), 0, end, end, now, ms, -1)[1],
    "compaction.dirty-ratio": lambda segments, dirty, uncleanable: round(
        100 * dirty_ratio(list(segments), dirty, uncleanable)),
    "replication.high-watermark": next_high_watermark,
    "replication.acks-crash": _lost_acknowledged,
    "compaction.keeps": _kept,
    "offsets.crash-step": _crash_step,
    "transactions.read-committed": lambda batches, aborted: read_committed_batches(
        list(batches), list(aborted)),
    "groups.sticky-moves": _sticky_moves,
    "isr.elect-leader": lambda *args: elect_leader(*args).leader,
    "isr.acks-all": lambda *args: "YES" if acks_all_accepted(*args) else "NO",
    "groups.range": _range,
    "groups.round-robin": _round_robin,
    "offsets.commit": _records,
    "offsets.lag": partition_lag,
    "idempotence.check-append": lambda epoch, last, producer_epoch, first: check_append(
        epoch, [BatchMetadata(last - 4, last, 100, 104)], producer_epoch, first,
        first + 4)[0].upper(),
    "transactions.lso": lambda transactions, hw: last_stable_offset(list(transactions), hw),
    "security.authorize": lambda acls, operation, topic: authorize(
        acls, frozenset(), False, "User:alice", "10.0.0.1", operation, "TOPIC", topic),
    "security.request-acls": lambda api, group, txn: "_".join(
        required_acls(api, ["orders"], group, txn)[0][:2]),
    "quotas.throttle": throttle_time_ms,
    "quotas.which-quota": lambda quotas: quota_limit(dict(quotas), "alice", "app") or 0,
    "wire.varint": lambda value: list(write_varint(value)),
    "wire.batch-size": lambda records: len(encode_batch(list(records))),
}


def typed(question):
    """The answer as a person would type it."""
    if question.form == "assignment":
        return "\n".join(f"{m} = {', '.join(map(str, p))}" for m, p in question.answer.items())
    if question.form == "set" and not question.answer:
        return "none"
    return str(question.answer).lower() if question.form == "word" else str(question.answer)


def test_every_concept_has_at_least_two_kinds_and_every_computed_kind_is_tested():
    kinds = load_kinds()
    for concept in CONCEPTS:
        assert len(kinds_for(concept)) >= 2, concept
    computed = {name for name, kind in kinds.items() if kind.form != "card"}
    assert computed == set(ENGINE)


@pytest.mark.parametrize("kind", sorted(ENGINE))
def test_each_answer_is_the_engines_and_is_accepted_as_typed(kind):
    seen = set()
    for level in load_kinds()[kind].levels:
        for seed in range(40):
            question = ask(kind, seed, level)
            assert question == ask(kind, seed, level)          # a seed replays exactly
            expected = ENGINE[kind](*question.inputs)
            if kind == "security.authorize":
                expected = expected.upper()
            assert question.answer == expected, (seed, level, question.prompt)
            assert question.check(typed(question)).right, (seed, level, typed(question))
            seen.add(repr(question.answer))
    assert len(seen) >= 2, f"{kind} always asks for the same answer: {seen}"


@pytest.mark.parametrize("kind", sorted(ENGINE))
def test_a_wrong_answer_is_refused_with_the_engines_answer(kind):
    for seed in range(20):
        question = ask(kind, seed, 1)
        if question.form == "number":
            wrong = str(question.answer + 1)
        elif question.form == "word":
            wrong = "maybe"
        elif question.form in ("set", "numbers"):
            wrong = ", ".join(map(str, list(question.answer) + [99]))
        else:
            first = sorted(question.answer)[0]
            wrong = "; ".join(f"{m}: {' '.join(map(str, p + [99] if m == first else p))}"
                              for m, p in question.answer.items())
        verdict = question.check(wrong)
        assert not verdict.right
        assert verdict.expected and verdict.explanation


def test_answers_are_read_as_people_write_them():
    question = ask("groups.range", 5, 2)
    assert question.answer == {"ana": [0, 1], "dee": [2, 3], "eli": [4, 5]}
    for text in ("ana: 0 1; dee: 2 3; eli: 4 5", "eli=5,4 ana=1,0 dee=[2, 3]",
                 "ana: 0, 1\ndee: 2, 3\neli: 4, 5"):
        assert question.check(text).right, text
    assert not question.check("ana: 0 1; dee: 2 3").right           # a member forgotten
    verdict = question.check("0 1 2 3 4 5")
    assert not verdict.right and "name: partitions" in verdict.explanation
    number = ask("offsets.lag", 1, 1)
    assert number.check(f"  {number.answer} ").right
    assert number.check(f"lag = {number.answer}").right
    assert not number.check("").right and not number.check("1 2").right
    word = ask("security.request-acls", 2, 2)
    assert word.check(word.answer.replace("_", " ").lower()).right


def test_a_set_answer_of_nothing_is_read_as_people_write_it():
    question = next(q for q in (ask("offsets.crash-step", seed, 1) for seed in range(40))
                    if not q.answer)
    for text in ("none", "None.", "-", "[]", "nothing", ""):
        assert question.check(text).right, text
    assert not question.check("0").right


def test_after_the_answer_the_engine_shows_why():
    """The picture: the engine's own run (each broker's log, what was lost, the timeline
    with its simulated times), as text in the terminal and as HTML in the panel."""
    question = next(q for q in (ask("replication.acks-crash", seed, 2) for seed in range(40))
                    if q.answer)
    text = question.picture.text()
    lost = " ".join(f"[xr{n}]" for n in question.answer)
    assert f"lost      {lost}" in text, text
    assert "broker 0 crashed" in text and "elected leader" in text and " ms  " in text
    assert "x acknowledged, then lost" in text
    assert f">r{question.answer[0]}<" in question.picture.html()
    lines = []
    answers = iter(["99"])
    run(read=lambda _prompt: next(answers), write=lines.append,
        kind=question.kind, level=question.level, seed=question.seed)
    shown = "\n".join(lines)
    assert "Not quite" in shown and text in shown
    for kind in ENGINE:                 # every computed kind has one, in both forms
        for level in load_kinds()[kind].levels:
            question = ask(kind, 3, level)
            assert question.picture is not None, kind
            assert question.picture.text() and question.picture.html().startswith("<div")


def test_bad_requests_say_what_is_possible():
    with pytest.raises(ValueError, match="no drill kind 'nope'; there are: "):
        ask("nope", 1)
    with pytest.raises(ValueError, match=r"levels \[1\], not 2"):
        ask("groups.card", 1, 2)
    with pytest.raises(ValueError, match="no concept 'kafka'"):
        kinds_for("kafka")


def test_a_session_scores_each_concept_and_names_the_weakest():
    questions = [ask("offsets.lag", 1, 1), ask("groups.range", 5, 1)]
    answers = iter([typed(questions[0]), "ana: 0"])
    out = []
    session = run(read=lambda prompt: next(answers), write=out.append, kind=None,
                  rng=_Scripted(questions), count=2)
    assert [right for _, right in session.results] == [True, False]
    text = "\n".join(out)
    assert "Right: " in text and "Not quite (read as: ana: 0)" in text
    assert "offsets        1/1" in text and "groups         0/1" in text
    assert "Weakest: groups" in text
    assert "replay: kafkadojo drill --kind groups.range --level 1 --replay 5" in text


def test_a_mock_interview_stops_when_its_time_is_up():
    now = [0.0]

    def read(prompt):
        now[0] += 50            # every answer takes 50 s
        return "0"
    out = []
    session = run(read=read, write=out.append, minutes=3, clock=lambda: now[0],
                  rng=random.Random(1))
    assert any("Time is up." in line for line in out)
    # no question starts after the deadline; a flashcard takes two answers (and its rating)
    assert 2 <= len(session.results) <= 4 and 180 <= now[0] < 180 + 100
    assert len({question.concept for question, _ in session.results}) >= 2


class _Scripted:
    """Stands in for the runner's random choice: asks ``questions`` in order."""

    def __init__(self, questions):
        self.questions = list(questions)

    def choice(self, options):
        wanted = self.questions[0]
        if wanted.kind in options:
            return wanted.kind
        return wanted.concept

    def randrange(self, _):
        return self.questions.pop(0).seed


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_the_terminal_drill_in_tmux(tmp_path):
    """`kafkadojo drill` as a person uses it: the question on screen, an answer typed, the
    verdict and the score shown."""
    session = f"kafkadojo-drill-{uuid.uuid4().hex[:8]}"
    command = (f"KAFKADOJO_DATA_DIR={tmp_path} {sys.executable} -m kafkadojo.cli drill "
               f"--kind groups.range --level 2 --replay 5; sleep 30")
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "160", "-y", "40",
                    command], check=True, cwd=ROOT)
    try:
        screen = _wait_for(session, "What does the range assignor give each?")
        assert "Members ['ana', 'dee', 'eli']" in screen
        subprocess.run(["tmux", "send-keys", "-t", session, "ana: 0 1; dee: 2 3; eli: 4 5",
                        "Enter"], check=True)
        screen = _wait_for(session, "Score by concept")
        assert "Right: ana: 0 1; dee: 2 3; eli: 4 5" in screen
        assert "groups         1/1" in screen
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], check=False)


def _wait_for(session, text, timeout=30):
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = subprocess.run(["tmux", "capture-pane", "-p", "-t", session],
                                capture_output=True, text=True, check=True).stdout
        if text in screen:
            return screen
        time.sleep(0.2)
    raise AssertionError(f"{text!r} never appeared; the screen:\n{screen}")


# -- spaced repetition ---------------------------------------------------------------------------
def test_the_history_survives_a_restart_and_schedules_the_weak_kind_first(tmp_path):
    from datetime import datetime, timedelta, timezone

    from kafkadojo.exercises.drills.history import History, format_stats
    t0 = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
    history = History(tmp_path / "drills.sqlite")
    history.record(ask("groups.range", 1, 1), right=False, now=t0)     # Again: soon
    history.record(ask("offsets.lag", 1, 1), right=True, now=t0)       # Good: later
    history.close()
    history = History(tmp_path / "drills.sqlite")                      # a restart
    rng = random.Random(0)
    assert history.card("groups.range").due < history.card("offsets.lag").due
    assert history.next_kind(rng, now=t0 + timedelta(minutes=5)) == "groups.range"
    # nothing overdue yet: a kind never drilled, from a concept never drilled
    fresh = history.next_kind(rng, now=t0 + timedelta(seconds=10))
    assert fresh not in ("groups.range", "offsets.lag")
    assert load_kinds()[fresh].concept not in ("groups", "offsets")
    by_concept, days = history.stats()
    assert by_concept["groups"] == (1, 0) and by_concept["offsets"] == (1, 1)
    assert days == [("2026-12-01", 2, 1)]
    chart = format_stats(history)
    assert "2026-12-01  #. 1/2" in chart and "offsets        100%  1/1" in chart


def test_a_session_with_a_history_records_every_answer(tmp_path):
    from kafkadojo.exercises.drills.history import History
    history = History(tmp_path / "drills.sqlite")
    answers = iter(["0", "y", "0", "y", "0", "y"])
    session = run(read=lambda prompt: next(answers), write=lambda text: None, count=3,
                  rng=random.Random(2), history=history)
    reviews = history.db.execute("SELECT kind, right FROM reviews").fetchall()
    assert [kind for kind, _ in reviews] == [q.kind for q, _ in session.results]
    assert len(reviews) == len(session.results) >= 2


def test_an_unreadable_history_is_set_aside_not_fatal(tmp_path):
    from kafkadojo.exercises.drills.history import History
    path = tmp_path / "drills.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    warnings = []
    history = History(path, warn=warnings.append)
    history.record(ask("offsets.lag", 1, 1), right=True)
    assert history.stats()[0]["offsets"] == (1, 1)
    aside = [p for p in tmp_path.iterdir() if p.name.startswith("drills.sqlite.unreadable-")]
    assert len(aside) == 1 and aside[0].read_bytes().startswith(b"this is not a database")
    assert "could not be read" in warnings[0] and str(aside[0]) in warnings[0]


def test_the_command_line_keeps_the_history_where_it_is_told(tmp_path):
    env = {**__import__("os").environ, "KAFKADOJO_DATA_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "kafkadojo.cli", "drill", "--kind",
                           "offsets.lag", "--count", "2"], input="1\n2\n", text=True,
                          capture_output=True, env=env, cwd=ROOT, check=True)
    assert "Score by concept" in done.stdout
    stats = subprocess.run([sys.executable, "-m", "kafkadojo.cli", "drill", "--stats"],
                           text=True, capture_output=True, env=env, cwd=ROOT, check=True)
    assert "offsets" in stats.stdout and "/2" in stats.stdout
    assert (tmp_path / "drills.sqlite").exists()


# -- the notebook panel ---------------------------------------------------------------------------
def test_the_panel_asks_checks_and_scores_as_the_terminal_does():
    pytest.importorskip("ipywidgets")
    from kafkadojo.exercises.drills.widget import DrillPanel
    panel = DrillPanel(concept="groups", level=2, rng=random.Random(3))
    while panel.question.flashcard:
        panel.next_button.click()
    assert panel.question.concept == "groups" and panel.question.level == 2
    assert "replay: <code>kafkadojo drill --kind groups." in panel.prompt.value
    panel.answer.value = typed(panel.question)
    panel.check_button.click()
    assert "Right." in panel.feedback.value and "groups         1/1" in panel.score.value
    assert "<table" in panel.feedback.value         # the engine's picture, after the answer
    assert "display: none" in panel.widget.children[0].value    # it hides the still picture
    panel.check_button.click()                      # a second click counts nothing
    assert len(panel.session.results) == 1
    panel.next_button.click()
    while panel.question.flashcard:
        panel.next_button.click()
    panel.answer.value = "ana: 99"
    panel.check_button.click()
    assert "Not quite" in panel.feedback.value and "The engine says" in panel.feedback.value
    assert "groups         1/2" in panel.score.value
    # a flashcard: the model answer, then a self-rating
    while not panel.question.flashcard:
        panel.next_button.click()
    assert panel.ratings.layout.display == "none"
    panel.check_button.click()
    assert "Model answer:" in panel.feedback.value and panel.ratings.layout.display is None
    panel.had_it.click()
    panel.missed_it.click()                         # already rated: ignored
    assert panel.session.results[-1][1] is True and len(panel.session.results) == 3


def test_the_drills_notebook_runs_in_a_kernel(tmp_path, monkeypatch):
    """notebooks/practice/drills.ipynb, as committed (no outputs), top to bottom: the panel
    is shown, and the history goes where KAFKADOJO_DATA_DIR says."""
    nbformat = pytest.importorskip("nbformat")
    from nbclient import NotebookClient
    monkeypatch.setenv("KAFKADOJO_DATA_DIR", str(tmp_path))
    path = ROOT / "notebooks" / "practice" / "drills.ipynb"
    notebook = nbformat.read(path, as_version=4)
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {})
               for o in outputs), outputs
    assert not any(o.get("output_type") == "error" for o in outputs)
    assert (tmp_path / "drills.sqlite").exists()
    # for pages without widgets: a still picture of an answered question, which the live
    # panel hides
    still = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert any("kafkadojo-static-picture" in h and "a still picture" in h
               and "UNCLEAN election" in h for h in still), still
