"""The contract every layer kind fulfils, and the counting conventions.

Conventions (stated once, here and in the README):
- Shapes are per sample: (C, H, W) images, (C, L) sequences, (F,) flat vectors.
- A MAC is one multiply-accumulate, per sample. Only conv and linear layers count
  MACs (bias adds, normalisation, activations and pooling cost 0), which equals
  torch.utils.flop_counter.FlopCounterMode's total / 2. FLOPs = 2 * MACs.
- Parameters are learnable parameters (BN running statistics are buffers, not counted).

Shape and count functions are plain arithmetic so that codegen can evaluate them over
symbolic values (`archc.codegen.symbolic.Sym`); every comparison lives in `check`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError  # noqa: F401 (re-exported)

from archc.errors import Code

Shape = tuple[Any, ...]  # ints during analysis, possibly `Sym`s during code generation


class ChannelsLast(tuple):
    """A per-sample shape whose channel axis is last, (H, W, C): what `permute(0, 2, 3, 1)`
    makes of a CxHxW map. The values are PyTorch's (the batched tensor is NHWC), the type says
    which axis holds the channels, so kinds acting on the last axis (linear, layernorm) know
    they act at every position and every other kind can refuse the tensor."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"ChannelsLast({tuple(self)!r})"


def channels(shape: Shape) -> Any:
    """The channel (feature) count of a shape in either layout."""
    return shape[-1] if isinstance(shape, ChannelsLast) else shape[0]


def positions(shape: Shape) -> Any:
    """How many positions a per-channel operation is applied at: H*W (channels last), 1 (flat)."""
    return prod(shape[:-1]) if isinstance(shape, ChannelsLast) else 1


class Args(BaseModel):
    """Base of every kind's argument model (pydantic): strict types, no extra names, no inf or
    nan. `defer_build` compiles a model's validator on its first use, so start-up pays only for
    the kinds a spec uses; validated arguments are frozen, hence hashable and cacheable."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, allow_inf_nan=False,
                              arbitrary_types_allowed=True, defer_build=True)


def argument_problems(exc: ValidationError) -> dict[str, tuple[str, str]]:
    """A failed validation in archc's words, one entry per argument: name -> (pydantic's error
    type, what the argument must be). pydantic reports a union once per member; those are
    merged ("an integer, a tuple like (3, 3) or `same` or `valid`")."""
    wanted: dict[str, list[str]] = {}
    types: dict[str, str] = {}
    for err in exc.errors():
        key = str(err["loc"][0]) if err["loc"] else ""
        types.setdefault(key, err["type"])
        text = _requirement(err)
        if text not in wanted.setdefault(key, []):
            wanted[key].append(text)
    return {key: (types[key], _either(texts)) for key, texts in wanted.items()}


_TYPES = {"int_type": "an integer", "int_from_float": "an integer", "float_type": "a number",
          "bool_type": "`true` or `false`", "tuple_type": "a tuple like (3, 3)",
          "string_type": "a name", "finite_number": "a finite number",
          "missing": "given", "extra_forbidden": "left out"}
_BOUNDS = {"greater_than": ("greater than", "gt"), "greater_than_equal": ("at least", "ge"),
           "less_than": ("less than", "lt"), "less_than_equal": ("at most", "le")}


def _requirement(err: dict) -> str:
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind in _BOUNDS:
        words, key = _BOUNDS[kind]
        bound = ctx.get(key)
        if isinstance(bound, float) and bound.is_integer():
            bound = int(bound)
        return f"{words} {bound}"
    if kind == "literal_error":
        return str(ctx.get("expected", "")).replace("'", "`")
    return _TYPES.get(kind, "valid")


def _either(texts: list[str]) -> str:
    return texts[0] if len(texts) == 1 else ", ".join(texts[:-1]) + " or " + texts[-1]


class NoArgs(Args):
    pass


class LayerError(Exception):
    """Raised by `LayerKind.check`; the analyzer attaches the layer's span."""

    def __init__(self, code: Code, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.hint = code, message, hint


@dataclass(frozen=True)
class TorchCall:
    """How a layer is written in PyTorch: a module constructor, or an expression on inputs.

    `expr` uses `{0}`, `{1}`, ... for the input tensors, `{inputs}` for all of them, `{args[i]}`
    for the written `args`, `{param}` for a `parameter` kind's own nn.Parameter (whose value
    `module(args)` constructs).
    `kwargs` holds every keyword; those equal to `defaults` are left out when written.
    """

    module: str | None = None
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    expr: str | None = None  # also: how forward applies a `parameter` kind, `{param}` = it
    defaults: dict[str, Any] = field(default_factory=dict)
    support: tuple[str, ...] = ()  # classes of archc.layers.support the call needs

    def written_kwargs(self) -> dict[str, Any]:
        return {k: v for k, v in self.kwargs.items()
                if k not in self.defaults or not _same(v, self.defaults[k])}


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


class LayerKind:
    """One kind of layer. Subclasses set `name`, `Args`, `positional` and override the rules."""

    name: ClassVar[str]
    Args: ClassVar[type[Args]] = NoArgs
    positional: ClassVar[tuple[str, ...]] = ()  # argument names accepted positionally, in order
    takes_tensors: ClassVar[bool] = False  # merges: positional arguments name saved tensors
    elementwise: ClassVar[bool] = False  # shape-preserving, parameter-free, cost-free
    internal: ClassVar[bool] = False  # written by the language (e.g. residual), not callable
    # Code generation: the PyTorch module takes `inplace=True` and autograd allows it ...
    inplace_arg: ClassVar[bool] = False
    # ... on the output of a layer that makes a new tensor autograd does not keep for backward
    fresh_output: ClassVar[bool] = False
    loss_activation: ClassVar[bool] = False  # an output activation losses usually apply (lint)
    channels_last: ClassVar[bool] = False  # accepts a channels-last tensor (see ChannelsLast)
    in_forward: ClassVar[bool] = False  # an expression in forward, not a submodule (no slot)
    parameter: ClassVar[bool] = False  # a raw nn.Parameter on the enclosing module
    doc: ClassVar[str] = ""

    @property
    def module_slot(self) -> bool:
        """Whether emitted code holds the layer as a submodule, taking the next number in a
        numbered container; merges, views (`chunk`) and parameters are written in forward."""
        return not (self.takes_tensors or self.internal or self.in_forward or self.parameter)

    def check_args(self, args: Args) -> None:
        """Raise `LayerError` for arguments that are wrong whatever the input (k=0). Run before
        `check`, and also after an upstream error, when the input shape is unknown."""

    def check(self, args: Args, inputs: list[Shape]) -> None:
        """Raise `LayerError` when the inputs do not fit. Only here and in `check_args` may a
        rule compare values."""

    def out_shape(self, args: Args, inputs: list[Shape]) -> Shape:
        return inputs[0]

    def params(self, args: Args, inputs: list[Shape]) -> int:
        return 0

    def macs(self, args: Args, inputs: list[Shape], out: Shape) -> int:
        return 0

    def warnings(self, args: Args, inputs: list[Shape]) -> list[tuple[Code, str, str]]:
        """Non-fatal findings: (code, message, hint)."""
        return []

    def kernel(self, args: Args) -> tuple[int, ...] | None:
        """Spatial kernel of a convolution, for the 1x1-bottleneck report; None otherwise."""
        return None

    def torch(self, args: Args, inputs: list[Shape]) -> TorchCall:
        raise NotImplementedError(self.name)

    def torch_init(self, args: Args) -> list[str]:
        """Statements initialising the weights, `{m}` standing for the module; [] = defaults."""
        return []


def prod(values) -> Any:
    result = 1
    for value in values:
        result = result * value
    return result


def per_axis(value: Any, rank: int) -> tuple[Any, ...]:
    """An int applies to every spatial axis; a tuple gives one value per axis."""
    return tuple(value) if isinstance(value, tuple) else (value,) * rank


def require_rank(inputs: list[Shape], ranks: tuple[int, ...], what: str) -> None:
    rank = len(inputs[0])
    if rank not in ranks:
        names = {1: "a flat vector (F)", 2: "a sequence (CxL)", 3: "an image (CxHxW)"}
        wanted = " or ".join(names[r] for r in ranks)
        hint = "add `flatten` before it" if 1 in ranks else "this layer works on feature maps"
        raise LayerError(Code.RANK_MISMATCH,
                         f"{what} expects {wanted} but got {fmt_shape(inputs[0])}", hint)


def require_divides(groups: int, channels: int, what: str = "") -> None:
    """`groups` (of a grouped conv, group norm, shuffle) must split `channels` evenly."""
    if channels % groups:
        where = f"the {what} " if what else ""
        raise LayerError(Code.CHANNEL_MISMATCH,
                         f"groups={groups} does not divide {where}channels ({channels})",
                         "pick a divisor of the channel count")


def fmt_shape(shape: Shape) -> str:
    text = "x".join(str(d) for d in shape)
    return text + " (channels last)" if isinstance(shape, ChannelsLast) else text
