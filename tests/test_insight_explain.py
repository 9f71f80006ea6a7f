"""`archc explain`: derivations checked against the course's worked examples (seed-notes.md),
every layer kind explains itself, every diagnostic code has a long explanation."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

import archc
from archc.cli import main
from archc.insight.explain import explain_code, explain_network
from archc.lint.ruleset import rules
from tests.conftest import ROOT, spec_paths


def _explain(path: str, *args: str) -> str:
    result = CliRunner().invoke(main, ["explain", str(ROOT / path), *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_seed_e38_39x39_network():
    """seed-notes E38: 39x39x3 -> 37x37x10 (280 params, 369,630 multiplies) -> 17x17x20
    (5,020; 1,445,000) -> 7x7x40 (20,040; 980,000) -> 1960 -> 1 (1,961); total 27,301."""
    text = _explain("examples/seeds_39x39.arch")
    for piece in ("floor((39 + 2\u00b70 \u2212 (3\u22121) \u2212 1)/1) + 1 = 37",
                  "3\u00b73\u00b73\u00b710 + 10 = 280", "= 369,630",
                  "floor((37 + 2\u00b70 \u2212 (5\u22121) \u2212 1)/2) + 1 = 17",
                  "5\u00b75\u00b710\u00b720 + 20 = 5,020", "= 1,445,000", "= 20,040", "= 980,000",
                  "40\u00b77\u00b77 = 1,960", "1,960\u00b71 + 1 = 1,961", "total: 27,301"):
        assert piece in text, piece


def test_seed_e44_bottleneck_direct_vs_reduced():
    """seed-notes E43/E44: 5x5 on 28x28x192 to 32: 28*28*32*5*5*192 = 120,422,400; with the
    1x1 to 16 first: 2,408,448 + 10,035,200 = 12,443,648."""
    text = _explain("examples/bottleneck.arch", "--network", "Bottleneck", "--layer", "conv5x5")
    assert "28\u00b728\u00b732\u00b75\u00b75\u00b7192 = 120,422,400" in text
    assert "2,408,448 + 10,035,200 = 12,443,648" in text


def test_seed_e9_e16_e35():
    """E9: 10 kernels 5x5x3 with p=2 on 32x32x3: 750 + 10 = 760 params, 768,000 MACs.
    E16: 3072 -> FC 4096: 12,582,912 multiplies (+4096 biases = 12,587,008).
    E35: 7x7, f3 s2 p0 -> (7 + 0 - 3)/2 + 1 = 3."""
    text = explain_network(archc.loads("network A { input 3x32x32 conv(10, k=5, p=2) }"))
    assert "5\u00b75\u00b73\u00b710 + 10 = 760" in text and "= 768,000" in text
    text = explain_network(archc.loads("network F { input 3x32x32 flatten linear(4096) }"))
    assert "3\u00b732\u00b732 = 3,072" in text and "= 12,582,912" in text and "= 12,587,008" in text
    model = archc.loads("network B { input 1x7x7 maxpool(3, s=2) }")
    assert "floor((7 + 2\u00b70 \u2212 (3\u22121) \u2212 1)/2) + 1 = 3" in explain_network(model)


def test_stacked_3x3_receptive_fields_in_explain():
    """seed-notes 1.9: stride-1 3x3 convs: 3x3, 5x5, 7x7."""
    model = archc.loads("network C { input 1x16x16 conv(1, k=3) conv(1, k=3) conv(1, k=3) }")
    text = explain_network(model)
    assert [line.split()[2] for line in text.splitlines()
            if line.strip().startswith("receptive field")] == ["3x3,", "5x5,", "7x7,"]


@pytest.mark.parametrize("path", spec_paths(with_test_data=True), ids=lambda p: p.stem)
def test_every_layer_of_every_spec_explains_itself(path):
    text = archc.load(path)
    out = explain_network(text)
    assert out.count("\n  params ") >= len(text.analysis.layers)


@pytest.mark.parametrize("code", sorted(rules()))
def test_every_code_has_a_long_explanation(code):
    text = explain_code(code)
    assert text.startswith(code) and "Why:" in text and "Fix:" in text


def test_code_explanation_shows_the_real_diagnostic():
    out = CliRunner().invoke(main, ["explain", "e203"]).output
    assert "residual {" in out and "error[E203]" in out and "shortcut" in out


def test_unknown_code_and_layer_are_usage_errors():
    assert CliRunner().invoke(main, ["explain", "E999"]).exit_code == 2
    result = CliRunner().invoke(main, ["explain", str(ROOT / "specs/resnet18.arch"), "--layer",
                                       "layer1.0.conv3"])
    assert result.exit_code == 2 and "layer1.0.conv1" in result.output


def test_grouped_and_transposed_derivations_by_hand():
    """Depthwise 8 -> 16, 3x3: 3*3*1*16 + 16 = 160; 4 groups on 16 channels, 3x3 dilated 2:
    3*3*4*16 + 16 = 592 and (15 + 4 - 2*2 - 1)/1 + 1 = 15; transposed 16 -> 4, k4 s2 p1 on 7:
    (7-1)*2 - 2 + 3 + 0 + 1 = 14 and 4*4*16*4 + 4 = 1,028 (torch.nn.ConvTranspose2d docs)."""
    model = archc.loads("network G { input 8x15x15 conv(16, k=3, groups=8, p=1) "
                        "conv(16, k=3, groups=4, d=2, p=2) maxpool(3, s=2, ceil=true) "
                        "conv_t(4, k=4, s=2, p=1) }")
    text = explain_network(model)
    assert "depthwise" in text and "3\u00b73\u00b71\u00b716 + 16 = 160" in text
    assert "3\u00b73\u00b74\u00b716 + 16 = 592" in text
    assert "floor((15 + 2\u00b72 \u2212 2\u00b7(3\u22121) \u2212 1)/1) + 1 = 15" in text
    assert "ceil((15 + 2\u00b70 \u2212 (3\u22121) \u2212 1)/2) + 1 = 7" in text
    assert "(7\u22121)\u00b72 \u2212 2\u00b71 + 1\u00b7(4\u22121) + 0 + 1 = 14" in text
    assert "4\u00b74\u00b716\u00b74 + 4 = 1,028" in text


def test_channels_last_derivations_by_hand():
    """ConvNeXt-style layers on a 96x7x7 map made channels-last: linear(384) at each of the
    7·7 = 49 positions costs 7·7·96·384 = 1,806,336 MACs with 96·384 + 384 = 37,248
    parameters; layernorm takes statistics over 96 channels at 49 positions (2·96 = 192
    parameters); layer_scale has one factor per channel (96)."""
    model = archc.loads("network N { input 96x7x7 permute(0, 2, 3, 1) layernorm linear(384) "
                        "gelu linear(96) layer_scale permute(0, 3, 1, 2) }")
    text = explain_network(model)
    mult = "\u00b7"
    for piece in ("96x7x7 -> 7x7x96 (channels last)", "C = 96 channels at each of the 49 positions",
                  f"2{mult}C = 2{mult}96 = 192", f"96{mult}384 + 384 = 37,248",
                  f"H{mult}W{mult}N{mult}K = 7{mult}7{mult}96{mult}384 = 1,806,336",
                  "params           C = 96"):
        assert piece in text, piece
