"""From a torch module or function call to an archc layer: kind and arguments.

The kind comes from the registry's alias table (archc/layers/aliases.py, PyTorch's class name
-> kind); the arguments from the module's attributes, read under archc's argument names or
PyTorch's (ARGUMENT_ALIASES). Nothing about a kind's meaning is written here: a mapping is
accepted only when the module the registry itself would emit for those arguments has the same
class, constants, parameters and buffers as the original (`_signature`), so a wrong guess is an
error, never a silently different layer.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from archc.layers import REGISTRY, LayerError
from archc.layers.aliases import ARGUMENT_ALIASES, KIND_ALIASES, TORCHVISION_ALIASES
from archc.layers.base import ChannelsLast, ValidationError
from archc.layers.support import SUPPORT


@dataclass
class Layer:
    """One archc layer call: kind, arguments (archc names, defaults left out)."""

    kind: str
    args: dict[str, Any] = field(default_factory=dict)
    stateful: bool = False
    omitted: dict[str, Any] = field(default_factory=dict)  # numeric arguments left at default

    def text(self) -> str:
        return self.kind + _arglist(self.kind, self.args)


def _arglist(kind: str, args: dict[str, Any]) -> str:
    positional = REGISTRY[kind].positional
    parts, keyword = [], False
    for name in list(positional) + [n for n in args if n not in positional]:
        if name not in args:
            keyword = True
            continue
        value = literal(args[name])
        parts.append(f"{name}={value}" if keyword or name not in positional else value)
    return f"({', '.join(parts)})" if parts else ""


def literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return "(" + ", ".join(literal(v) for v in value) + ")"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _torch_names(arg: str) -> list[str]:
    return [arg] + [t for t, a in ARGUMENT_ALIASES.items() if a == arg]


def _plain(value: Any) -> Any:
    """A module attribute as an archc value: (3, 3) -> 3, a bias tensor -> true, None -> false."""
    if isinstance(value, torch.Tensor):
        return True
    if value is None:
        return False
    if isinstance(value, list):
        value = tuple(value)
    if isinstance(value, tuple):
        value = tuple(_plain(v) for v in value)
        return value[0] if value and all(v == value[0] for v in value) else value
    return value


def _candidate_args(kind: str, module: nn.Module) -> dict[str, Any]:
    fields = REGISTRY[kind].Args.model_fields
    found: dict[str, Any] = {}
    if "d0" in fields and isinstance(getattr(module, "dims", None), (list, tuple)):
        # a permutation is one attribute in PyTorch (`dims`), one argument per axis in archc
        return {f"d{i}": int(v) for i, v in enumerate(module.dims)}
    for arg, info in fields.items():
        for name in _torch_names(arg):
            if name in vars(module) or hasattr(type(module), name) or name in module._parameters:
                value = _plain(getattr(module, name))
                if info.is_required() or value != info.default:
                    found[arg] = value
                break
    return found


def _omitted(kind: str, args: dict[str, Any]) -> dict[str, Any]:
    """Numeric keyword arguments at their default: a block may still make them parameters."""
    out = {}
    for arg, info in REGISTRY[kind].Args.model_fields.items():
        default = info.default
        if (arg not in args and arg not in REGISTRY[kind].positional
                and isinstance(default, (int, float)) and not isinstance(default, bool)):
            out[arg] = default
    return out


def _kinds_for(module: nn.Module) -> list[str]:
    name = type(module).__name__
    alias = KIND_ALIASES.get(name) or TORCHVISION_ALIASES.get(name)
    # a specific kind first (global_avgpool before adaptive_avgpool), the alias last
    kinds = [k for k, cls in _no_arg_classes().items() if cls == name and k != alias]
    return kinds + [alias] * bool(alias)


_NO_ARG: dict[str, str] = {}


def _no_arg_classes() -> dict[str, str]:
    """Kinds callable without arguments -> the class name the registry emits for them."""
    if not _NO_ARG:
        for name, kind in REGISTRY.items():
            try:
                call = kind.torch(kind.Args(), [(8, 8, 8)])
            except (ValidationError, NotImplementedError, LayerError, TypeError, IndexError):
                continue
            if call.module:
                _NO_ARG[name] = call.module.split(".")[-1].split("(")[0]
    return _NO_ARG


def construct(call) -> nn.Module | None:
    """The module a registry TorchCall describes, on the meta device."""
    if call.module is None:
        return None
    name = call.module.split(".")[-1]
    cls = getattr(nn, name, None) if call.module.startswith("nn.") else _support_class(name)
    if cls is None:
        return None
    with torch.device("meta"):
        return cls(*call.args, **call.kwargs)


_SUPPORT_CLASSES: dict[str, Any] = {}


def _support_class(name: str) -> Any:
    """A class of archc.layers.support (fixed source text, never spec content), imported the
    way emitted modules are."""
    if name not in SUPPORT:
        return None
    if name not in _SUPPORT_CLASSES:
        from archc.codegen.build import import_source

        source = "import torch\nfrom torch import nn\n\n\n" + SUPPORT[name]
        _SUPPORT_CLASSES[name] = getattr(import_source(source), name)
    return _SUPPORT_CLASSES[name]


def _norm(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        items = tuple(_norm(v) for v in value)
        return items[0] if items and all(v == items[0] for v in items) else items
    return value


def signature(module: nn.Module) -> tuple:
    """What must agree for two modules to be the same layer: class name, the constructor's
    constants, the parameter and buffer shapes."""
    constants = {}
    for name in [*getattr(module, "__constants__", []), "p", "mode", "dims"]:
        if hasattr(module, name) and name != "inplace":  # in-place or not, the same values
            constants[name] = _norm(getattr(module, name))
    for name in ("eps", "momentum", "affine", "track_running_stats", "elementwise_affine",
                 "negative_slope", "alpha", "approximate", "dim", "num_parameters"):
        if hasattr(module, name) and name not in constants:
            constants[name] = _norm(getattr(module, name))
    tensors = tuple((n, tuple(t.shape)) for n, t in module.state_dict(keep_vars=True).items()
                    if t is not None)
    return type(module).__name__, tuple(sorted(constants.items())), tensors


def map_module(module: nn.Module, in_shape: tuple[int, ...]) -> Layer | None:
    """The archc layer equal to `module` on a per-sample input of `in_shape`, or None. A
    module acting on the last axis of a 3-d input (Linear after a permute) is tried on a
    channels-last shape too."""
    found = _map_module(module, in_shape)
    if found is None and len(in_shape) == 3:
        found = _map_module(module, ChannelsLast(in_shape))
    return found


def _map_module(module: nn.Module, in_shape: tuple[int, ...]) -> Layer | None:
    want = signature(module)
    for kind in _kinds_for(module):
        args = _candidate_args(kind, module)
        try:
            parsed = REGISTRY[kind].Args(**args)
            call = REGISTRY[kind].torch(parsed, [in_shape])
            built = construct(call)
        except (ValidationError, LayerError, TypeError, ValueError, NotImplementedError):
            continue
        if built is not None and signature(built) == want:
            return Layer(kind, args, stateful=bool(module.state_dict()),
                         omitted=_omitted(kind, args))
    return None


# ---- functional calls: (function, or method name) -> archc kind ---------------------------
F = torch.nn.functional
ELEMENTWISE: dict[Any, str] = {
    F.relu: "relu", torch.relu: "relu", "relu": "relu", F.relu6: "relu6",
    torch.sigmoid: "sigmoid", "sigmoid": "sigmoid", F.sigmoid: "sigmoid", torch.tanh: "tanh",
    F.tanh: "tanh", F.silu: "silu", F.gelu: "gelu", F.hardsigmoid: "hardsigmoid",
    F.hardswish: "hardswish", F.mish: "mish",
}
MERGES: dict[Any, str] = {operator.add: "add", torch.add: "add", operator.iadd: "add",
                          "add": "add", "add_": "add", operator.mul: "mul", torch.mul: "mul",
                          "mul": "mul", operator.imul: "mul", torch.cat: "concat",
                          torch.concat: "concat"}


def _shape(node) -> tuple[int, ...] | None:
    meta = node.meta.get("tensor_meta") if hasattr(node, "meta") else None
    return tuple(meta.shape[1:]) if meta is not None and hasattr(meta, "shape") else None


def _arg(node, index: int, name: str, default: Any = None) -> Any:
    if len(node.args) > index:
        return node.args[index]
    return node.kwargs.get(name, default)


def map_function(node) -> list[Layer] | None:
    """A call_function / call_method node with one tensor input as archc layers, or None."""
    if node.target in (torch.mean, "mean"):
        src = _shape(node.args[0])
        dims = _arg(node, 1, "dim")
        dims = tuple(dims) if isinstance(dims, (list, tuple)) else (dims,)
        if src is None or len(src) != 3 or {d % 4 for d in dims if isinstance(d, int)} != {2, 3}:
            return None
        pool = Layer("global_avgpool")
        return [pool] if _arg(node, 2, "keepdim", False) else [pool, Layer("flatten")]
    layer = _map_function(node)
    return [layer] if layer else None


# functional pooling: the nn module taking the same arguments, and the functional's positional
# parameter names (builtins have no signature to read them from)
FUNCTIONAL_MODULES: dict[Any, tuple[type[nn.Module], tuple[str, ...]]] = {
    F.avg_pool2d: (nn.AvgPool2d, ("kernel_size", "stride", "padding", "ceil_mode",
                                  "count_include_pad", "divisor_override")),
    F.max_pool2d: (nn.MaxPool2d, ("kernel_size", "stride", "padding", "dilation", "ceil_mode",
                                  "return_indices")),
}


def _via_module(node) -> Layer | None:
    cls, names = FUNCTIONAL_MODULES[node.target]
    kwargs = dict(zip(names, node.args[1:])) | dict(node.kwargs)
    src = _shape(node.args[0])
    if src is None or any(isinstance(v, torch.fx.Node) for v in kwargs.values()):
        return None
    try:
        module = cls(**kwargs)
    except TypeError:
        return None
    return map_module(module, src)


def _map_function(node) -> Layer | None:
    if node.target in FUNCTIONAL_MODULES:
        return _via_module(node)
    """A call_function / call_method node with one tensor input as an archc layer, or None."""
    target = node.target
    src, out = (_shape(node.args[0]) if node.args else None), _shape(node)
    if target in ELEMENTWISE:
        return Layer(ELEMENTWISE[target])
    if src is None or out is None:
        return None
    if target in (torch.flatten, "flatten", "view", "reshape") and len(src) > 1:
        rest = [a for a in node.args[1:]]
        if target in (torch.flatten, "flatten") and rest[:1] not in ([1], []):
            return None
        if len(out) == 1 and out[0] == _prod(src):
            return Layer("flatten")
        return None
    if target in (F.adaptive_avg_pool2d, F.adaptive_max_pool2d) and len(out) == 3:
        kind = "avg" if target is F.adaptive_avg_pool2d else "max"
        if out[1:] == (1, 1):
            return Layer(f"global_{kind}pool")
        return Layer(f"adaptive_{kind}pool", {"size": _plain(out[1:])})
    if target in (F.dropout,):
        return Layer("dropout", {"p": float(_arg(node, 1, "p", 0.5))})
    if target in (torch.permute, "permute"):
        dims = node.args[1:] if len(node.args) > 2 else tuple(_arg(node, 1, "dims"))
        return Layer("permute", dict(zip(REGISTRY["permute"].positional, dims)))
    return None


def _prod(values) -> int:
    result = 1
    for v in values:
        result *= v
    return result
