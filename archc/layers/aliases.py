"""How PyTorch users spell archc's layers, arguments and values: one table, read by the
did-you-mean hints of the expander and by the README's "Coming from PyTorch" table."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping

# PyTorch's module (nn.X) or common spelling -> the archc layer kind
KIND_ALIASES: dict[str, str] = {
    "Conv2d": "conv", "Conv1d": "conv1d", "ConvTranspose2d": "conv_t",
    "MaxPool2d": "maxpool", "AvgPool2d": "avgpool", "MaxPool1d": "maxpool1d",
    "AvgPool1d": "avgpool1d", "AdaptiveAvgPool2d": "adaptive_avgpool",
    "AdaptiveMaxPool2d": "adaptive_maxpool", "Upsample": "upsample", "Linear": "linear",
    "Flatten": "flatten", "Dropout": "dropout", "Dropout2d": "dropout2d",
    "BatchNorm2d": "bn", "BatchNorm1d": "bn",
    "GroupNorm": "groupnorm", "InstanceNorm2d": "instancenorm", "LocalResponseNorm": "lrn",
    "ReLU": "relu", "ReLU6": "relu6", "LeakyReLU": "leaky_relu", "PReLU": "prelu", "ELU": "elu",
    "Sigmoid": "sigmoid", "Hardsigmoid": "hardsigmoid", "Tanh": "tanh", "SiLU": "silu",
    "Hardswish": "hardswish", "GELU": "gelu", "Mish": "mish", "Softmax": "softmax",
    "Identity": "identity", "ZeroPad2d": "zeropad", "PixelShuffle": "pixel_shuffle",
    "ChannelShuffle": "channel_shuffle", "cat": "concat",
    "LayerNorm": "layernorm", "layer_norm": "layernorm",
}

# torchvision's own building blocks (torchvision.ops / models), read by `archc import`
TORCHVISION_ALIASES: dict[str, str] = {
    "LayerNorm2d": "layernorm", "StochasticDepth": "stochastic_depth", "Permute": "permute",
}

# PyTorch's constructor keyword -> the archc argument (offered when the layer has it)
ARGUMENT_ALIASES: dict[str, str] = {
    "out_channels": "out", "out_features": "out", "kernel_size": "k", "stride": "s",
    "padding": "p", "dilation": "d", "num_groups": "groups", "negative_slope": "slope",
    "scale_factor": "scale", "output_size": "size", "ceil_mode": "ceil",
    "upscale_factor": "r", "elementwise_affine": "affine",
}

# Python's spelling -> archc's
VALUE_ALIASES: dict[str, str] = {"True": "true", "False": "false"}


def suggest(word: str, known: Iterable[str], aliases: Mapping[str, str] | None = None,
            n: int = 3, cutoff: float = 0.6) -> list[str]:
    """Names in `known` that `word` probably meant. The same name in another case (or without
    underscores), or what `aliases` maps it to, is the one answer; else close spellings, case
    ignored, best first."""
    if len(word) > 100:  # difflib indexes every character: a megabyte-long name costs seconds
        return []
    folded: dict[str, str] = {}
    for name in known:
        folded.setdefault(name.lower(), name)
    key = word.lower()
    squashed = {_squash(name): name for name in folded.values()}
    if _squash(word) in squashed:  # Relu, adaptive_AvgPool, maxPool1D
        return [squashed[_squash(word)]]
    alias = alias_of(word, aliases or {})
    if alias is not None and alias[1].lower() in folded:
        return [folded[alias[1].lower()]]
    return [folded[m] for m in difflib.get_close_matches(key, list(folded), n=n, cutoff=cutoff)]


def alias_of(word: str, aliases: Mapping[str, str]) -> tuple[str, str] | None:
    """(PyTorch's name, archc's) when `word` is PyTorch's name in any case, with or without
    underscores, and for 2-D modules without the `2d` (`batchnorm`, `batch_norm`)."""
    key = _squash(word)
    for name, target in aliases.items():
        if key in (_squash(name), _squash(name).removesuffix("2d")):
            return name, target
    return None


def _squash(word: str) -> str:
    return word.lower().replace("_", "")


def markdown_table() -> str:
    """The README's "Coming from PyTorch" table (tests/test_first_contact.py keeps it equal)."""
    rows = ["| archc | PyTorch |", "|---|---|"]
    for table in (KIND_ALIASES, ARGUMENT_ALIASES, VALUE_ALIASES):
        targets: dict[str, list[str]] = {}
        for name, target in table.items():
            targets.setdefault(target, []).append(name)
        for target, names in targets.items():
            written = "=" if table is ARGUMENT_ALIASES else ""
            rows.append(f"| `{target}{written}` | "
                        + ", ".join(f"`{n}{written}`" for n in names) + " |")
    return "\n".join(rows)
