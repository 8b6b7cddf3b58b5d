"""The sandbox from the inside: small functions run in the worker (``Sandbox(source)``) and
report what they can reach. The engine, the grader, the course, site-packages, /root and
the grader's environment are out of sight; the worker is not root and not the grader's
user; there is no network; its working directory is empty and its own; nothing it starts
outlives it; memory, CPU, file size and process counts are limited.

These tests need operating-system isolation and FAIL (never skip) without it: a course
graded without isolation is not acceptable in CI.
"""

import os
import secrets
import signal
import socket
import subprocess
import sys
import sysconfig
import threading
import time
from pathlib import Path

import pytest

import kafkadojo.reference
from kafkadojo.autograder import properties
from kafkadojo.autograder.sandbox import Sandbox, Unit, isolation

ENGINE = Path(kafkadojo.reference.__file__).resolve().parent
GRADER = Path(properties.__file__).resolve().parent.parent
COURSE = GRADER.parent / "notebooks"
VENV_SITE = Path(sysconfig.get_paths()["purelib"]).resolve()
BASE_SITE = Path(sysconfig.get_paths(vars={"base": sysconfig.get_config_var("installed_base")})
                 ["purelib"]).resolve()
PROPERTIES_DIR = Path(properties.__file__).parent
# The base interpreter's own packages: pyenv's or python.org's site-packages, Debian's
# dist-packages (those that exist here).
BASE_SITES = sorted({p for p in (BASE_SITE, Path("/usr/lib/python3/dist-packages"),
                                 Path(f"/usr/local/lib/python{sys.version_info[0]}."
                                      f"{sys.version_info[1]}/dist-packages")) if p.is_dir()})


@pytest.fixture(autouse=True)
def isolated():
    found = isolation()
    if not found.tamper_proof:
        pytest.fail(f"no operating-system isolation on this machine ({found.detail}): a course "
                    "graded without it is not acceptable in CI. Install bubblewrap on a machine "
                    "with user namespaces (make test does, as root).", pytrace=False)
    return found


def call(source, function, *args, **options):
    with Sandbox(source, **options) as sandbox:
        outcome = sandbox.call(function, *args)
    assert outcome.ok, f"{function} did not return: {outcome.describe()}"
    return outcome.value


def host_processes(marker):
    """Host pids whose name (comm) or command line holds ``marker``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            comm = Path(f"/proc/{entry}/comm").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().decode("utf-8", "replace")
        except OSError:
            continue
        if marker in comm or marker in cmdline:
            found.append(int(entry))
    return found


def host_uid(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return [int(n) for n in line.split()[1:]]
    raise AssertionError(f"no Uid line for {pid}")


def running(marker):
    """``host_processes(marker)`` that still run: not zombies left for a parent to wait for."""
    found = []
    for pid in host_processes(marker):
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
        except (OSError, IndexError):
            continue
        if state not in "ZX":
            found.append(pid)
    return found


def wait_until_gone(marker, seconds=3.0):
    end = time.monotonic() + seconds
    while running(marker) and time.monotonic() < end:
        time.sleep(0.05)
    return running(marker)


def kill_leftovers(pids):
    """Clean up after a failed test: only the processes it started (found by its marker)."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


# -- what it can read --------------------------------------------------------------------------

PROBE = r'''
import os

def probe(paths):
    """For each path: what listing it, reading it, or reaching it another way gave."""
    seen = {}
    for path in paths:
        got = []
        for how, target in (("path", path), ("/proc/self/root", "/proc/self/root" + path),
                            ("/proc/1/root", "/proc/1/root" + path),
                            ("relative to /", "../" * 12 + path.lstrip("/"))):
            try:
                got.append(f"{how}: listed {sorted(os.listdir(target))[:5]}")
            except OSError:
                pass
            try:
                with open(target, "rb") as handle:
                    got.append(f"{how}: read {handle.read(80)!r}")
            except OSError:
                pass
        try:
            fd = os.open(os.path.dirname(path), os.O_RDONLY | os.O_DIRECTORY)
            try:
                with open(os.path.basename(path), "rb", opener=lambda name, flags: os.open(
                        name, flags, dir_fd=fd)) as handle:
                    got.append(f"dir fd: read {handle.read(80)!r}")
            finally:
                os.close(fd)
        except OSError:
            pass
        seen[path] = [line for line in got if "listed []" not in line]
    return seen
'''


def test_the_engine_grader_course_and_site_packages_are_out_of_sight():
    secret = {
        "the engine": [ENGINE, ENGINE / "cluster.py", ENGINE / "monitoring.py"],
        "the grader": [GRADER, GRADER / "properties", PROPERTIES_DIR / "offsets.py",
                       GRADER / "grader.py"],
        "the course": [COURSE, COURSE / "nbgrader_config.py",
                       COURSE / "source" / "offsets" / "offsets.ipynb"],
        "the venv's site-packages": [VENV_SITE, *sorted(VENV_SITE.glob("__editable__*"))[:2],
                                     VENV_SITE / "hypothesis" / "__init__.py"],
        "the base interpreter's site-packages": BASE_SITES,
        "the repository": [GRADER.parent, GRADER.parent / "pyproject.toml"],
    }
    assert BASE_SITES, "the test's premise: the base interpreter has a package folder"
    paths = [str(p) for group in secret.values() for p in group]
    for path in paths:
        assert os.path.exists(path), f"the test's premise: {path} exists on the host"
    seen = call(PROBE, "probe", paths)
    reached = {what: {str(p): seen[str(p)] for p in group if seen[str(p)]}
               for what, group in secret.items()}
    assert not any(reached.values()), f"the sandbox reaches: {reached}"


def test_root_home_and_the_hosts_tmp_are_out_of_sight(tmp_path):
    canary = Path("/tmp") / f"kafkadojo-canary-{secrets.token_hex(4)}"
    canary.write_text("the host's /tmp")
    try:
        homes = [p for p in ("/root", "/root/.bashrc", "/root/.profile", "/home", "/etc/passwd",
                             "/etc/shadow") if os.path.exists(p)]
        seen = call(PROBE, "probe", [*homes, str(canary), str(tmp_path)])
    finally:
        canary.unlink()
    assert not any(seen.values()), f"the sandbox reaches: { {k: v for k, v in seen.items() if v} }"


def test_the_graders_environment_and_processes_are_out_of_sight(monkeypatch):
    canary = f"secret-{secrets.token_hex(6)}"
    monkeypatch.setenv("KAFKADOJO_CANARY", canary)
    # /proc/PID/environ shows what a process started with: a grader started with the canary.
    grader = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"],
                              env={**os.environ, "KAFKADOJO_CANARY": canary})
    source = r'''
import os

def look(grader_pid):
    texts = [repr(dict(os.environ))]
    pids = [p for p in os.listdir("/proc") if p.isdigit()]
    for pid in {*pids, str(grader_pid), "1"}:
        for name in ("environ", "cmdline", "cwd"):
            try:
                if name == "cwd":
                    texts.append(os.readlink(f"/proc/{pid}/cwd"))
                else:
                    with open(f"/proc/{pid}/{name}", "rb") as handle:
                        texts.append(handle.read().decode("utf-8", "replace"))
            except OSError:
                pass
    return pids, "\n".join(texts)
'''
    try:
        pids, text = call(source, "look", grader.pid)
    finally:
        grader.kill()
        grader.wait()
    assert canary not in text, "the grader's environment is readable in the sandbox"
    assert "KAFKADOJO_CANARY" not in text
    assert str(GRADER.parent) not in text, "a path of the grader shows in the sandbox's /proc"
    assert len(pids) <= 4, f"the sandbox sees processes that are not its own: {pids}"


def test_the_worker_is_neither_root_nor_the_graders_user():
    marker = f"kdsb{secrets.token_hex(4)}"
    source = f'''
import os

def who():
    with open("/proc/self/comm", "w") as comm:
        comm.write({marker!r})
    return os.getuid(), os.geteuid(), os.getgid(), os.getgroups()
'''
    with Sandbox(source) as sandbox:
        outcome = sandbox.call("who")
        assert outcome.ok, outcome.describe()
        uid, euid, gid, groups = outcome.value
        on_host = host_processes(marker)
        uids = {pid: host_uid(pid) for pid in on_host}
    assert 0 not in (uid, euid, gid) and os.getuid() not in (uid, euid), outcome.value
    assert on_host, "the test's premise: the worker shows in the host's process table"
    for pid, ids in uids.items():
        assert 0 not in ids, f"seen from the host, the sandbox runs as root: {ids}"
        if os.geteuid() == 0:
            # a root grader gives each sandbox a uid of its own
            assert os.getuid() not in ids, f"the sandbox runs as the grader's uid: {ids}"
        else:
            # an unprivileged user namespace can map only the grader's own uid: the host
            # sees that one, and the namespaces, not the uid, keep the sandbox apart
            assert set(ids) == {os.getuid()}, ids
    assert not wait_until_gone(marker)


# -- what it can reach ---------------------------------------------------------------------------

def test_no_network_not_even_the_graders_loopback():
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.setblocking(False)
    port = server.getsockname()[1]
    source = r'''
import socket

def connect(port):
    reached = []
    for host, p in (("127.0.0.1", port), ("1.1.1.1", 53), ("8.8.8.8", 443)):
        try:
            with socket.create_connection((host, p), timeout=1.0) as conn:
                conn.sendall(b"hello from the sandbox")
                reached.append(f"{host}:{p}")
        except OSError:
            pass
    try:
        reached.append("dns: " + socket.gethostbyname("example.com"))
    except OSError:
        pass
    names = [name for _, name in socket.if_nameindex()]
    return reached, names
'''
    try:
        started = time.monotonic()
        reached, interfaces = call(source, "connect", port, call_timeout_s=10)
        elapsed = time.monotonic() - started
        try:
            connection, _ = server.accept()
            connection.close()
            accepted = True
        except BlockingIOError:
            accepted = False
    finally:
        server.close()
    assert not reached and not accepted, f"the sandbox reached the network: {reached}"
    assert set(interfaces) <= {"lo"}, f"the sandbox has network interfaces {interfaces}"
    assert elapsed < 5, "with no network, connecting fails at once (not after timeouts)"


def test_the_working_directory_is_empty_and_private():
    marker = f"note-{secrets.token_hex(4)}"
    source = f'''
import os

def look_and_write():
    seen = (os.getcwd(), sorted(os.listdir(".")), sorted(os.listdir("/tmp")))
    for path in ("{marker}", "/tmp/{marker}.txt"):
        with open(path, "w") as handle:
            handle.write("left behind")
    return seen
'''
    first = call(source, "look_and_write")
    second = call(source, "look_and_write")
    assert first[1] == [] and first[2] == [], f"the sandbox starts with files: {first}"
    assert second == first, f"a file written by one sandbox is seen by the next: {second}"
    assert not Path(f"/tmp/{marker}.txt").exists() and not Path(marker).exists()


# -- what it can leave behind, and its limits ------------------------------------------------------

def test_processes_a_call_starts_end_with_the_call():
    """A double-forked daemon that ignores signals, a plain child left running and a child
    forked by a thread: all are killed when the call that started them returns, and the
    sandbox goes on. (Stopping a
    sandbox kills its whole pid namespace too: test_hostile's daemons.)"""
    marker = f"kdd{secrets.token_hex(4)}"
    source = f'''
import os, signal, threading, time

def name_me():
    with open("/proc/self/comm", "w") as comm:
        comm.write({marker!r})

def daemonize():
    first = os.fork()
    if first == 0:
        os.setsid()
        if os.fork() == 0:
            for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
                signal.signal(sig, signal.SIG_IGN)
            name_me()
            time.sleep(60)
        os._exit(0)
    os.waitpid(first, 0)
    if os.fork() == 0:
        name_me()
        time.sleep(60)
    threading.Thread(target=fork_from_a_thread, daemon=True).start()
    time.sleep(0.5)
    return "forked"

def fork_from_a_thread():
    if os.fork() == 0:
        name_me()
        time.sleep(60)
    time.sleep(60)

def still_here():
    return "here"
'''
    seen, calling = set(), threading.Event()

    def watch():
        while calling.is_set():
            seen.update(host_processes(marker))
            time.sleep(0.02)

    sandbox = Sandbox(source)
    try:
        sandbox.start()
        calling.set()
        watcher = threading.Thread(target=watch)
        watcher.start()
        outcome = sandbox.call("daemonize")
        calling.clear()
        watcher.join()
        left = wait_until_gone(marker, seconds=1.0)
        after = sandbox.call("still_here")
        restarts = sandbox.restarts
    finally:
        sandbox.stop()
    kill_leftovers(left + wait_until_gone(marker))
    assert outcome.ok, outcome.describe()
    assert len(seen) >= 3, "the test's premise: the three processes ran during the call"
    assert not left, f"processes outlived the call that started them: pids {left}"
    assert after.ok and after.value == "here" and restarts == 0


def test_processes_and_threads_are_limited():
    marker = f"kdf{secrets.token_hex(4)}"
    source = f'''
import os, threading, time

def spawn(count):
    with open("/proc/self/comm", "w") as comm:
        comm.write({marker!r})
    forks = threads = 0
    for _ in range(count):
        try:
            if os.fork() == 0:
                time.sleep(60)
                os._exit(0)
            forks += 1
        except OSError:
            break
    for _ in range(count):
        try:
            threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
            threads += 1
        except (RuntimeError, OSError):
            break
    return forks, threads
'''
    sandbox = Sandbox(source, call_timeout_s=10)
    try:
        outcome = sandbox.call("spawn", 100)
    finally:
        sandbox.stop()
    left = wait_until_gone(marker)
    kill_leftovers(left)
    assert outcome.ok, outcome.describe()
    forks, threads = outcome.value
    assert forks < 10 and threads < 10, f"the sandbox started {forks} processes and {threads} threads"
    assert not left, f"processes outlived their sandbox: {left}"


def test_memory_cpu_and_file_size_are_limited():
    source = r'''
import resource

def allocate(mb):
    try:
        hoard = bytearray(mb << 20)
        return "allocated", len(hoard)
    except MemoryError:
        return "refused", 0

def raise_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    try:
        resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        return "raised"
    except (ValueError, OSError):
        return "refused"

def write(mb):
    try:
        with open("/tmp/big", "wb") as handle:
            for _ in range(mb):
                handle.write(b"x" * (1 << 20))
        return "written"
    except OSError:
        return "refused"

def spin():
    while True:
        pass
'''
    with Sandbox(source, memory_mb=256) as sandbox:
        assert sandbox.call("allocate", 16).value[0] == "allocated"
        assert sandbox.call("allocate", 1024).value == ["refused", 0] or \
            sandbox.call("allocate", 1024).value == ("refused", 0)
        assert sandbox.call("raise_limit").value == "refused"
        outcome = sandbox.call("write", 64)
        assert outcome.kind == "crashed" or outcome.value == "refused", outcome.describe()
    with Sandbox(source, cpu_s=1, call_timeout_s=10) as sandbox:
        started = time.monotonic()
        outcome = sandbox.call("spin")
    assert outcome.kind == "crashed" and "CPU" in outcome.detail, outcome.describe()
    assert time.monotonic() - started < 6


# -- the classic escapes, as outcomes ---------------------------------------------------------------

def test_hostile_code_is_contained():
    source = """
import os, sys, signal
def hang():
    while True:
        try:
            pass
        except BaseException:
            pass
def leave(): sys.exit(0)
def vanish(): os._exit(3)
class Yes:
    def __eq__(self, other): return True
def liar(): return Yes()
def cheat(): import kafkadojo.reference.replication
def peek(): return open(PATH).read()
def kill_grader():
    os.kill(os.getppid(), signal.SIGKILL)
    return os.getppid()
def hog(): return len(bytearray(4_000_000_000))
def fine(): return [1, (2, b"x")]
""".replace("PATH", repr(str(PROPERTIES_DIR / "replication.py")))
    with Sandbox(source, call_timeout_s=0.5, memory_mb=256) as sandbox:
        kinds = {name: sandbox.call(name).kind for name in
                 ("hang", "fine", "leave", "vanish", "liar", "cheat", "peek", "hog", "fine")}
        assert kinds == {"hang": "timeout", "fine": "returned", "leave": "raised",
                         "vanish": "crashed", "liar": "bad-return", "cheat": "raised",
                         "peek": "raised", "hog": "raised"}
        assert sandbox.call("fine").value == [1, (2, b"x")]
        assert "FileNotFoundError" in sandbox.call("peek").detail
        assert "ModuleNotFoundError" in sandbox.call("cheat").detail
        killed = sandbox.call("kill_grader")
        # Its parent is the sandbox's own init, in a pid namespace of its own: the signal
        # reaches nothing outside, and the grader (this process) goes on.
        assert killed.kind in ("returned", "raised", "crashed"), killed.describe()
        assert killed.value != os.getpid()
        assert sandbox.call("fine").value == [1, (2, b"x")]


# -- loading cell by cell ---------------------------------------------------------------------------

def test_units_load_one_by_one_and_a_failing_one_costs_only_itself():
    """A unit that raises, hangs or kills the worker is recorded against that unit alone; the
    worker goes on (or starts again without it) and the other units' functions work. A unit
    that hung is never run again, not even when the worker restarts after a crash."""
    units = [Unit("cell 1", "BASE = 40\ndef first():\n    return BASE + 1\n"),
             Unit("cell 2", "def raises():\n    return 2\nprint(undefined)\n"),
             Unit("cell 3", "while True:\n    pass\n"),
             Unit("cell 4", "import os\nos._exit(5)\n"),
             Unit("cell 5", "import os\ndef last():\n    return first() + 1\n"
                            "def vanish():\n    os._exit(3)\n")]
    started = time.monotonic()
    with Sandbox(units, load_timeout_s=3) as sandbox:
        assert sandbox.start().ok
        failures = {i: (o.kind, o.detail) for i, o in sandbox.unit_failures.items()}
        assert sorted(failures) == [1, 2, 3]
        assert failures[1][0] == "load-error" and 'File "cell 2", line 3' in failures[1][1]
        assert "NameError" in failures[1][1]
        assert failures[2][0] == "timeout" and failures[3][0] == "crashed"
        assert sandbox.call("raises").value == 2            # defined before the failing line
        assert sandbox.call("last").value == 42
        assert sandbox.call("vanish").kind == "crashed"
        restarted = time.monotonic()
        assert sandbox.call("last").value == 42              # a fresh worker, skipping cells 3, 4
        assert time.monotonic() - restarted < 3              # (cell 3 would take 3 s to time out)
    assert time.monotonic() - started < 12


def test_a_single_unit_that_fails_is_a_load_error_named_by_its_file():
    with Sandbox("def f():\n    return 1\nraise SystemExit(4)\n", filename="isr.py") as sandbox:
        outcome = sandbox.call("f")
    assert outcome.kind == "load-error" and 'File "isr.py", line 3' in outcome.detail


# -- callbacks: the grader answers for another exercise's function ------------------------------

CALLER = """
def caller(key):
    return hashed(key) + 1
def by_keyword(key):
    return hashed(data=key)
def wrong_arity():
    return hashed()
def keeps_asking():
    while True:
        hashed(b"x")
def huge():
    return hashed(b"x" * 1_000_000)
def sends_junk():
    return hashed(object())
def catches():
    try:
        hashed(b"boom")
    except ValueError as error:
        return str(error)
def hashed(data):
    raise NotImplementedError("the learner's own, never called while graded")
"""


def test_callbacks_answer_with_the_graders_value_or_exception():
    def hashed(args, kwargs):
        import inspect
        bound = inspect.signature(lambda data: None).bind(*args, **kwargs)
        data = bound.arguments["data"]
        if type(data) is not bytes:
            raise TypeError("hashed() takes bytes")
        if data == b"boom":
            raise ValueError("the engine said no")
        return len(data)
    with Sandbox(CALLER, callbacks={"hashed": hashed}, call_timeout_s=1) as sandbox:
        assert sandbox.call("caller", b"abc").value == 4
        assert sandbox.call("by_keyword", b"ab").value == 2
        assert sandbox.call("catches").value == "the engine said no"
        wrong = sandbox.call("wrong_arity")
        assert wrong.kind == "raised" and "TypeError" in wrong.detail, wrong.detail
        assert 'in wrong_arity' in wrong.detail and "worker.py" not in wrong.detail
        huge = sandbox.call("huge")
        assert huge.kind == "raised" and "larger than" in huge.detail
        assert "plain data" in sandbox.call("sends_junk").detail
        started = time.monotonic()
        assert sandbox.call("keeps_asking").kind == "timeout"         # the call's deadline holds
        assert time.monotonic() - started < 2
        assert sandbox.call("caller", b"").value == 1                 # and a fresh worker answers


def test_only_the_names_asked_for_are_rebound():
    with Sandbox(CALLER) as sandbox:
        outcome = sandbox.call("caller", b"abc")
    assert outcome.kind == "raised" and "NotImplementedError" in outcome.detail


# -- values by meaning --------------------------------------------------------------------------

SUBCLASSES = """
import collections, enum
class Level(enum.IntEnum):
    HIGH = 3
class Name(str):
    pass
class Liar(list):
    def __iter__(self):
        return iter(["not", "what", "it", "holds"])
    def __eq__(self, other):
        return True
Point = collections.namedtuple("Point", "x y")
def values():
    counts = collections.defaultdict(list)
    counts["a"].append(1)
    return [counts, collections.OrderedDict(b=2), collections.Counter("aa"), Point(1, 2),
            Level.HIGH, Name("n"), collections.deque([1, 2]), Liar([7]), True, frozenset({1})]
"""


def test_subclasses_of_built_in_types_cross_as_their_base_type():
    """Read with the base type's own methods: the Liar's __iter__ and __eq__ play no part."""
    got = call(SUBCLASSES, "values")
    assert got == [{"a": [1]}, {"b": 2}, {"a": 2}, (1, 2), 3, "n", [1, 2], [7], True,
                   frozenset({1})]
    assert [type(v) for v in got] == [dict, dict, dict, tuple, int, str, list, list, bool,
                                      frozenset]
