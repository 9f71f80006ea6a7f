"""Argument expressions: their evaluation, shared by the expander and the size counter.

Names are block parameters, `true`/`false`, or otherwise symbols (`same`, `valid`, ...) that
the layer's arguments validate.
"""

from __future__ import annotations

from typing import Any

from archc import ast as A
from archc.errors import Code, Span

Value = Any  # int | float | bool | str | tuple, or a codegen `Sym`


class EvalError(Exception):
    def __init__(self, message: str, span: Span, hint: str | None = None,
                 code: Code = Code.BAD_ARGUMENT) -> None:
        super().__init__(message)
        self.message, self.span, self.hint, self.code = message, span, hint, code


_SYMBOLS = {"true": True, "false": False}


def evaluate(expr, env: dict[str, Value]) -> Value:
    """Evaluate an argument expression. Names are block parameters, `true`/`false`, or
    otherwise symbols (`same`, `valid`, `nearest`, ...) validated by the layer's arguments."""
    if isinstance(expr, (A.IntLit, A.FloatLit)):
        return expr.value
    if isinstance(expr, A.NameRef):
        if expr.name in env:
            return env[expr.name]
        return _SYMBOLS.get(expr.name, expr.name)
    if isinstance(expr, A.TupleLit):
        return tuple(evaluate(item, env) for item in expr.items)
    if isinstance(expr, A.Neg):
        value = evaluate(expr.operand, env)
        _require_number(value, expr)
        return -value
    left, right = evaluate(expr.left, env), evaluate(expr.right, env)
    _require_number(left, expr.left)
    _require_number(right, expr.right)
    if expr.op in ("/", "//") and isinstance(right, (int, float)) and right == 0:
        raise EvalError("division by zero", expr.span)
    if expr.op == "+":
        return left + right
    if expr.op == "-":
        return left - right
    if expr.op == "*":
        if _too_big(left) or _too_big(right):
            raise EvalError("number too large", expr.span)
        return left * right
    if expr.op == "//":
        return left // right
    if isinstance(left, int) and isinstance(right, int) and left % right == 0:
        return left // right
    return left / right



def _too_big(value) -> bool:
    return isinstance(value, (int, float)) and abs(value) > 1e30


def _require_number(value: Value, expr) -> None:
    if isinstance(expr, A.NameRef) and isinstance(value, str):  # a name nothing defines
        raise EvalError(f"`{expr.name}` is not defined here", expr.span,
                        code=Code.UNDEFINED_NAME)
    if isinstance(value, bool) or not (isinstance(value, (int, float)) or hasattr(value, "sym")):
        raise EvalError(f"arithmetic needs numbers, got {_show(value)}", expr.span,
                        "only block parameters and numbers can be combined with + - * / //")


def _show(value: Value) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple):
        return "(" + ", ".join(_show(v) for v in value) + ")"
    return str(value)

