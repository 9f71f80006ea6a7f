"""Reports: golden text/JSON/Markdown/CSV, and the invariants tying rows to totals."""

from __future__ import annotations

import csv
import io
import json

import pytest

import archc
from archc import report
from archc.insight.summary import params_table
from tests.conftest import ROOT
from tests.test_zoo import FIGURES

CASES = ["lenet5", "inception", "bottleneck", "unet_small"]


@pytest.mark.parametrize("name", CASES)
def test_golden_reports(name, golden):
    model = archc.load(ROOT / f"examples/{name}.arch")
    analysis = model.analysis
    golden(f"report/{name}.txt", params_table(model, width=120, ascii_only=True))
    golden(f"report/{name}.json", report.to_json(analysis) + "\n")
    golden(f"report/{name}.md", report.to_markdown(analysis))
    golden(f"report/{name}.csv", report.to_csv(analysis))


@pytest.mark.independent
@pytest.mark.parametrize("name", list(FIGURES))
@pytest.mark.independent
def test_json_totals_are_the_published_figures(name):
    """reference-figures.md: MACs are FlopCounterMode's flops / 2, so flops are its total."""
    params, macs, output = FIGURES[name]
    doc = report.to_dict(archc.load(ROOT / f"specs/{name}.arch").analysis, report.View(batch=3))
    assert (doc["totals"]["params"], doc["output"]) == (params, list(output))
    assert (doc["totals"]["macs"], doc["totals"]["flops"]) == (3 * macs, 3 * 2 * macs)
    assert doc["side_outputs"] == []


@pytest.mark.independent
def test_json_has_the_documented_fields():
    doc = report.to_dict(archc.load(ROOT / "specs/googlenet_aux.arch").analysis)
    assert {"network", "input", "output", "totals", "layers", "bottlenecks",
            "side_outputs"} <= set(doc)
    assert set(doc["totals"]) == {"params", "macs", "flops", "activation_bytes"}
    assert {"name", "kind", "output", "params", "macs", "line"} <= set(doc["layers"][0])
    assert doc["input"] == [3, 224, 224] and doc["output"] == [1000]
    assert doc["totals"]["params"] == 13_004_888  # reference-figures.md, heads included
    assert doc["totals"]["macs"] == 1_498_376_192  # main path only
    assert [(s["name"], s["output"], s["macs"]) for s in doc["side_outputs"]] == [
        ("aux1", [1000], 4_169_728), ("aux2", [1000], 4_202_496)]


@pytest.mark.independent
def test_batch_scales_macs_and_memory_not_params():
    analysis = archc.load(ROOT / "examples/lenet5.arch").analysis
    one, eight = report.to_dict(analysis), report.to_dict(analysis, report.View(batch=8))
    assert eight["totals"]["params"] == one["totals"]["params"] == 61_706
    assert eight["totals"]["macs"] == 8 * 416_520
    assert eight["totals"]["activation_bytes"] == 8 * one["totals"]["activation_bytes"]


@pytest.mark.independent
def test_activation_bytes_is_float32_sum_of_outputs():
    # LeNet-5 main path outputs (seed notes 2.1 shapes, 1-channel input): conv 6x28x28,
    # tanh same, pool 6x14x14, conv 16x10x10, tanh same, pool 16x5x5, flatten 400,
    # fc 120 + tanh, fc 84 + tanh, fc 10.
    values = 2 * 4704 + 1176 + 2 * 1600 + 400 + 400 + 2 * 120 + 2 * 84 + 10
    analysis = archc.load(ROOT / "examples/lenet5.arch").analysis
    assert analysis.totals.activation_bytes == 4 * values


@pytest.mark.independent
def test_csv_parses_back():
    text = report.to_csv(archc.load(ROOT / "examples/lenet5.arch").analysis)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["name"] == "conv1" and rows[0]["params"] == "156"
    assert sum(int(r["params"]) for r in rows) == 61_706


@pytest.mark.independent
def test_bottleneck_section_reproduces_the_seeds():
    model = archc.load(ROOT / "examples/bottleneck.arch", network="Bottleneck")
    analysis = model.analysis
    (entry,) = analysis.bottlenecks
    assert (entry.direct_macs, entry.bottleneck_macs) == (120_422_400, 12_443_648)  # E44/E45
    assert round(entry.ratio, 2) == 9.68
    assert "9.68x" in params_table(model)
    assert json.loads(report.to_json(analysis))["bottlenecks"][0]["ratio"] == 9.6774
