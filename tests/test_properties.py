"""Property tests: random valid specs, and invariants that must hold for every one of them.

The generator builds a spec step by step (conv, bn, activations, pooling, linear, residual
blocks with and without projection shortcuts, concats, block definitions and calls, `* N`,
saved tensors merged back by add/mul/concat, side outputs), keeping its own account of the
shape and of the parameter and MAC totals from the textbook formulas. Then:

- archc's totals equal that independent account;
- the emitted PyTorch module has the analyzer's parameter count and every layer's shape
  (`archc.codegen.build.verify`, on the meta device) and PyTorch's FlopCounterMode MACs, in
  total and row by row (each row against its own module);
- conv, transposed conv and pooling output sizes equal torch.nn's, and archc rejects exactly
  the windows torch rejects; a targeted strategy draws pooling windows that do not tile the
  input, where floor and ceil mode differ.

Example counts stay modest for CI; raise them with ARCHC_FUZZ_EXAMPLES=500.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import archc
from archc.errors import ArchcError

pytestmark = pytest.mark.fuzz

EXAMPLES = int(os.environ.get("ARCHC_FUZZ_EXAMPLES", "0"))
FAST = settings(max_examples=EXAMPLES or 40, deadline=None, derandomize=not EXAMPLES,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SLOW = settings(FAST, max_examples=EXAMPLES or 12)
TARGETED = settings(FAST, max_examples=EXAMPLES or 60)  # cheap: one layer each


# ---- an independent account of shapes and counts ----------------------------------------------

def window(n: int, k: int, s: int, p: int, d: int = 1, ceil: bool = False) -> int:
    """PyTorch's documented output size (torch.nn.Conv2d / MaxPool2d)."""
    span = n + 2 * p - d * (k - 1) - 1
    if not ceil:
        return span // s + 1
    out = math.ceil(span / s) + 1
    return out - 1 if (out - 1) * s >= n + p else out


@dataclass
class Net:
    """The spec being written and what it must analyse to."""

    c: int
    h: int
    w: int
    lines: list[str] = field(default_factory=list)
    blocks: list[str] = field(default_factory=list)
    params: int = 0
    macs: int = 0
    flat: bool = False
    saves: int = 0

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.c,) if self.flat else (self.c, self.h, self.w)

    def text(self, inputs: tuple[int, int, int]) -> str:
        body = "\n".join(f"    {line}" for line in self.lines)
        dims = "x".join(map(str, inputs))
        return "\n".join(self.blocks) + f"\nnetwork Random {{\n    input {dims}\n{body}\n}}\n"


def conv_cost(c_in: int, c_out: int, k: int, groups: int, h: int, w: int, bias: bool):
    params = k * k * (c_in // groups) * c_out + (c_out if bias else 0)
    return params, h * w * c_out * k * k * (c_in // groups)


# ---- steps: each appends valid text and updates the account ------------------------------------

@st.composite
def conv_step(draw, net: Net) -> None:
    d = draw(st.sampled_from([1, 1, 2]))
    k = draw(st.integers(1, 5))
    s = draw(st.integers(1, 3))
    p = draw(st.integers(0, 2))
    if min(window(net.h, k, s, p, d), window(net.w, k, s, p, d)) < 1:
        k, s, p, d = 1, 1, 0, 1
    out = draw(st.integers(1, 12))
    common = math.gcd(net.c, out)
    groups = draw(st.sampled_from([g for g in range(1, common + 1) if common % g == 0]))
    bias = draw(st.booleans())
    same = s == 1 and d * (k - 1) % 2 == 0 and draw(st.booleans())
    pad = "same" if same else str(p)
    if same:
        p = d * (k - 1) // 2
    h, w = window(net.h, k, s, p, d), window(net.w, k, s, p, d)
    net.lines.append(f"conv({out}, k={k}, s={s}, p={pad}, d={d}, groups={groups}, "
                     f"bias={str(bias).lower()})")
    params, macs = conv_cost(net.c, out, k, groups, h, w, bias)
    net.params, net.macs, net.c, net.h, net.w = net.params + params, net.macs + macs, out, h, w


@st.composite
def conv_t_step(draw, net: Net) -> None:
    k, s = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    p = draw(st.integers(0, (k - 1) // 2))
    op = draw(st.integers(0, s - 1))
    out = draw(st.integers(1, 8))
    h, w = ((n - 1) * s - 2 * p + (k - 1) + op + 1 for n in (net.h, net.w))
    if min(h, w) < 1 or max(h, w) > 64:
        return
    net.lines.append(f"conv_t({out}, k={k}, s={s}, p={p}, output_padding={op})")
    net.params += k * k * net.c * out + out
    net.macs += net.c * net.h * net.w * k * k * out  # each input position scatters a window
    net.c, net.h, net.w = out, h, w


@st.composite
def pool_step(draw, net: Net) -> None:
    kind = draw(st.sampled_from(["maxpool", "avgpool"]))
    k, s = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    p = draw(st.integers(0, k // 2))
    ceil = draw(st.booleans())
    h, w = window(net.h, k, s, p, 1, ceil), window(net.w, k, s, p, 1, ceil)
    if min(h, w) < 1:
        return
    net.lines.append(f"{kind}({k}, s={s}, p={p}, ceil={str(ceil).lower()})")
    net.h, net.w = h, w


@st.composite
def pointwise_step(draw, net: Net) -> None:
    layer = draw(st.sampled_from(["bn", "relu", "tanh", "sigmoid", "leaky_relu(0.1)", "gelu",
                                  "dropout(0.2)", "relu6", "identity"]))
    net.lines.append(layer)
    if layer == "bn":
        net.params += 2 * net.c


@st.composite
def residual_step(draw, net: Net) -> None:
    c, h, w = net.c, net.h, net.w
    project = draw(st.booleans())
    s = draw(st.sampled_from([1, 2])) if project else 1
    out = draw(st.integers(1, 12)) if project else c
    oh, ow = window(h, 3, s, 1), window(w, 3, s, 1)
    body = f"conv({out}, k=3, s={s}, p=1, bias=false) bn relu conv({out}, k=3, p=1, bias=false) bn"
    shortcut = f" shortcut {{ conv({out}, k=1, s={s}, bias=false) bn }}" if project else ""
    net.lines.append(f"residual {{ {body} }}{shortcut} relu")
    for c_in in (c, out):
        net.params += conv_cost(c_in, out, 3, 1, oh, ow, False)[0] + 2 * out
        net.macs += conv_cost(c_in, out, 3, 1, oh, ow, False)[1]
    if project:
        net.params += c * out + 2 * out
        net.macs += oh * ow * out * c
    net.c, net.h, net.w = out, oh, ow


@st.composite
def concat_step(draw, net: Net) -> None:
    widths = draw(st.lists(st.integers(1, 6), min_size=1, max_size=3))
    branches = []
    for i, width in enumerate(widths):
        k = 1 if i % 2 == 0 else 3
        branches.append(f"branch {{ conv({width}, k={k}, p={k // 2}) relu }}")
        params, macs = conv_cost(net.c, width, k, 1, net.h, net.w, True)
        net.params, net.macs = net.params + params, net.macs + macs
    pooled = draw(st.booleans())
    if pooled:
        branches.append("branch { maxpool(3, s=1, p=1) }")
    net.lines.append("concat { " + " ".join(branches) + " }")
    net.c = sum(widths) + (net.c if pooled else 0)


@st.composite
def block_step(draw, net: Net) -> None:
    name = f"unit{len(net.blocks)}"
    net.blocks.append(f"block {name}(c, k=3) {{\n    conv(c, k=k, p=(k - 1) // 2) bn relu\n}}")
    out, k = draw(st.integers(1, 10)), draw(st.sampled_from([1, 3, 5]))
    repeats = draw(st.integers(1, 3))
    net.lines.append(f"{name}({out}, k={k})" + (f" * {repeats}" if repeats > 1 else ""))
    for c_in in [net.c] + [out] * (repeats - 1):
        params, macs = conv_cost(c_in, out, k, 1, net.h, net.w, True)
        net.params, net.macs = net.params + params + 2 * out, net.macs + macs
    net.c = out


@st.composite
def merge_step(draw, net: Net) -> None:
    name = f"s{net.saves}"
    net.saves += 1
    merge = draw(st.sampled_from(["add", "mul", "concat"]))
    inner = draw(st.sampled_from(["relu", "bn", f"conv({net.c}, k=3, p=same)"]))
    if inner == "bn":
        net.params += 2 * net.c
    elif inner.startswith("conv"):
        params, macs = conv_cost(net.c, net.c, 3, 1, net.h, net.w, True)
        net.params, net.macs = net.params + params, net.macs + macs
    net.lines.append(f"-> {name} {inner} {merge}({name})")
    if merge == "concat":
        net.c *= 2


@st.composite
def side_step(draw, net: Net) -> None:
    classes = draw(st.integers(1, 5))
    net.lines.append(f"side aux{len(net.lines)} {{ global_avgpool flatten linear({classes}) }}")
    net.params += net.c * classes + classes  # parameters count; side MACs stay out of the total


STEPS = [conv_step, conv_step, conv_t_step, pool_step, pointwise_step, residual_step,
         concat_step, block_step, merge_step, side_step]


@st.composite
def random_net(draw) -> tuple[str, Net]:
    inputs = (draw(st.integers(1, 6)), draw(st.integers(4, 20)), draw(st.integers(4, 20)))
    net = Net(*inputs)
    for _ in range(draw(st.integers(1, 7))):
        draw(draw(st.sampled_from(STEPS))(net))
        if max(net.c, net.h, net.w) > 64:  # keep the networks small
            break
    if draw(st.booleans()):
        classes = draw(st.integers(1, 10))
        net.lines.append(f"flatten linear({classes})")
        size = net.c * net.h * net.w
        net.params, net.macs = net.params + size * classes + classes, net.macs + size * classes
        net.c, net.flat = classes, True
    return net.text(inputs), net


# ---- invariants --------------------------------------------------------------------------------

@FAST
@given(random_net())
def test_totals_match_independent_account(case):
    text, net = case
    analysis = archc.loads(text, "random.arch").analysis
    assert analysis.output == net.shape, text
    assert analysis.totals.params == net.params, text
    assert analysis.totals.macs == net.macs, text


@SLOW
@given(random_net())
def test_emitted_module_matches_analysis(case):
    torch = pytest.importorskip("torch")
    from torch.utils.flop_counter import FlopCounterMode

    from archc.codegen.build import import_source, verify
    from archc.codegen.pytorch import generate
    from tests.recount import assert_rows_match_torch

    text, _ = case
    model = archc.loads(text, "random.arch")
    generated = generate(model, "random.arch")
    module = import_source(generated.source)
    verify(model, generated, module)  # parameter count and every layer's output shape
    with torch.device("meta"):
        net = getattr(module, generated.class_name)().eval()
    with FlopCounterMode(display=False) as counter:
        net(torch.empty(1, *model.analysis.input, device="meta"))
    assert counter.get_total_flops() == 2 * model.analysis.totals.macs, text
    assert_rows_match_torch(model, net)  # every row against its own module


def _torch_module(kind: str, k: int, s: int, p: int, d: int, extra: int):
    torch = pytest.importorskip("torch")
    if kind == "conv":
        return torch.nn.Conv2d(2, 3, k, stride=s, padding=p, dilation=d)
    if kind == "conv_t":
        return torch.nn.ConvTranspose2d(2, 3, k, stride=s, padding=p, dilation=d,
                                        output_padding=extra)
    if kind == "maxpool":
        return torch.nn.MaxPool2d(k, stride=s, padding=p, dilation=d, ceil_mode=bool(extra))
    return torch.nn.AvgPool2d(k, stride=s, padding=p, ceil_mode=bool(extra))


def _archc_layer(kind: str, k: int, s: int, p: int, d: int, extra: int) -> str:
    if kind == "conv":
        return f"conv(3, k={k}, s={s}, p={p}, d={d})"
    if kind == "conv_t":
        return f"conv_t(3, k={k}, s={s}, p={p}, d={d}, output_padding={extra})"
    ceil = str(bool(extra)).lower()
    dilation = f", d={d}" if kind == "maxpool" else ""
    return f"{kind}({k}, s={s}, p={p}{dilation}, ceil={ceil})"


@FAST
@given(kind=st.sampled_from(["conv", "conv_t", "maxpool", "avgpool"]),
       h=st.integers(1, 12), w=st.integers(1, 12), k=st.integers(1, 6), s=st.integers(1, 4),
       p=st.integers(0, 3), d=st.integers(1, 3), extra=st.integers(0, 2))
def test_window_sizes_match_torch(kind, h, w, k, s, p, d, extra):
    """archc accepts exactly what torch.nn runs, with the same output size."""
    if kind == "avgpool":
        d = 1
    _same_as_torch(kind, h, w, k, s, p, d, extra)


@st.composite
def uneven_pool(draw) -> tuple:
    """Pooling whose windows do not tile the input, so floor and ceil mode disagree by one:
    N + 2P - D(F-1) - 1 = q*S + r with 0 < r < S. Small r with P > 0 also reaches ceil mode's
    one exception, a last window that would start in the right padding (PyTorch drops it)."""
    kind = draw(st.sampled_from(["maxpool", "avgpool"]))
    k, s = draw(st.integers(1, 5)), draw(st.integers(2, 4))
    p = draw(st.integers(0, k // 2))
    d = draw(st.integers(1, 3)) if kind == "maxpool" else 1
    q, r = draw(st.integers(0, 4)), draw(st.integers(1, s - 1))
    n = q * s + r + d * (k - 1) + 1 - 2 * p
    assume(n >= 1)
    fits = max(1, d * (k - 1) + 1 - 2 * p)
    other = draw(st.integers(fits, fits + 8))  # the other axis: any size a window fits in
    return kind, n, other, k, s, p, d, int(draw(st.booleans()))


@TARGETED
@given(uneven_pool())
def test_uneven_pooling_matches_torch(case):
    """Where floor and ceil differ, the output size is PyTorch's for the mode asked for."""
    kind, n, other, k, s, p, d, ceil = case
    assert _same_as_torch(kind, n, other, k, s, p, d, ceil) is not None  # torch accepts it
    assert _same_as_torch(kind, other, n, k, s, p, d, ceil) is not None




def _same_as_torch(kind: str, h: int, w: int, k: int, s: int, p: int, d: int, extra: int):
    """archc's output size is torch.nn's (returned), and archc rejects what torch rejects."""
    torch = pytest.importorskip("torch")
    try:
        module = _torch_module(kind, k, s, p, d, extra)
        expected = tuple(module(torch.zeros(1, 2, h, w)).shape[1:])
        if 0 in expected:
            expected = None
    except (RuntimeError, ValueError):
        expected = None
    spec = f"network W {{ input 2x{h}x{w} {_archc_layer(kind, k, s, p, d, extra)} }}"
    try:
        got = archc.loads(spec, "w.arch").analysis.output
    except ArchcError as exc:
        assert expected is None, (spec, expected, str(exc))
        return None
    assert got == expected, spec
    return got


@FAST
@given(c=st.integers(1, 8), h=st.integers(1, 16), k=st.sampled_from([1, 3, 5, 7]),
       d=st.integers(1, 3))
def test_same_padding_keeps_the_size(c, h, k, d):
    # `same` pads d*(k-1)/2 on each side: the window fits any input, even a 1x1 one
    analysis = archc.loads(f"network S {{ input {c}x{h}x{h} conv(4, k={k}, p=same, d={d}) }}",
                           "s.arch").analysis
    assert analysis.output == (4, h, h)
