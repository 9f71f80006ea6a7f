"""Folded `params` tables: subtotals equal PyTorch's counts of the same torchvision modules;
numbers are never cut at 80 columns."""

from __future__ import annotations

import re

import pytest

import archc
from archc.insight.fold import fold, tree
from archc.insight.summary import params_table
from tests.conftest import ROOT, spec_paths


def _rows(spec: str, depth: int | None):
    model = archc.load(ROOT / spec)
    return {row.name: row for row in fold(tree(model.expanded.body, model.analysis), depth)}


def test_resnet50_stage_subtotals_equal_torchvision_modules():
    torchvision = pytest.importorskip("torchvision")
    net = torchvision.models.resnet50(weights=None)

    def count(*modules):
        return sum(p.numel() for m in modules for p in m.parameters())

    depth1 = _rows("specs/resnet50.arch", 1)
    for stage in ("layer1", "layer2", "layer3", "layer4"):
        assert depth1[stage].params == count(getattr(net, stage))
    depth2 = _rows("specs/resnet50.arch", 2)
    assert depth2["layer1.0"].params == count(net.layer1[0])
    # identical blocks fold into one row "layer3.1-5 x 5"
    row = depth2["layer3.1-5"]
    assert row.count == 5 and row.kind.startswith("bottleneck")
    assert row.params == count(*list(net.layer3)[1:])
    assert depth2["fc"].params == count(net.fc)


def test_fold_keeps_totals_and_order():
    model = archc.load(ROOT / "specs/googlenet_aux.arch")
    full = [r.name for r in model.analysis.layers]
    for depth in (None, 1, 2, 3):
        rows = fold(tree(model.expanded.body, model.analysis), depth)
        assert [r.name for row in rows for r in row.layers] == full
        assert sum(row.params for row in rows) == 13_004_888  # reference-figures.md


def test_seed_bottleneck_figures_survive_80_columns():
    """seed-notes E43/E44: 120,422,400 direct vs 12,443,648 with the 1x1 bottleneck."""
    text = archc.load(ROOT / "examples/inception.arch")
    out = params_table(text, width=80)
    assert "120,422,400" in out and "12,443,648" in out


NUMBER = re.compile(r"\d[\d,]*\.?\d*")


@pytest.mark.parametrize("path", spec_paths(), ids=lambda p: p.stem)
@pytest.mark.parametrize("depth", [None, 2])
def test_80_columns_never_cut_a_number(path, depth):
    model = archc.load(path)
    out = params_table(model, depth=depth, width=80)
    table = out.split("\n\n")[1].splitlines()
    assert all(len(line) <= 80 for line in table)
    rows = fold(tree(model.expanded.body, model.analysis), depth)
    numbers = {f"{row.params:,}" for row in rows} | {f"{row.macs:,}" for row in rows}
    cells = set(NUMBER.findall(out))
    assert numbers <= cells


LANGUAGE = """block ir(c, s, t) {
    residual if s == 1 and in.c == c {
        conv: {
            if t != 1 { { conv(in.c * t, k=1) bn relu6 } }
            { conv(in.c * t, k=3, s=s, p=1, groups=in.c * t) bn relu6 }
            conv(c, k=1) bn
        }
    }
}
block basic(c, s) {
    residual { conv1: conv(c, k=3, s=s, p=1) bn1: bn relu conv2: conv(c, k=3, p=1) bn2: bn }
    shortcut downsample { if s != 1 or in.c != c { conv(c, k=1, s=s) bn } else { identity } }
    relu
}
network N {
    input 4x16x16
    features: { ir(4, 1, 1) ir(8, 2, 6) ir(8, 1, 6) ir(8, 1, 6) }
    "layer-1": { basic(16, 2) basic(16, 1) basic(16, 1) }
    global_avgpool flatten
    "fc-out": linear(10)
}
"""


def _module_params(net, path: str) -> int:
    """Parameters of the emitted submodule at a row's path; `a.2-3` sums a.2 and a.3."""
    head, _, last = path.rpartition(".")
    modules = dict(net.named_modules())
    if "-" in last and last.split("-")[0].isdigit():
        first, end = (int(v) for v in last.split("-"))
        parts = [f"{head}.{i}" for i in range(first, end + 1)]
    else:
        parts = [path]
    return sum(p.numel() for part in parts for p in modules[part].parameters())


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_language_constructs_fold_into_the_emitted_modules(depth):
    """if/else bodies, quoted labels, numbered containers inside numbered containers and a
    named shortcut fold into rows whose subtotals are PyTorch's counts of the same submodules
    of the emitted code; block rows show the call's arguments, not the input shape."""
    torch = pytest.importorskip("torch")  # noqa: F841
    from archc.codegen.build import import_source
    from archc.codegen.pytorch import generate

    model = archc.loads(LANGUAGE)
    generated = generate(model)
    net = getattr(import_source(generated.source), generated.class_name)()
    rows = fold(tree(model.expanded.body, model.analysis), depth)
    assert sum(row.params for row in rows) == sum(p.numel() for p in net.parameters())
    modules = dict(net.named_modules())
    checked = 0
    for row in rows:
        path = row.name
        if path in modules or "-" in path.rpartition(".")[2]:
            assert row.params == _module_params(net, path), (depth, path)
            checked += 1
    assert checked >= 4
    kinds = {row.name: row.kind for row in rows}
    if depth == 2:
        assert kinds["features.1"] == "ir(8, 2, 6)" and kinds["layer-1.0"] == "basic(16, 2)"
        assert "features.2-3" in kinds and "layer-1.1-2" in kinds  # identical calls fold
    if depth == 3:
        assert "layer-1.0.downsample" in kinds and "features.1.conv" in kinds
