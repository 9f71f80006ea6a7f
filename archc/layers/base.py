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

import math
import types
import typing
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, ClassVar, Literal, Union

from archc.errors import Code

Shape = tuple[Any, ...]  # ints during analysis, possibly `Sym`s during code generation


class ValidationError(ValueError):
    """Raised by `Args.model_validate`; `errors()` lists one {loc, type, msg} per problem, in
    pydantic's shape (the expander turns each into a located diagnostic)."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("; ".join(f"{e['loc'][0]}: {e['msg']}" for e in errors))
        self._errors = errors

    def errors(self) -> list[dict[str, Any]]:
        return list(self._errors)


@dataclass(frozen=True)
class FieldInfo:
    """One declared argument: its resolved type, default and numeric bounds."""

    name: str
    annotation: Any
    default: Any = MISSING
    gt: float | None = None
    ge: float | None = None
    le: float | None = None

    def is_required(self) -> bool:
        return self.default is MISSING


def Field(default: Any = MISSING, *, gt: float | None = None, ge: float | None = None,  # noqa: N802
          le: float | None = None) -> Any:
    """An argument with a default and/or bounds: `out: int = Field(gt=0)`."""
    return field(default=default, metadata={"gt": gt, "ge": ge, "le": le})


@dataclass(frozen=True)
class Args:
    """Base of every kind's argument model: a frozen, keyword-only dataclass whose fields are
    validated strictly from the annotations by `model_validate` (an int where a float is
    declared becomes a float; nothing else is coerced, bool is no int, inf and nan are no
    numbers, tuples stay tuples). Subclasses are made dataclasses automatically.

    Not pydantic: arguments are validated once per layer call, and pydantic's import and model
    construction alone took longer than checking a whole ResNet. `model_fields`,
    `model_validate` and `model_construct` keep pydantic's names and error shapes."""

    model_fields: ClassVar[dict[str, FieldInfo]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name, value in list(vars(cls).items()):
            if _is_pydantic_field(value):
                setattr(cls, name, _from_pydantic(value))
        dataclass(frozen=True, kw_only=True)(cls)
        hints = typing.get_type_hints(cls)
        cls.model_fields = {f.name: FieldInfo(f.name, hints[f.name], _default(f), **f.metadata)
                            for f in fields(cls)}

    @classmethod
    def model_validate(cls, values: dict[str, Any], strict: bool = True) -> Args:
        """Check every value against its field; raises `ValidationError` listing each problem."""
        errors: list[dict[str, Any]] = []
        checked: dict[str, Any] = {}
        for name in sorted(values.keys() - cls.model_fields.keys()):
            errors.append(_error(name, "extra_forbidden", "Extra inputs are not permitted"))
        for name, info in cls.model_fields.items():
            if name not in values:
                if info.is_required():
                    errors.append(_error(name, "missing", "Field required"))
                continue
            ok, value = _check(info.annotation, values[name])
            message = _bounds(info, value) if ok else "Input should be " + _expected(
                info.annotation)
            if message:
                errors.append(_error(name, "value_error", message))
            else:
                checked[name] = value
        if errors:
            raise ValidationError(errors)
        return cls(**checked)

    @classmethod
    def model_construct(cls, **values: Any) -> Args:
        """An instance from trusted (or symbolic) values, unchecked; defaults fill the rest."""
        instance = object.__new__(cls)
        for name, info in cls.model_fields.items():
            object.__setattr__(instance, name, values.get(name, info.default))
        return instance

    def model_dump(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.model_fields}


def _default(f: Any) -> Any:
    if f.default is not MISSING:
        return f.default
    return f.default_factory() if f.default_factory is not MISSING else MISSING


def _is_pydantic_field(value: Any) -> bool:
    return type(value).__name__ == "FieldInfo" and type(value).__module__.startswith("pydantic")


def _from_pydantic(info: Any) -> Any:
    """A pydantic `Field(...)` written in a layer module, read without importing pydantic."""
    default = info.default if type(info.default).__name__ != "PydanticUndefinedType" else MISSING
    bounds = {key: getattr(m, key) for m in info.metadata for key in ("gt", "ge", "le")
              if getattr(m, key, None) is not None}
    return Field(default, **bounds)


def _error(name: str, kind: str, message: str) -> dict[str, Any]:
    return {"loc": (name,), "type": kind, "msg": message}


def _check(annotation: Any, value: Any) -> tuple[bool, Any]:
    """(accepted, value as stored) for a value against a type, strictly."""
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        for member in typing.get_args(annotation):
            ok, checked = _check(member, value)
            if ok:
                return True, checked
        return False, value
    if origin is Literal:
        return any(type(value) is type(v) and value == v
                   for v in typing.get_args(annotation)), value
    if origin is tuple:
        return _check_tuple(typing.get_args(annotation), value)
    if annotation is float:
        ok = type(value) in (int, float) and math.isfinite(value)
        return ok, float(value) if ok else value
    if annotation is type(None):
        return value is None, value
    return type(value) is annotation, value


def _check_tuple(items: tuple, value: Any) -> tuple[bool, Any]:
    if type(value) is not tuple:
        return False, value
    kinds = (items[0],) * len(value) if len(items) == 2 and items[1] is Ellipsis else items
    if len(kinds) != len(value):
        return False, value
    checked = [_check(kind, v) for kind, v in zip(kinds, value)]
    return all(ok for ok, _ in checked), tuple(v for _, v in checked)


def _expected(annotation: Any) -> str:
    """What a type accepts, in words: "a valid integer", "'same' or 'valid'", ..."""
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        words = [_words(m) for m in typing.get_args(annotation) if m is not type(None)]
        flat = [w for group in words for w in group]
        return ", ".join(flat[:-1]) + " or " + flat[-1] if len(flat) > 1 else flat[0]
    if origin is Literal or origin is tuple:
        group = _words(annotation)
        return ", ".join(group[:-1]) + " or " + group[-1] if len(group) > 1 else group[0]
    words = {int: "a valid integer", float: "a finite number", bool: "a valid boolean"}
    return words.get(annotation, f"a valid {getattr(annotation, '__name__', annotation)}")


def _words(annotation: Any) -> list[str]:
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return [repr(v) if isinstance(v, str) else str(v) for v in typing.get_args(annotation)]
    if origin is tuple:
        items = typing.get_args(annotation)
        if len(items) == 2 and items[1] is Ellipsis:
            return ["a tuple of integers" if items[0] is int else "a tuple"]
        return [f"a tuple of {len(items)} integers" if set(items) == {int} else "a tuple"]
    return {int: ["an integer"], float: ["a number"], bool: ["true or false"]}.get(
        annotation, [getattr(annotation, "__name__", str(annotation))])


def _bounds(info: FieldInfo, value: Any) -> str | None:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return None
    for bound, fails, words in ((info.gt, lambda b: value <= b, "greater than"),
                                (info.ge, lambda b: value < b, "greater than or equal to"),
                                (info.le, lambda b: value > b, "less than or equal to")):
        if bound is not None and fails(bound):
            return f"Input should be {words} {_number(bound)}"
    return None


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


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

    `expr` uses `{0}`, `{1}`, ... for the input tensors, `{inputs}` for all of them.
    `kwargs` holds every keyword; those equal to `defaults` are left out when written.
    """

    module: str | None = None
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    expr: str | None = None
    defaults: dict[str, Any] = field(default_factory=dict)

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
    doc: ClassVar[str] = ""

    def check(self, args: Args, inputs: list[Shape]) -> None:
        """Raise `LayerError` when the inputs do not fit. Only here may a rule compare values."""

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


def fmt_shape(shape: Shape) -> str:
    return "x".join(str(d) for d in shape)
