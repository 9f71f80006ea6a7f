"""Layers that live in residual branches: a learned per-channel scale, stochastic depth."""

from __future__ import annotations

from typing import Literal

from archc.layers import derive
from archc.layers.base import (
    Args,
    ChannelsLast,
    Field,
    LayerKind,
    Saved,
    Shape,
    TorchCall,
    Window,
    channels,
    prod,
    require_rank,
    same_position,
    spatial_rank,
)


class LayerScaleArgs(Args):
    init: float = 1e-6


class LayerScale(LayerKind):
    """Multiplies each channel by a learned factor (ConvNeXt, CaiT): C parameters, 0 MACs by
    the counting convention (like bias adds). Emitted as a raw nn.Parameter on the enclosing
    module under the layer's label, as torchvision writes it (`self.layer_scale`, shaped Cx1x1
    for a CxHxW map), so it must sit directly in a block or network, not in a container."""

    name = "layer_scale"
    parameter = True
    channels_last = True
    Args = LayerScaleArgs
    positional = ("init",)
    doc = ("learned per-channel scale: layer_scale(init=1e-6); C parameters, an nn.Parameter of "
           "the enclosing module")

    def check(self, args: LayerScaleArgs, inputs: list[Shape]) -> None:
        if not isinstance(inputs[0], ChannelsLast):
            require_rank(inputs, (1, 2, 3), self.name)

    def params(self, args: LayerScaleArgs, inputs: list[Shape]) -> int:
        return channels(inputs[0])

    def window(self, args: LayerScaleArgs, inputs: list[Shape], out: Shape) -> tuple[Window, ...]:
        return same_position(spatial_rank(out))

    def saved(self, args: LayerScaleArgs, inputs: list[Shape], out: Shape) -> list[Saved]:
        return [Saved(0, prod(inputs[0]))]  # the input, for the scale's gradient

    def explain(self, args: LayerScaleArgs, inputs: list[Shape], out: Shape) -> list[derive.Line]:
        c = channels(inputs[0])
        return [("computes", f"\u03b3\u00b7x, one learned factor per channel (initially "
                 f"{args.init})"), ("output", "same shape as the input"),
                ("params", f"C = {derive.n(c)}"), *derive.no_macs()]

    def torch(self, args: LayerScaleArgs, inputs: list[Shape]) -> TorchCall:
        shape = inputs[0]
        if isinstance(shape, ChannelsLast):
            size: tuple = (shape[-1],)  # broadcasts along the last axis
        else:
            size = (shape[0], *(1 for _ in shape[1:]))
        return TorchCall("torch.full", (size, args.init), expr="{param} * {0}")


class StochasticDepthArgs(Args):
    p: float = Field(ge=0.0, le=1.0)
    mode: Literal["row", "batch"] = "row"


class StochasticDepth(LayerKind):
    name = "stochastic_depth"
    elementwise = True
    channels_last = True
    Args = StochasticDepthArgs
    positional = ("p", "mode")
    doc = ("stochastic_depth(p, mode=row|batch): in training drops the branch per sample (row) "
           "or for the whole batch with probability p; the identity in eval")

    def window(self, args: StochasticDepthArgs, inputs: list[Shape],
               out: Shape) -> tuple[Window, ...]:
        return same_position(spatial_rank(out))

    def saved(self, args: StochasticDepthArgs, inputs: list[Shape], out: Shape) -> list[Saved]:
        # x * noise keeps the noise: one value per sample (row) or one in all (batch); p=0
        # returns the input untouched
        if args.p == 0:
            return []
        return [Saved(None, 1, per_sample=args.mode == "row")]

    def explain(self, args: StochasticDepthArgs, inputs: list[Shape],
                out: Shape) -> list[derive.Line]:
        unit = "each sample's branch" if args.mode == "row" else "the branch for the whole batch"
        return derive.elementwise(f"in training, drop {unit} with probability {args.p} and "
                                  "scale what survives by 1/(1\u2212p); identity in eval")

    def torch(self, args: StochasticDepthArgs, inputs: list[Shape]) -> TorchCall:
        return TorchCall("StochasticDepth", (args.p, args.mode), support=("StochasticDepth",))
