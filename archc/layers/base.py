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

from pydantic import (  # noqa: F401 (Field, ValidationError re-exported)
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from archc.errors import Code

Shape = tuple[Any, ...]  # ints during analysis, possibly `Sym`s during code generation
# The largest integer layer argument. Far past any real layer, yet products of two such values
# that PyTorch forms in int64 are bounded by the analyzer's own caps (a window within the
# padded input, outputs within Limits.max_dim, parameters within Limits.max_elements).
MAX_ARG = 1 << 40


@dataclass(frozen=True)
class Window:
    """Which input positions one output position reads, on one spatial axis: output position o
    reads input positions in [scale*o + offset, scale*o + offset + extent - 1] (a continuous
    interval; Fractions where a layer upsamples). The receptive field composes these."""

    scale: Any
    offset: Any
    extent: Any
    step: int = 1  # distance between the taps actually read (a dilated kernel's dilation)
    # which spatial axis of the input this output axis reads; None: the same one (only a
    # permute that reorders the spatial axes says otherwise)
    axis: int | None = None

    @staticmethod
    def same() -> Window:
        return Window(1, 0, 1)


@dataclass(frozen=True)
class Saved:
    """One tensor autograd keeps for a layer's backward pass (PyTorch 2.x, training mode).

    `of`: an input index (the layer's input tensor, shared with whoever else saves it), "out"
    (its output), or None (a new tensor: indices, masks, statistics). `numel` counts elements
    per sample unless `per_sample` is False. `nbytes`: bytes per element, or None for the
    activation dtype."""

    of: int | str | None
    numel: Any
    per_sample: bool = True
    nbytes: int | None = None
    # the kernel keeps a contiguous copy when the tensor's memory is in another axis order
    # (matmul reshaping a permuted map), a new tensor then
    contiguous: bool = False


INDICES = 8  # int64 argmax indices of max pooling


def same_position(rank: int) -> tuple[Window, ...]:
    """Each output position reads only the same position of the input(s)."""
    return (Window.same(),) * rank


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


def spatial_sizes(shape: Shape) -> tuple[Any, ...]:
    """The spatial axes of a per-sample shape in either layout: (C, H, W) and ChannelsLast
    (H, W, C) -> (H, W); a flat vector has none."""
    return tuple(shape[:-1]) if isinstance(shape, ChannelsLast) else tuple(shape[1:])


def positions(shape: Shape) -> Any:
    """How many positions a per-channel operation is applied at: H*W (channels last), 1 (flat)."""
    return prod(shape[:-1]) if isinstance(shape, ChannelsLast) else 1


class Args(BaseModel):
    """Base of every kind's argument model (pydantic): strict types, no extra names, no inf or
    nan. `defer_build` compiles a model's validator on its first use, so start-up pays only for
    the kinds a spec uses; validated arguments are frozen, hence hashable and cacheable."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, allow_inf_nan=False,
                              arbitrary_types_allowed=True, defer_build=True)

    @field_validator("*", mode="after")
    @classmethod
    def _within_backend_range(cls, value: Any) -> Any:
        """Every integer argument (sizes, strides, groups, axes; alone or per axis) within
        MAX_ARG: PyTorch takes C++ int64s and allocates in proportion to kernels and windows,
        so larger values overflow or hang there even where a kind's own rule would pass them."""
        for item in value if isinstance(value, tuple) else (value,):
            if isinstance(item, int) and not isinstance(item, bool) and abs(item) > MAX_ARG:
                raise ValueError(f"at most {MAX_ARG:,} in magnitude (the cap on layer arguments)")
        return value


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
    if kind == "value_error":  # a registry validator's own words
        return str(ctx.get("error", "valid"))
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
    view: ClassVar[bool] = False  # the output is a view of input 0 (same memory)
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

    def window(self, args: Args, inputs: list[Shape], out: Shape) -> tuple[Window, ...] | None:
        """Receptive-field rule: per spatial axis of `out`, the input positions one output
        position reads (the same map for every input); None when every output value depends on
        the whole input (flattening, global pooling, statistics over all positions).
        Every kind must state its rule: there is no safe default."""
        raise NotImplementedError(f"layer kind `{self.name}` does not state its receptive-field "
                                  "rule (LayerKind.window)")

    def explain(self, args: Args, inputs: list[Shape], out: Shape) -> list[tuple[str, str]]:
        """The derivation of the output shape, parameters and MACs with the numbers filled in,
        as (what, formula = value) lines (`archc explain`). Every kind must state its own."""
        raise NotImplementedError(f"layer kind `{self.name}` does not explain its arithmetic "
                                  "(LayerKind.explain)")

    def saved(self, args: Args, inputs: list[Shape], out: Shape) -> list[Saved]:
        """What autograd saves for this layer's backward (parameters aside), as PyTorch's
        kernels do (checked with torch.autograd.graph.saved_tensors_hooks in the tests).
        Every kind must state its own: there is no safe default."""
        raise NotImplementedError(f"layer kind `{self.name}` does not state what autograd "
                                  "saves for it (LayerKind.saved)")

    def moved_axes(self, args: Args) -> tuple[int, ...] | None:
        """For a view that reorders axes: the input axis of the batched tensor each output axis
        is (memory estimates follow the memory order with it); None for every other kind."""
        return None

    def kernel(self, args: Args) -> tuple[int, ...] | None:
        """Spatial kernel of a convolution, for the 1x1-bottleneck report; None otherwise."""
        return None

    def torch(self, args: Args, inputs: list[Shape]) -> TorchCall:
        raise NotImplementedError(self.name)

    def torch_init(self, args: Args) -> list[str]:
        """Statements initialising the weights, `{m}` standing for the module; [] = defaults."""
        return []


def spatial_rank(shape: Shape) -> int:
    """Spatial axes of a per-sample shape: (C, H, W) -> 2, (C, L) -> 1, (F,) -> 0."""
    return len(shape) - 1


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
