"""Layers that live in residual branches: a learned per-channel scale, stochastic depth."""

from __future__ import annotations

from typing import Literal

from archc.layers.base import (
    Args,
    ChannelsLast,
    Field,
    LayerKind,
    Shape,
    TorchCall,
    channels,
    require_rank,
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

    def torch(self, args: StochasticDepthArgs, inputs: list[Shape]) -> TorchCall:
        return TorchCall("StochasticDepth", (args.p, args.mode), support=("StochasticDepth",))
