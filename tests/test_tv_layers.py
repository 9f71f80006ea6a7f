"""The layer kinds modern torchvision CNNs need, each checked against torchvision itself: the
emitted module loads the torchvision submodule's state_dict with strict=True and computes the
same outputs, and PyTorch counts the parameters and MACs the analyzer reports."""

from __future__ import annotations

import pytest

import archc
from archc.codegen.pytorch import generate

torch = pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision")
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from archc.codegen.build import import_source, verify  # noqa: E402  (needs torch)


def compile_spec(text: str):
    """(model, emitted nn.Module in eval mode), verified against the analyzer."""
    model = archc.loads(text, "<test>")
    generated = generate(model, "<test>")
    module = import_source(generated.source)
    verify(model, generated, module)
    return model, getattr(module, generated.class_name)().eval(), generated.source


def randomise(module) -> None:
    """Random weights and batch-norm statistics, so that equal outputs mean something."""
    with torch.no_grad():
        for tensor in [*module.parameters(), *module.buffers()]:
            if tensor.is_floating_point():
                tensor.copy_(torch.rand_like(tensor) + 0.5 if tensor.dim() == 1
                             else torch.randn_like(tensor))


def macs_of(module, x) -> int:
    with FlopCounterMode(display=False) as counter:
        module(x)
    return counter.get_total_flops() // 2


def params_of(module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.fixture(scope="module")
def convnext():
    torch.manual_seed(0)
    net = torchvision.models.convnext_tiny(weights=None).eval()
    randomise(net)
    return net


CNBLOCK = """
block cnblock(dim, p=0.0) {
    residual {
        block: {
            conv(dim, k=7, p=3, groups=dim)
            permute(0, 2, 3, 1)
            layernorm(eps=1e-6)
            linear(4 * dim)
            gelu
            linear(dim)
            permute(0, 3, 1, 2)
        }
        layer_scale: layer_scale(1e-6)
        stochastic_depth: stochastic_depth(p, row)
    }
}

network CN {
    input 96x14x14
    stage: cnblock(96, p=0.1) * 2
}
"""


def test_convnext_block_loads_torchvision_weights_and_agrees(convnext):
    model, ours, _ = compile_spec(CNBLOCK)
    theirs = convnext.features[1][0]  # CNBlock(96)
    ours.stage[0].load_state_dict(theirs.state_dict(), strict=True)
    assert list(ours.stage[0].state_dict()) == list(theirs.state_dict())  # order too
    assert [n for n, _ in ours.stage[0].named_modules()] == [
        n for n, _ in theirs.named_modules()]
    x = torch.randn(2, 96, 14, 14)
    with torch.no_grad():
        assert torch.equal(ours.stage[0](x), theirs(x))
    one = x[:1]
    assert model.analysis.totals.params == 2 * params_of(theirs)
    assert model.analysis.totals.macs == 2 * macs_of(theirs, one)
    # by hand: depthwise 7x7 + two pointwise linears at 14*14 positions
    assert model.analysis.totals.macs == 2 * (14 * 14 * 96 * 49 + 2 * 14 * 14 * 96 * 384)


def test_layernorm2d_stem_loads_torchvision_weights_and_agrees(convnext):
    spec = "network S { input 3x32x32 stem: { conv(96, k=4, s=4) layernorm(eps=1e-6) } }"
    model, ours, source = compile_spec(spec)
    theirs = convnext.features[0]  # Conv2dNormActivation(conv, LayerNorm2d)
    ours.stem.load_state_dict(theirs.state_dict(), strict=True)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(ours(x), theirs(x))
    assert model.analysis.totals.params == params_of(theirs) == 3 * 96 * 16 + 96 + 2 * 96
    assert model.analysis.totals.macs == macs_of(theirs, x[:1])
    assert "class LayerNorm2d(nn.LayerNorm)" in source


def test_convnext_head_layernorm2d_on_1x1(convnext):
    spec = """network H { input 768x7x7 avgpool: adaptive_avgpool(1)
              classifier: { layernorm(eps=1e-6) flatten linear(1000) } }"""
    model, ours, _ = compile_spec(spec)
    ours.classifier.load_state_dict(convnext.classifier.state_dict(), strict=True)
    x = torch.randn(2, 768, 7, 7)
    with torch.no_grad():
        assert torch.equal(ours(x), convnext.classifier(convnext.avgpool(x)))
    assert model.analysis.totals.params == params_of(convnext.classifier)


@pytest.mark.parametrize("affine", [True, False])
def test_layernorm_over_a_flat_vector(affine):
    spec = f"network F {{ input 40 norm: layernorm(eps=1e-3, affine={str(affine).lower()}) }}"
    model, ours, _ = compile_spec(spec)
    theirs = torch.nn.LayerNorm(40, eps=1e-3, elementwise_affine=affine)
    randomise(theirs)
    ours.norm.load_state_dict(theirs.state_dict(), strict=True)
    x = torch.randn(3, 40)
    with torch.no_grad():
        assert torch.equal(ours(x), theirs(x))
    assert model.analysis.totals.params == params_of(theirs) == (80 if affine else 0)


@pytest.mark.parametrize("mode", ["row", "batch"])
def test_stochastic_depth_is_torchvisions(mode):
    _, ours, _ = compile_spec(f"network D {{ input 8x4x4 sd: stochastic_depth(0.5, {mode}) }}")
    theirs = torchvision.ops.StochasticDepth(0.5, mode)
    x = torch.randn(16, 8, 4, 4)
    assert torch.equal(ours(x), x)  # eval: the identity
    ours.train()
    theirs.train()
    torch.manual_seed(1)
    mine = ours(x)
    torch.manual_seed(1)
    assert torch.equal(mine, theirs(x))  # the same random draws, the same scaling
    assert not torch.equal(mine, x)
    assert ours.state_dict().keys() == theirs.state_dict().keys() == set()


def test_channel_shuffle_is_torchvisions():
    from torchvision.models.shufflenetv2 import channel_shuffle

    _, ours, _ = compile_spec("network C { input 12x3x3 channel_shuffle(3) }")
    x = torch.randn(2, 12, 3, 3)
    assert torch.equal(ours(x), channel_shuffle(x, 3))


def test_chunk_selects_equal_pieces():
    spec = """network K { input 12x4x4 concat { branch { chunk(3, 2) } branch { chunk(3, 0) } } }"""
    model, ours, source = compile_spec(spec)
    assert model.analysis.output == (8, 4, 4)
    assert model.analysis.totals.params == model.analysis.totals.macs == 0
    x = torch.randn(2, 12, 4, 4)
    pieces = x.chunk(3, dim=1)
    assert torch.equal(ours(x), torch.cat([pieces[2], pieces[0]], dim=1))
    assert ".chunk(3, dim=1)[2]" in source


def test_emitted_support_classes_script():
    """torch.jit.script accepts the emitted support classes (as torchvision's)."""
    spec = CNBLOCK.replace("input 96x14x14", "input 8x5x5 layernorm").replace("(96", "(8")
    _, ours, source = compile_spec(spec)
    assert source.count("class ") == 5  # LayerNorm2d, Permute, StochasticDepth, block, network
    scripted = torch.jit.script(ours)
    x = torch.randn(2, 8, 5, 5)
    assert torch.equal(scripted(x), ours(x))


def test_block_parameter_in_forward_gets_specialised_classes():
    """chunk(2, i) with a block parameter i: forward cannot read __init__'s arguments, so each
    call gets its own class, and each reads its own piece."""
    spec = """block unit(i) { chunk(2, i) }
              network U { input 8x2x2 -> x a: unit(0) -> a b: unit(1) }"""
    _, ours, source = compile_spec(spec)
    x = torch.randn(2, 8, 2, 2)
    assert torch.equal(ours.a(x), x[:, :4]) and torch.equal(ours.b(x[:, :4]), x[:, 2:4])
    assert "[i]" not in source


def test_layer_scale_inside_a_container_is_a_located_error():
    model = archc.loads("network V { input 4x2x2 inner: { conv(4, k=1) layer_scale } }", "v")
    with pytest.raises(archc.ArchcError) as caught:
        generate(model, "v")
    (diag,) = caught.value.diagnostics
    assert (diag.code.value, diag.span.line) == ("E401", 1)
    assert "move it out" in diag.message


SHUFFLE = """
block shuffle_unit(c, s=1) {                 # torchvision's InvertedResidual, both strides
    concat {
        branch {                             # branch1
            if s > 1 {
                conv(in.c, k=3, s=s, p=1, groups=in.c, bias=false) bn
                conv(c / 2, k=1, bias=false) bn relu
            } else { chunk(2, 0) }
        }
        branch {                             # branch2
            if s == 1 { chunk(2, 1) }
            conv(c / 2, k=1, bias=false) bn relu
            conv(c / 2, k=3, s=s, p=1, groups=c / 2, bias=false) bn
            conv(c / 2, k=1, bias=false) bn relu
        }
    }
    channel_shuffle(2)
}

network Stage2 {
    input 24x16x16
    stage2: { shuffle_unit(48, s=2) shuffle_unit(48) * 3 }
}
"""


def test_shufflenet_stage_with_chunk_loads_torchvision_weights_and_agrees():
    torch.manual_seed(0)
    theirs = torchvision.models.shufflenet_v2_x0_5(weights=None).stage2.eval()
    randomise(theirs)
    model, ours, _ = compile_spec(SHUFFLE)
    ours.stage2.load_state_dict(theirs.state_dict(), strict=True)
    x = torch.randn(2, 24, 16, 16)
    with torch.no_grad():
        assert torch.equal(ours(x), theirs(x))
    assert model.analysis.totals.params == params_of(theirs)
    assert model.analysis.totals.macs == macs_of(theirs, x[:1])


@pytest.mark.parametrize("spec", [CNBLOCK, SHUFFLE], ids=["convnext", "shufflenet"])
def test_new_kinds_format_and_lint_cleanly(spec):
    from archc.lint import lint_text
    from tests.test_fmt import assert_formats_well

    assert_formats_well(spec)
    assert [d.code.value for d in lint_text(spec)] == []
