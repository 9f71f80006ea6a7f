"""Report: an `Analysis` -> text line, rich table, JSON, Markdown or CSV. Formatting only."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from enum import Enum
from typing import Any

from archc.analyze import Analysis, LayerStats
from archc.layers.base import fmt_shape

JSON_SCHEMA_VERSION = 1


class Column(str, Enum):
    NAME = "name"
    KIND = "kind"
    OUTPUT = "output"
    PARAMS = "params"
    MACS = "macs"
    SHARE = "share"


TITLES = {Column.NAME: "Layer", Column.KIND: "Kind", Column.OUTPUT: "Output",
          Column.PARAMS: "Params", Column.MACS: "MACs", Column.SHARE: "% params"}
NUMERIC = {Column.PARAMS, Column.MACS, Column.SHARE}


@dataclass(frozen=True)
class View:
    """What the user asked to see: `batch` scales MACs and activation memory."""

    batch: int = 1


def human(n: float) -> str:
    for unit, size in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.2f}{unit}"
    return f"{n:g}"


def human_bytes(n: float) -> str:
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.2f} {unit}"
    return f"{int(n)} B"


def summary_line(a: Analysis, view: View = View()) -> str:
    """The one line `archc check` prints."""
    return (f"{a.network}: {fmt_shape(a.input)} -> {fmt_shape(a.output)} | "
            f"{a.totals.params:,} params | {a.totals.macs * view.batch:,} MACs"
            + (f" (batch {view.batch})" if view.batch != 1 else ""))


def _cell(row: LayerStats, column: Column, total_params: int, view: View) -> str:
    if column is Column.NAME:  # a module applied `again` holds no parameters of its own
        name = row.name if row.shared is None else f"{row.name} (again {row.shared})"
        return name if row.side is None else f"{name} [{row.side}]"
    if column is Column.KIND:
        return row.kind
    if column is Column.OUTPUT:
        return fmt_shape(row.output)
    if column is Column.PARAMS:
        return f"{row.params:,}"
    if column is Column.MACS:
        return f"{row.macs * view.batch:,}"
    return f"{100 * row.params / total_params:.2f}" if total_params else "0.00"


def rows(a: Analysis, view: View = View()) -> list[list[str]]:
    return [[_cell(row, c, a.totals.params, view) for c in Column] for row in a.layers]


def totals_lines(a: Analysis, view: View = View()) -> list[tuple[str, str]]:
    t = a.totals
    per = "per sample" if view.batch == 1 else f"batch {view.batch}"
    lines = [("Parameters", f"{t.params:,} ({human(t.params)})"),
             ("MACs", f"{t.macs * view.batch:,} ({human(t.macs * view.batch)}), {per}"),
             ("FLOPs", f"{t.flops * view.batch:,} ({human(t.flops * view.batch)}) = 2 x MACs"),
             ("Activations", f"{human_bytes(t.activation_bytes * view.batch)} float32, {per}")]
    for side in a.side_outputs:
        lines.append((f"Side output {side.name}", f"{fmt_shape(side.output)}, "
                      f"{side.params:,} params, {side.macs * view.batch:,} MACs "
                      "(params in the total, MACs not)"))
    return lines


def to_dict(a: Analysis, view: View = View()) -> dict[str, Any]:
    """The stable JSON document (schema in the README)."""
    b = view.batch
    return {
        "schema_version": JSON_SCHEMA_VERSION,
        "network": a.network,
        "input": list(a.input),
        "output": list(a.output),
        "batch": b,
        "totals": {"params": a.totals.params, "macs": a.totals.macs * b,
                   "flops": a.totals.flops * b, "activation_bytes": a.totals.activation_bytes * b},
        "layers": [{"name": r.name, "kind": r.kind, "output": list(r.output), "params": r.params,
                    "macs": r.macs * b, "line": r.line, "column": r.column, "side": r.side,
                    **({"shared": r.shared} if r.shared else {})}
                   for r in a.layers],
        "side_outputs": [{"name": s.name, "output": list(s.output), "params": s.params,
                          "macs": s.macs * b} for s in a.side_outputs],
        "bottlenecks": [{"name": x.name, "reduce": x.reduce, "direct_macs": x.direct_macs * b,
                         "bottleneck_macs": x.bottleneck_macs * b, "ratio": round(x.ratio, 4)}
                        for x in a.bottlenecks],
        "warnings": [{"code": w.code.value, "message": w.message, "line": w.span.line,
                      "column": w.span.col} for w in a.warnings if w.span],
    }


def to_json(a: Analysis, view: View = View()) -> str:
    return json.dumps(to_dict(a, view), indent=2)


def to_markdown(a: Analysis, view: View = View()) -> str:
    head = [TITLES[c] for c in Column]
    out = [f"## {a.network} (input {fmt_shape(a.input)})", "",
           "| " + " | ".join(head) + " |",
           "|" + "|".join("---:" if c in NUMERIC else "---" for c in Column) + "|"]
    out += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |"
            for row in rows(a, view)]
    out += [""] + [f"- **{label}**: {value}" for label, value in totals_lines(a, view)]
    if a.bottlenecks:
        out += ["", "### 1x1 bottlenecks", "",
                "| Conv | After 1x1 | Direct MACs | With bottleneck | Saving |",
                "|---|---|---:|---:|---:|"]
        out += [f"| {x.name} | {x.reduce} | {x.direct_macs * view.batch:,} | "
                f"{x.bottleneck_macs * view.batch:,} | {x.ratio:.2f}x |" for x in a.bottlenecks]
    return "\n".join(out) + "\n"


def to_csv(a: Analysis, view: View = View()) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["name", "kind", "output", "params", "macs", "line", "side"])
    for r in a.layers:
        writer.writerow([r.name, r.kind, fmt_shape(r.output), r.params, r.macs * view.batch,
                         r.line, r.side or ""])
    return buffer.getvalue()


def dumps_indented(value: Any) -> str:
    """`json.dumps(value, indent=2)`, byte for byte, in a fraction of the time on big
    documents: with an indent, the standard library encodes in Python through nested
    generators (about 1 s for a 20,000-layer `params --format json`); this writes into one
    list. Values json cannot encode fall back to json.dumps (and its error)."""
    out: list[str] = []
    try:
        _emit(value, out, "\n")
    except _NotPlain:
        return json.dumps(value, indent=2)
    return "".join(out)


class _NotPlain(Exception):
    pass


_ENCODE = json.encoder.encode_basestring_ascii
_CONSTANTS = {True: "true", False: "false"}


def _float(value: float) -> str:
    return json.dumps(value)  # repr, or NaN / Infinity as json writes them


# Scalars by exact type: one dictionary look-up instead of a chain of isinstance checks per
# value (a 20,000-layer document holds about 400,000); subclasses (an IntEnum, a str Enum) take
# the general path in _scalar.
_PLAIN = {str: _ENCODE, int: int.__repr__, bool: _CONSTANTS.__getitem__, float: _float,
          type(None): lambda _: "null"}


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if value is True or value is False:
        return _CONSTANTS[value]
    if isinstance(value, str):
        return _ENCODE(value)
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return _float(value)
    raise _NotPlain


def _emit(value: Any, out: list[str], newline: str) -> None:
    if isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        inner = newline + "  "
        separator = "{" + inner
        for key, item in value.items():
            if not isinstance(key, str):
                raise _NotPlain  # json's own key conversions
            plain = _PLAIN.get(type(item))
            if plain is not None:  # (f-strings: one concatenation, not three)
                out.append(f"{separator}{_ENCODE(key)}: {plain(item)}")
            else:
                out.append(f"{separator}{_ENCODE(key)}: ")
                _emit(item, out, inner)
            separator = "," + inner
        out.append(newline + "}")
    elif isinstance(value, (list, tuple)):
        if not value:
            out.append("[]")
            return
        inner = newline + "  "
        try:  # a list of plain scalars (shapes, per-axis values) in one piece
            items = ("," + inner).join([_PLAIN[type(item)](item) for item in value])
            out.append(f"[{inner}{items}{newline}]")
            return
        except KeyError:
            pass
        separator = "[" + inner
        for item in value:
            out.append(separator)
            separator = "," + inner
            _emit(item, out, inner)
        out.append(newline + "]")
    else:
        out.append(_scalar(value))
