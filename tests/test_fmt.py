"""`archc fmt`: idempotent, meaning-preserving, comment-preserving; over the zoo and over
generated specs (hypothesis), plus the command line (--check, --diff, stdin, errors)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archc.api import loads
from archc.cli import main
from archc.errors import ArchcError
from archc.fmt import format_text
from archc.parse import parse_text

ROOT = Path(__file__).resolve().parent.parent
ZOO = sorted([*ROOT.glob("specs/*.arch"), *ROOT.glob("examples/*.arch")])


# ---- the invariants ---------------------------------------------------------------------------

def _without_positions(value):
    if isinstance(value, dict):
        return {k: _without_positions(v) for k, v in value.items()
                if k not in {"span", "name_span", "shortcut_span", "file"}}
    if isinstance(value, list):
        return [_without_positions(v) for v in value]
    return value


def _analysis(text: str, file: str = "<string>") -> tuple:
    a = loads(text, file).analysis  # the file's name: its includes are relative to it
    layers = [(r.name, r.kind, tuple(r.output), r.params, r.macs, r.side) for r in a.layers]
    sides = [(s.name, tuple(s.output), s.params, s.macs) for s in a.side_outputs]
    return (a.network, tuple(a.output), a.totals, layers, sides)


def _comments(text: str) -> Counter:
    """Comment pieces: several comments may be joined on one line, so split on '#'."""
    return Counter(piece.strip() for piece in re.findall(r"#[^#\n]*", text))


def assert_formats_well(text: str, analysable: bool = True, file: str = "<string>") -> str:
    out = format_text(text)
    assert format_text(out) == out, "formatting is not idempotent"
    before, after = parse_text(text).model_dump(), parse_text(out).model_dump()
    assert _without_positions(before) == _without_positions(after), "the AST changed"
    if analysable:
        assert _analysis(text, file) == _analysis(out, file), "the analysed network changed"
    assert _comments(text) == _comments(out), "comments were lost or changed"
    assert out.endswith("\n") and not out.endswith("\n\n")
    for line in out.splitlines():
        assert line == line.rstrip(), f"trailing whitespace: {line!r}"
        indent = len(line) - len(line.lstrip(" "))
        assert indent % 4 == 0 and not line.startswith("\t"), f"bad indentation: {line!r}"
    assert "\n\n\n" not in out
    return out


@pytest.mark.parametrize("path", ZOO, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_zoo_formats_without_changing_meaning(path: Path) -> None:
    assert_formats_well(path.read_text(encoding="utf-8"), file=str(path))


def test_zoo_is_not_empty() -> None:
    assert len(ZOO) >= 10


# ---- the canonical layout, by example ------------------------------------------------------

MESSY = """\
# header comment
defaults{conv(bias=false)}
block   basic( c ,s=1 ){residual{conv(c,k=3,s=s,p=1)bn relu
conv(c,k=3,p=1) bn}
shortcut{conv(c,k=1,s=s) bn}  relu}



network   Net{input 3 x 32 x 32   # the input
  stem:conv(16,k=3,p=1)   bn relu    # stem
  basic(16)
  # own-line comment
  basic( c=32 , s=2 )->x
  concat{branch{conv(8,k=1)} branch{conv(8,k=3,p=1)}}
  concat(x) layer:{conv(c=8*2 ,k=1)relu}


  global_avgpool flatten linear(10)}
"""

CANONICAL = """\
# header comment
defaults { conv(bias=false) }

block basic(c, s=1) {
    residual {
        conv(c, k=3, s=s, p=1) bn relu
        conv(c, k=3, p=1) bn
    } shortcut {
        conv(c, k=1, s=s) bn
    }
    relu
}

network Net {
    input 3x32x32                     # the input
    stem: conv(16, k=3, p=1) bn relu  # stem
    basic(16)
    # own-line comment
    basic(c=32, s=2) -> x
    concat {
        branch { conv(8, k=1) }
        branch { conv(8, k=3, p=1) }
    }
    concat(x) layer: { conv(c=8 * 2, k=1) relu }

    global_avgpool flatten linear(10)
}
"""


def test_canonical_layout() -> None:
    assert format_text(MESSY) == CANONICAL


def test_canonical_layout_is_a_fixed_point() -> None:
    assert format_text(CANONICAL) == CANONICAL


def test_comments_stay_with_their_lines() -> None:
    source = ("network N {\n  input 3x8x8\n  conv(4,   # out channels\n    k=3)\n"
              "  # before relu\n  relu   # trailing\n  # last in body\n}\n# end of file\n")
    assert format_text(source) == (
        "network N {\n    input 3x8x8\n    conv(4, k=3)  # out channels\n    # before relu\n"
        "    relu  # trailing\n    # last in body\n}\n\n# end of file\n")


def test_blank_lines_collapse_and_bodies_are_trimmed() -> None:
    source = "network N {\n\n\n  input 3x8x8\n\n\n\n  relu\n\n}\n\n\n\nblock b() {\n relu\n}"
    assert format_text(source) == (
        "network N {\n    input 3x8x8\n\n    relu\n}\n\nblock b() {\n    relu\n}\n")


def test_multi_line_group_becomes_a_block_and_one_line_group_stays() -> None:
    source = "network N {\n input 3x8x8\n a: { relu\n tanh }\n b: { relu tanh }\n}\n"
    assert format_text(source) == ("network N {\n    input 3x8x8\n    a: {\n        relu\n"
                                   "        tanh\n    }\n    b: { relu tanh }\n}\n")


def test_side_and_repeat_and_expressions() -> None:
    source = ("block b(c, k=3) { conv(c*2+1, k=k, p=(k-1)//2) relu }\n"
              "network N { input 3x8x8 b(4)*2 side aux { flatten linear(2) } "
              "conv(4, k=(3,3), p=-(-1)) }\n")
    assert format_text(source) == (
        "block b(c, k=3) {\n    conv(c * 2 + 1, k=k, p=(k - 1) // 2) relu\n}\n\n"
        "network N {\n    input 3x8x8\n    b(4) * 2\n    side aux {\n        flatten linear(2)\n"
        "    }\n    conv(4, k=(3, 3), p=-(-1))\n}\n")


def test_empty_file_and_comment_only_file() -> None:
    assert format_text("") == ""
    assert format_text("  # just a note  \n\n\n# another\n") == "# just a note\n\n# another\n"


def test_syntax_error_raises() -> None:
    with pytest.raises(ArchcError) as info:
        format_text("network N { input 3x8x8 conv(4, k=3 }")
    assert info.value.diagnostics[0].code.value.startswith("E00")


# ---- generated specs ----------------------------------------------------------------------------

SEPARATORS = [" ", " ", " ", "  ", "\t", "\n", "\n    ", "\n\n", "\n\n\n", " # c\n",
              "\n# own line\n", "  #x\n\n", "\n  # a\n  # b\n", "   # trailing   \n  "]


class _Net:
    """Draws a valid network item by item, tracking the tensor shape so every spec compiles."""

    def __init__(self, draw, blocks: set[str]) -> None:
        self.draw, self.blocks = draw, blocks
        self.c = draw(st.sampled_from([1, 3, 8]))
        self.h, self.w = draw(st.integers(6, 20)), draw(st.integers(6, 20))
        self.counter = 0

    def fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def conv(self, out: int | None = None) -> str:
        d = self.draw
        out = out or d(st.sampled_from([4, 8, 12, 16]))
        k = d(st.sampled_from([1, 3, 5]))
        s = d(st.sampled_from([1, 2])) if min(self.h, self.w) >= 5 else 1
        pad = "same" if s == 1 and d(st.booleans()) else str(k // 2)
        p = k // 2
        self.h, self.w = (self.h + 2 * p - k) // s + 1, (self.w + 2 * p - k) // s + 1
        self.c = out
        width = d(st.sampled_from([str(out), f"{out // 2} * 2" if out % 2 == 0 else str(out)]))
        kernel = d(st.sampled_from([f"k = {k}", f"k = ( {k} , {k} )"]))
        stride = f" , s = {s}" if s != 1 or d(st.booleans()) else ""
        return f"conv ( {width} , {kernel}{stride} , p = {pad} )"

    def item(self, nested: bool = False) -> str:
        """One item; `nested` (inside a group, a numbered container): no labels or sides."""
        d = self.draw
        choices = ["conv", "act", "keep", "residual", "concat", "save_add", "save_cat"]
        if not nested:
            choices += ["group", "side", "label"]
        if min(self.h, self.w) >= 2:
            choices.append("pool")
        if "cbr" in self.blocks:
            choices.append("cbr")
        if "res" in self.blocks:
            choices.append("res")
        return getattr(self, "_" + d(st.sampled_from(choices)))()

    def _conv(self) -> str:
        return self.conv()

    def _act(self) -> str:
        return self.draw(st.sampled_from(["relu", "tanh", "bn", "dropout ( 0.25 )",
                                          "leaky_relu ( slope = 0.1 )", "bn ( eps = 1e-3 )"]))

    def _keep(self) -> str:
        return "avgpool ( k = 3 , s = 1 , p = 1 )"

    def _pool(self) -> str:
        self.h, self.w = self.h // 2, self.w // 2
        return "maxpool ( 2 )"

    def _residual(self) -> str:
        c = self.c
        if self.draw(st.booleans()):
            return (f"residual {{ conv ( {c} , k = 3 , p = 1 ) bn relu "
                    f"conv ( {c} , 3 , p = 1 ) bn }} relu")
        out, s = self.draw(st.sampled_from([4, 8, 16])), 2 if min(self.h, self.w) >= 2 else 1
        self.h, self.w, self.c = (self.h - 1) // s + 1, (self.w - 1) // s + 1, out
        return (f"residual {{ conv ( {out} , k = 3 , s = {s} , p = 1 ) bn }} "
                f"shortcut {{ conv ( {out} , k = 1 , s = {s} ) bn }} relu")

    def _concat(self) -> str:
        a, b = self.draw(st.sampled_from([4, 8])), self.draw(st.sampled_from([2, 6]))
        self.c = a + b + self.c
        return (f"concat {{ branch {{ conv ( {a} , k = 1 ) }} branch {{ conv ( {b} , k = 3 , "
                "p = 1 ) relu } branch { maxpool ( 3 , s = 1 , p = 1 ) } }")

    def _save_add(self) -> str:
        name = self.fresh("t")
        return f"-> {name} conv ( {self.c} , k = 3 , p = 1 ) relu add ( {name} )"

    def _save_cat(self) -> str:
        name = self.fresh("t")
        self.c += 4
        return f"-> {name} conv ( 4 , k = 1 ) concat ( {name} )"

    def _group(self) -> str:
        inner = " ".join(self.item(nested=True) for _ in range(self.draw(st.integers(1, 3))))
        label = f"{self.fresh('g')} : " if self.draw(st.booleans()) else ""
        return f"{label}{{ {inner} }}"

    def _side(self) -> str:
        return f"side {self.fresh('aux')} {{ global_avgpool flatten linear ( 3 ) }}"

    def _label(self) -> str:
        return f"{self.fresh('l')} : {self.conv()}"

    def _cbr(self) -> str:
        out = self.draw(st.sampled_from([4, 8]))
        s = 2 if min(self.h, self.w) >= 2 and self.draw(st.booleans()) else 1
        self.h, self.w, self.c = (self.h - 1) // s + 1, (self.w - 1) // s + 1, out
        return f"cbr ( {out} , s = {s} )" if s != 1 else f"cbr ( c = {out} )"

    def _res(self) -> str:
        return f"res ( {self.c} ) * {self.draw(st.integers(1, 3))}"


BLOCKS = {
    "cbr": "block cbr ( c , s = 1 ) { conv ( c , k = 3 , s = s , p = 1 ) bn relu }",
    "res": ("block res ( c ) { residual { conv ( c , k = 3 , p = 1 ) bn relu "
            "conv ( c * 1 , k = 3 , p = ( 3 - 1 ) // 2 ) bn } relu }"),
}


@st.composite
def spec_sources(draw) -> str:
    blocks = set(draw(st.lists(st.sampled_from(sorted(BLOCKS)), unique=True)))
    net = _Net(draw, blocks)
    parts = []
    if draw(st.booleans()):
        parts.append("defaults { conv ( bias = false ) }")
    parts += [BLOCKS[name] for name in sorted(blocks)]
    dims = draw(st.sampled_from(["{}x{}x{}", "{} x {} x {}"])).format(net.c, net.h, net.w)
    items = [net.item() for _ in range(draw(st.integers(1, 7)))]
    if draw(st.booleans()):
        items.append("global_avgpool flatten linear ( 10 )")
    parts.append(f"network Gen {{ input {dims} " + " ".join(items) + " }")
    tokens = " ".join(parts).split(" ")
    tokens = _rejoin_dims(tokens)
    gaps = draw(st.lists(st.sampled_from(SEPARATORS), min_size=len(tokens),
                         max_size=len(tokens)))
    lead = draw(st.sampled_from(["", "# file comment\n", "\n\n"]))
    return lead + "".join(tok + gap for tok, gap in zip(tokens, gaps, strict=True))


def _rejoin_dims(tokens: list[str]) -> list[str]:
    """`3 x 8 x 8` is one DIMS token: keep its inner spaces out of the random separators."""
    out: list[str] = []
    for tok in tokens:
        if tok == "x" or (out and out[-1].endswith("x") and out[-1][0].isdigit()):
            out[-1] += " " + tok
        else:
            out.append(tok)
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec_sources())
@pytest.mark.fuzz
def test_generated_specs_format_without_changing_meaning(source: str) -> None:
    assert_formats_well(source)


# ---- the command line ---------------------------------------------------------------------------

UGLY = "network N {input 3x8x8\nconv(4,k=3)   relu}\n"
PRETTY = "network N {\n    input 3x8x8\n    conv(4, k=3) relu\n}\n"


def _invoke(*args: str, stdin: str | None = None):
    return CliRunner().invoke(main, list(args), input=stdin)


def test_fmt_rewrites_in_place_and_is_then_clean(tmp_path: Path) -> None:
    spec = tmp_path / "a.arch"
    spec.write_text(UGLY)
    result = _invoke("fmt", str(tmp_path))
    assert result.exit_code == 0 and "reformatted" in result.output
    assert spec.read_text() == PRETTY
    again = _invoke("fmt", "--check", str(spec))
    assert again.exit_code == 0 and "already formatted" in again.output


def test_fmt_check_prints_a_diff_and_exits_1_without_writing(tmp_path: Path) -> None:
    spec = tmp_path / "a.arch"
    spec.write_text(UGLY)
    result = _invoke("fmt", "--check", str(spec))
    assert result.exit_code == 1
    assert "--- " in result.output and "+++ " in result.output
    assert "+    conv(4, k=3) relu" in result.output
    assert spec.read_text() == UGLY


def test_fmt_diff_does_not_write(tmp_path: Path) -> None:
    spec = tmp_path / "a.arch"
    spec.write_text(UGLY)
    result = _invoke("fmt", "--diff", str(spec))
    assert result.exit_code == 1 and "@@" in result.output
    assert spec.read_text() == UGLY


def test_fmt_stdin_to_stdout() -> None:
    result = _invoke("fmt", "-", stdin=UGLY)
    assert result.exit_code == 0
    assert result.stdout == PRETTY


def test_fmt_refuses_a_spec_with_a_syntax_error(tmp_path: Path) -> None:
    spec = tmp_path / "bad.arch"
    broken = "network N { input 3x8x8 conv(4, k=3 }\n"
    spec.write_text(broken)
    result = _invoke("fmt", str(spec))
    assert result.exit_code == 1
    assert "error[E001]" in result.output
    assert spec.read_text() == broken


def test_fmt_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    assert _invoke("fmt", str(tmp_path / "nope.arch")).exit_code == 2


def test_fmt_keeps_file_permissions(tmp_path: Path) -> None:
    spec = tmp_path / "a.arch"
    spec.write_text(UGLY)
    spec.chmod(0o640)
    assert _invoke("fmt", str(spec)).exit_code == 0
    assert spec.stat().st_mode & 0o777 == 0o640


def test_examples_in_the_formatting_docs() -> None:
    text = (ROOT / "docs" / "formatting.md").read_text()
    blocks = re.findall(r"^```\n(.*?)^```", text, re.MULTILINE | re.DOTALL)
    pairs = [(blocks[i], blocks[i + 1]) for i in (1, 3)]
    for before, after in pairs:
        assert format_text(before) == after
