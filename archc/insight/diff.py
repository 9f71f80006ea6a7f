"""`archc diff`: what a change to a spec costs. Layers are aligned by name (the names of the
emitted modules); each is added, removed, changed (kind, shape, parameters, MACs or saved
activation memory differ) or unchanged. Totals compare the whole networks."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from archc.api import Model
from archc.insight.memory import estimate
from archc.layers.base import fmt_shape

METRICS = ("params", "macs", "memory")


@dataclass(frozen=True)
class Side:
    kind: str
    output: tuple
    params: int
    macs: int
    memory: int  # bytes autograd saves for backward (fp32, batch 1) first kept by this layer


@dataclass(frozen=True)
class LayerChange:
    name: str
    status: str  # added | removed | changed | unchanged
    old: Side | None
    new: Side | None

    def delta(self, metric: str) -> int:
        return _value(self.new, metric) - _value(self.old, metric)


@dataclass(frozen=True)
class Diff:
    old_name: str
    new_name: str
    old_totals: dict[str, int]
    new_totals: dict[str, int]
    old_output: tuple
    new_output: tuple
    layers: list[LayerChange]

    def delta(self, metric: str) -> int:
        return self.new_totals[metric] - self.old_totals[metric]

    @property
    def changed(self) -> list[LayerChange]:
        return [c for c in self.layers if c.status != "unchanged"]


def _value(side: Side | None, metric: str) -> int:
    return 0 if side is None else getattr(side, metric)


def _sides(model: Model) -> dict[str, Side]:
    saved = {x.name: x.saved_bytes for x in estimate(model).layers}
    return {r.name: Side(r.kind, tuple(r.output), r.params, r.macs, saved.get(r.name, 0))
            for r in model.analysis.layers}


def _totals(model: Model) -> dict[str, int]:
    return {"params": model.analysis.totals.params, "macs": model.analysis.totals.macs,
            "memory": estimate(model).saved_bytes}


def diff(old: Model, new: Model, old_name: str = "old", new_name: str = "new") -> Diff:
    before, after = _sides(old), _sides(new)
    order = _merged_order(list(before), list(after))
    changes = []
    for name in order:
        a, b = before.get(name), after.get(name)
        status = ("added" if a is None else "removed" if b is None
                  else "unchanged" if a == b else "changed")
        changes.append(LayerChange(name, status, a, b))
    return Diff(old_name, new_name, _totals(old), _totals(new), tuple(old.analysis.output),
                tuple(new.analysis.output), changes)


def _merged_order(old: list[str], new: list[str]) -> list[str]:
    """New order, each removed layer placed after the layer that preceded it in the old spec."""
    present = set(new)
    after: dict[str | None, list[str]] = {}
    anchor = None
    for name in old:
        if name in present:
            anchor = name
        else:
            after.setdefault(anchor, []).append(name)
    order = list(after.get(None, []))
    for name in new:
        order += [name, *after.get(name, [])]
    return order


# ---- budgets for CI --------------------------------------------------------------------------

_LIMIT = re.compile(r"^(params|macs|memory)\+(\d+(?:\.\d+)?)(%|[kKMGT]?)$")
_SCALE = {"": 1, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}


def parse_limit(text: str) -> tuple[str, float, bool]:
    """`params+10%` -> ("params", 10.0, True); `macs+50M` -> ("macs", 5e7, False)."""
    match = _LIMIT.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not like params+10%, macs+50M or memory+20%")
    metric, number, unit = match.groups()
    if unit == "%":
        return metric, float(number), True
    return metric, float(number) * _SCALE[unit], False


def exceeded(d: Diff, limits: list[str]) -> list[str]:
    """The limits this change breaks, as sentences."""
    broken = []
    for text in limits:
        metric, amount, percent = parse_limit(text)
        old, grow = d.old_totals[metric], d.delta(metric)
        allowed = old * amount / 100 if percent else amount
        if grow > allowed:
            broken.append(f"{metric} grew by {grow:,} ({_percent(grow, old)}), more than {text}")
    return broken


# ---- output ----------------------------------------------------------------------------------

def _percent(delta: int, base: int) -> str:
    return f"{100 * delta / base:+.2f}%" if base else ("+inf%" if delta else "+0.00%")


def _signed(value: int) -> str:
    return f"{value:+,}" if value else "0"


def _shape_cell(c: LayerChange) -> str:
    a = fmt_shape(c.old.output) if c.old else ""
    b = fmt_shape(c.new.output) if c.new else ""
    return b or a if a == b or not a or not b else f"{a} -> {b}"


def _kind_cell(c: LayerChange) -> str:
    a, b = (c.old.kind if c.old else ""), (c.new.kind if c.new else "")
    return b or a if a == b or not a or not b else f"{a} -> {b}"


def _row(c: LayerChange) -> list[str]:
    return [c.name, c.status, _kind_cell(c), _shape_cell(c), _signed(c.delta("params")),
            _signed(c.delta("macs")), _signed(c.delta("memory"))]


HEAD = ["Layer", "Change", "Kind", "Output", "\u0394 params", "\u0394 MACs", "\u0394 saved B"]


def _total_rows(d: Diff) -> list[list[str]]:
    names = {"params": "Parameters", "macs": "MACs", "memory": "Saved for backward (B)"}
    return [[names[m], f"{d.old_totals[m]:,}", f"{d.new_totals[m]:,}", _signed(d.delta(m)),
             _percent(d.delta(m), d.old_totals[m])] for m in METRICS]


def to_text(d: Diff, width: int | None = None, ascii_only: bool = False) -> str:
    from archc.insight.table import Col, render

    counts = {s: sum(c.status == s for c in d.layers)
              for s in ("added", "removed", "changed", "unchanged")}
    lines = [f"{d.old_name} -> {d.new_name}: " + ", ".join(f"{n} {s}" for s, n in counts.items())]
    if d.old_output != d.new_output:
        lines.append(f"output {fmt_shape(d.old_output)} -> {fmt_shape(d.new_output)}")
    if d.changed:
        lines.append("")
        cols = [Col(HEAD[0], wrap=1), Col(HEAD[1]), Col(HEAD[2], wrap=2), Col(HEAD[3], wrap=3),
                *(Col(h, numeric=True) for h in HEAD[4:])]
        lines += render(cols, [_row(c) for c in d.changed], width, ascii_only)
    lines.append("")
    cols = [Col("Total"), Col("Old", numeric=True), Col("New", numeric=True),
            Col("\u0394", numeric=True), Col("%", numeric=True)]
    lines += render(cols, _total_rows(d), width, ascii_only)
    return "\n".join(lines) + "\n"


def to_markdown(d: Diff) -> str:
    out = [f"### archc diff: `{d.old_name}` \u2192 `{d.new_name}`", "",
           "| Total | Old | New | \u0394 | % |", "|---|---:|---:|---:|---:|"]
    out += ["| " + " | ".join(row) + " |" for row in _total_rows(d)]
    if d.old_output != d.new_output:
        out += ["", f"Output: {fmt_shape(d.old_output)} \u2192 {fmt_shape(d.new_output)}"]
    if d.changed:
        out += ["", "<details><summary>" + f"{len(d.changed)} layer(s) changed</summary>", "",
                "| " + " | ".join(HEAD) + " |", "|---|---|---|---|---:|---:|---:|"]
        out += ["| " + " | ".join(cell.replace("|", "\\|") for cell in _row(c)) + " |"
                for c in d.changed]
        out += ["", "</details>"]
    return "\n".join(out) + "\n"


def to_dict(d: Diff) -> dict:
    def side(s: Side | None):
        return None if s is None else {"kind": s.kind, "output": list(s.output),
                                       "params": s.params, "macs": s.macs,
                                       "saved_bytes": s.memory}

    return {"schema_version": 1, "old": d.old_name, "new": d.new_name,
            "output": {"old": list(d.old_output), "new": list(d.new_output)},
            "totals": {m: {"old": d.old_totals[m], "new": d.new_totals[m], "delta": d.delta(m)}
                       for m in METRICS},
            "layers": [{"name": c.name, "status": c.status, "old": side(c.old),
                        "new": side(c.new)} for c in d.changed]}


def to_json(d: Diff) -> str:
    return json.dumps(to_dict(d), indent=2)
