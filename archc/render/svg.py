"""SVG: boxes, tensor-labelled edges and the error banner, in one standalone file."""

from __future__ import annotations

from html import escape
from itertools import pairwise

from archc.render.layout import FONT_SIZE, LINE_H, PAD, Box, Edge, Layout, Picture, text_width
from archc.render.scene import TIMES, Item, Scene, kind_is_name, shape_text

FONT = "'DejaVu Sans Mono', Menlo, Consolas, 'Liberation Mono', monospace"
MARGIN = 16
WRAP = 60  # characters per line of an error message in a box

STYLE = f"""
text {{ font-family: {FONT}; font-size: {FONT_SIZE}px; fill: #1f2933; }}
.t {{ font-weight: bold; }} .k {{ fill: #52606d; }} .s {{ fill: #3e4c59; }}
.b {{ fill: #b44d12; }} .e {{ fill: #b91c1c; }} .lbl {{ fill: #334e68; }}
.box rect.f {{ fill: #ffffff; stroke: #7b8794; stroke-width: 1.2; }}
.merge rect.f {{ fill: #fff7d6; stroke: #b7950b; }}
.block rect.f, .repeat rect.f, .seq rect.f {{ fill: #e8f1fb; stroke: #3c6e9f; }}
.side rect.f, .is-side rect.f {{ stroke: #7c3aed; stroke-dasharray: 5 3; }}
.input rect.f, .output rect.f {{ fill: #eef2f5; stroke: #52606d; }}
.bneck rect.f {{ stroke: #d9822b; stroke-width: 2.4; }}
.error rect.f {{ fill: #fdecec; stroke: #c62828; stroke-width: 2.4; }}
.open > rect.f {{ fill: #f7fafd; fill-opacity: 0.6; }}
.side.open > rect.f {{ fill: #f8f5ff; }}
rect.stack {{ fill: #e8f1fb; stroke: #3c6e9f; stroke-width: 1; }}
path.edge {{ fill: none; stroke: #616e7c; stroke-width: 1.3; }}
path.edge.side {{ stroke: #7c3aed; stroke-dasharray: 5 3; }}
rect.lblbg {{ fill: #ffffff; fill-opacity: 0.9; }}
.banner rect {{ fill: #fdecec; stroke: #c62828; }}
"""


def compact(n: int) -> str:
    """9.4K, 118M, 4.1G: three significant figures."""
    for size, suffix in ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "K")):
        if abs(n) >= size:
            value = n / size
            text = f"{value:.3g}" if value < 1000 else f"{value:.0f}"
            return text + suffix
    return str(n)


def kind_text(item: Item) -> str:
    if item.kernel and item.kind:
        return f"{item.kind} " + TIMES.join(str(k) for k in item.kernel)
    return item.kind


def lines(item: Item, open_: bool) -> list[tuple[str, str]]:
    """The text of a box, line by line, with its CSS class."""
    if item.role == "input":
        return [("input", "t"), (shape_text(item.output), "s")]
    if item.role == "output":
        title = "output" if item.side is None else f"{item.side} (side output)"
        return [(title, "t"), (shape_text(item.output), "s")]
    if item.is_group:
        mark = "▾ " if open_ else "▸ "
        kind = item.kind
        if item.repeat:
            kind = f"{kind} {TIMES} {item.repeat}" if kind else f"{TIMES} {item.repeat}"
        if item.role == "side":
            kind = "side output"
        head = mark + item.title + (f"  {kind}" if kind else "")
        if open_:
            return [(head, "t")]
        out = [(head, "t"), (_stats(item, with_layers=True), "s")]
        if item.bottlenecks:
            out.append((f"◆ {item.bottlenecks} 1{TIMES}1 bottleneck" + "s" * (item.bottlenecks > 1),
                        "b"))
        return out + _error_lines(item)
    if kind_is_name(item):  # `conv1`: the kernel is all the kind adds
        head = item.title + ("  " + TIMES.join(map(str, item.kernel)) if item.kernel else "")
    else:
        head = f"{item.title}  {kind_text(item)}"
    out = [(head, "t")]
    stats = _stats(item, with_layers=False)
    if stats:
        out.append((stats, "s"))
    if item.bottleneck:
        out.append(("◆ " + item.bottleneck, "b"))
    return out + _error_lines(item)


def _stats(item: Item, with_layers: bool) -> str:
    parts = [f"{item.layers} layers"] if with_layers else []
    if item.params:
        parts.append(f"{compact(item.params)} params")
    if item.macs:
        parts.append(f"{compact(item.macs)} MACs")
    return " · ".join(parts)


def _error_lines(item: Item) -> list[tuple[str, str]]:
    if not item.error:
        return []
    message = item.error.split(": ", 1)[-1]
    return [(chunk, "e") for chunk in wrap(message, WRAP)]


def wrap(text: str, width: int) -> list[str]:
    out, line = [], ""
    for word in text.split(" "):
        while len(word) > width:
            if line:
                out.append(line)
                line = ""
            out.append(word[:width])
            word = word[width:]
        if line and len(line) + 1 + len(word) > width:
            out.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    if line:
        out.append(line)
    return out


def classes(item: Item, open_: bool) -> str:
    names = ["box", item.role]
    if item.side is not None:
        names.append("is-side")
    if item.bottleneck:
        names.append("bneck")
    if item.error:
        names.append("error")
    if open_:
        names.append("open")
    return " ".join(names)


def node_markup(item: Item, w: float, h: float, open_: bool) -> str:
    """A box's content relative to its top-left corner (also used by page.js)."""
    parts = []
    if item.repeat and not open_:  # a stack of cards: "x N"
        parts += [f'<rect class="stack" x="6" y="-6" width="{w:.1f}" height="{h:.1f}" rx="5"/>',
                  f'<rect class="stack" x="3" y="-3" width="{w:.1f}" height="{h:.1f}" rx="5"/>']
    rx = h / 2 if item.role in ("merge", "input", "output") and h < 40 else 5
    parts.append(f'<rect class="f" width="{w:.1f}" height="{h:.1f}" rx="{rx:.1f}"/>')
    y = PAD + LINE_H - 4
    for text, css in lines(item, open_):
        x = PAD if open_ else (w - text_width(text)) / 2
        parts.append(f'<text class="{css}" x="{x:.1f}" y="{y:.1f}">{escape(text)}</text>')
        y += LINE_H
    return "".join(parts)


def edge_path(points: list[tuple[float, float]], lr: bool) -> str:
    """Straight along the rank axis, an S-curve where the order position changes."""
    d = f"M{points[0][0]:.1f},{points[0][1]:.1f}"
    for (x0, y0), (x1, y1) in pairwise(points):
        if lr:
            mx = (x0 + x1) / 2
            d += f" C{mx:.1f},{y0:.1f} {mx:.1f},{y1:.1f} {x1:.1f},{y1:.1f}"
        else:
            my = (y0 + y1) / 2
            d += f" C{x0:.1f},{my:.1f} {x1:.1f},{my:.1f} {x1:.1f},{y1:.1f}"
    return d


def banner_lines(scene: Scene) -> list[str]:
    out = []
    for message in scene.errors:
        out += wrap(message, 110)
    return out


def picture(scene: Scene, expanded: set[str]) -> tuple[Layout, Picture]:
    layout = Layout(scene, expanded, lines)
    return layout, layout.picture()


def to_svg(scene: Scene, expanded: set[str]) -> str:
    layout, pic = picture(scene, expanded)
    banner = banner_lines(scene)
    top = MARGIN + (len(banner) * LINE_H + 2 * PAD + 8 if banner else 0)
    width = max(pic.width, max((text_width(b) for b in banner), default=0) + 2 * PAD) + 2 * MARGIN
    height = pic.height + top + MARGIN
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
           f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="monospace">',
           f"<title>{escape(scene.network)}</title>",
           f"<style>{STYLE}</style>",
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
           'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
           'fill="#616e7c"/></marker></defs>',
           f'<rect width="{width:.0f}" height="{height:.0f}" fill="#ffffff"/>']
    if banner:
        out.append(_banner(banner, width))
    out.append(f'<g transform="translate({MARGIN},{top})">')
    out += [_box(box) for box in pic.boxes if box.expanded]
    out += [_edge(edge, layout.lr) for edge in pic.edges]
    out += [_box(box) for box in pic.boxes if not box.expanded]
    out += [_label(label) for label in pic.labels]
    out.append("</g></svg>")
    return "\n".join(out) + "\n"


def _banner(banner: list[str], width: float) -> str:
    h = len(banner) * LINE_H + 2 * PAD
    parts = [f'<g class="banner" transform="translate({MARGIN},{MARGIN})">',
             f'<rect width="{width - 2 * MARGIN:.0f}" height="{h}" rx="4"/>']
    for k, text in enumerate(banner):
        parts.append(f'<text class="e" x="{PAD}" y="{PAD + LINE_H * (k + 1) - 4}">'
                     f"{escape(text)}</text>")
    return "".join(parts) + "</g>"


def _box(box: Box) -> str:
    item = box.item
    tip = escape(tooltip(item))
    return (f'<g class="{classes(item, box.expanded)}" data-id="{item.id}" '
            f'transform="translate({box.x:.1f},{box.y:.1f})"><title>{tip}</title>'
            f"{node_markup(item, box.w, box.h, box.expanded)}</g>")


def _edge(edge: Edge, lr: bool) -> str:
    css = "edge side" if edge.side else "edge"
    return f'<path class="{css}" d="{edge_path(edge.points, lr)}" marker-end="url(#arrow)"/>'


def _label(label) -> str:
    x, y = label.x - label.w / 2, label.y - label.h / 2
    return (f'<g class="lblg"><rect class="lblbg" x="{x:.1f}" y="{y:.1f}" width="{label.w:.1f}" '
            f'height="{label.h:.1f}" rx="3"/><text class="lbl" x="{label.x:.1f}" '
            f'y="{label.y + 4:.1f}" text-anchor="middle">{escape(label.text)}</text></g>')


def tooltip(item: Item) -> str:
    """The full row of a box: what hovering shows."""
    rows = [item.name if item.role not in ("input", "output") else item.title]
    if item.is_group:
        what = item.kind + (f"({item.block_args})" if item.block_args else "")
        if item.repeat:
            what += f" {TIMES} {item.repeat}"
        rows.append(f"{item.role}: {what}" if what else item.role)
        rows.append(f"layers: {item.layers:,}")
    elif item.role not in ("input", "output"):
        rows.append(f"kind: {kind_text(item)}")
        rows.append("input: " + ", ".join(shape_text(s) for s in item.inputs))
    rows.append(f"output: {shape_text(item.output)}")
    rows.append(f"params: {item.params:,}")
    rows.append(f"MACs: {item.macs:,}")
    if item.line:
        rows.append(f"line: {item.line}")
    if item.bottleneck:
        rows.append(f"{item.bottleneck} (in front of {item.bottleneck_for})")
    if item.error:
        rows.append(item.error)
    return "\n".join(rows)
