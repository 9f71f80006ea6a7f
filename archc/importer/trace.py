"""Trace a module without data: torch.fx symbolic tracing (mappable modules are leaves), shapes
propagated on fake tensors (no memory, no arithmetic); failures become `ImportFailure`s that
name the module path and the model's source line."""

from __future__ import annotations

import traceback
from dataclasses import dataclass

import torch
import torch.fx as fx
from torch import nn

from archc.importer.mapping import _kinds_for


@dataclass
class Problem:
    what: str
    path: str
    where: str

    def __str__(self) -> str:
        where = f", {self.where}" if self.where else ""
        return f"{self.what} (module `{self.path or '<root>'}`{where})"


class ImportFailure(Exception):
    """The module cannot be written in archc exactly; every reason is listed."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


class _Tracer(fx.Tracer):
    def __init__(self) -> None:
        super().__init__()
        self.record_stack_traces = True

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        if _kinds_for(m):
            return True
        return super().is_leaf_module(m, qualname)


def user_line(stack: str | None) -> str:
    """The innermost source line outside torch in a recorded stack trace."""
    if not stack:
        return ""
    lines = [ln.strip() for ln in stack.splitlines() if ln.strip().startswith("File ")]
    keep = [ln for ln in lines if "/torch/" not in ln or "/torchvision/" in ln]
    return (keep or lines or [""])[-1]


def trace(module: nn.Module, input_shape: tuple[int, ...]) -> fx.GraphModule:
    """The module's graph in eval mode, every tensor node carrying its shape."""
    from torch._subclasses.fake_tensor import FakeTensorMode
    from torch.fx.passes.shape_prop import ShapeProp

    was_training = module.training
    module.eval()
    try:
        tracer = _Tracer()
        try:
            graph = tracer.trace(module)
        except Exception as exc:
            frames = [f for f in traceback.extract_tb(exc.__traceback__)
                      if "/torch/" not in f.filename]
            where = f'File "{frames[-1].filename}", line {frames[-1].lineno}' if frames else ""
            raise ImportFailure([Problem(f"tracing cannot follow the forward pass: {exc}",
                                         type(module).__name__, where)]) from None
        gm = fx.GraphModule(tracer.root, graph, type(module).__name__)
        mode = FakeTensorMode(allow_non_fake_inputs=True)
        with mode:
            example = torch.empty((1, *input_shape))
        try:
            ShapeProp(gm, fake_mode=mode).propagate(example)
        except Exception as exc:
            dims = "x".join(map(str, input_shape))
            raise ImportFailure([Problem(f"the forward pass fails on a 1x{dims} input: {exc}",
                                         "", "")]) from None
        return gm
    finally:
        module.train(was_training)
