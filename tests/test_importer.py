"""archc import round trips: spec counts equal PyTorch's, the emitted module loads the original
state_dict strictly without renaming, and eval outputs are equal. Plus the refusals: every
operation archc cannot write is an error naming it, its module and its source line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision")
nn = torch.nn
F = torch.nn.functional

import archc  # noqa: E402
from archc.fmt import format_text  # noqa: E402
from archc.importer import ImportFailure  # noqa: E402
from archc.lint import lint_text  # noqa: E402

FlopCounterMode = pytest.importorskip("torch.utils.flop_counter").FlopCounterMode
ROOT = Path(__file__).resolve().parent.parent


def _randomise(model: nn.Module) -> None:
    """Fresh batch norms are the identity in eval: give them statistics, so a skipped or
    swapped one shows in the outputs."""
    generator = torch.Generator().manual_seed(1)
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            n = module.num_features
            module.running_mean.copy_(torch.randn(n, generator=generator) * 0.1)
            module.running_var.copy_(torch.rand(n, generator=generator) + 0.5)


def round_trip(module: nn.Module, shape: tuple[int, ...]) -> str:
    module.eval()
    _randomise(module)
    text = archc.from_torch(module, shape)
    check_spec(text, module, module.state_dict(), shape)
    return text


def check_spec(text: str, reference: nn.Module, state_dict: dict, shape: tuple[int, ...],
               count_batch: int = 1) -> None:
    """`text` is fmt- and lint-clean, its counts are PyTorch's on `reference` (MACs per sample,
    counted on a batch of `count_batch`), and archc's module loads `state_dict` strictly and
    computes `reference`'s outputs exactly."""
    assert format_text(text) == text, "not fmt-clean"
    errors = [d for d in lint_text(text) if d.is_error]
    assert not errors, errors
    model = archc.loads(text)
    x = torch.randn(2, *shape, generator=torch.Generator().manual_seed(0))
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        want = reference(x[:count_batch])
    assert model.totals.params == sum(p.numel() for p in reference.parameters())
    assert model.totals.macs == counter.get_total_flops() // 2 // count_batch
    assert tuple(model.analysis.output) == tuple(want.shape[1:])
    built = archc.build_module(text)
    built.load_state_dict(state_dict, strict=True)  # same keys, no renaming
    built.eval()
    with torch.no_grad():
        assert torch.equal(built(x), reference(x))


# ---- hand-written modules ---------------------------------------------------------------
class Functional(nn.Module):
    """Functional calls: F.relu, +, *, torch.cat, torch.flatten, adaptive pooling."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.a = nn.Conv2d(8, 8, 3, padding=1)
        self.gate = nn.Conv2d(8, 8, 1)
        self.b = nn.Conv2d(8, 4, 1)
        self.c = nn.Conv2d(8, 12, 1)
        self.fc = nn.Linear(24, 5)

    def forward(self, x):
        x = F.relu(self.stem(x))
        x = x + self.a(x)
        x = x * torch.sigmoid(self.gate(F.adaptive_avg_pool2d(x, 1)))
        x = torch.cat([F.relu(self.b(x)), F.max_pool2d(x, 3, 1, 1), self.c(x)], dim=1)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class Block(nn.Module):
    def __init__(self, c: int, stride: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, stride, 1, bias=False)
        self.norm = nn.BatchNorm2d(c)

    def forward(self, x):
        return F.relu(self.norm(self.conv(x)))


class Looped(nn.Module):
    """A ModuleList run in a loop, blocks of one class with differing strides."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU())
        self.blocks = nn.ModuleList([Block(16, s) for s in (1, 1, 2, 1)])
        self.head = nn.Linear(16, 3)

    def forward(self, x):
        x = self.stem(x)
        for block in self.blocks:
            x = block(x)
        return self.head(x.mean((2, 3)))


class OddNames(nn.Module):
    """Child names that are not Python identifiers, and a stateless module used twice."""

    def __init__(self) -> None:
        super().__init__()
        self.add_module("stage-1", nn.Conv2d(3, 6, 3))
        self.add_module("2nd", nn.BatchNorm2d(6))
        self.act = nn.ReLU()
        self.add_module("input", nn.Conv2d(6, 6, 1))  # an archc keyword

    def forward(self, x):
        x = self.act(getattr(self, "2nd")(getattr(self, "stage-1")(x)))
        return self.act(self.input(x))


def test_functional_calls_round_trip():
    text = round_trip(Functional(), (3, 16, 16))
    assert "residual" in text and "concat" in text


def test_sequential_round_trips():
    net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Flatten(), nn.Dropout(0.2), nn.Linear(8 * 7 * 7, 10))
    round_trip(net, (3, 16, 16))


def test_module_list_loop_gives_one_block_with_parameters():
    text = round_trip(Looped(), (3, 16, 16))
    assert text.count("block ") == 1 and "block block(s)" in text


def test_non_identifier_names_are_quoted():
    text = round_trip(OddNames(), (3, 12, 12))
    assert '"stage-1":' in text and '"2nd":' in text and '"input":' in text


class Shared(nn.Module):
    """One conv applied twice: its weights count once, as in model.parameters()."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1)

    def forward(self, x):
        return self.conv(F.relu(self.conv(x)))


class Unit(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(c)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)) + x)


class Twice(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return self.conv(torch.sigmoid(self.conv(x)))


class SharedBlock(nn.Module):
    """A block-like submodule called twice, a shared linear head and a shared conv inside a
    block: each is one module in the state_dict, applied again."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.unit = Unit(8)
        self.other = Twice(8)
        self.fc = nn.Linear(8, 8)

    def forward(self, x):
        x = self.unit(self.stem(x))
        x = self.other(self.unit(x))
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return self.fc(F.relu(self.fc(x)))


class SharedInLoop(nn.Module):
    """A conv and a batch norm (buffers only) run three times in a loop, and a Sequential
    applied again inside a residual."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4, affine=False)
        self.head = nn.Sequential(nn.Conv2d(4, 4, 1), nn.ReLU())

    def forward(self, x):
        for _ in range(3):
            x = F.relu(self.bn(self.conv(x)))
        x = self.head(x)
        return self.head(x) + x


class Holder(nn.Module):
    def __init__(self, conv: nn.Module) -> None:
        super().__init__()
        self.conv = conv
        self.bn = nn.BatchNorm2d(4)

    def forward(self, x):
        return self.bn(self.conv(x))


class CrossShared(nn.Module):
    """One conv held by two different submodules: no `again` can say that."""

    def __init__(self) -> None:
        super().__init__()
        conv = nn.Conv2d(4, 4, 3, padding=1)
        self.a, self.b = Holder(conv), Holder(conv)

    def forward(self, x):
        return self.b(self.a(x))


def test_shared_conv_round_trips_counted_once():
    text = round_trip(Shared(), (4, 8, 8))
    assert "again conv" in text and text.count("conv(") == 1


def test_shared_block_and_linear_round_trip():
    text = round_trip(SharedBlock(), (3, 8, 8))
    assert "again unit" in text and "again fc" in text and "again conv" in text
    assert text.count("block unit") == 1  # the reused call adds no block


def test_shared_modules_in_a_loop_and_a_residual_round_trip():
    text = round_trip(SharedInLoop(), (4, 8, 8))
    assert text.count("again conv") == 2 and text.count("again bn") == 2
    assert "again head" in text


def test_weights_shared_across_modules_are_refused_by_name():
    with pytest.raises(ImportFailure, match=r"from two different modules .*module `a\.conv`"):
        archc.from_torch(CrossShared(), (4, 8, 8))


class Unsupported(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.rnn_like = nn.Bilinear(4, 4, 4)

    def forward(self, x):
        x = torch.cumsum(self.conv(x), dim=1)
        return x


class DataDependent(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        x = self.conv(x)
        if x.sum() > 0:
            x = -x
        return x


def test_unsupported_operation_named_with_module_and_line():
    with pytest.raises(ImportFailure) as info:
        archc.from_torch(Unsupported(), (3, 8, 8))
    text = str(info.value)
    assert "torch.cumsum" in text and "test_importer.py" in text
    assert "Bilinear" in text and "rnn_like" in text  # a module never called is not dropped


def test_data_dependent_control_flow_is_an_error_with_its_line():
    with pytest.raises(ImportFailure, match=r"test_importer.py.*line \d+"):
        archc.from_torch(DataDependent(), (3, 8, 8))


# ---- torchvision ------------------------------------------------------------------------
ROUND_TRIP = ["resnet18", "resnet50", "resnext50_32x4d", "vgg16", "vgg11_bn", "alexnet",
              "googlenet", "inception_v3", "mobilenet_v2", "mobilenet_v3_small", "densenet121",
              "squeezenet1_0", "mnasnet0_5", "efficientnet_b0", "regnet_x_400mf",
              "regnet_y_400mf", "convnext_tiny", "shufflenet_v2_x0_5"]
FAILING = {
}
INPUTS = {"inception_v3": (3, 299, 299)}
KWARGS = {"googlenet": {"aux_logits": False, "init_weights": False},
          "inception_v3": {"aux_logits": False, "init_weights": False}}


@pytest.mark.parametrize("name", ROUND_TRIP + [
    pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=r)) for n, r in FAILING.items()])
def test_torchvision_round_trip(name):
    torch.manual_seed(0)
    model = getattr(torchvision.models, name)(weights=None, **KWARGS.get(name, {}))
    round_trip(model, INPUTS.get(name, (3, 224, 224)))


def test_googlenet_aux_heads_are_not_dropped_silently():
    model = torchvision.models.googlenet(weights=None, aux_logits=True, init_weights=False)
    with pytest.raises(ImportFailure, match=r"never called in eval mode \(module `aux1"):
        archc.from_torch(model, (3, 224, 224))


def test_imported_resnet18_is_about_as_long_as_the_zoo_spec():
    text = archc.from_torch(torchvision.models.resnet18(weights=None), (3, 224, 224))
    zoo = (ROOT / "specs" / "resnet18.arch").read_text()
    assert len(text.splitlines()) <= 2 * len(zoo.splitlines())


SIZES = {name: name for name in ("resnet50", "densenet121", "efficientnet_b0",
                                 "mobilenet_v3_large")}


@pytest.mark.parametrize("name", SIZES)
def test_import_is_in_proportion_to_the_zoo_spec_and_labels_only_where_needed(name):
    from archc.importer.labels import drop_redundant_labels

    text = archc.from_torch(getattr(torchvision.models, name)(weights=None), (3, 224, 224))
    zoo = (ROOT / "specs" / f"{SIZES[name]}.arch").read_text()
    # MobileNetV3's variants of one bottleneck class are still separate blocks (no `if`)
    limit = 2.0 if name == "mobilenet_v3_large" else 1.25
    assert len(text.splitlines()) <= limit * len(zoo.splitlines())
    assert drop_redundant_labels(text) == text  # no label left that archc would write itself
    for label in ("conv1:", "bn1:", "denselayer2:"):  # torchvision's names, archc's automatic ones
        assert label not in text


def test_cli_import_writes_a_spec_that_checks(tmp_path):
    out = tmp_path / "alex.arch"
    env = {"PYTHONPATH": str(ROOT)}
    import os

    env = os.environ | env
    run = subprocess.run([sys.executable, "-m", "archc", "import", "torchvision.models:alexnet",
                          "--kwargs", json.dumps({"num_classes": 10}), "-o", str(out)],
                         capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr
    check = subprocess.run([sys.executable, "-m", "archc", "params", str(out)],
                           capture_output=True, text=True, env=env)
    assert check.returncode == 0 and "57,044,810" in check.stdout, check.stdout


def test_cli_import_failure_exits_1(tmp_path):
    import os

    env = os.environ | {"PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-m", "archc", "import",
                          "tests.test_importer:CrossShared", "--input", "4x8x8"],
                         capture_output=True, text=True, env=env, cwd=ROOT)
    assert run.returncode == 1 and "module `a.conv`" in run.stderr
    assert "Traceback" not in run.stderr


def test_readme_example_is_real():
    readme = (ROOT / "README.md").read_text()
    shown = readme.split("`archc import torchvision.models:resnet18`:\n\n```\n")[1].split("```")[0]
    assert archc.from_torch(torchvision.models.resnet18(weights=None), (3, 224, 224)) == shown
    error = readme.split("$ archc import tests.test_importer:Unsupported --input 3x8x8\n")[1]
    line = int(error.split("test_importer.py\", line ")[1].split(",")[0])
    source = Path(__file__).read_text().splitlines()[line - 1]
    assert "torch.cumsum" in source


def test_cli_missing_torch_export_archive_is_a_clean_error(tmp_path):
    import os

    env = os.environ | {"PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-m", "archc", "import", str(tmp_path / "m.pt2")],
                         capture_output=True, text=True, env=env)
    assert run.returncode == 1 and "no such file" in run.stderr
    assert "Traceback" not in run.stderr
