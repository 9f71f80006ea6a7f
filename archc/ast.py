"""AST: frozen pydantic nodes, each carrying the `Span` it was parsed from.

The builder beside them only builds nodes (the parser calls it at each reduction); validation
of what a spec means happens in `expand`. The parser's output is well-typed by construction,
so it builds nodes with `Node.build` (pydantic's `model_construct`, no re-validation), and
`defer_build` leaves each model's validator uncompiled until something validates one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal, TypeVar, Union

from lark import Token
from pydantic import BaseModel, ConfigDict, Field

from archc.errors import ArchcError, Code, Diagnostic, Span

_N = TypeVar("_N")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    @classmethod
    def build(cls: type[_N], **fields) -> _N:
        """A node from the parser's already well-typed parts: what `model_construct` makes
        (same `__dict__` in field order, defaults filled, `model_fields_set` the names given),
        without its per-field alias handling, which took most of the parser's time on big
        files (none of these models has aliases, a default factory or private attributes)."""
        template, required, mutable = _TEMPLATES.get(cls) or _template(cls)
        values = template.copy()  # every field in order, defaults in place
        values.update(fields)
        if len(values) != len(template) or not required <= fields.keys():
            raise TypeError(f"{cls.__name__}.build: unknown or missing fields")
        for name in mutable:
            if name not in fields:
                values[name] = values[name].copy()
        node = cls.__new__(cls)
        _set(node, "__dict__", values)
        _set(node, "__pydantic_fields_set__", set(fields))
        _set(node, "__pydantic_extra__", None)
        _set(node, "__pydantic_private__", None)
        return node


_REQUIRED = object()
_MUTABLE = (list, dict, set)
_TEMPLATES: dict[type, tuple[dict[str, object], frozenset[str], tuple[str, ...]]] = {}
_set = object.__setattr__


def _template(cls: type[BaseModel]) -> tuple[dict[str, object], frozenset[str], tuple[str, ...]]:
    """{field name: default or _REQUIRED} in field order, the required fields, and those whose
    default is mutable (copied per node); checks the shortcut's assumptions."""
    template = {}
    for name, field in cls.__pydantic_fields__.items():
        assert field.alias is None and field.validation_alias is None, name
        assert field.default_factory is None, name
        template[name] = _REQUIRED if field.is_required() else field.default
    assert not cls.__private_attributes__ and not cls.__pydantic_post_init__, cls
    required = frozenset(name for name, value in template.items() if value is _REQUIRED)
    mutable = tuple(name for name, value in template.items() if isinstance(value, _MUTABLE))
    _TEMPLATES[cls] = template, required, mutable
    return _TEMPLATES[cls]


class Node(_Model):
    span: Span


# ---- expressions -------------------------------------------------------------

class IntLit(Node):
    type: Literal["int"] = "int"
    value: int


class FloatLit(Node):
    type: Literal["float"] = "float"
    value: float


class NameRef(Node):
    type: Literal["name"] = "name"
    name: str


class BinOp(Node):
    type: Literal["binop"] = "binop"
    op: Literal["+", "-", "*", "/", "//"]
    left: Expr
    right: Expr


class Neg(Node):
    type: Literal["neg"] = "neg"
    operand: Expr


class TupleLit(Node):
    type: Literal["tuple"] = "tuple"
    items: list[Expr]


class Compare(Node):
    type: Literal["compare"] = "compare"
    op: Literal["==", "!=", "<", "<=", ">", ">="]
    left: Expr
    right: Expr


class BoolOp(Node):
    type: Literal["boolop"] = "boolop"
    op: Literal["and", "or"]
    left: Expr
    right: Expr


class Not(Node):
    type: Literal["not"] = "not"
    operand: Expr


class InputDim(Node):
    """`in.c`, `in.h`, `in.w`, `in.l`: a size of the tensor entering the block."""

    type: Literal["input_dim"] = "input_dim"
    dim: str


Expr = Annotated[Union[IntLit, FloatLit, NameRef, BinOp, Neg, TupleLit, Compare, BoolOp, Not,
                       InputDim], Field(discriminator="type")]


# ---- items (what a chain is made of) -------------------------------------------

class Arg(Node):
    name: str | None
    value: Expr


class Call(Node):
    type: Literal["call"] = "call"
    name: str
    name_span: Span
    args: list[Arg] = []
    has_parens: bool = False
    label: str | None = None


class Repeat(Node):
    type: Literal["repeat"] = "repeat"
    call: Call
    count: Expr
    label: str | None = None


class Residual(Node):
    type: Literal["residual"] = "residual"
    body: list[Item]
    shortcut: list[Item] | None
    label: str | None = None
    condition: Expr | None = None  # `residual if COND`: no skip (a plain chain) when false
    shortcut_label: str | None = None  # `shortcut downsample { ... }`
    shortcut_span: Span | None = None


class Branch(Node):
    items: list[Item]


class ConcatBlock(Node):
    type: Literal["concat"] = "concat"
    branches: list[Branch]
    label: str | None = None


class Group(Node):
    type: Literal["group"] = "group"
    items: list[Item]
    label: str | None = None


class Side(Node):
    type: Literal["side"] = "side"
    name: str
    items: list[Item]


class Save(Node):
    type: Literal["save"] = "save"
    name: str


class Again(Node):
    """`again NAME`: the module labelled NAME earlier in the same scope, applied again with the
    same weights."""

    type: Literal["again"] = "again"
    name: str


class Shortcut(Node):
    """`shortcut [NAME] { ... }` written inside a residual's body."""

    type: Literal["shortcut"] = "shortcut"
    items: list[Item]
    label: str | None = None


class If(Node):
    """`if COND { ... } else { ... }`: decided while expanding; the chosen arm's items take
    the place of the `if`, as if written there."""

    type: Literal["if"] = "if"
    condition: Expr
    then: list[Item]
    otherwise: list[Item] | None = None


Item = Annotated[Union[Call, Repeat, Residual, ConcatBlock, Group, Side, Save, If, Shortcut,
                       Again],
                 Field(discriminator="type")]


# ---- statements and files ----------------------------------------------------------

class InputDecl(Node):
    type: Literal["input"] = "input"
    dims: list[int]


class Defaults(Node):
    type: Literal["defaults"] = "defaults"
    calls: list[Call]


Stmt = Annotated[Union[InputDecl, Defaults, Call, Repeat, Residual, ConcatBlock, Group, Side,
                       Save, If, Shortcut, Again], Field(discriminator="type")]


class Param(Node):
    name: str
    default: Expr | None


class BlockDef(Node):
    type: Literal["block"] = "block"
    name: str
    params: list[Param]
    body: list[Stmt]


class Network(Node):
    type: Literal["network"] = "network"
    name: str
    body: list[Stmt]


class Include(Node):
    """`include "path"`: the blocks of another spec file (archc/include.py resolves it)."""

    type: Literal["include"] = "include"
    path: str


class SpecFile(_Model):
    file: str
    defaults: list[Defaults]
    blocks: list[BlockDef]
    networks: list[Network]
    includes: list[Include] = []


# ---- parser callbacks -> AST ----------------------------------------------------------------

MAX_EXPR_DEPTH = 200  # operators nested in one expression (`1+1+...`, `- - - x`)
MAX_LITERAL_DIGITS = 100  # far beyond any size cap; keeps int() away from huge digit strings
MAX_ELEMENTS = 1_000_000  # nodes in one file (a 100k-layer spec has about 500k)

Part = Union[Token, Node, "_Part"]


@dataclass(slots=True)
class _Part:
    """A piece of a rule that is not a node (an argument list, a shortcut), with its extent."""

    items: list
    first: Token
    last: Token


class AstBuilder:
    """The callbacks lark's LALR parser calls at each reduction (its inline transformer): one
    short method per grammar rule, each given the rule's children. The parser keeps every
    token, so a node's span runs from its first token to its last, keywords and braces
    included. No intermediate tree is built and nothing recurses, however deep the input.

    `begin(file)` must be called before each parse (`archc.parse.parse_text` does, under a lock).
    """

    def __init__(self) -> None:
        self.file = "<string>"
        self._depth: dict[int, int] = {}  # id(expression node) -> operator nesting depth
        self._elements = 0  # nodes built in this parse

    def begin(self, file: str) -> None:
        self.file = file
        self._depth.clear()
        self._elements = 0

    # positions
    def _span(self, children: list) -> Span:
        self._elements += 1
        if self._elements > MAX_ELEMENTS:
            self._count(children[0])
        first, last = children[0], children[-1]  # optional parts are None
        if first is None:
            first = next(c for c in children if c is not None)
        if last is None:
            last = next(c for c in reversed(children) if c is not None)
        (line, col), (end_line, end_col) = _start(first), _end(last)
        return Span(self.file, line, col, end_line, end_col)

    def _tok_span(self, tok: Token) -> Span:
        self._elements += 1
        if self._elements > MAX_ELEMENTS:
            self._count(tok)
        return Span(self.file, tok.line, tok.column, tok.end_line, tok.end_column)

    def _count(self, where: Part | None) -> None:
        """Bound the work a huge file can cause: parsing stops at MAX_ELEMENTS nodes (counted
        inline by the span makers, which call this once past the cap)."""
        if self._elements > MAX_ELEMENTS and isinstance(where, Token):
            span = Span(self.file, where.line, where.column, where.line, where.column + 1)
            raise self._error(Code.TOO_LARGE, f"the file holds more than {MAX_ELEMENTS:,} "
                              "syntax elements", span, "split it, or generate fewer layers")

    def _error(self, code: Code, message: str, span: Span, hint: str) -> ArchcError:
        return ArchcError([Diagnostic(code, message, span, hint)])

    # files
    def start(self, children: list) -> SpecFile:
        by_type: dict[str, list] = {"defaults": [], "block": [], "network": [], "include": []}
        for child in children:
            by_type[child.type].append(child)
        return SpecFile.build(file=self.file, defaults=by_type["defaults"],
                              blocks=by_type["block"], networks=by_type["network"],
                              includes=by_type["include"])

    def include(self, children: list) -> Include:
        return Include.build(span=self._span(children), path=str(children[-1])[1:-1])

    def network(self, children: list) -> Network:
        return Network.build(span=self._span(children), name=str(children[1]),
                             body=_nodes(children))

    def block_def(self, children: list) -> BlockDef:
        params = [c for c in children if isinstance(c, Param)]
        body = [c for c in _nodes(children) if not isinstance(c, Param)]
        return BlockDef.build(span=self._span(children), name=str(children[1]), params=params,
                        body=body)

    def param(self, children: list) -> Param:
        default = children[-1] if isinstance(children[-1], Node) else None
        return Param.build(span=self._span(children), name=str(children[0]), default=default)

    def defaults(self, children: list) -> Defaults:
        return Defaults.build(span=self._span(children), calls=_nodes(children))

    # statements
    def input_decl(self, children: list) -> InputDecl:
        dims = children[1]
        values = "".join(str(dims).split()).split("x")  # `3 x 224 x 224` may hold whitespace
        span = self._span(children)
        if any(len(v) > MAX_LITERAL_DIGITS for v in values):
            raise self._error(Code.VALUE_TOO_LARGE, "input dimension with more than "
                              f"{MAX_LITERAL_DIGITS} digits", span, "is a size off by orders?")
        return InputDecl.build(span=span, dims=[int(v) for v in values])

    def labeled(self, children: list) -> Node:
        label, _, item = children
        span = self._span(children)
        label = self._label_text(label)
        if not hasattr(item, "label") or isinstance(item, If):
            what = ("`-> name`" if isinstance(item, Save) else "`again`"
                    if isinstance(item, Again) else "a side output")
            raise self._error(Code.SYNTAX, f"{what} cannot take a label", span,
                              f"remove `{label}:`; a side output is named by `side NAME`, "
                              "a module applied `again` keeps its first name")
        return item.model_copy(update={"label": str(label), "span": span})

    def call(self, children: list) -> Call:
        name, arglist = children
        return Call.build(span=self._span(children), name=str(name), name_span=self._tok_span(name),
                    args=arglist.items if arglist is not None else [],
                    has_parens=arglist is not None)

    def arglist(self, children: list) -> _Part:
        return _Part(_nodes(children), children[0], children[-1])

    def arg(self, children: list) -> Arg:
        name = children[0] if isinstance(children[0], Token) else None
        return Arg.build(span=self._span(children), name=None if name is None else str(name),
                   value=children[-1])

    def repeat(self, children: list) -> Repeat:
        return Repeat.build(span=self._span(children), call=children[0], count=children[2])

    def _label_text(self, tok: Token) -> str:
        """A label's text; a quoted one (`"block1-0":`) may be any module name PyTorch takes."""
        if tok.type != "STRING":
            return str(tok)
        text = str(tok)[1:-1]
        if not text or "." in text:
            raise self._error(Code.BAD_NAME, f"{tok} cannot name a module: "
                              + ("it is empty" if not text else "`.` separates module paths"),
                              self._tok_span(tok), "write e.g. `\"block1-0\":`")
        return text

    def residual(self, children: list) -> Residual:
        condition = next((c.items[0] for c in children if isinstance(c, _Part)), None)
        closing = max(i for i, c in enumerate(children) if isinstance(c, Token)
                      and c.type == "RBRACE")
        body = [c for c in children[:closing] if isinstance(c, Node)]
        trailing = next((c for c in children[closing + 1:] if isinstance(c, Shortcut)), None)
        return Residual.build(
            span=self._span(children), body=body, condition=condition,
            shortcut=trailing.items if trailing is not None else None,
            shortcut_label=trailing.label if trailing is not None else None,
            shortcut_span=trailing.span if trailing is not None else None)

    def condition(self, children: list) -> _Part:
        return _Part([children[1]], children[0], children[0])

    def shortcut(self, children: list) -> Shortcut:
        label = None
        if isinstance(children[1], Token) and children[1].type in ("NAME", "STRING"):
            label = self._label_text(children[1])
        return Shortcut.build(span=self._span(children), items=_nodes(children), label=label)

    def if_item(self, children: list) -> If:
        otherwise = children[-1] if isinstance(children[-1], _Part) else None
        then = [c for c in children[2:] if isinstance(c, Node)]
        return If.build(span=self._span(children), condition=children[1], then=then,
                        otherwise=otherwise.items if otherwise is not None else None)

    def else_clause(self, children: list) -> _Part:
        return _Part(_nodes(children), children[0], children[-1])

    def concat_block(self, children: list) -> ConcatBlock:
        return ConcatBlock.build(span=self._span(children), branches=_nodes(children))

    def branch(self, children: list) -> Branch:
        return Branch.build(span=self._span(children), items=_nodes(children))

    def group(self, children: list) -> Group:
        return Group.build(span=self._span(children), items=_nodes(children))

    def side(self, children: list) -> Side:
        return Side.build(span=self._span(children), name=str(children[1]), items=_nodes(children))

    def again(self, children: list) -> Again:
        return Again.build(span=self._span(children), name=self._label_text(children[1]))

    def save(self, children: list) -> Save:
        return Save.build(span=self._span(children), name=str(children[1]))

    # expressions
    def int_lit(self, children: list) -> IntLit:
        (tok,) = children
        if len(tok) > MAX_LITERAL_DIGITS:
            raise self._error(Code.VALUE_TOO_LARGE, f"integer literal with {len(tok):,} digits",
                              self._tok_span(tok), "is a size off by orders?")
        return IntLit.build(span=self._tok_span(tok), value=int(tok))

    def float_lit(self, children: list) -> FloatLit:
        (tok,) = children
        return FloatLit.build(span=self._tok_span(tok), value=float(tok))

    def name_ref(self, children: list) -> NameRef:
        (tok,) = children
        return NameRef.build(span=self._tok_span(tok), name=str(tok))

    def input_dim(self, children: list) -> InputDim:
        return InputDim.build(span=self._span(children), dim=str(children[2]))

    def compare(self, children: list) -> Compare:
        left, op, right = children
        return self._nested(Compare.build(span=self._span(children), op=str(op), left=left,
                                          right=right), left, right)

    def and_op(self, children: list) -> BoolOp:
        return self._boolop("and", children)

    def or_op(self, children: list) -> BoolOp:
        return self._boolop("or", children)

    def _boolop(self, op: str, children: list) -> BoolOp:
        left, _, right = children
        return self._nested(BoolOp.build(span=self._span(children), op=op, left=left,
                                         right=right), left, right)

    def not_op(self, children: list) -> Not:
        return self._nested(Not.build(span=self._span(children), operand=children[1]),
                            children[1])

    def atom(self, children: list) -> Node:
        return children[1]  # "(" expr ")": the span stays the inner expression's

    def neg(self, children: list) -> Neg:
        return self._nested(Neg.build(span=self._span(children), operand=children[1]), children[1])

    def tuple_lit(self, children: list) -> TupleLit:
        items = _nodes(children)
        return self._nested(TupleLit.build(span=self._span(children), items=items), *items)

    def _binop(self, op: str, children: list) -> BinOp:
        left, _, right = children
        return self._nested(BinOp.build(span=self._span(children), op=op, left=left, right=right),
                            left, right)

    def add(self, children: list) -> BinOp:
        return self._binop("+", children)

    def sub(self, children: list) -> BinOp:
        return self._binop("-", children)

    def mul(self, children: list) -> BinOp:
        return self._binop("*", children)

    def div(self, children: list) -> BinOp:
        return self._binop("/", children)

    def floordiv(self, children: list) -> BinOp:
        return self._binop("//", children)

    def _nested(self, expr: _N, *operands: Node) -> _N:
        """Record how deep `expr` nests; refuse absurd depths (evaluation recurses on them)."""
        depth = 1 + max((self._depth.get(id(o), 1) for o in operands), default=1)
        if depth > MAX_EXPR_DEPTH:
            raise self._error(Code.TOO_DEEP, f"expression nested deeper than {MAX_EXPR_DEPTH} "
                              "operators", expr.span,
                              "split the arithmetic with block parameters")
        self._depth[id(expr)] = depth
        return expr


def _nodes(children: list) -> list:
    """The AST nodes among a rule's children (tokens and absent optional parts dropped)."""
    return [c for c in children if isinstance(c, Node)]


def _start(part: Part) -> tuple[int, int]:
    if isinstance(part, Token):
        return part.line, part.column
    if isinstance(part, _Part):
        return part.first.line, part.first.column
    return part.span.line, part.span.col


def _end(part: Part) -> tuple[int, int]:
    if isinstance(part, Token):
        return part.end_line, part.end_column
    if isinstance(part, _Part):
        return _end(part.last)
    return part.span.end_line, part.span.end_col
