"""`archc import model.pt2`: torch.export archives round-trip like modules do. The spec's
parameters, MACs and output shape equal PyTorch's own counts on the exported program, `archc
build`'s module loads the program's state_dict (parameters and buffers) with strict=True and no
renaming, and its eval outputs equal `ep.module()`'s. Plus the refusals: an operation archc
cannot write is named with its module and source line; a file that is no archive is a clean
error."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision")
nn = torch.nn
F = torch.nn.functional

import archc  # noqa: E402
from archc.cli import main  # noqa: E402
from tests.test_importer import _randomise, check_spec  # noqa: E402

FlopCounterMode = pytest.importorskip("torch.utils.flop_counter").FlopCounterMode
CliRunner = pytest.importorskip("click.testing").CliRunner
ROOT = Path(__file__).resolve().parent.parent


def export(module: nn.Module, shape: tuple[int, ...], path: Path, decompose: bool = False,
           **options) -> Path:
    module.eval()
    _randomise(module)
    example = torch.randn(2, *shape, generator=torch.Generator().manual_seed(2))
    program = torch.export.export(module, (example,), **options)
    torch.export.save(program.run_decompositions() if decompose else program, path)
    return path


def cli(*args: str):
    return CliRunner().invoke(main, ["import", *args])


def round_trip(tmp_path: Path, module: nn.Module, shape: tuple[int, ...], **options) -> str:
    archive = export(module, shape, tmp_path / "model.pt2", **options)
    spec = tmp_path / "model.arch"
    result = cli(str(archive), "-o", str(spec))
    assert result.exit_code == 0, result.output
    text = spec.read_text()
    program = torch.export.load(archive)  # what a user of the archive has: no module class
    # the archive's batch of 2 is fixed: count on it, per sample
    check_spec(text, program.module(), program.state_dict, shape, count_batch=2)
    return text


# ---- hand-written modules ---------------------------------------------------------------
class Functional(nn.Module):
    """Functional calls: F.relu, +, *, torch.cat, chunk, view, mean, pooling functions."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.a = nn.Conv2d(8, 8, 3, padding=1)
        self.gate = nn.Conv2d(8, 8, 1)
        self.b = nn.Conv2d(8, 4, 1)
        self.c = nn.Conv2d(8, 12, 1)
        self.tail = nn.Conv2d(12, 12, 1)
        self.norm = nn.BatchNorm2d(24)
        self.fc = nn.Linear(24, 5)

    def forward(self, x):
        x = F.relu(self.stem(x))
        x = x + self.a(x)
        x = x * torch.sigmoid(self.gate(F.adaptive_avg_pool2d(x, 1)))
        x = torch.cat([F.relu(self.b(x)), F.max_pool2d(x, 3, 1, 1), self.c(x)], dim=1)
        x = self.norm(x)
        first, second = x.chunk(2, dim=1)
        x = torch.cat([first, F.hardswish(self.tail(second))], dim=1)
        x = F.avg_pool2d(x, 2)
        return self.fc(x.mean((2, 3)).view(x.size(0), -1))


class Unit(nn.Module):
    def __init__(self, c: int, stride: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, stride, 1, bias=False, groups=2)
        self.norm = nn.BatchNorm2d(c)

    def forward(self, x):
        return F.relu6(self.norm(self.conv(x)))


class Looped(nn.Module):
    """A ModuleList run in a loop: one block, the stride its parameter."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(inplace=True))
        self.units = nn.ModuleList([Unit(16, s) for s in (1, 2, 1)])
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(0.25), nn.Linear(16 * 8 * 8, 3))

    def forward(self, x):
        x = self.stem(x)
        for unit in self.units:
            x = unit(x)
        return self.head(x)


@pytest.mark.independent
def test_functional_calls_round_trip(tmp_path):
    text = round_trip(tmp_path, Functional(), (3, 16, 16))
    assert "residual" in text and "concat" in text and "chunk" in text


@pytest.mark.independent
def test_module_list_loop_gives_one_block(tmp_path):
    text = round_trip(tmp_path, Looped(), (3, 16, 16))
    assert text.count("block ") == 1 and "dropout(0.25)" in text


class OddNames(nn.Module):
    """Child names that are not identifiers, a stateless module called twice, a per-channel
    parameter scaling a tensor (layer_scale)."""

    def __init__(self) -> None:
        super().__init__()
        self.add_module("stage-1", nn.Conv2d(3, 6, 3))
        self.add_module("2nd", nn.BatchNorm2d(6))
        self.act = nn.ReLU()
        self.add_module("input", nn.Conv2d(6, 6, 1))
        self.gamma = nn.Parameter(torch.full((6, 1, 1), 0.5))

    def forward(self, x):
        x = self.act(getattr(self, "2nd")(getattr(self, "stage-1")(x)))
        return self.gamma * self.act(self.input(x))


def test_odd_names_and_layer_scale_round_trip(tmp_path):
    text = round_trip(tmp_path, OddNames(), (3, 12, 12))
    assert '"stage-1":' in text and '"input":' in text and "layer_scale(0.5)" in text


def layer_zoo() -> nn.Module:
    """Layers beyond convolutions: their ATen operations map back to the same modules."""
    return nn.Sequential(
        nn.Conv2d(3, 8, 3), nn.GroupNorm(2, 8), nn.SiLU(), nn.AvgPool2d(2, ceil_mode=True),
        nn.ConvTranspose2d(8, 4, 2, 2), nn.PReLU(), nn.Hardsigmoid(), nn.Tanh(),
        nn.AdaptiveMaxPool2d(3), nn.MaxPool2d(2, 1, dilation=1), nn.Flatten(), nn.LayerNorm(16),
        nn.Linear(16, 12), nn.GELU(), nn.LeakyReLU(0.2), nn.ELU(0.5), nn.Mish(), nn.Softmax(1))


@pytest.mark.independent
def test_layer_zoo_round_trip(tmp_path):
    round_trip(tmp_path, layer_zoo(), (3, 10, 10))


@pytest.mark.independent
def test_core_aten_programs_round_trip(tmp_path):
    # run_decompositions(): convolution, addmm, _native_batch_norm_legit_no_training, ...
    round_trip(tmp_path, Looped(), (3, 16, 16), decompose=True)


@pytest.mark.independent
def test_dynamic_batch_round_trip(tmp_path):
    batch = torch.export.Dim("batch", min=2, max=64)
    round_trip(tmp_path, Looped(), (3, 16, 16), dynamic_shapes={"x": {0: batch}})


# ---- torchvision, on small inputs ---------------------------------------------------------
MODELS = {"resnet18": (3, 64, 64), "mobilenet_v2": (3, 64, 64), "squeezenet1_1": (3, 64, 64),
          "googlenet": (3, 64, 64), "densenet121": (3, 32, 32)}
KWARGS = {"googlenet": {"aux_logits": False, "init_weights": False}}


@pytest.mark.independent
@pytest.mark.parametrize("name", list(MODELS))
def test_torchvision_round_trip(tmp_path, name):
    torch.manual_seed(0)
    model = getattr(torchvision.models, name)(weights=None, **KWARGS.get(name, {}))
    text = round_trip(tmp_path, model, MODELS[name])
    if name != "densenet121":  # (its module import alone takes seconds)
        # the archive holds no module class, yet the spec is the one the module itself gives
        assert text == archc.from_torch(model, MODELS[name])


# ---- refusals ---------------------------------------------------------------------------
class Unsupported(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.inner = nn.Sequential(nn.Conv2d(4, 4, 1))

    def forward(self, x):
        x = torch.cumsum(self.conv(x), dim=1)  # the line the error names
        return self.inner(x) - 1


def test_unsupported_operations_are_named_with_module_and_line(tmp_path):
    archive = export(Unsupported(), (3, 8, 8), tmp_path / "bad.pt2")
    result = cli(str(archive))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "aten.cumsum.default" in result.output and "aten.sub.Tensor" in result.output
    line = next(i for i, text in enumerate(Path(__file__).read_text().splitlines(), 1)
                if "the line the error names" in text)
    assert f'test_importer_pt2.py", line {line}' in result.output


def test_readme_error_example_is_real(tmp_path):
    readme = (ROOT / "README.md").read_text()
    shown = readme.split("$ archc import unsupported.pt2\n")[1].split("```")[0]
    archive = export(Unsupported(), (3, 8, 8), tmp_path / "unsupported.pt2")
    got = cli(str(archive)).output.replace(str(archive), "unsupported.pt2")
    got = got.replace(str(Path(__file__).parent), ".../tests")

    def numbers(text: str) -> str:  # the README's line numbers may lag edits of this file
        return re.sub(r"line \d+", "line N", text)

    assert numbers(got) == numbers(shown)


class Shared(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1)
        self.w = nn.Parameter(torch.randn(4, 4, 1, 1))

    def forward(self, x):
        return F.conv2d(self.conv(F.relu(self.conv(x))), self.w)


def test_shared_and_raw_parameters_are_refused(tmp_path):
    # archc has no weight sharing, and writes every layer as a module of its own
    result = cli(str(export(Shared(), (4, 8, 8), tmp_path / "shared.pt2")))
    assert result.exit_code == 1
    assert "aten.conv2d.default" in result.output and "module `<root>`" in result.output


def test_training_mode_program_is_refused(tmp_path):
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
    path = tmp_path / "train.pt2"
    torch.export.save(torch.export.export(model.train(), (torch.randn(2, 3, 8, 8),)), path)
    result = cli(str(path))
    assert result.exit_code == 1 and "training mode" in result.output


def test_input_shape_comes_from_the_archive(tmp_path):
    archive = export(nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()), (3, 10, 12),
                     tmp_path / "m.pt2")
    assert "input 3x10x12" in cli(str(archive)).output
    assert cli(str(archive), "--input", "3x10x12").exit_code == 0
    differs = cli(str(archive), "--input", "3x32x32")
    assert differs.exit_code == 1 and "3x10x12" in differs.output


def test_garbage_file_is_a_clean_error(tmp_path):
    path = tmp_path / "model.pt2"
    path.write_bytes(b"not an archive\n")
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-m", "archc", "import", str(path)],
                         capture_output=True, text=True, env=env)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert "not a torch.export archive" in run.stderr and not run.stdout


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04" + b"\0" * 40, "zip of a state_dict"])
def test_other_files_are_clean_errors(tmp_path, content):
    path = tmp_path / "model.pt2"
    if isinstance(content, str):
        torch.save({"weight": torch.zeros(3)}, path)  # a zip, but no exported program
    else:
        path.write_bytes(content)
    result = cli(str(path))
    assert result.exit_code == 1 and "not a torch.export archive" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_missing_file_and_kwargs_are_clean_errors(tmp_path):
    missing = cli(str(tmp_path / "absent.pt2"))
    assert missing.exit_code == 1 and "no such file" in missing.output
    archive = export(nn.Sequential(nn.Conv2d(3, 4, 3)), (3, 8, 8), tmp_path / "m.pt2")
    assert cli(str(archive), "--kwargs", "{}").exit_code == 2
