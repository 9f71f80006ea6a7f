"""AST: frozen pydantic nodes, each carrying the `Span` it was parsed from.

The Transformer beside them only builds nodes; validation happens in `expand`.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from lark import Token, Transformer, v_args
from pydantic import BaseModel, ConfigDict, Field

from archc.errors import Span


class Node(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
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


Expr = Annotated[Union[IntLit, FloatLit, NameRef, BinOp, Neg, TupleLit],
                 Field(discriminator="type")]


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


Item = Annotated[Union[Call, Repeat, Residual, ConcatBlock, Group, Side, Save],
                 Field(discriminator="type")]


# ---- statements and files ----------------------------------------------------------

class InputDecl(Node):
    type: Literal["input"] = "input"
    dims: list[int]


class Defaults(Node):
    type: Literal["defaults"] = "defaults"
    calls: list[Call]


Stmt = Annotated[Union[InputDecl, Defaults, Call, Repeat, Residual, ConcatBlock, Group, Side,
                       Save], Field(discriminator="type")]


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


class SpecFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    file: str
    defaults: list[Defaults]
    blocks: list[BlockDef]
    networks: list[Network]


for _model in (BinOp, Neg, TupleLit, Residual, Branch, ConcatBlock, Group, Side, Repeat):
    _model.model_rebuild()


# ---- lark tree -> AST ----------------------------------------------------------------

class ToAst(Transformer):
    """One short method per grammar rule; spans come from lark's propagated positions."""

    def __init__(self, file: str) -> None:
        super().__init__()
        self.file = file

    def _span(self, meta) -> Span:
        return Span(self.file, meta.line, meta.column, meta.end_line, meta.end_column)

    def _tok_span(self, tok: Token) -> Span:
        return Span(self.file, tok.line, tok.column, tok.end_line, tok.end_column)

    # files
    def start(self, children) -> SpecFile:
        by_type = {"defaults": [], "block": [], "network": []}
        for child in children:
            by_type[child.type].append(child)
        return SpecFile(file=self.file, defaults=by_type["defaults"], blocks=by_type["block"],
                        networks=by_type["network"])

    @v_args(meta=True)
    def network(self, meta, children) -> Network:
        name, *body = children
        return Network(span=self._span(meta), name=str(name), body=body)

    @v_args(meta=True)
    def block_def(self, meta, children) -> BlockDef:
        name, *rest = children
        params = [c for c in rest if isinstance(c, Param)]
        body = [c for c in rest if c is not None and not isinstance(c, Param)]
        return BlockDef(span=self._span(meta), name=str(name), params=params, body=body)

    @v_args(meta=True)
    def param(self, meta, children) -> Param:
        name, default = children
        return Param(span=self._span(meta), name=str(name), default=default)

    @v_args(meta=True)
    def defaults(self, meta, children) -> Defaults:
        return Defaults(span=self._span(meta), calls=children)

    # statements
    @v_args(meta=True)
    def input_decl(self, meta, children) -> InputDecl:
        (dims,) = children
        values = [int(part) for part in str(dims).replace(" ", "").replace("\t", "").split("x")]
        return InputDecl(span=self._span(meta), dims=values)

    @v_args(meta=True)
    def labeled(self, meta, children):
        label, item = children
        return item.model_copy(update={"label": str(label), "span": self._span(meta)})

    @v_args(meta=True)
    def call(self, meta, children) -> Call:
        name, arglist = children
        return Call(span=self._span(meta), name=str(name), name_span=self._tok_span(name),
                    args=arglist or [], has_parens=arglist is not None)

    def arglist(self, children) -> list[Arg]:
        return [c for c in children if c is not None]

    @v_args(meta=True)
    def arg(self, meta, children) -> Arg:
        name, value = children
        return Arg(span=self._span(meta), name=None if name is None else str(name), value=value)

    @v_args(meta=True)
    def repeat(self, meta, children) -> Repeat:
        call, count = children
        return Repeat(span=self._span(meta), call=call, count=count)

    @v_args(meta=True)
    def residual(self, meta, children) -> Residual:
        *body, shortcut = children
        return Residual(span=self._span(meta), body=body, shortcut=shortcut)

    def shortcut(self, children) -> list:
        return list(children)

    @v_args(meta=True)
    def concat_block(self, meta, children) -> ConcatBlock:
        return ConcatBlock(span=self._span(meta), branches=children[1:])

    @v_args(meta=True)
    def branch(self, meta, children) -> Branch:
        return Branch(span=self._span(meta), items=children)

    @v_args(meta=True)
    def group(self, meta, children) -> Group:
        return Group(span=self._span(meta), items=children)

    @v_args(meta=True)
    def side(self, meta, children) -> Side:
        name, *items = children
        return Side(span=self._span(meta), name=str(name), items=items)

    @v_args(meta=True)
    def save(self, meta, children) -> Save:
        return Save(span=self._span(meta), name=str(children[0]))

    # expressions
    @v_args(meta=True)
    def int_lit(self, meta, children) -> IntLit:
        return IntLit(span=self._span(meta), value=int(children[0]))

    @v_args(meta=True)
    def float_lit(self, meta, children) -> FloatLit:
        return FloatLit(span=self._span(meta), value=float(children[0]))

    @v_args(meta=True)
    def name_ref(self, meta, children) -> NameRef:
        return NameRef(span=self._span(meta), name=str(children[0]))

    @v_args(meta=True)
    def neg(self, meta, children) -> Neg:
        return Neg(span=self._span(meta), operand=children[0])

    @v_args(meta=True)
    def tuple_lit(self, meta, children) -> TupleLit:
        return TupleLit(span=self._span(meta), items=children)

    def _binop(op: str):  # noqa: N805 - a method factory evaluated in the class body
        @v_args(meta=True)
        def build(self, meta, children) -> BinOp:
            left, right = children
            return BinOp(span=self._span(meta), op=op, left=left, right=right)
        return build

    add = _binop("+")
    sub = _binop("-")
    mul = _binop("*")
    div = _binop("/")
    floordiv = _binop("//")
    del _binop
