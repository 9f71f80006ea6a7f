"""The README stays true: its tables list every layer kind and code, its examples run."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from archc.cli import main
from archc.errors import DESCRIPTIONS
from archc.layers import REGISTRY
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_layer_kind_is_documented():
    for name, kind in REGISTRY.items():
        if not kind.internal:
            assert f"| `{name}` | {kind.doc} |" in README, name


def test_every_code_is_documented():
    for code, text in DESCRIPTIONS.items():
        assert f"| {code.value} | {text} |" in README, code.value


# Every `$ archc check SPEC` block in the README with the output shown under it, up to the
# closing fence. A spec the repository does not ship cannot be checked: that is a failure.
CHECK_BLOCKS = re.findall(r"^\$ archc check (\S+\.arch)\n(.*?)^```", README,
                          re.MULTILINE | re.DOTALL)


def test_readme_shows_check_examples():
    assert len(CHECK_BLOCKS) >= 3


@pytest.mark.parametrize(("spec", "expected"), CHECK_BLOCKS, ids=[b[0] for b in CHECK_BLOCKS])
def test_readme_check_lines_are_real(spec, expected, monkeypatch):
    assert (ROOT / spec).is_file(), f"the README runs `archc check {spec}`, which is not shipped"
    monkeypatch.chdir(ROOT)  # the output names the path as the reader types it
    result = CliRunner().invoke(main, ["check", spec], catch_exceptions=False)
    assert result.output.strip() == expected.strip()


def test_readme_params_example_is_real():
    block = README.split("$ archc params examples/bottleneck.arch --network Bottleneck\n")[1]
    block = block.split("```")[0]
    result = CliRunner().invoke(main, ["params", str(ROOT / "examples/bottleneck.arch"),
                                       "--network", "Bottleneck"])
    got = [line.rstrip() for line in result.output.splitlines() if line.strip()]
    want = [line.rstrip() for line in block.splitlines() if line.strip()]
    assert got[1:] == want[1:]  # the title line carries the path


def test_two_setup_commands_are_what_ci_runs():
    commands = re.findall(r"^(pip install .+|python3 -m pytest)$", README, re.MULTILINE)
    assert commands[:2] == ['pip install torch==2.14.1 torchvision==0.29.1 && pip install -e '
                            '".[test]" && archc params examples/resnet.arch', "python3 -m pytest"]
    ci = (ROOT / ".ci/run").read_text(encoding="utf-8")
    assert 'pip install -q "torch==2.14.1" "torchvision==0.29.1"' in ci
    assert 'pip install -q -e ".[test]"' in ci
    extras = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'torch = ["torch==2.14.1", "torchvision==0.29.1"]' in extras  # the same pins
    assert "\npython3 -m pytest\n" in ci
