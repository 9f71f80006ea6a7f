"""Normalisation beyond batch norm: layer, group, instance and local response normalisation."""

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
    prod,
    require_divides,
    require_rank,
    same_position,
    spatial_rank,
    spatial_sizes,
)


class LayerNormArgs(Args):
    eps: float = Field(default=1e-5, gt=0.0)
    affine: bool = True


class LayerNorm(LayerKind):
    """Normalises the C channels at every position, with C weights and C biases. On a CxHxW
    map it is torchvision's LayerNorm2d (permute, layer_norm, permute back); on a flat vector
    or a channels-last map it is nn.LayerNorm(C), which acts on the last axis."""

    name = "layernorm"
    fresh_output = True
    channels_last = True
    Args = LayerNormArgs
    doc = ("layer normalisation of the channels at every position: layernorm(eps=1e-5, "
           "affine=true), on CxHxW, a flat vector or a channels-last map")

    def check(self, args: LayerNormArgs, inputs: list[Shape]) -> None:
        shape = inputs[0]
        if not isinstance(shape, ChannelsLast) and len(shape) == 2:
            raise LayerError(Code.RANK_MISMATCH, f"layernorm expects an image (CxHxW), a flat "
                             f"vector (F) or a channels-last map but got {fmt_shape(shape)}",
                             "`permute(0, 2, 1)` first normalises the channels of a sequence")

    def params(self, args: LayerNormArgs, inputs: list[Shape]) -> int:
        return 2 * channels(inputs[0]) if args.affine else 0

    def window(self, args: LayerNormArgs, inputs: list[Shape], out: Shape) -> tuple[Window, ...]:
        return same_position(spatial_rank(out))  # statistics over the channels of one position

    def saved(self, args: LayerNormArgs, inputs: list[Shape], out: Shape) -> list[Saved]:
        # the input (LayerNorm2d: its permuted view, the same memory), and the mean and inverse
        # std at every position
        return [Saved(0, prod(inputs[0])), Saved(None, 2 * _positions(inputs[0]))]

    def explain(self, args: LayerNormArgs, inputs: list[Shape], out: Shape) -> list[derive.Line]:
        c, where = channels(inputs[0]), _positions(inputs[0])
        over = f"the C = {c} features" if len(inputs[0]) == 1 else \
            f"the C = {c} channels at each of the {derive.n(where)} positions"
        return _norm_lines(over, args.affine, c)

    def torch(self, args: LayerNormArgs, inputs: list[Shape]) -> TorchCall:
        shape = inputs[0]
        over_axis_1 = len(shape) == 3 and not isinstance(shape, ChannelsLast)
        kwargs = {"eps": args.eps, "elementwise_affine": args.affine}
        defaults = {"eps": 1e-5, "elementwise_affine": True}
        if over_axis_1:
            return TorchCall("LayerNorm2d", (shape[0],), kwargs, defaults=defaults,
                             support=("LayerNorm2d",))
        return TorchCall("nn.LayerNorm", (channels(shape),), kwargs, defaults=defaults)


class GroupNormArgs(Args):
    groups: int = Field(gt=0)
    eps: float = Field(default=1e-5, gt=0.0)
    affine: bool = True


class GroupNorm(LayerKind):
    name = "groupnorm"
    fresh_output = True
    Args = GroupNormArgs
    positional = ("groups",)
    doc = "group normalisation: groupnorm(groups, eps=1e-5, affine=true); groups divides C"

    def check(self, args: GroupNormArgs, inputs: list[Shape]) -> None:
        require_rank(inputs, (2, 3), self.name)
        require_divides(args.groups, inputs[0][0])

    def window(self, args: GroupNormArgs, inputs: list[Shape], out: Shape) -> None:
        return None  # mean and variance over every position of the sample, also in eval

    def saved(self, args: GroupNormArgs, inputs: list[Shape], out: Shape) -> list[Saved]:
        return [Saved(0, prod(inputs[0])), Saved(None, 2 * args.groups)]  # + mean, rstd

    def explain(self, args: GroupNormArgs, inputs: list[Shape], out: Shape) -> list[derive.Line]:
        c = inputs[0][0]
        return _norm_lines(f"each group of C/groups = {c}/{args.groups} = {c // args.groups} "
                           "channels and all positions", args.affine, c)

    def params(self, args: GroupNormArgs, inputs: list[Shape]) -> int:
        return 2 * inputs[0][0] if args.affine else 0

    def torch(self, args: GroupNormArgs, inputs: list[Shape]) -> TorchCall:
        return TorchCall("nn.GroupNorm", (args.groups, inputs[0][0]),
                         {"eps": args.eps, "affine": args.affine},
                         defaults={"eps": 1e-5, "affine": True})


class InstanceNormArgs(Args):
    eps: float = Field(default=1e-5, gt=0.0)
    affine: bool = False


class InstanceNorm(LayerKind):
    name = "instancenorm"
    fresh_output = True
    Args = InstanceNormArgs
    doc = "instance normalisation of each channel: instancenorm(eps=1e-5, affine=false)"

    def check(self, args: InstanceNormArgs, inputs: list[Shape]) -> None:
        require_rank(inputs, (2, 3), self.name)
        if prod(inputs[0][1:]) < 2:  # PyTorch refuses to train on one value per channel
            raise LayerError(Code.KERNEL_TOO_LARGE,
                             f"instancenorm over {fmt_shape(inputs[0])}: one value per channel "
                             "has no statistics (PyTorch refuses it in training)",
                             "normalise before global pooling, or use batch norm")

    def window(self, args: InstanceNormArgs, inputs: list[Shape], out: Shape) -> None:
        return None  # per-sample statistics over every position (no running stats)

    def saved(self, args: InstanceNormArgs, inputs: list[Shape], out: Shape) -> list[Saved]:
        # batch norm over a (1, N*C, ...) view: the input, mean and inverse std per channel of
        # each sample, and the affine weight repeated per sample
        c = inputs[0][0]
        return [Saved(0, prod(inputs[0])), Saved(None, (3 if args.affine else 2) * c)]

    def explain(self, args: InstanceNormArgs, inputs: list[Shape],
                out: Shape) -> list[derive.Line]:
        return _norm_lines("all positions of each channel", args.affine, inputs[0][0])

    def params(self, args: InstanceNormArgs, inputs: list[Shape]) -> int:
        return 2 * inputs[0][0] if args.affine else 0

    def torch(self, args: InstanceNormArgs, inputs: list[Shape]) -> TorchCall:
        module = "nn.InstanceNorm2d" if len(inputs[0]) == 3 else "nn.InstanceNorm1d"
        return TorchCall(module, (inputs[0][0],), {"eps": args.eps, "affine": args.affine},
                         defaults={"eps": 1e-5, "affine": False})


class LrnArgs(Args):
    size: int = Field(default=5, gt=0)
    alpha: float = 1e-4
    beta: float = 0.75
    k: float = 1.0


class LocalResponseNorm(LayerKind):
    name = "lrn"
    Args = LrnArgs
    positional = ("size",)
    elementwise = True
    doc = "local response normalisation across channels (AlexNet 2012): lrn(size=5, ...)"

    def window(self, args: LrnArgs, inputs: list[Shape], out: Shape) -> tuple[Window, ...]:
        return same_position(spatial_rank(out))  # neighbouring channels, same position

    def saved(self, args: LrnArgs, inputs: list[Shape], out: Shape) -> list[Saved]:
        # written with elementary ops: the input, the squares padded to C + size - 1 channels,
        # and two CxHxW intermediates (the divisor and its power)
        c, *rest = inputs[0]
        return [Saved(0, prod(inputs[0])), Saved(None, (c + args.size - 1) * prod(rest)),
                Saved(None, 2 * prod(inputs[0]))]

    def explain(self, args: LrnArgs, inputs: list[Shape], out: Shape) -> list[derive.Line]:
        return derive.elementwise(f"x / (k + \u03b1/n\u00b7sum of x\u00b2 over {args.size} "
                                  "neighbouring channels)^\u03b2")

    def torch(self, args: LrnArgs, inputs: list[Shape]) -> TorchCall:
        return TorchCall("nn.LocalResponseNorm", (args.size,),
                         {"alpha": args.alpha, "beta": args.beta, "k": args.k},
                         defaults={"alpha": 1e-4, "beta": 0.75, "k": 1.0})


def _norm_lines(over: str, affine: bool, c: int) -> list[derive.Line]:
    params = (f"2\u00b7C = 2\u00b7{c} = {2 * c} (\u03b3 and \u03b2 per channel)" if affine
              else "0 (affine=false)")
    return [("computes", f"(x \u2212 mean)/sqrt(var + eps), statistics over {over}"),
            ("output", "same shape as the input"), ("params", params), *derive.no_macs()]


def _positions(shape: Shape) -> int:
    """Positions a per-position normalisation takes statistics at: H*W in either layout."""
    return prod(spatial_sizes(shape))
