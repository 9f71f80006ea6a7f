"""Layers that move values around: identity, zero padding, pixel and channel shuffle, permute,
channel chunks."""

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
    fmt_shape,
    require_divides,
    require_rank,
)


class Identity(LayerKind):
    name = "identity"
    elementwise = True
    channels_last = True
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


class PermuteArgs(Args):
    d0: int
    d1: int
    d2: int | None = None
    d3: int | None = None

    def dims(self) -> tuple[int, ...]:
        return tuple(d for d in (self.d0, self.d1, self.d2, self.d3) if d is not None)


class Permute(LayerKind):
    """torch.permute of the batched tensor. Axis 0 (the batch) stays first and the channels end
    up first or last: `permute(0, 2, 3, 1)` makes a CxHxW map channels-last (HxWxC), so that
    `layernorm` and `linear` act on its channels at every position; `permute(0, 3, 1, 2)` turns
    it back. A module of its own, as torchvision writes it (ConvNeXt's CNBlock)."""

    name = "permute"
    channels_last = True
    Args = PermuteArgs
    positional = ("d0", "d1", "d2", "d3")
    doc = ("the batched tensor's axes in a new order, as torch.permute: permute(0, 2, 3, 1) "
           "makes CxHxW channels-last (HxWxC), permute(0, 3, 1, 2) turns it back")

    def check_args(self, args: PermuteArgs) -> None:
        if args.dims()[0] != 0:
            raise LayerError(Code.BAD_ARGUMENT, "permute must keep the batch axis 0 first",
                             "shapes are per sample; move only the axes after the batch")

    def check(self, args: PermuteArgs, inputs: list[Shape]) -> None:
        dims, rank = args.dims(), len(inputs[0]) + 1
        if sorted(dims) != list(range(rank)):
            raise LayerError(Code.BAD_ARGUMENT, f"permute{dims} is not an order of the {rank} "
                             f"axes of the batched {fmt_shape(inputs[0])} tensor",
                             f"name each of 0..{rank - 1} once, the batch axis 0 first")
        if _channel_axis(args, inputs[0]) not in (1, rank - 1):
            raise LayerError(Code.BAD_ARGUMENT, "permute must leave the channels first or last",
                             "e.g. permute(0, 2, 3, 1) for channels last")

    def out_shape(self, args: PermuteArgs, inputs: list[Shape]) -> Shape:
        shape, dims = inputs[0], args.dims()
        out = tuple(shape[d - 1] for d in dims[1:])
        last = len(out) > 1 and _channel_axis(args, shape) == len(dims) - 1
        return ChannelsLast(out) if last else out

    def torch(self, args: PermuteArgs, inputs: list[Shape]) -> TorchCall:
        return TorchCall("Permute", (args.dims(),), support=("Permute",))


def _channel_axis(args: PermuteArgs, shape: Shape) -> int:
    """Where the channels end up in the batched tensor."""
    before = len(shape) if isinstance(shape, ChannelsLast) else 1
    return args.dims().index(before)


class ChunkArgs(Args):
    parts: int = Field(gt=0)
    i: int = Field(ge=0)


class Chunk(LayerKind):
    """One of `parts` equal slices of the channels, as `x.chunk(parts, dim=1)[i]` (ShuffleNetV2
    splits its input in two: `chunk(2, 0)` in one concat branch, `chunk(2, 1)` in the other).
    A view: no module, no parameters, no MACs."""

    name = "chunk"
    in_forward = True
    Args = ChunkArgs
    positional = ("parts", "i")
    doc = "channel split: chunk(parts, i) is piece i (from 0) of the channels cut into equal parts"

    def check_args(self, args: ChunkArgs) -> None:
        if args.i >= args.parts:
            raise LayerError(Code.BAD_ARGUMENT, f"chunk({args.parts}, {args.i}): there is no "
                             f"piece {args.i} of {args.parts}", "pieces count from 0")

    def check(self, args: ChunkArgs, inputs: list[Shape]) -> None:
        if inputs[0][0] % args.parts:
            raise LayerError(Code.CHANNEL_MISMATCH, f"{inputs[0][0]} channels do not split into "
                             f"{args.parts} equal parts", "pick a divisor of the channel count")

    def out_shape(self, args: ChunkArgs, inputs: list[Shape]) -> Shape:
        return (inputs[0][0] // args.parts, *inputs[0][1:])

    def torch(self, args: ChunkArgs, inputs: list[Shape]) -> TorchCall:
        return TorchCall(args=(args.parts, args.i), expr="{0}.chunk({args[0]}, dim=1)[{args[1]}]")
