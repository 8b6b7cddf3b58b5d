"""Pictures for the notebooks, drawn from real runs of the engine.

Each picture takes optional rules (a learner's functions) and plugs them into the engine
through its seams, so a learner watches *their* rule run. The drawing functions return
HTML strings (testable without a browser); the ``show_*`` functions wrap them in
ipywidgets with sliders.
"""

import html

from kafkadojo.reference import Cluster
from kafkadojo.reference.monitoring import isr_events
from kafkadojo.reference.partitioner import partition_for_key
from kafkadojo.reference.authorizer import acl_matches as REFERENCE_ACL_MATCHES
from kafkadojo.reference.seams import REFERENCE

COMMITTED = "#4c9f70"
READABLE = {"description_width": "initial"}     # a control's whole label, never "segment...."
UNCOMMITTED = "#e0a33b"
LOST = "#c8553d"


class RuleFailed(Exception):
    """A learner's rule raised inside a picture: which rule, with which arguments, and what
    it raised, instead of a traceback through the simulator."""

    def __init__(self, name, args, error):
        super().__init__(name, args, error)
        self.name, self.args_given, self.error = name, args, error

    def __str__(self):
        shown = ", ".join(_short(repr(arg)) for arg in self.args_given)
        return (f"your {self.name}({shown}) raised {type(self.error).__name__}: "
                f"{_short(str(self.error))}")


def _short(text, limit=80):
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _learners(rules):
    """``rules`` (seam name -> a learner's function, or None), each wrapped so that an
    exception names the rule and its arguments (RuleFailed)."""
    return {name: _reported(name, rule) for name, rule in (rules or {}).items()
            if rule is not None}


def _reported(name, rule):
    def reported(*args, **kwargs):
        try:
            return rule(*args, **kwargs)
        except RuleFailed:
            raise
        except Exception as error:      # noqa: BLE001 - a learner's rule may raise anything
            raise RuleFailed(name, args, error) from None
    return reported


def _failed(failure):
    """A short message in place of a picture."""
    return (f"<div style='color:{LOST};font:13px monospace'>The picture stopped: "
            f"{html.escape(str(failure))}</div>")


# Every picture is shown twice: as plain HTML, for wherever widgets cannot run (a notebook
# exported with nbconvert, a notebook viewer, no network for the widget script), and as the
# live widget, whose first drawing hides that copy.
STATIC_COPY = "kafkadojo-static-picture"
HIDE_STATIC_COPY = f"<style>.{STATIC_COPY} {{display: none}}</style>"


def _drawing_area():
    """The HTML widget a picture draws in; whatever it shows also hides the static copies."""
    import ipywidgets as widgets
    out = widgets.HTML()

    def keep_hiding(change):
        if not change["new"].startswith(HIDE_STATIC_COPY):
            out.value = HIDE_STATIC_COPY + change["new"]
    out.observe(keep_hiding, "value")
    return out


def _picture(widget, out):
    """Show the drawing as it is now as a static copy (in a kernel), then return the widget."""
    try:
        from IPython import get_ipython
        from IPython.display import HTML, display
    except ImportError:
        return widget
    if get_ipython() is not None:
        drawing = out.value[len(HIDE_STATIC_COPY):] if out.value.startswith(HIDE_STATIC_COPY) \
            else out.value
        display(HTML(f"<div class='{STATIC_COPY}'>{drawing}<div style='font:11px sans-serif;"
                     f"color:#777'>(a still picture: run the notebook to move the controls)"
                     f"</div></div>"))
    return widget


def _legend(entries, y, gap, per_char, x=0):
    """SVG: a coloured square and its meaning for each ``(colour, meaning)``, left to right
    from ``x`` on baseline ``y``; returns the SVG and where the next entry would start."""
    parts = []
    for color, meaning in entries:
        parts.append(f"<rect x='{x}' y='{y - 10}' width='12' height='12' fill='{color}'/>"
                     f"<text x='{x + 16}' y='{y}'>{html.escape(meaning)}</text>")
        x += gap + per_char * len(meaning)
    return "".join(parts), x


def _bars(counts, colors, legend):
    """Records per partition as SVG bars, the count at each bar's end, and a legend
    ``[(colour, meaning)]`` for the colours used."""
    top = max(counts) or 1
    label, bar = 100, 300
    height = len(counts) * 16 + 28
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{label + bar + 260}' "
             f"height='{height}' font-family='monospace' font-size='12' role='img'>"]
    for p, count in enumerate(counts):
        y = 4 + p * 16
        width = max(1, int(bar * count / top)) if count else 0
        parts.append(f"<text x='0' y='{y + 10}'>partition {p:>2}</text>"
                     f"<rect x='{label}' y='{y}' width='{width}' height='11' fill='{colors[p]}'>"
                     f"<title>partition {p}: {count} records</title></rect>"
                     f"<text x='{label + width + 4}' y='{y + 10}'>{count}</text>")
    return "".join(parts) + _legend(legend, height - 6, gap=30, per_char=7)[0] + "</svg>"


def _box(text, color, title=""):
    return (f'<span title="{html.escape(title)}" style="display:inline-block;min-width:2.2em;'
            f'margin:1px;padding:2px 4px;border-radius:3px;background:{color};color:white;'
            f'font:12px monospace;text-align:center">{html.escape(str(text))}</span>')


# -- partitioning ------------------------------------------------------------------------

def key_spread(num_partitions, records=2_000, hot_key_share=0.0, partition_rule=None, seed=1):
    """Records per partition for ``records`` keyed records; ``hot_key_share`` of them carry one
    key (a celebrity user, say). Returns (counts, the hot key's partition)."""
    import random
    rule = (_reported("partition_for_key", partition_rule) if partition_rule
            else partition_for_key)
    rng = random.Random(seed)
    counts = [0] * num_partitions
    hot = b"user-42"
    for i in range(records):
        key = hot if rng.random() < hot_key_share else b"user-%d" % rng.randrange(100_000)
        counts[rule(key, num_partitions)] += 1
    return counts, rule(hot, num_partitions)


def draw_key_spread(num_partitions, hot_key_share=0.0, partition_rule=None):
    try:
        counts, hot_partition = key_spread(num_partitions, hot_key_share=hot_key_share,
                                           partition_rule=partition_rule)
    except RuleFailed as failure:
        return _failed(failure)
    hot = hot_key_share > 0.2
    colors = [LOST if p == hot_partition and hot else COMMITTED for p in range(num_partitions)]
    legend = [(COMMITTED, "records per partition")]
    if hot:
        legend.append((LOST, "the hot key's partition"))
    fair = sum(counts) / num_partitions
    note = (f"<div>busiest partition: {max(counts)} records, {max(counts) / fair:.1f}x a fair "
            f"share; the hot key lives on partition {hot_partition}</div>")
    return _bars(counts, colors, legend) + note


def show_key_spread(partition_rule=None):
    import ipywidgets as widgets
    partitions = widgets.IntSlider(value=6, min=1, max=16, description="partitions", style=READABLE)
    hot = widgets.FloatSlider(value=0.0, min=0.0, max=0.9, step=0.1, description="hot key",
                              style=READABLE)
    out = _drawing_area()

    def redraw(_=None):
        out.value = draw_key_spread(partitions.value, hot.value, partition_rule)
    partitions.observe(redraw, "value")
    hot.observe(redraw, "value")
    redraw()
    return _picture(widgets.VBox([partitions, hot, out]), out)


def sticky_spread(adaptive=True, availability_timeout_ms=0, next_partition=None, seconds=4,
                  seed=2):
    """Records without a key, 5 every 5 ms, to 6 partitions led by 3 brokers, while the
    producer cannot reach broker 0 (its requests time out, its queues grow). Returns
    ``(counts per partition, the partitions broker 0 leads)``: the built-in partitioner
    (``next_partition``: yours, or the engine's) decides where each record goes."""
    cluster = Cluster(brokers=3, seed=seed, seams=REFERENCE.with_rules(
        **_learners({"next_partition": next_partition})))
    cluster.create_topic("orders", partitions=6, replication_factor=1)
    producer = cluster.producer(
        acks="1", linger_ms=5, batch_size=2_000, max_in_flight_requests_per_connection=1,
        partitioner_adaptive_partitioning_enable=adaptive,
        partitioner_availability_timeout_ms=availability_timeout_ms)
    for partition in range(6):      # one batch to every partition: now it can weigh them all
        producer.send("orders", b"hello", partition=partition)
    producer.flush()
    cluster.partition_network([producer.node_id], [0])
    futures = []
    for _ in range(seconds * 200):
        futures.extend(producer.send("orders", b"x" * 90) for _ in range(5))
        cluster.run_for(5)
    counts = [0] * 6
    for future in futures:
        counts[future.partition] += 1
    return counts, {p for p in range(6) if cluster.leader("orders", p) == 0}


def draw_sticky_spread(adaptive=True, availability_timeout_ms=0, next_partition=None):
    try:
        counts, slow = sticky_spread(adaptive, availability_timeout_ms, next_partition)
    except RuleFailed as failure:
        return _failed(failure)
    except Exception as error:      # noqa: BLE001 - a learner's rule broke the producer: show why
        return f"<div>the producer stopped: {html.escape(type(error).__name__)}: {html.escape(str(error))}</div>"
    colors = [LOST if p in slow else COMMITTED for p in range(len(counts))]
    bars = _bars(counts, colors, [(COMMITTED, "records per partition"),
                                  (LOST, "led by broker 0, unreachable")])
    share = sum(counts[p] for p in slow) / (sum(counts) or 1)
    note = (f"<div>partitions {sorted(slow)} (red) are led by broker 0, which the producer "
            f"cannot reach: they got {share:.0%} of the records</div>")
    return bars + note


def show_sticky_spread(next_partition=None):
    import ipywidgets as widgets
    adaptive = widgets.Checkbox(value=True, description="partitioner.adaptive.partitioning.enable",
                                style=READABLE)
    timeout = widgets.Dropdown(options=[0, 500, 2_000], value=0,
                               description="partitioner.availability.timeout.ms", style=READABLE)
    out = _drawing_area()

    def redraw(_=None):
        out.value = draw_sticky_spread(adaptive.value, timeout.value, next_partition)
    adaptive.observe(redraw, "value")
    timeout.observe(redraw, "value")
    redraw()
    return _picture(widgets.VBox([adaptive, timeout, out]), out)


# -- the log: segments rolling, retention deleting -----------------------------------------------

DELETED = "#9a9a9a"


def log_story(rules=None, segment_bytes=400, retention_ms=15_000, steps=40):
    """One leader's log over ``steps`` simulated seconds: a record a second, a follower that
    lags a little (the high watermark trails the log end) and stalls from second 18 to 30
    (the high watermark stops), and a retention check every 8 s.
    ``rules`` maps seam names (``should_roll``, ``deletable_segments``, ...) to a learner's
    functions. Returns snapshots ``(caption, segments, deleted, start, hw, leo, error)``,
    where ``segments`` is ``[(base_offset, [offsets])]`` and ``deleted`` the offsets gone."""
    from kafkadojo.reference.log import Log
    log = Log("story", 0, segment_bytes=segment_bytes, segment_ms=10**9,
              seams=REFERENCE.with_rules(**_learners(rules)))
    deleted, snapshots = [], []

    def snap(caption, error=None):
        segments = [(seg.base_offset, [o for b in seg.batches
                                       for o in range(b.base_offset, b.next_offset)])
                    for seg in log.segments]
        snapshots.append((caption, segments, list(deleted), log.log_start_offset,
                          log.high_watermark, log.log_end_offset, error))

    snap("an empty log: one empty active segment at offset 0")
    for second in range(1, steps + 1):
        now = second * 1_000
        try:
            before = len(log.segments)
            log.append_as_leader(None, [b"record %03d" % second], [now], None, 0, now)
            stalled = 18 <= second <= 30
            if not stalled:         # the follower is two records behind the leader
                log.high_watermark = max(log.log_end_offset - 2, 0)
            caption = (f"t={now} ms: offset {log.log_end_offset - 1} appended"
                       + (", the active segment was full: rolled" if len(log.segments) > before else "")
                       + (" (the follower has stalled: the HW stays put)" if stalled else ""))
            if second % 8 == 2:
                start = log.log_start_offset
                gone = log.delete_old_segments(now, retention_ms, -1)
                deleted.extend(range(start, log.log_start_offset))
                caption += (f"; retention check: {gone} segment(s) older than {retention_ms} ms "
                            f"deleted, the log now starts at {log.log_start_offset}")
        except Exception as error:      # noqa: BLE001 - a learner's rule broke the log: show why
            snap(f"t={now} ms: the engine stopped", str(error) if isinstance(error, RuleFailed)
                 else f"{type(error).__name__}: {error}")
            break
        snap(caption)
    return snapshots


def draw_log(snapshot):
    """The log as SVG: one row per segment (and one for what retention deleted), each offset
    in its own column, so the segments tile the offsets; lines mark the log start offset and
    the high watermark; a legend explains the colours."""
    caption, segments, deleted, start, hw, leo, error = snapshot
    shown_deleted = list(deleted[-24:])
    offsets = shown_deleted + [o for _, segment_offsets in segments for o in segment_offsets]
    first = min(offsets + [start])
    count = max(leo - first, 1)
    cell = max(14, min(30, 900 // count))
    label = 110
    rows = [("deleted", shown_deleted)] if shown_deleted else []
    rows += [(("active " if i == len(segments) - 1 else "segment ") + str(base), segment_offsets)
             for i, (base, segment_offsets) in enumerate(segments)]
    legend = [(COMMITTED, "committed (below the HW)"), (UNCOMMITTED, "not committed yet"),
              (DELETED, "deleted by retention")]
    width = max(label + count * cell + 40, sum(40 + 7 * len(t) for _, t in legend) + 260)
    height = 20 + len(rows) * 22 + 26
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
             f"font-family='monospace' font-size='11' role='img'>"]
    for number, (name, row_offsets) in enumerate(rows):
        y = 16 + number * 22
        parts.append(f"<text x='0' y='{y + 13}'>{html.escape(name)}</text>")
        for offset in row_offsets:
            color = DELETED if name == "deleted" else COMMITTED if offset < hw else UNCOMMITTED
            x = label + (offset - first) * cell
            parts.append(f"<rect x='{x + 1}' y='{y}' width='{cell - 2}' height='18' rx='2' "
                         f"fill='{color}'><title>offset {offset}</title></rect>")
            if cell >= 22:
                parts.append(f"<text x='{x + cell // 2}' y='{y + 13}' text-anchor='middle' "
                             f"fill='white'>{offset}</text>")
    bottom = 16 + len(rows) * 22
    for offset, text, color in ((start, "log start", "#555"), (hw, "HW", "#222")):
        x = label + (offset - first) * cell
        parts.append(f"<line x1='{x}' x2='{x}' y1='4' y2='{bottom}' stroke='{color}' "
                     f"stroke-width='2'/><text x='{x + 3}' y='10' fill='{color}'>{text} {offset}"
                     f"</text>")
    legend_y = height - 6
    drawn, x = _legend(legend, legend_y, gap=40, per_char=7)
    parts.append(f"{drawn}<text x='{x}' y='{legend_y}'>log end offset {leo}</text></svg>")
    out = [f"<div style='font-weight:bold;margin-bottom:4px'>{html.escape(caption)}</div>",
           "".join(parts)]
    if error:
        out.append(f"<div style='color:{LOST};font-weight:bold'>{html.escape(error)}</div>")
    return "".join(out)


def show_log(rules=None, retention_ms=15_000):
    import ipywidgets as widgets
    size = widgets.IntSlider(value=400, min=150, max=1_200, step=50, description="segment.bytes",
                             style=READABLE)
    retention = widgets.IntSlider(value=retention_ms, min=2_000, max=40_000, step=1_000,
                                  description="retention.ms", style=READABLE)
    step = widgets.IntSlider(value=0, min=0, max=40, description="second", style=READABLE)
    play = widgets.Play(min=0, max=40, interval=600)
    widgets.jslink((play, "value"), (step, "value"))
    out = _drawing_area()
    state = {}

    def rebuild(_=None):
        state["snapshots"] = log_story(rules, size.value, retention.value)
        step.max = play.max = len(state["snapshots"]) - 1
        redraw()

    def redraw(_=None):
        snapshots = state["snapshots"]
        out.value = draw_log(snapshots[min(step.value, len(snapshots) - 1)])
    size.observe(rebuild, "value")
    retention.observe(rebuild, "value")
    step.observe(redraw, "value")
    rebuild()
    return _picture(widgets.VBox([size, retention, widgets.HBox([play, step]), out]), out)


# -- compaction: a table's change log, cleaned ---------------------------------------------------

CLEAN = "#3b6ea5"
DIRTY = "#e0a33b"
NOT_CLEANABLE = "#9fb3c8"
TOMBSTONE = "#333333"
TABLE_WRITES = 40          # one write a second


def _table_writes(seed=7):
    """The story's writes, the same every time: ``(key, city or None for a delete)``, a
    table of where five people live. Bob moves in at 3 s and is deleted at 14 s, Cy is
    deleted at 27 s; neither is written again. The slow reader saw both before their
    deletes, so it must see the deletes too."""
    import random
    rng = random.Random(seed)
    cities = ["oslo", "rome", "lima", "kyiv", "pune", "doha", "baku", "riga"]
    writes = []
    for second in range(1, TABLE_WRITES + 1):
        if second == 3:
            writes.append(("bob", "rome"))
        elif second in (14, 27):
            writes.append(("bob" if second == 14 else "cy", None))
        else:
            people = ["ann", "cy", "dee", "eve"] if second < 27 else ["ann", "dee", "eve"]
            writes.append((rng.choice(people), rng.choice(cities)))
    return writes


def compaction_story(rules=None, delete_retention_ms=12_000, min_cleanable_dirty_ratio=0.3,
                     segment_bytes=230, clean_every_s=4, read_every_s=9):
    """A compacted partition over 40 simulated seconds: one write a second to a table of five
    people (updates, and two deletes), a cleaner pass every ``clean_every_s`` seconds with
    the rules in ``rules`` (seam name -> a learner's function), and a slow reader that reads
    from the start every ``read_every_s`` seconds, keeping its own copy of the table.
    Returns one snapshot a second: ``dict(caption, segments, removed, first_dirty,
    first_uncleanable, hw, leo, ratio, log_table, reader_table, error)``, where
    ``segments`` is ``[(base, [(offset, key, value, delete_horizon)])]``."""
    from kafkadojo.reference.cleaner import CleanerStats, clean_once, offsets_to_clean
    from kafkadojo.reference.log import Log
    from kafkadojo.reference.workload import replay_table
    seams = REFERENCE.with_rules(**_learners(rules))
    log = Log("people", 0, segment_bytes=segment_bytes, segment_ms=10**9, seams=seams)
    config = {"min.cleanable.dirty.ratio": min_cleanable_dirty_ratio, "min.compaction.lag.ms": 0,
              "max.compaction.lag.ms": 2**63 - 1, "delete.retention.ms": delete_retention_ms}
    written = {}            # offset -> (key, value): what was ever in the log
    reader = {"position": 0, "table": {}}
    snapshots = []

    def snap(now, caption, error=None):
        held = [(segment.base_offset, [(r.offset, r.key.decode(), r.value and r.value.decode(),
                                        b.delete_horizon)
                                       for b in segment.batches for r in b.records("people", 0)])
                for segment in log.segments]
        present = {offset for _, records in held for offset, *_ in records}
        first_dirty = first_uncleanable = ratio = None
        if error is None:
            try:
                first_dirty, first_uncleanable, ratio, _ = offsets_to_clean(
                    log, now, seams, config.__getitem__)
            except RuleFailed as failure:
                error = str(failure)
        snapshots.append(dict(
            caption=caption, now=now, segments=held, hw=log.high_watermark, leo=log.log_end_offset,
            removed=sorted((o, k, v) for o, (k, v) in written.items() if o not in present),
            first_dirty=first_dirty, first_uncleanable=first_uncleanable, ratio=ratio,
            log_table=replay_table((o, k, v) for _, records in held for o, k, v, _ in records),
            reader_table=dict(reader["table"]), error=error,
            # keys the reader holds though it read past their delete: it never saw the tombstone
            resurrected=sorted(set(reader["table"]) - set(replay_table(
                (o, k, v) for o, (k, v) in sorted(written.items()) if o < reader["position"])))))

    snap(0, "an empty compacted partition")
    for second, (key, value) in enumerate(_table_writes(), 1):
        now = second * 1_000
        events = [f"{key} " + (f"moves to {value}" if value else "is deleted (a tombstone)")]
        try:
            batch = log.append_as_leader([key.encode()], [value and value.encode()], [now], None,
                                         0, now)
            written[batch.base_offset] = (key, value)
            log.high_watermark = max(log.log_end_offset - 1, 0)     # a follower one behind
            if second % clean_every_s == 0:
                stats = clean_once(log, now, seams, config.__getitem__, capacity=1_000,
                                   stats=CleanerStats())
                events.append("the cleaner passed: " + (
                    f"{stats.records_removed} record(s) removed" if stats
                    else "the log did not need cleaning"))
            if second % read_every_s == 0:
                for batch in log.read(reader["position"], max_offset=log.high_watermark):
                    for record in batch.records("people", 0):
                        if record.offset >= reader["position"]:
                            if record.value is None:
                                reader["table"].pop(record.key.decode(), None)
                            else:
                                reader["table"][record.key.decode()] = record.value.decode()
                reader["position"] = log.high_watermark
                events.append(f"the slow reader caught up to offset {log.high_watermark}")
        except Exception as error:      # noqa: BLE001 - a learner's rule broke the log: show why
            snap(now, f"t={second} s: the engine stopped", str(error) if isinstance(
                error, RuleFailed) else f"{type(error).__name__}: {error}")
            break
        snap(now, f"t={second} s: " + "; ".join(events))
    return snapshots


def draw_compaction(snapshot):
    """The partition as SVG: one row per segment, each offset in its own column, coloured by
    section (clean below the cleaner's checkpoint, dirty above it, not cleanable from the
    first uncleanable offset), tombstones dark, removed records as hollow crossed-out
    cells; then the table the log rebuilds next to the slow reader's copy."""
    offsets = [o for _, records in snapshot["segments"] for o, *_ in records] + \
        [o for o, *_ in snapshot["removed"]]
    leo = snapshot["leo"]
    cell, label = 30, 92
    rows = snapshot["segments"]
    removed = {o: (k, v) for o, k, v in snapshot["removed"]}
    first_dirty, first_uncleanable = snapshot["first_dirty"], snapshot["first_uncleanable"]
    legend = [(CLEAN, "clean"), (DIRTY, "dirty"), (NOT_CLEANABLE, "not cleanable yet"),
              (TOMBSTONE, "tombstone"), ("#ffffff", "removed by the cleaner")]
    width = max(label + max(leo, 1) * cell + 20, 760)
    top = 40                # room for the three offset marks' labels
    height = top + len(rows) * 24 + 30
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
             f"font-family='monospace' font-size='11' role='img'>"]
    for number, (base, records) in enumerate(rows):
        y = top + number * 24
        end = rows[number + 1][0] if number + 1 < len(rows) else leo
        name = ("active " if number == len(rows) - 1 else "segment ") + str(base)
        parts.append(f"<text x='0' y='{y + 14}'>{name}</text>")
        held = {o: (k, v, h) for o, k, v, h in records}
        for offset in range(base, max(end, base)):
            x = label + offset * cell
            if offset in held:
                key, value, horizon = held[offset]
                if value is None:
                    color = TOMBSTONE
                elif first_dirty is not None and offset < first_dirty:
                    color = CLEAN
                elif first_uncleanable is not None and offset < first_uncleanable:
                    color = DIRTY
                else:
                    color = NOT_CLEANABLE
                what = f"{key} deleted" + (f", delete horizon {horizon} ms" if horizon >= 0
                                           else ", no delete horizon yet") \
                    if value is None else f"{key} = {value}"
                parts.append(f"<rect x='{x + 1}' y='{y}' width='{cell - 2}' height='20' rx='2' "
                             f"fill='{color}'><title>offset {offset}: {html.escape(what)}</title>"
                             f"</rect><text x='{x + cell // 2}' y='{y + 14}' text-anchor='middle' "
                             f"fill='white'>{html.escape(key[:3])}</text>")
            elif offset in removed:
                key, value = removed[offset]
                what = f"{key} = {value}" if value else f"{key} deleted"
                parts.append(f"<rect x='{x + 1}' y='{y}' width='{cell - 2}' height='20' rx='2' "
                             f"fill='white' stroke='{DELETED}'><title>offset {offset} "
                             f"({html.escape(what)}) removed by the cleaner</title></rect>"
                             f"<text x='{x + cell // 2}' y='{y + 14}' text-anchor='middle' "
                             f"fill='{DELETED}' text-decoration='line-through'>"
                             f"{html.escape(key[:3])}</text>")
    bottom = top + len(rows) * 24
    marks = [(snapshot["hw"], "HW", "#222")]
    if first_dirty is not None:
        marks += [(first_dirty, "first dirty (the cleaner's checkpoint)", CLEAN),
                  (first_uncleanable, "first uncleanable", "#a0522d")]
    for position, (offset, text, color) in enumerate(marks):
        x = label + offset * cell
        y = 10 + position * 12
        anchor = "end" if offset * cell > width - label - 300 else "start"
        shift = -3 if anchor == "end" else 3
        parts.append(f"<line x1='{x}' x2='{x}' y1='{y - 8}' y2='{bottom}' stroke='{color}' "
                     f"stroke-width='2'/><text x='{x + shift}' y='{y}' text-anchor='{anchor}' "
                     f"fill='{color}'>{text} {offset}</text>")
    drawn, _ = _legend(legend, height - 6, gap=34, per_char=7)
    parts.append(drawn.replace("fill='#ffffff'", f"fill='#ffffff' stroke='{DELETED}'") + "</svg>")
    log_table, reader_table = snapshot["log_table"], snapshot["reader_table"]
    cells = []
    for key in sorted(set(log_table) | set(reader_table)):
        have, want = reader_table.get(key), log_table.get(key)
        style = f"color:{LOST};font-weight:bold" if key in snapshot["resurrected"] else ""
        cells.append(f"<tr style='{style}'><td>{html.escape(key)}</td>"
                     f"<td>{html.escape(want or '(deleted)')}</td>"
                     f"<td>{html.escape(have or '-')}</td></tr>")
    table = ("<table style='font:12px monospace;border-collapse:collapse' cellpadding='3'>"
             "<tr><th align='left'>key</th><th align='left'>the table the log holds</th>"
             "<th align='left'>the slow reader's copy (it reads every 9 s)</th></tr>"
             + "".join(cells) + "</table>")
    ratio = snapshot["ratio"]
    ageing = []
    for _, records in rows:
        for offset, key, value, horizon in records:
            if value is not None:
                continue
            if horizon < 0:
                ageing.append(f"{key}'s tombstone (offset {offset}): no delete horizon yet; the "
                              f"next pass that copies it keeps it and sets one")
            else:
                left = (horizon - snapshot["now"]) / 1_000
                ageing.append(f"{key}'s tombstone (offset {offset}): delete horizon "
                              f"t={horizon / 1_000:g} s, " + (f"{left:g} s from now" if left > 0
                                                             else "passed: the next pass removes it"))
    out = [f"<div style='font-weight:bold;margin-bottom:4px'>{html.escape(snapshot['caption'])}"
           f"</div>", "".join(parts),
           f"<div style='font:12px monospace'>dirty ratio "
           f"{'-' if ratio is None else f'{ratio:.2f}'}</div>",
           "".join(f"<div style='font:12px monospace'>{html.escape(line)}</div>" for line in ageing),
           table]
    back = snapshot["resurrected"]
    if back:
        out.append(f"<div style='color:{LOST};font-weight:bold'>The slow reader still has "
                   f"{', '.join(back)}: the delete was removed before it read it.</div>")
    if snapshot["error"]:
        out.append(f"<div style='color:{LOST};font-weight:bold'>"
                   f"{html.escape(snapshot['error'])}</div>")
    return "".join(out)


def show_compaction(rules=None, delete_retention_ms=12_000):
    import ipywidgets as widgets
    retention = widgets.IntSlider(value=delete_retention_ms, min=1_000, max=30_000, step=1_000,
                                  description="delete.retention.ms", style=READABLE)
    ratio = widgets.FloatSlider(value=0.3, min=0.0, max=0.9, step=0.1,
                                description="min.cleanable.dirty.ratio", style=READABLE)
    step = widgets.IntSlider(value=TABLE_WRITES, min=0, max=TABLE_WRITES, description="second",
                             style=READABLE)
    play = widgets.Play(min=0, max=TABLE_WRITES, interval=700)
    widgets.jslink((play, "value"), (step, "value"))
    out = _drawing_area()
    state = {}

    def rebuild(_=None):
        state["snapshots"] = compaction_story(rules, retention.value, ratio.value)
        redraw()

    def redraw(_=None):
        snapshots = state["snapshots"]
        out.value = draw_compaction(snapshots[min(step.value, len(snapshots) - 1)])
    retention.observe(rebuild, "value")
    ratio.observe(rebuild, "value")
    step.observe(redraw, "value")
    rebuild()
    return _picture(widgets.VBox([retention, ratio, widgets.HBox([play, step]), out]), out)


# -- the idempotent producer: a retry after a lost acknowledgement ------------------------------

def idempotence_story(idempotent=True, rules=None, records=6, lost_at=2, seed=5):
    """A producer sends ``records`` records to one partition, one after the other; the
    acknowledgement of record ``lost_at`` is lost with its connection, so the producer sends
    that record again. Returns ``(steps, log)``: what happened, as ``(time_ms, who, text)``,
    and the leader's log as ``[(offset, value)]``. ``rules`` maps seam names
    (``check_append``, ``increment_sequence``) to a learner's functions."""
    from kafkadojo.reference.cluster import Cluster
    cluster = Cluster(brokers=3, seed=seed, seams=REFERENCE.with_rules(**_learners(rules)))
    cluster.create_topic("orders", replication_factor=3, config={"min.insync.replicas": 2})
    producer = cluster.producer("producer", linger_ms=0, enable_idempotence=idempotent,
                                request_timeout_ms=1_000)
    leader = cluster.leader("orders", 0)
    log = cluster.log(leader, "orders", 0)
    steps = []
    for number in range(records):
        value = b"order-%d" % number
        future = producer.send("orders", value, partition=0)
        if number == lost_at:
            appended = log.log_end_offset
            cluster.run_until(lambda: log.high_watermark > appended, timeout_ms=5_000)
            sequence = future.batch.base_sequence
            steps.append((cluster.now, "producer", f"sent {value.decode()}" + (
                f" as sequence {sequence}" if sequence >= 0 else "")))
            steps.append((cluster.now, f"leader {leader}",
                          f"appended it at offset {appended}, and acknowledged it"))
            cluster.network.break_link("producer", leader)
            steps.append((cluster.now, "network", "the connection breaks: the acknowledgement "
                                                  "is lost"))
            steps.append((cluster.now, "producer", f"sends {value.decode()} again, with the same "
                          + ("producer id, epoch and sequence" if idempotent
                             else "records (and no sequence)")))
        future.get()
        if number == lost_at:
            offset = future.offset
            duplicate = offset == appended
            steps.append((cluster.now, f"leader {leader}", (
                f"a retry of sequence {sequence}: answered with offset {offset}, nothing "
                f"appended" if duplicate else f"appended it again, at offset {offset}")))
        else:
            steps.append((cluster.now, "producer", f"sent {value.decode()}: offset "
                                                   f"{future.offset}"))
    return steps, [(offset, value.decode()) for offset, value
                   in enumerate(log.values(0, log.log_end_offset))]


def draw_idempotence(idempotent=True, rules=None):
    """The story's steps, then the leader's log, a record written twice in red."""
    try:
        steps, records = idempotence_story(idempotent, rules)
    except RuleFailed as failure:
        return _failed(failure)
    counts = {}
    for _, value in records:
        counts[value] = counts.get(value, 0) + 1
    rows = "".join(f"<tr><td>t={t} ms</td><td>{html.escape(who)}</td>"
                   f"<td>{html.escape(text)}</td></tr>" for t, who, text in steps)
    cells = "".join(_box(f"{offset}: {value}", LOST if counts[value] > 1 else COMMITTED,
                         f"offset {offset}") for offset, value in records)
    twice = [value for value, count in counts.items() if count > 1]
    verdict = (f"<div style='color:{LOST};font-weight:bold'>written twice: {', '.join(twice)}"
               f"</div>" if twice else "<div>every record once, in the order sent</div>")
    return (f"<table style='font:12px monospace' cellpadding='2'>{rows}</table>"
            f"<div style='margin-top:6px'>the leader's log:</div><div>{cells}</div>{verdict}")


def show_idempotence(rules=None):
    import ipywidgets as widgets
    toggle = widgets.ToggleButtons(options=[("enable.idempotence=true", True),
                                            ("enable.idempotence=false", False)],
                                   description="producer", style=READABLE)
    out = _drawing_area()

    def redraw(_=None):
        out.value = draw_idempotence(toggle.value, rules)
    toggle.observe(redraw, "value")
    redraw()
    return _picture(widgets.VBox([toggle, out]), out)


# -- transactions: one transaction across partitions, markers, the LSO -----------------------

MARKER = "#555555"
ABORTED = "#9a9a9a"


def _transaction_snapshot(cluster, caption, topic="payments", partitions=2, txn_id="tx"):
    """What the coordinator, each partition's leader, and the two kinds of consumer would
    show now: ``(time, caption, coordinator state, [partition view])``, each partition view
    ``(batches, HW, LSO, read_uncommitted values, read_committed values)``."""
    state = next((s for _, tid, _, _, s in reversed(cluster.transaction_log) if tid == txn_id),
                 "(none yet)")
    views = []
    seams = cluster.seams
    for p in range(partitions):
        log = cluster.log(cluster.leader(topic, p), topic, p)
        hw, lso = log.high_watermark, log.last_stable_offset
        fates = {}
        open_values = {}
        for batch in log.batches:
            if batch.control is not None:
                for offset in open_values.pop(batch.producer_id, []):
                    fates[offset] = batch.control
            elif batch.transactional:
                open_values.setdefault(batch.producer_id, []).append(batch.base_offset)
        batches = [(b.base_offset, b.control or b.values[0].decode(),
                    "marker" if b.control else fates.get(b.base_offset, "open"))
                   for b in log.batches]
        below_hw = [b for b in log.batches if b.base_offset < hw]
        uncommitted = [b.values[0].decode() for b in below_hw if b.control is None]
        below_lso = [b for b in log.batches if b.base_offset < lso]
        keep = set(seams.read_committed_batches(
            [(b.base_offset, b.last_offset, b.producer_id, b.transactional, b.control)
             for b in below_lso],
            [(a.producer_id, a.first_offset)
             for a in log.producer_state.aborted_for_fetch(0, lso)]))
        committed = [b.values[0].decode() for b in below_lso if b.base_offset in keep]
        views.append((batches, hw, lso, uncommitted, committed))
    return (cluster.now, caption, state, views)


def transaction_story(zombie=False, rules=None, seed=6):
    """A transactional producer writes one transaction across two partitions and commits it,
    then one it aborts; with ``zombie``, a second instance with the same transactional.id
    starts while the first has a transaction open, and fences it. Returns snapshots taken
    every few simulated milliseconds while something changed (``_transaction_snapshot``)."""
    cluster = Cluster(brokers=3, seed=seed, seams=REFERENCE.with_rules(**_learners(rules)),
                      config={"transaction.state.log.num.partitions": 3})
    cluster.create_topic("payments", partitions=2, replication_factor=3,
                         config={"min.insync.replicas": 2})
    snapshots, said = [], ["the producer starts"]

    def say(caption):
        said[0] = caption

    def camera():
        snapshot = _transaction_snapshot(cluster, said[0])
        if not snapshots or snapshot[1:] != snapshots[-1][1:]:
            snapshots.append(snapshot)
        cluster.sim.schedule(1, camera)
    cluster.sim.schedule(1, camera)
    producer = cluster.producer("app", transactional_id="tx", linger_ms=0)
    say("init_transactions(): the coordinator gives producer id and epoch")
    producer.init_transactions()
    producer.begin_transaction()
    say("begin_transaction(); send a -> partition 0, b -> partition 1: both partitions join")
    producer.send("payments", b"a", partition=0)
    producer.send("payments", b"b", partition=1)
    producer.flush()
    cluster.run_for(20)
    say("commit_transaction(): PrepareCommit, then a COMMIT marker in each partition")
    producer.commit_transaction()
    cluster.run_for(30)
    if zombie:
        producer.begin_transaction()
        say("the first instance sends c and hangs (a long GC pause)")
        producer.send("payments", b"c", partition=0)
        producer.flush()
        cluster.run_for(20)
        say("a second instance calls init_transactions(): the coordinator fences epoch "
            f"{producer.producer_epoch} and aborts c's transaction")
        successor = cluster.producer("app-2", transactional_id="tx", linger_ms=0)
        successor.init_transactions()
        cluster.run_for(20)
        try:
            producer.commit_transaction()
            say("the zombie's commit went through")
        except Exception as error:      # noqa: BLE001 - shown, whatever it is
            say(f"the zombie wakes up and commits: "
                f"{getattr(error, 'name', type(error).__name__)}, refused")
        cluster.run_for(10)
        producer = successor
    producer.begin_transaction()
    say("begin_transaction(); send x -> partition 0, y -> partition 1")
    producer.send("payments", b"x", partition=0)
    producer.send("payments", b"y", partition=1)
    producer.flush()
    cluster.run_for(20)
    say("abort_transaction(): PrepareAbort, then an ABORT marker in each partition")
    producer.abort_transaction()
    cluster.run_for(30)
    return snapshots


_FATE_COLORS = {"COMMIT": COMMITTED, "ABORT": ABORTED, "open": UNCOMMITTED, "marker": MARKER}


def draw_transaction(snapshot):
    now, caption, state, views = snapshot
    rows = []
    for p, (batches, hw, lso, uncommitted, committed) in enumerate(views):
        cells = "".join(_box(text, _FATE_COLORS[fate], f"offset {offset}")
                        for offset, text, fate in batches)
        rows.append(
            f"<tr><td>partition {p}</td><td>{cells or '(empty)'}</td>"
            f"<td>HW {hw} &middot; <b>LSO {lso}</b></td>"
            f"<td>{html.escape(', '.join(uncommitted) or '-')}</td>"
            f"<td>{html.escape(', '.join(committed) or '-')}</td></tr>")
    legend = " ".join(_box(name, color) for name, color in (
        ("in an open transaction", UNCOMMITTED), ("committed", COMMITTED),
        ("aborted", ABORTED), ("marker", MARKER)))
    return (f"<div style='font:13px sans-serif'><b>t={now} ms</b> {html.escape(caption)}</div>"
            f"<div style='font:12px monospace;margin:4px 0'>coordinator: transactional.id "
            f"tx is <b>{html.escape(state)}</b></div>"
            f"<table style='font:12px monospace' cellpadding='3'><tr><th></th><th>the leader's "
            f"log</th><th></th><th>read_uncommitted sees</th><th>read_committed sees</th></tr>"
            f"{''.join(rows)}</table><div style='margin-top:4px'>{legend}</div>")


def show_transactions(rules=None):
    import ipywidgets as widgets
    story = widgets.ToggleButtons(options=[("commit, then abort", False),
                                           ("a zombie fenced", True)],
                                  description="story", style=READABLE)
    step = widgets.IntSlider(description="moment", min=0, max=0, style=READABLE)
    play = widgets.Play(interval=600, min=0, max=0)
    widgets.jslink((play, "value"), (step, "value"))
    out = _drawing_area()
    snapshots = []

    def rebuild(_=None):
        try:
            snapshots[:] = transaction_story(story.value, rules)
        except RuleFailed as failure:
            snapshots[:] = []
            out.value = _failed(failure)
            return
        step.max = play.max = len(snapshots) - 1
        step.value = 0
        redraw()

    def redraw(_=None):
        if snapshots:
            out.value = draw_transaction(snapshots[min(step.value, len(snapshots) - 1)])
    story.observe(rebuild, "value")
    step.observe(redraw, "value")
    rebuild()
    return _picture(widgets.VBox([story, widgets.HBox([play, step]), out]), out)


# -- security: who may do what ------------------------------------------------------------------

ACL_STORIES = {
    "two tenants": (
        "Each tenant's application gets ALL on its own prefix; an auditor may read "
        "everything; nobody else has any ACL.",
        [("TOPIC", "tenantA.", "PREFIXED", "User:tenantA-app", "*", "ALL", "ALLOW"),
         ("TOPIC", "tenantB.", "PREFIXED", "User:tenantB-app", "*", "ALL", "ALLOW"),
         ("TOPIC", "*", "LITERAL", "User:auditor", "*", "READ", "ALLOW")]),
    "a deny for everyone": (
        "Everyone may read shared.events, but a DENY of ALL for User:* on tenantB. wins "
        "over every ALLOW there, the tenant's own included.",
        [("TOPIC", "tenantA.", "PREFIXED", "User:tenantA-app", "*", "ALL", "ALLOW"),
         ("TOPIC", "tenantB.", "PREFIXED", "User:tenantB-app", "*", "ALL", "ALLOW"),
         ("TOPIC", "tenantB.", "PREFIXED", "User:*", "*", "ALL", "DENY"),
         ("TOPIC", "shared.events", "LITERAL", "User:*", "*", "READ", "ALLOW")]),
    "a prefix without its dot": (
        "tenantA's ACL says PREFIXED tenantA, not tenantA.: it also covers tenantAB.secrets, "
        "another tenant's topic (the separator belongs in the prefix).",
        [("TOPIC", "tenantA", "PREFIXED", "User:tenantA-app", "*", "ALL", "ALLOW"),
         ("TOPIC", "tenantAB.", "PREFIXED", "User:tenantAB-app", "*", "ALL", "ALLOW")]),
}
ACL_PRINCIPALS = ("User:tenantA-app", "User:tenantB-app", "User:auditor", "User:admin")
ACL_RESOURCES = (("tenantA.orders", "WRITE"), ("tenantA.orders", "READ"),
                 ("tenantB.orders", "READ"), ("tenantAB.secrets", "READ"),
                 ("shared.events", "READ"), ("shared.events", "DESCRIBE"))


def acl_grid(acls, allow_everyone=False, rules=None, super_users=("User:admin",)):
    """For each principal and each (topic, operation): ``(decision, why)``, the decision by
    the authorizer (``rules``' ``authorize``, else Kafka's) and why by the ACL that decided."""
    learners = _learners(rules)
    decide = learners.get("authorize", REFERENCE.authorize)
    matches = learners.get("acl_matches", REFERENCE_ACL_MATCHES)
    grid = {}
    for principal in ACL_PRINCIPALS:
        for topic, operation in ACL_RESOURCES:
            decision = decide(tuple(acls), frozenset(super_users), allow_everyone, principal,
                              "10.0.0.7", operation, "TOPIC", topic)
            verdicts = [(acl, matches(acl, "TOPIC", topic, principal, "10.0.0.7", operation))
                        for acl in acls]
            deny = next((acl for acl, v in verdicts if v == "DENY"), None)
            allow = next((acl for acl, v in verdicts if v == "ALLOW"), None)
            if principal in super_users:
                why = "a super user"
            elif deny is not None:
                why = "DENY " + _acl_text(deny)
            elif allow is not None:
                why = "ALLOW " + _acl_text(allow)
            elif any(acl[2] == "LITERAL" and acl[1] in (topic, "*")
                     or acl[2] == "PREFIXED" and topic.startswith(acl[1]) for acl in acls):
                why = "no ACL applies, but the topic has ACLs"
            else:
                why = f"no ACL at all: allow.everyone.if.no.acl.found={str(allow_everyone).lower()}"
            grid[(principal, topic, operation)] = (decision, why)
    return grid


def _acl_text(acl):
    _, name, pattern, principal, host, operation, _ = acl
    return f"{operation} {pattern.lower()} {name} for {principal}" + (
        f" from {host}" if host != "*" else "")


def draw_acls(story, allow_everyone=False, rules=None):
    summary, acls = ACL_STORIES[story]
    try:
        grid = acl_grid(acls, allow_everyone, rules)
    except RuleFailed as failure:
        return _failed(failure)
    header = "".join(f"<th>{html.escape(op)} {html.escape(topic)}</th>"
                     for topic, op in ACL_RESOURCES)
    rows = []
    for principal in ACL_PRINCIPALS:
        cells = []
        for topic, operation in ACL_RESOURCES:
            decision, why = grid[(principal, topic, operation)]
            color = COMMITTED if decision == "ALLOWED" else LOST
            cells.append(f"<td title='{html.escape(why)}' style='background:{color};"
                         f"color:white;text-align:center'>{html.escape(str(decision))}<br>"
                         f"<span style='font-size:10px'>{html.escape(_short(why, 38))}"
                         f"</span></td>")
        rows.append(f"<tr><th>{html.escape(principal)}</th>{''.join(cells)}</tr>")
    listed = "".join(f"<li>{html.escape(acl[6])} {html.escape(_acl_text(acl))}</li>"
                     for acl in acls)
    return (f"<div style='font:13px sans-serif'>{html.escape(summary)}</div>"
            f"<ul style='font:12px monospace'>{listed}</ul>"
            f"<table style='font:11px monospace;border-collapse:collapse' cellpadding='4' "
            f"border='1'><tr><th></th>{header}</tr>{''.join(rows)}</table>")


def show_acls(rules=None):
    import ipywidgets as widgets
    story = widgets.Dropdown(options=list(ACL_STORIES), description="ACLs", style=READABLE)
    everyone = widgets.Checkbox(description="allow.everyone.if.no.acl.found", style=READABLE)
    out = _drawing_area()

    def redraw(_=None):
        out.value = draw_acls(story.value, everyone.value, rules)
    story.observe(redraw, "value")
    everyone.observe(redraw, "value")
    redraw()
    return _picture(widgets.VBox([story, everyone, out]), out)


# -- quotas: a noisy neighbour held to its byte rate ---------------------------------------------

def quota_story(quota_kb=10, rules=None, seconds=30, seed=7):
    """Two producers on one broker under a default client-id quota of ``quota_kb`` KB/s
    each: ``noisy`` sends 40 KB/s, ``quiet`` 2 KB/s. Returns per half second ``(time_s,
    noisy KB/s acknowledged, quiet KB/s acknowledged, noisy throttled?)``."""
    cluster = Cluster(brokers=1, seed=seed, seams=REFERENCE.with_rules(**_learners(rules)))
    cluster.create_topic("events", replication_factor=1)
    cluster.alter_client_quotas({"client-id": "<default>"},
                                {"producer_byte_rate": quota_kb * 1000})
    value = b"x" * 1000
    noisy = cluster.producer("noisy", linger_ms=0, enable_idempotence=False)
    quiet = cluster.producer("quiet", linger_ms=0, enable_idempotence=False)
    acked = {"noisy": [], "quiet": []}

    def sent(name):
        return lambda future: acked[name].append(cluster.now) if future.succeeded else None
    points, start = [], cluster.now
    for step in range(seconds * 2):
        for _ in range(20):
            noisy.send("events", value, partition=0).add_callback(sent("noisy"))
        quiet.send("events", value, partition=0).add_callback(sent("quiet"))
        cluster.run_for(500)
        now = cluster.now
        rates = [sum(1 for t in acked[name] if now - 1000 < t <= now) for name in acked]
        throttled = noisy.throttled_until.get(0, 0) > now
        points.append(((now - start) / 1000, rates[0], rates[1], throttled))
    return points


def draw_quota_story(points, quota_kb):
    width, height, left, bottom = 560, 220, 40, 190
    top = max(max(p[1] for p in points), quota_kb) * 1.2 or 1
    x = lambda t: left + t / points[-1][0] * (width - left - 10)        # noqa: E731
    y = lambda v: bottom - v / top * (bottom - 10)                      # noqa: E731
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height + 30}' "
             f"font-family='monospace' font-size='11' role='img'>"]
    for t, _, _, throttled in points:
        if throttled:
            parts.append(f"<rect x='{x(t) - 4:.1f}' y='10' width='8' height='{bottom - 10}' "
                         f"fill='#f3d2cb'><title>noisy throttled at t={t} s</title></rect>")
    parts.append(f"<line x1='{left}' x2='{width - 10}' y1='{y(quota_kb):.1f}' "
                 f"y2='{y(quota_kb):.1f}' stroke='#555' stroke-dasharray='4 3'/>"
                 f"<text x='{width - 150}' y='{y(quota_kb) - 4:.1f}'>quota {quota_kb} KB/s</text>")
    for index, color, name in ((1, LOST, "noisy"), (2, COMMITTED, "quiet")):
        line = " ".join(f"{x(p[0]):.1f},{y(p[index]):.1f}" for p in points)
        parts.append(f"<polyline points='{line}' fill='none' stroke='{color}' stroke-width='2'>"
                     f"<title>{name}: KB acknowledged per second</title></polyline>")
    parts.append(f"<line x1='{left}' x2='{width - 10}' y1='{bottom}' y2='{bottom}' "
                 f"stroke='#999'/><text x='{left}' y='{bottom + 14}'>0 s</text>"
                 f"<text x='{width - 40}' y='{bottom + 14}'>{points[-1][0]:.0f} s</text>"
                 f"<text x='2' y='14'>KB/s</text>")
    legend, _ = _legend([(LOST, "noisy (sends 40 KB/s)"), (COMMITTED, "quiet (sends 2 KB/s)"),
                         ("#f3d2cb", "noisy throttled")], height + 22, gap=24, per_char=7)
    return "".join(parts) + legend + "</svg>"


def draw_quotas(quota_kb=10, rules=None):
    try:
        return draw_quota_story(quota_story(quota_kb, rules), quota_kb)
    except RuleFailed as failure:
        return _failed(failure)


def show_quotas(rules=None):
    import ipywidgets as widgets
    quota = widgets.IntSlider(value=10, min=5, max=40, step=5, description="quota (KB/s)",
                              style=READABLE, continuous_update=False)
    out = _drawing_area()

    def redraw(_=None):
        out.value = draw_quotas(quota.value, rules)
    quota.observe(redraw, "value")
    redraw()
    return _picture(widgets.VBox([quota, out]), out)


# -- hot brokers: leadership piled on one broker, and spread again ------------------------------

BUSY = "#3b6ea5"
HOT_FACTOR = 1.5            # a broker this many times busier than the cluster average is hot
# What the picture calls each placement scenario's two runs; a scenario not named here is
# shown as "without the fix" and "with the fix".
PLACEMENT_VIEWS = {"hot-broker": ("before: after a rolling restart, no election",
                                  "after: a preferred leader election"),
                   "skewed-assignment": ("before: broker 0 first everywhere, an election",
                                         "after: a reassignment, then an election")}


def hot_broker_story(seed=2, scenario="hot-broker"):
    """The placement scenario ``scenario`` (reference/placement.py) run twice, without its
    fix and with it, under the same load. Returns ``{"before": run, "after": run}``, each run
    a dict: ``title``, ``summary``, ``steps`` ``[(time_ms, text)]``, ``leaders`` {broker:
    partitions led}, ``led`` {broker: [(topic, partition, preferred?)]} (preferred: the
    broker is the partition's first assigned replica), ``idle`` {broker: request handler
    idle ratio}, ``busy`` {broker: 1 - idle}, ``average`` (the brokers' mean busy share:
    what a cluster-wide dashboard shows), ``hot`` (the brokers ``HOT_FACTOR`` times busier
    than that) and ``gap`` (the busiest broker's idle ratio below the idlest one's)."""
    from kafkadojo.reference.placement import run_scenario
    titles = PLACEMENT_VIEWS.get(scenario, ("before: without the fix", "after: with the fix"))
    story = {}
    for name, fixed, title in (("before", False, titles[0]), ("after", True, titles[1])):
        result = run_scenario(scenario, fixed=fixed, seed=seed)
        led = {broker: [] for broker in result.idle}
        registrations = result.cluster.controller.partitions if result.cluster else {}
        for (topic, partition), registration in sorted(registrations.items()):
            if registration.leader in led and not topic.startswith("__"):
                led[registration.leader].append(
                    (topic, partition, registration.leader == registration.replicas[0]))
        busy = {broker: 1 - ratio for broker, ratio in result.idle.items()}
        average = sum(busy.values()) / len(busy)
        story[name] = {"title": title, "summary": result.summary, "steps": list(result.steps),
                       "leaders": dict(result.leaders), "led": led, "idle": dict(result.idle),
                       "busy": busy, "average": average,
                       "hot": [broker for broker in sorted(busy)
                               if average and busy[broker] > HOT_FACTOR * average],
                       "gap": result.hottest_gap}
    return story


def draw_hot_brokers(story):
    """The two runs side by side, one row per broker: the partitions it leads (a box each,
    amber where it is not the partition's preferred leader) and how busy its request
    handlers were (1 - the idle ratio, on a 0-100% scale, red for a hot broker), a dashed
    line at the cluster-wide average; a legend, a line on each run, and what happened."""
    runs = [story["before"], story["after"]]
    brokers = sorted(set().union(*(run["busy"] for run in runs)))
    most = max([1] + [len(led) for run in runs for led in run["led"].values()])
    label, box, bar, row, top, between = 70, 22, 130, 28, 40, 24
    panel = label + most * box + 16 + bar + 46
    bottom = top + len(brokers) * row
    legend = [(COMMITTED, "led by its preferred replica"), (UNCOMMITTED, "led by another replica"),
              (BUSY, "request handlers busy"), (LOST, "a hot broker")]
    legend_width = sum(30 + 7 * len(meaning) for _, meaning in legend) + 140
    width = max(2 * panel + between, legend_width)
    height = bottom + 18 + 28
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
             f"font-family='monospace' font-size='12' role='img'>"]
    for number, run in enumerate(runs):
        left = number * (panel + between)
        boxes_x, bar_x = left + label, left + label + most * box + 16
        parts.append(f"<text x='{left}' y='14' font-weight='bold'>{html.escape(run['title'])}"
                     f"</text><text x='{boxes_x}' y='32' fill='#777' font-size='11'>partitions "
                     f"led</text><text x='{bar_x}' y='32' fill='#777' font-size='11'>request "
                     f"handlers busy</text>")
        for index, broker in enumerate(brokers):
            y = top + index * row
            parts.append(f"<text x='{left}' y='{y + 13}'>broker {broker}</text>")
            led = run["led"].get(broker, [])
            for slot, (topic, partition, preferred) in enumerate(led):
                x = boxes_x + slot * box
                whose = ("its preferred leader" if preferred else
                         "not its preferred leader (the first assigned replica)")
                parts.append(f"<rect x='{x + 1}' y='{y}' width='{box - 2}' height='18' rx='3' "
                             f"fill='{COMMITTED if preferred else UNCOMMITTED}'><title>"
                             f"{html.escape(topic)}-{partition}: broker {broker} is {whose}"
                             f"</title></rect><text x='{x + box // 2}' y='{y + 13}' "
                             f"text-anchor='middle' fill='white'>{partition}</text>")
            if not led:
                parts.append(f"<text x='{boxes_x + 4}' y='{y + 13}' fill='#999'>none</text>")
            busy = run["busy"][broker]
            parts.append(f"<rect x='{bar_x}' y='{y + 2}' width='{bar}' height='14' fill='#eee'/>"
                         f"<rect x='{bar_x}' y='{y + 2}' width='{round(bar * busy)}' height='14' "
                         f"fill='{LOST if broker in run['hot'] else BUSY}'><title>broker {broker}:"
                         f" request handlers {busy:.0%} busy (idle ratio {run['idle'][broker]:.2f})"
                         f"</title></rect><text x='{bar_x + bar + 6}' y='{y + 13}'>{busy:.0%}"
                         f"</text>")
        x = bar_x + round(bar * run["average"])
        parts.append(f"<line x1='{x}' x2='{x}' y1='{top - 4}' y2='{bottom - 6}' stroke='#555' "
                     f"stroke-dasharray='4 3'><title>cluster average {run['average']:.0%} busy"
                     f"</title></line><text x='{bar_x}' y='{bottom + 8}' fill='#555' "
                     f"font-size='11'>cluster average {run['average']:.0%}</text>")
    drawn, x = _legend(legend, height - 6, gap=30, per_char=7)
    parts.append(f"{drawn}<line x1='{x}' x2='{x + 14}' y1='{height - 10}' y2='{height - 10}' "
                 f"stroke='#555' stroke-dasharray='4 3'/><text x='{x + 20}' y='{height - 6}'>"
                 f"cluster average</text></svg>")
    notes = []
    for run in runs:
        busiest = max(run["busy"], key=run["busy"].get)
        if run["hot"]:
            shown = (f"broker {busiest} is hot: it leads {len(run['led'][busiest])} partition(s) "
                     f"and its request handlers are {run['busy'][busiest]:.0%} busy, "
                     f"{run['busy'][busiest] / run['average']:.1f}x the cluster average of "
                     f"{run['average']:.0%}")
        else:
            shown = (f"no hot broker: the busiest, broker {busiest}, is "
                     f"{run['busy'][busiest]:.0%} busy; the cluster average is "
                     f"{run['average']:.0%}")
        notes.append(f"<div><b>{html.escape(run['title'].split(':')[0])}</b>: "
                     f"{html.escape(shown)}</div>")
    steps = "".join("<td style='vertical-align:top'>" + "<br>".join(
        f"t={t:>6} ms ".replace(" ", "&nbsp;") + f" {html.escape(text)}"
        for t, text in run["steps"])
        + "</td>" for run in runs)
    return ("".join(parts) + "".join(notes)
            + "<table style='font:11px monospace;margin-top:4px' cellpadding='3'><tr>"
            + "".join(f"<th style='text-align:left'>{html.escape(run['title'])}</th>"
                      for run in runs)
            + f"</tr><tr>{steps}</tr></table>")


def show_hot_brokers(scenario="hot-broker"):
    """Both runs side by side. Nothing to move: the scenario comes out the same on every seed."""
    import ipywidgets as widgets
    out = _drawing_area()
    out.value = draw_hot_brokers(hot_broker_story(scenario=scenario))
    return _picture(widgets.VBox([out]), out)


# -- replication: a leader crash, step by step ------------------------------------------------

def leader_crash_story(next_high_watermark=None, truncation_offset=None, seed=3):
    """Three replicas; the followers fall behind (their link to the leader is cut), records
    keep coming with acks=all, the leader crashes, a follower takes over. Returns a list of
    snapshots ``(caption, {broker: (role, values, hw, leo)}, acknowledged)``."""
    rules = _learners({"next_high_watermark": next_high_watermark,
                       "truncation_offset": truncation_offset})
    cluster = Cluster(brokers=3, seed=seed, seams=REFERENCE.with_rules(**rules))
    cluster.create_topic("story", partitions=1, replication_factor=3,
                         config={"min.insync.replicas": 2})
    producer = cluster.producer(acks="all", linger_ms=0, request_timeout_ms=1_500,
                                delivery_timeout_ms=1_500, retries=0)
    acknowledged = []
    snapshots = []

    def snap(caption):
        reg = cluster.registration("story", 0)
        state = {}
        for broker in cluster.brokers:
            log = cluster.log(broker.node_id, "story", 0)
            role = ("down" if not broker.alive else
                    "leader" if broker.node_id == reg.leader else "follower")
            state[broker.node_id] = (role, [v.decode() for v in log.values()],
                                     log.high_watermark, log.log_end_offset)
        snapshots.append((f"t={cluster.now} ms: {caption}", state, list(acknowledged)))

    def produce(value):
        future = producer.send("story", value.encode(), partition=0)
        cluster.run_until(lambda: future.done, timeout_ms=3_000)
        if future.succeeded:
            acknowledged.append(value)
        return future

    snap("three in-sync replicas, empty logs")
    for value in ("a", "b"):
        produce(value)
        snap(f"{value} acknowledged by the leader")
    leader = cluster.leader("story", 0)
    followers = [b for b in range(3) if b != leader]
    cluster.partition_network([leader], followers)
    snap(f"the network between leader {leader} and its followers fails")
    for value in ("c", "d"):
        future = produce(value)
        snap(f"{value}: " + ("acknowledged!" if future.succeeded else f"not acknowledged ({future.error.name})"))
    cluster.crash(leader)
    cluster.heal()
    snap(f"leader {leader} crashes")
    cluster.run_for(12_000)
    snap(f"broker {cluster.leader('story', 0)} is elected leader")
    cluster.restart(leader)
    cluster.run_for(6_000)
    snap(f"broker {leader} returns as a follower and repairs its log")
    return snapshots


CELL = 34          # an offset's width in the SVG replica rows
ROW = 26
LABEL = 210       # the row label: broker, role, HW and LEO


def draw_snapshot(snapshot):
    """The replicas as SVG: one row per broker, each offset in the same column on every row,
    green below the broker's high watermark, amber above it, the HW a line; then what was
    acknowledged, and what of it the leader has lost."""
    caption, state, acknowledged = snapshot
    leader_values = next((values for role, values, _, _ in state.values() if role == "leader"), None)
    lost = [v for v in acknowledged if leader_values is not None and v not in leader_values]
    longest = max((len(values) for _, values, _, _ in state.values()), default=0)
    legend = [(COMMITTED, "committed (below the HW)"), (UNCOMMITTED, "not committed yet"),
              (LOST, "acknowledged, then lost")]
    legend_width = sum(40 + 8 * len(text) for _, text in legend) + 130
    width = max(LABEL + max(longest, 1) * CELL + 10, legend_width)
    height = len(state) * ROW + 18 + 24
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
             f"font-family='monospace' font-size='12' role='img'>",
             "".join(f"<text x='{LABEL + i * CELL + CELL // 2}' y='12' text-anchor='middle' "
                     f"fill='#777'>{i}</text>" for i in range(longest))]
    for row, (broker, (role, values, hw, leo)) in enumerate(sorted(state.items())):
        y = 18 + row * ROW
        parts.append(f"<text x='0' y='{y + 16}'>broker {broker} {html.escape(role):<8}</text>"
                     f"<text x='{LABEL - 8}' y='{y + 16}' text-anchor='end' fill='#555'>"
                     f"HW {hw} LEO {leo}</text>")
        for offset, value in enumerate(values):
            color = COMMITTED if offset < hw else UNCOMMITTED
            if value in lost:
                color = LOST
            x = LABEL + offset * CELL
            parts.append(f"<rect x='{x + 1}' y='{y}' width='{CELL - 2}' height='{ROW - 4}' rx='3' "
                         f"fill='{color}'><title>offset {offset}: {html.escape(str(value))}"
                         f"</title></rect><text x='{x + CELL // 2}' y='{y + 15}' "
                         f"text-anchor='middle' fill='white'>{html.escape(str(value))}</text>")
        x = LABEL + hw * CELL
        parts.append(f"<line x1='{x}' x2='{x}' y1='{y - 2}' y2='{y + ROW - 2}' stroke='#222' "
                     f"stroke-width='2'><title>high watermark {hw}</title></line>")
    legend_y = height - 6
    drawn, x = _legend(legend, legend_y, gap=40, per_char=8)
    parts.append(drawn)
    parts.append(f"<line x1='{x}' x2='{x}' y1='{legend_y - 11}' y2='{legend_y + 2}' "
                 f"stroke='#222' stroke-width='2'/><text x='{x + 6}' y='{legend_y}'>"
                 f"high watermark</text></svg>")
    rows = [f"<div style='font-weight:bold;margin-bottom:4px'>{html.escape(caption)}</div>",
            "".join(parts),
            f"<div style='font:12px monospace'>acknowledged: {', '.join(acknowledged) or '-'}</div>"]
    if lost:
        rows.append(f"<div style='color:{LOST};font-weight:bold'>LOST (acknowledged, gone from "
                    f"the leader): {', '.join(lost)}</div>")
    return "".join(rows)


def show_leader_crash(next_high_watermark=None, truncation_offset=None):
    import ipywidgets as widgets
    try:
        snapshots = leader_crash_story(next_high_watermark, truncation_offset)
    except RuleFailed as failure:
        return widgets.HTML(_failed(failure))
    step = widgets.IntSlider(value=0, min=0, max=len(snapshots) - 1, description="step",
                             style=READABLE)
    play = widgets.Play(min=0, max=len(snapshots) - 1, interval=1200)
    widgets.jslink((play, "value"), (step, "value"))
    out = _drawing_area()

    def redraw(_=None):
        out.value = draw_snapshot(snapshots[step.value])
    step.observe(redraw, "value")
    redraw()
    return _picture(widgets.VBox([widgets.HBox([play, step]), out]), out)


# -- the ISR: a follower that falls behind and catches up -----------------------------------------

def isr_story(cut_ms, lag_max_ms=10_000, rules=None, seed=2):
    """One follower is cut off for ``cut_ms``; returns (ISR events, final ISR)."""
    # A follower whose fetch is lost retries after replica.socket.timeout.ms: 30 s in Kafka,
    # 2 s here so that the picture shows the lag bound, not the retry.
    cluster = Cluster(brokers=3, seed=seed, config={"replica.lag.time.max.ms": lag_max_ms,
                                                    "replica.socket.timeout.ms": 2_000},
                      seams=REFERENCE.with_rules(**_learners(rules)))
    cluster.create_topic("isr", partitions=1, replication_factor=3)
    producer = cluster.producer(acks="1", linger_ms=0)
    leader = cluster.leader("isr", 0)
    follower = next(b for b in range(3) if b != leader)
    cluster.partition_network([leader], [follower])
    start = cluster.now
    while cluster.now - start < cut_ms:
        producer.send("isr", b"x", partition=0)
        cluster.run_for(500)
    cluster.heal()
    cluster.run_for(lag_max_ms + 5_000)
    return isr_events(cluster), cluster.isr("isr", 0), follower


def draw_isr_story(cut_ms, lag_max_ms=10_000, rules=None):
    try:
        events, final, follower = isr_story(cut_ms, lag_max_ms, rules)
    except RuleFailed as failure:
        return _failed(failure)
    lines = [f"<div>follower {follower} is cut off from the leader for {cut_ms} ms "
             f"(replica.lag.time.max.ms = {lag_max_ms}; lost fetches retried after 2 s)</div>"]
    lines += [f"<div style='font:12px monospace'>t={t:>6} ms  {html.escape(text)}</div>"
              for t, text in events] or ["<div style='font:12px monospace'>no ISR change</div>"]
    lines.append(f"<div>final ISR: {final}</div>")
    return "".join(lines)


def show_isr(rules=None):
    import ipywidgets as widgets
    cut = widgets.IntSlider(value=15_000, min=0, max=40_000, step=2_500, description="cut (ms)",
                            style=READABLE)
    out = _drawing_area()

    def redraw(_=None):
        out.value = draw_isr_story(cut.value, rules=rules)
    cut.observe(redraw, "value")
    redraw()
    return _picture(widgets.VBox([cut, out]), out)


# -- consumer groups: who owns which partition, over time ------------------------------------

# No red: red marks two owners at once.
MEMBER_COLORS = ("#4c78a8", "#f58518", "#54a24b", "#b279a2", "#9d755d", "#72b7b2", "#eeca3b",
                 "#17becf", "#bab0ac")
PAUSED = "#d9d9d9"


# What happens to the group: the same faults, whatever the assignor
SCENARIOS = {"members join, leave and crash": ("join", "leave", "crash"),
             "rolling restart": ("restart",)}


def group_story(strategy="range", static=False, rules=None, seed=4,
                scenario="members join, leave and crash", faults=None):
    """A group of three under member faults (the same faults for every strategy): a
    scenario's, or ``faults`` (run_group's names) when given."""
    from kafkadojo.reference.rebalance import run_group
    return run_group(seed=seed, strategy=strategy, static=static, duration_ms=60_000,
                     fault_interval_ms=12_000, faults=faults or SCENARIOS[scenario],
                     seams=REFERENCE.with_rules(**_learners(rules)))


def partition_moves(outcome):
    """How many times a partition went to a different member (a restarted static member
    is the same member): each move costs the new owner its local state for it."""
    same = dict(outcome.restarted)
    moves = 0
    for partition in {o.partition for o in outcome.intervals}:
        owners = [same.get(o.owner, o.owner) for o in sorted(
            (o for o in outcome.intervals if o.partition == partition), key=lambda o: o.start_ms)]
        moves += sum(1 for before, after in zip(owners, owners[1:]) if before != after)
    return moves


def draw_ownership(outcome, width=640):
    """One row per partition: a bar per owner (one colour per member), grey where nobody
    owned it (its records waited), red where two members owned it at once."""
    start, end = outcome.start_ms, outcome.end_ms
    scale = width / max(1, end - start)
    # A static member that restarted is the same member: same name, same colour.
    same = dict(outcome.restarted)
    owners = sorted({same.get(o.owner, o.owner) for o in outcome.intervals},
                    key=lambda n: int(n.split("-")[-1]))
    color = {owner: MEMBER_COLORS[i % len(MEMBER_COLORS)] for i, owner in enumerate(owners)}
    color.update({new: color[old] for new, old in same.items() if old in color})
    doubled = {(partition, t) for t, partition, _ in outcome.double_ownership}
    rows = [f"<div style='font-weight:bold'>{html.escape(outcome.strategy)}: "
            f"{outcome.rebalances} rebalances, {partition_moves(outcome)} partition moves, "
            f"{outcome.pause_ms / 1000:.1f} partition-seconds paused, "
            f"{len(outcome.double_ownership)} double ownership</div>"]
    partitions = sorted({o.partition for o in outcome.intervals})
    label, row = 90, 20
    faults_y = 8 + len(partitions) * row
    height = faults_y + len(outcome.faults) * 14 + 30
    svg_width = max(label + width + 10, sum(24 + 7 * len(name) for name in owners) + 300)
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{svg_width}' "
             f"height='{height}' font-family='monospace' font-size='11' role='img'>"]
    for number, partition in enumerate(partitions):
        y = 4 + number * row
        parts.append(f"<text x='0' y='{y + 12}'>{partition[0]}-{partition[1]}</text>"
                     f"<rect x='{label}' y='{y}' width='{width}' height='14' fill='{PAUSED}'>"
                     f"<title>nobody owns it: its records wait</title></rect>")
        for o in outcome.intervals:
            if o.partition != partition or o.end_ms <= start:
                continue
            left = int((max(o.start_ms, start) - start) * scale)
            right = int((min(o.end_ms, end) - start) * scale)
            owner = same.get(o.owner, o.owner)
            parts.append(f"<rect x='{label + left}' y='{y}' width='{max(1, right - left)}' "
                         f"height='14' fill='{color[o.owner]}' opacity='0.85'><title>"
                         f"{html.escape(owner)} {o.start_ms}-{o.end_ms} ms</title></rect>")
        for t, p in doubled:
            if p == partition:
                parts.append(f"<rect x='{label + int((t - start) * scale)}' y='{y - 2}' width='4' "
                             f"height='18' fill='{LOST}'><title>two owners at {t} ms</title></rect>")
    for number, (t, text) in enumerate(outcome.faults):
        x = label + int((t - start) * scale)
        y = faults_y + number * 14
        # a note starts at its line, or further left when it would run out of the picture
        note = f"t={t / 1000:.0f}s {text}"
        anchor, at = "start", max(0, min(x + 3, svg_width - 7 * len(note)))
        parts.append(f"<line x1='{x}' x2='{x}' y1='4' y2='{y}' stroke='#999' "
                     f"stroke-dasharray='2,2'/><text x='{at}' y='{y + 10}' "
                     f"text-anchor='{anchor}'>{html.escape(note)}</text>")
    legend_y = height - 6
    drawn, x = _legend([(color[name], name) for name in owners], legend_y, gap=24, per_char=7)
    parts.append(drawn)
    parts.append(f"<rect x='{x}' y='{legend_y - 10}' width='12' height='12' fill='{PAUSED}'/>"
                 f"<text x='{x + 16}' y='{legend_y}'>nobody (paused)</text>"
                 f"<rect x='{x + 140}' y='{legend_y - 10}' width='4' height='12' fill='{LOST}'/>"
                 f"<text x='{x + 148}' y='{legend_y}'>two owners at once</text></svg>")
    rows.append("".join(parts))
    return "".join(rows)


def show_groups(rules=None):
    import ipywidgets as widgets
    # A revoke rule runs only in the cooperative protocol: open there when it is the rule.
    cooperative = bool(rules) and "partitions_to_revoke" in rules
    strategy = widgets.Dropdown(options=["range", "roundrobin", "sticky", "cooperative-sticky"],
                                value="cooperative-sticky" if cooperative else "range",
                                description="assignor", style=READABLE)
    scenario = widgets.Dropdown(options=list(SCENARIOS), description="faults", style=READABLE)
    static = widgets.Checkbox(value=False, description="static membership", style=READABLE)
    seed = widgets.IntSlider(value=4, min=1, max=20, description="seed", style=READABLE)
    out = _drawing_area()

    def redraw(_=None):
        try:
            out.value = draw_ownership(group_story(strategy.value, static.value, rules,
                                                   seed.value, scenario.value))
        except RuleFailed as failure:
            out.value = _failed(failure)
    for control in (strategy, scenario, static, seed):
        control.observe(redraw, "value")
    redraw()
    return _picture(widgets.VBox([widgets.HBox([strategy, scenario]), widgets.HBox([static, seed]),
                                  out]), out)


# -- delivery semantics: process, commit, crash ------------------------------------------------

def draw_delivery(outcome):
    """The timeline of one run, then every produced record: processed once (green), lost
    (red) or processed twice (orange)."""
    lost, duplicated = set(outcome.lost), set(outcome.duplicated)
    rows = [f"<div style='font-weight:bold'>{html.escape(outcome.guarantee)}"
            f"{' into an idempotent sink' if outcome.idempotent_sink else ''}</div>"]
    for step in outcome.timeline:
        color = LOST if step.what == "crash" else "#333"
        rows.append(f"<div style='font:12px monospace;color:{color}'>t={step.time_ms:>6} "
                    f"instance {step.instance} {html.escape(step.what):<8} {html.escape(step.detail)}</div>")
    boxes = []
    for partition, offset in outcome.produced:
        if (partition, offset) in lost:
            boxes.append(_box(f"p{partition}@{offset}", LOST, "lost: never processed"))
        elif (partition, offset) in duplicated:
            boxes.append(_box(f"p{partition}@{offset}", UNCOMMITTED, "processed twice"))
        else:
            boxes.append(_box(f"p{partition}@{offset}", COMMITTED, "processed once"))
    rows.append("<div style='margin-top:6px'>" + "".join(boxes) + "</div>")
    rows.append("<div style='font:12px monospace;margin:2px 0'>"
                + " ".join(f"<span style='color:{color}'>&#9632;</span> {meaning}"
                           for color, meaning in ((COMMITTED, "processed once"),
                                                  (LOST, "lost: never processed"),
                                                  (UNCOMMITTED, "processed twice")))
                + "</div>")
    verdict = outcome.violations()
    rows.append(f"<div style='font-weight:bold;color:{LOST if verdict else COMMITTED}'>"
                + (html.escape("; ".join(f"{k}: breaks {outcome.guarantee}" for k, _ in verdict))
                   if verdict else f"{len(outcome.lost)} lost, {len(outcome.duplicated)} duplicated: "
                                   f"within the {outcome.guarantee} guarantee") + "</div>")
    return "".join(rows)


def show_delivery(plan_batch=None):
    import ipywidgets as widgets
    from kafkadojo.reference.delivery import GUARANTEES, run_delivery
    seams = REFERENCE.with_rules(**_learners({"plan_batch": plan_batch})) if plan_batch else None
    guarantee = widgets.Dropdown(options=GUARANTEES, value=GUARANTEES[1], description="guarantee",
                                 style=READABLE)
    crash = widgets.IntSlider(value=5, min=0, max=16, description="crash at step", style=READABLE)
    when = widgets.ToggleButtons(options=["before", "after"], value="after")
    sink = widgets.Checkbox(value=False, description="idempotent sink", style=READABLE)
    out = _drawing_area()

    def redraw(_=None):
        try:
            outcome = run_delivery(guarantee.value, crash_at=[(crash.value, when.value)],
                                   idempotent_sink=sink.value, seams=seams)
            out.value = draw_delivery(outcome)
        except RuleFailed as failure:
            out.value = _failed(failure)
        except Exception as error:      # noqa: BLE001 - a learner's plan may be anything
            out.value = (f"<div style='color:{LOST}'>the engine could not run your plan: "
                         f"{html.escape(type(error).__name__)}: {html.escape(str(error))}</div>")
    for control in (guarantee, crash, when, sink):
        control.observe(redraw, "value")
    redraw()
    return _picture(widgets.VBox([widgets.HBox([guarantee, sink]), widgets.HBox([crash, when]),
                                  out]), out)


# -- the wire: a record batch, byte by byte ------------------------------------------------------
# Kafka's golden batch (MemoryRecordsTest.testChecksum): magic 2, uncompressed, records
# (283843, key1, value1) and (1234, key2, value2). Its CRC, 3851219455, is Kafka's own.
GOLDEN_BATCH = bytes.fromhex(
    "000000000000000000000055ffffffff02e58cf1ff00000000000100000000000454c300000000000454c3"
    "ffffffffffffffffffffffffffff0000000220000000086b6579310c76616c756531002400e1bf2202086b"
    "6579320c76616c75653200")
GOLDEN_RECORDS = ((0, 283843, b"key1", b"value1", ()), (1, 1234, b"key2", b"value2", ()))
GOLDEN_CRC = 3851219455

# What each part of a batch is drawn in: the header's bookkeeping, its producer fields, the
# CRC, and a record's framing, deltas, key, value and headers.
FIELD_COLORS = {"offsets": "#3b6ea5", "crc": "#c8553d", "attributes": "#8e5ea2",
                "times": "#4c9f70", "producer": "#e0a33b", "count": "#555555",
                "length": "#7a7a7a", "delta": "#2a9d8f", "key": "#264653", "value": "#6d597a",
                "header": "#b5838d", "compressed": "#9a9a9a"}
_HEADER_FIELDS = (("baseOffset", 8, "offsets"), ("batchLength", 4, "offsets"),
                  ("partitionLeaderEpoch", 4, "offsets"), ("magic", 1, "offsets"),
                  ("crc", 4, "crc"), ("attributes", 2, "attributes"),
                  ("lastOffsetDelta", 4, "offsets"), ("baseTimestamp", 8, "times"),
                  ("maxTimestamp", 8, "times"), ("producerId", 8, "producer"),
                  ("producerEpoch", 2, "producer"), ("baseSequence", 4, "producer"),
                  ("recordsCount", 4, "count"))


def batch_fields(data):
    """The fields of a batch's bytes, in order: ``(name, start, end, value, kind)``, the
    records' own fields too when the batch is uncompressed (read with the engine's codec)."""
    from kafkadojo.reference.record_batch import parse_attributes, read_varint, read_varlong
    fields, position = [], 0
    for name, size, kind in _HEADER_FIELDS:
        raw = int.from_bytes(data[position:position + size], "big",
                             signed=name not in ("crc",))
        value = str(raw)
        if name == "attributes":
            value = f"{raw:#06x}: " + ", ".join(
                f"{k}={v}" for k, v in parse_attributes(raw)._asdict().items())
        fields.append((name, position, position + size, value, kind))
        position += size
    if parse_attributes(int.from_bytes(data[21:23], "big")).compression != "none":
        fields.append(("records (compressed)", position, len(data),
                       f"{len(data) - position} bytes", "compressed"))
        return fields
    record = 0
    while position < len(data):
        def varint(name, kind, reader=read_varint):
            nonlocal position
            value, end = reader(data, position)
            fields.append((f"record {record}: {name}", position, end, str(value), kind))
            position = end
            return value

        def blob(name, kind):
            nonlocal position
            length = varint(f"{name} length", "length")
            if length >= 0:
                text = bytes(data[position:position + length])
                fields.append((f"record {record}: {name}", position, position + length,
                               repr(text), kind))
                position += length
        varint("length", "length")
        fields.append((f"record {record}: attributes", position, position + 1, "0", "length"))
        position += 1
        varint("timestampDelta", "delta", read_varlong)
        varint("offsetDelta", "delta")
        blob("key", "key")
        blob("value", "value")
        for index in range(varint("headerCount", "header")):
            blob(f"header {index} key", "header")
            blob(f"header {index} value", "header")
        record += 1
    return fields


def draw_batch(data, against=None, table=True):
    """A batch's bytes, 16 a row, each byte coloured by its field (hover for the field and
    its value); the bytes the CRC covers are underlined; with ``table``, a table of its
    fields. With ``against`` (another batch's bytes), bytes that differ from it are outlined
    in red."""
    from kafkadojo.reference.record_batch import ATTRIBUTES_OFFSET
    owner = {}
    fields = batch_fields(data)
    for field in fields:
        for position in range(field[1], field[2]):
            owner[position] = field
    rows = []
    for start in range(0, len(data), 16):
        cells = []
        for position in range(start, min(start + 16, len(data))):
            name, _, _, value, kind = owner.get(position, ("?", 0, 0, "", "length"))
            differs = against is not None and (position >= len(against)
                                               or against[position] != data[position])
            style = (f"background:{FIELD_COLORS[kind]};color:white;padding:1px 3px;"
                     f"margin:0 1px;display:inline-block;width:1.4em;text-align:center;"
                     + ("border-bottom:3px solid #222;" if position >= ATTRIBUTES_OFFSET
                        else "border-bottom:3px solid transparent;")
                     + (f"outline:2px solid {LOST};" if differs else ""))
            cells.append(f"<span title='{html.escape(name)} = {html.escape(value)}' "
                         f"style='{style}'>{data[position]:02x}</span>")
        rows.append(f"<div style='font:12px monospace;margin:2px 0'><span style='display:"
                    f"inline-block;width:3em;color:#777'>{start:>4}</span>{''.join(cells)}</div>")
    if not table:
        return f"<div>{''.join(rows)}</div>"
    table = "".join(
        f"<tr><td style='padding:0 8px'><span style='display:inline-block;width:10px;height:"
        f"10px;background:{FIELD_COLORS[kind]}'></span> {html.escape(name)}</td>"
        f"<td style='text-align:right;padding:0 8px'>{start}</td>"
        f"<td style='text-align:right;padding:0 8px'>{end - start}</td>"
        f"<td style='padding:0 8px'>{html.escape(value[:70])}</td></tr>"
        for name, start, end, value, kind in fields)
    return (f"<div>{''.join(rows)}</div><div style='font:11px sans-serif;color:#555;margin:4px 0'>"
            f"{len(data)} bytes; underlined: what the CRC covers (from the attributes, byte "
            f"{ATTRIBUTES_OFFSET}, to the end)</div>"
            f"<table style='font:12px monospace;border-collapse:collapse'><tr><th>field</th>"
            f"<th>at</th><th>bytes</th><th>value</th></tr>{table}</table>")


def _codec_rules(encode_record=None, batch_checksum=None):
    """The codec's rules with a learner's encoder or checksum in place of the engine's."""
    from types import SimpleNamespace

    from kafkadojo.reference.record_batch import OWN_RULES
    rules = SimpleNamespace(**vars(OWN_RULES))
    for name, rule in _learners({"encode_record": encode_record,
                                 "batch_checksum": batch_checksum}).items():
        setattr(rules, name, rule)
    return rules


def sample_batch(records=2, codec="none", transactional=False, stamped=False, rules=None):
    """A producer's batch of ``records`` small records, as it sends it, or (``stamped``) as
    its leader stores it, at offset 42 in leader epoch 3."""
    from kafkadojo.reference.record_batch import encode_batch
    rows = [(42 * stamped + i, 1_700_000_000_000 + 5 * i, f"user-{i}".encode(),
             f"clicked {i}".encode(), (("source", b"web"),) if i % 2 else ())
            for i in range(records)]
    return encode_batch(rows, base_offset=42 * stamped, codec=codec,
                        partition_leader_epoch=3 if stamped else -1,
                        producer_id=1000 if transactional else -1,
                        producer_epoch=0 if transactional else -1,
                        base_sequence=0 if transactional else -1,
                        transactional=transactional, rules=rules)


def show_batch(encode_record=None, batch_checksum=None):
    import ipywidgets as widgets
    from kafkadojo.reference.compression import CODECS
    records = widgets.IntSlider(value=2, min=1, max=5, description="records", style=READABLE)
    codec = widgets.Dropdown(options=CODECS, value="none", description="compression.type",
                             style=READABLE)
    transactional = widgets.Checkbox(value=False, description="transactional", style=READABLE)
    stamped = widgets.Checkbox(value=False, description="as the leader stores it",
                               style=READABLE)
    out = _drawing_area()
    rules = _codec_rules(encode_record, batch_checksum)

    def redraw(_=None):
        try:
            out.value = draw_batch(sample_batch(records.value, codec.value, transactional.value,
                                                stamped.value, rules))
        except RuleFailed as failure:
            out.value = _failed(failure)
    for control in (records, codec, transactional, stamped):
        control.observe(redraw, "value")
    redraw()
    return _picture(widgets.VBox([widgets.HBox([records, codec]),
                                  widgets.HBox([transactional, stamped]), out]), out)


def golden_comparison(encode_record=None, batch_checksum=None):
    """Kafka's golden batch next to the same records encoded with these rules: the verdict
    (HTML) and whether they are the same bytes."""
    from kafkadojo.reference.record_batch import ATTRIBUTES_OFFSET, encode_batch
    try:
        yours = encode_batch(GOLDEN_RECORDS, rules=_codec_rules(encode_record, batch_checksum))
    except RuleFailed as failure:
        return _failed(failure), False
    if yours == GOLDEN_BATCH:
        verdict = (f"<div style='color:{COMMITTED};font:13px sans-serif'>Byte for byte "
                   f"Kafka's golden batch: {len(yours)} bytes, CRC {GOLDEN_CRC}.</div>")
    else:
        differ = [i for i in range(max(len(yours), len(GOLDEN_BATCH)))
                  if i >= min(len(yours), len(GOLDEN_BATCH)) or yours[i] != GOLDEN_BATCH[i]]
        # Different records make a different CRC too: name the records' difference, the cause.
        after_crc = [i for i in differ if i >= ATTRIBUTES_OFFSET]
        first = after_crc[0] if after_crc else differ[0]
        field = next((f[0] for f in batch_fields(GOLDEN_BATCH) if f[1] <= first < f[2]),
                     "past the end")
        also = " (so the CRC differs too)" if after_crc and differ[0] < ATTRIBUTES_OFFSET else ""
        verdict = (f"<div style='color:{LOST};font:13px sans-serif'>Different: {len(yours)} "
                   f"bytes against Kafka's {len(GOLDEN_BATCH)}; the first difference is byte "
                   f"{first}, in Kafka's <b>{html.escape(field)}</b>{also} (differing bytes are "
                   f"outlined in red).</div>")
    try:
        drawn = draw_batch(yours, against=GOLDEN_BATCH, table=False)
    except Exception as error:      # noqa: BLE001 - bytes too broken to take apart
        drawn = f"<div style='font:12px monospace'>{yours.hex()} ({type(error).__name__})</div>"
    return (verdict + "<h4 style='margin:6px 0'>Kafka's</h4>" + draw_batch(GOLDEN_BATCH)
            + "<h4 style='margin:6px 0'>Yours</h4>" + drawn), yours == GOLDEN_BATCH


def show_golden(encode_record=None, batch_checksum=None):
    import ipywidgets as widgets
    out = _drawing_area()
    out.value = golden_comparison(encode_record, batch_checksum)[0]
    return _picture(widgets.VBox([out]), out)


# -- linger.ms and batch.size ------------------------------------------------------------------------
LINGERS = (0, 5, 20, 100)


def draw_batching(batch_size=16_384, codec="none", records=600):
    """For each linger.ms in ``LINGERS``: batches, bytes per record on the wire, and mean and
    p99 latency (reference/workload.py ``run_batching``), as bars."""
    from kafkadojo.reference.workload import run_batching
    runs = [(linger, run_batching(linger, batch_size, codec, records)) for linger in LINGERS]
    widest = max(run.bytes_on_wire for _, run in runs) / records
    slowest = max(run.p99_latency_ms for _, run in runs) or 1
    rows = []
    for linger, run in runs:
        per_record = run.bytes_on_wire / records
        rows.append(
            f"<tr><td style='padding:2px 8px'>linger.ms={linger}</td>"
            f"<td style='text-align:right;padding:0 8px'>{run.batches}</td>"
            f"<td style='text-align:right;padding:0 8px'>{records / run.batches:.1f}</td>"
            f"<td><span style='display:inline-block;height:11px;width:"
            f"{max(2, int(160 * per_record / widest))}px;background:{FIELD_COLORS['offsets']}'>"
            f"</span> {per_record:.1f} B</td>"
            f"<td><span style='display:inline-block;height:11px;width:"
            f"{max(2, int(160 * run.p99_latency_ms / slowest))}px;background:{UNCOMMITTED}'>"
            f"</span> {run.mean_latency_ms:.1f} / {run.p99_latency_ms} ms</td></tr>")
    return (f"<div style='font:12px sans-serif;margin-bottom:4px'>{records} order events "
            f"(~110 B of JSON), 6 a millisecond, to 3 partitions (acks=all); "
            f"batch.size={batch_size:,}, compression.type={codec}</div>"
            f"<table style='font:12px monospace;border-collapse:collapse'><tr><th></th>"
            f"<th>batches</th><th>records/batch</th><th>bytes per record</th>"
            f"<th>latency mean / p99</th></tr>{''.join(rows)}</table>")


def show_batching():
    import ipywidgets as widgets
    from kafkadojo.reference.compression import CODECS
    size = widgets.Dropdown(options=[("1 KB", 1_024), ("16 KB (the default)", 16_384),
                                     ("128 KB", 131_072)], value=16_384,
                            description="batch.size", style=READABLE)
    codec = widgets.Dropdown(options=CODECS, value="none", description="compression.type",
                             style=READABLE)
    out = _drawing_area()

    def redraw(_=None):
        out.value = draw_batching(size.value, codec.value)
    for control in (size, codec):
        control.observe(redraw, "value")
    redraw()
    return _picture(widgets.VBox([widgets.HBox([size, codec]), out]), out)


# -- your codec in a cluster that ships bytes -------------------------------------------------------

def draw_wire_run(rules=None, seed=1):
    """``run_wire`` (a three-broker cluster that ships record batch v2 bytes) with these
    rules in the codec's seams: what was acknowledged, replicated and read back."""
    from kafkadojo.reference.workload import run_wire
    seams = REFERENCE.with_rules(**_learners(rules)) if rules else None
    try:
        outcome = run_wire(seed, seams=seams)
    except RuleFailed as failure:
        return _failed(failure)
    sent = len(outcome.sent)
    bars = "".join(
        f"<div style='font:12px monospace'><span style='display:inline-block;width:13em'>"
        f"{label}</span><span style='display:inline-block;height:11px;width:"
        f"{max(1, int(240 * count / sent)) if count else 0}px;background:{color}'></span> "
        f"{count} of {sent}</div>"
        for label, count, color in (
            ("acknowledged", outcome.acknowledged, COMMITTED),
            ("read back as sent", sum(record in outcome.sent for record in outcome.consumed),
             COMMITTED),
            *[(f"on broker {broker}", end, COMMITTED if end == sent else LOST)
              for broker, end in enumerate(outcome.log_end_offsets)]))
    verdict = "".join(f"<div style='color:{LOST};font:13px sans-serif'><b>{kind}</b>: "
                      f"{html.escape(detail)}</div>" for kind, detail in outcome.anomalies) \
        or (f"<div style='color:{COMMITTED};font:13px sans-serif'>Every record acknowledged, "
            f"on all three brokers, and read back as it was sent.</div>")
    return bars + verdict


def show_wire_run(rules=None):
    import ipywidgets as widgets
    seed = widgets.IntSlider(value=1, min=0, max=20, description="seed", style=READABLE,
                             continuous_update=False)
    out = _drawing_area()

    def redraw(_=None):
        out.value = draw_wire_run(rules, seed.value)
    seed.observe(redraw, "value")
    redraw()
    return _picture(widgets.VBox([seed, out]), out)


# -- a served cluster, as real clients left it (kafkadojo serve) ------------------------------------

def server_snapshot(server):
    """What a running ``network_server.Server`` looks like now, taken on its serving thread:
    its brokers, each user topic's partitions (leader, ISR, every replica's log end offset,
    the high watermark), its client connections, the requests served by API and version,
    and the controller's last decisions."""
    def take():
        cluster = server.cluster
        partitions = []
        for topic in (t for t in cluster.topics() if not t.startswith("__")):
            for index in range(len(cluster.partitions(topic))):
                registration = cluster.registration(topic, index)
                ends = {}
                for replica in registration.replicas:
                    try:
                        ends[replica] = cluster.log(replica, topic, index).log_end_offset
                    except (KeyError, AttributeError):
                        ends[replica] = None
                leader = registration.leader
                high_watermark = None
                if leader >= 0 and cluster.brokers[leader].alive:
                    try:
                        high_watermark = cluster.log(leader, topic, index).high_watermark
                    except (KeyError, AttributeError):
                        pass
                partitions.append((f"{topic}-{index}", leader, tuple(registration.isr), ends,
                                   high_watermark))
        return {"now_ms": cluster.now,
                "brokers": [(b.node_id, b.alive) for b in cluster.brokers],
                "partitions": partitions, "connections": len(server.connections),
                "requests": dict(server.apis.requests), "events": list(cluster.events[-8:])}
    return server.call(take)


def draw_server(snapshot):
    brokers = "".join(_box(f"broker {node}", COMMITTED if alive else LOST,
                           "up" if alive else "down") for node, alive in snapshot["brokers"])
    rows = []
    for name, leader, isr, ends, high_watermark in snapshot["partitions"]:
        replicas = "".join(
            _box(f"{replica}{'*' if replica == leader else ''}: {end if end is not None else '?'}",
                 COMMITTED if replica in isr else UNCOMMITTED,
                 f"broker {replica}: log end offset {end}"
                 + (", the leader" if replica == leader else "")
                 + (", in the ISR" if replica in isr else ", out of the ISR"))
            for replica, end in sorted(ends.items()))
        rows.append(f"<tr><td style='padding:2px 8px'>{html.escape(name)}</td><td>{replicas}</td>"
                    f"<td style='padding:0 8px'>HW {high_watermark if high_watermark is not None else '-'}"
                    f"</td></tr>")
    requests = ", ".join(f"{api} {count}" for api, count in sorted(snapshot["requests"].items()))
    events = "".join(f"<div>t={time_ms / 1000:.1f} s {html.escape(str(text))}</div>"
                     for time_ms, text in snapshot["events"])
    return (f"<div style='font:12px sans-serif'>t={snapshot['now_ms'] / 1000:.1f} s, "
            f"{snapshot['connections']} client connection(s)</div><div>{brokers}</div>"
            f"<table style='font:12px monospace;border-collapse:collapse;margin:4px 0'>"
            f"{''.join(rows)}</table>"
            f"<div style='font:11px sans-serif;color:#555'>each replica: its log end offset "
            f"(* the leader; green in the ISR, amber out of it)</div>"
            f"<div style='font:11px monospace;margin-top:4px'>requests served: "
            f"{html.escape(requests) or 'none yet'}</div>"
            f"<div style='font:11px monospace;color:#555;margin-top:4px'>{events}</div>")


def show_server(server):
    """A running server as real clients leave it, with buttons for faults: crash or
    restart a broker, heal the network, and refresh."""
    import ipywidgets as widgets
    broker = widgets.Dropdown(options=[b.node_id for b in server.cluster.brokers],
                              description="broker", style=READABLE)
    buttons = {label: widgets.Button(description=label)
               for label in ("refresh", "crash", "restart", "heal")}
    out = _drawing_area()

    def act(label):
        def pressed(_=None):
            if label == "crash":
                server.crash(broker.value)
            elif label == "restart":
                server.restart(broker.value)
            elif label == "heal":
                server.heal()
            out.value = draw_server(server_snapshot(server))
        return pressed
    for label, button in buttons.items():
        button.on_click(act(label))
    act("refresh")()
    return _picture(widgets.VBox([widgets.HBox([broker, *buttons.values()]), out]), out)
