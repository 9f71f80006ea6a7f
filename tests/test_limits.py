"""Hostile specs meet limits, not hangs: every cap gives a located error quickly and in bounded
memory. Plus the two safety guarantees: spec content never reaches eval/exec, and `archc build`
never destroys an existing output file.

The caps: archc.expand.Limits (max_layers, max_call_depth, max_repeat, max_dim),
archc.parse.MAX_NESTING (brackets in a file), archc.sizes.MAX_DEPTH (nesting once block calls
are expanded), archc.ast.MAX_EXPR_DEPTH / MAX_LITERAL_DIGITS / MAX_ELEMENTS.
"""

from __future__ import annotations

import contextlib
import functools
import re
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

import archc
from archc.errors import ArchcError, Diagnostic, render
from archc.expand import Limits
from tests.conftest import ROOT

FILE = "hostile.arch"


@functools.cache
def _warm_up() -> None:
    """Import and build every lazily made table once, so the first measured case counts the
    spec's cost, not archc's own start-up."""
    with contextlib.suppress(ArchcError):
        archc.loads(network("conv(4, k=3) relu", blocks="block b(c) { conv(c, k=1) }"), FILE)


def failure(text: str, limits: Limits | None = None, seconds: float = 5.0,
            megabytes: float = 64.0) -> list[Diagnostic]:
    """The diagnostics `text` fails with, asserting it fails within the time and Python memory
    given (tracemalloc's peak, which counts every object the pipeline builds). The time is this
    process's CPU time: a guard against hangs and blow-ups that a loaded machine cannot trip
    (speed itself is measured in bench/)."""
    _warm_up()
    tracemalloc.start()
    started = time.process_time()
    try:
        archc.loads(text, FILE, limits=limits)
    except ArchcError as exc:
        diagnostics = exc.diagnostics
    else:
        raise AssertionError("the spec was accepted")
    finally:
        elapsed = time.process_time() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert elapsed < seconds, f"took {elapsed:.1f} s of CPU"
    assert peak < megabytes * 2**20, f"peaked at {peak / 2**20:.0f} MB"
    for diag in diagnostics:
        assert diag.span is not None and diag.span.file == FILE
        assert diag.span.line >= 1 and diag.span.col >= 1
        render(diag, {FILE: text})  # the excerpt renders whatever the position
    return diagnostics


def codes(diagnostics: list[Diagnostic]) -> list[str]:
    return [d.code.value for d in diagnostics]


def where(diagnostics: list[Diagnostic]) -> list[tuple[int, int]]:
    return [(d.span.line, d.span.col) for d in diagnostics]


def network(*body: str, blocks: str = "") -> str:
    return blocks + "network N {\n    input 3x8x8\n" + "".join(f"    {b}\n" for b in body) + "}\n"


# ---- expansion bombs (E301) ------------------------------------------------------------------

BOMB = """block a() { relu * 1000 }
block b() { a * 1000 }
block c() { b * 1000 }
"""


def test_expansion_bomb_is_refused_before_expanding():
    # 10^9 layers; before the static count this ran for minutes (or until memory ran out).
    found = failure(network("c * 1000", blocks=BOMB), seconds=1.0, megabytes=8)
    assert codes(found) == ["E301"]
    # reported where the running count passes the limit: the innermost `relu * 1000`, with
    # the block calls that lead there as notes
    assert where(found) == [(1, 13)]
    assert [span.line for _, span in found[0].notes] == [2, 3, 6]


def test_bomb_inside_block_parameters():
    # the repeat count is a parameter, multiplied through three levels
    spec = network("c(1000)", blocks="""block a(n) { relu * n }
block b(n) { a(n) * n }
block c(n) { b(n) * n }
""")
    assert codes(failure(spec, seconds=1.0, megabytes=8)) == ["E301"]


def test_limit_is_exact():
    spec = network("relu * 10", "conv(3, k=1) * 5")
    assert archc.loads(spec, FILE, limits=Limits(max_layers=15)).layers[-1].name == "conv5"
    found = failure(spec, Limits(max_layers=14))
    assert codes(found) == ["E301"] and where(found) == [(4, 5)]  # the 15th layer: `conv`


def test_wide_concat_bomb():
    branch = "branch { relu * 100000 }"
    spec = network("concat { " + " ".join([branch] * 50) + " }")
    assert codes(failure(spec, seconds=1.0, megabytes=8)) == ["E301"]


def test_huge_file_of_layers_stops(monkeypatch):
    # A file that is itself huge stops at a cap on syntax elements, not at the memory limit.
    monkeypatch.setattr("archc.ast.MAX_ELEMENTS", 10_000)
    found = failure(network("relu " * 20_000), seconds=5.0)
    assert codes(found) == ["E301"] and "syntax elements" in found[0].message


# ---- recursion (E302) and call depth (E303) --------------------------------------------------

def test_direct_recursion():
    found = failure(network("a", blocks="block a() { relu a }\n"))
    assert codes(found) == ["E302"] and where(found) == [(1, 18)]
    assert "a -> a" in found[0].message


def test_indirect_recursion():
    blocks = "block a() { relu b }\nblock b() { c }\nblock c() { conv(3, k=1) a }\n"
    found = failure(network("a", blocks=blocks))
    assert codes(found) == ["E302"] and where(found) == [(3, 26)]
    assert "a -> b -> c -> a" in found[0].message


def test_recursion_under_repeat_is_quick():
    blocks = "block a(n) { relu b(n) * 1000 }\nblock b(n) { a(n) * 1000 }\n"
    assert "E302" in codes(failure(network("a(3) * 1000", blocks=blocks), seconds=2.0))


def test_call_depth_cap():
    chain = "".join(f"block b{i}() {{ b{i + 1} }}\n" for i in range(80)) + "block b80() { relu }\n"
    found = failure(network("b0", blocks=chain))
    assert codes(found) == ["E303"]
    # b0 ... b63 are open (64 = the cap) when b63, on line 64, calls b64
    assert found[0].span.line == Limits().max_call_depth


def test_expanded_nesting_cap():
    # each block nests 150 groups (legal in the file) and calls the next: 60 x 150 levels
    blocks = "".join(f"block b{i}() {{ " + "{ " * 150 + f"b{i + 1}" + " }" * 150 + " }\n"
                     for i in range(60)) + "block b60() { relu }\n"
    found = failure(network("b0", blocks=blocks), seconds=5.0)
    assert codes(found) == ["E303"] and "nests deeper than" in found[0].message


# ---- deep nesting in the text (E303) ---------------------------------------------------------

@pytest.mark.parametrize(("opening", "closing"), [("{ ", "} "), ("residual { ", "} ")])
def test_ten_thousand_braces(opening, closing):
    found = failure(network(opening * 10_000 + "relu " + closing * 10_000), seconds=1.0)
    assert codes(found) == ["E303"]
    line, col = where(found)[0]
    assert line == 3 and col > 5  # at the brace that passes the limit, not at 1:1


def test_ten_thousand_parentheses():
    found = failure(network("conv(" + "(" * 10_000 + "3" + ")" * 10_000 + ", k=1)"), seconds=1.0)
    assert codes(found) == ["E303"] and where(found)[0][0] == 3


@pytest.mark.parametrize("expr", ["1" + " + 1" * 100_000, "- " * 100_000 + "3",
                                  "2" + " * 1" * 50_000 + " - 1" * 50_000],
                         ids=["sum", "negations", "mixed"])
def test_long_operator_chains(expr):
    found = failure(network(f"conv({expr}, k=1)"), seconds=10.0, megabytes=256)
    assert codes(found) == ["E303"]
    line, col = where(found)[0]
    # at the operator that passes the cap: a left-leaning chain's first operand, or the
    # 200th `-` counted from the operand it negates
    assert line == 3 and col == (10 if expr[0] != "-" else 10 + 2 * (100_000 - 200))


def test_chain_below_the_cap_evaluates():
    model = archc.loads(network("conv(" + " + ".join(["1"] * 150) + ", k=1)"), FILE)
    assert model.layers[0].output == (150, 8, 8)


def test_deepest_legal_nesting_is_analysed_and_built():
    depth = 190  # brackets: network + 190 residual bodies
    spec = network("residual { " * depth + "relu " + "} " * depth)
    model = archc.loads(spec, FILE)
    assert len(model.layers) == depth + 1  # one relu and a sum per residual
    pytest.importorskip("torch")
    from archc.codegen.build import verify
    from archc.codegen.pytorch import generate

    verify(model, generate(model, FILE))


# ---- absurd sizes ------------------------------------------------------------------------------

@pytest.mark.parametrize(("body", "code", "col"), [
    ("conv(1000000000000, k=1)", "E304", 5),  # 10^12 channels: the output cap
    ("flatten linear(1000000000000)", "E304", 13),
    ("conv(1e12, k=1)", "E104", 10),  # a float is no channel count
    ("conv(0, k=1)", "E104", 10),
    ("conv(-16, k=3)", "E104", 10),
    ("conv(16, k=0)", "E104", 5),  # geometry is checked per layer: located at the call
    ("conv(16, k=-3)", "E104", 5),
    ("conv(16, k=1000000000)", "E201", 5),
    ("maxpool(0)", "E104", 5),
    ("relu * 0", "E104", 12),
    ("relu * -5", "E104", 12),
    ("relu * 1000000000000", "E304", 12),
    ("dropout(1e999)", "E104", 13),  # inf
    ("bn(eps=1e999 - 1e999)", "E104", 8),  # nan never passes a bound
    ("upsample(100000000)", "E304", 5),
    ("conv(" + "9" * 5000 + ", k=1)", "E304", 10),  # beyond int()'s digit limit
], ids=lambda value: value[:30] if isinstance(value, str) else None)
def test_absurd_sizes(body, code, col):
    found = failure(network(body))
    assert codes(found) == [code] and where(found) == [(3, col)]


@pytest.mark.parametrize(("dims", "code"), [
    ("0x8x8", "E004"), ("3x0x8", "E004"), ("1x2x3x4", "E004"),
    ("3x100000000x2", "E304"), ("3x" + "9" * 5000 + "x8", "E304"),
], ids=lambda value: value[:20] if isinstance(value, str) else None)
def test_absurd_inputs(dims, code):
    found = failure(f"network N {{\n    input {dims}\n    relu\n}}\n")
    assert code in codes(found) and where(found)[0] == (2, 5)


@pytest.mark.independent
def test_huge_products_stay_exact():
    # sizes under the per-axis cap can still multiply to enormous counts: exact integers
    spec = "network N {\n    input 4096x4096x4096\n    conv(4096, k=3, p=1)\n}\n"
    totals = archc.loads(spec, FILE).totals
    assert totals.macs == 4096 * 4096 * 4096 * 9 * 4096
    assert totals.params == 9 * 4096 * 4096 + 4096


def test_many_errors_are_capped():
    spec = network(*["conv(16, k=3, bogus=1)"] * 1500)
    found = failure(spec, seconds=5.0)
    assert 100 <= len(found) <= 1000 and set(codes(found)) == {"E102"}


def test_megabyte_name_is_reported_briefly():
    found = failure(network("x" * 10_000_000), seconds=5.0, megabytes=128)
    assert codes(found) == ["E101"] and len(found[0].message) < 500


# ---- safety: no eval, no lost files ----------------------------------------------------------

# the one place allowed to run code: codegen/build.py imports the module archc generated
FORBIDDEN = re.compile(r"(?<![\w.])(?<!def )(eval|exec|compile|__import__)\s*\(|literal_eval"
                       r"|exec_module"
                       r"|\bimportlib\.import_module|\bpickle\b|\bmarshal\b")
ALLOWED = {("archc/codegen/build.py", "spec.loader.exec_module(module)"),
           # `archc import MODULE:CALLABLE` runs the user's own model code, by request
           ("archc/importer/api.py", "target = importlib.import_module(module_name)"),
           # a .pt2's module stack names classes: only torch's and torchvision's are imported
           ("archc/importer/exported.py", "module = importlib.import_module(module_name)")}


def test_no_eval_or_exec_in_archc():
    found = set()
    for path in sorted((ROOT / "archc").rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        for line in path.read_text(encoding="utf-8").splitlines():
            code = line.split("#", 1)[0]
            if FORBIDDEN.search(code):
                found.add((relative, line.strip()))
    assert found == ALLOWED


def _build(spec: Path, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "import sys; from archc.cli import main; "
                           "sys.exit(main())", "build", str(spec), "-o", str(out)],
                          capture_output=True, text=True, timeout=120, check=False)


BROKEN: dict[str, str] = {
    "syntax": "network N { input 3x8x8 conv(3, k=3 }\n",
    "analysis": "network N { input 3x8x8 conv(3, k=30) }\n",
    "codegen": "block b() { side s { relu } relu }\nnetwork N { input 3x8x8 b }\n",
    "bomb": network("c * 1000", blocks=BOMB),
}


@pytest.mark.parametrize("kind", list(BROKEN))
def test_build_with_errors_leaves_output_untouched(tmp_path, kind):
    out = tmp_path / "model.py"
    out.write_text("# precious: written by hand\n", encoding="utf-8")
    before = out.stat()
    spec = tmp_path / "bad.arch"
    spec.write_text(BROKEN[kind], encoding="utf-8")
    done = _build(spec, out)
    assert done.returncode == 1, done.stderr
    assert re.search(r"bad\.arch:\d+:\d+: error\[E\d{3}\]:", done.stderr)
    assert "Traceback" not in done.stderr
    assert out.read_text(encoding="utf-8") == "# precious: written by hand\n"
    assert out.stat().st_mtime_ns == before.st_mtime_ns
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.arch", "model.py"]


def test_build_writes_through_atomic_write(monkeypatch, tmp_path):
    from click.testing import CliRunner

    import archc.fileio
    from archc.cli import main

    calls: list[str] = []
    original: Callable = archc.fileio.atomic_write
    monkeypatch.setattr(archc.fileio, "atomic_write",
                        lambda path, text, **kw: calls.append(str(path)) or original(path, text))
    out = tmp_path / "lenet.py"
    result = CliRunner().invoke(main, ["build", str(ROOT / "examples/lenet5.arch"), "-o",
                                       str(out), "--no-verify"])
    assert result.exit_code == 0 and calls == [str(out)]
    assert "class LeNet5" in out.read_text(encoding="utf-8")
