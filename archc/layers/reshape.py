"""Layers that move values around: identity, zero padding, pixel shuffle, channel shuffle."""

from __future__ import annotations

from archc.errors import Code
from archc.layers.base import (
    Args,
    Field,
    LayerError,
    LayerKind,
    Shape,
    TorchCall,
    require_divides,
    require_rank,
)


class Identity(LayerKind):
    name = "identity"
    elementwise = True
    doc = "passes its input through (a placeholder, e.g. an empty stage)"

    def torch(self, args: Args, inputs: list[Shape]) -> TorchCall:
        return TorchCall("nn.Identity")


class ZeroPadArgs(Args):
    p: int | tuple[int, int, int, int] = 1  # all sides, or (left, right, top, bottom)


class ZeroPad(LayerKind):
    name = "zeropad"
    Args = ZeroPadArgs
    positional = ("p",)
    doc = "zero padding of an image: zeropad(p) or zeropad((left, right, top, bottom))"

    def _sides(self, args: ZeroPadArgs) -> tuple:
        return args.p if isinstance(args.p, tuple) else (args.p,) * 4

    def check_args(self, args: ZeroPadArgs) -> None:
        if any(side < 0 for side in self._sides(args)):
            raise LayerError(Code.BAD_ARGUMENT, "zeropad takes non-negative padding")

    def check(self, args: ZeroPadArgs, inputs: list[Shape]) -> None:
        require_rank(inputs, (3,), self.name)

    def out_shape(self, args: ZeroPadArgs, inputs: list[Shape]) -> Shape:
        left, right, top, bottom = self._sides(args)
        c, h, w = inputs[0]
        return (c, h + top + bottom, w + left + right)

    def torch(self, args: ZeroPadArgs, inputs: list[Shape]) -> TorchCall:
        return TorchCall("nn.ZeroPad2d", (args.p,))


class ShuffleArgs(Args):
    r: int = Field(gt=0)


class PixelShuffle(LayerKind):
    name = "pixel_shuffle"
    Args = ShuffleArgs
    positional = ("r",)
    doc = "sub-pixel upscaling: pixel_shuffle(r) turns (C*r*r)xHxW into Cx(H*r)x(W*r)"

    def check(self, args: ShuffleArgs, inputs: list[Shape]) -> None:
        require_rank(inputs, (3,), self.name)
        if inputs[0][0] % (args.r * args.r):
            raise LayerError(Code.CHANNEL_MISMATCH, f"pixel_shuffle({args.r}) needs channels "
                             f"divisible by {args.r * args.r}, got {inputs[0][0]}")

    def out_shape(self, args: ShuffleArgs, inputs: list[Shape]) -> Shape:
        c, h, w = inputs[0]
        return (c // (args.r * args.r), h * args.r, w * args.r)

    def torch(self, args: ShuffleArgs, inputs: list[Shape]) -> TorchCall:
        return TorchCall("nn.PixelShuffle", (args.r,))


class ChannelShuffleArgs(Args):
    groups: int = Field(gt=0)


class ChannelShuffle(LayerKind):
    name = "channel_shuffle"
    Args = ChannelShuffleArgs
    positional = ("groups",)
    doc = "ShuffleNet's channel shuffle: channel_shuffle(groups); groups divides C"

    def check(self, args: ChannelShuffleArgs, inputs: list[Shape]) -> None:
        require_rank(inputs, (3,), self.name)
        require_divides(args.groups, inputs[0][0])

    def torch(self, args: ChannelShuffleArgs, inputs: list[Shape]) -> TorchCall:
        return TorchCall("nn.ChannelShuffle", (args.groups,))
