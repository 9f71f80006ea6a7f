"""Check the reference models against published parameter and MAC figures.

MACs are FlopCounterMode's total flops / 2 for a batch-1 eval-mode forward pass. The big models
are built and run on the ``meta`` device so that no real arithmetic happens.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

import pytest

torch = pytest.importorskip("torch")
FlopCounterMode = importlib.import_module("torch.utils.flop_counter").FlopCounterMode
# Works whether or not tests/ is a package (pytest's rootdir-relative import modes differ).
rm = importlib.import_module(
    f"{__package__}.reference_models" if __package__ else "reference_models"
)
nn = torch.nn

IMAGENET = (3, 224, 224)

# name: (factory, input shape, parameters, MACs, outputs)
FIGURES: dict[str, tuple[Callable[[], nn.Module], tuple[int, ...], int, int, int]] = {
    "lenet5": (rm.lenet5, (1, 32, 32), 61_706, 416_520, 10),
    "alexnet": (rm.alexnet, IMAGENET, 61_100_840, 714_188_480, 1000),
    "vgg11": (rm.vgg11, IMAGENET, 132_863_336, 7_609_090_048, 1000),
    "vgg13": (rm.vgg13, IMAGENET, 133_047_848, 11_308_466_176, 1000),
    "vgg16": (rm.vgg16, IMAGENET, 138_357_544, 15_470_264_320, 1000),
    "vgg19": (rm.vgg19, IMAGENET, 143_667_240, 19_632_062_464, 1000),
    "vgg16_bn": (rm.vgg16_bn, IMAGENET, 138_365_992, 15_470_264_320, 1000),
    "resnet18": (rm.resnet18, IMAGENET, 11_689_512, 1_814_073_344, 1000),
    "resnet34": (rm.resnet34, IMAGENET, 21_797_672, 3_663_761_408, 1000),
    "resnet50": (rm.resnet50, IMAGENET, 25_557_032, 4_089_184_256, 1000),
    "resnet101": (rm.resnet101, IMAGENET, 44_549_160, 7_801_405_440, 1000),
    "resnet152": (rm.resnet152, IMAGENET, 60_192_808, 11_513_626_624, 1000),
    "googlenet": (lambda: rm.googlenet(aux_logits=False), IMAGENET, 6_624_904, 1_498_376_192, 1000),
}

GOOGLENET_AUX_PARAMS = 13_004_888
GOOGLENET_MAIN_MACS = 1_498_376_192
AUX1_MACS = 4_169_728
AUX2_MACS = 4_202_496


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def count_macs(module: nn.Module, x: torch.Tensor) -> tuple[int, object]:
    """Return (MACs, output) of one forward pass; flops / 2 as FlopCounterMode reports them."""
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        out = module(x)
    flops = counter.get_total_flops()
    assert flops % 2 == 0
    return flops // 2, out


def build_meta(factory: Callable[[], nn.Module]) -> nn.Module:
    with torch.device("meta"):
        return factory().eval()


@pytest.mark.parametrize("name", list(FIGURES))
def test_published_figures(name: str) -> None:
    factory, shape, params, macs, outputs = FIGURES[name]
    model = build_meta(factory)
    assert n_params(model) == params
    got_macs, out = count_macs(model, torch.empty(1, *shape, device="meta"))
    assert got_macs == macs
    assert tuple(out.shape) == (1, outputs)


def test_googlenet_aux_heads() -> None:
    model = build_meta(lambda: rm.googlenet(aux_logits=True))
    assert n_params(model) == GOOGLENET_AUX_PARAMS
    x = torch.empty(1, *IMAGENET, device="meta")

    main_macs, out = count_macs(model, x)  # eval: aux heads are skipped
    assert main_macs == GOOGLENET_MAIN_MACS
    assert isinstance(out, torch.Tensor) and tuple(out.shape) == (1, 1000)

    assert count_macs(model.aux1, torch.empty(1, 512, 14, 14, device="meta"))[0] == AUX1_MACS
    assert count_macs(model.aux2, torch.empty(1, 528, 14, 14, device="meta"))[0] == AUX2_MACS

    model.train()
    total_macs, outs = count_macs(model, x)
    assert total_macs == GOOGLENET_MAIN_MACS + AUX1_MACS + AUX2_MACS
    assert isinstance(outs, tuple) and len(outs) == 3
    assert all(tuple(o.shape) == (1, 1000) for o in outs)


def test_googlenet_training_outputs_on_cpu() -> None:
    """Real arithmetic; the order is (logits, aux2, aux1) as in torchvision's GoogLeNetOutputs."""
    model = rm.googlenet(aux_logits=True).train()
    seen: dict[str, torch.Tensor] = {}
    for name in ("aux1", "aux2"):
        getattr(model, name).register_forward_hook(
            lambda _m, _i, out, name=name: seen.__setitem__(name, out)
        )
    with torch.no_grad():
        logits, aux2, aux1 = model(torch.randn(2, *IMAGENET))
    assert logits.shape == aux2.shape == aux1.shape == (2, 1000)
    assert aux1 is seen["aux1"] and aux2 is seen["aux2"]
    model.eval()
    with torch.no_grad():
        out = model(torch.randn(2, *IMAGENET))
    assert isinstance(out, torch.Tensor) and out.shape == (2, 1000)


def test_lenet5_runs_on_cpu() -> None:
    model = rm.lenet5().eval()
    with torch.no_grad():
        out = model(torch.randn(4, 1, 32, 32))
    assert out.shape == (4, 10) and torch.isfinite(out).all()


def test_torchvision_state_dict_keys() -> None:
    """Spot-check attribute names against torchvision's state_dict layout."""
    expected = {
        rm.alexnet: [
            "features.0.weight",
            "features.10.bias",
            "classifier.1.weight",
            "classifier.6.bias",
        ],
        rm.vgg16: ["features.28.weight", "classifier.0.weight", "classifier.6.weight"],
        rm.vgg16_bn: ["features.1.running_var", "features.41.weight", "classifier.6.bias"],
        rm.resnet18: [
            "conv1.weight",
            "bn1.num_batches_tracked",
            "layer2.0.downsample.0.weight",
            "layer4.1.bn2.bias",
            "fc.weight",
        ],
        rm.resnet50: ["layer1.0.downsample.1.running_mean", "layer4.2.conv3.weight", "fc.bias"],
        lambda: rm.googlenet(aux_logits=True): [
            "conv1.conv.weight",
            "conv1.bn.running_mean",
            "inception3a.branch1.conv.weight",
            "inception3a.branch2.1.bn.weight",
            "inception5b.branch4.1.conv.weight",
            "aux1.conv.conv.weight",
            "aux1.fc1.weight",
            "aux2.fc2.bias",
            "fc.weight",
        ],
    }
    for factory, keys in expected.items():
        state = build_meta(factory).state_dict()
        missing = [k for k in keys if k not in state]
        assert not missing, missing
    gnet = build_meta(lambda: rm.googlenet(aux_logits=True)).state_dict()
    assert tuple(gnet["inception3a.branch3.1.conv.weight"].shape) == (32, 16, 3, 3)
    assert tuple(gnet["aux1.fc1.weight"].shape) == (1024, 2048)
    r50 = build_meta(rm.resnet50).state_dict()
    assert tuple(r50["layer2.0.conv2.weight"].shape) == (128, 128, 3, 3)


@pytest.mark.filterwarnings("ignore:The default weight initialization:FutureWarning")
@pytest.mark.parametrize("name", ["alexnet", "vgg16", "vgg16_bn", "resnet18", "resnet50",
                                  "googlenet"])
def test_hand_written_copies_are_torchvisions_layout(name):
    """The copies (bench/ times the emitted ResNet-50 against one) have torchvision's keys and
    shapes, checked against torchvision itself now that it is installed beside torch."""
    torchvision = pytest.importorskip("torchvision")
    with torch.device("meta"):
        ours = (rm.googlenet(aux_logits=True) if name == "googlenet" else getattr(rm, name)())
        theirs = getattr(torchvision.models, name)(weights=None)
    assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == {
        k: tuple(v.shape) for k, v in theirs.state_dict().items()}
