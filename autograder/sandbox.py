"""Run a learner's code in a separate process, with limits, and call its functions.

    with Sandbox(source) as sandbox:
        outcome = sandbox.call("murmur2", b"abc")
        if outcome.ok: ...

What can go wrong in learner code, and what it costs:

- an exception: ``raised`` (with the learner's own frames only);
- an infinite loop, even one that swallows KeyboardInterrupt: ``timeout`` after
  ``call_timeout_s`` of wall-clock time; the process is killed (SIGKILL), not interrupted;
- ``sys.exit``: ``raised`` SystemExit; ``os._exit``, a segfault, running out of memory
  (``memory_mb``) or CPU (``cpu_s``): ``crashed``;
- returning something that is not plain data (an object whose ``__eq__`` lies): ``bad-return``;
- importing or reading the engine or the grader: refused inside the sandbox, so the call
  raises PermissionError or ImportError.

After a timeout or a crash the next call starts a fresh process. Nothing a learner does
can affect the grader's process.
"""

import os
import pickle
import resource
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from . import worker as _worker

WORKER = Path(_worker.__file__).resolve()
PACKAGE_ROOT = WORKER.parent.parent          # the repository (or site-packages) root
FORBIDDEN_DIRS = [str(PACKAGE_ROOT / name) for name in ("reference", "autograder", "exercises")]


@dataclass(frozen=True)
class Isolation:
    """What stands between a learner's code and the grader, recorded in every report."""
    name: str                   # "bubblewrap" or "in-process guard"
    tamper_proof: bool          # True only under operating-system isolation
    detail: str = ""            # what it isolates, or why OS isolation is not available

    def describe(self):
        if self.tamper_proof:
            return f"{self.name}: {self.detail}"
        return (f"{self.name} (a self-check, not a tamper-proof grade: {self.detail})")


class IsolationUnavailable(RuntimeError):
    """Instructor grading asked for operating-system isolation and this machine has none."""


def isolation():
    """The isolation this machine gives learner code (probed once per process)."""
    global _ISOLATION
    if _ISOLATION is None:
        _ISOLATION = _probe()
    return _ISOLATION


_ISOLATION = None


def _probe():
    return Isolation("in-process guard", False, "operating-system isolation not built yet")


def require_isolation(allow_unisolated=False):
    """For instructor grading: the isolation in force, or IsolationUnavailable unless the
    instructor explicitly allowed grading without it."""
    found = isolation()
    if not found.tamper_proof and not allow_unisolated:
        raise IsolationUnavailable(
            f"learner code cannot be isolated here ({found.detail}); grades would not be "
            "tamper-proof. Install bubblewrap (Debian: apt-get install bubblewrap) on a "
            "machine with user namespaces, or pass --allow-unisolated to grade anyway.")
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
            return f"returned {self.value!r}"
        return {
            "raised": "raised ",
            "timeout": "did not return in time (an infinite loop?): ",
            "crashed": "crashed the process: ",
            "bad-return": "returned something that is not plain data: ",
            "missing": "is not defined: ",
            "load-error": "your code failed to load: ",
        }[self.kind] + self.detail


class _Unpickler(pickle.Unpickler):
    """Plain data needs no classes: refuse every global, so nothing can be smuggled in."""

    def find_class(self, module, name):
        raise pickle.UnpicklingError(f"refused {module}.{name}")


def _limits(memory_mb, cpu_s):
    def apply():
        os.setsid()
        resource.setrlimit(resource.RLIMIT_AS, (memory_mb << 20, memory_mb << 20))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    return apply


class Sandbox:
    def __init__(self, source, filename="submission.py", call_timeout_s=2.0, memory_mb=512,
                 cpu_s=60, load_timeout_s=10.0):
        self.source = source
        self.filename = filename
        self.call_timeout_s = call_timeout_s
        self.load_timeout_s = load_timeout_s
        self.memory_mb = memory_mb
        self.cpu_s = cpu_s
        self.process = None
        self.defined = []
        self.load_outcome = None
        self.calls = 0
        self.restarts = 0

    # -- process management ------------------------------------------------------------
    def start(self):
        request_read, self.request_write = os.pipe()
        self.response_read, response_write = os.pipe()
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-S", str(WORKER), str(request_read), str(response_write),
             *FORBIDDEN_DIRS],
            pass_fds=(request_read, response_write), stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=_limits(self.memory_mb, self.cpu_s), close_fds=True, env={})
        os.close(request_read)
        os.close(response_write)
        self._send({"source": self.source, "filename": self.filename})
        reply = self._receive(self.load_timeout_s)
        if reply.kind != "returned":
            self.load_outcome = reply if reply.kind != "returned" else None
            self.stop()
            return reply
        tag = reply.value
        if tag[0] == "loaded":
            self.defined = tag[1]
            self.load_outcome = Outcome("returned", tag[1])
        else:
            self.load_outcome = Outcome("load-error", detail=f"{tag[1]}\n{tag[2]}")
            self.stop()
        return self.load_outcome

    def stop(self):
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.process.wait()
        for fd in (self.request_write, self.response_read):
            try:
                os.close(fd)
            except OSError:
                pass
        self.process = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    # -- calling -------------------------------------------------------------------------
    def call(self, function, *args):
        """Call the learner's ``function(*args)``; args must be plain data."""
        if self.process is None:
            if self.load_outcome is not None and self.load_outcome.kind == "load-error":
                return self.load_outcome
            self.restarts += self.calls > 0
            loaded = self.start()
            if loaded.kind != "returned":
                return loaded
        self.calls += 1
        try:
            self._send((function, args))
        except OSError:
            self.stop()
            return Outcome("crashed", detail="the process had already died")
        reply = self._receive(self.call_timeout_s)
        if reply.kind != "returned":
            self.stop()
            return reply
        tag = reply.value
        if tag[0] == "returned":
            return Outcome("returned", tag[1])
        if tag[0] == "raised":
            return Outcome("raised", detail=f"{tag[1]}\n{tag[2]}")
        if tag[0] == "bad-return":
            return Outcome("bad-return", detail=tag[1])
        return Outcome("missing", detail=f"{function} (define it with exactly this name)")

    def _send(self, message):
        data = pickle.dumps(message, protocol=4)
        os.write(self.request_write, len(data).to_bytes(4, "big") + data)

    def _receive(self, timeout_s):
        """One reply, as Outcome("returned", message), or the failure that stopped it."""
        deadline = time.monotonic() + timeout_s
        buffer = b""
        needed = 4
        length = None
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return Outcome("timeout", detail=f"no answer within {timeout_s:g} s")
            ready, _, _ = select.select([self.response_read], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(self.response_read, 1 << 16)
            if not chunk:
                code = self.process.wait()
                if code < 0:
                    what = signal.Signals(-code).name
                    if -code == signal.SIGXCPU:
                        what += " (CPU time limit)"
                    return Outcome("crashed", detail=f"killed by {what}")
                return Outcome("crashed", detail=f"the process exited with status {code} "
                                                 "(os._exit? out of memory?)")
            buffer += chunk
            if length is None and len(buffer) >= 4:
                length = int.from_bytes(buffer[:4], "big")
                needed = 4 + length
            if length is not None and len(buffer) >= needed:
                try:
                    message = _Unpickler(__import__("io").BytesIO(buffer[4:needed])).load()
                except Exception as error:
                    return Outcome("bad-return", detail=f"unreadable answer ({error})")
                return Outcome("returned", message)
