"""`archc explain`: where each number comes from, and what a diagnostic code means.

Per layer, the kind's own derivation (`LayerKind.explain`: output size, parameters, MACs in the
course's notation with the numbers filled in), its receptive field, and for a convolution behind
a 1x1 bottleneck the direct and reduced costs side by side. For a code (E203, L007, ...), the
rule's summary, why it matters, the fix and an example with the diagnostic it produces.
"""

from __future__ import annotations

import re
from pathlib import Path

from archc.api import Model
from archc.insight.rf import Fields, receptive_fields
from archc.layers.base import fmt_shape

CODE = re.compile(r"^[EWL]\d{3}$", re.IGNORECASE)


def is_code(text: str) -> bool:
    return bool(CODE.match(text))


def explain_network(model: Model, layer: str | None = None) -> str:
    """Every layer's derivation (or only `layer`'s); raises KeyError for an unknown layer."""
    a = model.analysis
    nodes = {data["layer"].name: data["layer"] for n, data in model.built.graph.nodes(data=True)
             if n}
    rows = [r for r in a.layers if layer is None or r.name == layer]
    if not rows:
        raise KeyError(layer)
    fields = receptive_fields(model)
    by_name = {r.name: r for r in a.layers}
    out = [] if layer else [f"{a.network}: input {fmt_shape(a.input)}", ""]
    for row in rows:
        out += _layer(row, nodes[row.name], fields, model, by_name)
        out.append("")
    if layer is None:
        t = a.totals
        out.append(f"total: {t.params:,} parameters (sum of the rows), {t.macs:,} MACs per "
                   "sample (main path), FLOPs = 2 x MACs")
    return "\n".join(out).rstrip() + "\n"


def _layer(row, node, fields: Fields, model: Model, by_name) -> list[str]:
    kind = node.kind
    lines = [(k, v) for k, v in kind.explain(node.args, list(row.inputs), row.output)]
    if row.shared:  # `again`: the weights are those of the first use, counted there
        lines = [(k, f"0: the weights of {row.shared}, applied again (counted there)"
                  if k == "params" else v) for k, v in lines]
    lines.insert(0, ("input", " + ".join(fmt_shape(s) for s in row.inputs)))
    lines.append(("receptive field", _field_text(fields, row.name)))
    for b in model.analysis.bottlenecks:
        if b.name == row.name:
            lines += _bottleneck(b, row, node, by_name)
    where = f"line {row.line}" + (f", side output {row.side}" if row.side else "")
    head = f"{row.name}: {_call(kind, node.args)} -> {fmt_shape(row.output)}  ({where})"
    width = max(len(k) for k, _ in lines)
    return [head, *(f"  {k.ljust(width)}  {v}" for k, v in lines)]


def _bottleneck(b, row, node, by_name) -> list[tuple[str, str]]:
    """The course's comparison: this kernel on the wide input vs the 1x1 reduce first."""
    reduce = by_name[b.reduce]
    wide = (reduce.inputs[0][0], *row.inputs[0][1:])
    direct = dict(node.kind.explain(node.args, [wide], row.output)).get("MACs", "")
    direct = direct.split(" = ", 1)[-1] if " = " in direct else f"{b.direct_macs:,}"
    return [("direct", f"without `{b.reduce}` (on {fmt_shape(wide)}): {direct} MACs"),
            ("bottleneck", f"1x1 `{b.reduce}` + this = {reduce.macs:,} + {row.macs:,} = "
             f"{b.bottleneck_macs:,} MACs ({b.ratio:.2f}x fewer)")]


def _field_text(fields: Fields, name: str) -> str:
    field = fields[name]
    if field.whole:
        return "the whole input (every input pixel reaches each output)"
    if not field.axes:
        return "-"
    text = fields.describe(name)
    jump = "x".join(_num(a.jump) for a in field.axes)
    start = ", ".join(_num(a.start) for a in field.axes)
    return (f"{text}, jump {jump}, start {start} (output o sees input pixels start + o\u00b7jump "
            "onwards)")


def _num(value) -> str:
    return str(value) if isinstance(value, int) else f"{float(value):g}"


def _call(kind, args) -> str:
    """The layer as a call, showing the arguments that differ from their defaults."""
    parts = []
    for name, field in type(args).model_fields.items():
        value = getattr(args, name)
        if not field.is_required() and value == field.default:
            continue
        text = str(value).lower() if isinstance(value, bool) else str(value)
        parts.append(text if name in kind.positional and len(parts) == kind.positional.index(
            name) else f"{name}={text}")
    return f"{kind.name}({', '.join(parts)})" if parts else kind.name


# ---- diagnostic codes ------------------------------------------------------------------------

def explain_code(code: str) -> str | None:
    """The long explanation of a diagnostic code, or None if there is no such code."""
    from archc.lint.ruleset import rules

    rule = rules().get(code.upper())
    if rule is None:
        return None
    out = [f"{rule.code.value} {rule.name} ({rule.severity}, "
           f"{'on' if rule.default_enabled else 'off'} by default)", "", rule.summary, "",
           f"Why: {rule.rationale}", "", f"Fix: {rule.fix}"]
    example = _example(rule.code.value)
    if example:
        out += ["", "Example:", "", *("    " + line for line in example.splitlines())]
        shown = _diagnostic(example, rule.code.value)
        if shown:
            out += ["", "archc reports:", "", *("    " + line for line in shown.splitlines())]
    return "\n".join(out) + "\n"


def _example(code: str) -> str | None:
    """The spec from tests/lint_cases (where a source checkout has it)."""
    cases = Path(__file__).resolve().parents[2] / "tests" / "lint_cases"
    for case in sorted(cases.glob(f"{code}_*.arch")):
        text = case.read_bytes().decode("utf-8", errors="replace")
        if "# args:" in text:
            continue  # needs command-line options; the rule text says which
        lines = [line for line in text.splitlines() if not line.startswith("# expect:")]
        return "\n".join(lines).strip("\n")
    return None


def _diagnostic(example: str, code: str) -> str | None:
    from archc.config import LintConfig
    from archc.errors import render
    from archc.lint import lint_text

    config = LintConfig(select=(code,))
    found = [d for d in lint_text(example, "example.arch", config) if d.code.value == code]
    return "\n".join(render(d, {"example.arch": example}) for d in found) or None
