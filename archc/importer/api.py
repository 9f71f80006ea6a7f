"""from_torch: trace, emit, render, format, and check that the spec builds the same module."""

from __future__ import annotations

import importlib
import re

from torch import nn

from archc.importer.emit import Emitter
from archc.importer.render import Renderer, render, snake
from archc.importer.trace import ImportFailure, Problem, trace


def from_torch(module: nn.Module, input_shape: tuple[int, ...] = (3, 224, 224),
               verify: bool = True) -> str:
    """The spec text of `module` on a per-sample input of `input_shape` (CxHxW)."""
    return spec_from_graph(module, trace(module, input_shape), type(module).__name__,
                           input_shape, verify)


def spec_from_graph(module: nn.Module, gm, class_name: str, input_shape: tuple[int, ...],
                    verify: bool) -> str:
    """The spec of `module` from its traced graph `gm` (module calls and functions, shapes
    propagated): blocks and constructs recovered, then checked by building it."""
    emitter = Emitter(module, gm)
    emitter.build_scopes()
    renderer = Renderer(emitter)
    body = renderer.flat(emitter.root, True)
    _unused(module, emitter)
    if emitter.problems:
        raise ImportFailure(_unique(emitter.problems))
    text = spec_text(renderer.defs, _network_name(class_name), input_shape, body)
    if verify:
        _verify(module, text)
    return text


def spec_text(defs: list[str], name: str, input_shape: tuple[int, ...], body) -> str:
    """The formatted spec: block definitions and the network, with shared settings hoisted
    into `defaults`, labels kept only where automatic names differ, short groups joined."""
    from archc.fmt import format_text
    from archc.importer.defaults import hoist_defaults, join_short_groups
    from archc.importer.labels import drop_redundant_labels

    dims = "x".join(str(d) for d in input_shape)
    text = "\n\n".join([*defs, f"network {name} {{ input {dims} {render(body)} }}"])
    text = format_text(drop_redundant_labels(hoist_defaults(format_text(text + "\n"))))
    return format_text(join_short_groups(text))


def _network_name(name: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_]", "_", name) or "Net"
    return name if not name[0].isdigit() else "Net" + name


def _unique(problems: list[Problem]) -> list[Problem]:
    seen, out = set(), []
    for p in problems:
        if str(p) not in seen:
            seen.add(str(p))
            out.append(p)
    return out


def _unused(module: nn.Module, emitter: Emitter) -> None:
    """Modules holding state that the forward pass never reaches would be dropped."""
    called = {n.target for n in emitter.gm.graph.nodes if n.op == "call_module"}
    called |= {s.path for s in emitter.scopes.values()}
    for path, child in module.named_modules():
        if not path or any(path == c or c.startswith(path + ".") for c in called):
            continue
        if any(True for _ in child.parameters(recurse=False)) or any(
                True for _ in child.buffers(recurse=False)):
            emitter.problems.append(Problem(
                f"{type(child).__name__} holds parameters but is never called in eval mode",
                path, ""))
    for node in emitter.gm.graph.nodes:
        if node.op == "get_attr" and node.target not in emitter.scaled:
            emitter.problems.append(Problem(f"the forward pass reads `{node.target}` "
                                            "directly (a raw parameter or buffer)", "", ""))


def _verify(module: nn.Module, text: str) -> None:
    """The emitted module must hold the original's state under the same names and shapes."""
    import torch

    from archc.api import loads
    from archc.codegen.build import import_source
    from archc.codegen.pytorch import generate
    from archc.errors import ArchcError

    try:
        model = loads(text)
    except ArchcError as exc:  # e.g. `again` of a module first called in another scope
        raise ImportFailure([Problem(f"internal: the spec does not check: {d.message}", "",
                                     f"spec line {d.span.line}" if d.span else "")
                             for d in exc.diagnostics[:5]]) from None
    generated = generate(model, "<import>")
    with torch.device("meta"):
        built = getattr(import_source(generated.source), generated.class_name)()
    want = {k: tuple(v.shape) for k, v in module.state_dict().items()}
    got = {k: tuple(v.shape) for k, v in built.state_dict().items()}
    if want != got:
        missing = sorted(set(want) - set(got))[:5]
        extra = sorted(set(got) - set(want))[:5]
        shapes = sorted(k for k in set(want) & set(got) if want[k] != got[k])[:5]
        raise ImportFailure([Problem(f"internal: the spec's module differs (missing {missing}, "
                                     f"unexpected {extra}, other shapes {shapes})", "", "")])


def load_callable(ref: str, kwargs: dict | None = None) -> nn.Module:
    """`package.module:callable` called with `kwargs`."""
    module_name, _, attr = ref.partition(":")
    if not attr:
        raise ValueError(f"expected MODULE:CALLABLE, got {ref!r}")
    target = importlib.import_module(module_name)
    for part in attr.split("."):
        target = getattr(target, part)
    made = target(**(kwargs or {}))
    if not isinstance(made, nn.Module):
        raise ValueError(f"{ref} returned {type(made).__name__}, not an nn.Module")
    return made


def load_exported(path: str) -> nn.Module:
    """A torch.export archive (.pt2) as a module."""
    import torch

    return torch.export.load(path).module()


__all__ = ["from_torch", "load_callable", "load_exported", "snake"]
