"""`archc fmt`: print a spec in the one canonical layout (docs/formatting.md).

The formatter prints from the concrete syntax tree (every token kept, with positions), so it
never changes what a spec means: the same tokens come out in the same order, only the space
between them changes. Comments are re-attached by position: a comment after code stays at the
end of that code's line; a comment alone on its line stays alone, in front of the line that
holds the next token.

Layout, in short: 4-space indentation; `residual`/`shortcut`/`concat`/`branch`/`side` bodies
always on their own lines; items of a chain keep the user's line grouping; groups and
`defaults` written on one line stay on one line; single blank lines inside bodies are kept,
runs collapse to one, and exactly one blank line separates top-level definitions; trailing
comments of consecutive lines are aligned; one newline at the end.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass, field

from lark import Token, Tree

INDENT = "    "
COMMENT_GAP = 2  # spaces between the longest code line of a run and its aligned comments

_ALWAYS_BLOCK = {"residual", "concat_block", "side", "if_item", "shortcut"}
_ONE_LINE_OK = {"group", "defaults", "branch"}  # stay on one line when written on one line
_ALONE = {"input_decl", "defaults", "branch"}  # never share a line with other items
_BINARY = {"add": "+", "sub": "-", "mul": "*", "div": "/", "floordiv": "//"}


@dataclass
class Line:
    """One output line: code, or a comment on its own line."""

    indent: int
    text: str
    tokens: list[Token] = field(default_factory=list)
    comment: bool = False
    closes: bool = False  # starts with '}': comments in front of it belong to the body
    opens: bool = False  # ends with '{'
    top_end: bool = False  # ends a top-level definition: one blank line follows
    trailing: list[str] = field(default_factory=list)
    first: int = 0  # source lines it came from
    last: int = 0

    def code(self) -> str:
        return INDENT * self.indent + self.text


def format_text(text: str, file: str = "<string>") -> str:
    """The canonical layout of a spec. Raises `ArchcError` when the spec does not parse."""
    from archc.parse import parse_with_comments

    _, tree, comments = parse_with_comments(text, file)
    lines = Printer().file(tree)
    source = text.removeprefix("\ufeff")
    return render(place_comments(lines, comments, source))


# ---- printing the tree ---------------------------------------------------------------------

def _tokens(node) -> list[Token]:
    if isinstance(node, Token):
        return [node]
    if node is None:
        return []
    return list(node.scan_values(lambda v: isinstance(v, Token)))


def _trees(children: list) -> list[Tree]:
    return [c for c in children if isinstance(c, Tree)]


def _first_line(node) -> int:
    return _tokens(node)[0].line


def _last_line(node) -> int:
    return _tokens(node)[-1].end_line


def _braced(tree: Tree) -> tuple[list, Token, list[Tree], Token, list]:
    """Split `head { items } rest` children of a braced construct."""
    children = [c for c in tree.children if c is not None]
    start = next(i for i, c in enumerate(children) if isinstance(c, Token) and c == "{")
    end = max(i for i, c in enumerate(children) if isinstance(c, Token) and c == "}")
    return (children[:start], children[start], _trees(children[start + 1:end]), children[end],
            children[end + 1:])


class Printer:
    """CST -> `Line`s. Inline items become text; block constructs become several lines."""

    def file(self, tree: Tree) -> list[Line]:
        lines: list[Line] = []
        definitions = _trees(tree.children)
        for definition, following in zip(definitions, [*definitions[1:], None]):
            part = self.toplevel(definition)
            # consecutive includes stay together; a blank line follows every other definition
            together = definition.data == "include" and getattr(following, "data", "") == "include"
            part[-1].top_end = not together
            lines += part
        return lines

    def toplevel(self, tree: Tree) -> list[Line]:
        if tree.data == "include":
            keyword, path = tree.children
            return [Line(0, f"include {path}", [keyword, path])]
        if tree.data == "defaults":
            return self.statements([tree], 0)
        head, opening, items, closing, _ = _braced(tree)
        if tree.data == "network":
            title = f"network {head[1]}"
        else:  # block_def
            params = ", ".join(self.param(p) for p in _trees(head))
            title = f"block {head[1]}({params})"
        return self.block(title, [*head, opening], items, closing, 0)

    def param(self, tree: Tree) -> str:
        name, *rest = [c for c in tree.children if c is not None]
        return str(name) if not rest else f"{name}={self.expr(rest[-1])}"

    def block(self, title: str, head_tokens: list, items: list[Tree], closing: Token,
              indent: int) -> list[Line]:
        opening = Line(indent, f"{title} {{" if title else "{", _tokens_of(head_tokens), opens=True)
        body = self.statements(items, indent + 1)
        return [opening, *body, Line(indent, "}", [closing], closes=True)]

    # ---- bodies ----------------------------------------------------------------------------

    def statements(self, items: list[Tree], indent: int) -> list[Line]:
        """A body: block constructs on their own lines; other items keep the user's grouping
        (an item joins the line when it starts on the line where the previous item ended)."""
        lines: list[Line] = []
        current: Line | None = None
        end_line = -1
        for item in items:
            if self.is_block(item):
                lines += self.block_item(item, indent)
                current = None
                continue
            text = self.inline(item)
            alone = _unlabeled(item).data in _ALONE
            if current is not None and not alone and _first_line(item) == end_line:
                current.text += " " + text
                current.tokens += _tokens(item)
            else:
                current = Line(indent, text, _tokens(item))
                lines.append(current)
            end_line = _last_line(item)
            if alone:
                current = None
        return lines

    def is_block(self, tree: Tree) -> bool:
        tree = _unlabeled(tree)
        if tree.data in _ALWAYS_BLOCK:
            return True
        if tree.data in _ONE_LINE_OK:
            _, _, items, _, _ = _braced(tree)
            one_line = _first_line(tree) == _last_line(tree)
            return not one_line or any(self.is_block(item) for item in items)
        return False

    def block_item(self, tree: Tree, indent: int) -> list[Line]:
        label, label_tokens = "", []
        if tree.data == "labeled":
            name, colon, tree = tree.children
            label, label_tokens = f"{name}:", [name, colon]
        head, opening, items, closing, rest = _braced(tree)
        title = " ".join(part for part in (label, self.title(tree, head)) if part)
        lines = self.block(title, label_tokens + head + [opening], items, closing, indent)
        follow = next((t for t in rest if isinstance(t, Tree)), None)
        while follow is not None:  # `} shortcut {`, `} else {`, `} else if ... {`
            if follow.data == "else_clause" and isinstance(follow.children[1], Tree):
                nested = follow.children[1]  # else if
                n_head, n_open, n_items, n_close, n_rest = _braced(nested)
                joined = [follow.children[0], *n_head, n_open]
                text = "} else " + self.title(nested, n_head) + " {"
            else:
                n_head, n_open, n_items, n_close, n_rest = _braced(follow)
                joined = [*n_head, n_open]
                text = "} " + (self.title(follow, n_head) if follow.data == "shortcut"
                               else "else") + " {"
            last = lines[-1]
            last.text, last.opens = text, True
            last.tokens += _tokens_of(joined)
            lines += [*self.statements(n_items, indent + 1),
                      Line(indent, "}", [n_close], closes=True)]
            follow = next((t for t in n_rest if isinstance(t, Tree)), None)
        return lines

    def title(self, tree: Tree, head: list) -> str:
        """What precedes a construct's `{`: `residual if COND`, `shortcut NAME`, `if COND`."""
        if tree.data == "side":
            return f"side {head[1]}"
        if tree.data == "if_item":
            return f"if {self.expr(head[1])}"
        if tree.data == "shortcut":
            return " ".join(str(t) for t in head)
        if tree.data == "residual":
            condition = next((t for t in head if isinstance(t, Tree)), None)
            return "residual" + (f" if {self.expr(condition.children[1])}" if condition else "")
        titles = {"concat_block": "concat", "branch": "branch", "group": "",
                  "defaults": "defaults"}
        return titles[tree.data]

    # ---- inline items -------------------------------------------------------------------------

    def inline(self, tree: Tree) -> str:
        kind = tree.data
        children = [c for c in tree.children if c is not None]
        if kind == "labeled":
            return f"{children[0]}: {self.inline(children[2])}"
        if kind == "call":
            return str(children[0]) + (self.arglist(children[1]) if len(children) > 1 else "")
        if kind == "repeat":
            return f"{self.inline(children[0])} * {self.expr(children[2])}"
        if kind == "save":
            return f"-> {children[1]}"
        if kind == "again":
            return f"again {children[1]}"
        if kind == "input_decl":
            return "input " + "".join(str(children[1]).split())
        if kind in _ONE_LINE_OK:
            _, _, items, _, _ = _braced(tree)
            inner = " ".join(self.inline(item) for item in items)
            prefix = "" if kind == "group" else f"{children[0]} "
            return f"{prefix}{{ {inner} }}" if inner else f"{prefix}{{ }}"
        raise ValueError(f"not an inline item: {kind}")

    def arglist(self, tree: Tree) -> str:
        return "(" + ", ".join(self.arg(a) for a in _trees(tree.children)) + ")"

    def arg(self, tree: Tree) -> str:
        children = [c for c in tree.children if c is not None]
        value = self.expr(children[-1])
        return f"{children[0]}={value}" if len(children) == 3 else value

    def expr(self, node) -> str:
        if isinstance(node, Token):
            return str(node)
        kind = node.data
        parts = _trees(node.children)
        if kind in _BINARY:
            return f"{self.expr(parts[0])} {_BINARY[kind]} {self.expr(parts[1])}"
        if kind == "neg":
            return "-" + self.expr(parts[0])
        if kind == "tuple_lit":
            return "(" + ", ".join(self.expr(p) for p in parts) + ")"
        if kind == "compare":
            return f"{self.expr(parts[0])} {node.children[1]} {self.expr(parts[1])}"
        if kind in ("and_op", "or_op"):
            return f"{self.expr(parts[0])} {kind[:-3]} {self.expr(parts[1])}"
        if kind == "not_op":
            return "not " + self.expr(parts[0])
        if kind == "input_dim":
            return f"in.{node.children[2]}"
        if kind == "atom":  # parentheses the user wrote: kept, they may carry meaning to readers
            return f"({self.expr(parts[0])})"
        return str(node.children[0])  # int_lit, float_lit, name_ref: the token as written


def _unlabeled(tree: Tree) -> Tree:
    return tree.children[2] if tree.data == "labeled" else tree


def _tokens_of(nodes: list) -> list[Token]:
    return [tok for node in nodes for tok in _tokens(node)]


# ---- comments and blank lines ---------------------------------------------------------------

def place_comments(lines: list[Line], comments: list[Token], source: str) -> list[Line]:
    """Attach each comment to a line: trailing comments to the line holding the token before
    them, own-line comments in front of the line holding the token after them."""
    for line in lines:
        line.first = min((t.line for t in line.tokens), default=0)
        line.last = max((t.end_line for t in line.tokens), default=0)
    owners = sorted((tok.start_pos, index) for index, line in enumerate(lines)
                    for tok in line.tokens)
    starts = [pos for pos, _ in owners]
    before: dict[int, list[Token]] = defaultdict(list)
    tail: list[Token] = []
    for comment in comments:
        k = bisect_left(starts, comment.start_pos)
        if _own_line(comment, source):
            if k < len(owners):
                before[owners[k][1]].append(comment)
            else:
                tail.append(comment)
        else:
            lines[owners[k - 1][1]].trailing.append(str(comment).rstrip())
    placed: list[Line] = []
    for index, line in enumerate(lines):
        depth = line.indent + (1 if line.closes else 0)
        placed += [_comment_line(c, depth) for c in before.get(index, [])]
        placed.append(line)
    return placed + [_comment_line(c, 0) for c in tail]


def _own_line(comment: Token, source: str) -> bool:
    line_start = source.rfind("\n", 0, comment.start_pos) + 1
    return not source[line_start:comment.start_pos].strip()


def _comment_line(comment: Token, indent: int) -> Line:
    return Line(indent, str(comment).rstrip(), comment=True, first=comment.line,
                last=comment.line)


def render(lines: list[Line]) -> str:
    out: list[str] = []
    previous: Line | None = None
    for line, code in zip(lines, _aligned(lines), strict=True):
        if previous is not None and _blank_between(previous, line):
            out.append("")
        out.append(code)
        previous = line
    return "\n".join(out) + "\n" if out else ""


def _blank_between(previous: Line, line: Line) -> bool:
    if previous.top_end:
        return True
    if previous.opens or line.closes:
        return False
    return line.first - previous.last >= 2


def _aligned(lines: list[Line]) -> list[str]:
    """Code lines with their trailing comments; comments of consecutive code lines (no blank
    line or own-line comment between) start in one column, two spaces after the longest."""
    texts = [line.code() for line in lines]
    run: list[int] = []
    for index, line in enumerate(lines):
        starts_new = (not run or line.comment or lines[index - 1].comment
                      or _blank_between(lines[index - 1], line))
        if starts_new:
            _align_run(lines, texts, run)
            run = []
        if not line.comment:
            run.append(index)
    _align_run(lines, texts, run)
    return texts


def _align_run(lines: list[Line], texts: list[str], run: list[int]) -> None:
    commented = [i for i in run if lines[i].trailing]
    if not commented:
        return
    column = max(len(texts[i]) for i in commented) + COMMENT_GAP
    for i in commented:
        texts[i] = texts[i].ljust(column) + "  ".join(lines[i].trailing)
