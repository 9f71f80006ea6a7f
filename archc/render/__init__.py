"""`archc render`: pictures of a network (svg, html, dot, mermaid).

Depends on the pipeline (parse -> expand -> graph -> analyze), never the other way round.

    import archc
    model = archc.load("specs/googlenet.arch")
    svg = archc.render(model, "svg")                  # also archc.render.render(...)
    svg = archc.render(model, "svg", expand=["inception3a"], direction="LR")

`archc.render` is this module, made callable, so that both spellings work.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Iterable
from dataclasses import dataclass

from archc.errors import ArchcError, Diagnostic

FORMATS = ("svg", "html", "dot", "mermaid", "png")
PNG_HINT = "png needs the resvg-py wheel (no system packages): pip install 'archc[render]'"
DIRECTIONS = ("TB", "LR")


@dataclass
class Rendered:
    text: str | bytes  # bytes for png
    diagnostics: list[Diagnostic]  # the spec's errors (the picture shows them too)

    @property
    def ok(self) -> bool:
        return not any(d.is_error for d in self.diagnostics)


def render(model, format: str = "svg", expand: Iterable[str] | str | None = None,
           direction: str = "TB") -> str | bytes:
    """The picture of a loaded `archc.Model`: text (SVG, HTML, DOT, Mermaid) or PNG bytes.
    `expand`: None (blocks collapsed), "all", or names of blocks (instances, like `layer3.2`,
    or block definitions, like `bottleneck`) to open."""
    from archc._perf import stage
    from archc.render.scene import build_scene

    _check(format, direction)
    with stage():  # the pipeline's recursion headroom: blocks nest up to 400 levels
        scene = build_scene(model.expanded, model.built, model.analysis, direction=direction)
        return _write(scene, format, expand)


def render_source(text: str, file: str = "<string>", format: str = "svg",
                  expand: Iterable[str] | str | None = None, direction: str = "TB",
                  network: str | None = None, input_shape: tuple[int, ...] | None = None,
                  limits=None) -> Rendered:
    """Render a spec's text; a spec with errors is drawn up to them, failing layers marked."""
    from archc._perf import stage
    from archc.analyze import analyze_partial
    from archc.expand import expand as expand_spec
    from archc.graph import build_graph
    from archc.parse import parse_text
    from archc.render.scene import build_scene, error_scene

    _check(format, direction)
    try:
        spec = parse_text(text, file)
        net = expand_spec(spec, network, limits, input_shape)
    except ArchcError as exc:
        scene = error_scene(network or file, exc.diagnostics, direction)
        return Rendered(_write(scene, format, expand), exc.diagnostics)
    built = build_graph(net)
    analysis, errors, failed = analyze_partial(net, built, limits)
    diagnostics = _unique([*net.diagnostics, *built.diagnostics, *errors, *analysis.warnings])
    with stage():
        scene = build_scene(net, built, analysis, diagnostics, failed, direction)
        return Rendered(_write(scene, format, expand), diagnostics)


def _unique(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    return list(dict.fromkeys(diagnostics))


def _check(format: str, direction: str) -> None:
    if format not in FORMATS:
        raise ValueError(f"unknown format {format!r}; one of {', '.join(FORMATS)}")
    if direction not in DIRECTIONS:
        raise ValueError(f"unknown direction {direction!r}; TB or LR")


def expanded_ids(scene, expand: Iterable[str] | str | None) -> set[str]:
    """The groups to draw open: all, or those named (with everything around them)."""
    groups = [item for item in scene.root.walk() if item.is_group]
    if expand is None:
        return set()
    if isinstance(expand, str):
        expand = [expand]
    names = set(expand)
    if "all" in names:
        return {g.id for g in groups}
    chosen: set[str] = set()
    matched: set[str] = set()
    for group in groups:
        hits = {group.name, group.kind if group.role in ("block", "repeat") else ""} & names
        if hits:
            matched |= hits
            node = group
            while node is not None:
                chosen.add(node.id)
                node = node.parent
    unknown = sorted(names - matched)
    if unknown and scene.ok:  # (in a broken spec, the block may lie after the error)
        known = sorted({g.name for g in groups if g.id != scene.root.id}
                       | {g.kind for g in groups if g.role == "block"})
        raise ValueError(f"no block named {', '.join(unknown)} to expand; blocks: "
                         f"{', '.join(known[:30]) or 'none'}{' ...' if len(known) > 30 else ''}")
    return chosen


def _write(scene, format: str, expand) -> str | bytes:
    _check(format, scene.direction)
    opened = expanded_ids(scene, expand)
    if format == "png":
        from archc.render.svg import to_svg

        return svg_to_png(to_svg(scene, opened))
    if format == "svg":
        from archc.render.svg import to_svg

        return to_svg(scene, opened)
    if format == "html":
        from archc.render.html import to_html

        return to_html(scene, opened)
    from archc.render import text

    return text.to_dot(scene, opened) if format == "dot" else text.to_mermaid(scene, opened)


def png_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("resvg_py") is not None


PNG_MAX_PIXELS = 16_000_000  # 64 MB of RGBA: a huge expanded picture is drawn smaller


def svg_to_png(svg: str) -> bytes:
    """resvg (Rust, shipped inside the resvg-py wheel) rasterises the SVG at 2x, or smaller
    when that would pass PNG_MAX_PIXELS."""
    if not png_available():
        raise RuntimeError(PNG_HINT)
    import re

    import resvg_py

    size = re.search(r'<svg [^>]*width="(\d+)" height="(\d+)"', svg)
    pixels = int(size.group(1)) * int(size.group(2)) if size else 1
    zoom = min(2.0, (PNG_MAX_PIXELS / max(pixels, 1)) ** 0.5)
    return bytes(resvg_py.svg_to_bytes(svg_string=svg, zoom=zoom))


class _CallableModule(types.ModuleType):
    """`archc.render(model, "svg")`: importing archc.render binds the attribute to this module,
    so the module itself is the function."""

    def __call__(self, model, format: str = "svg", expand=None,
                 direction: str = "TB") -> str | bytes:
        return render(model, format, expand, direction)


sys.modules[__name__].__class__ = _CallableModule
