"""Layered (Sugiyama-style) layout, one group at a time, in pure Python.

Every group's interior is laid out on its own, as a small graph of its direct children plus
an IN and an OUT port (where tensors enter and leave the group). An expanded child is a box as
large as its own interior; a collapsed one is a box as large as its text. So:

1. `plan`: layer assignment (longest path), dummy nodes on long edges, crossing reduction by
   barycenter sweeps. This does not depend on sizes, so it is computed once per group (and is
   what the HTML page receives, to re-place a group when a click opens or closes a child).
2. `place`: coordinates for given child sizes: layers stacked along the rank axis, nodes along
   the order axis pulled towards their neighbours' barycenter, kept apart by isotonic
   regression (pool adjacent violators), so nothing overlaps. page.js holds the same function.

Sizes come from text width: labels are set in a monospace font, so width = characters x advance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise

from archc.render.scene import ROOT, Item, Scene

FONT_SIZE = 12
CHAR_W = 7.3  # advance of a 12px monospace glyph (DejaVu Sans Mono: 0.602 em), rounded up
LINE_H = 15
PAD = 8  # inside a node box
SEP = 22  # between neighbours along the order axis
DUMMY = 8  # a long edge's slot in a layer it crosses
LABEL_H = 16
BAND = LABEL_H + 14  # between layers (TB): room for the tensor labels and an arrow
GROUP_PAD = 12
HEAD = 22  # an expanded group's title line
SWEEPS = 8


def text_width(text: str) -> float:
    return len(text) * CHAR_W


@dataclass
class Plan:
    """A group's interior, independent of sizes. Node ids: child item ids, IN, OUT, d<k>."""

    layers: list[list[str]]
    chains: list[list[str]]  # one per edge: source, dummies..., target
    labels: dict[str, str]  # source node -> the tensor text drawn once below it
    # how hard a node holds its place: 1 + the longest path below it, so the main path stays
    # straight and short branches (side outputs, skips) bend around it
    weights: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"layers": self.layers, "chains": self.chains, "labels": self.labels,
                "weights": self.weights}


def interior_edges(scene: Scene) -> dict[str, dict[tuple[str, str], str]]:
    """Per group: (source, target) among its children and ports -> the tensor text.
    A tensor between two layers appears in their lowest common group, and as port edges in
    every group between that one and each end."""
    found: dict[str, dict[tuple[str, str], str]] = {g.id: {} for g in scene.root.walk()}
    for source, target, text in scene.edges:
        up = _ancestry(scene.items[source])
        down = _ancestry(scene.items[target])
        k = 0
        while k + 1 < min(len(up), len(down)) and up[k + 1] is down[k + 1]:
            k += 1
        found[up[k].id].setdefault((up[k + 1].id, down[k + 1].id), text)
        for j in range(k + 1, len(up) - 1):
            found[up[j].id].setdefault((up[j + 1].id, "OUT"), text)
        for j in range(k + 1, len(down) - 1):
            found[down[j].id].setdefault(("IN", down[j + 1].id), text)
    return found


def _ancestry(item: Item) -> list[Item]:
    chain = []
    node: Item | None = item
    while node is not None:
        chain.append(node)
        node = node.parent
    return chain[::-1]


def plan(group: Item, edges: dict[tuple[str, str], str]) -> Plan:
    order = [c.id for c in group.children]
    if any(s == "IN" for s, _ in edges):
        order.insert(0, "IN")
    if any(t == "OUT" for _, t in edges):
        order.append("OUT")
    rank = {node: 0 for node in order}
    preds: dict[str, list[str]] = {node: [] for node in order}
    for source, target in edges:
        preds[target].append(source)
    for node in order:  # children are in dataflow order: a topological order
        if preds[node]:
            rank[node] = max(rank[p] for p in preds[node]) + 1
    if "OUT" in rank:
        rank["OUT"] = max(rank.values()) + (1 if len(order) > 1 else 0)
    layers: list[list[str]] = [[] for _ in range(max(rank.values(), default=-1) + 1)]
    for node in order:
        layers[rank[node]].append(node)
    chains = []
    dummies = 0
    for source, target in edges:
        chain = [source]
        for r in range(rank[source] + 1, rank[target]):
            dummies += 1
            dummy = f"d{dummies}"
            layers[r].append(dummy)
            chain.append(dummy)
        chains.append([*chain, target])
    labels: dict[str, str] = {}
    for (source, _), text in edges.items():
        if source != "IN":
            labels.setdefault(source, text)
    _reduce_crossings(layers, chains)
    return Plan(layers, chains, labels, _weights(layers, chains))


def _weights(layers: list[list[str]], chains: list[list[str]]) -> dict[str, int]:
    below: dict[str, list[str]] = {}
    for chain in chains:
        for a, b in pairwise(chain):
            below.setdefault(a, []).append(b)
    weights: dict[str, int] = {}
    for layer in reversed(layers):
        for node in layer:
            weights[node] = 1 + max((weights[b] for b in below.get(node, ())), default=0)
    return weights


def _reduce_crossings(layers: list[list[str]], chains: list[list[str]]) -> None:
    """Barycenter sweeps, down then up; the order with the fewest crossings wins."""
    down: dict[str, list[str]] = {}
    up: dict[str, list[str]] = {}
    for chain in chains:
        for a, b in pairwise(chain):
            down.setdefault(a, []).append(b)
            up.setdefault(b, []).append(a)
    best, best_count = [list(layer) for layer in layers], _crossings(layers, down)
    for sweep in range(SWEEPS):
        downward = sweep % 2 == 0
        span = range(1, len(layers)) if downward else range(len(layers) - 2, -1, -1)
        for i in span:
            ref = layers[i - 1] if downward else layers[i + 1]
            pos = {node: k for k, node in enumerate(ref)}
            links = up if downward else down
            layer = layers[i]
            keys = {}
            for k, node in enumerate(layer):
                near = [pos[n] for n in links.get(node, ()) if n in pos]
                keys[node] = sum(near) / len(near) if near else k
            layer.sort(key=lambda n: keys[n])
        count = _crossings(layers, down)
        if count < best_count:
            best, best_count = [list(layer) for layer in layers], count
    layers[:] = best


def _crossings(layers: list[list[str]], down: dict[str, list[str]]) -> int:
    count = 0
    for upper, lower in pairwise(layers):
        pos = {node: k for k, node in enumerate(lower)}
        pairs = sorted((i, pos[t]) for i, node in enumerate(upper)
                       for t in down.get(node, ()) if t in pos)
        for a in range(len(pairs)):
            for b in range(a + 1, len(pairs)):
                if pairs[a][0] < pairs[b][0] and pairs[a][1] > pairs[b][1]:
                    count += 1
    return count


# ---- placement ----------------------------------------------------------------------

@dataclass
class Placed:
    """A group's interior, placed: node centres (order, rank) relative to the group box."""

    width: float  # along the order axis
    depth: float  # along the rank axis
    centers: dict[str, tuple[float, float]] = field(default_factory=dict)
    bands: list[tuple[float, float]] = field(default_factory=list)  # (start, thickness) per layer
    gaps: list[float] = field(default_factory=list)


def place(p: Plan, extents: dict[str, tuple[float, float]], lr: bool, header: float,
          head_width: float = 0.0) -> Placed:
    """`extents`: child -> (along order axis, along rank axis). Ports and dummies are thin."""

    def extent(node: str) -> tuple[float, float]:
        if node in extents:
            return extents[node]
        return (DUMMY, 0.0) if node.startswith("d") else (0.0, 0.0)

    thick = [max((extent(n)[1] for n in layer), default=0.0) for layer in p.layers]
    gaps = []
    for layer in p.layers:
        if lr:
            widths = [text_width(p.labels[n]) for n in layer if n in p.labels]
            gaps.append(max(widths, default=0.0) + 24 if widths else 30.0)
        else:
            gaps.append(BAND)
    starts, r = [], 0.0
    for t, g in zip(thick, gaps):
        starts.append(r)
        r += t + g
    depth = r - (gaps[-1] if gaps else 0.0)
    order = _order_positions(p, extent)
    lo = min((order[n] - extent(n)[0] / 2 for n in order), default=0.0)
    hi = max((order[n] + extent(n)[0] / 2 for n in order), default=0.0)
    inner = hi - lo
    is_group = header > 0
    pad = GROUP_PAD if is_group else 0.0
    width = max(inner, head_width) + 2 * pad
    shift = pad - lo + (width - 2 * pad - inner) / 2
    # an expanded group's title sits on top in TB (rank axis) and on top in LR (order axis)
    r_off = pad + (header if not lr else 0.0)
    o_off = shift + (header if lr else 0.0)
    placed = Placed(width + (header if lr else 0.0), depth + 2 * pad + (header if not lr else 0.0))
    for i, layer in enumerate(p.layers):
        for node in layer:
            rc = starts[i] + extent(node)[1] / 2 + r_off  # aligned on the layer's start
            if node == "IN" and is_group:
                rc = 0.0
            if node == "OUT" and is_group:
                rc = placed.depth
            placed.centers[node] = (order[node] + o_off, rc)
        placed.bands.append((starts[i] + r_off, thick[i]))
    placed.gaps = gaps
    return placed


def _order_positions(p: Plan, extent) -> dict[str, float]:
    """Pack each layer, then pull nodes towards the barycenter of their neighbours, a few
    sweeps each way, keeping order and spacing (isotonic regression)."""
    pos: dict[str, float] = {}
    for layer in p.layers:
        x = 0.0
        for node in layer:
            w = extent(node)[0]
            pos[node] = x + w / 2
            x += w + SEP
        total = x - SEP
        for node in layer:
            pos[node] -= total / 2
    up: dict[str, list[str]] = {}
    down: dict[str, list[str]] = {}
    for chain in p.chains:
        for a, b in pairwise(chain):
            down.setdefault(a, []).append(b)
            up.setdefault(b, []).append(a)
    for sweep in range(SWEEPS):
        downward = sweep % 2 == 0
        links = up if downward else down
        span = range(1, len(p.layers)) if downward else range(len(p.layers) - 2, -1, -1)
        for i in span:
            layer = p.layers[i]
            want = []
            for node in layer:  # heavier neighbours pull harder: the main path stays straight
                near = [(pos[n], p.weights.get(n, 1)) for n in links.get(node, ()) if n in pos]
                total = sum(w for _, w in near)
                want.append(sum(x * w for x, w in near) / total if near else pos[node])
            weights = [p.weights.get(n, 1) for n in layer]
            for node, x in zip(layer, _spread(want, [extent(n)[0] for n in layer], weights)):
                pos[node] = x
    return pos


def _spread(want: list[float], widths: list[float], weights: list[int]) -> list[float]:
    """The positions closest (weighted least squares) to `want` that keep order and spacing:
    pool adjacent violators on `want - offset`."""
    offsets, acc = [], 0.0
    for k, w in enumerate(widths):
        if k:
            acc += widths[k - 1] / 2 + SEP + w / 2
        offsets.append(acc)
    blocks: list[list[float]] = []  # [mean, weight, count]
    for target, off, weight in zip(want, offsets, weights):
        blocks.append([target - off, weight, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            m2, w2, c2 = blocks.pop()
            m1, w1, c1 = blocks.pop()
            blocks.append([(m1 * w1 + m2 * w2) / (w1 + w2), w1 + w2, c1 + c2])
    values = []
    for mean, _, count in blocks:
        values += [mean] * int(count)
    return [v + off for v, off in zip(values, offsets)]


# ---- the whole picture ----------------------------------------------------------------

@dataclass
class Box:
    item: Item
    x: float
    y: float
    w: float
    h: float
    expanded: bool


@dataclass
class Label:
    text: str
    x: float  # centre
    y: float  # centre
    w: float
    h: float
    side: bool = False


@dataclass
class Edge:
    points: list[tuple[float, float]]
    side: bool
    to_merge: bool


@dataclass
class Picture:
    boxes: list[Box]
    edges: list[Edge]
    labels: list[Label]
    width: float
    height: float


class Layout:
    def __init__(self, scene: Scene, expanded: set[str], lines) -> None:
        self.scene = scene
        self.lr = scene.direction == "LR"
        self.expanded = expanded
        self.lines = lines  # item, expanded -> [(text, css class)]
        self.edges = interior_edges(scene)
        self.plans = {g.id: plan(g, self.edges[g.id]) for g in scene.root.walk()
                      if g.is_group or g.id == ROOT}
        self.placed: dict[str, Placed] = {}
        self.sizes: dict[str, tuple[float, float]] = {}
        self.labels: dict[str, str] = {}
        for p in self.plans.values():
            self.labels.update(p.labels)

    def is_open(self, item: Item) -> bool:
        return item.id == ROOT or (item.is_group and item.id in self.expanded)

    def node_size(self, item: Item, open_: bool) -> tuple[float, float]:
        """(width, height) of a closed box, or of an open group's title line."""
        lines = self.lines(item, open_)
        w = max(text_width(t) for t, _ in lines) + 2 * PAD
        if not self.lr and item.id in self.labels:
            w = max(w, text_width(self.labels[item.id]) + 8)
        return w, len(lines) * LINE_H + 2 * PAD - 4

    def size(self, item: Item) -> tuple[float, float]:
        if not self.is_open(item):
            size = self.node_size(item, False)
        else:
            extents = {}
            for child in item.children:
                w, h = self.size(child)
                extents[child.id] = (h, w) if self.lr else (w, h)
            header = 0.0 if item.id == ROOT else HEAD
            head_w = 0.0 if item.id == ROOT else self.node_size(item, True)[0]
            if not self.lr and item.id in self.labels:
                head_w = max(head_w, text_width(self.labels[item.id]) + 8)
            placed = place(self.plans[item.id], extents, self.lr, header, head_w)
            self.placed[item.id] = placed
            size = (placed.depth, placed.width) if self.lr else (placed.width, placed.depth)
        self.sizes[item.id] = size
        return size

    def picture(self) -> Picture:
        width, height = self.size(self.scene.root)
        pic = Picture([], [], [], width, height)
        self._draw(self.scene.root, 0.0, 0.0, pic)
        return pic

    def _xy(self, o: float, r: float) -> tuple[float, float]:
        return (r, o) if self.lr else (o, r)

    def _draw(self, group: Item, gx: float, gy: float, pic: Picture) -> None:
        placed = self.placed[group.id]
        p = self.plans[group.id]
        corner: dict[str, tuple[float, float]] = {}
        for child in group.children:
            o, r = placed.centers[child.id]
            cx, cy = self._xy(o, r)
            w, h = self.sizes[child.id]
            x, y = gx + cx - w / 2, gy + cy - h / 2
            corner[child.id] = (x, y)
            open_ = self.is_open(child)
            pic.boxes.append(Box(child, x, y, w, h, open_))
            if open_:
                self._draw(child, x, y, pic)
        layer_of = {n: i for i, layer in enumerate(p.layers) for n in layer}

        def point(node: str, leaving: bool) -> tuple[float, float]:
            o, r = placed.centers[node]
            if node in ("IN", "OUT") or node.startswith("d"):
                x, y = self._xy(o, r)
                return gx + x, gy + y
            item = self.scene.items[node]
            x, y = corner[node]
            w, h = self.sizes[node]
            if self.is_open(item):  # through its port on the border
                port = self.placed[node].centers["OUT" if leaving else "IN"]
                px, py = self._xy(*port)
                return x + px, y + py
            if self.lr:
                return (x + w if leaving else x), y + h / 2
            return x + w / 2, (y + h if leaving else y)

        for chain in p.chains:
            pts = [point(chain[0], True)]
            for dummy in chain[1:-1]:
                o, _ = placed.centers[dummy]
                start, thick = placed.bands[layer_of[dummy]]
                ends = (self._xy(o, start), self._xy(o, start + thick))
                pts += [(gx + a, gy + b) for a, b in ends]
            pts.append(point(chain[-1], False))
            ends = [self.scene.items.get(chain[0]), self.scene.items.get(chain[-1])]
            side = group.side is not None or any(e is not None and e.side is not None
                                                 for e in ends)
            pic.edges.append(Edge(pts, side, ends[1] is not None and ends[1].role == "merge"))
        for node, text in p.labels.items():
            i = layer_of[node]
            start, thick = placed.bands[i]
            gap = placed.gaps[i]
            x, y = point(node, True)
            w = text_width(text) + 6
            # right after the box, where the edge still leaves straight (inside the band)
            if self.lr:
                lx, ly = min(x + 9 + w / 2, gx + start + thick + gap - w / 2), y  # past a stack
            else:
                lx, ly = x, min(y + 3 + LABEL_H / 2, gy + start + thick + gap - LABEL_H / 2)
            item = self.scene.items[node]
            pic.labels.append(Label(text, lx, ly, w, LABEL_H, item.side is not None))
