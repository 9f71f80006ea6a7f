"""The public pipeline, one function per stage, and `load`/`loads` chaining them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from archc.analyze import Analysis, analyze
from archc.ast import SpecFile
from archc.errors import ArchcError, Code, Diagnostic, Span
from archc.expand import ExpandedNetwork, Limits, expand
from archc.graph import Built, build_graph
from archc.include import resolve_includes
from archc.parse import parse_text


@dataclass
class Model:
    """An analysed network: the stages' results, kept for reports and code generation."""

    spec: SpecFile
    expanded: ExpandedNetwork
    built: Built
    analysis: Analysis
    source: str

    @property
    def layers(self):
        return self.analysis.layers

    @property
    def totals(self):
        return self.analysis.totals

    def _repr_svg_(self) -> str:
        """Notebooks draw the loaded model inline (blocks collapsed; see archc.render)."""
        from archc.render import render

        return render(self, "svg")

    def _repr_html_(self) -> str:
        # the static SVG in a scrolling box: notebook viewers that strip scripts show it too
        return f'<div style="max-height:800px;overflow:auto">{self._repr_svg_()}</div>'


def read_source(path: str | Path) -> str:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ArchcError([Diagnostic(Code.UNREADABLE, f"cannot read {path}: {exc.strerror}",
                                     Span(str(path), 1, 1, 1, 1))]) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ArchcError([Diagnostic(Code.UNREADABLE, "the file is not valid UTF-8",
                                     Span(str(path), line, 1, line, 2),
                                     "save the spec as UTF-8 text")]) from None


def loads(text: str, file: str = "<string>", network: str | None = None,
          input_shape: tuple[int, ...] | None = None, limits: Limits | None = None) -> Model:
    """Parse, expand, build the graph and analyse a spec given as text."""
    spec = resolve_includes(parse_text(text, file))
    expanded = expand(spec, network, limits, input_shape)
    built = build_graph(expanded)
    return Model(spec, expanded, built, analyze(expanded, built, limits), text)


def load(path: str | Path, network: str | None = None,
         input_shape: tuple[int, ...] | None = None, limits: Limits | None = None) -> Model:
    """`loads` for a file on disk."""
    return loads(read_source(path), str(path), network, input_shape, limits)
