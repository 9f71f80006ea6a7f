"""Activations: elementwise, parameter-free, zero MACs by the counting convention."""

from __future__ import annotations

from archc.errors import Code
from archc.layers import derive
from archc.layers.base import (
    Args,
    Field,
    LayerError,
    LayerKind,
    Saved,
    Shape,
    TorchCall,
    Window,
    fmt_shape,
    prod,
    same_position,
    spatial_rank,
)


class Activation(LayerKind):
    elementwise = True
    channels_last = True  # the same function at every element, whatever the layout
    module: str = ""
    keeps: str | int = 0  # what the backward reads: the input (0) or the result ("out")

    def window(self, args: Args, inputs: list[Shape], out: Shape) -> tuple[Window, ...]:
        return same_position(spatial_rank(out))

    def explain(self, args: Args, inputs: list[Shape], out: Shape) -> list[derive.Line]:
        return derive.elementwise(f"{self.doc}, on each value")

    def saved(self, args: Args, inputs: list[Shape], out: Shape) -> list[Saved]:
        return [Saved(self.keeps, prod(out))]

    def torch(self, args: Args, inputs: list[Shape]) -> TorchCall:
        return TorchCall(self.module)


def _simple(kind: str, module: str, text: str) -> type[Activation]:
    return type(kind.title().replace("_", ""), (Activation,),
                {"name": kind, "module": module, "doc": text})


ReLU = _simple("relu", "nn.ReLU", "max(0, x)")
ReLU6 = _simple("relu6", "nn.ReLU6", "min(max(0, x), 6)")
ReLU.inplace_arg = ReLU6.inplace_arg = True  # relu_/hardtanh_ keep their result for backward
# backward from the result: relu (threshold), sigmoid, tanh, softmax; the rest keep the input
ReLU.keeps = "out"
Sigmoid = _simple("sigmoid", "nn.Sigmoid", "1 / (1 + exp(-x))")
Sigmoid.loss_activation = True  # BCEWithLogitsLoss applies it
Sigmoid.keeps = "out"
Tanh = _simple("tanh", "nn.Tanh", "hyperbolic tangent")
Tanh.keeps = "out"
SiLU = _simple("silu", "nn.SiLU", "x * sigmoid(x), also called swish")
Swish = _simple("swish", "nn.SiLU", "alias of silu")
Hardswish = _simple("hardswish", "nn.Hardswish", "x * relu6(x + 3) / 6 (MobileNetV3)")
GELU = _simple("gelu", "nn.GELU", "Gaussian error linear unit")
Hardsigmoid = _simple("hardsigmoid", "nn.Hardsigmoid", "relu6(x + 3) / 6 (MobileNetV3 gates)")
Mish = _simple("mish", "nn.Mish", "x * tanh(softplus(x))")


class EluArgs(Args):
    alpha: float = 1.0


class ELU(Activation):
    name = "elu"
    Args = EluArgs
    positional = ("alpha",)
    doc = "exponential linear unit: elu(alpha=1.0)"

    def torch(self, args: EluArgs, inputs: list[Shape]) -> TorchCall:
        return TorchCall("nn.ELU", (), {"alpha": args.alpha}, defaults={"alpha": 1.0})


class PreluArgs(Args):
    shared: bool = True  # one slope for all channels, as nn.PReLU() does by default


class PReLU(Activation):
    """The one activation with parameters: a learned slope (one, or one per channel)."""

    name = "prelu"
    Args = PreluArgs
    elementwise = False  # it has parameters
    channels_last = False  # one slope per channel of axis 1
    doc = "leaky ReLU with a learned slope: prelu(shared=true); shared=false: one per channel"

    def explain(self, args: PreluArgs, inputs: list[Shape], out: Shape) -> list[derive.Line]:
        slopes = "1 shared slope" if args.shared else f"one slope per channel = {inputs[0][0]}"
        return [("computes", "max(0, x) + a\u00b7min(0, x) with a learned slope a"),
                ("output", "same shape as the input"), ("params", slopes), *derive.no_macs()]

    def params(self, args: PreluArgs, inputs: list[Shape]) -> int:
        return 1 if args.shared else inputs[0][0]

    def torch(self, args: PreluArgs, inputs: list[Shape]) -> TorchCall:
        return TorchCall("nn.PReLU", (), {"num_parameters": 1 if args.shared else inputs[0][0]},
                         defaults={"num_parameters": 1})


class LeakyArgs(Args):
    slope: float = Field(default=0.01, ge=0.0)


class LeakyReLU(Activation):
    name = "leaky_relu"
    Args = LeakyArgs
    positional = ("slope",)
    doc = "leaky_relu(slope=0.01)"

    def torch(self, args: LeakyArgs, inputs: list[Shape]) -> TorchCall:
        return TorchCall("nn.LeakyReLU", (), {"negative_slope": args.slope},
                         defaults={"negative_slope": 0.01})


class SoftmaxArgs(Args):
    dim: int = 1


class Softmax(Activation):
    name = "softmax"
    Args = SoftmaxArgs
    loss_activation = True  # CrossEntropyLoss applies (log-)softmax itself
    keeps = "out"
    channels_last = False  # over axis 1
    doc = "softmax over the channel/feature axis (dim=1 of the batched tensor)"

    def window(self, args: SoftmaxArgs, inputs: list[Shape], out: Shape):
        axis = args.dim % (len(out) + 1)  # of the batched tensor
        return None if axis >= 2 else same_position(spatial_rank(out))
    def check(self, args: SoftmaxArgs, inputs: list[Shape]) -> None:
        # nn.Softmax indexes the batched tensor (rank + 1 axes, negative from the end); the
        # meta device used by verification would not notice an axis that does not exist.
        axes = len(inputs[0]) + 1
        if not -axes <= args.dim < axes:
            raise LayerError(Code.BAD_ARGUMENT,
                             f"dim={args.dim} is not an axis of the batched "
                             f"{axes}-D tensor (N x {fmt_shape(inputs[0])})",
                             f"use a dim from {-axes} to {axes - 1}; 1 is the channels")

    def torch(self, args: SoftmaxArgs, inputs: list[Shape]) -> TorchCall:
        return TorchCall("nn.Softmax", (), {"dim": args.dim})
