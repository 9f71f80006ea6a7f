"""Pooling: windowed max/avg (2-D and 1-D), adaptive and global pooling, upsampling."""

from __future__ import annotations

from fractions import Fraction
from typing import Literal

from archc.errors import Code
from archc.layers import derive
from archc.layers.base import (
    INDICES,
    Args,
    Field,
    LayerError,
    LayerKind,
    Saved,
    Shape,
    TorchCall,
    Window,
    fmt_shape,
    per_axis,
    prod,
    require_rank,
)
from archc.layers.conv import Axes, check_window, floor_warnings, sliding_windows, window_out


class PoolArgs(Args):
    k: Axes
    s: Axes | None = None  # default: the kernel size, as in PyTorch
    p: Axes = 0
    d: Axes = 1
    ceil: bool = False


class MaxPool(LayerKind):
    name = "maxpool"
    Args = PoolArgs
    positional = ("k",)
    rank = 2
    module = "nn.MaxPool2d"
    doc = "max pooling: maxpool(k, s=k, p=0, d=1, ceil=false)"

    def _geometry(self, args: PoolArgs):
        k = per_axis(args.k, self.rank)
        s = k if args.s is None else per_axis(args.s, self.rank)
        return k, s, per_axis(args.p, self.rank), per_axis(args.d, self.rank)

    def check_args(self, args: PoolArgs) -> None:
        for name, value in (("k", args.k), ("s", args.s), ("d", args.d), ("p", args.p)):
            values = value if isinstance(value, tuple) else (value,)
            if value is not None and any(v < (0 if name == "p" else 1) for v in values):
                raise LayerError(Code.BAD_ARGUMENT, f"{name} must be positive, got {value}")
            if isinstance(value, tuple) and len(value) != self.rank:
                raise LayerError(Code.BAD_ARGUMENT, f"{name}={value} needs {self.rank} values")

    def check(self, args: PoolArgs, inputs: list[Shape]) -> None:
        require_rank(inputs, (self.rank + 1,), self.name)
        check_window(self.name, tuple(inputs[0][1:]), *self._geometry(args), ceil=args.ceil,
                     pooling=True)

    def warnings(self, args: PoolArgs, inputs: list[Shape]) -> list:
        return [] if args.ceil else floor_warnings(tuple(inputs[0][1:]), *self._geometry(args))

    def out_shape(self, args: PoolArgs, inputs: list[Shape]) -> Shape:
        k, s, p, d = self._geometry(args)
        sizes = inputs[0][1:]
        return (inputs[0][0], *(window_out(n, *w, args.ceil) for n, *w in zip(sizes, k, s, p, d)))

    def window(self, args: PoolArgs, inputs: list[Shape], out: Shape) -> tuple[Window, ...]:
        return sliding_windows(*self._geometry(args))  # ceil mode adds windows, not reach

    def saved(self, args: PoolArgs, inputs: list[Shape], out: Shape) -> list[Saved]:
        return [Saved(0, prod(inputs[0])), Saved(None, prod(out), nbytes=INDICES)]

    def explain(self, args: PoolArgs, inputs: list[Shape], out: Shape) -> list[derive.Line]:
        lines = derive.window_lines(inputs[0][1:], *self._geometry(args), out[1:], args.ceil)
        lines.append(("channels", f"each of the {inputs[0][0]} channels pooled separately"))
        return [*lines, *derive.no_parameters("pooling learns nothing"), *derive.no_macs()]

    def torch(self, args: PoolArgs, inputs: list[Shape]) -> TorchCall:
        kwargs = {"stride": args.s, "padding": args.p, "dilation": args.d, "ceil_mode": args.ceil}
        defaults = {"stride": None, "padding": 0, "dilation": 1, "ceil_mode": False}
        return TorchCall(self.module, (args.k,), kwargs, defaults=defaults)


class AvgPoolArgs(PoolArgs):
    d: Literal[1] = 1
    count_include_pad: bool = True


class AvgPool(MaxPool):
    name = "avgpool"
    Args = AvgPoolArgs
    module = "nn.AvgPool2d"
    doc = "average pooling: avgpool(k, s=k, p=0, ceil=false, count_include_pad=true)"

    def saved(self, args: AvgPoolArgs, inputs: list[Shape], out: Shape) -> list[Saved]:
        return [Saved(0, prod(inputs[0]))]

    def torch(self, args: AvgPoolArgs, inputs: list[Shape]) -> TorchCall:
        kwargs = {"stride": args.s, "padding": args.p, "ceil_mode": args.ceil,
                  "count_include_pad": args.count_include_pad}
        defaults = {"stride": None, "padding": 0, "ceil_mode": False, "count_include_pad": True}
        return TorchCall(self.module, (args.k,), kwargs, defaults=defaults)


class MaxPool1d(MaxPool):
    name = "maxpool1d"
    rank = 1
    module = "nn.MaxPool1d"
    doc = "1-D max pooling over CxL: maxpool1d(k, s=k, p=0, d=1, ceil=false)"


class AvgPool1d(AvgPool):
    name = "avgpool1d"
    rank = 1
    module = "nn.AvgPool1d"
    doc = "1-D average pooling over CxL: avgpool1d(k, s=k, p=0, ceil=false)"


class AdaptiveArgs(Args):
    size: Axes = Field(default=1)


class AdaptiveAvgPool(LayerKind):
    name = "adaptive_avgpool"
    Args = AdaptiveArgs
    positional = ("size",)
    module = "nn.AdaptiveAvgPool2d"
    doc = "adaptive average pooling to a fixed HxW: adaptive_avgpool(size)"

    def check_args(self, args: AdaptiveArgs) -> None:
        sizes = per_axis(args.size, 2)
        if len(sizes) != 2 or any(v < 1 for v in sizes):
            raise LayerError(Code.BAD_ARGUMENT, f"size={args.size} must be 1 or 2 positive values")

    def check(self, args: AdaptiveArgs, inputs: list[Shape]) -> None:
        require_rank(inputs, (3,), self.name)

    def out_shape(self, args: AdaptiveArgs, inputs: list[Shape]) -> Shape:
        return (inputs[0][0], *per_axis(args.size, 2))

    def saved(self, args: AdaptiveArgs, inputs: list[Shape], out: Shape) -> list[Saved]:
        # a 1x1 output is computed as a mean, which keeps nothing
        return [] if prod(out[1:]) == 1 else [Saved(0, prod(inputs[0]))]

    def explain(self, args: AdaptiveArgs, inputs: list[Shape], out: Shape) -> list[derive.Line]:
        sizes = "x".join(str(v) for v in inputs[0][1:])
        return [("output", f"fixed {fmt_shape(out[1:])}: output o pools input rows "
                 f"floor(o\u00b7N/M) .. ceil((o+1)\u00b7N/M)\u22121 of {sizes}"),
                *derive.no_parameters(), *derive.no_macs()]

    def window(self, args: AdaptiveArgs, inputs: list[Shape], out: Shape) -> tuple[Window, ...]:
        """Output o of M pools [floor(o*N/M), ceil((o+1)*N/M) - 1]: exact when M divides N,
        else the smallest affine interval holding every window."""
        windows = []
        for n, m in zip(inputs[0][1:], out[1:]):
            step = Fraction(n, m)
            slack = Fraction(m - 1, m) if n % m else 0
            windows.append(Window(step, -slack, step + 2 * slack))
        return tuple(windows)

    def torch(self, args: AdaptiveArgs, inputs: list[Shape]) -> TorchCall:
        return TorchCall(self.module, (args.size,))


class AdaptiveMaxPool(AdaptiveAvgPool):
    name = "adaptive_maxpool"
    module = "nn.AdaptiveMaxPool2d"
    doc = "adaptive max pooling to a fixed HxW: adaptive_maxpool(size)"

    def saved(self, args: AdaptiveArgs, inputs: list[Shape], out: Shape) -> list[Saved]:
        return [Saved(0, prod(inputs[0])), Saved(None, prod(out), nbytes=INDICES)]


class GlobalAvgPool(LayerKind):
    name = "global_avgpool"
    module = "nn.AdaptiveAvgPool2d"
    doc = "global average pooling to Cx1x1"

    def check(self, args: Args, inputs: list[Shape]) -> None:
        require_rank(inputs, (3,), self.name)

    def out_shape(self, args: Args, inputs: list[Shape]) -> Shape:
        return (inputs[0][0], 1, 1)

    def window(self, args: Args, inputs: list[Shape], out: Shape) -> None:
        return None  # every output value pools the whole map

    def saved(self, args: Args, inputs: list[Shape], out: Shape) -> list[Saved]:
        return []  # a mean keeps nothing

    def explain(self, args: Args, inputs: list[Shape], out: Shape) -> list[derive.Line]:
        return [("output", f"one value per channel: {fmt_shape(inputs[0])} -> "
                 f"{fmt_shape(out)}"), *derive.no_parameters(), *derive.no_macs()]

    def torch(self, args: Args, inputs: list[Shape]) -> TorchCall:
        return TorchCall(self.module, (1,))


class GlobalMaxPool(GlobalAvgPool):
    name = "global_maxpool"
    module = "nn.AdaptiveMaxPool2d"
    doc = "global max pooling to Cx1x1"

    def saved(self, args: Args, inputs: list[Shape], out: Shape) -> list[Saved]:
        return [Saved(0, prod(inputs[0])), Saved(None, prod(out), nbytes=INDICES)]


class UpsampleArgs(Args):
    scale: int = Field(default=2, gt=0)
    mode: Literal["nearest", "bilinear"] = "nearest"


class Upsample(LayerKind):
    name = "upsample"
    Args = UpsampleArgs
    positional = ("scale",)
    doc = "upsampling by an integer factor: upsample(scale=2, mode=nearest|bilinear)"

    def check(self, args: UpsampleArgs, inputs: list[Shape]) -> None:
        require_rank(inputs, (3,), self.name)

    def out_shape(self, args: UpsampleArgs, inputs: list[Shape]) -> Shape:
        c, h, w = inputs[0]
        return (c, h * args.scale, w * args.scale)

    def window(self, args: UpsampleArgs, inputs: list[Shape], out: Shape) -> tuple[Window, ...]:
        if args.mode == "nearest":
            return upscaled(args.scale, 2)
        # bilinear, align_corners=False: source x = (o + 1/2)/f - 1/2 reads floor(x), floor(x)+1
        f = args.scale
        return (Window(Fraction(1, f), Fraction(1, 2 * f) - Fraction(3, 2), 3),) * 2

    def saved(self, args: UpsampleArgs, inputs: list[Shape], out: Shape) -> list[Saved]:
        return []  # only sizes

    def explain(self, args: UpsampleArgs, inputs: list[Shape], out: Shape) -> list[derive.Line]:
        _, h, w = inputs[0]
        return [("output", f"H\u00b7scale x W\u00b7scale = {h}\u00b7{args.scale} x "
                 f"{w}\u00b7{args.scale} = {out[1]}x{out[2]} ({args.mode})"),
                *derive.no_parameters(), *derive.no_macs()]

    def torch(self, args: UpsampleArgs, inputs: list[Shape]) -> TorchCall:
        kwargs = {"scale_factor": args.scale, "mode": args.mode}
        if args.mode == "bilinear":
            kwargs["align_corners"] = False
        return TorchCall("nn.Upsample", (), kwargs)


def upscaled(r: int, rank: int) -> tuple[Window, ...]:
    """Output o copies input floor(o / r), which lies in [(o - r + 1) / r, o / r]."""
    return (Window(Fraction(1, r), Fraction(1 - r, r), Fraction(2 * r - 1, r)),) * rank
