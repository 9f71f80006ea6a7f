"""Normalisation beyond batch norm: group, instance and local response normalisation."""

from __future__ import annotations

from archc.errors import Code
from archc.layers.base import (
    Args,
    Field,
    LayerError,
    LayerKind,
    Shape,
    TorchCall,
    fmt_shape,
    prod,
    require_divides,
    require_rank,
)


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

    def torch(self, args: LrnArgs, inputs: list[Shape]) -> TorchCall:
        return TorchCall("nn.LocalResponseNorm", (args.size,),
                         {"alpha": args.alpha, "beta": args.beta, "k": args.k},
                         defaults={"alpha": 1e-4, "beta": 0.75, "k": 1.0})
