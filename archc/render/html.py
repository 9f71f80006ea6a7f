"""HTML: one self-contained, offline page (no CDN, no network): the picture, click a block to
open or close it, hover for a box's full row, search by name, zoom and pan.

Python does the parts that do not depend on which blocks are open (text, box sizes, each
group's layers and order: `layout.plan`); page.js re-places the groups (`place`, the same
algorithm as layout.py) and redraws when a click opens or closes one.
"""

from __future__ import annotations

import json
from html import escape
from importlib import resources

from archc.render import layout as L
from archc.render.scene import ROOT, Scene
from archc.render.svg import FONT, STYLE, banner_lines, classes, lines, node_markup, tooltip

HELP = "click a block to open or close it, hover a box for its row, drag to pan, wheel to zoom"


def page_data(scene: Scene, opened: set[str]) -> dict:
    lay = L.Layout(scene, opened, lines)
    items = {}
    for item in scene.root.walk():
        w, h = lay.node_size(item, False)
        entry = {
            "parent": item.parent.id if item.parent else None,
            "children": [c.id for c in item.children],
            "name": item.name,
            "role": item.role,
            "side": item.side is not None,
            "size": [round(w, 1), round(h, 1)],
            "cls": classes(item, False),
            "closed": node_markup(item, w, h, False),
            "tip": tooltip(item),
        }
        if item.is_group and item.id != ROOT:
            head_w = lay.node_size(item, True)[0]
            if not lay.lr and item.id in lay.labels:
                head_w = max(head_w, L.text_width(lay.labels[item.id]) + 8)
            entry["head"] = lines(item, True)[0][0]
            entry["headW"] = round(head_w, 1)
            entry["openCls"] = classes(item, True)
        items[item.id] = entry
    return {
        "network": scene.network,
        "direction": scene.direction,
        "open": sorted(opened),
        "items": items,
        "plans": {gid: p.to_json() for gid, p in lay.plans.items()},
        "banner": banner_lines(scene),
        "c": {"SEP": L.SEP, "DUMMY": L.DUMMY, "BAND": L.BAND, "GROUP_PAD": L.GROUP_PAD,
              "HEAD": L.HEAD, "SWEEPS": L.SWEEPS, "LABEL_H": L.LABEL_H, "CHAR_W": L.CHAR_W,
              "PAD": L.PAD, "LINE_H": L.LINE_H},
    }


def _asset(name: str) -> str:
    return resources.files("archc.render").joinpath("assets", name).read_text(encoding="utf-8")


def to_html(scene: Scene, opened: set[str]) -> str:
    data = json.dumps(page_data(scene, opened), ensure_ascii=False, separators=(",", ":"))
    data = data.replace("</", "<\\/")  # a name can never close the script element
    summary = _summary(scene)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(scene.network)} · archc</title>
<style>{_asset("page.css")}
svg text {{ font-family: {FONT}; }}
{STYLE}</style>
</head>
<body>
<header>
  <strong id="title">{escape(scene.network)}</strong>
  <span id="summary" title="{HELP}">{escape(summary)}</span>
  <input id="search" type="search" placeholder="search layers by name" autocomplete="off">
  <span id="found"></span>
  <button id="expand-all" type="button">expand all</button>
  <button id="collapse-all" type="button">collapse all</button>
  <button id="fit" type="button">fit</button>
</header>
<main id="stage"><svg id="canvas" xmlns="http://www.w3.org/2000/svg">
<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7"
orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#616e7c"/></marker></defs>
<g id="viewport"></g></svg></main>
<div id="tip" role="tooltip" hidden></div>
<script type="application/json" id="archc-data">{data}</script>
<script>{_asset("page.js")}</script>
</body>
</html>
"""


def _summary(scene: Scene) -> str:
    root = scene.root
    status = f" · {len(scene.errors)} error(s)" if scene.errors else ""
    return f"{root.layers:,} layers · {root.params:,} params · {root.macs:,} MACs{status}"
