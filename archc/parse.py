"""Parse: source text -> `SpecFile` AST. Lark errors become located `ArchcError`s."""

from __future__ import annotations

import functools
import re
import threading
from pathlib import Path

from lark import (
    Lark,
    Token,
    Tree,
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
    UnexpectedToken,
)
from lark.exceptions import VisitError

from archc.ast import SpecFile, ToAst
from archc.errors import ArchcError, Code, Diagnostic, Span

MAX_NESTING = 200
_BRACKETS = re.compile(r"#[^\n]*|[{}()]")

# Readable names for grammar terminals in "expected ..." messages.
_TERMINAL_NAMES = {
    "LBRACE": "'{'", "RBRACE": "'}'", "LPAR": "'('", "RPAR": "')'", "COMMA": "','",
    "COLON": "':'", "EQUAL": "'='", "STAR": "'*'", "PLUS": "'+'", "MINUS": "'-'",
    "SLASH": "'/'", "__ANON_0": "'->'", "__ANON_1": "'//'", "NAME": "a name",
    "INT": "an integer", "FLOAT": "a number", "DIMS": "dimensions like 3x224x224",
    "CONCAT": "'concat'", "$END": "end of file",
}


def grammar_path() -> Path:
    """The grammar ships inside the wheel as archc/grammars; in a checkout it is ../grammars."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "grammars" / "archc.lark", here.parent / "grammars" / "archc.lark"):
        if candidate.exists():
            return candidate
    raise FileNotFoundError("archc.lark not found next to the archc package")


@functools.lru_cache(maxsize=1)
def parser() -> Lark:
    return Lark(grammar_path().read_text(encoding="utf-8"), parser="lalr",
                propagate_positions=True, maybe_placeholders=True)


def parse_with_comments(text: str, file: str = "<string>") -> tuple[SpecFile, Tree, list[Token]]:
    """`parse_text`, plus the concrete syntax tree (every token kept, braces included, with
    positions; what `archc fmt` prints from) and the `# ...` comments in source order."""
    spec = parse_text(text, file)  # raises the located diagnostics for bad input
    with _CST_LOCK:  # the lexer callback appends to one shared list
        _CST_COMMENTS.clear()
        tree = _cst_parser().parse(text.removeprefix("\ufeff"))
        comments = list(_CST_COMMENTS)
    return spec, tree, comments


_CST_LOCK = threading.Lock()
_CST_COMMENTS: list[Token] = []


@functools.lru_cache(maxsize=1)
def _cst_parser() -> Lark:
    # COMMENT is %ignore'd, so the parser never sees it; lark still runs lexer callbacks for it.
    return Lark(grammar_path().read_text(encoding="utf-8"), parser="lalr",
                propagate_positions=True, maybe_placeholders=True, keep_all_tokens=True,
                lexer_callbacks={"COMMENT": _CST_COMMENTS.append})


def parse_text(text: str, file: str = "<string>") -> SpecFile:
    """Parse one spec file; raises `ArchcError` with a located syntax diagnostic."""
    text = text.removeprefix("\ufeff")
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise ArchcError([Diagnostic(Code.BAD_CHARACTER, "the file contains a NUL byte",
                                     Span(file, line, 1, line, 2),
                                     "archc specs are UTF-8 text; is this a binary file?")])
    check_nesting(text, file)
    try:
        tree = parser().parse(text)
    except UnexpectedInput as exc:
        raise ArchcError([_syntax_diagnostic(exc, text, file)]) from None
    try:
        return ToAst(file).transform(tree)
    except RecursionError:
        raise _too_deep(file, 1, 1) from None
    except VisitError as exc:  # the Transformer only builds nodes, so anything else is a bug
        if isinstance(exc.orig_exc, RecursionError):
            raise _too_deep(file, 1, 1) from None
        raise exc.orig_exc from None


def check_nesting(text: str, file: str, limit: int = MAX_NESTING) -> None:
    """Reject absurd bracket nesting before the parser builds a tree that deep."""
    depth = 0
    for match in _BRACKETS.finditer(text):
        char = match.group()
        if char[0] == "#":
            continue
        depth = depth + 1 if char in "{(" else max(0, depth - 1)
        if depth > limit:
            line = text.count("\n", 0, match.start()) + 1
            col = match.start() - (text.rfind("\n", 0, match.start()) + 1) + 1
            raise _too_deep(file, line, col, limit)


def _too_deep(file: str, line: int, col: int, limit: int = MAX_NESTING) -> ArchcError:
    return ArchcError([Diagnostic(Code.TOO_DEEP, f"nesting deeper than {limit} levels",
                                  Span(file, line, col, line, col + 1),
                                  "flatten the structure with blocks and `* N`")])


def _syntax_diagnostic(exc: UnexpectedInput, text: str, file: str) -> Diagnostic:
    if isinstance(exc, UnexpectedEOF) or (isinstance(exc, UnexpectedToken)
                                         and exc.token.type == "$END"):
        line = text.count("\n") + 1
        col = len(text) - (text.rfind("\n") + 1) + 1
        expected = _expected(exc.expected if isinstance(exc, UnexpectedEOF) else exc.accepts)
        return Diagnostic(Code.UNEXPECTED_EOF, f"unexpected end of file; expected {expected}",
                          Span(file, line, col, line, col + 1),
                          "is a '}' or ')' missing?")
    if isinstance(exc, UnexpectedCharacters):
        char = text[exc.pos_in_stream] if exc.pos_in_stream < len(text) else "?"
        return Diagnostic(Code.BAD_CHARACTER, f"unexpected character {char!r}",
                          Span(file, exc.line, exc.column, exc.line, exc.column + 1),
                          f"expected {_expected(exc.allowed)}" if exc.allowed else None)
    assert isinstance(exc, UnexpectedToken)
    tok: Token = exc.token
    found = repr(str(tok)) if str(tok) else tok.type
    end = tok.end_column if tok.end_line == tok.line and tok.end_column else tok.column + 1
    return Diagnostic(Code.SYNTAX, f"unexpected {found}; expected {_expected(exc.accepts)}",
                      Span(file, tok.line, tok.column, tok.line, end), _syntax_hint(tok, exc))


def _syntax_hint(tok: Token, exc: UnexpectedToken) -> str | None:
    if tok.type == "INT" and "DIMS" in exc.accepts:
        return "write the input as CxHxW, e.g. `input 3x224x224`"
    if tok.type == "RBRACE":
        return "a '}' closes a block that was not opened here, or something before it is incomplete"
    if "NAME" in exc.accepts and tok.type in {"INT", "FLOAT"}:
        return "a chain is a sequence of layers like `conv(64, k=3) relu`"
    return None


def _expected(terminals) -> str:
    names = sorted({_TERMINAL_NAMES.get(t, t.lower().strip("_")) for t in terminals or ()})
    if not names:
        return "something else"
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
