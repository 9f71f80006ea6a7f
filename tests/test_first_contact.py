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


# ---- did-you-mean, as PyTorch users type -----------------------------------------------------

def diagnostics(text: str):
    import archc

    with pytest.raises(archc.ArchcError) as caught:
        archc.loads(text, "t.arch")
    return caught.value.diagnostics


def hint_for(line: str, blocks: str = "") -> str:
    found = diagnostics(f"{blocks}\nnetwork N {{\n input 3x32x32\n {line}\n}}\n")
    assert len(found) == 1, found
    return found[0].hint


@pytest.mark.parametrize(("written", "meant"), [
    ("ReLU", "relu"), ("Relu", "relu"), ("RELU6", "relu6"), ("Conv2d(8, k=3)", "conv"),
    ("conv2d(8, k=3)", "conv"), ("MaxPool2d(2)", "maxpool"), ("BatchNorm2d", "bn"),
    ("batchnorm", "bn"), ("batch_norm", "bn"), ("AdaptiveAvgPool2d(1)", "adaptive_avgpool"),
    ("Adaptive_AvgPool(1)", "adaptive_avgpool"), ("LeakyReLU", "leaky_relu"),
    ("ConvTranspose2d(8, k=2)", "conv_t"),
])
def test_layer_names_as_pytorch_users_type_them(written: str, meant: str) -> None:
    hint = hint_for(written)
    assert hint.startswith(f"did you mean `{meant}`?"), hint
    assert " or " not in hint.split("?")[0]  # the one answer, not a list led by a neighbour


@pytest.mark.parametrize(("written", "meant"), [
    ("conv(8, k=3, padding=1)", "p"), ("conv(8, k=3, stride=2)", "s"),
    ("conv(8, kernel_size=3)", "k"), ("conv(out_channels=8, k=3)", "out"),
    ("maxpool(2, ceil_mode=true)", "ceil"), ("upsample(scale_factor=2)", "scale"),
    ("leaky_relu(negative_slope=0.1)", "slope"), ("conv(8, k=3, Dilation=2)", "d"),
])
def test_argument_names_as_pytorch_users_type_them(written: str, meant: str) -> None:
    assert hint_for(written).startswith(f"did you mean `{meant}`?")


@pytest.mark.parametrize(("value", "meant"), [("False", "false"), ("True", "true"),
                                              ("FALSE", "false")])
def test_python_booleans_suggest_archc_ones(value: str, meant: str) -> None:
    found = diagnostics(f"network N {{ input 3x8x8 conv(8, k=3, bias={value}) }}")
    assert [d.code.value for d in found] == ["E105"]
    assert found[0].hint == f"did you mean `{meant}`?"
    assert "block" not in found[0].hint


def test_symbols_are_suggested_from_what_the_argument_takes() -> None:
    [found] = diagnostics("network N { input 3x8x8 conv(8, k=3, p=Same) }")
    assert found.hint == "did you mean `same`?"


def test_messages_never_use_pydanticss_wording() -> None:
    text = ("network N { input 3x8x8 conv(0, k=3) conv(8, k=3, p=1.5) conv(8, k=3, bias=2)\n"
            " conv(8, k=3, init=he) dropout(2.0) conv(8, k=(3, 1.5)) }")
    for diag in diagnostics(text):
        assert "should be" not in diag.message.lower() and "input" not in diag.message, diag
        assert "valid" not in diag.message.replace("`valid`", ""), diag


def test_unknown_layer_lists_layer_kinds_only_once_each() -> None:
    hint = hint_for("qqqqqqqq", blocks="block Stem() { relu }")
    kinds, _, blocks = hint.removeprefix("layer kinds: ").partition("; blocks: ")
    listed = kinds.split(", ")
    assert len(listed) == len(set(listed))
    for keyword in ("block", "branch", "defaults", "input", "network", "residual", "shortcut",
                    "side"):
        assert keyword not in listed
    assert "concat" in listed and "conv" in listed and blocks == "Stem"


def test_keywords_are_still_suggested_for_typos() -> None:
    assert hint_for("resdiual { relu }").startswith("did you mean `residual`?")


def test_undefined_name_in_a_parameterless_block_says_so() -> None:
    [found] = diagnostics("block B() { conv(width, k=3) }\n"
                          "network N { input 3x8x8 B }")
    assert found.code.value == "E105"
    assert "only blocks have parameters" not in found.hint
    assert "block `B` has no parameters" in found.hint


def test_undefined_name_in_a_network_says_networks_have_no_parameters() -> None:
    [found] = diagnostics("network N { input 3x8x8 conv(width, k=3) }")
    assert "a network has no parameters" in found.hint


def test_alias_table_names_real_pytorch_modules_and_arguments() -> None:
    """Independent check: every PyTorch name in the table exists in torch.nn, and the layer
    it maps to is emitted as that module (the registry's own codegen says so)."""
    torch = pytest.importorskip("torch")
    import inspect

    from archc.layers import REGISTRY
    from archc.layers.aliases import ARGUMENT_ALIASES, KIND_ALIASES

    for name, kind in KIND_ALIASES.items():
        assert kind in REGISTRY, name
        assert hasattr(torch.nn, name) or hasattr(torch, name), name
    keywords = set()
    for name in dir(torch.nn):
        cls = getattr(torch.nn, name)
        if isinstance(cls, type) and issubclass(cls, torch.nn.Module):
            keywords |= set(inspect.signature(cls).parameters)
    fields = {f for kind in REGISTRY.values() for f in kind.Args.model_fields}
    for name, target in ARGUMENT_ALIASES.items():
        assert name in keywords, name
        assert target in fields, target


def test_readme_documents_the_alias_table() -> None:
    from archc.layers.aliases import markdown_table

    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Coming from PyTorch", 1)[1].split("\n## ", 1)[0]
    assert markdown_table() in section
    assert "| `bn` | `BatchNorm2d`, `BatchNorm1d` |" in section
    assert "| `p=` | `padding=` |" in section


# ---- syntax errors: the real cause, once --------------------------------------------------------

def syntax_errors(text: str):
    from archc.errors import ArchcError
    from archc.parse import parse_text

    with pytest.raises(ArchcError) as caught:
        parse_text(text, "t.arch")
    return caught.value.diagnostics


def test_missing_parenthesis_is_one_error_not_a_cascade() -> None:
    text = "network N {\n  input 3x32x32\n  conv(16, k=3, p=1 relu\n  flatten\n  linear(10)\n}\n"
    [diag] = syntax_errors(text)
    assert (diag.code.value, diag.span.line, diag.span.col) == ("E001", 3, 21)
    assert "')'" in diag.message
    assert [(n, s.line, s.col) for n, s in diag.notes] == [("unclosed '(' opened", 3, 7)]


def test_missing_brace_after_a_block_names_the_block_not_the_input_line() -> None:
    text = ("block B(c) {\n  conv(c, k=3, p=1) relu\n\nnetwork N {\n  input 3x32x32\n"
            "  B(16)\n  flatten\n  linear(10)\n}\n")
    [diag] = syntax_errors(text)
    assert (diag.span.line, diag.span.col) == (1, 12)
    assert diag.message == "'{' is not closed before `network` on line 4; expected '}'"
    assert "3x32x32" not in diag.message and "`block B(c) {`" in diag.hint


def test_end_of_file_says_which_brace_is_open() -> None:
    text = "network N {\n  input 3x32x32\n  conv(16, k=3)\n  residual {\n    relu\n"
    [diag] = syntax_errors(text)
    assert diag.code.value == "E002"
    assert "the '{' of `residual {` on line 4 is not closed" in diag.message
    assert [(s.line, s.col) for _, s in diag.notes] == [(4, 12)]


def test_errors_before_an_unclosed_bracket_are_still_reported() -> None:
    text = "network A {\n  input 3x8x8\n  relu $\n}\nnetwork B {\n  input 3x8x8\n  conv(4, k=3\n}\n"
    found = [(d.code.value, d.span.line) for d in syntax_errors(text)]
    assert found == [("E003", 3), ("E001", 8)]


def test_balanced_files_keep_one_error_per_broken_line() -> None:
    text = "network N {\n  input 3x8x8\n  conv(6 k=5) relu\n  maxpool(2))\n  linear(10)\n}\n"
    assert [d.span.line for d in syntax_errors(text)] == [3, 4]


# ---- every independent error at once, and no knock-on errors ------------------------------------

def codes(text: str) -> list[tuple[str, int]]:
    return sorted((d.code.value, d.span.line) for d in diagnostics(text))


def test_argument_errors_after_an_earlier_error_are_reported_in_the_same_run() -> None:
    text = ("network N {\n input 3x32x32\n conv(16, k=3, p=1, strid=1)\n conv(0, k=3)\n"
            " conv(8, k=0)\n maxpool(0)\n conv(8, k=3, s=2, p=same)\n convv(8, k=3)\n}\n")
    assert codes(text) == [("E101", 8), ("E102", 3), ("E104", 4), ("E104", 5), ("E104", 6),
                           ("E205", 7)]


def test_pytorch_argument_names_are_checked_as_meant() -> None:
    """`stride=2` is reported, and the layers after it are checked with s=2: the residual
    below only fits at 16x16, so a wrong guess (or none) would hide or invent an E203."""
    text = ("network N {\n input 3x32x32\n conv(16, k=3, p=1, stride=2)\n"
            " residual { conv(16, k=3, p=1) }\n conv(8, k=17)\n}\n")
    assert codes(text) == [("E102", 3), ("E201", 5)]  # 16 < 17: kernel too large at 16x16


def test_a_rejected_label_does_not_drop_its_layer() -> None:
    # (labels inside a container are allowed since issue 10: the rejected one is a duplicate)
    text = ("network N {\n input 3x32x32\n conv(16, k=3, p=1)\n x: relu\n residual {\n"
            "  conv(32, k=3, p=1)\n } shortcut {\n  x: bn x: conv(32, k=1)\n }\n flatten"
            " linear(10)\n}\n")
    assert codes(text) == [("E106", 8)]  # no E203: the projection still counts


def test_a_batch_dimension_gets_a_hint_and_no_knock_on_error() -> None:
    [diag] = diagnostics("network N {\n input 1x3x224x224\n conv(16, k=3)\n}\n")
    assert diag.code.value == "E004"
    assert diag.hint == "shapes are per sample, without the batch: write `input 3x224x224`"


@pytest.mark.parametrize(("dims", "warned"), [("32x32x3", True), ("224x224x3", True),
                                              ("28x28x1", True), ("3x32x32", False),
                                              ("64x8x3", False), ("1x100", False)])
def test_channels_last_input_is_a_warning(dims: str, warned: bool) -> None:
    import archc

    model = archc.loads(f"network N {{ input {dims} relu }}")
    found = [(d.code.value, d.span.line) for d in model.analysis.warnings]
    assert found == ([("W102", 1)] if warned else [])
    if warned:
        c_last = dims.split("x")[-1]
        assert f"`input {c_last}x" in model.analysis.warnings[0].hint


def test_channels_last_warning_comes_with_the_errors_it_explains() -> None:
    found = diagnostics("network N {\n input 32x32x3\n conv(16, k=5)\n}\n")
    assert [d.code.value for d in found] == ["E201", "W102"]


# ---- several networks -----------------------------------------------------------------------

TWO = "# two networks\n\nnetwork Small { input 3x8x8 relu }\nnetwork Big { input 3x16x16 relu }\n"


def test_default_network_is_the_last_and_the_cli_says_so(tmp_path) -> None:
    spec = write(tmp_path, TWO)
    result = CliRunner().invoke(main, ["check", spec])
    assert result.exit_code == 0 and result.stdout.startswith("Big: 3x16x16")
    assert "defines 2 networks (Small, Big); using the last, Big" in result.stderr
    one = write(tmp_path, "network Only { input 3x8x8 relu }\n", "one.arch")
    assert CliRunner().invoke(main, ["check", one]).stderr == ""


def test_network_option_ignores_case_when_one_name_matches(tmp_path) -> None:
    spec = write(tmp_path, TWO)
    result = CliRunner().invoke(main, ["check", spec, "--network", "small"])
    assert result.exit_code == 0 and result.stdout.startswith("Small: 3x8x8")


def test_unknown_network_lists_the_networks_at_the_first_network(tmp_path) -> None:
    import archc

    with pytest.raises(archc.ArchcError) as caught:
        archc.loads(TWO, "t.arch", network="Medium")
    [diag] = caught.value.diagnostics
    assert diag.code.value == "E110"
    assert "`Small`, `Big`" in diag.message
    assert (diag.span.line, diag.span.col) == (3, 1)  # not the comment on line 1


# ---- generated code reads as written -------------------------------------------------------------

NESTED = """block Inner(c) { conv(c, k=3, p=1) relu }
block Outer(c) {
  Inner(c)
  relu6
  relu6
}
network SqueezeNet1_0 { input 3x32x32 Outer(8) Outer(16) }
"""


@pytest.mark.parametrize(("name", "expected"), [
    ("ResNeXt50_32x4d", "ResNeXt50_32x4d"), ("SqueezeNet1_0", "SqueezeNet1_0"),
    ("wide_resnet50_2", "WideResnet50_2"), ("my_net", "MyNet"), ("LeNet5", "LeNet5"),
])
def test_class_names_keep_underscores_between_numbers(name: str, expected: str) -> None:
    from archc.codegen.names import class_name

    assert class_name(name) == expected


def test_layer_kinds_ending_in_a_digit_are_numbered_after_an_underscore() -> None:
    import archc

    names = [row.name for row in archc.loads(NESTED).layers]
    assert "Outer1.relu6_1" in names and "Outer2.relu6_2" in names
    assert not any(n.endswith(("relu61", "relu62")) for n in names)
    blocks = archc.loads("block stage2() { relu }\nnetwork N { input 4 stage2 stage2 }")
    assert [row.name for row in blocks.layers] == ["stage2_1.relu1", "stage2_2.relu1"]


def test_no_generated_comment_is_empty() -> None:
    import re

    import archc
    from archc.codegen.pytorch import generate

    source = generate(archc.loads(NESTED), "nested.arch").source
    assert "class SqueezeNet1_0(nn.Module)" in source
    assert not re.search(r"# line \d+: *$", source, re.MULTILINE)
    # the nested call's output in each instance of Outer: 8 and 16 channels
    assert re.search(r"self\.Inner1 = Inner\(.*\)  # line 3: 8x32x32, 16x32x32$", source,
                     re.MULTILINE)


# ---- the params table never cuts a number ---------------------------------------------------

@pytest.mark.parametrize("width", [70, 80])
@pytest.mark.parametrize("spec", ["specs/resnet50.arch", "specs/googlenet_aux.arch",
                                  "examples/bottleneck.arch", "specs/vgg16.arch"])
def test_table_numbers_are_never_cut(spec: str, width: int) -> None:
    import archc
    from archc.insight.summary import params_table

    model = archc.load(ROOT / spec)
    analysis = model.analysis
    text = params_table(model, width=width)
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= width
    tokens = set(text.split())
    for row in analysis.layers:  # every number and shape is printed whole, as its own token
        for cell in (f"{row.params:,}", f"{row.macs:,}", "x".join(map(str, row.output))):
            assert cell in tokens, (row.name, cell)
    for b in analysis.bottlenecks:
        assert f"{b.direct_macs:,}" in tokens and f"{b.bottleneck_macs:,}" in tokens


# ---- the README tells the truth ------------------------------------------------------------------

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_json_example_is_the_real_output() -> None:
    import re
    import shlex

    match = re.search(r"^\$ echo (.+) \| archc params - --format json\n(.*?)^```", README,
                      re.MULTILINE | re.DOTALL)
    assert match, "the JSON example is not shown with its command"
    spec = shlex.split(match.group(1))[0]
    result = CliRunner().invoke(main, ["params", "-", "--format", "json"], input=spec + "\n")
    assert result.exit_code == 0
    assert result.stdout == match.group(2)


def test_readme_lists_the_lessons_lint_warns_about() -> None:
    import json
    import re

    result = CliRunner().invoke(main, ["lint", "--format", "json", str(ROOT / "examples")])
    found = {(d["code"], d["file"].replace(str(ROOT) + "/", ""))
             for d in json.loads(result.stdout)["diagnostics"]}
    section = README.split("The examples are lessons, not templates", 1)[1].split("\n\n`", 1)[0]
    listed = set()
    for bullet in section.split("\n- ")[1:]:
        code = bullet.split()[0]
        listed |= {(code, path) for path in re.findall(r"`(examples/[\w/]+\.arch)`", bullet)}
    assert found and listed == found


def test_readme_never_assumes_a_gpu() -> None:
    for line in README.splitlines():
        if ".cuda()" in line or "device='cuda'" in line or 'device="cuda"' in line:
            assert "is_available()" in line, line


def test_shell_completion_documented_is_what_click_serves() -> None:
    import os

    assert "_ARCHC_COMPLETE=bash_source archc" in README and "NO_COLOR" in README
    env = {**os.environ, "_ARCHC_COMPLETE": "bash_source"}
    result = subprocess.run([sys.executable, "-m", "archc"], env=env, capture_output=True,
                            text=True, timeout=60, cwd=ROOT)
    assert "_archc_completion()" in result.stdout


def test_no_color_turns_colour_off(monkeypatch) -> None:
    from archc.cli import use_color

    class Tty:
        def isatty(self) -> bool:
            return True

    assert use_color(Tty())
    monkeypatch.setenv("NO_COLOR", "")
    assert not use_color(Tty())


def test_nothing_cites_files_that_are_not_in_the_repository() -> None:
    for path in [ROOT / "README.md", *ROOT.glob("specs/*.arch"), *ROOT.glob("examples/*.arch")]:
        assert "reference-figures.md" not in path.read_text(encoding="utf-8"), path


def test_an_unclosed_bracket_in_a_huge_line_is_reported_briefly() -> None:
    text = "network N { input 3x8x8 " + "relu " * 20_000 + "conv(4, k=3 }"
    [diag] = syntax_errors(text)
    assert len(diag.hint) < 120 and diag.hint.startswith("add the missing ')' of `...")


@pytest.mark.parametrize("count", ["0", "-2", "1.5", "true"])
def test_a_rejected_repeat_does_not_vanish(count: str) -> None:
    """Dropping `conv(16, k=1) * 0` would leave the residual a 3-channel input: a knock-on
    E203 for a mistake that is only the count."""
    text = (f"network N {{\n input 3x8x8\n conv(16, k=1) * {count}\n"
            " residual { conv(16, k=3, p=1) }\n}\n")
    assert codes(text) == [("E104", 3)]
