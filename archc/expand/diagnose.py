"""Helpers that word the expander's diagnostics (suggestions, pydantic messages)."""

from __future__ import annotations

import difflib

from archc import ast as A
from archc.errors import Span
from archc.expand.naming import Ctx
from archc.expand.tree import Value
from archc.expr import _SYMBOLS
from archc.layers import LayerKind


def _default_span(ctx: Ctx, kind: LayerKind, key: str, otherwise: Span) -> Span:
    """Where a spec-level default for `kind.key` was written (a bad default is reported
    there, once, rather than at every layer it applies to)."""
    return ctx.defaults.get(kind.name, {}).get(key, (None, otherwise))[1]


def _close_matches(word: str, known: list[str], n: int, cutoff: float) -> list[str]:
    """difflib's suggestions, for names of a sane length (difflib indexes every character of
    `word`, so a megabyte-long name would cost seconds)."""
    return difflib.get_close_matches(word, known, n=n, cutoff=cutoff) if len(word) <= 100 else []



def _undefined_name(expr, env: dict[str, Value]) -> bool:
    return isinstance(expr, A.NameRef) and expr.name not in env and expr.name not in _SYMBOLS


def _parameter_hint(name: str, env: dict[str, Value]) -> str:
    close = _close_matches(name, list(env), n=1, cutoff=0.5)
    if close:
        return f"did you mean the block parameter `{close[0]}`?"
    if env:
        return "block parameters here: " + ", ".join(env)
    return "only blocks have parameters; a network's arguments are numbers or symbols"



def _one_per_argument(errors: list[dict]) -> list[dict]:
    """pydantic reports a union mismatch once per member; merge them into one message per
    argument ("should be a valid integer, a valid tuple or 'same' or 'valid'")."""
    merged: dict[str, dict] = {}
    for err in errors:
        key = str(err["loc"][0]) if err["loc"] else ""
        if key not in merged:
            merged[key] = dict(err)
        elif err["msg"].startswith("Input should be "):
            first = merged[key]["msg"]
            if first.startswith("Input should be "):
                wanted = err["msg"].removeprefix("Input should be ")
                if wanted not in first:
                    merged[key]["msg"] = f"{first}, or {wanted}"
    return list(merged.values())


def _pydantic_message(err: dict) -> str:
    msg = err["msg"]
    return msg[0].lower() + msg[1:] if msg else "invalid value"


def _signature(block: A.BlockDef) -> str:
    return ", ".join(p.name if p.default is None else f"{p.name}=..." for p in block.params)

