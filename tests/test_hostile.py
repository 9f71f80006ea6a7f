"""Hostile inputs (issue 9): file names that try to become code, outputs that are devices,
special files as inputs, write semantics, temp debris and bounds. Every case here once ran
code, replaced a file, hung, or ended in a traceback."""

from __future__ import annotations

import ast
import io
import os
import subprocess
import sys
import tokenize

import pytest

import archc
from archc.codegen.pytorch import generate
from tests.conftest import ROOT

LENET = ROOT / "examples/lenet5.arch"
SMALL = "network Small {\n    input 1x8x8\n    conv(4, k=3) relu\n    flatten linear(2)\n}\n"


def archc_cli(*args: str, cwd=None, stdin=None, timeout: float = 120, **kwargs):
    """archc in a fresh process (real file descriptors, real exit status)."""
    code = "import sys; from archc.cli import main; main(sys.argv[1:], prog_name='archc')"
    return subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, stdin=stdin,
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, **kwargs)


# ---- 1. nothing from a file name changes how the emitted file decodes or what it runs ---------

HOSTILE_NAMES = [
    "net coding=utf-7 +AAo-import os; os.system('touch PWNED')+AAo-#.arch",
    "x coding=bogus.arch",
    "a\rimport os\r#.arch",
    "a\nimport os\n#.arch",
    "a\x0cimport os.arch",
    "a\x00b.arch",
    "a\u2028import os\u2029.arch",
    "a\x85b.arch",
    "trailing backslash \\",
    "vim: set fileencoding=latin-1 :",
    "caf\xe9 \U0001f600.arch",
]


def _module_shape(source: str) -> str:
    return ast.dump(ast.parse(source))


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_spec_name_cannot_reach_code_or_decoding(name: str) -> None:
    model = archc.loads(SMALL)
    plain = generate(model, "spec.arch").source
    hostile = generate(model, name).source
    assert hostile.isascii()
    assert all(c == "\n" or " " <= c <= "~" for c in hostile)
    encoding, _ = tokenize.detect_encoding(io.BytesIO(hostile.encode()).readline)
    assert encoding == "utf-8"
    # Same module, statement for statement: the name lives only inside a comment.
    assert _module_shape(hostile) == _module_shape(plain)
    assert hostile.splitlines()[3:] == plain.splitlines()[3:]


def test_build_with_a_coding_cookie_in_the_file_name_runs_nothing(tmp_path) -> None:
    pytest.importorskip("torch")
    name = "net coding=utf-7 +AAo-import os; os.system('touch PWNED')+AAo-#.arch"
    spec = tmp_path / name
    spec.write_text(SMALL, encoding="utf-8")
    out = tmp_path / "model.py"
    done = archc_cli("build", name, "-o", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    imported = subprocess.run([sys.executable, "-c", "import model"], cwd=tmp_path,
                              capture_output=True, text=True)
    assert imported.returncode == 0, imported.stderr
    assert not (tmp_path / "PWNED").exists()
