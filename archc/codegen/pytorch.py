"""Codegen: an analysed model -> one readable, self-contained PyTorch source file.

One class per block definition (constructor: `in_channels` plus the block's parameters)
and one for the network. A block's layer arguments are found by running the registry's
shape rules over symbolic parameters, then checked against every call's concrete
analysis; where they cannot be expressed, that block gets specialised classes instead.
This module writes text and never imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from archc._perf import stage
from archc._version import __version__
from archc.api import Model
from archc.codegen.names import GENERATED_GLOBALS, Namer, attribute, class_name, is_safe
from archc.codegen.symbolic import NotSymbolic, Sym, substitute
from archc.errors import ArchcError, Code, Diagnostic
from archc.expand import (
    BlockNode,
    ConcatNode,
    ExpandedNetwork,
    Expander,
    LayerNode,
    ResidualNode,
    SaveNode,
    SeqNode,
    SideNode,
    TreeNode,
    find_network,
    merge_inputs,
)
from archc.expr import INPUT
from archc.graph import GraphNode, build_graph
from archc.layers.base import LayerError, LayerKind, TorchCall, fmt_shape
from archc.layers.support import SUPPORT

INDENT = "    "
# Line 1 of every emitted file: a PEP 263 cookie there is the one Python honours, so nothing on
# the next lines (which name the spec) can choose how the file is decoded.
CODING_LINE = "# -*- coding: utf-8 -*-"
MAX_SOURCE_NESTING = 90  # Python's parser: 100 indentation levels, 200 nested brackets


class Unsupported(Exception):
    """A construct the backend cannot write (reported as E401)."""

    def __init__(self, message: str, node: Any) -> None:
        super().__init__(message)
        self.node = node


@dataclass
class Generated:
    source: str
    class_name: str
    side_outputs: list[str]


@dataclass
class Scope:
    """One class being written: its tree, tensor shapes and where its layers live."""

    tree: list[TreeNode]
    io: dict[int, tuple[int, int]]
    shapes: dict[int, tuple]
    node_of: dict[int, int]  # id(LayerNode) -> graph node
    inputs_of: dict[int, list[int]]  # graph node -> input graph nodes
    prefix: str  # stripped from layer names to get attribute paths
    comment: Any  # LayerNode -> comment text
    allow_sides: bool = True
    symbolic: bool = False


@dataclass
class Slot:
    expr: str
    comment: str = ""


@dataclass
class Container:
    children: dict[str, Any] = field(default_factory=dict)

    @property
    def sequential(self) -> bool:
        return list(self.children) == [str(i) for i in range(len(self.children))]


def generate(model: Model, source_name: str = "<spec>") -> Generated:
    """The PyTorch source for `model`; raises ArchcError(E401) for unsupported constructs."""
    try:
        with stage():  # the same recursion headroom as the stages whose trees it walks again
            return Generator(model, source_name).run()
    except Unsupported as exc:
        span = getattr(exc.node, "span", None) or model.expanded.span
        raise ArchcError([Diagnostic(Code.CODEGEN, str(exc), span,
                                     "archc check/params still analyse this spec")]) from None


class Generator:
    def __init__(self, model: Model, source_name: str) -> None:
        self.model = model
        self.source_name = source_name
        self.expander = Expander(model.spec, symbolic=True)
        network = find_network(model.spec, model.analysis.network)
        self.defaults = self.expander.network_defaults(network)
        # A class name must not be shadowed by a constructor parameter named like it.
        self.class_names = Namer(GENERATED_GLOBALS | _block_parameters(model.spec))
        self.network_class = self.class_names.fresh(class_name(model.analysis.network))
        self.block_classes: dict[str, str] = {}  # block -> symbolic class name
        self.instance_classes: dict[int, str] = {}  # id(BlockNode) -> specialised class
        self.sources: list[str] = []
        self.by_name = {row.name: row for row in model.analysis.layers}
        self._last_rows: dict | None = None  # block-call name -> its last main-path row
        self.instances = _block_instances(model.expanded.body)
        self.done: set[str] = set()
        self.specialised_by_body: dict[str, str] = {}  # class body -> class, to share twins
        self.support: set[str] = set()  # classes of archc.layers.support the file needs
        self._net_scope: Scope | None = None

    # ---- driver --------------------------------------------------------------

    def run(self) -> Generated:
        for block in self.model.spec.blocks:
            if block.name in self.instances:
                self._block_class(block.name)
        net = self._network_scope()
        sides = [n.name for n in _walk(self.model.expanded.body) if isinstance(n, SideNode)]
        doc = (f"{self.model.analysis.network}: input {fmt_shape(self.model.analysis.input)}, "
               f"output {fmt_shape(self.model.analysis.output)}, "
               f"{self.model.analysis.totals.params:,} parameters.")
        self.sources.append(self._class(self.network_class, doc, [], net, sides))
        header = [CODING_LINE,
                  f"# Generated by archc {__version__} (network {self.model.analysis.network})"
                  f" from {_comment_text(self.source_name)}",
                  "# Edit the spec, not this file: `archc build` writes it again.",
                  f'"""{self.model.analysis.network}, compiled by archc."""', "",
                  "import torch", "from torch import nn", "", ""]
        support = [SUPPORT[name] for name in SUPPORT if name in self.support]
        source = "\n".join(header) + "\n" + "\n\n".join([*support, *self.sources])
        _check_inert(source)
        return Generated(source, self.network_class, sides)

    def _network_scope(self) -> Scope:
        """The network's own scope; built once (every block class checks against it)."""
        if self._net_scope is None:
            built, analysis = self.model.built, self.model.analysis
            self._net_scope = Scope(self.model.expanded.body, built.io, analysis.tensor_shapes,
                                    _node_index(built.nodes), _inputs(built.nodes), "",
                                    lambda layer: self._concrete_comment(layer.name))
        return self._net_scope

    def _concrete_comment(self, name: str) -> str:
        row = self.by_name.get(name)
        return f"line {row.line}: {fmt_shape(row.output)}" if row else ""

    # ---- block classes --------------------------------------------------------

    def _block_class(self, block: str) -> None:
        """Write `block`'s class once, after the classes of the blocks it calls."""
        if block in self.done:
            return
        self.done.add(block)
        for node in self.instances[block]:
            for inner in _walk(node.body):
                if isinstance(inner, BlockNode):
                    self._block_class(inner.block)
        try:
            source = self._symbolic_class(block)
        except (NotSymbolic, _Mismatch):
            for node in self.instances[block]:
                self._specialised_class(node)
            return
        self.sources.append(source)

    def _symbolic_class(self, block: str) -> str:
        definition = self.expander.blocks[block]
        name = self.class_names.fresh(class_name(block))
        self.block_classes[block] = name
        params = [(p.name, _param_name(p.name)) for p in definition.params]
        env: dict[str, Any] = {spec_name: Sym(py_name) for spec_name, py_name in params}
        instances = self.instances[block]
        rank = {len(self._input_shape(node)) for node in instances}
        if len(rank) != 1:
            raise NotSymbolic("calls with different ranks")
        env[INPUT] = (Sym("in_channels"), *self._input_shape(instances[0])[1:])
        before = len(self.expander.diagnostics)
        body = self.expander.block_body(block, env, self.defaults)
        if len(self.expander.diagnostics) != before:
            raise NotSymbolic("the body does not expand symbolically")
        scope = self._symbolic_scope(block, body, self._input_shape(instances[0]))
        self._check_against_instances(scope, instances, params)
        signature = [py + _annotation([node.args[spec] for node in instances])
                     for spec, py in params]
        doc = f"Block `{block}` (line {definition.span.line})."
        try:
            return self._class(name, doc, signature, scope, [])
        except NotSymbolic:
            del self.block_classes[block]
            raise

    def _symbolic_scope(self, block: str, body: list[TreeNode], first_input: tuple) -> Scope:
        # Channels are symbolic; spatial sizes are the first call's. Any constructor argument
        # that depends on them is then checked against every call by _check_against_instances.
        dims = (Sym("in_channels"), *first_input[1:])
        pseudo = ExpandedNetwork(block, dims, self.expander.blocks[block].span, body, 0,
                                 self.expander.blocks[block].span)
        built = build_graph(pseudo)
        if built.diagnostics:
            raise NotSymbolic("tensor names do not resolve")
        shapes: dict[int, tuple] = {0: dims}
        inputs = _inputs(built.nodes)
        for node, data in enumerate(built.nodes):
            if node:
                layer = data.layer
                try:
                    out = layer.kind.out_shape(layer.args, [shapes[i] for i in inputs[node]])
                    shapes[node] = out if isinstance(out, tuple) else tuple(out)
                except LayerError as exc:  # e.g. a broadcast that needs concrete sizes
                    raise NotSymbolic(exc.message) from None
        instances = self.instances[block]
        return Scope(body, built.io, shapes, _node_index(built.nodes), inputs, "",
                     lambda layer: self._instances_comment(instances, layer), allow_sides=False,
                     symbolic=True)

    def _instances_comment(self, instances: list[BlockNode], layer: LayerNode | BlockNode) -> str:
        """`line N: 8x32x32, 16x32x32`: the layer's (or nested block call's) output in each
        instance of the block; `line N` alone when no instance was analysed."""
        shapes = []
        for node in instances:
            row = self._output_row(f"{node.name}.{layer.name}")
            if row and fmt_shape(row.output) not in shapes:
                shapes.append(fmt_shape(row.output))
        more = ", ..." if len(shapes) > 3 else ""
        return f"line {layer.span.line}" + (": " + ", ".join(shapes[:3]) + more if shapes else "")

    def _output_row(self, name: str):
        """The analysed row of a layer, or of the last main-path layer inside a block call."""
        if self._last_rows is None:
            self._last_rows = {}
            for row in self.model.analysis.layers:
                if row.side is None:
                    parts = row.name.split(".")
                    for end in range(1, len(parts)):
                        self._last_rows[".".join(parts[:end])] = row
        return self.by_name.get(name) or self._last_rows.get(name)

    def _check_against_instances(self, scope: Scope, instances: list[BlockNode],
                                 params: list[tuple[str, str]]) -> None:
        """Every constructor argument, evaluated for each call, must equal the analyzer's."""
        symbolic = {node.name: self._signature(scope, node) for node in _walk_modules(scope.tree)}
        net = self._network_scope()
        for instance in instances:
            env = {py: instance.args[spec] for spec, py in params}
            env["in_channels"] = self._input_shape(instance)[0]
            concrete = {node.name[len(instance.name) + 1:]: self._signature(net, node)
                        for node in _walk_modules(instance.body)}
            if concrete.keys() != symbolic.keys():
                raise _Mismatch(instance.name)
            for name, expected in symbolic.items():
                if substitute(expected, env) != concrete[name]:
                    raise _Mismatch(name)

    def _signature(self, scope: Scope, node: Any) -> tuple:
        """What a module is built from: constructor and full arguments, or block and inputs."""
        if isinstance(node, BlockNode):
            source, _ = scope.io[id(node)]
            args = tuple(node.args[k] for k in sorted(node.args))
            return (node.block, scope.shapes[source][0], args)
        call = self._torch_call(scope, node)
        return (call.module, call.expr, tuple(call.args), tuple(sorted(call.kwargs.items())))

    def _specialised_class(self, node: BlockNode) -> None:
        """A class for one call of a block whose arguments could not stay symbolic; calls
        that come out identical share it."""
        definition = self.expander.blocks[node.block]
        scope = self._network_scope()
        scope = Scope(node.body, scope.io, scope.shapes, scope.node_of, scope.inputs_of,
                      node.name, scope.comment, allow_sides=False)
        base = class_name(node.block)
        doc = (f"Block `{node.block}` (line {definition.span.line}) with the arguments of "
               f"`{node.name}`.")
        body = self._class("@", "", [], scope, [])
        if body in self.specialised_by_body:
            self.instance_classes[id(node)] = self.specialised_by_body[body]
            return
        name = self.class_names.fresh(base + "_" + str(len(self.specialised_by_body) + 1))
        self.specialised_by_body[body] = name
        self.instance_classes[id(node)] = name
        self.sources.append(self._class(name, doc, [], scope, []))

    def _input_shape(self, node: BlockNode) -> tuple:
        source, _ = self.model.built.io[id(node)]
        return self.model.analysis.tensor_shapes[source]

    # ---- one class ---------------------------------------------------------------

    def _class(self, name: str, doc: str, params: list[str], scope: Scope,
               sides: list[str]) -> str:
        modules = Container()
        inits: list[str] = []
        slots: dict[int, tuple[Slot, TorchCall]] = {}
        for node in _walk_modules(scope.tree):
            self._place(scope, node, modules, inits, slots)
        forward, inplace = self._forward(scope, modules, sides)
        # a module applied `again` runs on other tensors too: it never works in place
        reused = _reused(scope.tree)
        inplace -= {id(n) for n in _walk(scope.tree, into_blocks=False)
                    if isinstance(n, LayerNode) and n.name in reused}
        for layer in inplace:  # activations that may overwrite their input: no copy per call
            if layer not in slots:
                continue
            slot, call = slots[layer]
            slot.expr = _call_text(TorchCall(call.module, call.args,
                                             {**call.kwargs, "inplace": True}))
        takes_channels = bool(params) or (scope.prefix == "" and name != self.network_class)
        signature = ", ".join(["self", *(["in_channels: int"] if takes_channels else []),
                               *params])
        lines = [f"class {name}(nn.Module):", f'{INDENT}"""{doc}"""', "",
                 f"{INDENT}def __init__({signature}) -> None:", f"{INDENT * 2}super().__init__()"]
        for key, child in modules.children.items():
            lines += _assign(key, child, INDENT * 2)
        lines += [INDENT * 2 + line for line in inits]
        lines += ["", *forward]
        return "\n".join(lines) + "\n"

    def _place(self, scope: Scope, node: Any, modules: Container, inits: list[str],
               slots: dict[int, tuple[Slot, TorchCall]]) -> None:
        path = [attribute(p) for p in node.name[len(scope.prefix):].lstrip(".").split(".")]
        if isinstance(node, BlockNode):
            shape = self._block_out(scope, node)
            slot = Slot(self._instance_expr(scope, node),
                        f"line {node.span.line}: {shape}" if shape else scope.comment(node))
        else:
            call = self._torch_call(scope, node)
            if call.module is None:  # a merge: an expression in forward, not a submodule
                return
            if node.kind.parameter and len(path) != 1:
                raise Unsupported(f"`{node.name}` is a parameter of its block or network and "
                                  "cannot sit inside a container; move it out of the { }", node)
            text = _call_text(call)
            slot = Slot(f"nn.Parameter({text})" if node.kind.parameter else text,
                        scope.comment(node))
            slots[id(node)] = (slot, call)
            access = _access(path, modules) if len(path) == 1 else _getattr_path(path)
            for statement in node.kind.torch_init(node.args):
                inits.append(statement.format(m=access))
        target = modules
        for part in path[:-1]:
            target = target.children.setdefault(part, Container())
            if not isinstance(target, Container):
                raise Unsupported(f"`{node.name}` nests inside a layer", node)
        if path[-1] in target.children:
            raise Unsupported(f"two modules are both named `{node.name}`", node)
        target.children[path[-1]] = slot

    def _block_out(self, scope: Scope, node: BlockNode) -> str:
        _, out = scope.io[id(node)]
        shape = scope.shapes[out]
        return fmt_shape(shape) if all(isinstance(d, int) for d in shape) else ""

    def _instance_expr(self, scope: Scope, node: BlockNode) -> str:
        if id(node) in self.instance_classes:
            return f"{self.instance_classes[id(node)]}()"
        if node.block not in self.block_classes:
            if scope.symbolic:
                raise NotSymbolic(f"block `{node.block}` has no symbolic class")
            self._specialised_class(node)
            return f"{self.instance_classes[id(node)]}()"
        source, _ = scope.io[id(node)]
        channels = scope.shapes[source][0]
        definition = self.expander.blocks[node.block]
        args = [_value(channels)]
        args += [f"{_param_name(p.name)}={_value(node.args[p.name])}" for p in definition.params]
        return f"{self.block_classes[node.block]}({', '.join(args)})"

    def _torch_call(self, scope: Scope, layer: LayerNode) -> TorchCall:
        node = scope.node_of[id(layer)]
        shapes = [scope.shapes[i] for i in scope.inputs_of[node]]
        call = layer.kind.torch(layer.args, shapes)
        self.support.update(call.support)
        return call

    # ---- forward ------------------------------------------------------------------

    def _forward(self, scope: Scope, modules: Container,
                 sides: list[str]) -> tuple[list[str], set[int]]:
        writer = _Forward(self, scope, modules)
        out = writer.items(scope.tree, "x")
        returns = "torch.Tensor"
        body = writer.lines
        if writer.sides:
            names = ", ".join([out, *writer.sides])
            body += [f"if self.training:  # side outputs: {', '.join(sides)}",
                     f"{INDENT}return {names}"]
            returns = "torch.Tensor | tuple[torch.Tensor, ...]"
        body.append(f"return {out}")
        return [f"{INDENT}def forward(self, x: torch.Tensor) -> {returns}:",
                *(INDENT * 2 + line if line else "" for line in body)], writer.inplace


class _Forward:
    """Writes `forward`: a statement per layer, tensors in local variables."""

    def __init__(self, gen: Generator, scope: Scope, modules: Container) -> None:
        self.gen, self.scope, self.modules = gen, scope, modules
        self.lines: list[str] = []
        self.names = Namer()
        self.saved: dict[str, str] = {}
        self.sides: list[str] = []
        self.depth = 0
        # variable -> kind whose `fresh_output` tensor it holds, while no other variable holds it
        self.fresh: dict[str, LayerKind | None] = {}
        self.inplace: set[int] = set()  # id(LayerNode) of activations that may work in place

    def emit(self, line: str) -> None:
        self.lines.append(INDENT * self.depth + line)

    def path(self, name: str) -> list[str]:
        return [attribute(p) for p in name[len(self.scope.prefix):].lstrip(".").split(".")]

    def module(self, node: LayerNode | SeqNode | BlockNode) -> str:
        """How forward reaches the node's module (the first one's, for a module used `again`)."""
        return _access(self.path(node.shared or node.name), self.modules)

    def items(self, nodes: list[TreeNode], var: str) -> str:
        for node in nodes:
            var = self.node(node, var)
        return var

    def node(self, node: TreeNode, var: str) -> str:
        if isinstance(node, LayerNode):
            return self.layer(node, var)
        if isinstance(node, BlockNode):
            self.emit(f"{var} = {self.module(node)}({var})")
            self.fresh[var] = None
            return var
        if isinstance(node, SeqNode):
            lead = _leading_views(node)
            rest = node.children[lead:]
            if rest and _chain(SeqNode(node.name, rest, node.indexed, node.span, node.shared)):
                var = self.items(node.children[:lead], var)  # e.g. chunk, then the Sequential
                self.emit(f"{var} = {self.module(node)}({var})")
                self.fresh[var] = self.chain(rest, self.fresh.get(var))
                return var
            return self.items(node.children, var)
        if isinstance(node, ResidualNode):
            return self.residual(node, var)
        if isinstance(node, ConcatNode):
            return self.concat(node, var)
        if isinstance(node, SideNode):
            return self.side(node, var)
        if isinstance(node, SaveNode):
            saved = self.names.fresh(node.name)
            self.emit(f"{saved} = {var}")
            self.shared(saved, var)
            self.saved[node.name] = saved
            return var
        raise TypeError(node)

    def layer(self, layer: LayerNode, var: str, inputs: list[str] | None = None) -> str:
        call = self.gen._torch_call(self.scope, layer)
        access = self.module(layer)
        if call.module is not None and not layer.kind.parameter:
            self.emit(f"{var} = {access}({var})")
            self.fresh[var] = self.chain([layer], self.fresh.get(var))
            return var
        if any(isinstance(a, Sym) for a in call.args):  # forward cannot see __init__'s values
            raise NotSymbolic(f"`{layer.name}` writes a block parameter into forward")
        inputs = inputs or merge_inputs(var, layer.refs, self.saved)
        expr = call.expr.format(*inputs, inputs=", ".join(inputs), param=access,
                                args=[_value(a) for a in call.args])
        self.emit(f"{var} = {expr}")
        self.fresh[var] = layer.kind
        return var

    def shared(self, *names: str) -> None:
        """These variables now hold the same tensor: nothing may overwrite it in place."""
        for name in names:
            self.fresh[name] = None

    def chain(self, children: list[TreeNode], producer: LayerKind | None) -> LayerKind | None:
        """Mark the activations of a chain that may overwrite their input: those reading a new
        tensor that only they hold and that autograd does not keep (a conv, BN, sum, ...
        output). Returns the kind producing the chain's output, if such a layer."""
        for child in children:
            if not isinstance(child, LayerNode):
                producer = self.chain(child.children, producer) if isinstance(
                    child, SeqNode) else None
                continue
            if child.kind.inplace_arg and producer is not None and producer.fresh_output:
                self.inplace.add(id(child))
            producer = child.kind
        return producer

    def residual(self, node: ResidualNode, var: str) -> str:
        skip = self.names.fresh("identity")
        self.emit(f"{skip} = {var}")
        self.shared(skip, var)
        out = self.items(node.body, var)
        if node.shortcut is not None:
            skip = self.node(node.shortcut, skip)
        return self.layer(node.add, out, [out, skip])

    def concat(self, node: ConcatNode, var: str) -> str:
        outs = []
        self.shared(var)  # every branch reads it
        for branch in node.branches:
            name = self.names.fresh(branch.name.rsplit(".", 1)[-1])
            if not branch.children:
                outs.append(var)
                continue
            if _chain(branch):
                self.emit(f"{name} = {self.module(branch)}({var})")
                self.fresh[name] = self.chain(branch.children, None)
                outs.append(name)
                continue
            self.emit(f"{name} = {var}")
            self.shared(name, var)
            outs.append(self.node(branch, name))
        return self.layer(node.cat, var, outs)

    def side(self, node: SideNode, var: str) -> str:
        if not self.scope.allow_sides:
            raise Unsupported("side outputs inside a block cannot be returned; move "
                              f"`side {node.name.rsplit('.', 1)[-1]}` into the network", node)
        name = self.names.fresh(node.name.rsplit(".", 1)[-1])
        if self.depth >= MAX_SOURCE_NESTING:
            raise Unsupported(f"side outputs nested more than {MAX_SOURCE_NESTING} deep cannot be "
                              "written as Python (its parser stops at 100 levels)", node)
        self.emit("if self.training:")
        self.depth += 1
        self.emit(f"{name} = {var}")
        self.shared(name, var)
        outer = dict(self.saved)  # what the head saves is its own (as in archc.graph)
        self.items(node.body, name)
        self.saved = outer
        self.depth -= 1
        self.sides.append(name)
        return var


class _Mismatch(Exception):
    pass


# ---- helpers ----------------------------------------------------------------------

def _walk(nodes: list[TreeNode], into_blocks: bool = True):
    """Every tree node in dataflow order, containers and merges included; with
    `into_blocks=False` a block call's body is left out (it belongs to another class)."""
    for node in nodes:
        yield node
        if isinstance(node, SeqNode):
            yield from _walk(node.children, into_blocks)
        elif isinstance(node, BlockNode) and into_blocks:
            yield from _walk(node.body, into_blocks)
        elif isinstance(node, ResidualNode):  # modules in the order written
            at = len(node.body) if node.shortcut_at is None else node.shortcut_at
            yield from _walk(node.body[:at], into_blocks)
            if node.shortcut:
                yield from _walk([node.shortcut], into_blocks)
            yield from _walk(node.body[at:], into_blocks)
            yield node.add
        elif isinstance(node, ConcatNode):
            yield from _walk(node.branches, into_blocks)
            yield node.cat
        elif isinstance(node, SideNode):
            yield from _walk(node.body, into_blocks)


def _walk_modules(nodes: list[TreeNode]):
    """Layers and block calls of one class, not descending into block calls; a module applied
    `again` is the first one's, not one more."""
    return (n for n in _walk(nodes, into_blocks=False)
            if isinstance(n, (LayerNode, BlockNode)) and n.shared is None)


def _reused(nodes: list[TreeNode]) -> set[str]:
    """The names of the modules of one class that are applied `again`."""
    return {n.shared for n in _walk(nodes, into_blocks=False)
            if isinstance(n, (LayerNode, BlockNode)) and n.shared is not None}


def is_module(node: LayerNode) -> bool:
    """Whether a layer is an nn.Module in the emitted code (merges, views such as `chunk` and
    parameters are expressions in forward)."""
    return node.kind.module_slot


def _layers(nodes: list[TreeNode]):
    return [n for n in _walk_modules(nodes) if isinstance(n, LayerNode) and is_module(n)]


def _block_instances(nodes: list[TreeNode]) -> dict[str, list[BlockNode]]:
    found: dict[str, list[BlockNode]] = {}
    for node in _walk(nodes):
        if isinstance(node, BlockNode) and node.shared is None:
            found.setdefault(node.block, []).append(node)
    return found


def _chain(node: SeqNode) -> bool:
    """A container whose children simply follow each other: callable as one nn.Sequential."""
    if not node.indexed:  # named children: a ModuleDict, called child by child
        return False
    for child in node.children:
        if getattr(child, "shared", None) is not None and node.shared is None:
            return False  # a module used `again` is not one more item of the Sequential
        if isinstance(child, SeqNode):
            if not (child.children and _chain(child)):
                return False
        elif not (isinstance(child, BlockNode) or (isinstance(child, LayerNode)
                                                    and is_module(child))):
            return False
    return True


def _leading_views(node: SeqNode) -> int:
    """How many of a container's first children are expressions on its input alone (`chunk`):
    written before the call of the nn.Sequential holding the rest."""
    count = 0
    for child in node.children:
        if not (isinstance(child, LayerNode) and child.kind is not None and child.kind.in_forward
                and not child.refs):
            break
        count += 1
    return count


def _node_index(nodes: list[GraphNode]) -> dict[int, int]:
    return {id(data.layer): node for node, data in enumerate(nodes) if node}


def _inputs(nodes: list[GraphNode]) -> dict[int, list[int]]:
    return {node: data.inputs for node, data in enumerate(nodes)}


def _access(path: list[str], modules: Container) -> str:
    text, container = "self", modules
    for part in path:
        if isinstance(container, Container) and part.isdigit() and container.sequential:
            text += f"[{part}]"
        elif isinstance(container, Container) and container is not modules:
            text += f"[{part!r}]"
        elif is_safe(part):
            text += f".{part}"
        else:  # only at the top: inside containers, keys are quoted
            text = f"{text}.get_submodule({part!r})"
        container = container.children.get(part) if isinstance(container, Container) else None
    return text


def _getattr_path(path: list[str]) -> str:
    """`self.a.b`, or get_submodule('a.0.block1-0') where a part is not an identifier."""
    if all(is_safe(part) for part in path):
        return "self." + ".".join(path)
    return f"self.get_submodule({'.'.join(path)!r})"


def _assign(key: str, child: Any, indent: str) -> list[str]:
    """`self.key = ...`, or self.add_module('key', ...) for a key that is no identifier."""
    lines = _render(child, indent)
    if is_safe(key):
        lines[0] = f"{indent}self.{key} = {lines[0].lstrip()}"
        return lines
    lines[0] = f"{indent}self.add_module({key!r}, {lines[0].lstrip()}"
    code, sep, comment = lines[-1].partition("  # ")
    lines[-1] = code + ")" + (sep + comment if sep else "")
    return lines


def _render(child: Any, indent: str) -> list[str]:
    """An nn.Sequential (numbered children) or nn.ModuleDict (named), one child per line."""
    if isinstance(child, Slot):
        return [indent + child.expr + (f"  # {child.comment}" if child.comment else "")]
    if len(indent) > len(INDENT) * (MAX_SOURCE_NESTING + 2):
        raise Unsupported(f"modules nested more than {MAX_SOURCE_NESTING} deep cannot be written "
                          "as Python (its parser stops at 200 nested brackets)", None)
    inner = indent + INDENT
    if child.sequential:
        lines = [indent + "nn.Sequential("]
        for grandchild in child.children.values():
            rendered = _render(grandchild, inner)
            lines += _with_comma(rendered)
        return [*lines, indent + ")"]
    lines = [indent + "nn.ModuleDict({"]
    for key, grandchild in child.children.items():
        rendered = _render(grandchild, inner)
        rendered[0] = f"{inner}{key!r}: {rendered[0].lstrip()}"
        lines += _with_comma(rendered)
    return [*lines, indent + "})"]


def _with_comma(lines: list[str]) -> list[str]:
    last = lines[-1]
    code, sep, comment = last.partition("  # ")
    lines[-1] = code + "," + (sep + comment if sep else "")
    return lines


def _call_text(call: TorchCall) -> str:
    args = [_value(a) for a in call.args]
    args += [f"{k}={_value(v)}" for k, v in call.written_kwargs().items()]
    return f"{call.module}({', '.join(args)})"


def _value(value: Any) -> str:
    """Python source for an argument value; strings go through repr, never raw."""
    if isinstance(value, Sym):
        return value.text
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, (int, float, str)):
        return repr(value)
    if isinstance(value, tuple):
        inner = ", ".join(_value(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    raise NotSymbolic(f"cannot write {value!r}")


def _annotation(values: list[Any]) -> str:
    kinds = {type(v) for v in values}
    return f": {kinds.pop().__name__}" if len(kinds) == 1 and kinds <= {int, float, bool} else ""


def _block_parameters(spec) -> set[str]:
    return {param.name for block in spec.blocks for param in block.params}


def _param_name(name: str) -> str:
    return name if is_safe(name) and name not in GENERATED_GLOBALS else f"p_{name}"


def _comment_text(text: str) -> str:
    """Spec-derived text for a comment: printable ASCII only, everything else escaped as in a
    Python literal (`\\r`, `\\x0c`, `\\u2028`), so no byte of it ends the comment or the line."""
    return "".join(c if " " <= c <= "~" else ascii(c)[1:-1] for c in text)


def _check_inert(source: str) -> None:
    """The emitted file is printable text and newlines only, under a fixed coding line: no
    spec text can pick the decoding (PEP 263 reads lines 1-2) or break a line where Python
    would and a reader would not (`\\r`, form feed, NUL, U+2028: none is printable). Quoted
    labels may be non-ASCII, and only inside string literals (written with repr), which the
    UTF-8 coding line makes safe. A failure is a bug here."""
    bad = next((i for i, c in enumerate(source) if not (c.isprintable() or c == "\n")), None)
    if not source.startswith(CODING_LINE + "\n") or bad is not None:
        raise Unsupported(f"internal error: unsafe character {source[bad]!r} in the emitted "
                          "source" if bad is not None else "internal error: no coding line",
                          None)
    if not source.startswith(CODING_LINE + "\n") or bad is not None:
        raise Unsupported(f"internal error: unsafe character {source[bad]!r} in the emitted "
                          "source" if bad is not None else "internal error: no coding line",
                          None)
