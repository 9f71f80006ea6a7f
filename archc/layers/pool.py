"""Pooling: windowed max/avg (2-D and 1-D), adaptive and global pooling, upsampling."""

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
    per_axis,
    require_rank,
)
from archc.layers.conv import Axes, check_window, floor_warnings, window_out


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

    def torch(self, args: AdaptiveArgs, inputs: list[Shape]) -> TorchCall:
        return TorchCall(self.module, (args.size,))


class AdaptiveMaxPool(AdaptiveAvgPool):
    name = "adaptive_maxpool"
    module = "nn.AdaptiveMaxPool2d"
    doc = "adaptive max pooling to a fixed HxW: adaptive_maxpool(size)"


class GlobalAvgPool(LayerKind):
    name = "global_avgpool"
    module = "nn.AdaptiveAvgPool2d"
    doc = "global average pooling to Cx1x1"

    def check(self, args: Args, inputs: list[Shape]) -> None:
        require_rank(inputs, (3,), self.name)

    def out_shape(self, args: Args, inputs: list[Shape]) -> Shape:
        return (inputs[0][0], 1, 1)

    def torch(self, args: Args, inputs: list[Shape]) -> TorchCall:
        return TorchCall(self.module, (1,))


class GlobalMaxPool(GlobalAvgPool):
    name = "global_maxpool"
    module = "nn.AdaptiveMaxPool2d"
    doc = "global max pooling to Cx1x1"


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

    def torch(self, args: UpsampleArgs, inputs: list[Shape]) -> TorchCall:
        kwargs = {"scale_factor": args.scale, "mode": args.mode}
        if args.mode == "bilinear":
            kwargs["align_corners"] = False
        return TorchCall("nn.Upsample", (), kwargs)
