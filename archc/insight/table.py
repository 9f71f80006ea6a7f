"""A plain-text table that never cuts a number: only text columns (layer names, kinds) wrap.

Written directly (no rich): a 20,000-layer network's table is formatted in well under a second,
and the layout is the same in a terminal and in a pipe.
"""

from __future__ import annotations

from dataclasses import dataclass

GAP = "  "
BREAKS = (".", " ", "_", ",", "(")
MIN_TEXT = 8  # a wrapped text column keeps at least this many characters a line


@dataclass(frozen=True)
class Col:
    title: str
    numeric: bool = False  # right-aligned, never wrapped
    wrap: int = 0  # text columns wrap in order of this priority (1 first); 0 = never


def render(cols: list[Col], rows: list[list[str]], width: int | None = None,
           ascii_only: bool = False) -> list[str]:
    """The table's lines. Text columns wrap when the table is wider than `width`."""
    widths = [max([len(c.title), *(len(r[i]) for r in rows)]) for i, c in enumerate(cols)]
    if width is not None:
        _shrink(cols, widths, width, rows)
    rule = ("-" if ascii_only else "\u2500") * (sum(widths) + len(GAP) * (len(cols) - 1))
    lines = [_line(cols, widths, [c.title for c in cols]), rule]
    for row in rows:
        cells = [_wrap(text, widths[i]) if cols[i].wrap else [text] for i, text in enumerate(row)]
        for k in range(max(len(c) for c in cells)):
            lines.append(_line(cols, widths, [c[k] if k < len(c) else "" for c in cells]))
    return lines


def _line(cols: list[Col], widths: list[int], cells: list[str]) -> str:
    parts = [cell.rjust(w) if c.numeric else cell.ljust(w)
             for c, w, cell in zip(cols, widths, cells)]
    return GAP.join(parts).rstrip()


def _shrink(cols: list[Col], widths: list[int], width: int, rows: list[list[str]]) -> None:
    """Narrow the widest wrappable column, one character at a time, until the table fits or
    every wrappable column is at its floor (numbers are never narrowed)."""
    excess = sum(widths) + len(GAP) * (len(cols) - 1) - width
    floors = {i: max(MIN_TEXT, len(c.title)) for i, c in enumerate(cols) if c.wrap}
    while excess > 0:
        room = [i for i in floors if widths[i] > floors[i]]
        if not room:
            return
        widest = max(room, key=lambda i: (widths[i], -cols[i].wrap))
        widths[widest] -= 1
        excess -= 1


def _wrap(text: str, width: int) -> list[str]:
    """Split `text` into lines of at most `width`, preferring to break after a separator."""
    lines = []
    while len(text) > width:
        head = text[:width]
        cut = max(head.rfind(sep) for sep in BREAKS) + 1
        if cut <= width // 2:
            cut = width
        lines.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    return [*lines, text]
