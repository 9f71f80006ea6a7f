"""The `archc params` table: per-layer (or folded) rows, totals and 1x1 bottlenecks, as text."""

from __future__ import annotations

from archc.api import Model
from archc.insight.fold import Row, fold, tree
from archc.insight.table import Col, render
from archc.layers.base import fmt_shape
from archc.report import View, totals_lines


def params_table(model: Model, view: View | None = None, depth: int | None = None,
                 width: int | None = None, ascii_only: bool = False, rf: bool = False) -> str:
    view = view or View()
    a = model.analysis
    rows = fold(tree(model.expanded.body, a), depth)
    times = " x " if ascii_only else " \u00d7 "
    cols = [Col("Layer", wrap=1), Col("Kind", wrap=2), Col("Output")]
    fields = None
    if rf:
        from archc.insight.rf import receptive_fields

        fields = receptive_fields(model)
        cols.append(Col("RF"))
    cols += [Col("Params", numeric=True), Col("MACs", numeric=True),
             Col("% params", numeric=True)]
    cells = [_cells(row, a.totals.params, view, times, fields) for row in rows]
    lines = [f"{a.network}  input {fmt_shape(a.input)}", ""]
    lines += render(cols, cells, width, ascii_only)
    lines.append("")
    totals = [*totals_lines(a, view), _training_line(model, view)]
    lines += _totals(totals, width)
    if a.bottlenecks:
        lines += ["", "1x1 bottlenecks"]
        b_cols = [Col("Conv", wrap=1), Col("After 1x1", wrap=2), Col("Direct MACs", numeric=True),
                  Col("With bottleneck", numeric=True), Col("Saving", numeric=True)]
        lines += render(b_cols, [[b.name, b.reduce, f"{b.direct_macs * view.batch:,}",
                                  f"{b.bottleneck_macs * view.batch:,}", f"{b.ratio:.2f}x"]
                                 for b in a.bottlenecks], width, ascii_only)
    return "\n".join(lines) + "\n"


def _totals(totals: list[tuple[str, str]], width: int | None) -> list[str]:
    """`label  value` lines; a value longer than the width wraps between words, under itself
    (a number is one word, so it is never split)."""
    import textwrap

    label_width = max(len(label) for label, _ in totals)
    room = max(20, width - label_width - 2) if width else None
    lines = []
    for label, value in totals:
        parts = (textwrap.wrap(value, room, break_long_words=False, break_on_hyphens=False)
                 if room else [value])
        lines.append(f"{label.ljust(label_width)}  {parts[0]}")
        lines += [f"{'':{label_width}}  {part}" for part in parts[1:]]
    return lines


def _cells(row: Row, total: int, view: View, times: str, fields) -> list[str]:
    kind = row.kind + (f"{times}{row.count}" if row.count > 1 else "")
    cells = [row.name, kind, fmt_shape(row.last.output)]
    if fields is not None:
        cells.append(fields.describe(row.last.name))
    share = f"{100 * row.params / total:.2f}" if total else "0.00"
    cells += [f"{row.params:,}", f"{row.macs * view.batch:,}", share]
    return cells


def json_document(model: Model, view: View | None = None) -> dict:
    """`report.to_dict` plus each layer's receptive field (fields added, none changed)."""
    from archc.insight.rf import receptive_fields
    from archc.report import to_dict

    doc = to_dict(model.analysis, view or View())
    fields = receptive_fields(model)
    for layer in doc["layers"]:
        layer["receptive_field"] = fields.to_json(layer["name"])
    from archc.insight.memory import estimate

    m = estimate(model, (view or View()).batch)
    doc["memory"] = {"dtype": m.dtype, "optimizer": m.optimizer, "saved_bytes": m.saved_bytes,
                     "training_bytes": m.training_bytes,
                     "inference_peak_bytes": m.inference_peak_bytes}
    return doc


def _training_line(model: Model, view: View) -> tuple[str, str]:
    from archc.insight.memory import estimate
    from archc.report import human_bytes

    m = estimate(model, view.batch)
    return ("Training memory", f"{human_bytes(m.training_bytes)} fp32 with AdamW, batch "
            f"{view.batch} ({human_bytes(m.saved_bytes)} saved for backward; `archc memory`)")
