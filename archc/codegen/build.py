"""Load emitted PyTorch source as a module, instantiate it, and verify it against the analyzer.

The only part of archc besides the tests that imports torch.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import itertools
import shutil
import sys
import tempfile
from pathlib import Path
from types import ModuleType

from archc.api import Model, load, loads
from archc.codegen.names import module_path
from archc.codegen.pytorch import Generated, generate, is_module
from archc.errors import ArchcError, Code, Diagnostic
from archc.layers.base import fmt_shape

_counter = itertools.count()


def import_source(source: str, name: str | None = None, *, keep_file: bool = True) -> ModuleType:
    """Import generated source from a real file, so torch.compile/jit/inspect can read it.

    With `keep_file` the file lives as long as the process (removed at exit: inspect and
    torch.jit read it lazily); without, it is removed as soon as the module is loaded."""
    name = name or f"archc_generated_{next(_counter)}"
    directory = Path(tempfile.mkdtemp(prefix="archc-"))
    try:
        path = directory / f"{name}.py"
        path.write_text(source, encoding="utf-8")
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses/pickle/compile look modules up by name
        spec.loader.exec_module(module)
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    if keep_file:
        atexit.register(shutil.rmtree, directory, True)
    else:
        shutil.rmtree(directory, ignore_errors=True)
    return module


@contextlib.contextmanager
def _scratch_module(source: str):
    """A module imported only to be checked: no file left behind, forgotten afterwards."""
    module = import_source(source, keep_file=False)
    try:
        yield module
    finally:
        sys.modules.pop(module.__name__, None)


def verify(model: Model, generated: Generated, module: ModuleType | None = None) -> None:
    """Instantiate on the meta device and compare parameter count and every layer's output
    shape with the analysis; raises ArchcError(E402) listing each disagreement."""
    try:
        if module is None:
            with _scratch_module(generated.source) as scratch:
                problems = _run_checks(model, generated, scratch)
        else:
            problems = _run_checks(model, generated, module)
    except Exception as exc:  # whatever Python or PyTorch raises becomes a located error
        raise ArchcError([Diagnostic(
            Code.CODEGEN, f"PyTorch rejects the emitted module: {type(exc).__name__}: "
            f"{_first_line(exc)}", model.expanded.span,
            "archc check accepts the spec but PyTorch cannot build or run it; please report "
            "this with the spec")]) from None
    if problems:
        raise ArchcError([Diagnostic(Code.VERIFY, text, span,
                                     "the generated module and the analyzer disagree; "
                                     "please report this with the spec")
                          for text, span in problems])


def _run_checks(model: Model, generated: Generated, module: ModuleType) -> list:
    """Shapes from an empty batch on the CPU when PyTorch runs the module that way, else from
    a batch of two on the meta device (what any failure is then reported from).

    Why not always meta: PyTorch computes meta shapes of most operations (relu, batch norm,
    ...) with Python reference implementations that import torch._dynamo on first use, about
    1.5 s, more than importing torch itself. On the CPU, a batch of zero samples runs the
    same code with the same shapes past the batch axis and computes nothing; the module is
    instantiated on the meta device (no initialisation) and given uninitialised CPU storage
    (never read: there is no sample). Modules that reject an empty batch (a `view(-1)`, a
    check on the batch size) fall back to the meta device, so they are verified as before."""
    import torch

    with torch.device("meta"):
        net = getattr(module, generated.class_name)()
    params = _compare_params(model, net)
    try:
        with torch.no_grad():
            net = net._apply(lambda t: torch.empty(t.shape, dtype=t.dtype))
            return params + _compare_shapes(model, net, generated, samples=0, device="cpu")
    except Exception:  # any failure: the meta device decides, and reports
        with torch.device("meta"):
            net = getattr(module, generated.class_name)()
        return params + _compare_shapes(model, net, generated)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else "(no message)"


def _compare_params(model: Model, net) -> list:
    emitted = sum(p.numel() for p in net.parameters())
    expected = model.analysis.totals.params
    if emitted != expected:
        return [(f"emitted module has {emitted:,} parameters, the analyzer counts {expected:,}",
                 model.expanded.span)]
    return []


def _compare_shapes(model: Model, net, generated: Generated, samples: int = 2,
                    device: str = "meta") -> list:
    import torch

    # module path -> the analysed rows it produces, in dataflow order (several when it is
    # applied `again`)
    rows: dict[str, list] = {}
    for row in model.analysis.layers:
        rows.setdefault(module_path(row.shared or row.name), []).append(row)
    spans = {layer.name: layer for layer in _named_layers(model)}
    runs: dict[str, dict[str, list[tuple]]] = {"train": {}, "eval": {}}
    phase = ["train"]
    handles = []

    def record(name: str):
        def hook(_module, _inputs, output) -> None:  # returns None: never replaces the output
            runs[phase[0]].setdefault(name, []).append(tuple(output.shape[1:]))
        return hook

    for name, sub in net.named_modules():
        if name in rows:
            handles.append(sub.register_forward_hook(record(name)))
    problems = []
    batch = torch.empty(samples, *model.analysis.input, device=device)
    try:
        net.train()  # side outputs run in training mode; 2 samples (or 0) keep batch norm legal
        net(batch)
        net.eval()
        phase[0] = "eval"
        main = net(batch)
    finally:
        for handle in handles:
            handle.remove()
    if tuple(main.shape[1:]) != tuple(model.analysis.output):
        problems.append((f"emitted output {fmt_shape(tuple(main.shape[1:]))}, analyzer "
                         f"{fmt_shape(model.analysis.output)}", model.expanded.span))
    for name, found in rows.items():
        outputs = runs["eval"].get(name) or runs["train"].get(name) or []
        if any(row.side for row in found):  # side heads run in training only
            outputs = runs["train"].get(name) or []
        for index, row in enumerate(found):
            layer = spans.get(row.name)
            if index >= len(outputs):
                if layer is not None and is_module(layer):
                    problems.append((f"{row.name}: no module `{name}` ran in the emitted "
                                     "model", layer.span))
            elif outputs[index] != tuple(row.output):
                problems.append((f"{row.name}: emitted {fmt_shape(outputs[index])}, analyzer "
                                 f"{fmt_shape(row.output)}", layer.span if layer else None))
    return problems


def _named_layers(model: Model):
    return [data.layer for data in model.built.nodes[1:]]



def build_module(spec_or_path, network: str | None = None,
                 input_shape: tuple[int, ...] | None = None, verify_model: bool = True):
    """A spec (path, or spec text) compiled to PyTorch and instantiated as an nn.Module."""
    text = str(spec_or_path)
    is_path = "\n" not in text and "{" not in text and Path(text).exists()
    model = (load(text, network, input_shape) if is_path
             else loads(text, "<string>", network, input_shape))
    generated = generate(model, text if is_path else "<string>")
    module = import_source(generated.source)
    if verify_model:
        verify(model, generated, module)
    return getattr(module, generated.class_name)()
