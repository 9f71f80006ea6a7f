"""Whatever the text (random, half-typed, cut anywhere), every language-server answer is
computed without an exception, and positions stay inside the document."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("lsprotocol")

from archc.lsp import features
from archc.lsp.document import analyse

ROOT = Path(__file__).resolve().parent.parent
SPECS = [p.read_text() for p in sorted((ROOT / "examples").glob("*.arch"))]
PIECES = ["network", "block", "input", "3x32x32", "conv", "(", ")", "{", "}", ",", "=", "->",
          "k", "=3", "relu", "residual", "shortcut", "concat", "branch", "side", "add", "x",
          "*", "2", " ", "\n", "#", ":", "linear", "flatten", "é", "\t", "1.5", "//", "-",
          "if", "else", "==", "and", "in.c", '"a.b"', "<"]


@st.composite
def texts(draw) -> str:
    if draw(st.booleans()):
        return "".join(draw(st.lists(st.sampled_from(PIECES), max_size=60)))
    spec = draw(st.sampled_from(SPECS))
    cut = draw(st.integers(0, len(spec)))
    insert = "".join(draw(st.lists(st.sampled_from(PIECES), max_size=4)))
    return spec[:cut] + insert + spec[cut + draw(st.integers(0, 20)):]


@pytest.mark.fuzz
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts(), st.lists(st.tuples(st.integers(0, 40), st.integers(0, 90)), min_size=1,
                         max_size=4))
def test_every_answer_on_any_text(text: str, positions: list[tuple[int, int]]) -> None:
    index = analyse(text, "fuzz.arch")
    assert index.internal_error is None, index.internal_error
    lines = text.split("\n")
    for diag in features.diagnostics(index, "file:///fuzz.arch"):
        assert 0 <= diag.range.start.line < len(lines)
    for hint in features.inlay_hints(index):
        assert hint.position.line < len(lines)
        line = lines[hint.position.line].rstrip("\r")
        assert hint.position.character == features.utf16_length(line)
    features.symbols(index)
    features.formatting(index)
    for pos in positions:
        features.hover(index, pos)
        features.completion(index, pos)
        for rng in features.definition(index, pos) + features.references(index, pos, True):
            assert lines[rng.start.line][rng.start.character:rng.end.character].isidentifier()


def test_check_never_imports_the_language_server() -> None:
    import subprocess
    import sys

    code = ("import sys; from click.testing import CliRunner; from archc.cli import main; "
            "r = CliRunner().invoke(main, ['check', 'examples/lenet5.arch']); "
            "assert r.exit_code == 0, r.output; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pygls', 'lsprotocol') "
            "or m.startswith('archc.lsp')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


ALL_SPECS = SPECS + [p.read_text() for p in sorted((ROOT / "specs").glob("*.arch"))]


def _parse_or_codes(parse, text: str):
    from archc.errors import ArchcError

    try:
        return parse(text, "fuzz.arch")
    except ArchcError as exc:
        return [(d.code, d.span, d.message) for d in exc.diagnostics]


@pytest.mark.fuzz
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts(), texts())
def test_incremental_parse_equals_a_whole_parse(before: str, after: str) -> None:
    """Same AST (spans included) or the same errors as `parse_text`, after any edit."""
    from archc.lsp.incremental import IncrementalParser
    from archc.parse import parse_text

    parse = IncrementalParser()
    for text in (before, after, before):
        assert _parse_or_codes(parse, text) == _parse_or_codes(parse_text, text)


def test_incremental_parse_reuses_unchanged_constructs() -> None:
    from archc.lsp.incremental import IncrementalParser, chunks
    from archc.parse import parse_text

    text = (ROOT / "specs" / "resnet152.arch").read_text()
    constructs = chunks(text)  # include, defaults, network
    assert constructs is not None and len(constructs) == 3
    parse = IncrementalParser()
    assert parse(text) == parse_text(text)
    edited = text.replace("bottleneck(256) * 35", "bottleneck(256) * 34")
    assert parse(edited) == parse_text(edited)
    assert parse.reused == 2  # the include and the defaults; only the network is parsed again
    for spec in ALL_SPECS:
        assert parse(spec) == parse_text(spec)
