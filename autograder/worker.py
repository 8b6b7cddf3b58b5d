"""The process that runs a learner's code: ``python -I -S worker.py REQUEST_FD RESPONSE_FD``
(then ``--max-processes N`` under bubblewrap, or ``--guard DIR...`` without it).

Under bubblewrap (see ``sandbox.py``) it sees only the standard library and this file; in
the fallback mode (``--guard DIR...``) it runs beside the grader's files and installs an
audit hook that refuses them, which a determined learner can switch off: a self-check only.

Messages are length-prefixed. What the worker sends (replies, and its stubs' calls) is in a
small format of our own (``encode`` and ``decode`` below), not pickle: a message can hold
only built-in plain data, nothing in it can refer to anything else, and decoding needs no
recursion. The grader decodes it with the same functions and the same limits, so a forged or
malicious reply can cost the learner their answer and nothing more. What the grader sends
(``frame_request``) is in ``marshal``'s format: it comes from the grader, which the worker
has no need to distrust, and ``marshal`` is several times faster than ``encode``/``decode``
in pure Python (a round trip's cost is mostly theirs). This file uses the standard library
only.

The conversation: the grader sends ``("load", units, bound)``; the worker runs each unit (a
notebook cell, or a whole file) in one namespace, in order, replying ``("unit", index,
error, traceback)`` after each (``error`` empty when it ran), then rebinds each name in
``bound`` to a stub that asks the grader (see ``callback_stub``), and replies ``("loaded",
names)``. Then, for each ``("call", name, args)``, one of ``("returned", value)``,
``("raised", error, traceback)``, ``("bad-return", why)`` or ``("missing", name)``; while a
call runs, its stubs may send ``("callback", name, args, kwargs)`` and wait for
``("callback-returned", value)`` or ``("callback-raised", error, message)``.
"""

import builtins
import collections
import marshal
import os
import struct
import sys
import traceback

MAX_MESSAGE = 4 << 20           # bytes in one request or reply
MAX_DEPTH = 64                  # containers inside containers
MAX_TEXT = 4_000                # characters of an error message or traceback sent back

_LENGTH = struct.Struct(">I")
_FLOAT = struct.Struct(">d")
_CONTAINERS = {list: b"l", tuple: b"t", set: b"S", frozenset: b"Z", dict: b"d"}
_BUILD = {b"l": list, b"t": tuple, b"S": set, b"Z": frozenset,
          b"d": lambda items: dict(zip(items[::2], items[1::2]))}


class NotPlainData(Exception):
    """A value that cannot cross: not built-in plain data, too deep, or too large."""


# What a value of a subclass of a built-in type crosses as: its base type, read with the base
# type's own methods, so an overridden __iter__, __eq__ or __int__ plays no part. A
# defaultdict, OrderedDict or Counter is a dict, a NamedTuple a tuple, an IntEnum an int, a
# deque a list: the grader judges what the value means. ``bool`` stays itself (it cannot be
# subclassed), so True never passes for 1.
_SCALAR_BASES = ((int, int.__int__), (float, float.__float__), (str, str.__str__),
                 (bytes, bytes.__bytes__))
_CONTAINER_BASES = ((dict, b"d", lambda d: [x for pair in dict.items(d) for x in pair]),
                    (list, b"l", list.__iter__), (tuple, b"t", tuple.__iter__),
                    (set, b"S", set.__iter__), (frozenset, b"Z", frozenset.__iter__),
                    (collections.deque, b"l", collections.deque.__iter__))


def _as_base(item, kind):
    """``(kind, item)`` for a subclass of a built-in scalar, as its base type and value."""
    for base, convert in _SCALAR_BASES:
        if issubclass(kind, base):
            return base, convert(item)
    return kind, item


def encode(value, limit=MAX_MESSAGE):
    """``value`` as bytes. Built-in plain data only; a subclass of a built-in type crosses as
    its base type (see ``_CONTAINER_BASES``), anything else raises NotPlainData. Types are
    read with ``type()``, which no object can lie to."""
    out = bytearray()
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        kind = type(item)
        if kind not in _CONTAINERS and kind not in (bool, int, float, str, bytes) \
                and item is not None:
            kind, item = _as_base(item, kind)
        if item is None:
            out += b"N"
        elif kind is bool:
            out += b"T" if item else b"F"
        elif kind is int:
            raw = item.to_bytes(item.bit_length() // 8 + 1, "big", signed=True)
            out += b"i" + _LENGTH.pack(len(raw)) + raw
        elif kind is float:
            out += b"f" + _FLOAT.pack(item)
        elif kind is str or kind is bytes:
            raw = item.encode("utf-8", "surrogatepass") if kind is str else item
            out += (b"s" if kind is str else b"b") + _LENGTH.pack(len(raw)) + raw
        else:
            if kind in _CONTAINERS:
                tag = _CONTAINERS[kind]
                items = [x for pair in item.items() for x in pair] if kind is dict else list(item)
            else:
                found = next(((tag, read) for base, tag, read in _CONTAINER_BASES
                              if issubclass(kind, base)), None)
                if found is None:
                    raise NotPlainData(f"a {kind.__name__} object (return built-in types: "
                                       "int, str, list, tuple, dict, ...)")
                tag, read = found
                items = list(read(item))
            if depth >= MAX_DEPTH:
                raise NotPlainData(f"nested more than {MAX_DEPTH} levels deep")
            out += tag + _LENGTH.pack(len(items) // 2 if tag == b"d" else len(items))
            stack.extend((x, depth + 1) for x in reversed(items))
        if len(out) > limit:
            raise NotPlainData(f"larger than {limit >> 20} MiB")
    return bytes(out)


def decode(data):
    """The value ``encode`` made, or ValueError. Work is linear in ``len(data)``."""
    try:
        return _decode(memoryview(data))
    except (ValueError, TypeError, IndexError, struct.error, OverflowError) as error:
        raise ValueError(f"not a valid message ({type(error).__name__}: {error})") from None


_TAG_N, _TAG_T, _TAG_F, _TAG_f, _TAG_i, _TAG_s, _TAG_b, _TAG_d = b"NTFfisbd"
_SCALARS = {_TAG_N: None, _TAG_T: True, _TAG_F: False}
_BUILD_BY_CODE = {tag[0]: build for tag, build in _BUILD.items()}


def _decode(data):
    data = bytes(data)
    position, stack = 0, []             # stack: [tag, items still to read, items read]
    while True:
        tag = data[position]
        position += 1
        if tag in _SCALARS:
            value = _SCALARS[tag]
        elif tag == _TAG_f:
            (value,) = _FLOAT.unpack_from(data, position)
            position += 8
        else:
            build = _BUILD_BY_CODE.get(tag)
            if build is None and tag not in (_TAG_i, _TAG_s, _TAG_b):
                raise ValueError(f"unknown tag {bytes([tag])!r}")
            (size,) = _LENGTH.unpack_from(data, position)
            position += 4
            if build is not None:
                count = size * 2 if tag == _TAG_d else size
                if count > len(data) - position:
                    raise ValueError("more items than bytes left")
                if len(stack) >= MAX_DEPTH:
                    raise ValueError(f"nested more than {MAX_DEPTH} levels deep")
                if count:
                    stack.append([build, count, []])
                    continue
                value = build([])
            else:
                raw = data[position:position + size]
                if len(raw) != size:
                    raise ValueError("truncated")
                position += size
                value = (int.from_bytes(raw, "big", signed=True) if tag == _TAG_i
                         else str(raw, "utf-8", "surrogatepass") if tag == _TAG_s else raw)
        while True:                     # hand the value to its container, closing finished ones
            if not stack:
                if position != len(data):
                    raise ValueError("bytes after the end")
                return value
            frame = stack[-1]
            frame[2].append(value)
            frame[1] -= 1
            if frame[1]:
                break
            stack.pop()
            value = frame[0](frame[2])


def frame(value):
    """A whole message: its length, then ``encode(value)``."""
    data = encode(value)
    return _LENGTH.pack(len(data)) + data


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


def frame_request(value):
    """A whole message from the grader: its length, then ``value`` in ``marshal``'s format.
    A subclass of a built-in type crosses as its base type, as with ``encode``."""
    try:
        data = marshal.dumps(value)
    except ValueError:              # not exactly built-in types: take them apart first
        data = marshal.dumps(decode(encode(value)))
    return _LENGTH.pack(len(data)) + data


def send(fd, message):
    write_all(fd, frame(message))


_inbox = bytearray()                # what the grader sent that no message has taken yet


def receive(fd):
    """The next message from the grader, or None once it has gone. One read takes what is
    there, so a message's length and body usually come in one system call, not two."""
    while len(_inbox) < 4 or len(_inbox) < 4 + _LENGTH.unpack_from(_inbox)[0]:
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return None
        _inbox.extend(chunk)
    (length,) = _LENGTH.unpack_from(_inbox)
    body = bytes(_inbox[4:4 + length])
    del _inbox[:4 + length]
    return marshal.loads(body)


# -- the fallback guard (no operating-system isolation) ----------------------------------------

BLOCKED_EVENTS = {
    "os.kill", "os.killpg", "os.system", "os.fork", "os.forkpty", "os.exec", "os.posix_spawn",
    "os.spawn", "subprocess.Popen", "socket.connect", "socket.bind", "socket.__new__",
    "os.remove", "os.unlink", "os.rmdir", "os.rename", "shutil.rmtree", "os.chmod", "os.link",
    "os.symlink", "ctypes.dlopen", "os.putenv", "os.unsetenv", "sys.addaudithook",
    "sys.settrace", "sys.setprofile", "os.chdir",
}


def install_guard(forbidden_dirs, forbidden_imports=("kafkadojo", "reference", "autograder",
                                                       "exercises")):
    """Refuse reading or importing the grader's files, and reaching out of this process.
    Code in this interpreter can disarm it: it keeps honest learners honest, no more."""
    forbidden = tuple(os.path.realpath(d) + os.sep for d in forbidden_dirs)

    def guard(event, args):
        if event == "open" and args and isinstance(args[0], (str, bytes, os.PathLike)):
            path = os.fsdecode(args[0])
            real = os.path.realpath(path)
            if real.startswith(forbidden) or any(real + os.sep == f for f in forbidden):
                raise PermissionError(f"reading {path} is not allowed: write your own code")
        elif event == "import" and args and isinstance(args[0], str):
            if args[0].split(".")[0] in forbidden_imports:
                raise ImportError(f"importing {args[0]} is not allowed: write your own code")
        elif event in BLOCKED_EVENTS or event.startswith(("os.exec", "os.spawn")):
            raise PermissionError(f"{event} is not allowed in graded code")
    sys.addaudithook(guard)


# -- running the learner's code -----------------------------------------------------------------

def learner_traceback(error, filenames):
    """Only the frames from the learner's own units (``filenames``): the grader's stay private."""
    try:
        frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename in filenames]
        text = "".join(traceback.format_list(frames) + traceback.format_exception_only(
            type(error), error))
    except BaseException:               # a message whose str() raises, or is too long to print
        text = f"{type(error).__name__} (its message could not be shown)\n"
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "\n... (cut)\n"


def error_name(error):
    name = type(error).__name__
    return name if isinstance(name, str) else "Exception"


def answer(function, args, namespace, filenames):
    """The reply to one call, framed for the pipe."""
    try:
        result = function(*[from_wire(a, namespace) for a in args])
    except BaseException as error:      # including SystemExit and KeyboardInterrupt
        return frame(("raised", error_name(error), learner_traceback(error, filenames)))
    try:
        return frame(("returned", result))
    except NotPlainData as problem:
        return frame(("bad-return", str(problem)))
    except BaseException as error:      # a hostile __index__, a MemoryError, ...
        return frame(("bad-return", f"could not read the result: {error_name(error)}"))


def write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def load(units, namespace, response_fd):
    """Run each unit in ``namespace``, in order, the way a kernel runs a notebook's cells: a
    unit that fails stops where it failed and the next one runs all the same. Each unit's
    outcome is reported as soon as it is known, so the grader can tell which one hangs.
    A unit the grader sends as None (it hung or crashed before) is skipped."""
    filenames = frozenset(filename for filename, _ in units)
    import linecache
    for filename, source in units:
        if source is not None:
            linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    for index, (filename, source) in enumerate(units):
        if source is None:
            continue
        try:
            exec(compile(source, filename, "exec"), namespace)
        except BaseException as error:     # SyntaxError, NameError, SystemExit, ...
            send(response_fd, ("unit", index, error_name(error),
                               learner_traceback(error, filenames)))
            continue
        send(response_fd, ("unit", index, "", ""))
    return filenames


def callback_stub(name, namespace, request_fd, response_fd):
    """What ``name`` becomes in the learner's namespace when the exercise being graded calls
    another exercise's function: a call that asks the grader, which answers with the engine's
    own result (or its exception), so a mistake in that other function is charged there
    only. No engine code comes here: only the answer."""
    def stub(*args, **kwargs):
        try:
            message = frame(("callback", name, list(args), dict(kwargs)))
        except NotPlainData as problem:
            raise TypeError(f"{name}() takes plain data here: {problem}") from None
        write_all(response_fd, message)
        reply = receive(request_fd)
        if reply is None:               # the grader has gone: nothing left to do
            os._exit(0)
        if reply[0] == "callback-returned":
            return from_wire(reply[1], namespace)
        kind = getattr(builtins, reply[1], None)
        if not (isinstance(kind, type) and issubclass(kind, Exception)):
            kind = RuntimeError
        raise kind(reply[2])
    stub.__name__ = stub.__qualname__ = name
    return stub


def main(argv):
    request_fd, response_fd = int(argv[1]), int(argv[2])
    guard_dirs = argv[argv.index("--guard") + 1:] if "--guard" in argv else None
    if "--max-processes" in argv:
        # Inside a user namespace of its own, the count is this sandbox's processes alone
        # (the reaper bwrap leaves as pid 1, this worker, and what the learner's code starts).
        import resource
        most = int(argv[argv.index("--max-processes") + 1])
        resource.setrlimit(resource.RLIMIT_NPROC, (most, most))
    os.closerange(3, min(request_fd, response_fd))
    os.closerange(max(request_fd, response_fd) + 1, 1 << 16)
    # The learner's prints go nowhere; the protocol has pipes of its own.
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    _, units, bound = receive(request_fd)
    if guard_dirs is not None:
        install_guard(guard_dirs)
    namespace = {"__name__": "submission", "__file__": units[0][0] if units else "submission"}
    filenames = load(units, namespace, response_fd)
    defined = sorted(k for k, v in namespace.items() if type(k) is str and callable(v))
    for name in bound:
        namespace[name] = callback_stub(name, namespace, request_fd, response_fd)
    send(response_fd, ("loaded", defined))
    while True:
        request = receive(request_fd)
        if request is None:
            return
        _, name, args = request
        function = namespace.get(name)
        if not callable(function):
            send(response_fd, ("missing", name))
            continue
        write_all(response_fd, answer(function, args, namespace, filenames))


if __name__ == "__main__":
    main(sys.argv)
