"""Text diagrams: Graphviz DOT (`| dot -Tpng`) and a Mermaid flowchart (GitHub renders it).

Open groups become clusters/subgraphs; closed ones are single nodes. Layout is left to the
tool that reads the text.
"""

from __future__ import annotations

from archc.render.scene import ROOT, Item, Scene
from archc.render.svg import lines

STYLES = {  # role -> (fill, border)
    "merge": ("#fff7d6", "#b7950b"),
    "block": ("#e8f1fb", "#3c6e9f"),
    "repeat": ("#e8f1fb", "#3c6e9f"),
    "seq": ("#e8f1fb", "#3c6e9f"),
    "side": ("#f8f5ff", "#7c3aed"),
    "input": ("#eef2f5", "#52606d"),
    "output": ("#eef2f5", "#52606d"),
    "layer": ("#ffffff", "#7b8794"),
}


def visible_edges(scene: Scene, opened: set[str]) -> list[tuple[Item, Item, str, bool]]:
    """Tensors between the boxes that are drawn: (source, target, shape, on a side path)."""
    def shown(item: Item) -> Item:
        chain = []
        node: Item | None = item
        while node is not None and node.id != ROOT:
            chain.append(node)
            node = node.parent
        for candidate in reversed(chain):  # the outermost closed group hides the rest
            if candidate.is_group and candidate.id not in opened:
                return candidate
        return item

    seen: dict[tuple[str, str], tuple[Item, Item, str, bool]] = {}
    for source, target, text in scene.edges:
        a, b = shown(scene.items[source]), shown(scene.items[target])
        if a is not b and (a.id, b.id) not in seen:
            side = scene.items[source].side is not None or scene.items[target].side is not None
            seen[(a.id, b.id)] = (a, b, text, side)
    return list(seen.values())


def _color(item: Item) -> tuple[str, str]:
    fill, border = STYLES.get(item.role, STYLES["layer"])
    if item.error:
        return "#fdecec", "#c62828"
    if item.bottleneck:
        return fill, "#d9822b"
    if item.side is not None:
        return fill, "#7c3aed"
    return fill, border


# ---- DOT ------------------------------------------------------------------------------

def _dot_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(scene: Scene, opened: set[str]) -> str:
    out = [f"digraph {_dot_string(scene.network)} {{",
           f"  rankdir={scene.direction};",
           '  node [shape=box, style="rounded,filled", fontname="monospace", fontsize=10];',
           '  edge [fontname="monospace", fontsize=9, color="#616e7c"];']
    if scene.errors:
        text = "\\n".join(m.replace("\\", "\\\\").replace('"', '\\"') for m in scene.errors)
        out.append(f'  label="{text}"; labelloc=t; fontcolor="#b91c1c"; fontname="monospace";')
    _dot_children(scene.root, opened, out, "  ")
    for a, b, text, side in visible_edges(scene, opened):
        style = ', style=dashed, color="#7c3aed"' if side else ""
        out.append(f"  {a.id} -> {b.id} [label={_dot_string(text)}{style}];")
    out.append("}")
    return "\n".join(out) + "\n"


def _dot_children(group: Item, opened: set[str], out: list[str], indent: str) -> None:
    for item in group.children:
        fill, border = _color(item)
        if item.is_group and item.id in opened:
            title = lines(item, True)[0][0]
            style = "rounded,dashed" if item.side is not None else "rounded"
            out.append(f"{indent}subgraph cluster_{item.id} {{")
            out.append(f'{indent}  label={_dot_string(title)}; style="{style}"; '
                       f'color="{border}"; fontname="monospace"; fontsize=10;')
            _dot_children(item, opened, out, indent + "  ")
            out.append(f"{indent}}}")
            continue
        label = "\\n".join(t.replace("\\", "\\\\").replace('"', '\\"')
                           for t, _ in lines(item, False))
        shape = ", shape=box3d" if item.repeat else ""
        if item.role in ("merge", "input", "output"):
            shape = ", shape=oval"
        width = ", penwidth=2" if item.error or item.bottleneck else ""
        dashed = ', style="rounded,filled,dashed"' if item.side is not None else ""
        out.append(f'{indent}{item.id} [label="{label}", fillcolor="{fill}", '
                   f'color="{border}"{shape}{width}{dashed}];')


# ---- Mermaid --------------------------------------------------------------------------

def _mermaid_text(text: str) -> str:
    """Mermaid takes HTML entities as #name; inside quotes nothing else is syntax."""
    return (text.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;")
            .replace(">", "#gt;"))


def to_mermaid(scene: Scene, opened: set[str]) -> str:
    out = [f"flowchart {scene.direction}"]
    if scene.errors:
        text = "<br/>".join(_mermaid_text(m) for m in scene.errors)
        out.append(f'  errors["{text}"]')
        out.append("  style errors fill:#fdecec,stroke:#c62828,color:#b91c1c")
    styled: list[str] = []
    _mermaid_children(scene.root, opened, out, "  ", styled)
    for a, b, text, side in visible_edges(scene, opened):
        arrow = "-.->" if side else "-->"
        out.append(f'  {a.id} {arrow}|"{_mermaid_text(text)}"| {b.id}')
    out += styled
    return "\n".join(out) + "\n"


def _mermaid_children(group: Item, opened: set[str], out: list[str], indent: str,
                      styled: list[str]) -> None:
    for item in group.children:
        fill, border = _color(item)
        if item.is_group and item.id in opened:
            title = _mermaid_text(lines(item, True)[0][0])
            out.append(f'{indent}subgraph {item.id}["{title}"]')
            _mermaid_children(item, opened, out, indent + "  ", styled)
            out.append(f"{indent}end")
            styled.append(f"  style {item.id} fill:{fill},stroke:{border}")
            continue
        label = "<br/>".join(_mermaid_text(t) for t, _ in lines(item, False))
        left, right = '["', '"]'
        if item.role in ("merge", "input", "output"):
            left, right = '(["', '"])'
        elif item.is_group:
            left, right = '[["', '"]]'
        out.append(f"{indent}{item.id}{left}{label}{right}")
        extra = ",stroke-width:2px" if item.error or item.bottleneck else ""
        dash = ",stroke-dasharray:5 3" if item.side is not None else ""
        styled.append(f"  style {item.id} fill:{fill},stroke:{border}{extra}{dash}")
