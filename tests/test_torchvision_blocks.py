"""Issue 10's naming, proven by torchvision itself: its blocks' state_dicts load into the
emitted modules with strict=True, keys in the same order, and the outputs agree.

Each spec below is written from the torchvision source's structure, with the language's
module-path features (labels in containers and branches, nested numbered groups, quoted names,
a named shortcut registered first, `concat(x, _)`, `in.c` and conditionals).
"""

from __future__ import annotations

import pytest

import archc

torch = pytest.importorskip("torch")
tvm = pytest.importorskip("torchvision.models")

from archc.codegen.build import import_source  # noqa: E402
from archc.codegen.pytorch import generate  # noqa: E402

INVERTED_RESIDUAL = """
defaults { conv(bias=false) }
block inverted_residual(c, s, t) {
    residual if s == 1 and in.c == c {
        conv: {
            if t != 1 { { conv(in.c * t, k=1) bn relu6 } }
            { conv(in.c * t, k=3, s=s, p=1, groups=in.c * t) bn relu6 }
            conv(c, k=1) bn
        }
    }
}
"""

DENSE = """
defaults { conv(bias=false) }
block dense_layer(growth, bn_size) {
    -> x
    norm1: bn relu1: relu conv1: conv(bn_size * growth, k=1)
    norm2: bn relu2: relu conv2: conv(growth, k=3, p=1)
    concat(x, _)
}
block transition() {
    norm: bn relu: relu conv: conv(in.c // 2, k=1) pool: avgpool(2, s=2)
}
"""

REGNET = """
defaults { conv(bias=false) }
block transform(w, s, g) {
    a: { conv(w, k=1) bn relu }
    b: { conv(w, k=3, s=s, p=1, groups=w // g) bn relu }
    c: { conv(w, k=1) bn }
}
block res_bottleneck(w, s, g) {
    residual {
        if s != 1 or in.c != w { shortcut proj { conv(w, k=1, s=s) bn } }
        f: transform(w, s, g)
    }
    activation: relu
}
block stage(k, w, s, g, n) {
    "block{k}-{#}": res_bottleneck(w, s, g)
    "block{k}-{#}": res_bottleneck(w, 1, g) * (n - 1)
}
"""

FIRE = """
block fire(s, e1, e3) {
    squeeze: conv(s, k=1) squeeze_activation: relu
    concat {
        branch { expand1x1: conv(e1, k=1) expand1x1_activation: relu }
        branch { expand3x3: conv(e3, k=3, p=1) expand3x3_activation: relu }
    }
}
"""


def emitted(blocks: str, body: str, dims: str):
    text = blocks + f"network N {{\n    input {dims}\n    {body}\n}}\n"
    model = archc.loads(text, "tv.arch")
    generated = generate(model, "tv.arch")
    net = getattr(import_source(generated.source), generated.class_name)()
    return model, net.eval()


def randomise_bn(module) -> None:
    """Random running statistics, so that a wrong BN pairing cannot go unnoticed."""
    gen = torch.Generator().manual_seed(1)
    for m in module.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=gen))
            m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)


def load_strict(ours, theirs) -> None:
    """torchvision's state_dict into ours: same keys, in the same (registration) order."""
    state = theirs.state_dict()
    assert list(ours.state_dict()) == list(state)
    ours.load_state_dict(state, strict=True)


@pytest.mark.parametrize(("cin", "c", "s", "t"), [(16, 16, 1, 1), (16, 24, 2, 6),
                                                  (24, 24, 1, 6), (24, 32, 1, 6)])
def test_mobilenet_v2_inverted_residual(cin, c, s, t):
    from torchvision.models.mobilenetv2 import InvertedResidual

    torch.manual_seed(0)
    theirs = InvertedResidual(cin, c, s, t).eval()
    randomise_bn(theirs)
    model, ours = emitted(INVERTED_RESIDUAL, f"m: inverted_residual({c}, {s}, {t})",
                          f"{cin}x12x12")
    load_strict(ours.m, theirs)
    assert theirs.use_res_connect == any(r.kind == "residual_add" for r in model.analysis.layers)
    x = torch.randn(2, cin, 12, 12)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs(x), rtol=0, atol=0)


def test_mobilenet_v2_features_nest_numbered_containers():
    # features.0 is a Conv2dNormActivation: features.0.0 conv, features.0.1 bn
    theirs = tvm.mobilenet_v2(weights=None).features[:4].eval()
    randomise_bn(theirs)
    body = ("features: { { conv(32, k=3, s=2, p=1) bn relu6 } inverted_residual(16, 1, 1) "
            "inverted_residual(24, 2, 6) inverted_residual(24, 1, 6) }")
    _, ours = emitted(INVERTED_RESIDUAL, body, "3x32x32")
    load_strict(ours.features, theirs)
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs(x), rtol=0, atol=0)


def test_densenet_dense_layer_and_transition():
    from torchvision.models.densenet import _DenseLayer, _Transition

    torch.manual_seed(0)
    layers = [_DenseLayer(64 + 32 * i, 32, 4, 0.0).eval() for i in range(2)]
    transition = _Transition(128, 64).eval()
    for m in (*layers, transition):
        randomise_bn(m)
    body = "l1: dense_layer(32, 4) l2: dense_layer(32, 4) t: transition"
    _, ours = emitted(DENSE, body, "64x8x8")
    load_strict(ours.l1, layers[0])
    load_strict(ours.l2, layers[1])
    load_strict(ours.t, transition)
    x = torch.randn(2, 64, 8, 8)
    with torch.no_grad():
        y = torch.cat([x, layers[0]([x])], 1)  # _DenseBlock: torch.cat(features, 1)
        y = torch.cat([y, layers[1]([y])], 1)
        torch.testing.assert_close(ours(x), transition(y), rtol=0, atol=0)


def test_regnet_stage_names_and_projection_order():
    from torchvision.models.regnet import AnyStage, ResBottleneckBlock

    torch.manual_seed(0)
    theirs = AnyStage(32, 48, 2, 3, ResBottleneckBlock, torch.nn.BatchNorm2d, torch.nn.ReLU,
                      16, 1.0, None, stage_index=1).eval()
    randomise_bn(theirs)
    body = "block1: stage(1, 48, 2, 16, 3)"
    _, ours = emitted(REGNET, body, "32x16x16")
    load_strict(ours.block1, theirs)  # proj before f, as torchvision registers them
    x = torch.randn(2, 32, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs(x), rtol=0, atol=0)


def test_squeezenet_fire_branch_labels():
    from torchvision.models.squeezenet import Fire

    torch.manual_seed(0)
    theirs = Fire(96, 16, 64, 64).eval()
    _, ours = emitted(FIRE, "f: fire(16, 64, 64)", "96x13x13")
    load_strict(ours.f, theirs)
    x = torch.randn(2, 96, 13, 13)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs(x), rtol=0, atol=0)


SHUFFLE = """
defaults { conv(bias=false) }
block shuffle_unit(c, s) {
    concat {
        branch {
            if s == 1 { chunk(2, 0) }
            else {
                branch1: { conv(in.c, k=3, s=s, p=1, groups=in.c) bn conv(c // 2, k=1) bn relu }
            }
        }
        branch {
            if s == 1 { chunk(2, 1) }
            branch2: {
                conv(c // 2, k=1) bn relu
                conv(c // 2, k=3, s=s, p=1, groups=c // 2) bn
                conv(c // 2, k=1) bn relu
            }
        }
    }
    channel_shuffle(2)
}
"""


def test_shufflenet_v2_inverted_residual():
    from torchvision.models.shufflenetv2 import InvertedResidual

    torch.manual_seed(0)
    blocks = [InvertedResidual(24, 48, 2).eval(), InvertedResidual(48, 48, 1).eval()]
    for m in blocks:
        randomise_bn(m)
    _, ours = emitted(SHUFFLE, "u1: shuffle_unit(48, 2) u2: shuffle_unit(48, 1)", "24x16x16")
    load_strict(ours.u1, blocks[0])
    load_strict(ours.u2, blocks[1])
    x = torch.randn(2, 24, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), blocks[1](blocks[0](x)), rtol=0, atol=0)
