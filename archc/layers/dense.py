"""Fully connected and reshaping layers: linear, flatten, dropout."""

from __future__ import annotations

from archc.errors import Code
from archc.layers import derive
from archc.layers.base import (
    Args,
    ChannelsLast,
    Field,
    LayerError,
    LayerKind,
    Saved,
    Shape,
    TorchCall,
    Window,
    channels,
    fmt_shape,
    positions,
    prod,
    require_rank,
    same_position,
    spatial_rank,
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

    def window(self, args: LinearArgs, inputs: list[Shape], out: Shape):
        if isinstance(inputs[0], ChannelsLast):
            return same_position(spatial_rank(out))  # the channels of one position
        return None  # each output reads every feature

    def saved(self, args: LinearArgs, inputs: list[Shape], out: Shape) -> list[Saved]:
        # the input, for the weight gradient; at positions a matmul, which keeps a contiguous
        # copy of a permuted input
        return [Saved(0, prod(inputs[0]), contiguous=isinstance(inputs[0], ChannelsLast))]

    def explain(self, args: LinearArgs, inputs: list[Shape], out: Shape) -> list[derive.Line]:
        n_in, shape = channels(inputs[0]), inputs[0]
        bias = f" + {args.out}" if args.bias else " + 0 (no bias)"
        params = ("params", f"N\u00b7K + K = {derive.n(n_in)}\u00b7{derive.n(args.out)}{bias} "
                  f"= {derive.n(self.params(args, inputs))}")
        macs = self.macs(args, inputs, out)
        if not isinstance(shape, ChannelsLast):
            return [("output", f"{args.out} features: y = Wx + b"), params,
                    ("MACs", "N\u00b7K = " + derive.product([n_in, args.out], macs))]
        where = list(shape[:-1])
        axes = "\u00b7".join(derive.AXES.get(len(where), ("positions",)))
        return [("output", f"{args.out} channels at each of {derive.n(positions(shape))} "
                 f"positions: y = Wx + b per position, {fmt_shape(out)}"), params,
                ("MACs", f"{axes}\u00b7N\u00b7K = "
                 + derive.product([*where, n_in, args.out], macs))]

    def torch_init(self, args: LinearArgs) -> list[str]:
        return init_statements(args.init, args.bias)

    def torch(self, args: LinearArgs, inputs: list[Shape]) -> TorchCall:
        return TorchCall("nn.Linear", (channels(inputs[0]), args.out), {"bias": args.bias},
                         defaults={"bias": True})


class Flatten(LayerKind):
    name = "flatten"
    view = True
    doc = "flatten CxHxW to C*H*W features"

    def out_shape(self, args: Args, inputs: list[Shape]) -> Shape:
        return (prod(inputs[0]),)

    def window(self, args: Args, inputs: list[Shape], out: Shape) -> None:
        return None  # positions become features: the spatial layout ends here

    def saved(self, args: Args, inputs: list[Shape], out: Shape) -> list[Saved]:
        return []

    def explain(self, args: Args, inputs: list[Shape], out: Shape) -> list[derive.Line]:
        return [("output", "features = " + derive.product(list(inputs[0]), out[0])),
                *derive.no_parameters(), *derive.no_macs()]

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

    def window(self, args: DropoutArgs, inputs: list[Shape], out: Shape) -> tuple[Window, ...]:
        return same_position(spatial_rank(out))

    def explain(self, args: DropoutArgs, inputs: list[Shape], out: Shape) -> list[derive.Line]:
        return derive.elementwise(f"in training, zero each {self._unit()} with probability "
                                  f"{args.p} and scale the rest by 1/(1\u2212p); identity in eval")

    def _unit(self) -> str:
        return "value"

    def saved(self, args: DropoutArgs, inputs: list[Shape], out: Shape) -> list[Saved]:
        # the scaled keep-mask, in the activation dtype on the CPU (CUDA's fused kernel keeps
        # one byte per element); p=0 is skipped
        return [Saved(None, self._mask(out))] if args.p > 0 else []

    def _mask(self, out: Shape):
        return prod(out)

    def torch(self, args: DropoutArgs, inputs: list[Shape]) -> TorchCall:
        return TorchCall("nn.Dropout", (), {"p": args.p}, defaults={"p": 0.5})


class Dropout2d(Dropout):
    name = "dropout2d"
    channels_last = False  # drops whole channels: axis 1
    doc = "dropout2d(p=0.5): zeroes whole channels with probability p in training"

    def check(self, args: DropoutArgs, inputs: list[Shape]) -> None:
        require_rank(inputs, (3,), self.name)

    def _unit(self) -> str:
        return "whole channel"

    def _mask(self, out: Shape):
        return out[0]

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

    def window(self, args: BatchNormArgs, inputs: list[Shape], out: Shape) -> tuple[Window, ...]:
        return same_position(spatial_rank(out))  # running statistics (eval mode)

    def saved(self, args: BatchNormArgs, inputs: list[Shape], out: Shape) -> list[Saved]:
        # the input, and the batch mean and inverse std per channel
        return [Saved(0, prod(inputs[0])), Saved(None, 2 * inputs[0][0], per_sample=False)]

    def explain(self, args: BatchNormArgs, inputs: list[Shape], out: Shape) -> list[derive.Line]:
        c = inputs[0][0]
        params = (f"2\u00b7C = 2\u00b7{c} = {2 * c} (scale \u03b3 and shift \u03b2 per channel)"
                  if args.affine else "0 (affine=false)")
        return [("computes", "(x \u2212 mean)/sqrt(var + eps)\u00b7\u03b3 + \u03b2 per channel, "
                 "batch statistics in training, running ones in eval"),
                ("output", "same shape as the input"), ("params", params),
                ("buffers", f"running mean and variance, 2\u00b7{c} (not parameters)"),
                *derive.no_macs()]

    def params(self, args: BatchNormArgs, inputs: list[Shape]) -> int:
        return 2 * inputs[0][0] if args.affine else 0

    def torch(self, args: BatchNormArgs, inputs: list[Shape]) -> TorchCall:
        module = "nn.BatchNorm2d" if len(inputs[0]) == 3 else "nn.BatchNorm1d"
        kwargs = {"eps": args.eps, "momentum": args.momentum, "affine": args.affine}
        defaults = {"eps": 1e-5, "momentum": 0.1, "affine": True}
        return TorchCall(module, (inputs[0][0],), kwargs, defaults=defaults)
