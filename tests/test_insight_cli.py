"""The understanding commands stay torch-free (they run where PyTorch is not installed)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT

LENET, R18 = str(ROOT / "examples/lenet5.arch"), str(ROOT / "specs/resnet18.arch")


@pytest.mark.parametrize("command", [
    ["params", R18, "--depth", "2", "--rf"], ["explain", LENET], ["explain", "E203"],
    ["memory", R18, "--batch", "8", "--dtype", "bf16"], ["diff", LENET, R18, "--format", "json"]])
def test_understanding_commands_never_import_torch(command):
    code = ("import sys; from archc.cli import main\n"
            f"try: main({command!r})\nexcept SystemExit as exc: assert not exc.code, exc.code\n"
            "bad = [m for m in ('torch', 'numpy') if m in sys.modules]\n"
            "assert not bad, bad")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
