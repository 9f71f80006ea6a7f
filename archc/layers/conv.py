"""Convolutions: conv (2-D), conv1d and conv_t (transposed), plus the sliding-window rule."""

from __future__ import annotations

from typing import Literal

from archc.errors import Code
from archc.layers.base import (
    Args,
    Field,
    LayerError,
    LayerKind,
    Shape,
    TorchCall,
    fmt_shape,
    per_axis,
    prod,
    require_divides,
    require_rank,
)

PosInt = int  # validated through Field(gt=0) below
Axes = int | tuple[int, ...]
Init = Literal["default", "kaiming", "xavier", "zeros"]

INIT_STATEMENTS = {
    "default": [],
    "kaiming": ['nn.init.kaiming_normal_({m}.weight, mode="fan_out", nonlinearity="relu")'],
    "xavier": ["nn.init.xavier_uniform_({m}.weight)"],
    "zeros": ["nn.init.zeros_({m}.weight)"],
}


def init_statements(init: str, bias: bool) -> list[str]:
    """How `init=` is written in PyTorch; biases start at zero whenever an init is chosen."""
    lines = list(INIT_STATEMENTS[init])
    if lines and bias:
        lines.append("nn.init.zeros_({m}.bias)")
    return lines


def window_out(size, k, s, p, d, ceil: bool = False):
    """floor((N + 2P - D*(F-1) - 1) / S) + 1, PyTorch's rule (ceil: the last window may start
    in the input or its left padding)."""
    span = size + 2 * p - d * (k - 1) - 1
    if not ceil:
        return span // s + 1
    out = -(-span // s) + 1
    return out - 1 if (out - 1) * s >= size + p else out


def resolve_padding(padding, kernel: tuple, dilation: tuple, rank: int) -> tuple:
    if padding == "valid":
        return (0,) * rank
    if padding == "same":
        return tuple(d * (k - 1) // 2 for k, d in zip(kernel, dilation))
    return per_axis(padding, rank)


def check_window(what: str, sizes: tuple, kernel, stride, padding, dilation,
                 ceil: bool = False, pooling: bool = False) -> None:
    for axis, (n, k, s, p, d) in enumerate(zip(sizes, kernel, stride, padding, dilation)):
        if pooling and p > k // 2:  # PyTorch checks the kernel size, not the dilated extent
            raise LayerError(Code.BAD_ARGUMENT,
                             f"padding {p} is more than half the kernel size {k}",
                             "PyTorch pooling rejects padding larger than half the kernel")
        if window_out(n, k, s, p, d, ceil) < 1:
            dim = "HW"[axis] if len(sizes) == 2 else "L"
            raise LayerError(Code.KERNEL_TOO_LARGE,
                             f"{what} kernel {d * (k - 1) + 1} is larger than the padded input "
                             f"({dim} = {n} + 2*{p} = {n + 2 * p})",
                             "reduce the kernel, add padding, or remove a downsampling layer "
                             "before")


def floor_warnings(sizes: tuple, kernel, stride, padding, dilation) -> list:
    """Input rows/columns no window reaches. The uncovered tail of the padded input holds the
    right padding first, so only what exceeds it is real data lost."""
    found = []
    for n, k, s, p, d in zip(sizes, kernel, stride, padding, dilation):
        if d * (k - 1) + 1 < s:  # windows never touch: skipping rows is the design, not a loss
            continue
        dropped = (n + 2 * p - d * (k - 1) - 1) % s - p
        if dropped > 0:
            found.append((Code.FLOOR_DROPS,
                          f"stride {s} does not tile {n} + 2*{p} with a window of "
                          f"{d * (k - 1) + 1}: the last {dropped} input row(s)/column(s) are "
                          "never covered",
                          "adjust padding or input size so the windows tile the input exactly"))
            break
    return found


class ConvArgs(Args):
    out: int = Field(gt=0)
    k: Axes
    s: Axes = 1
    p: Axes | Literal["same", "valid"] = 0
    d: Axes = 1
    groups: int = Field(default=1, gt=0)
    bias: bool = True
    init: Init = "default"


class Conv(LayerKind):
    name = "conv"
    fresh_output = True
    Args = ConvArgs
    positional = ("out", "k")
    rank = 2
    module = "nn.Conv2d"
    doc = "2-D convolution: conv(out, k=3, s=1, p=0|same|valid, d=1, groups=1, bias=true)"

    def _geometry(self, args: ConvArgs):
        k, d = per_axis(args.k, self.rank), per_axis(args.d, self.rank)
        return k, per_axis(args.s, self.rank), resolve_padding(args.p, k, d, self.rank), d

    def check_args(self, args: ConvArgs) -> None:
        _check_axes(args, self.rank)
        require_divides(args.groups, args.out, "output")
        k, s, _, d = self._geometry(args)
        odd = all((di * (ki - 1)) % 2 == 0 for ki, di in zip(k, d))
        if args.p == "same" and (any(x != 1 for x in s) or not odd):
            raise LayerError(Code.SAME_IMPOSSIBLE,
                             f"p=same needs stride 1 and an odd kernel extent; got kernel "
                             f"{fmt_shape(k)}, stride {fmt_shape(s)}",
                             "give the padding explicitly, e.g. p=(k-1)/2 rounded as you mean")

    def check(self, args: ConvArgs, inputs: list[Shape]) -> None:
        require_rank(inputs, (self.rank + 1,), self.name)
        require_divides(args.groups, inputs[0][0], "input")
        check_window(self.name, tuple(inputs[0][1:]), *self._geometry(args))

    def warnings(self, args: ConvArgs, inputs: list[Shape]) -> list:
        return floor_warnings(tuple(inputs[0][1:]), *self._geometry(args))

    def out_shape(self, args: ConvArgs, inputs: list[Shape]) -> Shape:
        k, s, p, d = self._geometry(args)
        sizes = inputs[0][1:]
        return (args.out, *(window_out(n, *w) for n, *w in zip(sizes, k, s, p, d)))

    def params(self, args: ConvArgs, inputs: list[Shape]) -> int:
        k = per_axis(args.k, self.rank)
        weights = prod(k) * (inputs[0][0] // args.groups) * args.out
        return weights + (args.out if args.bias else 0)

    def macs(self, args: ConvArgs, inputs: list[Shape], out: Shape) -> int:
        k = per_axis(args.k, self.rank)
        return prod(out) * prod(k) * (inputs[0][0] // args.groups)

    def kernel(self, args: ConvArgs) -> tuple[int, ...]:
        return per_axis(args.k, self.rank)

    def torch_init(self, args: ConvArgs) -> list[str]:
        return init_statements(args.init, args.bias)

    def torch(self, args: ConvArgs, inputs: list[Shape]) -> TorchCall:
        _, _, padding, _ = self._geometry(args)
        kwargs = {"stride": args.s, "padding": collapse(padding), "dilation": args.d,
                  "groups": args.groups, "bias": args.bias}
        defaults = {"stride": 1, "padding": 0, "dilation": 1, "groups": 1, "bias": True}
        return TorchCall(self.module, (inputs[0][0], args.out, args.k), kwargs,
                         defaults=defaults)


class Conv1d(Conv):
    name = "conv1d"
    rank = 1
    module = "nn.Conv1d"
    doc = "1-D convolution over CxL: conv1d(out, k, s=1, p=0|same|valid, d=1, groups=1)"


class ConvTArgs(ConvArgs):
    output_padding: Axes = 0


class ConvTranspose(Conv):
    name = "conv_t"
    Args = ConvTArgs
    module = "nn.ConvTranspose2d"
    doc = "transposed 2-D convolution: conv_t(out, k, s=1, p=0, output_padding=0, d=1, groups=1)"

    def check_args(self, args: ConvTArgs) -> None:
        _check_axes(args, 2)
        if args.p == "same":
            raise LayerError(Code.SAME_IMPOSSIBLE, "conv_t does not support p=same",
                             "give the padding as a number")
        require_divides(args.groups, args.out, "output")
        _check_output_padding(args)

    def check(self, args: ConvTArgs, inputs: list[Shape]) -> None:
        require_rank(inputs, (3,), self.name)
        require_divides(args.groups, inputs[0][0], "input")
        if any(o < 1 for o in self.out_shape(args, inputs)[1:]):
            raise LayerError(Code.KERNEL_TOO_LARGE, "conv_t output would be empty",
                             "reduce the padding")

    def warnings(self, args: ConvTArgs, inputs: list[Shape]) -> list:
        return []

    def out_shape(self, args: ConvTArgs, inputs: list[Shape]) -> Shape:
        k, s, p, d = self._geometry(args)
        op = per_axis(args.output_padding, 2)
        sizes = inputs[0][1:]
        return (args.out, *((n - 1) * si - 2 * pi + di * (ki - 1) + oi + 1
                            for n, ki, si, pi, di, oi in zip(sizes, k, s, p, d, op)))

    def params(self, args: ConvTArgs, inputs: list[Shape]) -> int:
        weights = prod(per_axis(args.k, 2)) * inputs[0][0] * (args.out // args.groups)
        return weights + (args.out if args.bias else 0)

    def macs(self, args: ConvTArgs, inputs: list[Shape], out: Shape) -> int:
        # every input position scatters a k*k*(out/groups) window: FlopCounterMode's rule
        return prod(inputs[0]) * prod(per_axis(args.k, 2)) * (args.out // args.groups)

    def torch(self, args: ConvTArgs, inputs: list[Shape]) -> TorchCall:
        call = super().torch(args, inputs)
        call.kwargs["output_padding"] = args.output_padding
        call.defaults["output_padding"] = 0
        return call


def collapse(values: tuple):
    """(1, 1) -> 1: PyTorch takes one number for equal axes."""
    return values[0] if all(v == values[0] for v in values) else values


def _check_output_padding(args: ConvTArgs) -> None:
    """PyTorch: each output_padding must be below that axis's stride or dilation."""
    s, d = per_axis(args.s, 2), per_axis(args.d, 2)
    op = per_axis(args.output_padding, 2)
    if len(op) != 2:
        raise LayerError(Code.BAD_ARGUMENT, f"output_padding={args.output_padding} gives "
                         f"{len(op)} values for 2 spatial axes")
    for o, si, di in zip(op, s, d):
        if not 0 <= o < max(si, di):
            raise LayerError(Code.BAD_ARGUMENT,
                             f"output_padding {o} must be at least 0 and smaller than the "
                             f"stride ({si}) or the dilation ({di})",
                             "output_padding only picks among the sizes a stride > 1 allows")


def _check_axes(args: ConvArgs, rank: int) -> None:
    for name in ("k", "s", "d") + (("p",) if isinstance(args.p, (int, tuple)) else ()):
        value = getattr(args, name)
        values = value if isinstance(value, tuple) else (value,)
        if isinstance(value, tuple) and len(value) != rank:
            raise LayerError(Code.BAD_ARGUMENT,
                             f"{name}={value} gives {len(value)} values for {rank} spatial axes")
        low = 0 if name == "p" else 1
        if any(v < low for v in values):
            raise LayerError(Code.BAD_ARGUMENT, f"{name} must be at least {low}, got {value}")
