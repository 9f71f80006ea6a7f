"""File-level `defaults` for the arguments every call of a layer kind repeats.

`bn(eps=0.001, momentum=0.01)` on each of MobileNetV3's sixty batch norms says one thing sixty
times; `defaults { bn(eps=0.001, momentum=0.01) }` says it once, as the zoo's specs do. A
setting (a float or true/false) is hoisted when every call of its kind writes it alike;
the expanded layers (kind and validated arguments) must come out the same, else the text is
left as it was.
"""

from __future__ import annotations

from archc import ast as A
from archc.errors import ArchcError
from archc.expand import Expander, LayerNode, find_network
from archc.layers import REGISTRY
from archc.parse import parse_text


def hoist_defaults(text: str) -> str:
    try:
        spec = parse_text(text)
    except ArchcError:
        return text
    if spec.defaults:
        return text
    calls = [c for c in _calls(spec) if c.name in REGISTRY]
    source = _Source(text)
    hoisted: dict[str, dict[str, str]] = {}
    for kind in dict.fromkeys(c.name for c in calls):
        mine = [c for c in calls if c.name == kind]
        if len(mine) < 2:
            continue
        common = {a.name: source.slice(a.value.span) for a in mine[0].args
                  if a.name is not None and _literal(a.value)}
        for call in mine[1:]:
            written = {a.name: source.slice(a.value.span) for a in call.args
                       if a.name is not None and _literal(a.value)}
            common = {n: v for n, v in common.items() if written.get(n) == v}
        if common:
            hoisted[kind] = common
    if not hoisted:
        return text
    edits = []
    for call in calls:
        drop = hoisted.get(call.name, {})
        if not drop or not call.has_parens:
            continue
        kept = [source.slice(a.span) for a in call.args if a.name not in drop]
        start = source.offset(call.name_span.end_line, call.name_span.end_col)
        end = source.offset(call.span.end_line, call.span.end_col)
        edits.append((start, end, f"({', '.join(kept)})" if kept else ""))
    out = text
    for start, end, new in sorted(edits, reverse=True):
        out = out[:start] + new + out[end:]
    lines = " ".join(f"{kind}({', '.join(f'{n}={v}' for n, v in args.items())})"
                     for kind, args in hoisted.items())
    out = f"defaults {{ {lines} }}\n\n" + out
    return out if _layers(out) == _layers(text) and _layers(text) is not None else text


def join_short_groups(text: str, width: int = 72) -> str:
    """A `{ ... }` of plain items, one a line, on one line where it is short (as written after
    `hoist_defaults` shortened them): `{ conv(16, 1) bn relu }`."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        head = line.rstrip()
        if head.endswith("{") and head.strip() != "{" and not head.strip().endswith(": {"):
            out.append(line)
            i += 1
            continue
        indent = len(line) - len(line.lstrip())
        end = i + 1
        while end < len(lines) and "{" not in lines[end] and "}" not in lines[end] and (
                "#" not in lines[end]):
            end += 1
        closing = lines[end] if end < len(lines) else ""
        if (head.endswith("{") and end > i + 1 and closing.strip() == "}"
                and len(closing) - len(closing.lstrip()) == indent):
            joined = " ".join([head.strip(), *(ln.strip() for ln in lines[i + 1:end]), "}"])
            if len(joined) <= width and indent + len(joined) <= 96:
                out.append(" " * indent + joined)
                i = end + 1
                continue
        out.append(line)
        i += 1
    return "\n".join(out)


def _literal(expr) -> bool:
    """A setting rather than a size: a float (eps, momentum) or true/false (bias). Integers
    (kernel, stride, padding) stay on the layer, where a reader looks for the geometry."""
    if isinstance(expr, A.FloatLit):
        return True
    if isinstance(expr, A.NameRef):
        return expr.name in ("true", "false")
    return isinstance(expr, A.Neg) and _literal(expr.operand)


def _calls(spec: A.SpecFile):
    stack = [*(s for n in spec.networks for s in n.body), *(s for b in spec.blocks for s in b.body)]
    while stack:
        item = stack.pop()
        if isinstance(item, A.Call):
            yield item
        elif isinstance(item, A.Repeat):
            yield item.call
        elif isinstance(item, (A.Group, A.Side, A.Shortcut)):
            stack.extend(item.items)
        elif isinstance(item, A.Residual):
            stack.extend([*item.body, *(item.shortcut or [])])
        elif isinstance(item, A.ConcatBlock):
            stack.extend(i for b in item.branches for i in b.items)
        elif isinstance(item, A.If):
            stack.extend([*item.then, *(item.otherwise or [])])


def _layers(text: str) -> list | None:
    """Every expanded layer's name, kind and validated arguments; None when it fails."""
    from archc.codegen.pytorch import _walk

    try:
        spec = parse_text(text)
        net = Expander(spec).network(find_network(spec, None))
    except ArchcError:
        return None
    if any(d.is_error for d in net.diagnostics):
        return None
    return [(n.name, n.kind.name if n.kind else None, n.args) for n in _walk(net.body)
            if isinstance(n, LayerNode)]


class _Source:
    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0]
        for i, ch in enumerate(text):
            if ch == "\n":
                self.starts.append(i + 1)

    def offset(self, line: int, col: int) -> int:
        return self.starts[line - 1] + col - 1

    def slice(self, span) -> str:
        return self.text[self.offset(span.line, span.col):self.offset(span.end_line,
                                                                        span.end_col)]
