"""What a drill shows after the answer: the engine's view of the question, drawn twice, as
text for the terminal and as HTML for the notebook.

A picture has rows of labelled cells (each replica's log, each member's partitions, each
segment) and a timeline of what happened (the engine's own events, with their simulated
times). Each cell has a tone that says what it is: committed, not yet committed, lost, the
one chosen, one seen twice.
"""

import html
from dataclasses import dataclass

# tone -> (colour in the notebook, mark in the terminal)
TONES = {
    "committed": ("#4c9f70", ""),
    "uncommitted": ("#e0a33b", "~"),
    "lost": ("#c8553d", "x"),
    "duplicate": ("#9b59b6", "+"),
    "chosen": ("#3b6ea8", "*"),
    "plain": ("#8a8a8a", ""),
}


@dataclass(frozen=True)
class Picture:
    rows: tuple = ()            # (label, ((text, tone), ...))
    legend: tuple = ()          # (tone, meaning), for the tones the rows use
    timeline: tuple = ()        # (time_ms, text)
    caption: str = ""

    def __post_init__(self):
        for _, cells in self.rows:
            for _, tone in cells:
                if tone not in TONES:
                    raise ValueError(f"tone {tone!r} is not one of {sorted(TONES)}")

    def text(self):
        width = max((len(label) for label, _ in self.rows), default=0)
        lines = [self.caption] if self.caption else []
        for label, cells in self.rows:
            shown = " ".join(f"[{TONES[tone][1]}{text}]" for text, tone in cells) or "-"
            lines.append(f"  {label:<{width}}  {shown}")
        marked = [(tone, meaning) for tone, meaning in self.legend if TONES[tone][1]]
        if marked:
            lines.append("  (" + "; ".join(f"{TONES[tone][1]} {meaning}"
                                           for tone, meaning in marked) + ")")
        lines += [f"  t={time_ms:>7,} ms  {text}" for time_ms, text in self.timeline]
        return "\n".join(lines)

    def html(self):
        parts = ["<div style='margin-top:6px'>"]
        if self.caption:
            parts.append(f"<div style='font:12px sans-serif'>{html.escape(self.caption)}</div>")
        if self.rows:
            parts.append("<table style='border-collapse:collapse'>")
            for label, cells in self.rows:
                boxes = "".join(_box(text, TONES[tone][0]) for text, tone in cells) or "-"
                parts.append(f"<tr><td style='font:12px monospace;padding-right:8px;"
                             f"text-align:left'>{html.escape(label)}</td>"
                             f"<td style='text-align:left'>{boxes}</td></tr>")
            parts.append("</table>")
        if self.legend:
            parts.append("<div>" + " ".join(
                _box(meaning, TONES[tone][0]) for tone, meaning in self.legend) + "</div>")
        if self.timeline:
            rows = "".join(f"<tr><td style='text-align:right;padding-right:8px'>"
                           f"t={time_ms:,} ms</td><td style='text-align:left'>"
                           f"{html.escape(text)}</td></tr>" for time_ms, text in self.timeline)
            parts.append(f"<table style='font:12px monospace;border-collapse:collapse'>"
                         f"{rows}</table>")
        parts.append("</div>")
        return "".join(parts)


def _box(text, color):
    return (f"<span style='display:inline-block;min-width:2em;margin:1px;padding:1px 4px;"
            f"border-radius:3px;background:{color};color:white;font:12px monospace;"
            f"text-align:center'>{html.escape(str(text))}</span>")
