"""The parse stage: text -> AST, and located syntax errors (positions, messages, expected tokens).

Positions are checked against offsets computed from the test text itself, 1-based like an
editor's line:column.
"""

from __future__ import annotations

import pytest

from archc import ast as A
from archc.errors import ArchcError, Diagnostic
from archc.parse import (
    GRAMMAR_OPTIONS,
    MAX_NESTING,
    _digest,
    _fresh_tables,
    grammar_path,
    parse_text,
    parse_with_comments,
)

FILE = "t.arch"


def error(text: str) -> Diagnostic:
    with pytest.raises(ArchcError) as caught:
        parse_text(text, FILE)
    (diag,) = caught.value.diagnostics
    assert diag.span is not None and diag.span.file == FILE
    return diag


def position(text: str, needle: str, occurrence: int = 0) -> tuple[int, int]:
    """(line, column) of `needle` in `text`, both 1-based."""
    at = -1
    for _ in range(occurrence + 1):
        at = text.index(needle, at + 1)
    line = text.count("\n", 0, at) + 1
    return line, at - (text.rfind("\n", 0, at) + 1) + 1


def net(*lines: str) -> str:
    return "network N {\n    input 3x8x8\n" + "".join(f"    {line}\n" for line in lines) + "}\n"


# ---- the tree -------------------------------------------------------------------------------

def test_file_structure():
    text = ("defaults { conv(bias=false) }\nblock b(c, k=3) { conv(c, k=k) }\n"
            "network A { input 3x8x8 b(4) }\nnetwork B { input 1x4 }\n")
    spec = parse_text(text, FILE)
    assert [d.calls[0].name for d in spec.defaults] == ["conv"]
    (block,) = spec.blocks
    assert block.name == "b" and [p.name for p in block.params] == ["c", "k"]
    assert block.params[0].default is None and block.params[1].default.value == 3
    assert [n.name for n in spec.networks] == ["A", "B"]
    assert spec.networks[1].body[0].dims == [1, 4]


def test_spans_cover_the_construct():
    text = net("stem: conv(16, k=3, s=2) relu", "residual { relu } shortcut { bn }")
    body = parse_text(text, FILE).networks[0].body
    call, relu, residual = body[1], body[2], body[3]
    assert (call.span.line, call.span.col) == position(text, "stem:")
    assert (call.span.end_line, call.span.end_col) == (3, len("    stem: conv(16, k=3, s=2)") + 1)
    assert call.label == "stem" and (call.name_span.line, call.name_span.col) == position(
        text, "conv(")
    assert [a.name for a in call.args] == [None, "k", "s"]
    assert (relu.span.line, relu.span.col) == position(text, "relu")
    # from the keyword to the shortcut's closing brace
    assert (residual.span.line, residual.span.col) == position(text, "residual")
    assert residual.span.end_col == len("    residual { relu } shortcut { bn }") + 1
    assert [i.name for i in residual.body] == ["relu"] and residual.shortcut[0].name == "bn"


def test_expressions_precedence_and_associativity():
    call = parse_text(net("conv(1 + 2 * c - 8 // 2, k=-(3))"), FILE).networks[0].body[1]
    expr = call.args[0].value
    assert isinstance(expr, A.BinOp) and expr.op == "-"  # (1 + (2 * c)) - (8 // 2)
    assert expr.left.op == "+" and expr.left.right.op == "*"
    assert expr.left.right.right.name == "c" and expr.right.op == "//"
    k = call.args[1].value
    assert isinstance(k, A.Neg) and k.operand.value == 3


def test_literals_and_tuples():
    call = parse_text(net("f(1, 2.5, .5, 1e-3, (3, 5), x, (7))"), FILE).networks[0].body[1]
    values = [a.value for a in call.args]
    assert [type(v).__name__ for v in values] == ["IntLit", "FloatLit", "FloatLit", "FloatLit",
                                                   "TupleLit", "NameRef", "IntLit"]
    assert values[2].value == 0.5 and values[3].value == 0.001
    assert [i.value for i in values[4].items] == [3, 5]


def test_repeat_labels_groups_sides_and_saves():
    body = parse_text(net("r: relu * 3", "g: { bn relu }", "side aux { flatten }", "-> skip",
                          "concat { branch { relu } branch { } }"), FILE).networks[0].body[1:]
    repeat, group, side, save, concat = body
    assert isinstance(repeat, A.Repeat) and repeat.label == "r" and repeat.count.value == 3
    assert isinstance(group, A.Group) and group.label == "g" and len(group.items) == 2
    assert isinstance(side, A.Side) and side.name == "aux"
    assert isinstance(save, A.Save) and save.name == "skip"
    assert [len(b.items) for b in concat.branches] == [1, 0]


def test_comments_whitespace_and_empty_files():
    text = "# header\nnetwork N { # trailing\n  input 3x8x8 # more\n  relu}# end without newline"
    assert parse_text(text, FILE).networks[0].body[1].name == "relu"
    assert parse_text("", FILE).networks == []
    assert parse_text("# only a comment", FILE).networks == []
    assert parse_text("network N { input 3 x 224 x 224 }", FILE).networks[0].body[
        0].dims == [3, 224, 224]


def test_bom_and_crlf():
    text = net("conv(16, k=3)")
    crlf = parse_text("\ufeff" + text.replace("\n", "\r\n"), FILE).networks[0].body[1]
    plain = parse_text(text, FILE).networks[0].body[1]
    assert crlf.span.line == plain.span.line == 3 and crlf.span.col == plain.span.col
    assert crlf.model_dump() == plain.model_dump()


def test_model_dump_round_trip_ignores_nothing():
    spec = parse_text(net("conv(16, k=3)"), FILE)
    dump = spec.model_dump()
    assert dump["networks"][0]["body"][1]["args"][1]["value"]["value"] == 3
    assert dump["networks"][0]["span"] == {"file": FILE, "line": 1, "col": 1, "end_line": 4,
                                           "end_col": 2}


def test_cst_keeps_comments_for_fmt():
    spec, tree, comments = parse_with_comments("# a\nnetwork N { input 3x8x8 relu } # b\n", FILE)
    assert spec.networks[0].name == "N"
    assert [str(c) for c in comments] == ["# a", "# b"]
    assert tree.data == "start"


def test_grammar_tables_are_fresh():
    # archc/_grammar_tables.py must be regenerated after a grammar change:
    #     python -m archc.parse --write-tables
    grammar = grammar_path().read_text(encoding="utf-8")
    assert _fresh_tables(grammar) is not None
    assert _digest(grammar + " ") != _digest(grammar)
    assert GRAMMAR_OPTIONS["parser"] == "lalr"


# ---- syntax errors ---------------------------------------------------------------------------

def test_unexpected_token_names_what_was_expected():
    text = net("conv(16 k=3)")
    diag = error(text)
    assert diag.code.value == "E001"
    assert (diag.span.line, diag.span.col) == position(text, "k=3")
    assert diag.message == "unexpected 'k'; expected ')' or ','"


def test_missing_parenthesis_reported_at_the_brace():
    text = net("conv(16, k=3")
    diag = error(text)
    assert diag.code.value == "E001" and (diag.span.line, diag.span.col) == (4, 1)
    assert diag.message.startswith("unexpected '}'") and "')'" in diag.message
    assert diag.hint == "add the missing ')' of `conv(` (line 3)"  # the cause, not the '}'
    assert [(text, span.line, span.col) for text, span in diag.notes] == [
        ("unclosed '(' opened", *position(text, "(16"))]


def test_stray_closing_brace():
    text = net("relu") + "}\n"
    diag = error(text)
    assert (diag.span.line, diag.span.col) == (5, 1)
    assert "expected block, defaults, end of file, include or network" in diag.message


def test_number_where_a_layer_belongs():
    text = net("3 relu")
    diag = error(text)
    assert diag.code.value == "E001" and (diag.span.line, diag.span.col) == position(text, "3 ")
    assert "a chain is a sequence of layers" in diag.hint


@pytest.mark.parametrize(("text", "expected"), [
    ("network N {\n    input 3x8x8\n    relu\n", "'}'"),
    ("block b(", "')' or a name"),
    ("network N { input 3x8x8 conv(16, k=", "a name"),
])
def test_unexpected_end_of_file(text, expected):
    diag = error(text)
    assert diag.code.value == "E002"
    lines = text.split("\n")
    assert (diag.span.line, diag.span.col) == (len(lines), len(lines[-1]) + 1)
    assert diag.message.startswith("unexpected end of file; expected ") and expected in diag.message


@pytest.mark.parametrize("char", ["@", "$", "!", "?", "%", "€", "\u200b"])
def test_bad_characters(char):
    text = net(f"relu {char} bn")
    diag = error(text)
    assert diag.code.value == "E003" and diag.message == f"unexpected character {char!r}"
    assert (diag.span.line, diag.span.col) == position(text, char)


def test_tabs_count_as_one_column():
    text = "network N {\n\tinput 3x8x8\n\trelu $\n}\n"
    diag = error(text)
    assert (diag.span.line, diag.span.col) == (3, 7)


def test_nul_byte_is_located():
    text = net("relu", "bn\x00")
    diag = error(text)
    assert diag.code.value == "E003" and (diag.span.line, diag.span.col) == position(text, "\x00")


def test_labels_only_on_layers_and_containers():
    for item in ("-> t", "side s { relu }"):
        text = net(f"a: {item}")
        diag = error(text)
        assert diag.code.value == "E001" and (diag.span.line, diag.span.col) == position(text, "a:")
        assert "cannot take a label" in diag.message


def test_nesting_limit_is_located_at_the_bracket():
    depth = MAX_NESTING + 5
    text = net("{ " * depth + "relu" + " }" * depth)
    diag = error(text)
    assert diag.code.value == "E303"
    # the network's own brace is level 1: the (MAX_NESTING)th group brace passes the limit
    assert (diag.span.line, diag.span.col) == (3, 5 + 2 * (MAX_NESTING - 1))


def test_brackets_in_comments_do_not_count():
    text = "# " + "{" * 5000 + "\n" + net("relu")
    assert parse_text(text, FILE).networks[0].name == "N"


def test_every_broken_line_is_reported_once():
    text = net("conv(6 k=5) relu", "maxpool(2))", "conv(16, k=5) $ relu", "linear(10)")
    with pytest.raises(ArchcError) as caught:
        parse_text(text, FILE)
    found = [(d.code.value, d.span.line, d.span.col) for d in caught.value.diagnostics]
    stray_line, stray_col = position(text, "))")
    assert found == [("E001", *position(text, "k=5")), ("E001", stray_line, stray_col + 1),
                     ("E003", *position(text, "$"))]
    # fixing them leaves a file that parses
    parse_text(net("conv(6, k=5) relu", "maxpool(2)", "conv(16, k=5) relu", "linear(10)"), FILE)


def test_a_skipped_brace_does_not_add_an_end_of_file_error():
    with pytest.raises(ArchcError) as caught:
        parse_text(net("conv(16, k=3"), FILE)
    assert [d.code.value for d in caught.value.diagnostics] == ["E001"]


def _both_loops(text: str, file: str):
    """(the fused fast loop's result, lark's own loop's result) for one text: a SpecFile's
    dump, "syntax error" (the fast loop hands those to lark), or a builder's diagnostics."""
    import archc.parse as P

    def run(loop):
        P._BUILDER.begin(file)
        try:
            return loop()
        except P._SlowPath:
            return "syntax error"
        except ArchcError as exc:
            return [d.message for d in exc.diagnostics]
        finally:
            P._BUILDER.begin("<string>")

    def slow():
        recovery = P._Recovery(text, file)
        spec = P._recovering_parse(P.parser(), text, recovery)
        return "syntax error" if recovery.found else spec.model_dump()

    return run(lambda: P._fast_parse(P.parser(), text).model_dump()), run(slow)


def test_fast_parse_loop_builds_what_larks_loop_builds():
    """The fused lexer+LALR loop (used for text without syntax errors) gives the same AST,
    spans included, as lark's parse over every spec, and on every damaged copy either the
    same result or a fallback to lark's loop (which then reports the errors)."""
    import random

    from tests.conftest import spec_paths

    rnd = random.Random(14)
    cases = [(str(p), p.read_text(encoding="utf-8")) for p in spec_paths(with_test_data=True)]
    assert len(cases) > 50
    for file, text in list(cases):
        for _ in range(3):
            at = rnd.randrange(len(text))
            junk = rnd.choice(["(", ")", "{", "}", " x ", "\n", "3x4", "concat", "#", ",", "->"])
            cases.append((file, text[:at] + junk + text[at + rnd.randrange(3):]))
    fell_back = 0
    for file, text in cases:
        fast, slow = _both_loops(text, file)
        fell_back += fast == "syntax error"
        assert fast == slow, file  # a fallback only where lark finds a syntax error too
    assert 0 < fell_back < len(cases) / 2
