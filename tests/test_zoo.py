"""Pin the spec zoo (specs/*.arch) to published parameter and MAC counts.

The figures below are copied from shared/reference-figures.md (PyTorch 2.14.1 with
torchvision 0.29.1, ``weights=None``, batch 1). Parameters are learnable parameters only (BN
running statistics are buffers); MACs are the multiply-accumulates of conv and linear layers
per sample, i.e. ``FlopCounterMode`` total / 2. tests/test_reference_models.py checks the same
numbers against the hand-written PyTorch models in tests/reference_models.py.
"""

from __future__ import annotations

import functools
import importlib
from pathlib import Path

import pytest

import archc

SPECS = Path(__file__).resolve().parent.parent / "specs"

# name: (parameters, MACs, output shape), from reference-figures.md's table.
FIGURES: dict[str, tuple[int, int, tuple[int, ...]]] = {
    "lenet5": (61_706, 416_520, (10,)),
    "alexnet": (61_100_840, 714_188_480, (1000,)),
    "vgg11": (132_863_336, 7_609_090_048, (1000,)),
    "vgg13": (133_047_848, 11_308_466_176, (1000,)),
    "vgg16": (138_357_544, 15_470_264_320, (1000,)),
    "vgg19": (143_667_240, 19_632_062_464, (1000,)),
    "vgg16_bn": (138_365_992, 15_470_264_320, (1000,)),
    "resnet18": (11_689_512, 1_814_073_344, (1000,)),
    "resnet34": (21_797_672, 3_663_761_408, (1000,)),
    "resnet50": (25_557_032, 4_089_184_256, (1000,)),
    "resnet101": (44_549_160, 7_801_405_440, (1000,)),
    "resnet152": (60_192_808, 11_513_626_624, (1000,)),
    "googlenet": (6_624_904, 1_498_376_192, (1000,)),
}

# googlenet with aux heads (reference-figures.md, last row): parameters include both heads,
# MACs are the main path only; each head is a side output with its own MACs.
GOOGLENET_AUX_PARAMS = 13_004_888
GOOGLENET_AUX_MAIN_MACS = 1_498_376_192
AUX_MACS = {"aux1": 4_169_728, "aux2": 4_202_496}

INPUTS = {"lenet5": (1, 32, 32)}  # every other spec takes 3x224x224


@functools.cache
def load(name: str) -> archc.Model:
    return archc.load(SPECS / f"{name}.arch")


def test_every_spec_is_pinned():
    """These are pinned to published figures here; tests/test_torchvision.py pins every spec
    named after a torchvision model to torchvision itself."""
    assert {*FIGURES, "googlenet_aux"} <= {p.stem for p in SPECS.glob("*.arch")}


@pytest.mark.parametrize("name", list(FIGURES))
@pytest.mark.independent
def test_published_figures(name):
    params, macs, output = FIGURES[name]
    analysis = load(name).analysis
    assert analysis.input == INPUTS.get(name, (3, 224, 224))
    assert analysis.totals.params == params
    assert analysis.totals.macs == macs
    assert analysis.output == output
    assert analysis.side_outputs == []


@pytest.mark.independent
def test_googlenet_aux_heads():
    analysis = load("googlenet_aux").analysis
    assert analysis.totals.params == GOOGLENET_AUX_PARAMS
    assert analysis.totals.macs == GOOGLENET_AUX_MAIN_MACS
    assert analysis.output == (1000,)
    sides = {side.name: side for side in analysis.side_outputs}
    assert list(sides) == ["aux1", "aux2"]
    for name, macs in AUX_MACS.items():
        assert sides[name].output == (1000,)
        assert sides[name].macs == macs
    # The heads hold exactly the parameters the aux variant adds over plain googlenet.
    # Per head: conv 1x1 C_in->128 (no bias) + BN 2*128 + fc1 2048*1024+1024 + fc2 1024*1000+1000,
    # with C_in = 512 after inception4a and 528 after inception4d.
    assert sides["aux1"].params == 512 * 128 + 256 + 2_098_176 + 1_025_000 == 3_188_968
    assert sides["aux2"].params == 528 * 128 + 256 + 2_098_176 + 1_025_000 == 3_191_016
    assert sum(s.params for s in sides.values()) == GOOGLENET_AUX_PARAMS - FIGURES["googlenet"][0]
    # The main path is layer for layer the plain googlenet.
    plain = load("googlenet").analysis
    main = [(r.name, r.output, r.params, r.macs) for r in analysis.layers if r.side is None]
    assert main == [(r.name, r.output, r.params, r.macs) for r in plain.layers]


# Module names that must equal torchvision's (state_dict prefixes), one sample per family.
TORCHVISION_NAMES = {
    "alexnet": "features.0 features.3 features.10 avgpool classifier.1 classifier.6",
    "vgg16": "features.0 features.28 features.30 avgpool classifier.0 classifier.3 classifier.6",
    "vgg16_bn": "features.1 features.41 features.43 classifier.6",
    "resnet18": "conv1 bn1 maxpool layer1.0.conv1 layer2.0.downsample.0 layer4.1.conv2 fc",
    "resnet50": "layer1.0.conv3 layer1.0.downsample.1 layer3.5.bn3 layer4.2.conv3 fc",
    "resnet152": "layer3.35.conv3 layer4.0.downsample.0",
    "googlenet": "conv1.conv conv1.bn maxpool1 conv3.conv inception3a.branch2.0.conv "
    "inception3a.branch2.1.bn inception4e.branch4.1.conv inception5b.branch1.conv maxpool4 "
    "avgpool dropout fc",
    "googlenet_aux": "aux1.conv.conv aux1.conv.bn aux1.fc1 aux1.dropout aux2.fc2",
}


@pytest.mark.parametrize("name", list(TORCHVISION_NAMES))
def test_torchvision_names(name):
    names = {row.name for row in load(name).analysis.layers}
    assert set(TORCHVISION_NAMES[name].split()) <= names


@pytest.mark.parametrize("name", [n for n in FIGURES if n != "lenet5"] + ["googlenet_aux"])
@pytest.mark.independent
def test_parameters_per_module_match_reference(name):
    """Every module holding parameters has torchvision's name and parameter count."""
    torch = pytest.importorskip("torch")
    rm = importlib.import_module(
        f"{__package__}.reference_models" if __package__ else "reference_models"
    )
    with torch.device("meta"):  # shapes only: no memory, no initialisation work
        model = rm.googlenet(aux_logits=True) if name == "googlenet_aux" else getattr(rm, name)()
    expected = {
        module_name: sum(p.numel() for p in module.parameters(recurse=False))
        for module_name, module in model.named_modules()
        if any(True for _ in module.parameters(recurse=False))
    }
    ours = {r.name: r.params for r in load(name).analysis.layers if r.params}  # no renaming
    assert ours == expected
