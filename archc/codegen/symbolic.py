"""Symbolic integers: run the registry's arithmetic shape rules over block parameters.

`Sym("c") * 4` is the Python expression `c * 4`. Integer parts fold; anything that
needs a decision (a comparison, truth value) raises `NotSymbolic`, and the caller
falls back to concrete code.
"""

from __future__ import annotations

from typing import Any

_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "//": 2, "%": 2}


class NotSymbolic(Exception):
    """The value depends on a decision that cannot be made without concrete numbers."""


class Sym:
    sym = True  # duck-typing marker read by the expander's arithmetic checks
    __slots__ = ("names", "prec", "text", "tree")

    def __init__(self, text: str, prec: int = 3, names: frozenset[str] | None = None,
                 tree: tuple | None = None) -> None:
        self.text, self.prec = text, prec
        self.names = names if names is not None else frozenset([text])
        self.tree = tree  # (op, left, right); None for a plain symbol

    def __repr__(self) -> str:
        return self.text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sym) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)

    def __bool__(self) -> bool:
        raise NotSymbolic(f"truth value of {self.text}")

    def _compare(self, other: Any) -> bool:
        raise NotSymbolic(f"comparison with {self.text}")

    __lt__ = __le__ = __gt__ = __ge__ = _compare

    def __add__(self, other): return _op(self, "+", other)
    def __radd__(self, other): return _op(other, "+", self)
    def __sub__(self, other): return _op(self, "-", other)
    def __rsub__(self, other): return _op(other, "-", self)
    def __mul__(self, other): return _op(self, "*", other)
    def __rmul__(self, other): return _op(other, "*", self)
    def __floordiv__(self, other): return _op(self, "//", other)
    def __rfloordiv__(self, other): return _op(other, "//", self)
    def __truediv__(self, other): return _op(self, "//", other)  # archc `/` is exact division
    def __rtruediv__(self, other): return _op(other, "//", self)
    def __mod__(self, other): return _op(self, "%", other)
    def __rmod__(self, other): return _op(other, "%", self)

    def __neg__(self):
        return _op(0, "-", self)


def _text(value: Any, prec: int, right: bool) -> str:
    if isinstance(value, Sym):
        # parenthesise a lower-precedence operand, and an equal one on the right of - / //
        if value.prec < prec or (right and value.prec == prec and prec < 3):
            return f"({value.text})"
        return value.text
    if isinstance(value, bool) or not isinstance(value, int):
        raise NotSymbolic(f"non-integer {value!r} in a symbolic expression")
    return f"({value})" if value < 0 else str(value)


def _op(left: Any, op: str, right: Any) -> Any:
    if not isinstance(left, Sym) and not isinstance(right, Sym):
        raise NotSymbolic("no symbol")  # pragma: no cover - Python dispatches ints itself
    identity = (op in "+-" and right == 0) or (op in ("*", "//") and right == 1)
    if identity and not isinstance(right, Sym):
        return left
    if op in ("+", "*") and not isinstance(left, Sym) and left == (0 if op == "+" else 1):
        return right
    if op == "*" and 0 in (left, right) and not (isinstance(left, Sym) and isinstance(right, Sym)):
        return 0
    prec = _PRECEDENCE[op]
    text = f"{_text(left, prec, False)} {op} {_text(right, prec, True)}"
    names = frozenset().union(*(v.names for v in (left, right) if isinstance(v, Sym)))
    return Sym(text, prec, names, (op, left, right))


_APPLY = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
          "//": lambda a, b: a // b, "%": lambda a, b: a % b}


def substitute(value: Any, env: dict[str, Any]) -> Any:
    """The concrete value of a (possibly nested) symbolic value, given its symbols' values."""
    if isinstance(value, tuple):
        return tuple(substitute(v, env) for v in value)
    if not isinstance(value, Sym):
        return value
    if value.tree is None:
        return env[value.text]
    op, left, right = value.tree
    return _APPLY[op](substitute(left, env), substitute(right, env))


def free_names(value: Any) -> frozenset[str]:
    """Symbols a (possibly nested) value depends on."""
    if isinstance(value, Sym):
        return value.names
    if isinstance(value, (tuple, list)):
        return frozenset().union(*(free_names(v) for v in value)) if value else frozenset()
    return frozenset()
