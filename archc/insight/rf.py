"""Receptive fields: for every layer, per spatial axis, the input pixels one output value reads.

Output position o of a layer sees network-input pixels [start + o*jump, start + o*jump + size - 1]
(coordinates of the unpadded input; start < 0 reaches into padding), per spatial axis of the
layer's output: (H, W) of a CxHxW map and of a channels-last HxWxC one alike; a permute that
reorders the spatial axes carries each axis's field along with it. Each layer kind states
which input positions an output position reads (`LayerKind.window`); composing that window with
the receptive field of the layer's input gives the layer's own:

    start' = start + offset*jump,  jump' = scale*jump,  size' = size + (extent - 1)*jump

A merge (residual sum, concat, add, mul) takes the union over its inputs' paths. Transposed
convolutions and upsampling make the jump a fraction; the pixels seen are then the whole
numbers inside the interval. The field is "whole input" after any layer whose rule says so
(flatten, linear, global pooling, per-sample normalisation statistics), or when an input is
broadcast along an axis (a 1x1 gate scaling a map). Batch norm counts in eval mode (running
statistics); so does dropout.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from archc.api import Model
from archc.insight.rules import RuleMemo
from archc.layers.base import Window, fmt_shape, spatial_sizes


@dataclass(frozen=True, slots=True)  # slots: one per layer and axis, kept small
class Axis:
    size: Any  # int or Fraction
    jump: Any
    start: Any
    axis: int = 0  # the network input's spatial axis these pixels lie on

    def through(self, w: Window) -> Axis:
        scale, offset, extent = w.scale, w.offset, w.extent
        if scale == 1 and offset == 0 and extent == 1:
            return self  # same position (activations, norms, merges): the field is unchanged
        return Axis(_norm(self.size + (extent - 1) * self.jump), _norm(scale * self.jump),
                    _norm(self.start + offset * self.jump), self.axis)

    @property
    def end(self) -> Any:
        return self.start + self.size - 1

    def pixels(self, position: int) -> tuple[int, int]:
        """The first and last input pixel that output `position` reads (whole numbers)."""
        low = self.start + position * self.jump
        return _ceil(low), _floor(low + self.size - 1)


@dataclass(frozen=True, slots=True)
class Field:
    """A layer's receptive field: one Axis per spatial axis, or `whole` (every input pixel)."""

    axes: tuple[Axis, ...] | None

    @property
    def whole(self) -> bool:
        return self.axes is None


WHOLE = Field(None)


# Plain ints are nearly every value: `type(v) is int` answers them first, because isinstance
# against Fraction goes through ABCMeta's check (numbers.Rational), several times slower, and
# these run a few times per axis per layer (20,000-layer specs).


def _norm(value: Any) -> Any:
    if type(value) is int:
        return value
    return value.numerator if isinstance(value, Fraction) and value.denominator == 1 else value


def _floor(value: Any) -> int:
    return value // 1 if isinstance(value, Fraction) else int(value)


def _ceil(value: Any) -> int:
    return -((-value) // 1) if isinstance(value, Fraction) else int(value)


class Fields:
    """Receptive fields of every analysed layer, by layer name."""

    def __init__(self, by_name: dict[str, Field], input_shape: tuple) -> None:
        self.by_name = by_name
        self.input = input_shape

    def __getitem__(self, name: str) -> Field:
        return self.by_name[name]

    def describe(self, name: str) -> str:
        """Table cell: the field's size, e.g. `7x7`, or `all` for the whole input."""
        found = self.by_name.get(name)
        if found is None:
            return ""
        if found.whole:
            return "all"
        return fmt_shape(tuple(_text(a.size) for a in found.axes)) if found.axes else "-"

    def to_json(self, name: str) -> dict | None:
        found = self.by_name.get(name)
        if found is None:
            return None
        if found.whole:
            return {"whole_input": True, "size": list(self.input[1:]), "jump": None,
                    "start": None}
        return {"whole_input": False, "size": [_number(a.size) for a in found.axes],
                "jump": [_number(a.jump) for a in found.axes],
                "start": [_number(a.start) for a in found.axes]}


def _text(value: Any) -> str:
    return str(value) if not isinstance(value, Fraction) else f"{float(value):g}"


def _number(value: Any) -> int | float:
    if type(value) is int:  # see _norm
        return value
    return float(value) if isinstance(value, Fraction) else value


def receptive_fields(model: Model) -> Fields:
    """Walk the layer graph in dataflow order composing each kind's window rule."""
    graph = model.built.graph
    shapes = model.analysis.tensor_shapes
    rank = len(model.analysis.input) - 1
    fields: dict[int, Field] = {0: Field(tuple(Axis(1, 1, 0, i) for i in range(rank)))}
    by_name: dict[str, Field] = {}
    rows = {row.name: row for row in model.analysis.layers}
    window = RuleMemo("window")
    for node, data in graph.nodes(data=True):
        if node == 0 or shapes.get(node) is None or data["layer"].name not in rows:
            continue
        layer = data["layer"]
        row = rows[layer.name]
        windows = window(layer, row.inputs, row.output)
        fields[node] = _combine([fields[i] for i in data["inputs"]], list(row.inputs),
                                row.output, windows)
        by_name[layer.name] = fields[node]
    return Fields(by_name, tuple(model.analysis.input))


def _combine(sources: list[Field], inputs: list[tuple], out: tuple, windows) -> Field:
    if windows is None or any(f.axes is None for f in sources):
        return WHOLE
    out_sizes = spatial_sizes(out)
    if len(windows) != len(out_sizes):
        raise ValueError("a window rule must give one window per spatial axis of the output")
    reached = []
    for source, shape in zip(sources, inputs):
        axes = _path(source.axes, spatial_sizes(shape), out_sizes, windows)
        if axes is None:
            return WHOLE
        reached.append(axes)
    if len(reached) == 1:  # one input (all but merges): nothing to unite
        same = all(a is b for a, b in zip(reached[0], sources[0].axes))
        return sources[0] if same else Field(reached[0])  # same: a same-position layer
    if any(len({a.axis for a in axes}) > 1 for axes in zip(*reached)):
        return WHOLE  # paths cross different input axes (a merge with a transposed copy)
    return Field(tuple(_union(axes) for axes in zip(*reached)))


def _path(source: tuple[Axis, ...], sizes: tuple, out_sizes: tuple,
          windows) -> tuple[Axis, ...] | None:
    """One input's field carried through the windows; None when the output reads all of it."""
    if len(source) != len(windows) or len(sizes) != len(windows):
        return None  # the layout changed rank (only flattening rules do; be safe)
    axes = []
    for i, w in enumerate(windows):
        j = _source_axis(i, w)
        if sizes[j] == 1 and out_sizes[i] != 1:
            return None  # broadcast: every output position reads this input's one position
        axes.append(source[j].through(w))
    return tuple(axes)


def _source_axis(i: int, w: Window) -> int:
    """The input's spatial axis that output axis `i` reads (a permute may move it)."""
    return i if w.axis is None else w.axis


def _union(axes: tuple[Axis, ...]) -> Axis:
    """All paths' pixels for the same output position. Paths normally share the jump (their
    outputs have the same size); if not, the largest jump and the union at position 0."""
    start = min(a.start for a in axes)
    end = max(a.end for a in axes)
    return Axis(_norm(end - start + 1), max(a.jump for a in axes), start, axes[0].axis)


Span = tuple[int, int]


def region(model: Model, layer_name: str, position: tuple[int, ...]) -> tuple[Span, ...] | None:
    """The input pixels (first, last per axis) that output `position` of a layer really reads:
    the windows walked backwards and clipped to every intermediate tensor, so positions whose
    windows reach into padding come out smaller than the field's nominal size. None when no
    input pixel is read (the position sees only padding)."""
    graph = model.built.graph
    rows = {row.name: row for row in model.analysis.layers}
    target = next(n for n, d in graph.nodes(data=True) if n and d["layer"].name == layer_name)
    pending: dict[int, list[Span]] = {target: [(p, p) for p in position]}
    for node in range(target, 0, -1):
        spans = pending.pop(node, None)
        if spans is None:
            continue
        data = graph.nodes[node]
        row = rows[data["layer"].name]
        windows = data["layer"].kind.window(data["layer"].args, list(row.inputs), row.output)
        for source, shape in zip(data["inputs"], row.inputs):
            read = _read(spans, windows, shape, row.output)
            if read is not None:
                pending[source] = _merge(pending.get(source), read)
    return pending.get(0)


def _read(spans: list[Span], windows, shape: tuple, out: tuple) -> list[Span] | None:
    sizes = spatial_sizes(shape)
    if windows is None or len(windows) != len(sizes):
        return [(0, n - 1) for n in sizes]
    read: list[Span] = [(0, n - 1) for n in sizes]
    for i, ((lo, hi), w, m) in enumerate(zip(spans, windows, spatial_sizes(out))):
        j = _source_axis(i, w)
        n = sizes[j]
        if n == 1 and m != 1:  # broadcast along this axis
            read[j] = (0, 0)
            continue
        first, last = _lowest(lo, hi, w, n), _highest(lo, hi, w, n)
        if first is None or last is None:
            return None
        read[j] = (first, last)
    return read


def _taps(o: int, w: Window, n: int) -> tuple[int, int] | None:
    """The first and last input position output `o` reads inside 0..n-1 (taps `step` apart)."""
    base = w.scale * o + w.offset
    end = min(_floor(base + w.extent - 1), n - 1)
    if w.step == 1:
        first = max(_ceil(base), 0)
        return (first, end) if first <= end else None
    first = base if base >= 0 else base + w.step * -(base // -w.step)
    last = base + w.step * ((end - base) // w.step)
    return (first, last) if first <= last else None


def _lowest(lo: int, hi: int, w: Window, n: int) -> int | None:
    best = None
    for o in range(lo, hi + 1):
        taps = _taps(o, w, n)
        if taps is not None and (best is None or taps[0] < best):
            best = taps[0]
        if w.scale * o + w.offset >= 0 and best is not None:
            break  # later positions start later
    return best


def _highest(lo: int, hi: int, w: Window, n: int) -> int | None:
    best = None
    for o in range(hi, lo - 1, -1):
        taps = _taps(o, w, n)
        if taps is not None and (best is None or taps[1] > best):
            best = taps[1]
        if w.scale * o + w.offset + w.extent - 1 <= n - 1 and best is not None:
            break  # earlier positions end earlier
    return best


def _merge(old: list[Span] | None, new: list[Span]) -> list[Span]:
    if old is None:
        return new
    return [(min(a, c), max(b, d)) for (a, b), (c, d) in zip(old, new)]
