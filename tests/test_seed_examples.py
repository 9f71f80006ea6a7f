"""Pin the examples in examples/ to the seeds' worked numbers.

Example ids (E38, E44/E45, 3.6, ...) refer to shared/seed-notes.md, which checks every seed
number and marks the derived ones; whole-network figures come from
shared/reference-figures.md. The two examples with no seed (U-Net, squeeze-and-excitation)
are checked against hand arithmetic written out layer by layer below.
Shapes are C x H x W (the seeds write H x W x C).
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

import archc

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@functools.cache
def load(name: str, network: str | None = None) -> archc.Model:
    return archc.load(EXAMPLES / f"{name}.arch", network=network)


def rows(model: archc.Model) -> dict[str, tuple[tuple[int, ...], int, int]]:
    """name -> (output shape, params, MACs)."""
    return {r.name: (r.output, r.params, r.macs) for r in model.analysis.layers}


def weighted(model: archc.Model) -> list[tuple[tuple[int, ...], int, int]]:
    """(output shape, params, MACs) of the layers that hold parameters, in order."""
    return [(r.output, r.params, r.macs) for r in model.analysis.layers if r.params]


NAMES = "lenet5 lenet5_rgb seeds_39x39 bottleneck inception vgg16 resnet unet_small se_block"


def test_every_example_is_pinned():
    assert {p.stem for p in EXAMPLES.glob("*.arch")} == set(NAMES.split())


# ---- E38: the 39x39 ConvNet -------------------------------------------------------------


@pytest.mark.independent
def test_e38_39x39_convnet():
    m = load("seeds_39x39")
    # (output C x H x W, params = F*F*C_in*K + K, MACs = H_out*W_out*K*F*F*C_in)
    assert weighted(m) == [
        ((10, 37, 37), 3 * 3 * 3 * 10 + 10, 37 * 37 * 10 * 3 * 3 * 3),  # 280, 369,630
        ((20, 17, 17), 5 * 5 * 10 * 20 + 20, 17 * 17 * 20 * 5 * 5 * 10),  # 5,020, 1,445,000
        ((40, 7, 7), 5 * 5 * 20 * 40 + 40, 7 * 7 * 40 * 5 * 5 * 20),  # 20,040, 980,000
        ((1,), 1960 + 1, 1960),  # linear 1960 -> 1: 1,961
    ]
    assert [p for _, p, _ in weighted(m)] == [280, 5_020, 20_040, 1_961]
    assert [c for _, _, c in weighted(m)][:3] == [369_630, 1_445_000, 980_000]
    r = rows(m)
    assert r["flatten1"][0] == (1960,)  # 7x7x40 -> 1960
    assert r["sigmoid1"][0] == (1,)
    assert m.analysis.totals.params == 27_301


# ---- 2.1 / E29 / E41: the LeNet-style network on 32x32x3 ---------------------------------


@pytest.mark.independent
def test_lenet5_rgb_seed_table():
    m = load("lenet5_rgb")
    r = rows(m)
    assert r["conv1"] == ((6, 28, 28), 456, 352_800)  # E29, E41: 456, not the slide's 156
    assert r["pool1"][0] == (6, 14, 14)
    assert r["conv2"] == ((16, 10, 10), 2_416, 240_000)
    assert r["pool2"][0] == (16, 5, 5)
    assert r["flatten1"][0] == (400,)
    assert r["fc3"] == ((120,), 48_120, 48_000)  # one bias per neuron, not the seed's 48,001
    assert r["fc4"] == ((84,), 10_164, 10_080)
    assert r["fc5"] == ((10,), 850, 840)
    assert m.analysis.output == (10,)
    assert m.analysis.totals.params == 62_006
    assert m.analysis.totals.macs == 651_720


@pytest.mark.independent
def test_lenet5_grayscale():
    """Seed-notes 2.1 (last line) and reference-figures.md's LeNet-5 layout notes."""
    m = load("lenet5")
    assert weighted(m) == [
        ((6, 28, 28), 156, 117_600),
        ((16, 10, 10), 2_416, 240_000),
        ((120,), 48_120, 48_000),
        ((84,), 10_164, 10_080),
        ((10,), 850, 840),
    ]
    assert m.analysis.totals.params == 61_706
    assert m.analysis.totals.macs == 416_520


# ---- E44/E45: the 1x1 bottleneck ---------------------------------------------------------


@pytest.mark.independent
def test_e44_direct_5x5():
    m = load("bottleneck", network="Direct")
    assert m.analysis.output == (32, 28, 28)
    assert m.analysis.totals.params == 5 * 5 * 192 * 32 + 32 == 153_632
    assert m.analysis.totals.macs == 28 * 28 * 32 * 5 * 5 * 192 == 120_422_400
    assert m.analysis.bottlenecks == []


@pytest.mark.independent
def test_e45_bottleneck():
    m = load("bottleneck")  # the last network in the file
    assert m.analysis.network == "Bottleneck"
    r = rows(m)
    assert r["reduce"] == ((16, 28, 28), 3_088, 2_408_448)
    assert r["conv5x5"] == ((32, 28, 28), 12_832, 10_035_200)
    assert m.analysis.totals.params == 15_920
    assert m.analysis.totals.macs == 12_443_648
    [b] = m.analysis.bottlenecks
    assert (b.name, b.reduce) == ("conv5x5", "reduce")
    assert b.direct_macs == 120_422_400
    assert b.bottleneck_macs == 2_408_448 + 10_035_200 == 12_443_648
    assert b.ratio == pytest.approx(9.68, abs=0.005)


# ---- 3.6 / E46: one Inception module -----------------------------------------------------


@pytest.mark.independent
def test_inception_module():
    m = load("inception")
    assert m.analysis.input == (192, 28, 28)
    assert m.analysis.output == (64 + 128 + 32 + 32, 28, 28)  # E46: 28x28x256
    r = rows(m)
    p = "inception3a."
    assert r[p + "branch1.0"] == ((64, 28, 28), 12_352, 28 * 28 * 64 * 192)
    assert r[p + "branch2.0"] == ((96, 28, 28), 18_528, 28 * 28 * 96 * 192)
    assert r[p + "branch2.2"] == ((128, 28, 28), 110_720, 28 * 28 * 128 * 9 * 96)
    assert r[p + "branch3.0"] == ((16, 28, 28), 3_088, 2_408_448)  # E45
    assert r[p + "branch3.2"] == ((32, 28, 28), 12_832, 10_035_200)  # E45
    assert r[p + "branch4.0"][0] == (192, 28, 28)  # the padded pool keeps 28x28
    assert r[p + "branch4.1"] == ((32, 28, 28), 6_176, 4_816_896)  # E43
    # 3.6: 12,352 + 18,528 + 110,720 + 3,088 + 12,832 + 6,176
    assert m.analysis.totals.params == 163_696
    assert m.analysis.totals.macs == 128_049_152
    found = {b.name: b for b in m.analysis.bottlenecks}
    five = found[p + "branch3.2"]  # E44 vs E45
    assert five.reduce == p + "branch3.0"
    assert (five.direct_macs, five.bottleneck_macs) == (120_422_400, 12_443_648)
    # The 3x3 branch is a bottleneck too (derived): 3x3x192 -> 128 directly vs 1x1 to 96 first.
    three = found[p + "branch2.2"]
    assert three.direct_macs == 28 * 28 * 128 * 9 * 192 == 173_408_256
    assert three.bottleneck_macs == 28 * 28 * 96 * 192 + 28 * 28 * 128 * 9 * 96 == 101_154_816
    assert set(found) == {p + "branch2.2", p + "branch3.2"}


# ---- 3.3 / 3.4: VGG-16 and ResNet-50 -----------------------------------------------------


@pytest.mark.independent
def test_vgg16_example():
    m = load("vgg16")
    assert m.analysis.totals.params == 138_357_544  # 3.3: "1.38e8"
    assert m.analysis.totals.macs == 15_470_264_320  # 3.3: ~1.547e10
    r = rows(m)
    assert r["features.30"][0] == (512, 7, 7)  # last pool: 7x7x512
    assert r["flatten1"][0] == (25_088,)
    assert m.analysis.output == (1000,)


@pytest.mark.independent
def test_resnet50_example():
    m = load("resnet")
    assert m.analysis.network == "ResNet50"
    assert m.analysis.totals.params == 25_557_032  # reference-figures.md
    assert m.analysis.totals.macs == 4_089_184_256
    r = rows(m)
    assert r["layer1.2.add1"][0] == (256, 56, 56)
    assert r["layer4.2.relu3"][0] == (2048, 7, 7)
    assert m.analysis.output == (1000,)


# ---- U-Net (no seed: hand arithmetic) ----------------------------------------------------


def _conv(c_in, c_out, k, h, w, bias=False):
    """(params, MACs) of a conv: k*k*c_in*c_out (+ c_out) and h_out*w_out*c_out*k*k*c_in."""
    return k * k * c_in * c_out + (c_out if bias else 0), h * w * c_out * k * k * c_in


@pytest.mark.independent
def test_unet_small():
    m = load("unet_small")
    r = rows(m)
    expected = {
        # encoder at 64x64, then 32x32; convs are bias-free, each followed by BN (2*C)
        "enc1.conv1": ((16, 64, 64), *_conv(1, 16, 3, 64, 64)),  # 144, 589,824
        "enc1.bn1": ((16, 64, 64), 2 * 16, 0),
        "enc1.conv2": ((16, 64, 64), *_conv(16, 16, 3, 64, 64)),  # 2,304, 9,437,184
        "enc1.bn2": ((16, 64, 64), 2 * 16, 0),
        "pool1": ((16, 32, 32), 0, 0),
        "enc2.conv1": ((32, 32, 32), *_conv(16, 32, 3, 32, 32)),  # 4,608, 4,718,592
        "enc2.bn1": ((32, 32, 32), 2 * 32, 0),
        "enc2.conv2": ((32, 32, 32), *_conv(32, 32, 3, 32, 32)),  # 9,216, 9,437,184
        "enc2.bn2": ((32, 32, 32), 2 * 32, 0),
        "pool2": ((32, 16, 16), 0, 0),
        "bottom.conv1": ((64, 16, 16), *_conv(32, 64, 3, 16, 16)),  # 18,432, 4,718,592
        "bottom.bn1": ((64, 16, 16), 2 * 64, 0),
        "bottom.conv2": ((64, 16, 16), *_conv(64, 64, 3, 16, 16)),  # 36,864, 9,437,184
        "bottom.bn2": ((64, 16, 16), 2 * 64, 0),
        # conv_t 2x2 s2: out = (16-1)*2 + 2 = 32; params 2*2*64*32 + 32; every one of the
        # 16*16*64 input values scatters a 2*2*32 window: 16*16*64 * 2*2*32 MACs
        "up2": ((32, 32, 32), 2 * 2 * 64 * 32 + 32, 16 * 16 * 64 * 2 * 2 * 32),  # 8,224, 2,097,152
        "cat2": ((32 + 32, 32, 32), 0, 0),
        "dec2.conv1": ((32, 32, 32), *_conv(64, 32, 3, 32, 32)),  # 18,432, 18,874,368
        "dec2.bn1": ((32, 32, 32), 2 * 32, 0),
        "dec2.conv2": ((32, 32, 32), *_conv(32, 32, 3, 32, 32)),  # 9,216, 9,437,184
        "dec2.bn2": ((32, 32, 32), 2 * 32, 0),
        "up1.0": ((32, 64, 64), 0, 0),  # nearest upsampling x2
        "up1.1": ((16, 64, 64), *_conv(32, 16, 3, 64, 64)),  # 4,608, 18,874,368
        "cat1": ((16 + 16, 64, 64), 0, 0),
        "dec1.conv1": ((16, 64, 64), *_conv(32, 16, 3, 64, 64)),  # 4,608, 18,874,368
        "dec1.bn1": ((16, 64, 64), 2 * 16, 0),
        "dec1.conv2": ((16, 64, 64), *_conv(16, 16, 3, 64, 64)),  # 2,304, 9,437,184
        "dec1.bn2": ((16, 64, 64), 2 * 16, 0),
        "head": ((2, 64, 64), *_conv(16, 2, 1, 64, 64, bias=True)),  # 34, 131,072
    }
    assert {k: r[k] for k in expected} == expected
    # Everything else is a parameter-free ReLU.
    assert {row.kind for row in m.analysis.layers if row.name not in expected} == {"relu"}
    # 2,512 + 13,952 + 55,552 + 8,224 + 27,776 + 4,608 + 6,976 + 34
    assert m.analysis.totals.params == sum(p for _, p, _ in expected.values()) == 119_634
    assert m.analysis.totals.macs == sum(c for _, _, c in expected.values()) == 116_064_256
    assert m.analysis.output == (2, 64, 64)


# ---- squeeze-and-excitation (no seed: hand arithmetic) -----------------------------------


@pytest.mark.independent
def test_se_block():
    m = load("se_block")
    r = rows(m)
    c, hw = 64, 32
    assert r["conv1"] == ((c, hw, hw), *_conv(3, c, 3, hw, hw))  # 1,728, 1,769,472
    assert r["bn1"] == ((c, hw, hw), 2 * c, 0)
    for block in ("block1", "block2"):
        b = block + "."
        assert r[b + "conv1"] == ((c, hw, hw), *_conv(c, c, 3, hw, hw))  # 36,864, 37,748,736
        assert r[b + "conv2"] == ((c, hw, hw), *_conv(c, c, 3, hw, hw))
        assert r[b + "bn2"] == ((c, hw, hw), 2 * c, 0)
        se = b + "se1."
        assert r[se + "global_avgpool1"] == ((c, 1, 1), 0, 0)  # squeeze
        # excite: 1x1 convs with bias, c -> c/16 = 4 -> c, applied at a single position
        assert r[se + "conv1"] == ((c // 16, 1, 1), c * 4 + 4, c * 4)  # 260, 256
        assert r[se + "conv2"] == ((c, 1, 1), 4 * c + c, 4 * c)  # 320, 256
        assert r[se + "sigmoid1"] == ((c, 1, 1), 0, 0)
        assert r[se + "mul1"] == ((c, hw, hw), 0, 0)  # the Cx1x1 gate broadcast over CxHxW
        assert r[b + "add1"] == ((c, hw, hw), 0, 0)
    assert r["fc"] == ((10,), c * 10 + 10, c * 10)  # 650, 640
    # stem 1,728 + 128; per block 2*36,864 + 2*128 + 260 + 320 = 74,564; fc 650
    assert m.analysis.totals.params == 1_728 + 128 + 2 * 74_564 + 650 == 151_634
    # stem 1,769,472; per block 2*37,748,736 + 256 + 256; fc 640
    assert m.analysis.totals.macs == 1_769_472 + 2 * (2 * 37_748_736 + 512) + 640 == 152_766_080
    assert m.analysis.output == (10,)
