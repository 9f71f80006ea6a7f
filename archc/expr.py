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
    if isinstance(expr, A.InputDim):
        return input_dim(expr, env)
    if isinstance(expr, A.Not):
        return not _truth(evaluate(expr.operand, env), expr.operand)
    if isinstance(expr, A.BoolOp):
        left = _truth(evaluate(expr.left, env), expr.left)
        if left == (expr.op == "or"):  # short-circuit, as Python
            return left
        return _truth(evaluate(expr.right, env), expr.right)
    if isinstance(expr, A.Compare):
        return _compare(expr, evaluate(expr.left, env), evaluate(expr.right, env))
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
        raise EvalError(f"arithmetic needs numbers, got {show_value(value)}", expr.span,
                        "only block parameters and numbers can be combined with + - * / //")


def show_value(value: Value) -> str:
    """A value as the spec language writes it (true/false, tuples in parentheses)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple):
        return "(" + ", ".join(show_value(v) for v in value) + ")"
    return str(value)



INPUT = "in"  # env key of the block input's shape (not a NAME, so no parameter can hide it)
_DIMS = {3: {"c": 0, "h": 1, "w": 2}, 2: {"c": 0, "l": 1}, 1: {"c": 0}}


def input_dim(expr: A.InputDim, env: dict[str, Value]) -> Value:
    """`in.c` and friends: a size of the tensor entering the block being expanded."""
    shape = env.get(INPUT)
    if shape is None:
        raise EvalError(f"`in.{expr.dim}` outside a block, or where the block's input is "
                        "unknown", expr.span, "`in` is the tensor a block call receives",
                        code=Code.NO_INPUT_SHAPE)
    index = _DIMS.get(len(shape), {}).get(expr.dim)
    if index is None:
        sizes = ", ".join(f"in.{d}" for d in _DIMS.get(len(shape), {}))
        raise EvalError(f"`in.{expr.dim}`: the block's input has {len(shape)} dimension(s)",
                        expr.span, f"this input has {sizes}", code=Code.NO_INPUT_SHAPE)
    return shape[index]


def _truth(value: Value, expr) -> bool:
    if hasattr(value, "sym"):
        bool(value)  # a symbolic value cannot decide: raises the code generator's NotSymbolic
    if not isinstance(value, bool):
        raise EvalError(f"a condition must be true or false, got {show_value(value)}", expr.span,
                        "compare it, e.g. `t != 1`", code=Code.BAD_CONDITION)
    return value


_COMPARE = {"==": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
            "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}


def _compare(expr: A.Compare, left: Value, right: Value) -> bool:
    for value in (left, right):
        if hasattr(value, "sym"):
            bool(value)  # undecidable symbolically (raises NotSymbolic)
    if expr.op not in ("==", "!="):
        _require_number(left, expr.left)
        _require_number(right, expr.right)
    return _COMPARE[expr.op](left, right)
