"""`archc diff`: per-layer and total changes checked against published figures
(reference-figures.md) and hand arithmetic; CI exit codes; `--git`."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from click.testing import CliRunner

import archc
from archc.cli import main
from archc.insight.diff import diff, exceeded, parse_limit
from tests.conftest import ROOT

R18, R34 = str(ROOT / "specs/resnet18.arch"), str(ROOT / "specs/resnet34.arch")


def test_resnet18_to_34_matches_published_totals():
    d = diff(archc.load(R18), archc.load(R34))
    assert d.delta("params") == 21_797_672 - 11_689_512  # reference-figures.md
    assert d.delta("macs") == 3_663_761_408 - 1_814_073_344
    # 3-4-6-3 vs 2-2-2-2 basic blocks: 8 more blocks of 7 layers (conv bn relu conv bn add relu)
    assert sum(c.status == "added" for c in d.layers) == 56
    assert not [c for c in d.layers if c.status in ("removed", "changed")]
    assert sum(c.delta("params") for c in d.layers) == d.delta("params")


LENET = (ROOT / "examples/lenet5.arch").read_text()


def test_an_edit_shows_changed_layers_by_hand():
    """conv1 6 -> 8 kernels: conv1 5*5*1*8 + 8 = 208 (was 156), conv2 5*5*8*16 + 16 = 3,216
    (was 2,416); MACs conv1 28*28*8*25 = 156,800 (was 117,600)."""
    edited = LENET.replace("conv(6, k=5)", "conv(8, k=5)")
    assert edited != LENET
    d = diff(archc.loads(LENET), archc.loads(edited))
    by = {c.name: c for c in d.changed}
    assert set(by) >= {"conv1", "conv2"}
    assert by["conv1"].delta("params") == 52 and by["conv2"].delta("params") == 800
    assert by["conv1"].delta("macs") == 156_800 - 117_600
    assert by["conv1"].new.output == (8, 28, 28)


def test_fail_on_exit_codes():
    """ResNet-34 has 86.5% more parameters than ResNet-18."""
    runner = CliRunner()
    assert runner.invoke(main, ["diff", R18, R34, "--fail-on", "params+80%"]).exit_code == 1
    assert runner.invoke(main, ["diff", R18, R34, "--fail-on", "params+90%"]).exit_code == 0
    assert runner.invoke(main, ["diff", R18, R34, "--fail-on", "macs+1G"]).exit_code == 1
    assert runner.invoke(main, ["diff", R18, R34, "--fail-on", "params+lots"]).exit_code == 2
    assert parse_limit("macs+50M") == ("macs", 50e6, False)
    d = diff(archc.load(R18), archc.load(R34))
    assert exceeded(d, ["memory+10%"]) and not exceeded(d, ["params+100%"])


def test_json_and_markdown():
    runner = CliRunner()
    doc = json.loads(runner.invoke(main, ["diff", R18, R34, "--format", "json"]).output)
    assert doc["totals"]["params"] == {"old": 11_689_512, "new": 21_797_672,
                                       "delta": 10_108_160}
    assert len(doc["layers"]) == 56 and doc["layers"][0]["status"] == "added"
    md = runner.invoke(main, ["diff", R18, R34, "--format", "markdown"]).output
    assert "| Parameters | 11,689,512 | 21,797,672 | +10,108,160 | +86.47% |" in md


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_git_revision(tmp_path):
    spec = tmp_path / "net.arch"
    spec.write_text(LENET)

    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    git("add", "net.arch")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "lenet")
    spec.write_text(LENET.replace("linear(120)", "linear(100)"))
    result = CliRunner().invoke(main, ["diff", "--git", "HEAD", str(spec), "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    # linear1 400*100+100 vs 400*120+120; linear2 100*84+84 vs 120*84+84
    assert doc["totals"]["params"]["delta"] == (40_100 - 48_120) + (8_484 - 10_164)
    bad = CliRunner().invoke(main, ["diff", "--git", "nosuchrev", str(spec)])
    assert bad.exit_code == 2


def test_diff_aligns_by_issue_10_names():
    """An edit inside conditional, quoted and nested-numbered names: `ir(8, 1, 6)` -> `ir(8, 1,
    4)` for features.2 narrows its expansion from 48 to 32 channels; by hand (convs with bias)
    the expansion conv 1x1 8->32 has 256 + 32 = 288 parameters (was 384 + 48 = 432), its bn
    64 (was 96), the depthwise 3x3 9*32 + 32 = 320 (was 432 + 48 = 480), its bn 64 (was 96),
    the projection 32*8 + 8 = 264 (was 384 + 8 = 392). `basic(16, 1)` -> `basic(16, 2)` for
    layer-1.1 puts conv 1x1 16->16 (256 + 16) and bn (32) in its downsample shortcut."""
    from tests.test_insight_fold import LANGUAGE

    edited = LANGUAGE.replace("ir(4, 1, 1) ir(8, 2, 6) ir(8, 1, 6)",
                              "ir(4, 1, 1) ir(8, 2, 6) ir(8, 1, 4)")
    edited = edited.replace("basic(16, 2) basic(16, 1)", "basic(16, 2) basic(16, 2)")
    d = diff(archc.loads(LANGUAGE), archc.loads(edited))
    by = {c.name: c for c in d.layers}
    expected = {"features.2.conv.0.0": -144, "features.2.conv.0.1": -32,
                "features.2.conv.1.0": -160, "features.2.conv.1.1": -32,
                "features.2.conv.2": -128}
    assert {name: by[name].delta("params") for name in expected} == expected
    assert by["features.2.conv.3"].status == "unchanged"
    # the same module path: the else branch's identity there becomes the conv
    assert by["layer-1.1.downsample.0"].status == "changed"
    assert (by["layer-1.1.downsample.0"].old.kind, by["layer-1.1.downsample.0"].new.kind) == (
        "identity", "conv")
    assert by["layer-1.1.downsample.1"].status == "added"
    assert by["layer-1.1.downsample.0"].delta("params") == 272
    assert by["layer-1.1.downsample.1"].delta("params") == 32
    assert by["layer-1.1.conv1"].new.output == (16, 2, 2)  # stride 2 now
    assert by["fc-out"].status == "unchanged"
    assert sum(c.delta("params") for c in d.layers) == d.delta("params")
