"""Text of the derivations `archc explain` prints, in the course's notation (N input size,
F kernel, P padding, S stride, D input depth/channels, K kernels/output channels), with the
numbers filled in. Each layer kind's `explain` composes these; nothing here knows a kind."""

from __future__ import annotations

from typing import Any

Line = tuple[str, str]  # (what, derivation)
AXES = {1: ("L",), 2: ("H", "W")}


def n(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


def window_lines(sizes, kernel, stride, padding, dilation, outs, ceil: bool = False) -> list[Line]:
    """floor((N + 2P - D(F-1) - 1)/S) + 1 per spatial axis; one line when the axes agree."""
    rule = "ceil" if ceil else "floor"
    lines = []
    names = AXES.get(len(sizes), tuple(str(i) for i in range(len(sizes))))
    rows = list(zip(names, sizes, kernel, stride, padding, dilation, outs))
    if len({r[1:] for r in rows}) == 1:
        rows = [("x".join(names), *rows[0][1:])]
    for axis, size, k, s, p, d, out in rows:
        dil = f"{d}\u00b7({k}\u22121)" if d != 1 else f"({k}\u22121)"
        lines.append((f"output {axis}",
                      f"{rule}(({size} + 2\u00b7{p} \u2212 {dil} \u2212 1)/{s}) + 1 = {out}"))
    if ceil:
        lines.append(("ceil mode", "a last window that starts inside the input (or its left "
                      "padding) is kept"))
    return lines


def product(factors: list[Any], total: Any) -> str:
    return "\u00b7".join(n(f) for f in factors) + f" = {n(total)}"


def no_parameters(why: str = "") -> list[Line]:
    return [("params", "0" + (f" ({why})" if why else ""))]


def no_macs() -> list[Line]:
    return [("MACs", "0 (only conv and linear layers count multiply-accumulates)")]


def elementwise(rule: str) -> list[Line]:
    return [("computes", rule), ("output", "same shape as the input"), *no_parameters(),
            *no_macs()]
