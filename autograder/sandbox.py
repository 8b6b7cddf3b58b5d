"""Run a learner's code in a process the operating system isolates, and call its functions.

    with Sandbox(source) as sandbox:
        outcome = sandbox.call("murmur2", b"abc")
        if outcome.ok: ...

``source`` is one file, or a list of ``Unit``s (a notebook's cells) that the worker runs one
by one in one namespace, as a kernel runs cells: a unit that raises, hangs or kills the
worker is recorded (``unit_failures``) and the others load all the same. ``callbacks``
names functions the learner's code calls that the grader answers instead (see
``worker.callback_stub``): after loading, each becomes a stub in the learner's namespace.

Under bubblewrap (Debian's ``bubblewrap``), the worker runs as its own unprivileged user, in
fresh user, mount, pid, network, IPC and UTS namespaces, and sees a read-only root that holds
the Python standard library (at ``/opt/python``), the system's shared libraries, the worker
(``/sandbox/worker.py``) and an empty private ``/tmp``: no engine, grader, course folder,
site-packages or gradebook, no network, no other process. Stopping the sandbox kills its
whole pid namespace, so nothing it started outlives it. When the grader runs as root, each
sandbox gets a uid of its own (so process limits are its own too), and the Python it needs
is first bind-mounted, in a private mount namespace, where that uid can read it.

Without bubblewrap (a laptop without user namespaces), the worker falls back to an audit
hook inside its own interpreter: enough for self-study, not a boundary, and every report
says so (``isolation()``; instructor grading calls ``require_isolation``).

What can go wrong in learner code, and what it costs: an exception is ``raised`` (the
learner's own frames only); a hang is a ``timeout`` (the process is killed, not
interrupted); ``os._exit``, a segfault or the CPU limit is ``crashed``; an answer that is
not plain data, or a reply that is too large, too deep or malformed, is ``bad-return``.
After any of these the next call starts a fresh process. Every read and write on the pipes
has a deadline, and ``deadline`` (the exercise's budget) bounds them all.
"""

import ctypes
import glob
import itertools
import os
import resource
import select
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from . import worker as _worker
from .worker import MAX_MESSAGE, MAX_TEXT, NotPlainData, decode, frame, frame_request

WORKER = Path(_worker.__file__).resolve()
PACKAGE_ROOT = WORKER.parent.parent          # the repository (or site-packages) root
# What the fallback guard refuses to let learner code read.
GUARDED_DIRS = [str(PACKAGE_ROOT / name)
                for name in ("reference", "autograder", "exercises", "notebooks", "kafkadojo")]


@dataclass(frozen=True)
class Isolation:
    """What stands between a learner's code and the grader, recorded in every report."""
    name: str                   # "bubblewrap" or "in-process guard"
    tamper_proof: bool          # True only under operating-system isolation
    detail: str = ""            # what it isolates, or why OS isolation is not available

    def describe(self):
        if self.tamper_proof:
            return f"{self.name}: {self.detail}"
        return f"{self.name} (a self-check, not a tamper-proof grade: {self.detail})"


TAMPER_PROOF = "bubblewrap:"         # how a tamper-proof Isolation.describe() begins


class IsolationUnavailable(RuntimeError):
    """Instructor grading asked for operating-system isolation and this machine has none."""


_ISOLATION = None


def isolation():
    """The isolation this machine gives learner code (probed once per process).
    ``KAFKADOJO_SANDBOX=guard`` asks for the fallback on purpose."""
    global _ISOLATION
    if _ISOLATION is None:
        _ISOLATION = _probe()
    return _ISOLATION


def require_isolation(allow_unisolated=False):
    """For instructor grading: the isolation in force, or IsolationUnavailable unless the
    instructor explicitly allowed grading without it."""
    found = isolation()
    if not found.tamper_proof and not allow_unisolated:
        raise IsolationUnavailable(
            f"learner code cannot be isolated here ({found.detail}); grades would not be "
            "tamper-proof. Install bubblewrap (Debian: apt-get install bubblewrap) on a "
            "machine with user namespaces, or allow grading without it explicitly "
            "(kafkadojo grade --allow-unisolated; nbgrader: "
            "c.KafkadojoGrades.allow_unisolated = True).")
    return found


@dataclass
class Outcome:
    kind: str                   # returned | raised | timeout | crashed | bad-return | missing | load-error
    value: object = None        # the plain-data result, when kind == "returned"
    detail: str = ""            # error type and learner traceback, or what went wrong

    @property
    def ok(self):
        return self.kind == "returned"

    def describe(self):
        if self.ok:
            return f"returned {safe_repr(self.value)}"
        return {
            "raised": "raised ",
            "timeout": "did not return in time (an infinite loop?): ",
            "crashed": "crashed the process: ",
            "bad-return": "returned something that is not plain data: ",
            "missing": "is not defined: ",
            "load-error": "your code failed to load: ",
        }[self.kind] + self.detail


@dataclass(frozen=True)
class Unit:
    """A piece of a submission the worker runs on its own: a notebook cell, or a whole file."""
    filename: str               # what its tracebacks say: "cell 7", "In [3]", "replication.py"
    source: str
    whole: bool = False         # a whole file: when it fails, none of it counts as loaded

    def first_line(self, limit=60):
        line = next((l.strip() for l in self.source.splitlines() if l.strip()), "")
        return line if len(line) <= limit else line[:limit - 3] + "..."

    def describe(self):
        """How feedback names it: the file, or the cell with its first line."""
        return self.filename if self.whole else f"{self.filename} (`{self.first_line()}`)"


def units_of(source, filename="submission.py"):
    return [Unit(filename, source, whole=True)] if isinstance(source, str) else list(source)


def safe_repr(value, limit=600):
    """``repr`` for feedback: never raises (Python's int digit limit, say), never floods."""
    try:
        text = repr(value)
    except Exception as error:      # noqa: BLE001 - whatever the value does, show something
        if type(value) is int:
            return f"<an int of {value.bit_length()} bits>"
        return f"<a {type(value).__name__} that cannot be shown: {type(error).__name__}>"
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


@dataclass(frozen=True)
class Limits:
    memory_mb: int = 512        # address space of each process
    cpu_s: int = 60             # CPU seconds of each process
    file_mb: int = 1            # largest file it may write (and the size of its /tmp)
    processes: int = 4          # processes and threads it may add to its own


# -- launching the worker ---------------------------------------------------------------------

SANDBOX_ID = 65534                          # the uid and gid inside the user namespace
SANDBOX_PYTHON = "/opt/python"
_UID_BASE = 1_000_000_000                   # outside: one uid per sandbox, far from real users
_uids = itertools.count()


def _sandbox_uid():
    return _UID_BASE + ((os.getpid() & 0x3FFFFF) << 8) + (next(_uids) & 0xFF)


@dataclass(frozen=True)
class Runtime:
    """The Python the worker runs on: this interpreter's, without its site-packages."""
    executable: str
    stdlib: str
    libpython: str | None       # the shared libpython it links against, if any

    @classmethod
    def of_this_interpreter(cls):
        executable = os.path.realpath(getattr(sys, "_base_executable", sys.executable))
        stdlib = os.path.realpath(sysconfig.get_paths()["stdlib"])
        libpython = None
        if sysconfig.get_config_var("Py_ENABLE_SHARED"):
            candidate = os.path.join(sysconfig.get_config_var("LIBDIR") or "",
                                     sysconfig.get_config_var("INSTSONAME") or "")
            libpython = os.path.realpath(candidate) if os.path.isfile(candidate) else None
        return cls(executable, stdlib, libpython)

    def sources(self):
        return {"python3": self.executable, "stdlib": self.stdlib,
                **({"libpython": self.libpython} if self.libpython else {})}


def _bubblewrap_argv(paths, runtime, worker_fd, request_fd, response_fd, limits):
    """bwrap's command line. ``paths`` says where to find each of ``runtime.sources()``."""
    lib = f"{SANDBOX_PYTHON}/lib"
    stdlib = f"{lib}/{os.path.basename(runtime.stdlib)}"
    argv = [shutil.which("bwrap"), "--unshare-all", "--unshare-user", "--disable-userns",
            "--die-with-parent", "--new-session", "--uid", str(SANDBOX_ID), "--gid",
            str(SANDBOX_ID), "--hostname", "sandbox", "--clearenv"]
    for entry in ("/lib", "/lib64", "/lib32", "/usr/lib", "/usr/lib64", "/usr/lib32"):
        if os.path.islink(entry):
            argv += ["--symlink", os.readlink(entry), entry]
        elif os.path.isdir(entry):
            argv += ["--ro-bind", entry, entry]
    # The system's own Python packages live among its libraries: hide them.
    for hidden in sorted(glob.glob("/usr/lib*/python*") + glob.glob("/usr/lib*/*/python*")):
        if os.path.isdir(hidden) and not os.path.islink(hidden):
            argv += ["--tmpfs", hidden, "--remount-ro", hidden]
    argv += ["--ro-bind", paths["python3"], f"{SANDBOX_PYTHON}/bin/python3",
             "--ro-bind", paths["stdlib"], stdlib]
    for name in ("site-packages", "dist-packages"):
        if os.path.isdir(os.path.join(runtime.stdlib, name)):
            argv += ["--tmpfs", f"{stdlib}/{name}", "--remount-ro", f"{stdlib}/{name}"]
    if "libpython" in paths:
        argv += ["--ro-bind", paths["libpython"], f"{lib}/{os.path.basename(runtime.libpython)}",
                 "--setenv", "LD_LIBRARY_PATH", lib]
    argv += ["--ro-bind-data", str(worker_fd), "/sandbox/worker.py",
             "--proc", "/proc", "--dev", "/dev",
             "--size", str(limits.file_mb << 20), "--tmpfs", "/tmp", "--chdir", "/tmp",
             "--", f"{SANDBOX_PYTHON}/bin/python3", "-I", "-S", "-B", "/sandbox/worker.py",
             str(request_fd), str(response_fd), "--max-processes", str(2 + limits.processes)]
    return argv


# Linux's mount(2) and unshare(2), for staging the runtime when the grader is root.
_MS_NOSUID, _MS_NODEV, _MS_BIND, _MS_REC, _MS_PRIVATE = 2, 4, 4096, 16384, 1 << 18
_CLONE_NEWNS = 0x00020000
_PR_SET_PDEATHSIG = 1
_STAGE = "/tmp/.kafkadojo-runtime"
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


def _os_call(result, what):
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _stage_runtime(sources):
    """In the child, as root: a private mount namespace where ``sources`` are bind-mounted
    under a fresh /tmp, so that the unprivileged sandbox uid can reach them (the grader's
    Python may live in a folder only root can enter, such as /root)."""
    _os_call(_LIBC.unshare(_CLONE_NEWNS), "unshare")
    _os_call(_LIBC.mount(b"none", b"/", None, _MS_REC | _MS_PRIVATE, None), "mount private")
    _os_call(_LIBC.mount(b"kafkadojo", b"/tmp", b"tmpfs", _MS_NOSUID | _MS_NODEV,
                         b"mode=1777,size=1m"), "mount /tmp")
    os.mkdir(_STAGE, 0o755)
    for name, source in sources.items():
        target = f"{_STAGE}/{name}"
        if os.path.isdir(source):
            os.mkdir(target)
        else:
            open(target, "x").close()
        _os_call(_LIBC.mount(source.encode(), target.encode(), None, _MS_BIND, None), "bind")


def _apply_limits(limits, processes=None):
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_mb << 20,) * 2)
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_s, limits.cpu_s + 1))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_mb << 20,) * 2)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
    if processes is not None:
        resource.setrlimit(resource.RLIMIT_NPROC, (processes, processes))


def _bubblewrap_process(runtime, request_fd, response_fd, limits, stderr):
    worker_fd = os.memfd_create("worker")
    try:
        os.write(worker_fd, WORKER.read_bytes())
        os.lseek(worker_fd, 0, os.SEEK_SET)
        as_root = os.geteuid() == 0
        sources = runtime.sources()
        paths = {name: f"{_STAGE}/{name}" for name in sources} if as_root else sources
        argv = _bubblewrap_argv(paths, runtime, worker_fd, request_fd, response_fd, limits)
        uid = _sandbox_uid()

        def enter():
            os.setsid()
            if as_root:
                _stage_runtime(sources)
                os.setgroups([])
                os.setresgid(uid, uid, uid)
                os.setresuid(uid, uid, uid)
            # bwrap's own two processes and the worker, plus what learner code may start;
            # the count is per uid, and only a uid of the sandbox's own makes it meaningful.
            _apply_limits(limits, processes=3 + limits.processes if as_root else None)

        return subprocess.Popen(argv, pass_fds=(request_fd, response_fd, worker_fd),
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=stderr, preexec_fn=enter, close_fds=True, env={})
    finally:
        os.close(worker_fd)


def _guarded_process(request_fd, response_fd, limits, stderr, workdir):
    def enter():
        os.setsid()
        if _LIBC is not None:
            _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)     # dies with the grader
        _apply_limits(limits)
    return subprocess.Popen(
        [sys.executable, "-I", "-S", "-B", str(WORKER), str(request_fd), str(response_fd),
         "--guard", *GUARDED_DIRS],
        pass_fds=(request_fd, response_fd), stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=stderr, preexec_fn=enter, close_fds=True, env={},
        cwd=workdir)


# -- the sandbox ------------------------------------------------------------------------------

class _Stop(Exception):
    """The conversation with the worker is over; ``outcome`` says why."""

    def __init__(self, outcome):
        super().__init__(outcome.detail)
        self.outcome = outcome


REPLY_SHAPES = {"loaded": (list,), "unit": (int, str, str), "returned": (object,),
                "raised": (str, str), "bad-return": (str,), "missing": (str,),
                "callback": (str, list, dict)}
MAX_CALLBACK = 256 << 10        # bytes of arguments the grader computes a callback on


def _children(pid):
    """The pids of ``pid``'s children, from each of its threads (a process that a thread
    forks is that thread's child)."""
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as listing:
                found += map(int, listing.read().split())
    except (OSError, ValueError):
        pass
    return found


def _exited(pid):
    """True for a process that is gone, or a zombie its parent has not waited for."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] in "ZX"
    except (OSError, IndexError):
        return True


class _Restart(Exception):
    """A unit hung or killed the worker while loading: load again without it."""


class Sandbox:
    def __init__(self, source, filename="submission.py", call_timeout_s=2.0, memory_mb=512,
                 cpu_s=60, load_timeout_s=10.0, deadline=None, mode=None, stderr=None,
                 callbacks=None):
        self.units = units_of(source, filename)
        self.callbacks = dict(callbacks or {})     # name -> handler(args, kwargs) -> value
        self.call_timeout_s = call_timeout_s
        self.load_timeout_s = load_timeout_s
        self.limits = Limits(memory_mb=memory_mb, cpu_s=cpu_s)
        self.deadline = deadline            # time.monotonic() by which everything must end
        self.mode = mode or isolation().name
        self.stderr = stderr if stderr is not None else subprocess.DEVNULL
        self.process = None
        self.workdir = None
        self.worker_pid = None      # the worker's pid on the host, and under bubblewrap the
        self.reaper_pid = None      # pid namespace's init, which adopts orphans
        self._listings, self._worker_tasks = [], None   # their open /proc files
        self.defined = []
        self.unit_failures = {}     # unit index -> Outcome (load-error, timeout or crashed)
        self.skipped = {}           # units that hung or killed the worker: never run again
        self.load_outcome = None
        self.nothing_loaded = False
        self.out_of_time = None
        self.calls = 0
        self.restarts = 0
        self._last_size = 0

    # -- process management ------------------------------------------------------------
    def start(self):
        """Start the worker and load the units; the outcome is ``returned`` (the names
        defined) unless the worker itself failed, or no unit loaded at all (``load-error``)."""
        while True:
            try:
                return self._start_once()
            except _Restart:
                continue

    def _start_once(self):
        request_read, self.request_write = os.pipe()
        self.response_read, response_write = os.pipe()
        self._inbox = bytearray()       # what the worker sent that no read has taken yet
        try:
            if self.mode == "bubblewrap":
                self.process = _bubblewrap_process(Runtime.of_this_interpreter(), request_read,
                                                   response_write, self.limits, self.stderr)
            else:       # at least its stray files land in a folder of its own
                self.workdir = tempfile.mkdtemp(prefix="kafkadojo-worker-")
                self.process = _guarded_process(request_read, response_write, self.limits,
                                                self.stderr, self.workdir)
        except (OSError, subprocess.SubprocessError) as error:
            for fd in (self.request_write, self.response_read):
                os.close(fd)
            self.process = None
            self.load_outcome = Outcome("crashed", detail=f"the sandbox did not start ({error})")
            return self.load_outcome
        finally:
            os.close(request_read)
            os.close(response_write)
        os.set_blocking(self.request_write, False)
        self.unit_failures = dict(self.skipped)
        running = None          # the unit the worker is loading, as far as the grader knows
        try:
            units = [[u.filename, None if i in self.skipped else u.source]
                     for i, u in enumerate(self.units)]
            self._send(("load", units, sorted(self.callbacks)), *self._until(self.load_timeout_s))
            running = self._next_unit(-1)
            while True:
                tag, *rest = self._receive(*self._until(self.load_timeout_s, loading=True))
                if tag != "unit" or running is None or rest[0] != running:
                    break
                if rest[1]:
                    self.unit_failures[running] = Outcome(
                        "load-error", detail=f"{rest[1]}\n{rest[2]}".rstrip("\n"))
                running = self._next_unit(running)
        except _Stop as stop:
            self.stop()
            if running is not None and self.out_of_time is None:
                self.skipped[running] = stop.outcome
                raise _Restart() from None
            self.load_outcome = stop.outcome
            return stop.outcome
        if tag == "loaded" and running is None and all(type(name) is str for name in rest[0]):
            self.defined = rest[0]
            if len(self.unit_failures) == len(self.units) and self.units:
                # Nothing loaded: every call would only say so again.
                self.load_outcome = self.unit_failures[len(self.units) - 1]
                self.nothing_loaded = True
                self.stop()
            else:
                self.load_outcome = Outcome("returned", rest[0])
                self._find_worker()
                self._end_strays()
        else:
            self.load_outcome = Outcome("bad-return", detail=f"an answer the grader does not "
                                                             f"expect while loading ({tag})")
            self.stop()
        return self.load_outcome

    def _find_worker(self):
        """Where to look for what the learner's code starts: the worker's children, and under
        bubblewrap the children of its pid namespace's init (bwrap, the worker's parent),
        which adopts orphans. Their /proc listings stay open: one read each per call."""
        if self.mode == "bubblewrap":
            init = _children(self.process.pid)
            worker = _children(init[0]) if len(init) == 1 else []
            if len(worker) != 1:
                return
            self.reaper_pid, self.worker_pid = init[0], worker[0]
        else:
            self.worker_pid = self.process.pid
        try:
            self._listings = [os.open(f"/proc/{pid}/task/{pid}/children", os.O_RDONLY)
                              for pid in (self.worker_pid, self.reaper_pid) if pid is not None]
            # its task folder's link count is 2 + its threads
            self._worker_tasks = os.open(f"/proc/{self.worker_pid}/task",
                                         os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            self._close_listings()
            self.worker_pid = self.reaper_pid = None

    def _strays(self):
        """The processes the learner's code started that still run."""
        found = []
        for fd in self._listings:
            found += os.pread(fd, 65536, 0).split()
        # A process a thread forks is that thread's child: look there too when there are any.
        if os.fstat(self._worker_tasks).st_nlink > 3:
            found = [pid for pid in map(int, found) if pid != self.worker_pid]
            return [pid for pid in found + _children(self.worker_pid) if not _exited(pid)]
        return [pid for pid in map(int, found) if pid != self.worker_pid and not _exited(pid)]

    def _end_strays(self):
        """Kill every process the learner's code started: a call's processes end with it.
        One that makes new ones faster than they die ends the sandbox."""
        if self.worker_pid is None:
            return
        for _ in range(64):
            try:
                strays = self._strays()
            except (OSError, ValueError, IndexError):
                break           # the worker is gone: its outcome says so
            if not strays:
                return
            for pid in strays:
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            time.sleep(0.001)
        self.stop()

    def _close_listings(self):
        for fd in self._listings + ([self._worker_tasks] if self._worker_tasks is not None else []):
            os.close(fd)
        self._listings, self._worker_tasks = [], None

    def _next_unit(self, after):
        """The unit the worker runs after unit ``after`` (None once all have run)."""
        return next((i for i in range(after + 1, len(self.units)) if i not in self.skipped), None)

    def stop(self):
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)     # bwrap dies, and its pid namespace
        except (ProcessLookupError, PermissionError):
            pass
        self.process.wait()
        self._close_listings()
        self.worker_pid = self.reaper_pid = None
        for fd in (self.request_write, self.response_read):
            try:
                os.close(fd)
            except OSError:
                pass
        self.process = None
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    # -- calling -------------------------------------------------------------------------
    def call(self, function, *args):
        """Call the learner's ``function(*args)``; args must be plain data."""
        if self.out_of_time is not None:
            return self.out_of_time
        if self.process is None:
            if self.nothing_loaded:
                return self.load_outcome
            self.restarts += self.calls > 0
            loaded = self.start()
            if not loaded.ok:
                return loaded
        self.calls += 1
        try:
            end, late = self._until(self.call_timeout_s)
            self._send(("call", function, args), end, late)
            tag, *rest = self._receive(end, late)
            while tag == "callback":        # the learner's code asks the grader, then goes on
                self._send(self._answer_callback(*rest), end, late)
                tag, *rest = self._receive(end, late)
        except _Stop as stop:
            self.stop()
            return stop.outcome
        self._end_strays()
        if tag == "returned":
            return Outcome("returned", rest[0])
        if tag == "raised":
            return Outcome("raised", detail=f"{rest[0]}\n{rest[1]}")
        if tag == "bad-return":
            return Outcome("bad-return", detail=rest[0])
        if tag == "missing":
            return Outcome("missing", detail=f"{function} (define it with exactly this name)")
        self.stop()
        return Outcome("bad-return", detail=f"an answer the grader does not expect ({tag})")

    def _answer_callback(self, name, args, kwargs):
        """The grader's answer to a stub's call: the handler's value, or its exception's type
        and message. The arguments come from learner code: the handler validates them; here
        only their size and the function's name are checked."""
        handler = self.callbacks.get(name)
        if handler is None or not all(type(key) is str for key in kwargs):
            return ("callback-raised", "RuntimeError", "the grader answers no such call")
        if self._last_size > MAX_CALLBACK:
            return ("callback-raised", "ValueError",
                    f"{name}(): arguments larger than {MAX_CALLBACK >> 10} KiB")
        try:
            reply = ("callback-returned", handler(args, kwargs))
            frame(reply)        # NotPlainData if it cannot cross
            return reply
        except NotPlainData:
            return ("callback-raised", "RuntimeError", f"{name}(): an answer that cannot be sent")
        except Exception as error:      # noqa: BLE001 - the engine's own exception, passed on
            try:
                message = str(error)[:MAX_TEXT]
            except Exception:           # noqa: BLE001
                message = ""
            return ("callback-raised", type(error).__name__, message)

    def _until(self, timeout_s, loading=False):
        """When a wait of ``timeout_s`` must end, and the outcome if it runs out."""
        end = time.monotonic() + timeout_s
        if self.deadline is not None and self.deadline < end:
            budget = Outcome("timeout", detail="the exercise's time budget ran out; the "
                                               "grader stopped your code")
            return self.deadline, budget
        if loading:
            return end, Outcome("timeout", detail=f"it did not finish within {timeout_s:g} s "
                                                  "(an endless loop at the top level?)")
        return end, Outcome("timeout", detail=f"no answer within {timeout_s:g} s")

    def _send(self, message, end, late):
        """Write without ever blocking: a worker that stops reading cannot hang the grader.
        The pipe is non-blocking: write at once, and wait only when it is full."""
        data = memoryview(frame_request(message))
        while data:
            try:
                data = data[os.write(self.request_write, data):]
                continue
            except BlockingIOError:
                pass
            except OSError:
                raise _Stop(self._exit_outcome()) from None
            remaining = end - time.monotonic()
            if remaining <= 0:
                self._ran_out(late)
            select.select([], [self.request_write], [], remaining)

    def _receive(self, end, late):
        """One reply, decoded and checked, or _Stop with why there is none."""
        header = self._read(4, end, late)
        length = int.from_bytes(header, "big")
        if length > MAX_MESSAGE:
            raise _Stop(Outcome("bad-return", detail=f"an answer larger than {MAX_MESSAGE >> 20} MiB"))
        try:
            reply = decode(self._read(length, end, late))
        except ValueError as error:
            raise _Stop(Outcome("bad-return", detail=f"an unreadable answer ({error})")) from None
        shape = REPLY_SHAPES.get(reply[0]) if type(reply) is tuple and reply else None
        if shape is None or len(reply) != 1 + len(shape) or not all(
                kind is object or type(part) is kind for kind, part in zip(shape, reply[1:])):
            raise _Stop(Outcome("bad-return", detail="an answer the grader does not expect"))
        if reply[0] != "returned":
            reply = tuple(part[:MAX_TEXT] if type(part) is str else part for part in reply)
        self._last_size = length
        return reply

    def _read(self, n, end, late):
        """``n`` bytes of what the worker sent. It reads what is there, up to 1 MiB, and
        keeps the rest for the next read: a reply's length and body take one read, not two."""
        inbox = self._inbox
        while len(inbox) < n:
            remaining = end - time.monotonic()
            if remaining <= 0:
                self._ran_out(late)
            ready, _, _ = select.select([self.response_read], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(self.response_read, max(n - len(inbox), 1 << 20))
            if not chunk:
                raise _Stop(self._exit_outcome())
            inbox += chunk
        data = bytes(inbox[:n])
        del inbox[:n]
        return data

    def _ran_out(self, late):
        if late.detail.startswith("the exercise's time budget"):
            self.out_of_time = late
        raise _Stop(late)

    def _exit_outcome(self):
        """The worker is gone: how it ended. bwrap passes on its worker's status, with a
        death by signal N as 128 + N."""
        try:
            code = self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return Outcome("crashed", detail="the process closed its pipe")
        if code < 0 or (self.mode == "bubblewrap" and code > 128):
            number = -code if code < 0 else code - 128
            try:
                what = signal.Signals(number).name
            except ValueError:
                what = f"signal {number}"
            if number == signal.SIGXCPU:
                what += " (CPU time limit)"
            return Outcome("crashed", detail=f"killed by {what}")
        return Outcome("crashed", detail=f"the process exited with status {code} "
                                         "(os._exit? out of memory?)")


# -- finding out what isolation this machine gives --------------------------------------------

def _why_no_bubblewrap():
    if not sys.platform.startswith("linux"):
        return "not Linux"
    if shutil.which("bwrap") is None:
        return "bubblewrap (bwrap) is not installed"
    if not hasattr(os, "memfd_create"):
        return "this Python has no os.memfd_create"
    return None


def _probe():
    asked = os.environ.get("KAFKADOJO_SANDBOX", "")
    if asked == "guard":
        return Isolation("in-process guard", False, "KAFKADOJO_SANDBOX=guard")
    reason = _why_no_bubblewrap()
    if reason is None:
        with tempfile.TemporaryFile() as errors:
            with Sandbox("def ok():\n    return 1\n", mode="bubblewrap", load_timeout_s=30,
                         stderr=errors) as sandbox:
                outcome = sandbox.call("ok")
            if outcome.ok and outcome.value == 1:
                version = subprocess.run(["bwrap", "--version"], capture_output=True,
                                         text=True).stdout.strip()
                return Isolation("bubblewrap", True,
                                 f"{version}; own uid; user, mount, pid and network namespaces; "
                                 "a read-only view of the standard library; no network")
            errors.seek(0)
            said = errors.read(2_000).decode("utf-8", "replace").strip()
            reason = f"bubblewrap could not start a sandbox: {said or outcome.describe()}"
    if asked == "bubblewrap":
        raise IsolationUnavailable(f"KAFKADOJO_SANDBOX=bubblewrap, but {reason}")
    return Isolation("in-process guard", False, reason)
