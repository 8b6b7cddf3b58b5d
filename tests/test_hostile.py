"""Hostile submissions (autograder/hostile.py) on every grading path: ``kafkadojo check``,
``kafkadojo grade`` (a class, with honest learners, CSV, JSON and Gradescope) and
``nbgrader autograde``. On each path, each hostile learner loses exactly the exercise it
attacks and nothing else; honest learners keep full marks; no output shows a line of the
hidden properties or of the engine, nor the grader's environment, nor what the attacks
printed or forged; the files the attacks aim at are unchanged a few seconds after grading
(when a surviving daemon would strike); no process of a sandbox survives; and every run ends
within its time bound.

``kafkadojo`` runs as instructors run it, a process started with a canary in its
environment; nbgrader too. The attacks are aimed (``hostile.aimed``) at this test's real files: the scratch course's
gradebook and config, the honest learners' notebooks, the class's output files, the
package's ``__init__.py`` files and every site-packages, a TCP port this test listens on.
"""

import csv
import hashlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import sysconfig
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import kafkadojo
import kafkadojo.reference
from kafkadojo.autograder import grader, properties, sandbox
from kafkadojo.autograder.course import Course
from kafkadojo.autograder.grader import grade_source
from kafkadojo.autograder.hostile import HOSTILE, aimed
from kafkadojo.autograder.samples import SAMPLES, fill_notebook
from kafkadojo.autograder.sandbox import isolation
from kafkadojo.exercises.catalog import BY_GRADE_ID, BY_ID, exercises_for

REPOSITORY = Path(properties.__file__).resolve().parent.parent.parent
ENGINE = Path(kafkadojo.reference.__file__).resolve().parent
PROPERTIES_DIR = Path(properties.__file__).resolve().parent
SITES = sorted({Path(p).resolve() for p in (
    sysconfig.get_paths()["purelib"],
    sysconfig.get_paths(vars={"base": sysconfig.get_config_var("installed_base")})["purelib"])
    if Path(p).is_dir()})
PACKAGE_FILES = [Path(kafkadojo.__file__).resolve(), PROPERTIES_DIR.parent / "__init__.py",
                 PROPERTIES_DIR / "__init__.py", ENGINE / "__init__.py"]

# The slow ones cost a whole exercise budget (60 s) per path: graded once, with a small
# budget, in test_slow_answers_end_at_the_exercise_budget.
GRADED = {name: sample for name, sample in HOSTILE.items() if not sample.slow}
ASSIGNMENTS = sorted({sample.assignment for sample in GRADED.values()})
HONEST = {f"honest-{a}": SAMPLES[f"{a}-reference"] for a in ASSIGNMENTS}
EVERYONE = {**GRADED, **HONEST}
POINTS = {a: sum(e.points for e in exercises_for(a)) for a in ASSIGNMENTS}
DELAY_S = 2.0               # the daemon's sleep before it strikes
SANDBOX_UIDS = getattr(sandbox, "_UID_BASE", 1_000_000_000)    # each sandbox's uid is above

# Wall-clock bounds (s). A sample that hangs costs a per-call timeout (2 s), one that closes
# its pipes a few seconds more; nothing here should come near an exercise budget.
SAMPLE_BOUND_S = 25
CLASS_BOUND_S = 150
NBGRADER_BOUND_S = 240


def sha(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest() if Path(path).is_file() else None


def tree(root):
    """Every file under ``root`` and its hash."""
    return {str(p.relative_to(root)): sha(p) for p in sorted(Path(root).rglob("*")) if p.is_file()}


def pth_files():
    return {str(p) for site in SITES for p in site.glob("*.pth")}


# -- processes ---------------------------------------------------------------------------------

def _status(pid):
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.split()
    return fields


def _started(pid):
    """When ``pid`` started, in clock ticks since boot."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat[stat.rindex(")") + 2:].split()[19])


def ticks_now():
    return int(float(Path("/proc/uptime").read_text().split()[0]) * os.sysconf("SC_CLK_TCK"))


def survivors(marker, since):
    """Processes a sandbox left behind: any process carrying ``marker`` (the daemon and the
    fork bomb name themselves after it), any process of a sandbox uid still under this test
    process, and any sandbox-uid process started since ``since`` that no bubblewrap holds
    (an escaped orphan)."""
    me = os.getpid()
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        try:
            status = _status(pid)
            comm = Path(f"/proc/{pid}/comm").read_text().strip()
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode("utf-8", "replace")
            table[pid] = (int(status["Uid"][0]), int(status["PPid"][0]), comm, cmdline,
                          _started(pid))
        except (OSError, KeyError, ValueError, IndexError):
            continue

    def under_me(pid):
        for _ in range(64):
            if pid == me:
                return True
            if pid not in table or pid <= 1:
                return False
            pid = table[pid][1]
        return False

    left = []
    for pid, (uid, ppid, comm, cmdline, started) in table.items():
        parent = table.get(ppid)
        if marker in comm or marker in cmdline:
            left.append((pid, started, "carries the marker", comm))
        elif uid >= SANDBOX_UIDS and under_me(pid):
            left.append((pid, started, "a sandbox process still under the grader", comm))
        elif (uid >= SANDBOX_UIDS and started >= since and comm != "bwrap"
              and (parent is None or parent[0] < SANDBOX_UIDS)):
            left.append((pid, started, "a sandbox-uid process outside any bubblewrap", comm))
    return left


def kill_marked(marker):
    """Cleanup: only processes this test's samples started (they carry its marker)."""
    for pid, _started, why, _comm in survivors(marker, since=1 << 62):
        if why == "carries the marker":
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


# -- the arena ---------------------------------------------------------------------------------

class Listener:
    """A TCP server on 127.0.0.1 that records whoever connects."""

    def __init__(self):
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(64)
        self.socket.settimeout(0.2)
        self.port = self.socket.getsockname()[1]
        self.connections = []
        self.running = True
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while self.running:
            try:
                connection, peer = self.socket.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            connection.settimeout(0.5)
            try:
                data = connection.recv(1024)
            except OSError:
                data = b""
            self.connections.append((peer, data))
            connection.close()

    def close(self):
        self.running = False
        self.thread.join(2)
        self.socket.close()


@dataclass
class Arena:
    base: Path
    marker: str
    canary: str
    listener: Listener
    course: Course
    class_dir: Path
    outputs: Path
    samples: dict
    since: int                              # clock ticks: when the arena was set up
    package: list = field(default_factory=list)     # the package's own files (aimed at)
    pths: set = field(default_factory=set)

    def released(self, assignment):
        return self.course.release_notebook(assignment)

    def notebook(self, name):
        sample = self.samples[name]
        return fill_notebook(self.released(sample.assignment), sample.source())


def allow_unisolated_args():
    """The instructor's opt-in, only where this machine cannot isolate (then many of these
    tests fail, as they should: the attacks get through)."""
    return [] if isolation().tamper_proof else ["--allow-unisolated"]


@pytest.fixture(scope="module")
def arena(tmp_path_factory):
    base = tmp_path_factory.mktemp("hostile")
    token = secrets.token_hex(4)
    marker, canary = f"kdh{token}", f"secret-{token}"
    saved_env = os.environ.get("KAFKADOJO_CANARY")
    os.environ["KAFKADOJO_CANARY"] = canary          # the grading process's environment
    listener = Listener()
    course = Course.scratch(base / "course")
    if not isolation().tamper_proof and "allow_unisolated" not in (
            course.root / "nbgrader_config.py").read_text():
        with open(course.root / "nbgrader_config.py", "a") as config:
            config.write("\nc.KafkadojoGrades.allow_unisolated = True\n")
    course.release(ASSIGNMENTS)
    class_dir, outputs = base / "class" / "submitted", base / "out"
    outputs.mkdir()
    honest_notebooks = [root / student / a / f"{a}.ipynb" for root in (course.root / "submitted",
                                                                       class_dir)
                        for student, sample in HONEST.items() for a in [sample.assignment]]
    aim = {
        "read": [str(course.root / "source" / a / f"{a}.ipynb") for a in ASSIGNMENTS]
                + [str(p) for p in honest_notebooks]
                + [str(course.root / "gradebook.db"), str(course.root / "nbgrader_config.py")],
        "roots": [str(REPOSITORY)],
        "write": [str(course.root / "gradebook.db"), str(course.root / "nbgrader_config.py"),
                  *map(str, honest_notebooks), *(str(outputs / name) for name in
                                                 ("grades.csv", "grades.json", "results.json")),
                  *map(str, PACKAGE_FILES)],
        "site": [str(site) for site in SITES],
        "port": listener.port, "marker": marker, "delay": DELAY_S,
    }
    samples = {name: aimed(sample, **aim) for name, sample in EVERYONE.items()}
    arena = Arena(base, marker, canary, listener, course, class_dir, outputs, samples,
                  since=ticks_now(), package=list(PACKAGE_FILES),
                  pths=pth_files())
    try:
        yield arena
    finally:
        listener.close()
        kill_marked(marker)
        for path in arena.package:       # undo a successful attack: only what it appended
            text = path.read_bytes()
            if marker.encode() in text:
                path.write_bytes(text.replace(f"\n# {marker}\n".encode(), b""))
        for path in pth_files() - arena.pths:
            if marker in Path(path).name:
                os.unlink(path)
        if saved_env is None:
            os.environ.pop("KAFKADOJO_CANARY", None)
        else:
            os.environ["KAFKADOJO_CANARY"] = saved_env


@dataclass
class Run:
    """One grading path's results: per learner, the points of each exercise; everything it
    printed or wrote that a learner or an instructor reads; what it took."""
    path: str
    scores: dict = field(default_factory=dict)      # learner -> {exercise id: (earned, points)}
    texts: dict = field(default_factory=dict)       # learner -> feedback text
    output: str = ""                                # stdout, stderr, logs
    seconds: dict = field(default_factory=dict)     # learner (or "all") -> wall clock
    reports: dict = field(default_factory=dict)     # learner -> report dict, where there is one
    changed: dict = field(default_factory=dict)     # file -> (hash before, hash after the delay)
    survivors: list = field(default_factory=list)
    codes: dict = field(default_factory=dict)       # learner (or run) -> exit status


def after_the_delay(arena, run, watched):
    """Wait past the daemon's delay, then: what changed, and what survived."""
    before = {path: sha(path) for path in watched}
    first = survivors(arena.marker, arena.since)
    time.sleep(DELAY_S + 1.5)
    second = survivors(arena.marker, arena.since)
    # A marked process counts whenever it shows; another, only if it is still there later
    # (not a sandbox some other grader on this machine is just starting).
    run.survivors = sorted({s for s in first + second if s[2] == "carries the marker"}
                           | (set(first) & set(second)))
    run.changed = {path: (hash_, sha(path)) for path, hash_ in before.items()
                   if sha(path) != hash_}


def exercise_scores(report):
    return {e["id"]: (e["earned"], e["points"]) for e in report["exercises"]}


def kafkadojo_cli(arena, *args):
    """``kafkadojo ARGS`` (``kafkadojo.cli.main``) as the instructor runs it: a process of
    its own, started with the canary in its environment (so /proc/PID/environ shows it to
    anyone who can read it there), in the arena's folder. Returns (status, stdout, stderr)."""
    env = {**os.environ, "KAFKADOJO_CANARY": arena.canary}
    result = subprocess.run([sys.executable, "-m", "kafkadojo.cli", *args], cwd=arena.base,
                            env=env, capture_output=True, text=True, errors="replace",
                            timeout=NBGRADER_BOUND_S)
    return result.returncode, result.stdout, result.stderr


@pytest.fixture(scope="module")
def checked(arena):
    """(a) ``kafkadojo check FILE --assignment A --json``, two learners at a time."""
    run = Run("kafkadojo check")
    folder = arena.base / "check"
    folder.mkdir()

    def check(name):
        sample = arena.samples[name]
        path = folder / f"{name}.py"
        path.write_text(sample.source())
        started = time.monotonic()
        code, out, err = kafkadojo_cli(arena, "check", str(path), "--assignment",
                                       sample.assignment, "--json")
        return name, code, out, err, time.monotonic() - started

    with ThreadPoolExecutor(2) as pool:
        for name, code, out, err, seconds in pool.map(check, arena.samples):
            run.seconds[name] = seconds
            run.output += out + err
            try:
                report = json.loads(out)
            except ValueError:
                report = {"exercises": [], "unparsable": out[:2000]}
            run.reports[name] = report
            run.scores[name] = exercise_scores(report)
            run.texts[name] = out + err
            run.codes[name] = code
    after_the_delay(arena, run, [])
    return run


@pytest.fixture(scope="module")
def classroom(arena):
    """(b) ``kafkadojo grade DIR --jobs 2 --csv --json`` on the whole class, then
    ``--gradescope`` for one hostile learner."""
    run = Run("kafkadojo grade")
    for name, sample in arena.samples.items():
        folder = arena.class_dir / name / sample.assignment
        folder.mkdir(parents=True)
        (folder / f"{sample.assignment}.ipynb").write_text(json.dumps(arena.notebook(name)))
    submitted = tree(arena.class_dir)
    grades_csv, grades_json = arena.outputs / "grades.csv", arena.outputs / "grades.json"
    started = time.monotonic()
    code, out, err = kafkadojo_cli(arena, "grade", str(arena.class_dir), "--jobs", "2",
                                   "--quiet", "--csv", str(grades_csv), "--json",
                                   str(grades_json), *allow_unisolated_args())
    run.seconds["all"] = time.monotonic() - started
    run.codes["class"] = code
    run.output += out + err
    if code != 0:
        raise AssertionError(f"kafkadojo grade failed ({code}):\n{err[-3000:]}")
    rows = json.loads(grades_json.read_text())
    for row in rows:
        report = row["report"] or {"exercises": []}
        run.reports[row["student"]] = report
        run.scores[row["student"]] = exercise_scores(report)
        run.texts[row["student"]] = json.dumps(row)
    run.output += grades_csv.read_text()
    run.csv = list(csv.DictReader(grades_csv.open()))

    one = "hostile-forged-report"
    results = arena.outputs / "results.json"
    started = time.monotonic()
    code, out, err = kafkadojo_cli(arena, "grade", str(arena.class_dir / one / "offsets" /
                                                       "offsets.ipynb"),
                                   "--assignment", "offsets", "--quiet", "--gradescope",
                                   str(results), *allow_unisolated_args())
    run.seconds["gradescope"] = time.monotonic() - started
    run.codes["gradescope"] = code
    if code != 0:
        raise AssertionError(f"kafkadojo grade --gradescope failed ({code}):\n{err[-3000:]}")
    run.output += out + err + results.read_text()
    run.gradescope = json.loads(results.read_text())
    after_the_delay(arena, run, [grades_csv, grades_json, results,
                                 *(arena.class_dir / p for p in submitted)])
    run.changed.update({f"submitted/{p}": (h, sha(arena.class_dir / p))
                        for p, h in submitted.items() if sha(arena.class_dir / p) != h})
    run.new_files = sorted(set(tree(arena.class_dir)) - set(submitted)) + sorted(
        p.name for p in arena.outputs.iterdir()
        if p.name not in ("grades.csv", "grades.json", "results.json"))
    return run


def gradebook_cells(course):
    """``{student: {exercise id: (earned, points)}}`` from nbgrader's gradebook."""
    from nbgrader.api import Gradebook
    out = {}
    with Gradebook(f"sqlite:///{course.root / 'gradebook.db'}") as gradebook:
        for student in gradebook.students:
            for assignment in gradebook.assignments:
                try:
                    submission = gradebook.find_submission(assignment.name, student.id)
                except Exception:       # noqa: BLE001 - MissingEntry: not this assignment
                    continue
                out[student.id] = {BY_GRADE_ID[g.name].id: (g.score, g.max_score)
                                   for nb in submission.notebooks for g in nb.grades
                                   if g.name in BY_GRADE_ID}
    return out


def grade_cell_outputs(notebook_path):
    """What the grade cells of an autograded notebook show (not the learner's own code)."""
    notebook = json.loads(Path(notebook_path).read_text())
    texts = []
    for cell in notebook["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade"):
            for output in cell.get("outputs", []):
                texts.append(output.get("text", "") if isinstance(output.get("text"), str)
                             else "".join(output.get("text", [])))
                plain = output.get("data", {}).get("text/plain", "")
                texts.append(plain if isinstance(plain, str) else "".join(plain))
    return "\n".join(texts)


@pytest.fixture(scope="module")
def nbgraded(arena):
    """(c) ``nbgrader autograde`` on the scratch course: every learner submits, then each
    assignment is autograded."""
    run = Run("nbgrader autograde")
    course = arena.course
    config = sha(course.root / "nbgrader_config.py")
    for name, sample in arena.samples.items():
        course.submit(name, sample.assignment, arena.notebook(name))
    submitted = tree(course.root / "submitted")
    started = time.monotonic()
    for assignment in ASSIGNMENTS:
        result = course.nbgrader("autograde", assignment, "--force")
        run.output += result.stdout + result.stderr
    run.seconds["all"] = time.monotonic() - started
    log = course.root / ".nbgrader.log"
    run.output += log.read_text(errors="replace") if log.exists() else ""
    run.scores = gradebook_cells(course)
    for name, sample in arena.samples.items():
        graded = course.root / "autograded" / name / sample.assignment / f"{sample.assignment}.ipynb"
        run.texts[name] = grade_cell_outputs(graded) if graded.exists() else ""
    watched = [course.root / "gradebook.db", course.root / "nbgrader_config.py",
               *(course.root / "submitted" / p for p in submitted)]
    listing = tree(course.root)
    after_the_delay(arena, run, watched)
    if sha(course.root / "nbgrader_config.py") != config:
        run.changed["nbgrader_config.py (since before autograde)"] = (config, "changed")
    run.changed.update({f"submitted/{p}": (h, sha(course.root / "submitted" / p))
                        for p, h in submitted.items()
                        if sha(course.root / "submitted" / p) != h})
    run.new_files = sorted(set(tree(course.root)) - set(listing))
    return run


PATHS = ["checked", "classroom", "nbgraded"]


@pytest.fixture(params=PATHS)
def run(request):
    return request.getfixturevalue(request.param)


# -- grades ------------------------------------------------------------------------------------

def test_each_hostile_learner_loses_exactly_its_attacked_exercises(run, arena):
    wrong = {}
    for name, sample in GRADED.items():
        scores = run.scores.get(name)
        if not scores:
            wrong[name] = "no grade at all"
            continue
        lost = {exercise for exercise, (earned, points) in scores.items() if earned < points}
        attacked = sum(BY_ID[e].points for e in sample.expected_failures)
        earned = sum(earned for earned, _ in scores.values())
        if (lost != set(sample.expected_failures) or set(scores) != {
                e.id for e in exercises_for(sample.assignment)}
                or earned != POINTS[sample.assignment] - attacked):
            wrong[name] = f"lost {sorted(lost)}, earned {earned}/{POINTS[sample.assignment]}"
    assert not wrong, f"{run.path}: {json.dumps(wrong, indent=1)}"


def test_check_exits_1_for_lost_points_and_0_for_full_marks(checked):
    wrong = {name: code for name, code in checked.codes.items()
             if code != (0 if name in HONEST else 1)}
    assert not wrong, f"exit statuses: {wrong}"


def test_honest_learners_keep_full_marks(run):
    for name, sample in HONEST.items():
        scores = run.scores.get(name)
        assert scores, f"{run.path}: {name} got no grade"
        assert sum(e for e, _ in scores.values()) == POINTS[sample.assignment], (
            f"{run.path}: {name}: {scores}")


def test_reports_say_the_code_was_isolated(run):
    if run.path == "nbgrader autograde":
        texts = [run.texts[name] for name in EVERYONE]
        assert all("bubblewrap:" in text for text in texts if text), "nbgrader feedback"
        return
    for name, report in run.reports.items():
        assert report.get("tamper_proof") is True, f"{run.path}: {name}: {report.get('isolation')}"


# -- what shows -----------------------------------------------------------------------------------

def hidden_lines(learner_source):
    """Distinctive lines of the hidden properties and the engine the learner did not write."""
    mine = {line.strip() for line in learner_source.splitlines()}
    lines = set()
    for path in [*PROPERTIES_DIR.glob("*.py"), *ENGINE.glob("*.py")]:
        for line in path.read_text().splitlines():
            line = line.strip()
            if (len(line) > 30 and not line.startswith(("#", '"""', "from ", "import ", ">>>"))
                    and line not in mine):
                lines.add(line)
    return lines


@pytest.fixture(scope="module")
def secrets_of(arena):
    cache = {}

    def of(name):
        if name not in cache:
            cache[name] = hidden_lines(arena.samples[name].source())
        return cache[name]
    return of


def test_no_output_shows_the_hidden_tests_the_engine_or_the_graders_environment(run, arena,
                                                                             secrets_of):
    for name in EVERYONE:
        text = run.texts.get(name, "")
        leaked = [line for line in secrets_of(name) if line in text]
        assert not leaked, f"{run.path}: {name}'s feedback shows hidden lines: {leaked[:3]}"
    everything = run.output + "".join(run.texts.values()) + json.dumps(
        getattr(run, "gradescope", {}))
    assert arena.canary not in everything, f"{run.path}: the grader's environment leaked"
    assert "KAFKADOJO_CANARY" not in everything
    assert arena.marker not in everything, (
        f"{run.path}: what a hostile learner printed or forged reached the output")
    assert str(REPOSITORY) not in "".join(run.texts.values()), (
        f"{run.path}: a path of the grader shows in feedback")


def test_feedback_stays_small(run):
    for name, text in run.texts.items():
        assert len(text) < 500_000, f"{run.path}: {name}'s feedback is {len(text):,} characters"


def test_the_class_outputs_agree_and_gradescope_scores_the_one(classroom):
    earned = {}
    for row in classroom.csv:
        earned[row["student"]] = earned.get(row["student"], 0) + int(row["earned"])
    assert earned == {name: sum(e for e, _ in scores.values())
                      for name, scores in classroom.scores.items()}
    data = classroom.gradescope
    sample = GRADED["hostile-forged-report"]
    failed = {t["name"].split(":")[0] for t in data["tests"] if t["score"] < t["max_score"]}
    assert failed == set(sample.expected_failures), data
    assert data["score"] == POINTS["offsets"] - sum(BY_ID[e].points for e in sample.expected_failures)


# -- what stays as it was ---------------------------------------------------------------------------

def test_files_the_attacks_aim_at_are_unchanged(run, arena):
    assert not run.changed, f"{run.path}: changed by a hostile learner: {sorted(run.changed)}"
    assert not getattr(run, "new_files", []), f"{run.path}: new files: {run.new_files}"
    assert pth_files() == arena.pths, "a .pth file appeared in a site-packages"
    # Others may edit the package in this checkout meanwhile: what counts is the marker.
    marked = [str(p) for p in arena.package if arena.marker.encode() in p.read_bytes()]
    assert not marked, f"a hostile learner wrote into the package: {marked}"


def test_no_connection_reached_the_graders_network(run, arena):
    assert not arena.listener.connections, (
        f"{run.path}: a sandbox connected to 127.0.0.1:{arena.listener.port}: "
        f"{arena.listener.connections}")


def test_no_process_of_a_sandbox_survives(run, arena):
    assert not run.survivors, f"{run.path}: left running: {run.survivors}"
    marked = [s for s in survivors(arena.marker, arena.since) if s[2] == "carries the marker"]
    assert not marked, f"{run.path}: still running: {marked}"


def test_every_run_ends_within_its_bound(run):
    bound = grader.EXERCISE_BUDGET_S + grader.CHILD_GRACE_S
    for name, report in run.reports.items():
        for exercise in report.get("exercises", []):
            assert exercise["seconds"] <= bound, f"{run.path}: {name}: {exercise['id']}"
    if run.path == "kafkadojo check":
        slow = {n: round(s, 1) for n, s in run.seconds.items() if s > SAMPLE_BOUND_S}
        assert not slow, f"kafkadojo check took too long on {slow}"
    elif run.path == "kafkadojo grade":
        assert run.seconds["all"] < CLASS_BOUND_S, run.seconds
        assert run.seconds["gradescope"] < SAMPLE_BOUND_S, run.seconds
    else:
        assert run.seconds["all"] < NBGRADER_BOUND_S, run.seconds


# -- the slow ones, once, with a small budget ---------------------------------------------------------

@pytest.mark.parametrize("name", [n for n, s in HOSTILE.items() if s.slow])
def test_slow_answers_end_at_the_exercise_budget(name):
    """Answers that each take just under the per-call timeout: without a budget per exercise
    one property would take minutes; with one, the exercise ends at its budget and fails."""
    sample = HOSTILE[name]
    budget = 4.0
    started = time.monotonic()
    report = grade_source(sample.source(), [e.id for e in exercises_for(sample.assignment)],
                          budget_s=budget)
    elapsed = time.monotonic() - started
    lost = {e.id for e in report.exercises if e.earned < e.points}
    assert lost == set(sample.expected_failures), report.format()
    slowest = max(e.seconds for e in report.exercises)
    assert slowest <= budget + grader.CHILD_GRACE_S, report.format()
    assert elapsed < len(report.exercises) * budget + 2 * grader.CHILD_GRACE_S
    attacked = [e for e in report.exercises if e.id in sample.expected_failures]
    assert any(p.anomaly in ("time-budget", "timeout") for e in attacked for p in e.properties)
