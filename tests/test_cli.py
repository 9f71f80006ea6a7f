"""The command line: exit codes 0/1/2, located errors, no torch on the analysis path."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from archc.cli import main
from tests.conftest import ROOT

LENET = str(ROOT / "examples/lenet5.arch")


def run(*args: str, stdin: str | None = None):
    return CliRunner().invoke(main, list(args), input=stdin)


@pytest.mark.independent
def test_check_ok():
    result = run("check", LENET)
    assert result.exit_code == 0
    assert result.output == "LeNet5: 1x32x32 -> 10 | 61,706 params | 416,520 MACs\n"


def test_check_reports_every_independent_error(tmp_path):
    spec = tmp_path / "bad.arch"
    spec.write_text("network Bad {\n    input 3x32x32\n    conv(8, k=3, q=1)\n"
                    "    linear(10)\n    bogus(3)\n    maxpool(2)\n}\n")
    result = run("check", str(spec))
    assert result.exit_code == 1
    assert f"{spec}:3:18: error[E102]: `conv` has no argument `q`" in result.output
    assert f"{spec}:5:5: error[E101]: unknown layer or block `bogus`" in result.output
    assert "Traceback" not in result.output
    assert "  = hint: did you mean `s`?" in result.output or "takes:" in result.output


def test_error_has_source_line_and_caret(tmp_path):
    spec = tmp_path / "k.arch"
    spec.write_text("network K { input 1x8x8\n  conv(4, k=9)\n}\n")
    lines = run("check", str(spec)).output.splitlines()
    assert lines[0] == f"{spec}:2:3: error[E201]: conv1: conv kernel 9 is larger than the " \
                       "padded input (H = 8 + 2*0 = 8)"
    assert lines[2] == "2 |   conv(4, k=9)" and lines[3] == "  |   ^^^^^^^^^^^^"
    assert lines[4].startswith("  = hint:")


def test_warnings_fail_only_with_strict(tmp_path):
    spec = tmp_path / "w.arch"
    spec.write_text("network W { input 1x8x8 conv(4, k=3, s=2) }\n")  # (8-3)/2: 1 row left
    assert run("check", str(spec)).exit_code == 0
    strict = run("check", str(spec), "--strict")
    assert strict.exit_code == 1 and "warning[W101]" in strict.output


def test_usage_errors_exit_2(tmp_path):
    assert run("check", str(tmp_path / "missing.arch")).exit_code == 2
    assert run("check", LENET, "--input", "3xbig").exit_code == 2
    assert run("params", LENET, "--format", "yaml").exit_code == 2
    assert run("frobnicate").exit_code == 2


def test_stdin_and_input_override():
    text = (ROOT / "examples/lenet5.arch").read_text()
    assert run("check", "-", stdin=text).output.startswith("LeNet5: 1x32x32 -> 10")
    # 1x36x36: conv5 -> 32, pool -> 16, conv5 -> 12, pool -> 6: flatten 16*6*6 = 576
    result = run("params", LENET, "--input", "1x36x36", "--format", "json")
    doc = json.loads(result.output)
    assert doc["input"] == [1, 36, 36]
    assert next(r for r in doc["layers"] if r["kind"] == "flatten")["output"] == [576]


def test_params_formats():
    assert json.loads(run("params", LENET, "--format", "json").output)["totals"]["params"] == 61706
    assert run("params", LENET, "--format", "markdown").output.startswith("## LeNet5")
    assert run("params", LENET, "--format", "csv").output.splitlines()[0].startswith("name,kind")
    table = run("params", LENET, "--ascii").output
    assert "linear1" in table and "61,706" in table


@pytest.mark.parametrize("command", [["--version"], ["check", LENET], ["params", LENET],
                                     ["params", LENET, "--format", "json"]])
def test_analysis_commands_never_import_torch(command):
    code = ("import sys; from archc.cli import main\n"
            f"try: main({command!r})\nexcept SystemExit: pass\n"
            "bad = [m for m in ('torch', 'numpy') if m in sys.modules]\n"
            "assert not bad, bad")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


# ---- build -----------------------------------------------------------------------------

def test_build_to_stdout_is_python():
    pytest.importorskip("torch")
    result = run("build", LENET, "-o", "-")
    assert result.exit_code == 0
    compile(result.output, "lenet5.py", "exec")  # valid Python; nothing is run
    assert "class LeNet5(nn.Module):" in result.output


def test_build_writes_file_and_never_clobbers_on_error(tmp_path):
    pytest.importorskip("torch")
    out = tmp_path / "model.py"
    result = run("build", LENET, "-o", str(out))
    assert result.exit_code == 0 and "verified against the analyzer" in result.output
    first = out.read_text()
    assert "class LeNet5" in first
    bad = tmp_path / "bad.arch"
    bad.write_text("network LeNet5 { input 1x32x32 conv(6, k=50) }\n")
    assert run("build", str(bad), "-o", str(out)).exit_code == 1
    assert out.read_text() == first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.arch", "model.py"]


def test_build_without_verify():
    result = run("build", LENET, "-o", "-", "--no-verify")
    assert result.exit_code == 0 and "class LeNet5" in result.output


def test_max_layers_is_configurable(tmp_path):
    spec = tmp_path / "many.arch"
    spec.write_text("network Many { input 3x8x8 relu * 50 }\n")
    refused = run("check", str(spec), "--max-layers", "10")
    assert refused.exit_code == 1 and "error[E301]" in refused.output
    assert run("check", str(spec), "--max-layers", "50").exit_code == 0
    assert run("check", str(spec), "--max-layers", "0").exit_code == 2


def test_caret_lands_on_the_right_line_after_form_feeds(tmp_path):
    spec = tmp_path / "ff.arch"
    spec.write_text("# a form feed \f and a line separator \u2028 in a comment\n"
                    "network F { input 1x8x8\n  conv(4, k=9)\n}\n", encoding="utf-8")
    lines = run("check", str(spec)).output.splitlines()
    assert lines[0].startswith(f"{spec}:3:3: error[E201]")
    assert lines[2] == "3 |   conv(4, k=9)"


@pytest.mark.parametrize("body", [
    "-> x global_avgpool flatten mul(x)",  # issue 10: a flat gate against a 4x4x4 map
    "-> x side s { conv(4, k=1) -> y } concat(y)",  # issue 10: a side head's tensor
])
def test_wrong_answers_of_issue_10_are_located_errors(tmp_path, body):
    pytest.importorskip("torch")
    spec = tmp_path / "s.arch"
    spec.write_text(f"network S {{\n    input {'4x4x4' if 'mul' in body else '3x8x8'}\n"
                    f"    {body}\n}}\n")
    for command in (["check"], ["build", "-o", str(tmp_path / "s.py")]):
        result = run(*command, str(spec))
        assert result.exit_code == 1, result.output
        assert f"{spec}:3:" in result.output and "Traceback" not in result.output
