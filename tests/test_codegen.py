"""The PyTorch backend: PyTorch itself counts the emitted modules' parameters, MACs and shapes."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

import archc
import archc.parse
from archc.codegen.names import MODULE_ATTRIBUTES, attribute, class_name
from archc.codegen.pytorch import generate
from tests.conftest import GOLDEN, ROOT, spec_paths


def _networks(path: Path) -> list[str]:
    return [net.name for net in archc.parse.parse_text(path.read_text(), str(path)).networks]

torch = pytest.importorskip("torch")
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from archc.codegen.build import import_source, verify  # noqa: E402  (needs torch)
from tests.recount import assert_rows_match_torch  # noqa: E402  (needs torch)

SPECS = [(path, network) for path in spec_paths(with_test_data=True)
         for network in _networks(path)]
IDS = [f"{p.parent.name}/{p.stem}/{n}" for p, n in SPECS]


def emitted(path: Path, network: str | None = None):
    model = archc.load(path, network)
    generated = generate(model, str(path.relative_to(ROOT)))
    return model, generated, import_source(generated.source)


def meta_instance(module, generated):
    with torch.device("meta"):
        return getattr(module, generated.class_name)().eval()


@pytest.mark.independent
@pytest.mark.parametrize(("path", "network"), SPECS, ids=IDS)
def test_emitted_module_matches_analysis(path, network):
    """Parameters and every layer's shape (verify), FlopCounterMode's MACs, and every row's
    parameters and MACs against what PyTorch counts for that row's module."""
    model, generated, module = emitted(path, network)
    verify(model, generated, module)  # raises on any parameter or shape disagreement
    net = meta_instance(module, generated)
    assert sum(p.numel() for p in net.parameters()) == model.analysis.totals.params
    x = torch.empty(1, *model.analysis.input, device="meta")
    with FlopCounterMode(display=False) as counter:
        out = net(x)  # eval mode: side outputs do not run, as the main-path MACs assume
    assert counter.get_total_flops() == 2 * model.analysis.totals.macs
    assert tuple(out.shape[1:]) == tuple(model.analysis.output)
    assert_rows_match_torch(model, net)


@pytest.mark.independent
def test_side_outputs_in_training_mode():
    """GoogLeNet with aux heads returns (main, aux1, aux2) in training, main in eval."""
    model, generated, module = emitted(ROOT / "specs/googlenet_aux.arch")
    net = meta_instance(module, generated).train()
    with FlopCounterMode(display=False) as counter:
        main, aux1, aux2 = net(torch.empty(2, 3, 224, 224, device="meta"))
    assert main.shape == aux1.shape == aux2.shape == (2, 1000)
    sides = {s.name: s.macs for s in model.analysis.side_outputs}
    assert sides == {"aux1": 4_169_728, "aux2": 4_202_496}  # reference-figures.md
    assert counter.get_total_flops() == 2 * 2 * (1_498_376_192 + 4_169_728 + 4_202_496)
    assert generated.side_outputs == ["aux1", "aux2"]


@pytest.mark.parametrize("name", ["lenet5", "inception", "unet_small", "se_block",
                                  "seeds_39x39"])
def test_real_forward_on_cpu(name):
    model, generated, module = emitted(ROOT / f"examples/{name}.arch")
    torch.manual_seed(0)
    net = getattr(module, generated.class_name)().eval()
    x = torch.randn(2, *model.analysis.input)
    with torch.no_grad():
        out = net(x)
    assert tuple(out.shape) == (2, *model.analysis.output)
    assert torch.isfinite(out).all()


# torchvision weight compatibility: tests/test_torchvision.py loads torchvision's own state_dict
# into every spec's emitted module (strict, no key renamed) and compares the outputs.


# ---- golden files ------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["lenet5", "resnet", "inception"])
def test_golden_source(name, golden):
    model = archc.load(ROOT / f"examples/{name}.arch")
    golden(f"codegen/{name}.py", generate(model, f"examples/{name}.arch").source)


# What each golden file's network must count, from outside archc: (input, parameters, MACs,
# output). A golden regenerated from a wrong compiler passes the text comparison above; it
# cannot pass this.
GOLDEN_FIGURES = {
    # reference-figures.md, LeNet-5 layout notes
    "lenet5": ((1, 32, 32), 61_706, 416_520, (10,)),
    # reference-figures.md, resnet50 row (examples/resnet.arch is ResNet-50)
    "resnet": ((3, 224, 224), 25_557_032, 4_089_184_256, (1000,)),
    # seed-notes 3.6 (block 3a: 163,696 params, 128,049,152 multiplies) and E46 (28x28x256)
    "inception": ((192, 28, 28), 163_696, 128_049_152, (256, 28, 28)),
}


def _network_class(module) -> type:
    """The one class in a generated file whose constructor needs no arguments (the network;
    block classes take `in_channels`)."""
    found = [cls for cls in vars(module).values()
             if isinstance(cls, type) and issubclass(cls, torch.nn.Module)
             and cls.__module__ == module.__name__
             and all(p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
                     for p in list(inspect.signature(cls.__init__).parameters.values())[1:])]
    assert len(found) == 1, found
    return found[0]


@pytest.mark.independent
@pytest.mark.parametrize("path", sorted((GOLDEN / "codegen").glob("*.py")), ids=lambda p: p.stem)
@pytest.mark.independent
def test_golden_module_recounted_by_pytorch(path):
    """Import the stored file itself and let PyTorch count it."""
    shape, params, macs, output = GOLDEN_FIGURES[path.stem]
    module = import_source(path.read_text(encoding="utf-8"))
    with torch.device("meta"):
        net = _network_class(module)().eval()
    assert sum(p.numel() for p in net.parameters()) == params
    with FlopCounterMode(display=False) as counter:
        out = net(torch.empty(1, *shape, device="meta"))
    assert counter.get_total_flops() == 2 * macs
    assert tuple(out.shape) == (1, *output)


def test_emitted_source_is_deterministic():
    """No state carried from one generation to the next inside a process (hash-seed order
    needs separate processes: tests/test_determinism.py)."""
    path = ROOT / "specs/googlenet_aux.arch"
    assert generate(archc.load(path), "x").source == generate(archc.load(path), "x").source


# ---- safety: names a spec chooses never become code ----------------------------------------

HOSTILE = """
block forward(self, x, in_channels, torch=2, super=1) {
    class: conv(x * torch, k=1) __init__: bn training: relu
    -> nn
    to: conv(x * torch, k=1)
    add(nn)
}
block nn(print) { __import__: conv(print, k=3, p=1) }
network torch {
    input 3x16x16
    exec: forward(4, 1, 2)
    eval: nn(8)
    import: { relu relu }
    side __class__ { global_avgpool flatten open: linear(2) }
    flatten
    linear(3)
}
"""


def test_hostile_names_stay_names():
    model = archc.loads(HOSTILE, "hostile.arch")
    generated = generate(model, 'hostile.arch"\n__import__("os").system("echo pwned")')
    tree = ast.parse(generated.source)  # valid Python
    for node in tree.body:  # at module level: docstring, two imports, class definitions
        assert isinstance(node, (ast.Import, ast.ImportFrom, ast.ClassDef, ast.Expr))
        if isinstance(node, ast.Expr):
            assert isinstance(node.value, ast.Constant)
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    assert not names & {"exec", "eval", "open", "__import__", "compile", "getattr", "globals"}
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            assert all(isinstance(item, (ast.FunctionDef, ast.Expr)) for item in node.body)
    module = import_source(generated.source)
    verify(model, generated, module)
    net = getattr(module, generated.class_name)()
    assert callable(net.forward) and isinstance(net.training, bool)
    assert sum(p.numel() for p in net.parameters()) == model.analysis.totals.params


def test_hostile_characters_cannot_reach_names():
    for text in ['network "a" { input 3x8x8 }', "network a\n{ input 3x8x8 b\u00e9: relu }",
                 "network a { input 3x8x8 x'); import os #: relu }"]:
        with pytest.raises(archc.ArchcError):
            archc.loads(text)


def test_attribute_names_are_safe():
    nn = torch.nn
    public = {n for n in {*dir(nn.Module), *dir(nn.Sequential), *dir(nn.ModuleDict)}
              if not n.startswith("_")}
    assert public <= MODULE_ATTRIBUTES
    for name in ["forward", "training", "class", "__init__", "_x", "to", "conv1", "3"]:
        safe = attribute(name)
        # a module name PyTorch registers as is (keywords too: add_module / get_submodule)
        assert safe.isdigit() or (safe and "." not in safe and safe not in MODULE_ATTRIBUTES
                                  and not safe.startswith("_"))
    assert attribute("class") == "class" and attribute("block1-0") == "block1-0"
    assert class_name("torch") != "torch" and class_name("basic_conv") == "BasicConv"


# ---- it behaves like any nn.Module -------------------------------------------------------

@pytest.fixture(scope="module")
def resnet18():
    torch.manual_seed(0)
    return archc.build_module(ROOT / "specs/resnet18.arch").eval()


@pytest.mark.independent
def test_build_module_api(resnet18):
    assert sum(p.numel() for p in resnet18.parameters()) == 11_689_512  # reference-figures.md


def test_dtype_and_memory_format_follow_the_input(resnet18):
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        assert resnet18.double()(x.double()).dtype == torch.float64
        resnet18.float()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            assert resnet18(x).dtype == torch.bfloat16
        net = resnet18.to(memory_format=torch.channels_last)
        assert net(x.to(memory_format=torch.channels_last)).shape == (1, 1000)


def test_torch_export_and_script(resnet18):
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        expected = resnet18(x)
        exported = torch.export.export(resnet18, (x,)).module()
        torch.testing.assert_close(exported(x), expected)
        torch.testing.assert_close(torch.jit.script(resnet18)(x), expected)


def test_torch_compile(resnet18):
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        compiled = torch.compile(resnet18, backend="aot_eager")
        torch.testing.assert_close(compiled(x), resnet18(x))


def test_onnx_export(resnet18, tmp_path):
    pytest.importorskip("onnx")
    import onnx

    target = tmp_path / "resnet18.onnx"
    torch.onnx.export(resnet18, (torch.randn(1, 3, 32, 32),), str(target), dynamo=False)
    onnx.checker.check_model(onnx.load(str(target)))


@pytest.mark.hardware
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_runs_on_cuda():
    net = archc.build_module(ROOT / "specs/resnet50.arch").cuda().eval()
    x = torch.randn(8, 3, 224, 224, device="cuda")
    with torch.no_grad():
        out = net(x)
    assert out.device.type == "cuda" and out.shape == (8, 1000)
    net = archc.build_module(ROOT / "specs/googlenet_aux.arch").cuda().train()
    main, aux1, aux2 = net(torch.randn(2, 3, 224, 224, device="cuda"))
    assert {t.device.type for t in (main, aux1, aux2)} == {"cuda"}


# ---- the paths less travelled ------------------------------------------------------------

@pytest.mark.independent
def test_init_follows_the_spec():
    model = archc.loads("network I { input 3x8x8 conv(16, k=3, init=kaiming) relu "
                        "flatten linear(4, init=zeros) }")
    generated = generate(model)
    assert 'nn.init.kaiming_normal_(self.conv1.weight, mode="fan_out", nonlinearity="relu")' \
        in generated.source
    module = import_source(generated.source)
    torch.manual_seed(0)
    net = getattr(module, generated.class_name)()
    assert torch.count_nonzero(net.linear1.weight) == 0 and torch.count_nonzero(net.conv1.bias) == 0
    # kaiming normal, fan_out = 16 * 3 * 3: std = sqrt(2 / 144)
    assert abs(net.conv1.weight.std().item() - (2 / 144) ** 0.5) < 0.03


def test_block_whose_layers_depend_on_spatial_size_gets_specialised_classes():
    spec = """
    block head(n) { flatten fc: linear(n) }
    network Two { input 3x8x8  -> x  side a { head(5) }  maxpool(2)  head(5) }
    """
    model = archc.loads(spec)
    generated = generate(model)
    assert generated.source.count("(nn.Module):") == 3  # two specialised heads + the network
    assert "nn.Linear(192, 5)" in generated.source and "nn.Linear(48, 5)" in generated.source
    verify(model, generated)


def test_symbolic_block_takes_in_channels_and_parameters():
    spec = "block b(c) { conv(c * 2, k=3, p=1) bn relu }\n" \
           "network N { input 3x8x8 b(4) b(8) }"
    source = generate(archc.loads(spec)).source
    assert "def __init__(self, in_channels: int, c: int) -> None:" in source
    assert "nn.Conv2d(in_channels, c * 2, 3, padding=1)" in source
    assert "B(3, c=4)" in source and "B(8, c=8)" in source


def test_side_output_inside_a_block_is_a_located_error():
    spec = "block b() { conv(4, k=1) side s { flatten linear(2) } }\n" \
           "network N { input 3x8x8 b() }"
    with pytest.raises(archc.ArchcError) as info:
        generate(archc.loads(spec, "n.arch"))
    (diag,) = info.value.diagnostics
    assert diag.code.value == "E401" and (diag.span.line, diag.span.col) == (1, 26)


def _tampered(source: str, old: str, new: str) -> str:
    assert old in source
    return source.replace(old, new)


@pytest.mark.parametrize("empty_batch", [True, False], ids=["cpu-empty-batch", "meta-fallback"])
def test_verify_reports_a_module_that_disagrees_with_the_analysis(empty_batch):
    """verify runs the emitted module on an empty CPU batch, or on the meta device when the
    module rejects one (here: a forward that asserts a non-empty batch); either way a layer
    whose shape differs from the analysis is E402 at that layer, and the honest module
    passes."""
    from dataclasses import replace

    from archc.errors import ArchcError

    model = archc.load(ROOT / "examples" / "lenet5.arch")
    generated = generate(model)
    if not empty_batch:
        guard = "assert x.shape[0] > 0\n        x = self.conv1(x)"
        generated = replace(generated, source=_tampered(generated.source, "x = self.conv1(x)",
                                                        guard))
    verify(model, generated)  # the module as emitted agrees
    # padding 1 on the second conv: 16x12x12 instead of 16x10x10, same parameters; a 3x3
    # stride-2 pool after it brings the map back to 5x5, so the rest of the module still runs
    bad = _tampered(generated.source, "nn.Conv2d(6, 16, 5)", "nn.Conv2d(6, 16, 5, padding=1)")
    bad = replace(generated, source=_tampered(bad, "nn.AvgPool2d(2)  # line 7",
                                              "nn.AvgPool2d(3, 2)  # line 7"))
    with pytest.raises(ArchcError) as caught:
        verify(model, bad)
    messages = [d.message for d in caught.value.diagnostics]
    assert all(d.code.value == "E402" for d in caught.value.diagnostics), messages
    assert any("emitted 16x12x12, analyzer 16x10x10" in m for m in messages), messages
    assert any(d.span is not None and d.span.line == 6 for d in caught.value.diagnostics)
