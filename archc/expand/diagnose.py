"""Helpers that word the expander's diagnostics (suggestions, pydantic messages)."""

from __future__ import annotations

from archc import ast as A
from archc.errors import Span
from archc.expand.naming import Ctx
from archc.expand.tree import Value
from archc.expr import _SYMBOLS
from archc.layers import LayerKind
from archc.layers.aliases import VALUE_ALIASES, suggest


def _default_span(ctx: Ctx, kind: LayerKind, key: str, otherwise: Span) -> Span:
    """Where a spec-level default for `kind.key` was written (a bad default is reported
    there, once, rather than at every layer it applies to)."""
    return ctx.defaults.get(kind.name, {}).get(key, (None, otherwise))[1]





def _undefined_name(expr, env: dict[str, Value]) -> bool:
    return isinstance(expr, A.NameRef) and expr.name not in env and expr.name not in _SYMBOLS


def _parameter_hint(name: str, env: dict[str, Value], block: str | None,
                    symbols: list[str] | tuple[str, ...] = ()) -> str:
    """A hint for a name nothing defines: a close parameter or symbol, else what is in scope.
    `block` is the block the name is used in (None: a network)."""
    close = suggest(name, list(env), n=1, cutoff=0.5)
    if close:
        return f"did you mean the block parameter `{close[0]}`?"
    close = suggest(name, list(dict.fromkeys(symbols)), VALUE_ALIASES, n=1, cutoff=0.5)
    if close:
        return f"did you mean `{close[0]}`?"
    if env:
        return "block parameters here: " + ", ".join(env)
    if block is not None:
        return (f"block `{block}` has no parameters; declare one in its parentheses, e.g. "
                f"`block {block}(c) {{ ... }}`, or write a number")
    return "a network has no parameters: write a number (or define a block with parameters)"







def _signature(block: A.BlockDef) -> str:
    return ", ".join(p.name if p.default is None else f"{p.name}=..." for p in block.params)



def _did_you_mean(close: list[str], word: str, alias: tuple[str, str] | None) -> str:
    """"did you mean `a` or `b`?", saying so when `word` is PyTorch's name for the first."""
    text = "did you mean " + " or ".join(f"`{c}`" for c in close) + "?"
    if alias is not None and alias[1] == close[0] and _squash(word) != _squash(close[0]):
        text += f" (PyTorch's `{alias[0]}` is `{alias[1]}` in archc)"
    return text


def _squash(name: str) -> str:
    return name.lower().replace("_", "")


def _block_of(ctx: Ctx) -> str | None:
    return ctx.stack[-1] if ctx.stack else None
