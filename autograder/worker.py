"""The process that runs a learner's code. Started by ``sandbox.py`` as
``python -I -S worker.py REQUEST_FD RESPONSE_FD FORBIDDEN_DIR...``: isolated mode, no
site-packages, so neither the engine nor the grader is importable from here.

It speaks length-prefixed pickles over two pipes of its own (the learner may print, read
stdin or close stdout without breaking anything). Everything it sends back is plain data,
rebuilt from exact built-in types, so an object with a lying ``__eq__`` never leaves.
This file uses the standard library only.
"""

import os
import pickle
import struct
import sys
import traceback

PLAIN_SCALARS = (int, float, str, bytes, bool, type(None))
MAX_DEPTH = 20


class NotPlainData(Exception):
    pass


def to_plain(value, depth=0):
    """A copy made only of built-in types (checked with ``type(x) is``, not isinstance)."""
    if depth > MAX_DEPTH:
        raise NotPlainData("nested too deeply")
    kind = type(value)
    if kind in PLAIN_SCALARS:
        return value
    if kind in (list, tuple):
        return kind(to_plain(v, depth + 1) for v in value)
    if kind in (set, frozenset):
        return kind(to_plain(v, depth + 1) for v in value)
    if kind is dict:
        return {to_plain(k, depth + 1): to_plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return tuple(to_plain(v, depth + 1) for v in value)     # a NamedTuple: its fields
    raise NotPlainData(f"a {kind.__name__} object (return built-in types: int, list, tuple, ...)")


# A NamedTuple argument travels as (NAMED_TUPLE, class name, fields) and is rebuilt here with
# the learner's class of that name (one of the givens, e.g. Member), so the learner's code
# reads member.topics as the contract says; without such a class it stays a plain tuple.
NAMED_TUPLE = "\x00namedtuple"


def from_wire(value, namespace):
    kind = type(value)
    if kind is tuple and len(value) == 3 and value[0] == NAMED_TUPLE:
        fields = tuple(from_wire(v, namespace) for v in value[2])
        cls = namespace.get(value[1])
        if isinstance(cls, type) and issubclass(cls, tuple) and hasattr(cls, "_fields"):
            try:
                return cls(*fields)
            except TypeError:
                return fields
        return fields
    if kind in (list, tuple, set, frozenset):
        return kind(from_wire(v, namespace) for v in value)
    if kind is dict:
        return {from_wire(k, namespace): from_wire(v, namespace) for k, v in value.items()}
    return value


def send(fd, message):
    data = pickle.dumps(message, protocol=4)
    os.write(fd, struct.pack(">I", len(data)))
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def receive(fd):
    header = _read_exactly(fd, 4)
    if header is None:
        return None
    (length,) = struct.unpack(">I", header)
    return pickle.loads(_read_exactly(fd, length))


def _read_exactly(fd, n):
    chunks = []
    while n:
        chunk = os.read(fd, n)
        if not chunk:
            return None
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


BLOCKED_EVENTS = {
    "os.kill", "os.killpg", "os.system", "os.fork", "os.forkpty", "os.exec", "os.posix_spawn",
    "os.spawn", "subprocess.Popen", "socket.connect", "socket.bind", "socket.__new__",
    "os.remove", "os.unlink", "os.rmdir", "os.rename", "shutil.rmtree", "os.chmod",
    "ctypes.dlopen", "os.putenv", "os.unsetenv", "sys.addaudithook", "sys.settrace",
    "sys.setprofile",
}


def install_guard(forbidden_dirs, allowed_import_prefixes=("kafkadojo",)):
    """Refuse what a learner's code must not do: read the engine or the grader, import them,
    or reach out of this process."""
    forbidden = tuple(os.path.realpath(d) + os.sep for d in forbidden_dirs)

    def guard(event, args):
        if event == "open" and args and isinstance(args[0], (str, bytes, os.PathLike)):
            path = os.fsdecode(args[0])
            real = os.path.realpath(path)
            if real.startswith(forbidden) or any(real + os.sep == f for f in forbidden):
                raise PermissionError(f"reading {path} is not allowed: write your own code")
        elif event == "import" and args and isinstance(args[0], str):
            if args[0].split(".")[0] in allowed_import_prefixes or args[0].split(".")[0] in (
                    "reference", "autograder", "exercises"):
                raise ImportError(f"importing {args[0]} is not allowed: write your own code")
        elif event in BLOCKED_EVENTS or event.startswith("os.exec") or event.startswith("os.spawn"):
            raise PermissionError(f"{event} is not allowed in graded code")
    sys.addaudithook(guard)


def learner_traceback(error, filename):
    """Only the frames from the learner's own file: the grader's frames stay private."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == filename]
    lines = traceback.format_list(frames)
    lines += traceback.format_exception_only(type(error), error)
    return "".join(lines)


def main():
    request_fd, response_fd = int(sys.argv[1]), int(sys.argv[2])
    forbidden_dirs = sys.argv[3:]
    # The learner's prints go nowhere; our protocol has its own pipes.
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    load = receive(request_fd)
    source, filename = load["source"], load["filename"]
    install_guard(forbidden_dirs)
    namespace = {"__name__": "submission", "__file__": filename}
    try:
        exec(compile(source, filename, "exec"), namespace)
    except BaseException as error:     # SyntaxError, ImportError, SystemExit, ...
        send(response_fd, ("load-error", type(error).__name__, learner_traceback(error, filename)))
        return
    send(response_fd, ("loaded", sorted(k for k, v in namespace.items() if callable(v))))
    while True:
        request = receive(request_fd)
        if request is None:
            return
        name, args = request
        function = namespace.get(name)
        if not callable(function):
            send(response_fd, ("missing", name))
            continue
        try:
            result = function(*[from_wire(a, namespace) for a in args])
        except BaseException as error:      # including SystemExit and KeyboardInterrupt
            send(response_fd, ("raised", type(error).__name__,
                               learner_traceback(error, filename)))
            continue
        try:
            send(response_fd, ("returned", to_plain(result)))
        except NotPlainData as problem:
            send(response_fd, ("bad-return", str(problem)))
        except BaseException as error:      # a hostile __iter__, __len__, __hash__, ...
            send(response_fd, ("bad-return", f"could not read the result: {type(error).__name__}"))


if __name__ == "__main__":
    main()
