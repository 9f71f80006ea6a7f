"""Recover the spec's structure from a traced graph.

Every node sits in the module that ran it (fx's nn_module_stack). A submodule call becomes one
item of its parent: a layer (leaf module), an inline container `label: { ... }` (nn.Sequential,
ModuleList, ModuleDict and Sequential subclasses that keep its forward) or a block call (any
other class; one block per class and shape of body, the values that differ as parameters).
Inside a module the dataflow is written series-parallel: a chain, `residual { } shortcut { }`
for an add whose operands fork from one tensor, `concat { branch ... }` for a cat of branches,
`-> t ... concat(t, _)` / `mul(t)` where one operand is the fork itself.
"""

from __future__ import annotations

import keyword
import operator
import re
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.fx as fx
from torch import nn

from archc.importer.mapping import MERGES, Layer, literal, map_function, map_module
from archc.importer.trace import ImportFailure, Problem, user_line
from archc.layers import REGISTRY

IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*$")
RESERVED = {"if", "else", "and", "or", "not", "in", "block", "network", "input", "residual",
            "shortcut", "concat", "branch", "side", "defaults", "include", "true", "false",
            "again"}


@dataclass(frozen=True)
class Slot:
    """A number in a block body that may become a parameter."""

    value: Any
    name: str


Pieces = list  # of str | Slot | Call


@dataclass
class Scope:
    path: str
    module: nn.Module
    nodes: list = field(default_factory=list)  # fx nodes and child Scopes, in graph order
    members: set = field(default_factory=set)  # every fx node inside, recursively
    children: list = field(default_factory=list)
    parent: Scope | None = None
    again: Scope | None = None  # a second call of a stateful module: `again` its first scope

    @property
    def name(self) -> str:
        return self.path.rsplit(".", 1)[-1]


def is_container(module: nn.Module) -> bool:
    if isinstance(module, (nn.ModuleList, nn.ModuleDict)):
        return True
    return isinstance(module, nn.Sequential) and type(module).forward is nn.Sequential.forward


def numbered(module: nn.Module) -> bool:
    names = [n for n, _ in module.named_children()]
    return bool(names) and names == [str(i) for i in range(len(names))]


def label_text(name: str) -> str:
    if IDENT.match(name) and name not in RESERVED and not keyword.iskeyword(name):
        return name
    return '"' + name.replace('"', "") + '"'


class Emitter:
    def __init__(self, model: nn.Module, gm: fx.GraphModule) -> None:
        self.model, self.gm = model, gm
        self.problems: list[Problem] = []
        self.root = Scope("", model)
        self.scopes: dict[str, Scope] = {}
        self.counter = 0
        self.blocks: dict[type, Any] = {}
        self.block_defs: list[str] = []
        self.block_names: set[str] = set()
        self.instance_call: dict[int, Pieces] = {}
        self.scaled: set[str] = set()  # parameters written as layer_scale
        # shared submodules: the first scope of each module path and the first call of each
        # leaf; later calls from the same module are written `again NAME`
        self.first_scope: dict[str, Scope] = {}
        self.first_call: dict[str, tuple] = {}
        self.again_nodes: dict = {}  # fx node -> the label its first call has
        self.joined: set[type] = set()  # classes every call of which is `concat(t, f(t))`

    # ---- scopes -------------------------------------------------------------------------
    def build_scopes(self) -> None:
        simplify_cats(self.gm.graph)
        collapse_channel_shuffles(self.gm.graph)
        for node in self.gm.graph.nodes:
            if node.op in ("placeholder", "output", "get_attr"):
                continue
            stack = list((node.meta.get("nn_module_stack") or {}).items())
            if node.op == "call_module":
                stack = stack[:-1]
            scope = self.root
            for key, (path, _cls) in stack:
                path = path if isinstance(path, str) else str(path)
                scope = self._between(scope, path, node)
                child = self.scopes.get(key)
                if child is None:
                    child = Scope(path, self.model.get_submodule(path), parent=scope)
                    self._scope_use(child, node)
                    self.scopes[key] = child
                    scope.nodes.append(child)
                    scope.children.append(child)
                scope = child
            if node.op == "call_module":
                self._leaf_use(node, scope)
            if scope.parent is not None and _opens_with_merge(scope, node):
                # DenseNet's layer concatenates what it is given: the concat belongs to the
                # caller, so that the layer maps one tensor to one
                index = scope.parent.nodes.index(scope)
                scope.parent.nodes.insert(index, node)
                scope = scope.parent
            else:
                scope.nodes.append(node)
            while scope is not None:
                scope.members.add(node)
                scope = scope.parent
        self._find_joined()

    def _find_joined(self) -> None:
        """Classes whose every call's output is only concatenated after its own input
        (DenseNet's layers, the concatenation written outside them): their block ends with
        `concat(x, _)`, so that the calls chain, and repeat, as plain calls."""
        by_class: dict[type, list[Scope]] = {}
        for scope in self.scopes.values():
            if scope.again is None and not is_container(scope.module) and scope.parent:
                by_class.setdefault(type(scope.module), []).append(scope)
        for cls, scopes in by_class.items():
            if all(self._joined_after(scope) for scope in scopes):
                self.joined.add(cls)

    def _joined_after(self, scope: Scope) -> bool:
        ins, outs = self.scope_io(scope)
        if len(ins) != 1 or len(outs) != 1 or len(outs[0].users) != 1:
            return False
        cat = next(iter(outs[0].users))
        return (cat.op == "call_function" and MERGES.get(cat.target) == "concat"
                and _arg(cat, 1, "dim", 0) in (1, -3) and cat in scope.parent.nodes
                and list(cat.args[0]) == [ins[0], outs[0]])

    def _between(self, scope: Scope, path: str, node) -> Scope:
        """Containers that are never called themselves (a ModuleList run in a loop) still
        hold their items: give them a scope between `scope` and the module at `path`."""
        parts = path.split(".")
        start = len(scope.path.split(".")) if scope.path else 0
        for end in range(start + 1, len(parts)):
            inner = ".".join(parts[:end])
            last = scope.children[-1] if scope.children else None
            if last is not None and last.path == inner and scope.nodes[-1] is last:
                scope = last
                continue
            child = Scope(inner, self.model.get_submodule(inner), parent=scope)
            self.scopes[f"{inner}@loop{len(self.scopes)}"] = child
            scope.nodes.append(child)
            scope.children.append(child)
            scope = child
        return scope

    def _scope_use(self, scope: Scope, node) -> None:
        """A module called again from the module that called it first is `again NAME`."""
        first = self.first_scope.setdefault(scope.path, scope)
        if first is scope or _in_again(scope.parent) or not scope.module.state_dict():
            return
        if first.parent is scope.parent and _labelled(scope.parent):
            scope.again = first
        else:
            self._shared_elsewhere(scope.path, node)

    def _leaf_use(self, node, scope: Scope) -> None:
        first = self.first_call.setdefault(node.target, (node, scope))
        module = self.model.get_submodule(node.target)
        if first[0] is node or _in_again(scope) or not module.state_dict():
            return
        if first[1] is scope and _labelled(scope):
            self.again_nodes[node] = node.target.rsplit(".", 1)[-1]
        else:
            self._shared_elsewhere(node.target, node)

    def _shared_elsewhere(self, path: str, node) -> None:
        self.problems.append(Problem("a module with state is called from two different modules "
                                     "(or containers); `again` reuses a module only in the "
                                     "module that calls it first", path,
                                     user_line(node.stack_trace)))

    # ---- dataflow inside one scope ------------------------------------------------------
    def scope_io(self, scope: Scope) -> tuple[list, list]:
        inputs, outputs = [], []
        for node in scope.members:
            for arg in node.all_input_nodes:
                if (arg not in scope.members and _is_tensor(arg) and arg.op != "get_attr"
                        and arg not in inputs):
                    inputs.append(arg)
            if _is_tensor(node) and any(u not in scope.members for u in node.users):
                outputs.append(node)
        return inputs, outputs

    def body(self, scope: Scope) -> Pieces:
        """The items of a scope, from its input to its output."""
        inputs, outputs = self.scope_io(scope) if scope.parent else (
            [n for n in self.gm.graph.nodes if n.op == "placeholder"],
            [n.args[0] for n in self.gm.graph.nodes if n.op == "output"])
        if len(inputs) != 1 or len(outputs) != 1 or not _is_tensor(outputs[0]):
            self.problems.append(Problem(f"takes {len(inputs)} tensors and returns "
                                         f"{len(outputs)}; archc items map one tensor to one",
                                         scope.path, ""))
            return []
        self.producer: dict = {}
        elems = {}
        for item in scope.nodes:
            if isinstance(item, Scope):
                ins, outs = self.scope_io(item)
                if len(ins) != 1 or len(outs) != 1:
                    self.problems.append(Problem(
                        f"takes {len(ins)} tensors and returns {len(outs)}; archc items map "
                        "one tensor to one", item.path, ""))
                    return []
                elems[outs[0]] = (item, ins)
            elif _is_tensor(item) or item.target == operator.getitem:
                elems[item] = (item, [a for a in _tensor_args(item)])
        self.elems, self.scope = elems, scope
        self.pred_memo: dict = {}
        self.saved = 0
        return self.seq(inputs[0], outputs[0])

    def seq(self, src, dst) -> Pieces:
        out: list[Pieces] = []
        cur = dst
        while cur is not src:
            if cur not in self.elems:
                self.problems.append(Problem(f"value `{cur.name}` comes from outside the "
                                             "module's input", self.scope.path, ""))
                return []
            item, ins = self.elems[cur]
            if len(ins) == 1:
                out.append(self.item(item))
                cur = ins[0]
                continue
            fork = self.fork(src, ins)
            if fork is None:
                return []
            out.append(self.merge(item, ins, fork))
            cur = fork
        return [p for pieces in reversed(out) for p in pieces]

    def pred(self, value, src):
        if value is src or value not in self.elems:
            return None
        if value not in self.pred_memo:
            _, ins = self.elems[value]
            self.pred_memo[value] = ins[0] if len(ins) == 1 else self.fork(src, ins)
        return self.pred_memo[value]

    def spine(self, value, src) -> list:
        chain = []
        while value is not None:
            chain.append(value)
            value = self.pred(value, src)
        return chain

    def fork(self, src, ins):
        spines = [self.spine(v, src) for v in ins]
        others = [set(s) for s in spines[1:]]
        for v in spines[0]:
            if all(v in s for s in others):
                return v
        self.problems.append(Problem("operands of a merge do not fork from one tensor",
                                     self.scope.path, ""))
        return None

    def merge(self, node, ins, fork) -> Pieces:
        kind = MERGES.get(node.target)
        where = user_line(node.stack_trace)
        if kind == "concat" and _arg(node, 1, "dim", 0) not in (1, -3):
            kind = None
        if kind is None:
            self.problems.append(Problem(f"unsupported merge `{_op_name(node)}`",
                                         self.scope.path, where))
            return []
        others = [v for v in ins if v is not fork]
        if kind == "add" and len(ins) == 2:
            if len(others) == 1:
                return ["residual {", *self.seq(fork, others[0]), "}"]
            body, short = self.seq(fork, ins[0]), self.seq(fork, ins[1])
            if _single_container(short) is None and _single_container(body) is not None:
                body, short = short, body
            if _single_container(short):
                return ["residual {", *body, "}", Shortcut(short[0].scope)]
            return ["residual {", *body, "}", "shortcut {", *short, "}"]
        if kind in ("mul", "concat") and len(others) == 1 and len(ins) == 2:
            inner = self.seq(fork, others[0])
            if (kind == "concat" and ins[0] is fork and len(inner) == 1
                    and isinstance(inner[0], Call) and type(inner[0].scope.module) in self.joined):
                return inner  # the block ends with the concatenation
            self.saved += 1
            name = f"t{self.saved}"
            order = "_, " + name if ins[0] is others[0] else name + ", _"
            return [f"-> {name}", *inner, f"{kind}({order})"]
        if kind == "concat" and fork not in ins:
            branches = []
            for v in ins:
                branches += ["branch {", *self.seq(fork, v), "}"]
            return ["concat {", *branches, "}"]
        self.problems.append(Problem(f"cannot write this `{_op_name(node)}` of {len(ins)} "
                                     "tensors as a residual, concat or saved tensor",
                                     self.scope.path, where))
        return []

    # ---- one item -----------------------------------------------------------------------
    def layer_scale(self, node, attr) -> Pieces:
        owner, _, name = attr.target.rpartition(".")
        param = self.model.get_parameter(attr.target) if isinstance(
            getattr(self.model.get_submodule(owner), name, None), nn.Parameter) else None
        shape = tuple(node.meta["tensor_meta"].shape[1:])
        layer = _scale_layer(param, shape) if param is not None else None
        if layer is None or owner != self.scope.path:
            self.problems.append(Problem(f"`{attr.target}` multiplies a tensor: only a "
                                         "per-channel parameter of this module maps "
                                         "(layer_scale)", self.scope.path,
                                         user_line(node.stack_trace)))
            return []
        self.scaled.add(attr.target)
        return [Leaf(name, layer)]

    def item(self, item) -> Pieces:
        if isinstance(item, Scope):
            return [Again(item.again.name) if item.again is not None else Call(item)]
        node = item
        if node in self.again_nodes:
            return [Again(self.again_nodes[node])]
        if node.op == "call_module":
            module = self.model.get_submodule(node.target)
            shape = tuple(node.args[0].meta["tensor_meta"].shape[1:])
            layer = map_module(module, shape)
            if layer is None:
                self.problems.append(Problem(f"unsupported module {type(module).__name__}",
                                             node.target, user_line(node.stack_trace)))
                return []
            return [Leaf(node.target.rsplit(".", 1)[-1], layer)]
        if node.target is channel_shuffle:
            return [Leaf(None, Layer("channel_shuffle", {"groups": node.args[1]}))]
        attr = scaled_by(node)
        if attr is not None:
            return self.layer_scale(node, attr)
        if node.target == operator.getitem and getattr(node.args[0], "target", None) == "chunk":
            chunk = node.args[0]
            parts, dim = _arg(chunk, 1, "chunks"), _arg(chunk, 2, "dim", 0)
            if dim in (1, -3):
                return [Leaf(None, Layer("chunk", {"parts": parts, "i": node.args[1]}))]
        layers = map_function(node)
        if layers is None:
            self.problems.append(Problem(f"unsupported operation `{_op_name(node)}`",
                                         self.scope.path, user_line(node.stack_trace)))
            return []
        return [Leaf(None, layer) for layer in layers]


def _scale_layer(param: torch.Tensor, out_shape: tuple) -> Layer | None:
    """A Cx1x1 (or C for channels last) parameter scaling a tensor channel by channel."""
    want = ((out_shape[0], *(1 for _ in out_shape[1:])), (out_shape[-1],))
    if tuple(param.shape) not in want:
        return None
    first = float(param.detach().flatten()[0])
    init = first if bool((param == first).all()) else 1e-6  # init does not change the weights
    return Layer("layer_scale", {"init": init} if init != 1e-6 else {}, stateful=True)


def _opens_with_merge(scope: Scope, node) -> bool:
    return (not scope.members and node.op == "call_function" and node.target in MERGES
            and not is_container(scope.module))


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """Stands in the graph for PyTorch's usual spelling of a channel shuffle (below)."""
    n, c, h, w = x.shape
    return x.view(n, groups, c // groups, h, w).transpose(1, 2).reshape(n, c, h, w)


def _shape5(node) -> tuple | None:
    meta = node.meta.get("tensor_meta")
    return tuple(meta.shape) if meta is not None and hasattr(meta, "shape") else None


def collapse_channel_shuffles(graph: fx.Graph) -> None:
    """x.view(n, g, c // g, h, w).transpose(1, 2)[.contiguous()].view(n, c, h, w) is
    ShuffleNet's channel shuffle: one node, mapped to `channel_shuffle(g)`."""
    for node in list(graph.nodes):
        if node.op != "call_method" or node.target not in ("view", "reshape"):
            continue
        chain, cur = [node], node.args[0]
        if isinstance(cur, fx.Node) and cur.target == "contiguous":
            chain.append(cur)
            cur = cur.args[0]
        if not (isinstance(cur, fx.Node) and cur.target in ("transpose", torch.transpose)
                and sorted(cur.args[1:3]) == [1, 2]):
            continue
        chain.append(cur)
        split = cur.args[0]
        if not (isinstance(split, fx.Node) and split.target in ("view", "reshape")):
            continue
        chain.append(split)
        source, five, out = split.args[0], _shape5(split), _shape5(node)
        if (five is None or out is None or len(five) != 5 or len(out) != 4
                or _shape5(source) != out or five[1] * five[2] != out[1]
                or any(len(n.users) != 1 for n in chain[1:])):
            continue
        with graph.inserting_after(node):
            merged = graph.call_function(channel_shuffle, (source, five[1]))
        merged.meta = dict(node.meta)
        node.replace_all_uses_with(merged)
        for dead in chain:
            graph.erase_node(dead)


def simplify_cats(graph: fx.Graph) -> None:
    """torch.cat of one tensor is that tensor; a cat whose leading operands are those of an
    earlier cat is that cat followed by the rest (DenseNet concatenates every earlier feature
    map anew in each layer; written as a chain of `concat(t, _)`)."""
    cats: dict = {}  # cat node -> its operands before rewriting
    for node in list(graph.nodes):
        if node.op != "call_function" or node.target not in (torch.cat, torch.concat):
            continue
        if not node.args or not isinstance(node.args[0], (list, tuple)):
            continue
        operands = list(node.args[0])
        if len(operands) == 1:
            node.replace_all_uses_with(operands[0])
            graph.erase_node(node)
            continue
        best = None
        for earlier, prefix in cats.items():
            if (len(prefix) < len(operands) and operands[:len(prefix)] == prefix
                    and _arg(earlier, 1, "dim", 0) == _arg(node, 1, "dim", 0)
                    and (best is None or len(prefix) > len(cats[best]))):
                best = earlier
        cats[node] = operands
        if best is not None:
            rest = operands[len(cats[best]):]
            node.args = ([best, *rest], *node.args[1:])


@dataclass
class Leaf:
    name: str | None  # the module's attribute name; None for a functional call
    layer: Layer


@dataclass
class Call:
    scope: Scope


@dataclass
class Again:
    """A stateful module called once more: `again NAME`."""

    name: str


def _in_again(scope: Scope | None) -> bool:
    """Whether `scope` runs inside a module that is itself applied `again`."""
    while scope is not None:
        if scope.again is not None:
            return True
        scope = scope.parent
    return False


def _labelled(scope: Scope) -> bool:
    """Whether the spec labels the stateful items of `scope` (not a numbered container)."""
    return scope.parent is None or not is_container(scope.module) or not numbered(scope.module)


@dataclass
class Shortcut:
    scope: Scope


def _single_container(pieces: Pieces) -> bool:
    return (len(pieces) == 1 and isinstance(pieces[0], Call)
            and is_container(pieces[0].scope.module))


def _is_tensor(node) -> bool:
    meta = getattr(node, "meta", {}).get("tensor_meta")
    return meta is not None and hasattr(meta, "shape")


def _tensor_args(node) -> list:
    if node.target == operator.getitem:
        return [a for a in node.args[0].all_input_nodes if _is_tensor(a)]
    return [a for a in node.all_input_nodes if _is_tensor(a) and a.op != "get_attr"]


def scaled_by(node):
    """The get_attr operand of `param * x`, a learned per-channel scale (layer_scale)."""
    if node.op != "call_function" or MERGES.get(node.target) != "mul":
        return None
    attrs = [a for a in node.args if isinstance(a, fx.Node) and a.op == "get_attr"]
    others = [a for a in node.args if isinstance(a, fx.Node) and a.op != "get_attr"]
    if len(attrs) != 1 or len(others) != 1 or len(node.args) != 2:
        return None
    return attrs[0]


def _arg(node, index: int, name: str, default: Any = None) -> Any:
    if len(node.args) > index:
        return node.args[index]
    return node.kwargs.get(name, default)


def _op_name(node) -> str:
    target = node.target
    if isinstance(target, str):
        return f"Tensor.{target}"
    module = getattr(target, "__module__", None) or ""
    return f"{module}.{getattr(target, '__name__', target)}".lstrip(".")


__all__ = [
    "REGISTRY",
    "Again",
    "Call",
    "Emitter",
    "ImportFailure",
    "Leaf",
    "Slot",
    "is_container",
    "label_text",
    "literal",
    "numbered",
    "torch",
]
