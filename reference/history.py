"""A recorded history of what clients did and saw, in the manner of Jepsen.

Each operation is an ``Op``: a send is *invoked*, then completes ``ok`` (acknowledged at an
offset), ``fail`` (certainly not written) or ``info`` (unknown: a timeout, a crash, an
error after a retry). A poll records what a consumer read from one partition. The checker
(``checker.py``) reads a history and names what went wrong.

Values of ops:
- send invoke ``(topic, key, value)``; ok ``(topic, partition, offset, value)``;
  fail / info ``(topic, key, value, error_name)``
- poll ok ``(topic, partition, ((offset, value), ...))``
- assign ok ``(topic, (partition, ...))``: the consumer was (re)positioned on these partitions.
"""

from typing import NamedTuple

_new_tuple = tuple.__new__


class Op(NamedTuple):
    index: int
    time: int           # simulated milliseconds
    process: str
    type: str           # "invoke" | "ok" | "fail" | "info"
    f: str              # "send" | "poll" | "assign"
    value: object

    def describe(self):
        v = self.value
        if self.f == "send":
            if self.type == "ok":
                topic, partition, offset, value = v
                what = f"{topic}/{partition}@{offset} = {_show(value)}"
            elif self.type == "invoke":
                topic, key, value = v
                what = f"{topic} {_show(value)}" + (f" (key {_show(key)})" if key is not None else "")
            else:
                topic, key, value, error = v
                what = f"{topic} {_show(value)}: {error}"
        elif self.f == "poll":
            topic, partition, records = v
            shown = ", ".join(f"{offset}:{_show(value)}" for offset, value in records[:8])
            more = f", ... ({len(records)} records)" if len(records) > 8 else ""
            what = f"{topic}/{partition} [{shown}{more}]"
        else:
            topic, partitions = v
            what = f"{topic} partitions {list(partitions)}"
        return f"{self.index:>5}  t={self.time}ms  {self.process:<14} {self.type:<6} {self.f:<6} {what}"


def _show(value):
    if isinstance(value, bytes):
        try:
            return value.decode()
        except UnicodeDecodeError:
            return repr(value)
    return repr(value)


class History:
    """An append-only list of ``Op``; recording is one tuple append (it sits on hot paths)."""

    def __init__(self):
        self.ops = []

    def _add(self, time, process, type_, f, value):
        # Op(...) without the Python-level __new__ a NamedTuple has
        op = _new_tuple(Op, (len(self.ops), time, process, type_, f, value))
        self.ops.append(op)
        return op

    def invoke_send(self, time, process, topic, key, value):
        return self._add(time, process, "invoke", "send", (topic, key, value))

    def send_ok(self, time, process, topic, partition, offset, value):
        return self._add(time, process, "ok", "send", (topic, partition, offset, value))

    def send_fail(self, time, process, topic, key, value, error_name):
        return self._add(time, process, "fail", "send", (topic, key, value, error_name))

    def send_info(self, time, process, topic, key, value, error_name):
        return self._add(time, process, "info", "send", (topic, key, value, error_name))

    def poll_ok(self, time, process, topic, partition, records):
        return self._add(time, process, "ok", "poll", (topic, partition, tuple(records)))

    def assign(self, time, process, topic, partitions):
        return self._add(time, process, "ok", "assign", (topic, tuple(partitions)))

    def __len__(self):
        return len(self.ops)

    def __iter__(self):
        return iter(self.ops)

    def format(self, ops=None):
        return "\n".join(op.describe() for op in (self.ops if ops is None else ops))
