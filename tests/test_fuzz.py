"""Fuzzing: mutated zoo specs never crash archc.

Each case takes a spec from specs/ or examples/ and damages it (byte flips, truncation, deleted
or doubled brackets, huge numbers, deep nesting, unicode, NUL bytes, CRLF, a BOM, megabyte
lines, ...). Whatever comes out, archc must either accept it or reject it with located
diagnostics (`file:line:col: error[CODE]:`): through the API only `ArchcError` may escape, and
the real command line must exit 0 or 1 with no traceback. Accepted specs must also compile to
PyTorch source (or be refused with E401).

Deterministic: case N always applies the same mutations. More cases on demand:
    ARCHC_FUZZ_CASES=20000 ARCHC_FUZZ_SEED=7 python -m pytest tests/test_fuzz.py -q
"""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import archc
from archc.errors import ArchcError, render
from tests.conftest import spec_paths

pytestmark = pytest.mark.fuzz

CASES = int(os.environ.get("ARCHC_FUZZ_CASES", "300"))
CLI_CASES = int(os.environ.get("ARCHC_FUZZ_CLI_CASES", "6"))
SEED = int(os.environ.get("ARCHC_FUZZ_SEED", "20240601"))
FILE = "fuzz.arch"
SECONDS_PER_CASE = 10.0  # a hang is a failure too
# Self-contained specs: one that includes another file is checked as text without its folder
# here (tests/test_include.py covers includes, their errors and their locations).
CORPUS = [text for text in (p.read_text(encoding="utf-8") for p in spec_paths())
          if 'include "' not in text]
LOCATED = re.compile(r"^(.+):(\d+):(\d+): (error|warning)\[[EWL]\d{3}\]: ", re.M)

UNICODE = ["\u00e9", "\u4e2d", "\U0001f600", "\u200b", "\u202e", "\u2028", "\u0301", "\ufeff",
           "\uffff", "\x0b", "\x0c", "\x1c", "\x85", "\t", "\r", "\x7f", "\ud7ff", "Ω", "ﬁ"]
NUMBERS = ["0", "-1", "1e12", "1000000000000", "9" * 400, "1e999", "0.0", ".5", "1e-999",
           "340282366920938463463374607431768211457", "16777217", "100000", "2**8", "3x3"]


# ---- mutations ----------------------------------------------------------------------------

def flip_chars(text: str, rng: random.Random) -> str:
    chars = list(text)
    for _ in range(rng.randint(1, 8)):
        if chars:
            chars[rng.randrange(len(chars))] = chr(rng.choice([rng.randint(32, 126),
                                                               rng.randint(0, 0x2FFF)]))
    return "".join(chars)


def truncate(text: str, rng: random.Random) -> str:
    return text[:rng.randrange(len(text) + 1)]


def delete_brackets(text: str, rng: random.Random) -> str:
    spots = [i for i, c in enumerate(text) if c in "{}()"]
    drop = set(rng.sample(spots, min(len(spots), rng.randint(1, 3))))
    return "".join(c for i, c in enumerate(text) if i not in drop)


def double_brackets(text: str, rng: random.Random) -> str:
    spots = [i for i, c in enumerate(text) if c in "{}()"]
    if not spots:
        return text
    at = rng.choice(spots)
    return text[:at] + text[at] * rng.randint(1, 50) + text[at:]


def huge_numbers(text: str, rng: random.Random) -> str:
    return re.sub(r"\b\d+\b", lambda m: rng.choice(NUMBERS) if rng.random() < 0.3 else m.group(),
                  text)


def deep_nesting(text: str, rng: random.Random) -> str:
    lines = text.splitlines()
    body = [i for i, line in enumerate(lines) if line.startswith("    ") and "input" not in line]
    if not body:
        return text
    i, depth = rng.choice(body), rng.choice([10, 150, 199, 250, 5000])
    kind = rng.choice(["{ ", "residual { ", "concat { branch { "])
    close = {"{ ": "} ", "residual { ": "} ", "concat { branch { ": "} } "}[kind]
    lines[i] = kind * depth + lines[i] + close * depth
    return "\n".join(lines) + "\n"


def unicode(text: str, rng: random.Random) -> str:
    for _ in range(rng.randint(1, 5)):
        at = rng.randrange(len(text) + 1)
        text = text[:at] + rng.choice(UNICODE) + text[at:]
    return text


def nul_bytes(text: str, rng: random.Random) -> str:
    at = rng.randrange(len(text) + 1)
    return text[:at] + "\x00" * rng.randint(1, 3) + text[at:]


def crlf(text: str, rng: random.Random) -> str:
    return text.replace("\n", rng.choice(["\r\n", "\r", "\n\r", "\r\r\n"]))


def bom(text: str, rng: random.Random) -> str:
    return "\ufeff" * rng.randint(1, 2) + text


def swap_tokens(text: str, rng: random.Random) -> str:
    tokens = re.findall(r"\w+|\S", text)
    if len(tokens) < 2:
        return text
    a, b = rng.randrange(len(tokens)), rng.randrange(len(tokens))
    tokens[a], tokens[b] = tokens[b], tokens[a]
    return " ".join(tokens)


def shuffle_lines(text: str, rng: random.Random) -> str:
    lines = text.splitlines()
    for _ in range(rng.randint(1, 4)):
        op = rng.choice(["drop", "dup", "swap"])
        if not lines:
            break
        i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
        if op == "drop":
            del lines[i]
        elif op == "dup":
            lines.insert(j, lines[i])
        else:
            lines[i], lines[j] = lines[j], lines[i]
    return "\n".join(lines)


VOCABULARY = ["residual {", "shortcut {", "concat {", "branch {", "side aux {", "-> t", "add(t)",
              "mul(t)", "concat(t)", "{", "}", "(", ")", ",", "=", ":", "* 3", "* 0", "x:", "relu",
              "conv(8, k=3)", "conv(c, k=k)", "linear(10)", "flatten", "bn", "maxpool(2)",
              "global_avgpool", "upsample(2)", "conv_t(4, k=2, s=2)", "input 3x8x8", "defaults {",
              "block b(c) {", "b(4)", "b", "network M {", "p=same", "groups=2", "1/0", "-3",
              "(1, 2)", "true", "dropout(0.5)", "zeropad((1, 2, 3, 4))", "pixel_shuffle(2)"]


def insert_tokens(text: str, rng: random.Random) -> str:
    """Grammar-aware damage: keywords, layers and punctuation where they do not belong."""
    words = text.split(" ")
    for _ in range(rng.randint(1, 6)):
        words.insert(rng.randrange(len(words) + 1), rng.choice(VOCABULARY))
    return " ".join(words)


def long_line(text: str, rng: random.Random) -> str:
    """A megabyte-long line: a name, a number, a comment, blanks or repeated tokens."""
    size = rng.choice([1_000_000, 10_000_000])
    filler = rng.choice(["x" * size, "9" * size, "# " + "c" * size, " " * size,
                         "relu " * (size // 100), "(" * 1000 + ")" * 1000])
    lines = text.splitlines()
    lines.insert(rng.randrange(len(lines) + 1), filler)
    return "\n".join(lines)


MUTATIONS: list[Callable[[str, random.Random], str]] = [
    flip_chars, truncate, delete_brackets, double_brackets, huge_numbers, deep_nesting,
    unicode, nul_bytes, crlf, bom, swap_tokens, shuffle_lines, insert_tokens, insert_tokens]


def mutant(case: int) -> tuple[str, list[str]]:
    """Case `case`'s spec text and the names of the mutations applied, in order."""
    rng = random.Random(f"{SEED}:{case}")
    text = rng.choice(CORPUS)
    chosen = [rng.choice(MUTATIONS) for _ in range(rng.choice([1, 1, 1, 2, 3]))]
    if case % 97 == 13:  # a few megabyte lines, which are slow to build and to parse
        chosen.append(long_line)
    for mutation in chosen:
        text = mutation(text, rng)
    return text, [m.__name__ for m in chosen]


# ---- checks -------------------------------------------------------------------------------

def assert_located(exc: ArchcError, text: str) -> None:
    assert exc.diagnostics, "an ArchcError without diagnostics"
    for diag in exc.diagnostics:
        span = diag.span
        assert span is not None and span.file == FILE, diag
        assert span.line >= 1 and span.col >= 1, diag
        rendered = render(diag, {FILE: text})
        assert LOCATED.match(rendered), rendered[:200]
    assert any(d.is_error for d in exc.diagnostics)


def check_api(text: str) -> str:
    """Run the pipeline (and codegen for accepted specs); only ArchcError may escape."""
    try:
        model = archc.loads(text, FILE)
    except ArchcError as exc:
        assert_located(exc, text)
        return "rejected"
    from archc.codegen.pytorch import generate

    try:
        generated = generate(model, FILE)
    except ArchcError as exc:
        assert_located(exc, text)
        return "accepted, codegen refused"
    assert f"class {generated.class_name}(nn.Module)" in generated.source
    return "accepted"


@pytest.mark.parametrize("case", range(CASES))
def test_mutated_specs_never_crash(case):
    text, applied = mutant(case)
    started = time.process_time()
    try:
        check_api(text)
    except ArchcError:
        raise
    except Exception as exc:  # the point of the test: report what crashed and how to replay it
        pytest.fail(f"case {case} (seed {SEED}, mutations {applied}) crashed: {exc!r}")
    assert time.process_time() - started < SECONDS_PER_CASE, f"case {case} {applied} hung"


def test_fuzz_outcomes_are_mixed():
    # the mutations must neither always break the spec nor never: both paths get exercised
    outcomes = {check_api(mutant(case)[0]) for case in range(60)}
    assert {"accepted", "rejected"} <= outcomes


@pytest.mark.parametrize("data", [b"\xff\xfe\x00n\x00e\x00t", b"network \xc3\x28 {", b"\x80" * 64,
                                  "network N { input 3x8x8 relu }".encode("utf-16"),
                                  b"\x00" * 10, b""],
                         ids=["utf16-bom", "bad-utf8", "continuation", "utf16", "nul", "empty"])
def test_undecodable_files(tmp_path, data):
    path = tmp_path / FILE
    path.write_bytes(data)
    with pytest.raises(ArchcError) as caught:
        archc.load(path)
    for diag in caught.value.diagnostics:
        assert diag.span is not None and diag.span.line >= 1 and diag.span.col >= 1


# ---- the real command line ----------------------------------------------------------------

def run_cli(path: Path, command: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "import sys; from archc.cli import main; "
                           "sys.exit(main())", command, str(path), *(
                               ["--format", "json"] if command == "params" else [])],
                          capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "NO_COLOR": "1"})


@pytest.mark.parametrize("case", range(CLI_CASES))
def test_cli_on_mutants(tmp_path, case):
    text, applied = mutant(1000 + case)
    path = tmp_path / FILE
    path.write_bytes(text.encode("utf-8", errors="surrogatepass"))
    for command in ("check", "params"):
        done = run_cli(path, command)
        assert "Traceback" not in done.stderr, (applied, done.stderr[-3000:])
        assert done.returncode in (0, 1), (applied, done.returncode, done.stderr[-3000:])
        if done.returncode == 1:
            assert re.search(rf"^{re.escape(str(path))}:\d+:\d+: error\[E\d{{3}}\]: ",
                             done.stderr, re.M), (applied, done.stderr[:2000])


def test_cli_on_binary_file(tmp_path):
    path = tmp_path / FILE
    path.write_bytes(bytes(range(256)) * 64)
    done = run_cli(path, "check")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert re.search(r":\d+:\d+: error\[E00\d\]: ", done.stderr)
