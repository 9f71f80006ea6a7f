"""The answers to editor requests, computed from a `DocumentIndex` (no server state here).

Positions are 0-based (line, character in code points); `Span`s are 1-based with an
exclusive end column.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from lsprotocol import types as lsp

from archc.errors import Diagnostic, Span
from archc.lsp.document import Container, DocumentIndex, LayerRecord, Occurrence, Pos, Token

KEYWORDS = ("network", "block", "input", "defaults", "residual", "shortcut", "concat", "branch",
            "side", "again", "if", "else")


# ---- conversions ----------------------------------------------------------------------------

def span_range(span: Span) -> lsp.Range:
    start = lsp.Position(max(span.line - 1, 0), max(span.col - 1, 0))
    end = lsp.Position(max(span.end_line - 1, 0), max(span.end_col - 1, 0))
    if (end.line, end.character) < (start.line, start.character):
        end = start
    return lsp.Range(start, end)


def token_range(tok: Token) -> lsp.Range:
    return lsp.Range(lsp.Position(*tok.start), lsp.Position(*tok.end))


def utf16_length(text: str) -> int:
    """Editors count columns in UTF-16 units (the LSP default); only comments hold non-ASCII."""
    return len(text.encode("utf-16-le")) // 2


def _contains(span: Span, pos: Pos) -> bool:
    start, end = (span.line - 1, span.col - 1), (span.end_line - 1, span.end_col - 1)
    return start <= pos <= end


def _size(span: Span) -> tuple[int, int]:
    return (span.end_line - span.line, span.end_col - span.col)


def shape(value: Any) -> str:
    return "x".join(str(d) for d in value) if isinstance(value, tuple) else str(value)


def count(value: int) -> str:
    for limit, suffix in ((10**9, "G"), (10**6, "M"), (10**3, "k")):
        if value >= limit:
            return f"{value / limit:.2f}{suffix} ({value:,})"
    return f"{value:,}"


# ---- diagnostics ----------------------------------------------------------------------------

def diagnostics(index: DocumentIndex, uri: str) -> list[lsp.Diagnostic]:
    """Every check/lint diagnostic; one inside a block is repeated at each call site."""
    found: list[lsp.Diagnostic] = []
    for diag in index.diagnostics:
        if diag.span is not None and diag.span.file != index.file:
            continue  # another file's (none today: a spec is one file)
        found.append(_diagnostic(diag, diag.span or _FIRST, diag.message))
        for note, call in diag.notes:  # `in block X called at`: the call site hears about it
            if call.file == index.file and call != diag.span:
                where = f"{diag.span.line}:{diag.span.col}"
                message = f"{note.removeprefix('in ')} here: {diag.message} (at {where})"
                origin = lsp.Location(uri, span_range(diag.span))
                found.append(_diagnostic(diag, call, message, origin))
    if index.internal_error:
        found.append(lsp.Diagnostic(lsp.Range(lsp.Position(0, 0), lsp.Position(0, 1)),
                                    f"archc internal error: {index.internal_error}",
                                    severity=lsp.DiagnosticSeverity.Error, source="archc"))
    return found


_FIRST = Span("", 1, 1, 1, 2)  # where a diagnostic without a place is shown


def _diagnostic(diag: Diagnostic, span: Span, message: str,
                origin: lsp.Location | None = None) -> lsp.Diagnostic:
    text = message + (f"\nhint: {diag.hint}" if diag.hint else "")
    related = None
    if origin is not None:  # the error itself, inside the block
        related = [lsp.DiagnosticRelatedInformation(origin, diag.message)]
    severity = lsp.DiagnosticSeverity.Error if diag.is_error else lsp.DiagnosticSeverity.Warning
    return lsp.Diagnostic(span_range(span), text, severity=severity, code=diag.code.value,
                          source="archc", related_information=related,
                          data={"hint": diag.hint} if diag.hint else None)


# ---- hover ----------------------------------------------------------------------------------

def hover(index: DocumentIndex, pos: Pos) -> str | None:
    """Markdown for the thing under the cursor: a layer, a block call, a definition."""
    occ = index.occurrence_at(pos)
    if occ is not None and occ.what == "block" and occ.defines:
        return _block_definition(index, occ)
    layer_spans = [r for r in index.layers() if _contains(r.span, pos)]
    call_spans = _calls_at(index, pos)
    best_layer = min((_size(r.span) for r in layer_spans), default=None)
    best_call = min((_size(s) for s in call_spans), default=None)
    if best_call is not None and (best_layer is None or best_call < best_layer):
        span = min(call_spans, key=_size)
        return _block_call(index, span)
    if best_layer is not None:
        return _layer(index, [r for r in layer_spans if _size(r.span) == best_layer])
    if occ is not None and occ.what == "network":
        net = next((n for n in index.networks if n.name == occ.token.text), None)
        if net is not None:
            return (f"**network {net.name}**: {shape(net.input)} → {shape(net.output)}\n\n"
                    f"{len(net.layers)} layers · params {count(net.params)} · "
                    f"MACs {count(net.macs)}")
    tok = index.token_at(pos)
    return _kind_doc(tok.text) if tok is not None and tok.kind == "name" else None


def _calls_at(index: DocumentIndex, pos: Pos) -> list[Span]:
    spans = {span for r in index.layers() for _, span in r.trace if _contains(span, pos)}
    return list(spans)


def _layer(index: DocumentIndex, records: list[LayerRecord]) -> str:
    first = records[0]
    title = f"**{first.kind}** `{first.name}`"
    variants: dict[tuple, list[LayerRecord]] = defaultdict(list)
    for r in records:
        variants[(r.inputs, r.output, r.params, r.macs, r.extra)].append(r)
    parts = [title]
    for (inputs, output, params, macs, extra), group in list(variants.items())[:6]:
        ins = ", ".join(shape(s) for s in inputs) or "?"
        line = f"{ins} → **{shape(output)}** · params {count(params)} · MACs {count(macs)}"
        line += "".join(f" · {key} {value}" for key, value in extra)
        if len(records) > 1:
            names = ", ".join(f"`{r.name}`" for r in group[:3]) + (" …" if len(group) > 3 else "")
            line = f"{len(group)} times ({names}): " + line
        parts.append(line)
    if len(variants) > 6:
        parts.append(f"… and {len(variants) - 6} more variants")
    doc = _kind_doc(first.kind)
    if doc:
        parts.append(doc)
    return "\n\n".join(parts)


def _block_call(index: DocumentIndex, call: Span) -> str:
    """Subtotals of the layers a block call expands to, per distinct instance."""
    instances: dict[tuple, list[LayerRecord]] = defaultdict(list)
    block = "block"
    for r in index.layers():
        for depth, (what, span) in enumerate(r.trace):
            if span == call:
                key = (r.network, *(s for _, s in r.trace[:depth]))
                instances[key].append(r)
                block = what
                break
    name = re.search(r"`([^`]+)`", block)
    rows = [f"**block call** `{name.group(1) if name else '?'}`"]
    totals: dict[tuple, int] = defaultdict(int)
    for layers in instances.values():
        layers.sort(key=lambda r: r.node)
        main = [r for r in layers]
        params, macs = sum(r.params for r in layers), sum(r.macs for r in layers)
        io = (", ".join(shape(s) for s in main[0].inputs), shape(main[-1].output))
        totals[(io, params, macs, len(layers))] += 1
    for ((ins, out), params, macs, n), times in list(totals.items())[:6]:
        mult = f"{times} calls: " if times > 1 else ""
        rows.append(f"{mult}{ins} → **{out}** · {n} layers · params {count(params)} · "
                    f"MACs {count(macs)}")
    return "\n\n".join(rows)


def _block_definition(index: DocumentIndex, occ: Occurrence) -> str:
    box = index.blocks().get(occ.token.text)
    signature = box.signature if box else f"block {occ.token.text}"
    params = ", ".join(f"`{p}`" for p in box.params) if box and box.params else "none"
    calls = [o for o in index.related(occ) if not o.defines]
    return (f"```\n{signature}\n```\n\nparameters: {params}\n\n"
            f"{len(calls)} call site{'s' * (len(calls) != 1)} in this file")


def _kind_doc(name: str) -> str | None:
    from archc.layers import REGISTRY

    kind = REGISTRY.get(name)
    if kind is None or kind.internal:
        return None
    return f"`{name}`: {kind.doc}" if kind.doc else f"`{name}` layer"


# ---- inlay hints ----------------------------------------------------------------------------

def inlay_hints(index: DocumentIndex, first: int = 0, last: int | None = None
                ) -> list[lsp.InlayHint]:
    """Each line's output shape at its end: in a network, the last tensor the line makes; in a
    block body, only when every call gives that line the same shape."""
    per_line: dict[int, dict[tuple, tuple[int, Any]]] = defaultdict(dict)
    for r in index.layers():
        anchors = [s for _, s in r.trace] + [r.span]
        for depth, span in enumerate(anchors):
            key = (r.network, *anchors[:depth])
            line = span.end_line - 1
            best = per_line[line].get(key)
            if best is None or r.node > best[0]:
                per_line[line][key] = (r.node, r.output)
    for net, line in _input_lines(index):
        per_line[line][(net.name, "input")] = (0, net.input)
    lines = index.lines
    hints = []
    for line in sorted(per_line):
        if line < first or (last is not None and line > last) or line >= len(lines):
            continue
        shapes = {out for _, out in per_line[line].values()}
        if len(shapes) != 1:
            continue
        (out,) = shapes
        end = utf16_length(lines[line].rstrip("\r"))
        hints.append(lsp.InlayHint(lsp.Position(line, end), f"→ {shape(out)}",
                                   kind=lsp.InlayHintKind.Type, padding_left=True))
    return hints


def _input_lines(index: DocumentIndex):
    nets = {n.name: n for n in index.networks}
    for i, tok in enumerate(index.toks):
        if tok.text != "input" or i + 1 >= len(index.toks) or index.toks[i + 1].kind != "number":
            continue
        box = index.container_at(tok.start)
        if box is not None and box.keyword == "network" and box.name.text in nets:
            yield nets[box.name.text], index.toks[i + 1].end[0]


# ---- definition, references, symbols ------------------------------------------------------

def definition(index: DocumentIndex, pos: Pos) -> list[lsp.Range]:
    occ = index.occurrence_at(pos)
    if occ is None:
        return []
    return [token_range(o.token) for o in index.related(occ) if o.defines]


def references(index: DocumentIndex, pos: Pos, include_declaration: bool) -> list[lsp.Range]:
    occ = index.occurrence_at(pos)
    if occ is None:
        return []
    return [token_range(o.token) for o in index.related(occ)
            if include_declaration or not o.defines]


def symbols(index: DocumentIndex) -> list[lsp.DocumentSymbol]:
    found = []
    for box in index.containers:
        full = lsp.Range(lsp.Position(*box.start), lsp.Position(*box.end))
        children = [lsp.DocumentSymbol(name, lsp.SymbolKind.TypeParameter, token_range(tok),
                                       token_range(tok)) for name, tok in box.params.items()]
        children += [lsp.DocumentSymbol(o.token.text, lsp.SymbolKind.Variable,
                                        token_range(o.token), token_range(o.token))
                     for o in index.occurrences if o.what == "tensor" and o.defines
                     and o.container == box.name.text and box.contains(o.token.start)]
        kind = lsp.SymbolKind.Class if box.keyword == "network" else lsp.SymbolKind.Function
        detail = box.signature if box.keyword == "block" else _network_detail(index, box)
        found.append(lsp.DocumentSymbol(box.name.text, kind, full, token_range(box.name),
                                        detail=detail, children=children))
    return found


def _network_detail(index: DocumentIndex, box: Container) -> str:
    net = next((n for n in index.networks if n.name == box.name.text), None)
    return f"{shape(net.input)} → {shape(net.output)}" if net else "network"


# ---- completion -----------------------------------------------------------------------------

def completion(index: DocumentIndex, pos: Pos) -> list[lsp.CompletionItem]:
    """Layer kinds, blocks and keywords where an item starts; argument names (with defaults and
    meaning from the registry) and saved tensors inside a call's parentheses."""
    from archc.layers import REGISTRY

    before = [t for t in index.toks if t.end <= pos or (t.start < pos and t.kind != "name")]
    if before and before[-1].text == "->":
        return []  # a new name: nothing to offer
    box = index.container_at(pos)
    callee = _open_call(before)
    if callee is not None:
        if callee[0] == "block_header":
            return []
        return _arguments(index, box, callee[1], callee[2], REGISTRY)
    items = [lsp.CompletionItem(name, kind=lsp.CompletionItemKind.Class, detail=kind.doc or None,
                                sort_text=f"1{name}")
             for name, kind in sorted(REGISTRY.items()) if not kind.internal]
    items += [lsp.CompletionItem(name, kind=lsp.CompletionItemKind.Function,
                                 detail=block.signature, sort_text=f"0{name}")
              for name, block in index.blocks().items()]
    items += [lsp.CompletionItem(word, kind=lsp.CompletionItemKind.Keyword, sort_text=f"2{word}")
              for word in KEYWORDS]
    if box is not None and box.keyword == "block":
        items += _param_values(box)
    return items


def _open_call(before: list[Token]) -> tuple[str, str, set[str]] | None:
    """The call whose parentheses the cursor is in: (what, name, argument names given)."""
    depth, given = 0, set()
    for i in range(len(before) - 1, -1, -1):
        tok = before[i]
        if tok.text in ("{", "}"):
            return None
        if tok.text == ")":
            depth += 1
        elif tok.text == "(":
            if depth == 0:
                if i >= 2 and before[i - 2].text == "block":
                    return ("block_header", before[i - 1].text, given)
                if i >= 1 and before[i - 1].kind == "name":
                    return ("call", before[i - 1].text, given)
                depth = -1  # a parenthesised expression: keep looking outwards
                continue
            depth -= 1
        elif tok.kind == "name" and depth == 0 and i + 1 < len(before) \
                and before[i + 1].text == "=":
            given.add(tok.text)
        if depth < 0:
            depth = 0
    return None


def _arguments(index: DocumentIndex, box: Container | None, callee: str, given: set[str],
               registry) -> list[lsp.CompletionItem]:
    items: list[lsp.CompletionItem] = []
    kind = registry.get(callee)
    if kind is not None:
        for number, (name, info) in enumerate(kind.Args.model_fields.items()):
            if name in given:
                continue
            items.append(lsp.CompletionItem(
                f"{name}=", kind=lsp.CompletionItemKind.Property, insert_text=f"{name}=",
                detail=_field_detail(name, info, kind.positional),
                documentation=lsp.MarkupContent(lsp.MarkupKind.Markdown, kind.doc or kind.name),
                sort_text=f"0{number:02d}"))
        if kind.takes_tensors:
            items += [lsp.CompletionItem(name, kind=lsp.CompletionItemKind.Variable,
                                         detail="saved tensor", sort_text=f"1{name}")
                      for name in index.saved_names(box)]
    block = index.blocks().get(callee)
    if block is not None:
        items += [lsp.CompletionItem(f"{name}=", kind=lsp.CompletionItemKind.Property,
                                     detail=block.signature, sort_text=f"0{number:02d}")
                  for number, name in enumerate(block.params) if name not in given]
    if box is not None and box.keyword == "block":
        items += _param_values(box)
    return items


def _param_values(box: Container) -> list[lsp.CompletionItem]:
    return [lsp.CompletionItem(name, kind=lsp.CompletionItemKind.Variable,
                               detail=f"parameter of {box.signature}", sort_text=f"3{name}")
            for name in box.params]


def _field_detail(name: str, info, positional: tuple[str, ...]) -> str:
    kind = re.sub(r"typing\.|<class '(\w+)'>", lambda m: m.group(1) or "", str(info.annotation))
    kind = kind.replace("Literal[", "one of [")
    default = "required" if info.is_required() else f"default {_value(info.default)}"
    where = f", positional #{positional.index(name) + 1}" if name in positional else ""
    return f"{name}: {kind} ({default}{where})"


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# ---- formatting -----------------------------------------------------------------------------

def formatting(index: DocumentIndex) -> list[lsp.TextEdit] | None:
    """One edit replacing the document with `archc fmt`'s layout; None when it does not parse."""
    from archc.errors import ArchcError
    from archc.fmt import format_text

    try:
        formatted = format_text(index.text, index.file)
    except ArchcError:
        return None
    if formatted == index.text:
        return []
    lines = index.lines
    end = lsp.Position(len(lines) - 1, len(lines[-1]))
    return [lsp.TextEdit(lsp.Range(lsp.Position(0, 0), end), formatted)]
