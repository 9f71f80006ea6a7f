"""Fully connected and reshaping layers: linear, flatten, dropout."""

from __future__ import annotations

from archc.errors import Code
from archc.layers.base import (
    Args,
    ChannelsLast,
    Field,
    LayerError,
    LayerKind,
    Shape,
    TorchCall,
    channels,
    fmt_shape,
    positions,
    prod,
    require_rank,
)
from archc.layers.conv import Init, init_statements


class LinearArgs(Args):
    out: int = Field(gt=0)
    bias: bool = True
    init: Init = "default"


class Linear(LayerKind):
    """nn.Linear acts on the last axis: the features of a flat vector, or the channels at every
    position of a channels-last map (ConvNeXt's pointwise MLP after `permute(0, 2, 3, 1)`)."""

    name = "linear"
    fresh_output = True
    channels_last = True
    Args = LinearArgs
    positional = ("out",)
    doc = ("fully connected layer: linear(out, bias=true) on a flat vector, or at every position "
           "of a channels-last map (after permute(0, 2, 3, 1)), costing H*W*in*out MACs")

    def check(self, args: LinearArgs, inputs: list[Shape]) -> None:
        if len(inputs[0]) != 1 and not isinstance(inputs[0], ChannelsLast):
            raise LayerError(Code.RANK_MISMATCH, f"linear expects a flat vector (F) or a "
                             f"channels-last map but got {fmt_shape(inputs[0])}",
                             "add `flatten` before it, or `permute(0, 2, 3, 1)` to apply it at "
                             "every position")

    def out_shape(self, args: LinearArgs, inputs: list[Shape]) -> Shape:
        if isinstance(inputs[0], ChannelsLast):
            return ChannelsLast((*inputs[0][:-1], args.out))
        return (args.out,)

    def params(self, args: LinearArgs, inputs: list[Shape]) -> int:
        return channels(inputs[0]) * args.out + (args.out if args.bias else 0)

    def macs(self, args: LinearArgs, inputs: list[Shape], out: Shape) -> int:
        return positions(inputs[0]) * channels(inputs[0]) * args.out

    def torch_init(self, args: LinearArgs) -> list[str]:
        return init_statements(args.init, args.bias)

    def torch(self, args: LinearArgs, inputs: list[Shape]) -> TorchCall:
        return TorchCall("nn.Linear", (channels(inputs[0]), args.out), {"bias": args.bias},
                         defaults={"bias": True})


class Flatten(LayerKind):
    name = "flatten"
    doc = "flatten CxHxW to C*H*W features"

    def out_shape(self, args: Args, inputs: list[Shape]) -> Shape:
        return (prod(inputs[0]),)

    def torch(self, args: Args, inputs: list[Shape]) -> TorchCall:
        return TorchCall("nn.Flatten", ())


class DropoutArgs(Args):
    p: float = Field(default=0.5, ge=0.0, le=1.0)


class Dropout(LayerKind):
    name = "dropout"
    Args = DropoutArgs
    positional = ("p",)
    elementwise = True
    channels_last = True
    doc = "dropout(p=0.5): zeroes elements with probability p in training"

    def torch(self, args: DropoutArgs, inputs: list[Shape]) -> TorchCall:
        return TorchCall("nn.Dropout", (), {"p": args.p}, defaults={"p": 0.5})


class Dropout2d(Dropout):
    name = "dropout2d"
    channels_last = False  # drops whole channels: axis 1
    doc = "dropout2d(p=0.5): zeroes whole channels with probability p in training"

    def check(self, args: DropoutArgs, inputs: list[Shape]) -> None:
        require_rank(inputs, (3,), self.name)

    def torch(self, args: DropoutArgs, inputs: list[Shape]) -> TorchCall:
        return TorchCall("nn.Dropout2d", (), {"p": args.p}, defaults={"p": 0.5})


class BatchNormArgs(Args):
    eps: float = Field(default=1e-5, gt=0.0)
    momentum: float = Field(default=0.1, ge=0.0, le=1.0)
    affine: bool = True


class BatchNorm(LayerKind):
    name = "bn"
    fresh_output = True
    Args = BatchNormArgs
    doc = "batch normalisation over channels: bn(eps=1e-5, momentum=0.1, affine=true)"

    def check(self, args: BatchNormArgs, inputs: list[Shape]) -> None:
        if len(inputs[0]) not in (1, 2, 3):
            raise LayerError(Code.RANK_MISMATCH, "bn expects a vector, a sequence or an image")

    def params(self, args: BatchNormArgs, inputs: list[Shape]) -> int:
        return 2 * inputs[0][0] if args.affine else 0

    def torch(self, args: BatchNormArgs, inputs: list[Shape]) -> TorchCall:
        module = "nn.BatchNorm2d" if len(inputs[0]) == 3 else "nn.BatchNorm1d"
        kwargs = {"eps": args.eps, "momentum": args.momentum, "affine": args.affine}
        defaults = {"eps": 1e-5, "momentum": 0.1, "affine": True}
        return TorchCall(module, (inputs[0][0],), kwargs, defaults=defaults)
