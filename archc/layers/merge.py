"""Merges of several tensors: add and mul (broadcasting Cx1x1) and channel concat."""

from __future__ import annotations

from archc.errors import Code
from archc.layers.base import LayerError, LayerKind, Shape, TorchCall, fmt_shape


def broadcast(shapes: list[Shape]) -> Shape:
    """PyTorch's broadcasting of the batched tensors (N, *shape). Right-aligned, a shape of
    lower rank would meet the other's per-sample axes with its batch axis ((N, C) against
    (N, C, H, W) aligns C with W and N with H), so the ranks must be equal; then each axis
    must match or be 1."""
    if len({len(s) for s in shapes}) > 1:
        batched = " and ".join("(N, " + ", ".join(str(d) for d in s) + ")" for s in shapes)
        raise LayerError(Code.BROADCAST_MISMATCH,
                         "shapes " + ", ".join(fmt_shape(s) for s in shapes)
                         + f" do not broadcast: PyTorch aligns the batched {batched} from the "
                         "right, so a batch axis meets a per-sample axis",
                         "give them the same rank: `global_avgpool` keeps Cx1x1 (no "
                         "`flatten`), which broadcasts over CxHxW")
    out = []
    for dims in zip(*shapes):
        sizes = {d for d in dims if d != 1}
        if len(sizes) > 1:
            raise LayerError(Code.BROADCAST_MISMATCH,
                             "shapes " + ", ".join(fmt_shape(s) for s in shapes)
                             + " do not broadcast",
                             "each axis must match or be 1 (e.g. Cx1x1 scales a CxHxW map)")
        out.append(sizes.pop() if sizes else 1)
    return tuple(out)


def broadcast_result(shapes: list[Shape]) -> Shape:
    """The broadcast shape of shapes that `broadcast` accepted (equal ranks): per axis, the
    first size that is not 1. No comparison beyond `!= 1`, so codegen can run it on symbolic
    channels."""
    return tuple(next((d for d in dims if d != 1), 1) for dims in zip(*shapes))


class Add(LayerKind):
    name = "add"
    fresh_output = True
    takes_tensors = True
    symbol = "+"
    doc = "add(x, ...): elementwise sum of the current tensor and saved ones (broadcasting)"

    def check(self, args, inputs: list[Shape]) -> None:
        broadcast(inputs)

    def out_shape(self, args, inputs: list[Shape]) -> Shape:
        return broadcast_result(inputs)

    def torch(self, args, inputs: list[Shape]) -> TorchCall:
        return TorchCall(expr=f" {self.symbol} ".join(f"{{{i}}}" for i in range(len(inputs))))


class Mul(Add):
    name = "mul"
    symbol = "*"
    doc = "mul(x, ...): elementwise product with broadcasting (squeeze-and-excitation gates)"


class Concat(LayerKind):
    name = "concat"
    fresh_output = True
    takes_tensors = True
    doc = "concat(x, ...): the current tensor and saved ones joined along channels"

    def check(self, args, inputs: list[Shape]) -> None:
        first = inputs[0]
        for shape in inputs[1:]:
            if len(shape) != len(first) or tuple(shape[1:]) != tuple(first[1:]):
                raise LayerError(Code.CONCAT_MISMATCH,
                                 "cannot concatenate " + ", ".join(fmt_shape(s) for s in inputs)
                                 + ": all but the channel axis must agree",
                                 "pool, pad or resize the branches to the same spatial size")

    def out_shape(self, args, inputs: list[Shape]) -> Shape:
        return (sum(s[0] for s in inputs), *inputs[0][1:])

    def torch(self, args, inputs: list[Shape]) -> TorchCall:
        return TorchCall(expr="torch.cat([{inputs}], dim=1)")


class ResidualAdd(Add):
    """The sum closing a `residual { } shortcut { }` block: shapes must match exactly."""

    name = "residual_add"
    internal = True
    doc = "the sum at the end of a residual block (written by `residual`, not called directly)"

    def check(self, args, inputs: list[Shape]) -> None:
        body, skip = inputs
        if tuple(body) != tuple(skip):
            raise LayerError(Code.RESIDUAL_MISMATCH,
                             f"the residual body ends at {fmt_shape(body)} but its shortcut "
                             f"carries {fmt_shape(skip)}",
                             "add or fix a `shortcut { conv(C, k=1, s=S) bn }` so both match")

    def out_shape(self, args, inputs: list[Shape]) -> Shape:
        return inputs[0]  # `check` proved both sides equal
