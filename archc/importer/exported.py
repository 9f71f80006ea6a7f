"""`archc import model.pt2`: a torch.export program (ATen operations, parameters lifted to
inputs) turned back into what the module importer maps, then emitted the same way.

An exported graph keeps, for every operation, the stack of modules that ran it
(`nn_module_stack`: path and class name) and the state_dict names of the tensors it reads
(`graph_signature`). From these the translation rebuilds

- a module tree with the original paths: the module a layer operation belongs to is rebuilt as
  the torch module PyTorch would hold (`aten.conv2d` with the weight `layer1.0.conv1.weight` ->
  `nn.Conv2d` at `layer1.0.conv1`, its hyper-parameters from the operation's arguments and the
  weight's shape); every other module is an empty stand-in of a class named like the original
  (one class per original class, so that instances become one block), containers as
  containers;
- an fx graph in the vocabulary of symbolic tracing: `call_module` for those layers, torch
  functions (`torch.relu`, `operator.add`, `torch.cat`, `x.view(...)`) for the rest,

and hands both to the module importer's Emitter. The tree loads the program's state_dict
strictly, and (with verification) the rebuilt graph must compute what the program computes on
its example input, so a wrong translation is an error, never a wrong spec.
"""

from __future__ import annotations

import importlib
import logging
import operator
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.fx as fx
from torch import nn

from archc.importer.api import _unique, spec_from_graph
from archc.importer.emit import channel_shuffle
from archc.importer.mapping import _no_arg_classes
from archc.importer.trace import ImportFailure, Problem, user_line
from archc.layers.aliases import KIND_ALIASES, TORCHVISION_ALIASES

F = nn.functional
Shape = tuple[int, ...]


class ProgramError(ValueError):
    """The file is no exported program, or not one for the input asked for."""


def load_program(path: str):
    """The ExportedProgram in `path`; any failure is an ImportFailure (torch.export.load logs a
    traceback of its own before trying an older format: silenced)."""
    logger = logging.getLogger("torch.export")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return torch.export.load(path)
    except FileNotFoundError:
        raise ProgramError("no such file") from None
    except Exception as exc:  # a zip that is not an archive, a truncated file, a newer schema
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ProgramError(f"not a torch.export archive that torch {torch.__version__} can read "
                           f"({reason})") from None
    finally:
        logger.setLevel(level)


def from_exported(program, input_shape: Shape | None = None, verify: bool = True) -> str:
    """The spec text of an ExportedProgram; its example input gives the input shape (a
    different `input_shape` is an error)."""
    translation = Translation(program)
    shape = translation.sample_shape()
    if input_shape is not None and tuple(input_shape) != shape:
        raise ProgramError(
            f"the program was exported for a {'x'.join(map(str, shape))} input, not "
            f"{'x'.join(map(str, input_shape))} (an exported program is fixed to its shapes; "
            "leave out --input)")
    gm, model = translation.run()
    if verify:
        translation.compare(gm)
    return spec_from_graph(model, gm, translation.root_class.rsplit(".", 1)[-1], tuple(shape),
                           verify)


# ---- what one ATen operation is ----------------------------------------------------------
@dataclass
class Form:
    """An operation as the module PyTorch holds for it (with the state_dict names of the
    tensors it reads) and/or as a function call symbolic tracing would record."""

    module: nn.Module | None = None
    state: dict[str, str | None] = field(default_factory=dict)  # attribute -> state_dict name
    function: Any = None  # callable, or a Tensor method name
    args: tuple = ()  # fx nodes of the exported graph, or plain values
    kwargs: dict = field(default_factory=dict)

    @property
    def stateful(self) -> bool:
        return any(self.state.values())


class _Missing(Exception):
    """An operand whose operation was not translated."""


class Untranslatable(Exception):
    """An operation the translation cannot express (its message says why, if it knows)."""


IDENTITY = {"clone", "contiguous", "alias", "detach", "lift_fresh_copy"}


class Translation:
    def __init__(self, program) -> None:
        self.ep = program
        sig = program.graph_signature
        self.state_of = {**sig.inputs_to_parameters, **sig.inputs_to_buffers}
        self.parameters = set(sig.inputs_to_parameters.values())
        self.problems: list[Problem] = []
        placeholders = [n for n in program.graph.nodes if n.op == "placeholder"]
        users = [n for n in placeholders if n.name in sig.user_inputs]
        self.output = next(n for n in program.graph.nodes if n.op == "output")
        if len(users) != 1 or len(sig.user_outputs) != 1:
            raise ImportFailure([Problem(f"the program takes {len(users)} inputs and returns "
                                         f"{len(sig.user_outputs)} outputs; archc networks map "
                                         "one tensor to one", "", "")])
        if sig.buffers_to_mutate or sig.user_inputs_to_mutate:
            raise ImportFailure([Problem(
                "the program updates buffers (batch-norm statistics): it was exported in "
                "training mode; export `model.eval()`", "", "")])
        self.x = users[0]
        self.root_class = "Net"
        self.classes: dict[str, str] = {}  # module path -> original class name
        self.order: dict[str, int] = {}
        for node in program.graph.nodes:
            for key, (path, cls) in (node.meta.get("nn_module_stack") or {}).items():
                if path == "" and key.startswith("L__self__") and "." not in key:
                    self.root_class = str(cls)
                else:
                    self.classes.setdefault(path, str(cls))
                    self.order.setdefault(path, len(self.order))

    # ---- shapes -------------------------------------------------------------------------
    def example_shape(self) -> Shape:
        val = self.x.meta.get("val")
        shape = tuple(val.shape) if val is not None else ()
        if all(isinstance(d, int) for d in shape) and len(shape) >= 2:
            return shape
        examples = getattr(self.ep, "example_inputs", None)
        if examples and examples[0] and isinstance(examples[0][0], torch.Tensor):
            shape = tuple(examples[0][0].shape)
            if len(shape) >= 2:
                return shape
        raise ImportFailure([Problem("the program's input has symbolic sizes and the archive "
                                     "holds no example input", "", "")])

    def sample_shape(self) -> Shape:
        return self.example_shape()[1:]

    # ---- the translation ----------------------------------------------------------------
    def run(self) -> tuple[fx.GraphModule, nn.Module]:
        graph = fx.Graph()
        self.graph = graph
        self.env: dict[fx.Node, Any] = {}
        self.latest: dict[fx.Node, fx.Node] = {}  # a tensor mutated in place -> its new value
        self.leaves: dict[str, nn.Module] = {}
        self.used_state: set[str] = set()
        live = self.live = self._live()
        groups = self._groups(live)
        self.env[self.x] = graph.placeholder("x")
        self.env[self.x].meta["_source"] = self.x
        for node in self.ep.graph.nodes:
            if node not in live or node.op != "call_function":
                continue
            group = groups.get(node)
            try:
                if group is not None:
                    self._emit(group, node)
                else:
                    self._single(node)
            except _Missing as exc:  # follows from a problem already listed, else internal
                if not self.problems:
                    self._problem(node, f"internal: `{exc}` used before it is computed")
        out = self.output.args[0]
        out = out[0] if isinstance(out, (tuple, list)) else out
        if not self.problems:
            graph.output(self._value(out))
        if self.problems:
            raise ImportFailure(_unique(self.problems))
        model = self._tree()
        gm = fx.GraphModule(model, graph, "exported")
        gm.eval()
        self._shapes(gm)
        return gm, model

    def _live(self) -> set:
        """Operations that depend on the input and reach the output; weight transforms (the
        transposed weight of an addmm) are read by the operation that uses them."""
        depends = self.depends = {self.x}
        for node in self.ep.graph.nodes:
            if node.op == "call_function" and any(a in depends for a in node.all_input_nodes):
                depends.add(node)
        live: set = set()
        _add_sources(self.output, depends, live)
        for node in self.ep.graph.nodes:  # in-place updates of live tensors
            if node in depends and _mutates(node) and node.args and node.args[0] in live:
                live.add(node)
                _add_sources(node, depends, live)
        live.discard(self.x)
        return live

    # ---- one module's operations --------------------------------------------------------
    def _groups(self, live: set) -> dict:
        """Operations run directly by a module whose class archc knows as one layer (Conv2d,
        ReLU, a LayerNorm2d that permutes around its layer_norm), by call."""
        by_key: dict[str, Group] = {}
        for node in self.ep.graph.nodes:
            if node not in live or node.op != "call_function":
                continue
            stack = _stack(node)
            if not stack:
                continue
            key, path, cls = stack[-1]
            by_key.setdefault(key, Group(key, path, cls, stack, [])).nodes.append(node)
        out = {}
        for group in by_key.values():
            for node in group.nodes:
                out[node] = group
        return out

    def _plan(self, group: Group) -> None:
        """Decide once per module call: one `call_module` (emitted where its output is
        computed), each operation on its own, or a problem."""
        ops = [n for n in group.nodes if not self._identity(n)]
        for node in ops:
            try:
                group.forms[node] = self.form(node)
            except Untranslatable as exc:
                group.forms[node] = exc
        forms = group.forms
        stateful = [n for n in ops if isinstance(forms[n], Form) and forms[n].stateful]
        short = group.cls.rsplit(".", 1)[-1]
        group.plan = "each"
        if len(ops) == 1 and isinstance(forms[ops[0]], Form) and forms[ops[0]].module:
            form = forms[ops[0]]
            owner = _owner(form)
            if (owner == group.path and form.stateful) or (
                    not form.stateful and type(form.module).__name__ == short):
                self._as_module(group, ops[0], form.module, form)
                return
            if form.stateful:
                group.plan = "failed"
                self._problem(ops[0], f"`{_op(ops[0])}` reads the parameters of module "
                                      f"`{owner or '<root>'}` directly (archc writes a layer "
                                      "as a module of its own)")
                return
        if stateful:
            module = self._collapse(group, [forms[n] for n in stateful])
            if module is None:
                group.plan = "failed"
                names = ", ".join(f"`{_op(n)}`" for n in ops)
                self._problem(ops[-1], f"the {short} runs {names}; archc maps a module with "
                                       "parameters only as one layer")
                return
            self._as_module(group, stateful[0], module, forms[stateful[0]])

    def _as_module(self, group: Group, node, module: nn.Module, form: Form) -> None:
        inputs, outputs = self._io(group)
        if len(inputs) != 1 or len(outputs) != 1:
            group.plan = "failed"
            self._problem(node, f"the module takes {len(inputs)} tensors and returns "
                                f"{len(outputs)}; archc layers map one tensor to one")
            return
        group.plan = "module"
        group.module, group.form, group.input, group.anchor = module, form, inputs[0], outputs[0]
        group.first = node

    def _emit(self, group: Group, node) -> None:
        if group.plan is None:
            self._plan(group)
        if group.plan == "each":
            self._single(node, group.forms.get(node))
        elif group.plan == "module" and node is group.anchor:
            self._call_module(group)

    def _collapse(self, group: Group, forms: list[Form]) -> nn.Module | None:
        """A subclass of a torch layer that wraps its one operation in others of its own
        (torchvision's LayerNorm2d permutes around layer_norm): the subclass, holding the
        layer's attributes. The comparison of outputs checks the trust put in its forward."""
        if len(forms) != 1 or _owner(forms[0]) != group.path:
            return None
        real = _resolve(group.cls)
        base = type(forms[0].module)
        if real is None or real is base or not issubclass(real, base):
            return None
        module = real.__new__(real)
        module.__dict__.update(forms[0].module.__dict__)
        return module

    def _call_module(self, group: Group) -> None:
        self._place(group.path, group.module, group.form)
        new = self.graph.call_module(group.path, (self._value(group.input),))
        new.meta["nn_module_stack"] = {k: (p, c) for k, p, c in group.stack}
        new.meta["stack_trace"] = group.first.meta.get("stack_trace")
        new.meta["_source"] = group.anchor
        for member in group.nodes:
            self.env[member] = new
            if _mutates(member):
                self.latest[member.args[0]] = member

    def _io(self, group: Group) -> tuple[list, list]:
        members = set(group.nodes)
        inputs, outputs = [], []
        for node in group.nodes:
            for arg in node.all_input_nodes:
                if arg not in members and arg not in inputs and (
                        arg is self.x or arg.op == "call_function"):
                    if arg.op == "call_function" and not self._dependent(arg):
                        continue
                    inputs.append(arg)
            outside = [u for u in node.users if u not in members and (
                u in self.live or u.op == "output")]
            if outside and node not in outputs:
                outputs.append(node)
        return inputs, outputs

    def _dependent(self, node) -> bool:
        return node in self.depends

    def _place(self, path: str, module: nn.Module, form: Form) -> None:
        if path in self.leaves and self.leaves[path] is not module:
            if _signature(self.leaves[path]) != _signature(module):
                raise ImportFailure([Problem("the module is called twice with different "
                                             "arguments", path, "")])
            return
        self.leaves[path] = module
        self.used_state |= {v for v in form.state.values() if v}

    # ---- one operation ------------------------------------------------------------------
    def _single(self, node, form: Form | Exception | None = None) -> None:
        if self._identity(node):
            self.env[node] = self._value(node.args[0])
            return
        if form is None:
            try:
                form = self.form(node)
            except Untranslatable as exc:
                form = exc
        if isinstance(form, Exception) or form.function is None or form.stateful:
            why = f": {form}" if isinstance(form, Exception) and str(form) else ""
            if isinstance(form, Form) and form.stateful:
                why = (f": it reads the parameters of module `{_owner(form) or '<root>'}` "
                       "directly (archc writes a layer as a module of its own)")
            self._problem(node, f"unsupported operation `{_op(node)}`{why}")
            return
        args = tuple(self._arg(a) for a in form.args)
        kwargs = {k: self._arg(v) for k, v in form.kwargs.items()}
        if isinstance(form.function, str):
            new = self.graph.call_method(form.function, args, kwargs)
        else:
            new = self.graph.call_function(form.function, args, kwargs)
        stack = _stack(node)
        new.meta["nn_module_stack"] = {k: (p, c) for k, p, c in stack}
        new.meta["stack_trace"] = node.meta.get("stack_trace")
        new.meta["_source"] = node
        self.env[node] = new
        if _mutates(node):
            self.latest[node.args[0]] = node

    def _identity(self, node) -> bool:
        name = _packet(node)
        if name in IDENTITY:
            src = node.args[0] if node.args else None
            # view -> transpose -> contiguous -> view is a channel shuffle: keep that one
            return not (name in ("clone", "contiguous") and _packet(src) == "transpose")
        if node.target is operator.getitem:
            return node.args[1] == 0 and _packet(node.args[0]) in TUPLES
        if name in ("view", "reshape", "_unsafe_view", "flatten"):  # one that changes nothing
            before, after = node.args[0].meta.get("val"), node.meta.get("val")
            return (before is not None and after is not None
                    and tuple(before.shape) == tuple(after.shape))
        return False

    def _arg(self, value):
        if isinstance(value, fx.Node):
            return self._value(value)
        if isinstance(value, (list, tuple)):
            return type(value)(self._arg(v) for v in value)
        return value

    def _value(self, node):
        while node in self.latest:
            node = self.latest[node]
        if node in self.env:
            return self.env[node]
        if node.op == "placeholder" and node.name in self.state_of:
            name = self.state_of[node.name]
            self.used_state.add(name)
            new = self.graph.get_attr(name)
            new.meta["_source"] = node
            self.env[node] = new
            return new
        raise _Missing(node.name)

    def _problem(self, node, what: str) -> None:
        stack = _stack(node)
        path = stack[-1][1] if stack else ""
        self.problems.append(Problem(what, path, user_line(node.meta.get("stack_trace"))))

    def form(self, node) -> Form:
        if node.target is operator.getitem:
            return getitem(self, node, {})
        handler = HANDLERS.get(_packet(node))
        if handler is None:
            raise Untranslatable()
        return handler(self, node, _bound(node))

    # ---- the module tree ----------------------------------------------------------------
    def _tree(self) -> nn.Module:
        root = _stand_in(self.root_class)
        state = self.ep.state_dict
        owners = [name.rpartition(".")[0] for name in state]
        paths = list(dict.fromkeys([*self.order, *self.leaves, *owners]))
        full = set()
        for path in paths:
            parts = path.split(".") if path else []
            full |= {".".join(parts[:i]) for i in range(1, len(parts) + 1)}
        ordered = sorted(full, key=lambda p: (p.count("."), self._rank(p, paths)))
        made: dict[str, nn.Module] = {"": root}
        for path in ordered:
            parent, _, name = path.rpartition(".")
            if path in self.leaves:
                module = self.leaves[path]
            elif path in self.classes:
                module = _stand_in(self.classes[path])
            else:  # never called itself (a ModuleList run in a loop)
                children = {p.rpartition(".")[2] for p in full if p.rpartition(".")[0] == path}
                module = nn.ModuleList() if all(c.isdigit() for c in children) else (
                    nn.ModuleDict())
            made[parent].add_module(name, module)
            made[path] = module
        for name, tensor in state.items():
            owner, _, attr = name.rpartition(".")
            module = made[owner]
            if attr in module._parameters or attr in module._buffers:
                continue
            if name in self.parameters:
                empty = torch.empty_like(tensor, device="meta")
                module.register_parameter(attr, nn.Parameter(empty, tensor.requires_grad))
            else:
                module.register_buffer(attr, torch.empty_like(tensor, device="meta"))
        try:
            root.load_state_dict(state, strict=True, assign=True)
        except RuntimeError as exc:
            raise ImportFailure([Problem(f"internal: the rebuilt modules do not hold the "
                                         f"program's state ({str(exc).splitlines()[0]})", "",
                                         "")]) from None
        for name, tensor in (getattr(self.ep, "constants", None) or {}).items():
            if isinstance(tensor, torch.Tensor) and "." in name:
                owner, _, attr = name.rpartition(".")
                if owner in made and not hasattr(made[owner], attr):
                    made[owner].register_buffer(attr, tensor, persistent=False)
        return root

    def _rank(self, path: str, paths: list[str]) -> tuple:
        """Siblings in their module's order: numbered children by number, others as first
        met (call order, then state order)."""
        name = path.rpartition(".")[2]
        first = next((i for i, p in enumerate(paths) if p == path or p.startswith(path + ".")),
                     len(paths))
        return (int(name), first) if name.isdigit() else (1 << 30, first)

    def _shapes(self, gm: fx.GraphModule) -> None:
        """Every value's shape: the program's own record of it where all sizes are static
        (no second propagation), else propagated on fake tensors at the example's shape."""
        metas = {n: _recorded(n.meta.get("_source")) for n in gm.graph.nodes if n.op != "output"}
        if all(m is not None for m in metas.values()):
            for node, meta in metas.items():
                node.meta["tensor_meta"] = meta
            return
        from torch._subclasses.fake_tensor import FakeTensorMode
        from torch.fx.passes.shape_prop import ShapeProp

        mode = FakeTensorMode(allow_non_fake_inputs=True)
        with mode:
            example = torch.empty(self.example_shape())
        try:
            ShapeProp(gm, fake_mode=mode).propagate(example)
        except Exception as exc:
            raise ImportFailure([Problem(f"internal: the rebuilt graph fails: {exc}", "",
                                         "")]) from None

    def compare(self, gm: fx.GraphModule) -> None:
        """The rebuilt graph computes what the program computes, on a random example."""
        x = torch.randn(self.example_shape(), generator=torch.Generator().manual_seed(0))
        with torch.no_grad():
            want = self.ep.module()(x)
            got = gm(x)
        want = want[0] if isinstance(want, (tuple, list)) else want
        scale = float(want.abs().max()) if want.numel() else 0.0
        if got.shape != want.shape or not torch.allclose(got, want, rtol=1e-4,
                                                          atol=1e-5 * max(scale, 1.0)):
            raise ImportFailure([Problem("internal: the rebuilt network computes other values "
                                         "than the program", "", "")])


@dataclass(frozen=True)
class Recorded:
    """A value's shape and dtype as the importer reads them (like fx's TensorMetadata)."""

    shape: torch.Size
    dtype: torch.dtype


def _recorded(node) -> Any:
    val = node.meta.get("val") if isinstance(node, fx.Node) else None
    values = val if isinstance(val, (list, tuple)) else [val]
    if not values or any(not isinstance(v, torch.Tensor) for v in values) or any(
            not isinstance(d, int) for v in values for d in v.shape):
        return None
    metas = [Recorded(torch.Size(v.shape), v.dtype) for v in values]
    return tuple(metas) if isinstance(val, (list, tuple)) else metas[0]


@dataclass
class Group:
    key: str
    path: str
    cls: str
    stack: list
    nodes: list
    forms: dict = field(default_factory=dict)
    plan: str | None = None  # "module", "each" or "failed"
    module: nn.Module | None = None
    form: Form | None = None
    input: Any = None
    anchor: Any = None
    first: Any = None


# ---- helpers -----------------------------------------------------------------------------
def _stack(node) -> list[tuple[str, str, str]]:
    """(key, path, class) of the modules running `node`, outermost first, without the root."""
    out = []
    for key, (path, cls) in (node.meta.get("nn_module_stack") or {}).items():
        if path:
            out.append((key, str(path), str(cls)))
    return out


def _packet(node) -> str:
    target = getattr(node, "target", None)
    packet = getattr(target, "_overloadpacket", None)
    return getattr(packet, "__name__", "") if packet is not None else ""


def _op(node) -> str:
    return str(node.target)


def _add_sources(node, depends: set, live: set) -> None:
    """Add to `live` every input-dependent operation that `node` reads, directly or not."""
    todo = [node]
    while todo:
        for arg in todo.pop().all_input_nodes:
            if arg in depends and arg not in live:
                live.add(arg)
                todo.append(arg)


def _mutates(node) -> bool:
    schema = getattr(node.target, "_schema", None)
    if schema is None or not schema.arguments:
        return False
    info = schema.arguments[0].alias_info
    return bool(info is not None and info.is_write)


def _bound(node) -> dict[str, Any]:
    """The operation's arguments by their schema names, defaults filled in."""
    out: dict[str, Any] = {}
    for i, arg in enumerate(node.target._schema.arguments):
        if i < len(node.args):
            out[arg.name] = node.args[i]
        elif arg.name in node.kwargs:
            out[arg.name] = node.kwargs[arg.name]
        elif arg.has_default_value():
            out[arg.name] = arg.default_value
        else:
            out[arg.name] = None
    return out


def _owner(form: Form) -> str:
    names = [v for v in form.state.values() if v]
    owners = {n.rpartition(".")[0] for n in names}
    return owners.pop() if len(owners) == 1 else "<several modules>"


_CLASSES: dict[str, type] = {}


def _resolve(type_name: str) -> type | None:
    """The class a module stack names, when it can be had without running anyone's code:
    torch's and torchvision's own, or a module already imported."""
    module_name, _, attr = type_name.rpartition(".")
    module = sys.modules.get(module_name)
    if module is None and module_name.split(".")[0] in ("torch", "torchvision"):
        try:
            module = importlib.import_module(module_name)
        except Exception:
            return None
    found = getattr(module, attr, None) if module is not None else None
    return found if isinstance(found, type) and issubclass(found, nn.Module) else None


def _stand_in(type_name: str) -> nn.Module:
    """An empty module of a class named like the original; a container if it is one."""
    if type_name not in _CLASSES:
        real = _resolve(type_name)
        base: type = nn.Module
        if real is not None and issubclass(real, nn.Sequential) and (
                real.forward is nn.Sequential.forward):
            base = nn.Sequential
        elif real is not None and issubclass(real, nn.ModuleList):
            base = nn.ModuleList
        elif real is not None and issubclass(real, nn.ModuleDict):
            base = nn.ModuleDict
        short = type_name.rsplit(".", 1)[-1] or "Net"
        if real is base:
            _CLASSES[type_name] = base
        else:
            _CLASSES[type_name] = type(short, (base,), {"__module__": __name__,
                                                        "__qualname__": short})
    return _CLASSES[type_name]()


def _signature(module: nn.Module) -> tuple:
    from archc.importer.mapping import signature

    return signature(module)


def _known_leaf(name: str) -> bool:
    return name in KIND_ALIASES or name in TORCHVISION_ALIASES or name in set(
        _no_arg_classes().values())


# ---- operation handlers ------------------------------------------------------------------
def _shape(value) -> Shape:
    val = value.meta.get("val") if isinstance(value, fx.Node) else None
    if val is None or not hasattr(val, "shape"):
        raise Untranslatable("its operand has no recorded shape")
    return tuple(int(d) for d in val.shape)


def _ints(value, n: int) -> tuple[int, ...]:
    if isinstance(value, int):
        return (value,) * n
    value = tuple(int(v) for v in value)
    return value * n if len(value) == 1 else value


def _state(t: Translation, value) -> str | None:
    """The state_dict name of a parameter/buffer operand (None for None)."""
    if value is None:
        return None
    if isinstance(value, fx.Node) and value.op == "placeholder" and value.name in t.state_of:
        return t.state_of[value.name]
    raise Untranslatable("an operand that should be a parameter is computed")


def _weight(t: Translation, value) -> tuple[str, Shape]:
    name = _state(t, value)
    if name is None:
        raise Untranslatable("it has no weight")
    return name, _shape(value)


def _meta(build: Callable[[], nn.Module]) -> nn.Module:
    with torch.device("meta"):
        return build()


def conv(t: Translation, node, a: dict) -> Form:
    name, w = _weight(t, a["weight"])
    n = len(w) - 2
    transposed = bool(a.get("transposed", False)) or _packet(node).startswith("conv_transpose")
    groups, bias = int(a["groups"]), a["bias"] is not None
    padding = a["padding"] if isinstance(a["padding"], str) else _ints(a["padding"], n)
    stride, dilation = _ints(a["stride"], n), _ints(a["dilation"], n)
    if not transposed:
        cls = {1: nn.Conv1d, 2: nn.Conv2d}.get(n)
        if cls is None:
            raise Untranslatable(f"{n}-d convolutions are not archc layers")
        module = _meta(lambda: cls(w[1] * groups, w[0], w[2:], stride, padding, dilation, groups,
                                   bias))
    else:
        if n != 2:
            raise Untranslatable(f"{n}-d transposed convolutions are not archc layers")
        extra = _ints(a.get("output_padding", 0), n)
        module = _meta(lambda: nn.ConvTranspose2d(w[0], w[1] * groups, w[2:], stride, padding,
                                                  extra, groups, bias, dilation))
    return Form(module, {"weight": name, "bias": _state(t, a["bias"])})


def batch_norm(t: Translation, node, a: dict) -> Form:
    if a.get("training") or a["running_mean"] is None:
        raise Untranslatable("a batch norm in training mode (export the model after .eval())")
    rank = len(_shape(a["input"]))
    cls = {4: nn.BatchNorm2d, 3: nn.BatchNorm1d, 2: nn.BatchNorm1d}.get(rank)
    if cls is None:
        raise Untranslatable(f"a batch norm of a {rank}-d tensor")
    features = _shape(a["running_mean"])[0]
    module = _meta(lambda: cls(features, eps=float(a["eps"]), momentum=float(a["momentum"]),
                               affine=a["weight"] is not None))
    names = {k: _state(t, a[v]) for k, v in (("weight", "weight"), ("bias", "bias"),
                                             ("running_mean", "running_mean"),
                                             ("running_var", "running_var"))}
    return Form(module, names)


def linear(t: Translation, node, a: dict) -> Form:
    name, w = _weight(t, a["weight"])
    bias = a["bias"] is not None
    module = _meta(lambda: nn.Linear(w[1], w[0], bias))
    return Form(module, {"weight": name, "bias": _state(t, a["bias"])})


def addmm(t: Translation, node, a: dict) -> Form:
    """Core ATen's linear: addmm(bias, x, permute(weight, [1, 0])) (or mm without bias)."""
    mat2 = a["mat2"]
    if not (isinstance(mat2, fx.Node) and _packet(mat2) in ("permute", "t")
            and (_packet(mat2) == "t" or list(mat2.args[1]) == [1, 0])):
        raise Untranslatable("a matrix product that is not a linear layer")
    name, w = _weight(t, mat2.args[0])
    bias = a.get("self") if _packet(node) == "addmm" else None
    if bias is not None and (a.get("beta", 1) != 1 or a.get("alpha", 1) != 1):
        raise Untranslatable("a scaled matrix product")
    module = _meta(lambda: nn.Linear(w[1], w[0], bias is not None))
    return Form(module, {"weight": name, "bias": _state(t, bias)})


def layer_norm(t: Translation, node, a: dict) -> Form:
    shape = tuple(int(v) for v in a["normalized_shape"])
    affine, bias = a["weight"] is not None, a["bias"] is not None
    module = _meta(lambda: nn.LayerNorm(shape, eps=float(a["eps"]), elementwise_affine=affine,
                                        bias=bias))
    return Form(module, {"weight": _state(t, a["weight"]), "bias": _state(t, a["bias"])})


def group_norm(t: Translation, node, a: dict) -> Form:
    channels = _shape(a["input"])[1]
    module = _meta(lambda: nn.GroupNorm(int(a["num_groups"]), channels, eps=float(a["eps"]),
                                        affine=a["weight"] is not None))
    return Form(module, {"weight": _state(t, a["weight"]), "bias": _state(t, a["bias"])})


def prelu(t: Translation, node, a: dict) -> Form:
    name, w = _weight(t, a["weight"])
    count = 1
    for d in w:
        count *= d
    module = _meta(lambda: nn.PReLU(count))
    return Form(module, {"weight": name})


def _simple(module: type[nn.Module], function: Any = None, **kwargs: Any):
    """An elementwise operation: the module, and the function tracing would record."""
    def handler(t: Translation, node, a: dict) -> Form:
        return Form(module(**kwargs), function=function, args=(node.args[0],))

    return handler


def hardtanh(t: Translation, node, a: dict) -> Form:
    low = a.get("min_val", a.get("min"))
    high = a.get("max_val", a.get("max"))
    if (low, high) != (0, 6) and (low, high) != (0.0, 6.0):
        raise Untranslatable("only hardtanh(0, 6) (relu6) is an archc layer")
    return Form(nn.ReLU6(), function=F.relu6, args=(node.args[0],))


def relu6(t: Translation, node, a: dict) -> Form:
    return Form(nn.ReLU6(), function=F.relu6, args=(node.args[0],))


def gelu(t: Translation, node, a: dict) -> Form:
    approximate = a.get("approximate", "none")
    return Form(nn.GELU(approximate), function=F.gelu if approximate == "none" else None,
                args=(node.args[0],))


def leaky_relu(t: Translation, node, a: dict) -> Form:
    return Form(nn.LeakyReLU(float(a["negative_slope"])))


def elu(t: Translation, node, a: dict) -> Form:
    if a.get("scale", 1) != 1 or a.get("input_scale", 1) != 1:
        raise Untranslatable("a scaled elu")
    return Form(nn.ELU(float(a["alpha"])))


def softmax(t: Translation, node, a: dict) -> Form:
    return Form(nn.Softmax(int(a["dim"])))


def max_pool2d(t: Translation, node, a: dict) -> Form:
    k = _ints(a["kernel_size"], 2)
    s = _ints(a["stride"], 2) if a["stride"] else k
    p, d = _ints(a["padding"], 2), _ints(a["dilation"], 2)
    ceil = bool(a["ceil_mode"])
    module = nn.MaxPool2d(_one(k), _one(s), _one(p), _one(d), ceil_mode=ceil)
    return Form(module, function=F.max_pool2d, args=(a["self"], _one(k), _one(s), _one(p),
                                                     _one(d), ceil))


def avg_pool2d(t: Translation, node, a: dict) -> Form:
    k = _ints(a["kernel_size"], 2)
    s = _ints(a["stride"], 2) if a["stride"] else k
    p = _ints(a["padding"], 2)
    ceil, include, divisor = bool(a["ceil_mode"]), bool(a["count_include_pad"]), a[
        "divisor_override"]
    module = nn.AvgPool2d(_one(k), _one(s), _one(p), ceil, include, divisor)
    return Form(module, function=F.avg_pool2d, args=(a["self"], _one(k), _one(s), _one(p), ceil,
                                                     include, divisor))


def _one(value: tuple) -> Any:
    return value[0] if all(v == value[0] for v in value) else value


def adaptive_pool(t: Translation, node, a: dict) -> Form:
    size = _one(_ints(a["output_size"], 2))
    if _packet(node).endswith("max_pool2d"):
        return Form(nn.AdaptiveMaxPool2d(size), function=F.adaptive_max_pool2d,
                    args=(a["self"], size))
    return Form(nn.AdaptiveAvgPool2d(size), function=F.adaptive_avg_pool2d, args=(a["self"], size))


def mean(t: Translation, node, a: dict) -> Form:
    dims = a["dim"] if isinstance(a["dim"], (list, tuple)) else [a["dim"]]
    rank = len(_shape(a["self"]))
    dims = tuple(int(d) for d in dims)
    module = None
    if rank == 4 and {d % 4 for d in dims} == {2, 3} and a["keepdim"]:
        module = nn.AdaptiveAvgPool2d(1)
    return Form(module, function=torch.mean, args=(a["self"], dims, bool(a["keepdim"])))


def dropout(t: Translation, node, a: dict) -> Form:
    if a.get("train"):
        raise Untranslatable("dropout in training mode (export the model after .eval())")
    p = float(a["p"])
    return Form(nn.Dropout(p), function=F.dropout, args=(node.args[0], p),
                kwargs={"training": False})


def flatten(t: Translation, node, a: dict) -> Form:
    start, end = int(a["start_dim"]), int(a["end_dim"])
    args = (a["self"], start) if end == -1 else (a["self"], start, end)
    return Form(nn.Flatten(start, end), function=torch.flatten, args=args)


def view(t: Translation, node, a: dict) -> Form:
    size = a.get("size", a.get("shape"))
    if any(not isinstance(s, int) for s in size):
        raise Untranslatable("a reshape to sizes computed at run time")
    return Form(function="view", args=(node.args[0], *size))


def permute(t: Translation, node, a: dict) -> Form:
    dims = [int(d) for d in a["dims"]]
    # torchvision's Permute module, the class the alias table names (within its own scope)
    cls = _resolve("torchvision.ops.misc.Permute")
    return Form(cls(dims) if cls is not None else None, function="permute",
                args=(a["self"], *dims))


def transpose(t: Translation, node, a: dict) -> Form:
    return Form(function="transpose", args=(a["self"], int(a["dim0"]), int(a["dim1"])))


def contiguous(t: Translation, node, a: dict) -> Form:
    return Form(function="contiguous", args=(node.args[0],))


def _tensors(*values) -> bool:
    return all(isinstance(v, fx.Node) for v in values)


def add(t: Translation, node, a: dict) -> Form:
    if a.get("alpha", 1) != 1 or not _tensors(a["self"], a["other"]):
        raise Untranslatable("only the sum of two tensors is an archc merge")
    return Form(function=operator.add, args=(a["self"], a["other"]))


def mul(t: Translation, node, a: dict) -> Form:
    if not _tensors(a["self"], a["other"]):
        raise Untranslatable("only the product of two tensors is an archc merge")
    return Form(function=operator.mul, args=(a["self"], a["other"]))


def cat(t: Translation, node, a: dict) -> Form:
    return Form(function=torch.cat, args=(list(a["tensors"]), int(a["dim"])))


def chunk(t: Translation, node, a: dict) -> Form:
    return Form(function="chunk", args=(a["self"], int(a["chunks"]), int(a["dim"])))


def split(t: Translation, node, a: dict) -> Form:
    """split into equal parts is chunk."""
    dim = int(a["dim"])
    size = _shape(a["self"])[dim]
    sizes = a.get("split_sizes")
    if sizes is None:
        step = int(a["split_size"])
        sizes = [step] * (size // step) if step and size % step == 0 else [step, -1]
    if len(set(sizes)) != 1 or sum(sizes) != size:
        raise Untranslatable("a split into unequal parts")
    return Form(function="chunk", args=(a["self"], len(sizes), dim))


def getitem(t: Translation, node, a: dict) -> Form:
    return Form(function=operator.getitem, args=tuple(node.args))


def shuffle(t: Translation, node, a: dict) -> Form:
    groups = int(a["groups"])
    return Form(nn.ChannelShuffle(groups), function=channel_shuffle, args=(a["self"], groups))


HANDLERS: dict[str, Callable[[Translation, Any, dict], Form]] = {
    "conv2d": conv, "conv1d": conv, "convolution": conv, "conv_transpose2d": conv,
    "batch_norm": batch_norm, "_native_batch_norm_legit_no_training": batch_norm,
    "linear": linear, "addmm": addmm, "mm": addmm,
    "layer_norm": layer_norm, "native_layer_norm": layer_norm, "group_norm": group_norm,
    "prelu": prelu, "_prelu_kernel": prelu,
    "relu": _simple(nn.ReLU, torch.relu), "relu_": _simple(nn.ReLU, torch.relu),
    "sigmoid": _simple(nn.Sigmoid, torch.sigmoid), "sigmoid_": _simple(nn.Sigmoid, torch.sigmoid),
    "tanh": _simple(nn.Tanh, torch.tanh), "tanh_": _simple(nn.Tanh, torch.tanh),
    "silu": _simple(nn.SiLU, F.silu), "silu_": _simple(nn.SiLU, F.silu),
    "hardswish": _simple(nn.Hardswish, F.hardswish), "hardswish_": _simple(nn.Hardswish,
                                                                          F.hardswish),
    "hardsigmoid": _simple(nn.Hardsigmoid, F.hardsigmoid),
    "hardsigmoid_": _simple(nn.Hardsigmoid, F.hardsigmoid),
    "mish": _simple(nn.Mish, F.mish), "mish_": _simple(nn.Mish, F.mish),
    "hardtanh": hardtanh, "hardtanh_": hardtanh, "clamp": hardtanh, "relu6": relu6,
    "relu6_": relu6,
    "gelu": gelu, "gelu_": gelu, "leaky_relu": leaky_relu, "leaky_relu_": leaky_relu,
    "elu": elu, "elu_": elu, "softmax": softmax, "_softmax": softmax,
    "max_pool2d": max_pool2d, "max_pool2d_with_indices": max_pool2d, "avg_pool2d": avg_pool2d,
    "adaptive_avg_pool2d": adaptive_pool, "_adaptive_avg_pool2d": adaptive_pool,
    "adaptive_max_pool2d": adaptive_pool, "mean": mean, "dropout": dropout, "dropout_": dropout,
    "flatten": flatten, "view": view, "reshape": view, "_unsafe_view": view,
    "permute": permute, "transpose": transpose, "clone": contiguous, "contiguous": contiguous,
    "add": add, "add_": add, "mul": mul, "mul_": mul, "cat": cat, "concat": cat,
    "chunk": chunk, "split": split, "split_with_sizes": split,
    "channel_shuffle": shuffle, "native_channel_shuffle": shuffle,
}
TUPLES = {"_native_batch_norm_legit_no_training", "max_pool2d_with_indices",
          "adaptive_max_pool2d", "native_layer_norm"}

__all__ = ["ProgramError", "from_exported", "load_program"]
