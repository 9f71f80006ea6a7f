"""Receptive fields checked against PyTorch: for one output position in the middle of each
layer's output, the input pixels with a non-zero gradient (union over a few random inputs, so
max pooling's and ReLU's choices do not hide pixels) span exactly the predicted interval,
clipped to the input. Small networks cover every construct: padding, stride, dilation, ceil
mode, transposed convolutions, upsampling, pixel shuffle, zero padding, residual sums and
concats (union over paths), 1-D convolutions, and layers that see the whole input."""

from __future__ import annotations

import pytest

import archc
from archc.insight.rf import receptive_fields, region
from archc.layers.base import ChannelsLast, spatial_sizes
from tests.conftest import ROOT

torch = pytest.importorskip("torch")

SPECS = {
    "chain": """network Chain { input 2x61x120
        conv(4, k=3, p=1) relu conv(4, k=5, s=2, p=1) conv(4, k=3, d=2, p=2) relu
        maxpool(3, s=2, p=1) conv(4, k=(3, 5), s=(1, 2), p=(0, 1)) avgpool(3, s=2, ceil=true)
        conv(3, k=3, d=3, p=1) }""",
    "transposed": """network Transposed { input 2x17x19
        conv(4, k=3, s=2, p=1) conv_t(4, k=4, s=2, p=1) relu conv(4, k=3, p=1)
        conv_t(3, k=3, s=2, p=1, output_padding=1) conv_t(3, k=5, s=3, p=2, d=2) }""",
    "upsampling": """network Upsampling { input 2x13x15
        conv(8, k=3) upsample(2) conv(8, k=3, p=1) upsample(3, mode=bilinear)
        conv(8, k=3, p=1) pixel_shuffle(2) zeropad((1, 0, 2, 3)) conv(2, k=3) }""",
    "residual": """network Residual { input 3x33x33
        conv(8, k=3, p=1) -> a
        residual { conv(8, k=3, s=2, p=1) relu conv(8, k=5, p=2) } shortcut { conv(8, k=1, s=2) }
        concat { branch { conv(4, k=1) } branch { conv(4, k=3, p=1) conv(4, k=3, p=3, d=3) }
                 branch { maxpool(3, s=1, p=1) } }
        residual { conv(16, k=7, p=3) }
        conv(4, k=3, s=2) }""",
    "sequence": """network Sequence { input 3x60
        conv1d(4, k=5, p=2) relu maxpool1d(2) conv1d(4, k=3, d=4, p=1) avgpool1d(3, s=2, p=1)
        conv1d(2, k=3, s=2) }""",
    "adaptive": """network Adaptive { input 3x23x19
        conv(4, k=3) adaptive_avgpool((5, 4)) conv(4, k=2) }""",
    # ConvNeXt- and ShuffleNetV2-style layers: channels-last maps, per-position layernorm and
    # linear, a learned scale, stochastic depth (the identity in eval), channel chunks
    "modern": """network Modern { input 3x29x23
        conv(8, k=4, s=2, p=1) layernorm -> x
        conv(8, k=7, p=3, groups=8) permute(0, 2, 3, 1) layernorm linear(16) gelu linear(8)
        layer_scale(0.5) permute(0, 3, 1, 2) stochastic_depth(0.1) add(x)
        concat { branch { chunk(2, 0) } branch { chunk(2, 1) conv(4, k=3, s=1, p=2, d=2) } }
        conv(4, k=3, s=2) }""",
    # a permute that swaps the spatial axes: each axis's field moves with it (27 rows, 17
    # columns in, the 5x3 kernel then runs along the input's columns and rows)
    "swapped": """network Swapped { input 2x27x17
        conv(4, k=3, s=(2, 1)) permute(0, 3, 2, 1) linear(4) permute(0, 3, 1, 2)
        conv(4, k=(5, 3), s=(1, 2)) permute(0, 1, 3, 2) conv(3, k=3, d=2) }""",
}

WHOLE_SPECS = {
    "se_gate": "examples/se_block.arch",
    "norm": """network Norm { input 2x12x12 conv(4, k=3) groupnorm(2) conv(4, k=3) }""",
    "flat": """network Flat { input 2x8x8 conv(4, k=3) flatten linear(5) }""",
}

TRIALS = 6


def _model(source: str, input_shape=None):
    if source.endswith(".arch"):
        return archc.load(ROOT / source, input_shape=input_shape)
    return archc.loads(source)


def _net(model):
    from archc.codegen.build import import_source
    from archc.codegen.pytorch import generate

    generated = generate(model)
    net = getattr(import_source(generated.source), generated.class_name)()
    return net.double().eval()


def _measured(model, net, layer_name: str, position: tuple[int, ...], last: bool = False):
    """Per axis, the (first, last) input pixel with a non-zero gradient; `last`: the layer's
    output is channels-last."""
    from archc.codegen.names import module_path

    target = dict(net.named_modules())[module_path(layer_name)]
    seen = {}
    handle = target.register_forward_hook(lambda m, i, o: seen.__setitem__("out", o))
    hit = None
    try:
        for trial in range(TRIALS):
            torch.manual_seed(trial)
            x = torch.randn(1, *model.analysis.input, dtype=torch.float64, requires_grad=True)
            net(x)
            out = seen["out"]
            index = (0, *position, slice(None)) if last else (0, slice(None), *position)
            (grad,) = torch.autograd.grad(out[index].sum(), x)
            nonzero = grad[0].abs().sum(0) != 0
            hit = nonzero if hit is None else hit | nonzero
    finally:
        handle.remove()
    spans = []
    for axis in range(hit.dim()):
        other = tuple(a for a in range(hit.dim()) if a != axis)
        along = hit.any(dim=other) if other else hit
        index = torch.nonzero(along).flatten()
        spans.append((int(index.min()), int(index.max())))
    return spans, hit


def _module_layers(model, net):
    from archc.codegen.names import module_path

    names = dict(net.named_modules())
    return [row for row in model.analysis.layers if module_path(row.name) in names]


@pytest.mark.parametrize("name", sorted(SPECS))
def test_receptive_field_matches_pytorch_gradients(name):
    """`region` (windows walked back, clipped at every tensor) equals the measured pixels
    exactly; the nominal field (size, jump, start) contains them, and equals them wherever no
    window on the way reaches into padding."""
    model = _model(SPECS[name])
    net = _net(model)
    fields = receptive_fields(model)
    sizes = model.analysis.input[1:]
    checked = 0
    for row in _module_layers(model, net):
        field = fields[row.name]
        assert not field.whole, row.name
        position = tuple(n // 2 for n in spatial_sizes(row.output))
        last = isinstance(row.output, ChannelsLast)
        measured, _ = _measured(model, net, row.name, position, last)
        assert list(region(model, row.name, position)) == measured, f"{row.name} {position}"
        for axis, o in zip(field.axes, position):
            (first, end), n = measured[axis.axis], sizes[axis.axis]
            low, high = axis.pixels(o)
            assert max(low, 0) <= first and end <= min(high, n - 1), row.name
        checked += 1
    assert checked >= 3


@pytest.mark.parametrize("name", sorted(WHOLE_SPECS))
def test_whole_input_fields_match_pytorch(name):
    """After a gate, per-sample statistics or flattening, one output reads every pixel."""
    model = _model(WHOLE_SPECS[name], (3, 12, 12) if name == "se_gate" else None)
    net = _net(model)
    fields = receptive_fields(model)
    row = _module_layers(model, net)[-1]
    assert fields[row.name].whole
    _, hit = _measured(model, net, row.name, tuple(n // 2 for n in row.output[1:]))
    assert bool(hit.all())


def test_stacked_3x3_fields_grow_by_two():
    """seed-notes 1.9 / E17: stride-1 3x3 convs give 3x3, 5x5, 7x7: three 3x3 see what a 7x7
    sees."""
    model = archc.loads("network N { input 1x20x20 conv(1, k=3) conv(1, k=3) conv(1, k=3) "
                        "conv(1, k=7) }")
    fields = receptive_fields(model)
    sizes = [fields[row.name].axes[0].size for row in model.analysis.layers]
    assert sizes == [3, 5, 7, 13]


def test_vgg16_pool5_field_is_212():
    """The published figure for VGG-16's last pooling layer (Araujo et al., Distill 2019)."""
    model = archc.load(ROOT / "specs/vgg16.arch")
    fields = receptive_fields(model)
    last_pool = [r for r in model.analysis.layers if r.kind == "maxpool"][-1]
    axes = fields[last_pool.name].axes
    assert [(a.size, a.jump) for a in axes] == [(212, 32), (212, 32)]


def test_json_and_table_carry_the_field():
    import json

    from click.testing import CliRunner

    from archc.cli import main

    result = CliRunner().invoke(main, ["params", str(ROOT / "specs/vgg16.arch"), "--format",
                                       "json"])
    layers = {row["name"]: row for row in json.loads(result.output)["layers"]}
    assert layers["features.30"]["receptive_field"] == {
        "whole_input": False, "size": [212, 212], "jump": [32, 32], "start": [-90, -90]}
    assert layers["classifier.0"]["receptive_field"]["whole_input"] is True
    table = CliRunner().invoke(main, ["params", str(ROOT / "specs/vgg16.arch"), "--rf"]).output
    assert "212x212" in table
