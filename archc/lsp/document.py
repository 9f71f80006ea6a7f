"""What the language server knows about one version of a document.

One run of the pipeline (through `lint_text`, so diagnostics are exactly what `archc check`
and `archc lint` report) gives the diagnostics and, for each network that analysed, every
layer with its shapes and counts keyed by source place. Names (blocks, networks, named
tensors, block parameters) are indexed lexically, so that go-to-definition, references and
completion keep working on half-typed text the parser rejects. No pygls here: this module is
tested and fuzzed in-process.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from archc._perf import stage
from archc.errors import Diagnostic, Span

Shape = tuple[Any, ...]
Pos = tuple[int, int]  # (line, character), both 0-based, characters are code points


# ---- layers from the analysis -------------------------------------------------------------

@dataclass(frozen=True)
class LayerRecord:
    """One analysed layer of one network, where the source wrote it."""

    network: str
    node: int  # graph node: dataflow order
    name: str
    kind: str
    inputs: tuple[Shape, ...]
    output: Shape
    params: int
    macs: int
    span: Span
    trace: tuple[tuple[str, Span], ...]  # enclosing block calls, outermost first
    extra: tuple[tuple[str, Any], ...] = ()  # optional analysis fields (receptive field, ...)


@dataclass
class NetworkRecord:
    name: str
    input: Shape
    output: Shape
    params: int
    macs: int
    layers: list[LayerRecord]


# ---- lexical index --------------------------------------------------------------------------

_TOKEN = re.compile(r'(?P<comment>#[^\n]*)|(?P<string>"[^"\\\n]*")|(?P<name>[A-Za-z_][A-Za-z0-9_]*)'
                    r"|(?P<number>[0-9][0-9.eE+-]*(?:\s*x\s*[0-9]+)*)"
                    r"|(?P<op>->|//|==|!=|<=|>=|\S)")


class Token(NamedTuple):
    kind: str  # name | number | string (a quoted label) | op
    text: str
    start: Pos
    end: Pos


@dataclass
class Container:
    """A top-level `network` or `block`: its name token, brace extent and parameter names."""

    keyword: str
    name: Token
    start: Pos
    end: Pos  # after the closing brace (or the end of the text when unclosed)
    params: dict[str, Token] = field(default_factory=dict)
    signature: str = ""

    def contains(self, pos: Pos) -> bool:
        return self.start <= pos <= self.end


@dataclass(frozen=True)
class Occurrence:
    """A name at a place: what it is, and whether this place defines it."""

    token: Token
    what: str  # block | network | tensor | param
    defines: bool
    container: str | None  # the block/network it lives in (tensors and parameters are local)


_LAST: list = [None, []]  # the last text tokenised and its tokens (asked twice per analysis)


def tokens(text: str) -> list[Token]:
    """Names, numbers and operators with their positions; comments dropped."""
    if _LAST[0] is text:
        return _LAST[1]
    newlines = [m.start() for m in re.finditer("\n", text)]
    found: list[Token] = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        if kind == "comment":
            continue
        start, end = match.span()
        line = bisect_left(newlines, start)  # newlines before the token
        begin = (line, start - (newlines[line - 1] + 1 if line else 0))
        word = match.group()
        if "\n" in word:  # `3 x\n 32` spans lines
            end_line = bisect_left(newlines, end)
            found.append(Token(kind, word, begin, (end_line, end - (newlines[end_line - 1] + 1))))
        else:
            found.append(Token(kind, word, begin, (line, begin[1] + len(word))))
    _LAST[0], _LAST[1] = text, found
    return found


def _containers(toks: list[Token], text_end: Pos) -> list[Container]:
    found: list[Container] = []
    i = 0
    while i < len(toks):
        tok = toks[i]
        depth_ok = tok.kind == "name" and tok.text in ("network", "block")
        if not (depth_ok and i + 1 < len(toks) and toks[i + 1].kind == "name"):
            i += 1
            continue
        box = Container(tok.text, toks[i + 1], tok.start, text_end)
        j = i + 2
        if tok.text == "block" and j < len(toks) and toks[j].text == "(":
            j = _params(toks, j, box)
        while j < len(toks) and toks[j].text != "{":
            if toks[j].text in ("network", "block"):
                break
            j += 1
        j = _close(toks, j, box, text_end)
        found.append(box)
        i = max(j, i + 1)
    return found


def _params(toks: list[Token], j: int, box: Container) -> int:
    """Parameter names of `block NAME(a, b=1)`; returns the index after the `)`."""
    depth, expect_name, parts = 0, True, []
    while j < len(toks):
        tok = toks[j]
        parts.append(tok.text)
        if tok.text == "(":
            depth += 1
        elif tok.text == ")":
            depth -= 1
            if depth == 0:
                j += 1
                break
        elif tok.text == "," and depth == 1:
            expect_name = True
        elif tok.text in ("{", "}"):
            break
        elif depth == 1 and expect_name and tok.kind == "name":
            box.params[tok.text] = tok
            expect_name = False
        elif depth == 1:
            expect_name = False
        j += 1
    box.signature = f"block {box.name.text}" + _join(parts)
    return j


def _join(parts: list[str]) -> str:
    text = ""
    for part in parts:
        if text and part not in ",)" and text[-1] not in "(=" and part != "=":
            text += " " if text[-1] == "," else ""
        text += part if part != "=" else "="
    return text


def _close(toks: list[Token], j: int, box: Container, text_end: Pos) -> int:
    """Find the brace closing the container body; returns the index after it."""
    depth = 0
    while j < len(toks):
        tok = toks[j]
        if tok.text == "{":
            depth += 1
        elif tok.text == "}":
            depth -= 1
            if depth == 0:
                box.end = tok.end
                return j + 1
        elif depth <= 1 and tok.text in ("network", "block") and j + 1 < len(toks) \
                and toks[j + 1].kind == "name" and depth == 0:
            break
        j += 1
    box.end = text_end
    return j


# ---- the document ---------------------------------------------------------------------------

@dataclass
class DocumentIndex:
    text: str
    file: str
    diagnostics: list[Diagnostic]
    networks: list[NetworkRecord]
    toks: list[Token]
    containers: list[Container]
    occurrences: list[Occurrence]
    internal_error: str | None = None

    @property
    def lines(self) -> list[str]:
        return self.text.split("\n")

    def container_at(self, pos: Pos) -> Container | None:
        return next((c for c in self.containers if c.contains(pos)), None)

    def blocks(self) -> dict[str, Container]:
        return {c.name.text: c for c in self.containers if c.keyword == "block"}

    def saved_names(self, container: Container | None) -> list[str]:
        names = [o.token.text for o in self.occurrences
                 if o.what == "tensor" and o.defines
                 and (container is None or o.container == container.name.text)]
        return list(dict.fromkeys(names))

    def token_at(self, pos: Pos) -> Token | None:
        """The token under (or just before) the cursor; a name wins over an adjacent `(`."""
        touching = []
        for tok in self.toks:
            if tok.start > pos:
                break
            if tok.start <= pos <= tok.end and tok.start[0] == pos[0]:
                touching.append(tok)
        names = [t for t in touching if t.kind == "name"]
        return (names or touching or [None])[-1]

    def occurrence_at(self, pos: Pos) -> Occurrence | None:
        tok = self.token_at(pos)
        return next((o for o in self.occurrences if o.token == tok), None) if tok else None

    def related(self, occ: Occurrence) -> list[Occurrence]:
        """Every occurrence of the same thing (same name, kind and, when local, container)."""
        return [o for o in self.occurrences if o.token.text == occ.token.text
                and o.what == occ.what and (occ.what in ("block", "network")
                                            or o.container == occ.container)]

    def layers(self) -> Iterator[LayerRecord]:
        for net in self.networks:
            yield from net.layers


def _occurrences(toks: list[Token], containers: list[Container]) -> list[Occurrence]:
    blocks = {c.name.text for c in containers if c.keyword == "block"}
    found: list[Occurrence] = []
    for box in containers:
        found.append(Occurrence(box.name, box.keyword, True, box.name.text))
        found += [Occurrence(tok, "param", True, box.name.text) for tok in box.params.values()]
    defined = {id(o.token) for o in found}
    saved: dict[str, set[str]] = {}
    body = [(i, tok) for i, tok in enumerate(toks) if id(tok) not in defined]
    for i, tok in body:
        if tok.kind == "name" and i > 0 and toks[i - 1].text == "->":
            box = _inside(containers, tok.start)
            if box is not None:
                found.append(Occurrence(tok, "tensor", True, box.name.text))
                saved.setdefault(box.name.text, set()).add(tok.text)
        elif tok.kind == "name" and i + 1 < len(toks) and toks[i + 1].text == ":":
            box = _inside(containers, tok.start)  # a label: what `again NAME` refers to
            if box is not None:
                found.append(Occurrence(tok, "label", True, box.name.text))
    defined = {id(o.token) for o in found}
    for i, tok in body:
        if tok.kind != "name" or id(tok) in defined:
            continue
        if i + 1 < len(toks) and toks[i + 1].text == "=" and toks[i + 1].start[0] == tok.end[0]:
            continue  # an argument name (`k=3`)
        if i > 0 and toks[i - 1].text in ("block", "network"):
            continue
        box = _inside(containers, tok.start)
        where = box.name.text if box else None
        if i > 0 and toks[i - 1].text == "again":
            found.append(Occurrence(tok, "label", False, where))
        elif box is not None and tok.text in box.params:
            found.append(Occurrence(tok, "param", False, where))
        elif box is not None and tok.text in saved.get(where, ()):
            found.append(Occurrence(tok, "tensor", False, where))
        elif tok.text in blocks:
            found.append(Occurrence(tok, "block", False, where))
    found.sort(key=lambda o: o.token.start)
    return found


def _inside(containers: list[Container], pos: Pos) -> Container | None:
    return next((c for c in containers if c.contains(pos)), None)


def _record(network: str, node: int, layer, stats, fields) -> LayerRecord:
    extra = ()
    if fields is not None and fields.describe(stats.name):
        extra = (("receptive field", fields.describe(stats.name)),)
    return LayerRecord(network, node, stats.name, stats.kind, tuple(stats.inputs), stats.output,
                       stats.params, stats.macs, layer.span,
                       tuple((what, span) for what, span in layer.trace), extra)


def _receptive_fields(ctx, text: str):
    """The receptive fields of every layer, where this archc has them (`archc.insight.rf`)."""
    try:
        from archc.api import Model
        from archc.insight.rf import receptive_fields
    except ImportError:
        return None
    try:
        return receptive_fields(Model(ctx.spec, ctx.expanded, ctx.built, ctx.analysis, text))
    except Exception:  # an optional extra: the shapes and counts still answer
        return None


def _network(ctx, text: str) -> NetworkRecord:
    analysis = ctx.analysis
    fields = _receptive_fields(ctx, text)
    layers = [_record(analysis.network, node, layer, stats, fields)
              for node, layer, stats in ctx.layers()]
    return NetworkRecord(analysis.network, tuple(analysis.input), tuple(analysis.output),
                         analysis.totals.params, analysis.totals.macs, layers)


def analyse(text: str, file: str, config=None, parse=None) -> DocumentIndex:
    """Diagnostics, analysed layers and the name index of one text. Never raises. `parse`
    replaces `parse_text` (the server passes an `IncrementalParser`)."""
    from archc.lint import lint_text
    from archc.lint.ruleset import NetworkContext

    networks: list[NetworkRecord] = []
    error = None

    def observe(ctx) -> None:
        if isinstance(ctx, NetworkContext):
            networks.append(_network(ctx, text))

    with stage():  # as the pipeline runs: the collector paused while everything is new objects
        try:
            diagnostics = lint_text(text, file, config, observe, parse)
        except Exception as exc:  # a pipeline bug must not take the editor session down
            diagnostics, error = [], f"{type(exc).__name__}: {exc}"
        toks = tokens(text)
        lines = text.split("\n")
        containers = _containers(toks, (len(lines) - 1, len(lines[-1])))
        return DocumentIndex(text, file, diagnostics, networks, toks, containers,
                             _occurrences(toks, containers), error)
