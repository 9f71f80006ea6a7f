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
