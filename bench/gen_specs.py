"""Generated specs for the scaling benchmark: plain stacks, deep residual stacks and wide
concat branches of about N layers, written out literally (no `* N`), so parsing, expansion,
graph building and analysis all scale with N.

    python bench/gen_specs.py plain 10000 > /tmp/plain10k.arch
"""

from __future__ import annotations

import sys
from collections.abc import Callable

CHANNELS = 16
SHAPES = ("plain", "residual", "concat")


def plain(layers: int) -> str:
    """conv -> bn -> relu, repeated: 3 layers a line."""
    lines = [f"conv({CHANNELS}, k=3, p=1) bn relu" for _ in range(max(1, layers // 3))]
    return _network("Plain", lines)


def residual(layers: int) -> str:
    """Basic residual blocks (conv bn relu conv bn, add, relu): 7 layers a block."""
    block = (f"residual {{ conv({CHANNELS}, k=3, p=1) bn relu conv({CHANNELS}, k=3, p=1) bn }} "
             "relu")
    return _network("Residual", [block for _ in range(max(1, layers // 7))])


def concat(layers: int, width: int = 32) -> str:
    """Concats of `width` branches (conv 1x1 + relu each), then a 1x1 conv back to CHANNELS:
    2 * width + 2 layers a module."""
    branch = "branch { conv(2, k=1) relu }"
    module = "concat { " + " ".join([branch] * width) + f" }} conv({CHANNELS}, k=1)"
    return _network("Concat", [module for _ in range(max(1, layers // (2 * width + 2)))])


def _network(name: str, lines: list[str]) -> str:
    body = "\n".join(f"    {line}" for line in lines)
    return f"network {name} {{\n    input {CHANNELS}x8x8\n{body}\n}}\n"


GENERATORS: dict[str, Callable[[int], str]] = {
    "plain": plain, "residual": residual, "concat": concat}


def generate(shape: str, layers: int) -> str:
    return GENERATORS[shape](layers)


if __name__ == "__main__":
    sys.stdout.write(generate(sys.argv[1], int(sys.argv[2])))
