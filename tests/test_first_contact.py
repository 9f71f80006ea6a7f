"""What a newcomer hits in the first hour (issue 8): no tracebacks, messages that name the real
cause, options that say what they do, a package that installs what this repository builds."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

from archc.cli import main
from tests.conftest import ROOT

LENET = str(ROOT / "examples/lenet5.arch")


def run(*args: str, stdin: str | None = None):
    return CliRunner().invoke(main, list(args), input=stdin)


def write(tmp_path, text: str, name: str = "spec.arch") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


# ---- the command line -------------------------------------------------------------------------

def test_python_dash_m_archc_runs_the_command_line() -> None:
    result = subprocess.run([sys.executable, "-m", "archc", "check", LENET], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("LeNet5: 1x32x32 -> 10 | 61,706 params")


@pytest.fixture
def without_torch(monkeypatch):
    """As after `pip install -e .`: importing torch fails."""
    monkeypatch.setitem(sys.modules, "torch", None)


def test_verify_without_torch_is_a_usage_error(without_torch, tmp_path) -> None:
    out = tmp_path / "m.py"
    result = run("build", LENET, "-o", str(out), "--verify")
    assert result.exit_code == 2
    assert "--verify needs PyTorch" in result.output and "pip install torch" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert not out.exists()


def test_build_without_torch_says_why_it_is_not_verified(without_torch, tmp_path) -> None:
    out = tmp_path / "m.py"
    result = run("build", LENET, "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "not verified: PyTorch is not installed" in result.output
    assert "--no-verify" not in result.output
    assert "class LeNet5(nn.Module)" in out.read_text()


def test_no_verify_says_so(tmp_path) -> None:
    pytest.importorskip("torch")
    result = run("build", LENET, "-o", str(tmp_path / "m.py"), "--no-verify")
    assert result.exit_code == 0 and "not verified (--no-verify)" in result.output


def test_strict_check_with_a_warning_prints_no_success_line(tmp_path) -> None:
    spec = write(tmp_path, "network W { input 1x8x8 conv(4, k=3, s=2) }\n")  # W101
    result = CliRunner().invoke(main, ["check", spec, "--strict"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "warning[W101]" in result.stderr and "1 warning (--strict)" in result.stderr
    relaxed = CliRunner().invoke(main, ["check", spec])
    assert relaxed.exit_code == 0 and relaxed.stdout.startswith("W: 1x8x8 -> 4x3x3")


def test_every_option_has_help_text() -> None:
    """Each option of each command says what it does (a bare `--batch` did not)."""
    missing = []
    for name, command in main.commands.items():
        for param in command.params:
            if param.param_type_name == "option" and not param.help and not param.hidden:
                missing.append(f"{name} {param.opts[0]}")
    assert missing == []


def test_layer_cap_in_help_is_the_compilers_default() -> None:
    from archc.expand import Limits

    default = f"{Limits().max_layers:,}"
    for command in ("lint", "check", "params", "build"):
        text = " ".join(run(command, "--help").output.split())
        assert f"default is {default}" in text or f"default {default}" in text, command


def test_activation_budget_is_named_in_mib(tmp_path) -> None:
    spec = write(tmp_path, "network A { input 64x128x128 conv(64, k=3, p=1) }\n")
    # the conv's output: 64*128*128 float32 values * 4 bytes = 4 MiB (2**22 bytes)
    for option in ("--max-activation-mib", "--max-activation-mb"):  # the old name still works
        result = run("lint", "--isolated", option, "3", spec)
        assert result.exit_code == 1 and "4 MiB of activations" in result.output, option
        assert run("lint", "--isolated", option, "4", spec).exit_code == 0
    assert "--max-activation-mib" in run("lint", "--help").output


def test_activation_budget_key_in_pyproject(tmp_path) -> None:
    spec = write(tmp_path, "network A { input 64x128x128 conv(64, k=3, p=1) }\n")
    (tmp_path / "pyproject.toml").write_text('[tool.archc]\nmax-activation-mib = 3\n')
    result = run("lint", spec)
    assert result.exit_code == 1 and "(max-activation-mib)" in result.output


@pytest.mark.parametrize("command", ["lint", "fmt"])
def test_a_folder_without_specs_is_a_usage_error(tmp_path, command) -> None:
    (tmp_path / "notes.txt").write_text("no specs here")
    result = run(command, str(tmp_path))
    assert result.exit_code == 2 and f"no *.arch files in {tmp_path}" in result.output
    # ... also next to a folder that has specs: the typo still fails
    assert run(command, str(ROOT / "specs"), str(tmp_path)).exit_code == 2


# ---- packaging ------------------------------------------------------------------------------

def _pyproject() -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_distribution_name_is_not_the_unrelated_archc() -> None:
    project = _pyproject()["project"]
    assert project["name"] != "archc"  # taken on PyPI by a transformer compiler
    assert project["scripts"] == {"archc": "archc.cli:main"}


def test_workflow_installs_this_repository() -> None:
    import yaml

    workflow = yaml.safe_load((ROOT / "examples/github-workflow.yml").read_text())
    name = _pyproject()["project"]["name"]
    installs = [s["run"] for job in workflow["jobs"].values() for s in job["steps"]
                if "pip install" in s.get("run", "")]
    assert installs, "the workflow installs nothing"
    for command in installs:
        target = command.split("pip install", 1)[1].split()[-1]
        assert target == "." or target.startswith(name), command


def test_test_extra_has_what_the_tests_import() -> None:
    extra = " ".join(_pyproject()["project"]["optional-dependencies"]["test"]).lower()
    assert "pyyaml" in extra  # tests of .pre-commit-hooks.yaml and the workflow read YAML
