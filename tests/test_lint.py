"""`archc lint`: one broken spec per rule (tests/lint_cases/, expectations in their `# expect:`
headers) checked in every output format, plus SARIF/JUnit structure, configuration, pragmas,
selection, budgets, parallel runs, docs, pre-commit hooks and the no-torch guarantee."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from xml.etree import ElementTree as ET

import jsonschema
import pytest
from click.testing import CliRunner

from archc.cli import main, use_color
from archc.config import ConfigError, LintConfig, glob_match, parse_quantity, parse_share
from archc.errors import Code
from archc.lint import Suppressions, lint_files, lint_text, rules
from archc.lint.output import FORMATS

ROOT = Path(__file__).resolve().parent.parent
CASES = sorted((ROOT / "tests" / "lint_cases").glob("*.arch"))
# Codes `archc lint` can never report, so no case file can show them.
NO_CASE = {
    "E401": "code generation only (`archc build`)",
    "E402": "code generation only (`archc build`)",
}


def _invoke(*args: str, stdin: str | None = None, env: dict | None = None):
    return CliRunner().invoke(main, ["lint", *args], input=stdin, env=env)


# ---- the cases, in every format --------------------------------------------------------------

def _header(path: Path) -> tuple[set[tuple[str, int, int]], list[str]]:
    text = path.read_bytes().decode("utf-8", errors="replace")
    expected = set()
    for code, line, col in re.findall(r"^# expect: (\w+) (\d+):(\d+)$", text, re.MULTILINE):
        expected.add((code, int(line), int(col)))
    args = re.findall(r"^# args: (.*)$", text, re.MULTILINE)
    return expected, shlex.split(args[0]) if args else []


_TEXT = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): "
                   r"(?:error|warning)\[(?P<code>\w+)\]", re.MULTILINE)
_GITHUB = re.compile(r"^::(?:error|warning) file=[^,]*,line=(?P<line>\d+),col=(?P<col>\d+),"
                     r".*title=(?P<code>\w+)::", re.MULTILINE)


def _found(fmt: str, output: str) -> set[tuple[str, int, int]]:
    if fmt in ("text", "github"):
        pattern = _TEXT if fmt == "text" else _GITHUB
        return {(m["code"], int(m["line"]), int(m["col"])) for m in pattern.finditer(output)}
    if fmt == "json":
        return {(d["code"], d["line"], d["column"]) for d in json.loads(output)["diagnostics"]}
    if fmt == "sarif":
        results = json.loads(output)["runs"][0]["results"]
        return {(r["ruleId"], r["locations"][0]["physicalLocation"]["region"]["startLine"],
                 r["locations"][0]["physicalLocation"]["region"]["startColumn"])
                for r in results}
    suite = ET.fromstring(output).find("testsuite")
    texts = [el.text or "" for el in suite.iter() if el.tag in ("failure", "system-out")]
    return _found("text", "\n".join(texts))


def test_every_rule_has_a_case() -> None:
    cased = {case.name.split("_", 1)[0] for case in CASES}
    missing = set(rules()) - cased - set(NO_CASE)
    assert not missing, f"add tests/lint_cases/<CODE>_<name>.arch for {sorted(missing)}"


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_case(case: Path, fmt: str) -> None:
    expected, args = _header(case)
    assert expected, f"{case.name} has no `# expect:` header"
    assert {code for code, _, _ in expected} >= {case.name.split("_", 1)[0]}
    result = _invoke(*args, "--format", fmt, str(case))
    assert _found(fmt, result.stdout) == expected, result.stdout
    has_error = any(code.startswith("E") for code, _, _ in expected)
    assert result.exit_code == (1 if has_error else 0), result.output


@pytest.mark.parametrize("case", [c for c in CASES if c.name.startswith(("L", "W"))],
                         ids=lambda p: p.stem)
def test_warnings_fail_only_with_strict(case: Path) -> None:
    _, args = _header(case)
    assert _invoke(*args, str(case)).exit_code == 0
    assert _invoke(*args, "--strict", str(case)).exit_code == 1


def test_lint_reports_compiler_errors_as_check_does() -> None:
    case = ROOT / "tests" / "lint_cases" / "E201_kernel_too_large.arch"
    check = CliRunner().invoke(main, ["check", str(case)])
    lint = _invoke(str(case))
    rendered = check.output.rsplit("\n", 2)[0].strip()  # check ends with its own summary line
    assert rendered and rendered in lint.stdout


# ---- SARIF and JUnit parsed back -------------------------------------------------------------

# The parts of the SARIF 2.1.0 schema that code scanning needs, with their required fields.
_MESSAGE = {"type": "object", "required": ["text"],
            "properties": {"text": {"type": "string", "minLength": 1}}}
_LEVEL = {"enum": ["none", "note", "warning", "error"]}
_REGION = {"type": "object", "required": ["startLine", "startColumn"],
           "properties": {"startLine": {"type": "integer", "minimum": 1},
                          "startColumn": {"type": "integer", "minimum": 1},
                          "endLine": {"type": "integer", "minimum": 1},
                          "endColumn": {"type": "integer", "minimum": 1}}}
_LOCATION = {"type": "object", "required": ["physicalLocation"], "properties": {
    "physicalLocation": {"type": "object", "required": ["artifactLocation", "region"],
                         "properties": {
                             "artifactLocation": {"type": "object", "required": ["uri"],
                                                  "properties": {"uri": {"type": "string"}}},
                             "region": _REGION}}}}
_RULE = {"type": "object", "required": ["id", "shortDescription", "help"], "properties": {
    "id": {"type": "string"}, "shortDescription": _MESSAGE, "fullDescription": _MESSAGE,
    "help": _MESSAGE,
    "defaultConfiguration": {"type": "object", "properties": {"level": _LEVEL}}}}
_RESULT = {"type": "object", "required": ["ruleId", "level", "message", "locations"],
           "properties": {"ruleId": {"type": "string"},
                          "ruleIndex": {"type": "integer", "minimum": 0},
                          "level": _LEVEL, "message": _MESSAGE,
                          "locations": {"type": "array", "minItems": 1, "items": _LOCATION}}}
_DRIVER = {"type": "object", "required": ["name", "rules"],
           "properties": {"name": {"type": "string"}, "version": {"type": "string"},
                          "rules": {"type": "array", "items": _RULE}}}
_RUN = {"type": "object", "required": ["tool", "results"], "properties": {
    "tool": {"type": "object", "required": ["driver"], "properties": {"driver": _DRIVER}},
    "results": {"type": "array", "items": _RESULT}}}
SARIF_SCHEMA = {"type": "object", "required": ["version", "runs"], "properties": {
    "version": {"const": "2.1.0"}, "$schema": {"type": "string"},
    "runs": {"type": "array", "minItems": 1, "items": _RUN}}}


def test_sarif_is_valid_and_complete() -> None:
    cases = [str(c) for c in CASES if not c.name.startswith("E5")]
    result = _invoke("--format", "sarif", "--max-layers", "10k", *cases)
    sarif = json.loads(result.stdout)
    jsonschema.validate(sarif, SARIF_SCHEMA)
    run = sarif["runs"][0]
    rule_ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert rule_ids == sorted(rules())
    for res in run["results"]:
        assert rule_ids[res["ruleIndex"]] == res["ruleId"]
        assert res["level"] == ("error" if res["ruleId"].startswith("E") else "warning")
        uri = res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        assert uri.endswith(".arch") and not uri.startswith("/")
    assert {r["ruleId"] for r in run["results"]} >= {"E201", "L001", "W101"}


def test_junit_parses_back() -> None:
    clean = ROOT / "examples" / "lenet5.arch"
    broken = ROOT / "tests" / "lint_cases" / "E201_kernel_too_large.arch"
    warned = ROOT / "tests" / "lint_cases" / "L009_repeated_activation.arch"
    result = _invoke("--format", "junit", "--ignore", "L007", str(clean), str(broken),
                     str(warned))
    assert result.exit_code == 1
    root = ET.fromstring(result.stdout)
    suites = root.findall("testsuite")
    assert root.tag == "testsuites" and len(suites) == 1
    suite = suites[0]
    cases = {case.get("name"): case for case in suite.findall("testcase")}
    assert list(cases) == [str(clean), str(broken), str(warned)]
    assert suite.get("tests") == "3" and suite.get("failures") == "1"
    assert cases[str(clean)].find("failure") is None
    failure = cases[str(broken)].find("failure")
    assert failure is not None and "E201" in failure.text and failure.get("message")
    assert cases[str(warned)].find("failure") is None
    assert "L009" in cases[str(warned)].find("system-out").text
    strict = ET.fromstring(_invoke("--format", "junit", "--strict", str(warned)).stdout)
    assert strict.find("testsuite/testcase/failure") is not None


def test_github_escapes_newlines_and_separators(tmp_path: Path) -> None:
    spec = tmp_path / "odd,name.arch"
    spec.write_text("network N {\n    input 3x8x8\n    relu relu\n}\n")
    out = _invoke("--format", "github", str(spec)).stdout
    line = out.splitlines()[0]
    assert line.startswith("::warning file=") and "odd%2Cname.arch" in line
    assert "\n" not in line and "%0Ahint: " in line


def test_json_summary() -> None:
    case = ROOT / "tests" / "lint_cases" / "E004_bad_dims.arch"  # one error
    payload = json.loads(_invoke("--format", "json", str(case)).stdout)
    assert payload["summary"] == {"files": 1, "errors": 1, "warnings": 0}
    assert payload["diagnostics"][0]["severity"] == "error"


def test_text_has_summary_and_no_colour_when_not_a_tty() -> None:
    case = ROOT / "tests" / "lint_cases" / "L009_repeated_activation.arch"
    out = _invoke(str(case)).stdout
    assert "\x1b[" not in out
    assert out.rstrip().endswith("1 file checked: 0 errors, 1 warning (in 1 file)")
    assert "  = hint:" in out and "^^^^" in out


def test_colour_only_on_a_tty_and_never_with_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    class Tty:
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    assert use_color(Tty())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not use_color(Tty())


# ---- many files, folders, stdin, exit codes --------------------------------------------------

def test_zoo_is_free_of_errors() -> None:
    result = _invoke("--format", "json", str(ROOT / "specs"), str(ROOT / "examples"))
    payload = json.loads(result.stdout)
    assert result.exit_code == 0 and payload["summary"]["errors"] == 0
    assert payload["summary"]["files"] >= 10


def test_folders_files_and_stdin_mixed(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.arch").write_text("network A {\n    input 3x8x8\n    relu\n}\n")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "x.arch").write_text("broken")
    (tmp_path / "notes.txt").write_text("not a spec")
    other = tmp_path / "other.spec"
    other.write_text("network B {\n    input 3x8x8\n    relu relu\n}\n")
    result = _invoke("--format", "json", str(tmp_path), str(other), "-",
                     stdin="network C { input 3x8x8 conv(4, k=9) }\n")
    payload = json.loads(result.stdout)
    files = [d["file"] for d in payload["diagnostics"]]
    assert payload["summary"]["files"] == 3
    assert files == [str(other), "<stdin>"]
    assert result.exit_code == 1


def test_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    result = _invoke(str(tmp_path / "nope"))
    assert result.exit_code == 2 and "no such file" in result.output


@pytest.mark.parametrize("args", [["--max-params", "lots"], ["--select", "Z9"],
                                  ["--format", "xml"], ["--fc"]])
def test_bad_options_are_usage_errors(args: list[str]) -> None:
    assert _invoke(*args, str(ROOT / "examples")).exit_code == 2


def test_all_problems_of_all_files_in_one_run(tmp_path: Path) -> None:
    for case in CASES[:6]:
        shutil.copy(case, tmp_path / case.name)
    payload = json.loads(_invoke("--format", "json", "--max-layers", "10k", str(tmp_path)).stdout)
    assert len({d["file"] for d in payload["diagnostics"]}) == 6


def test_parallel_and_serial_agree(tmp_path: Path) -> None:
    sources = [c for c in CASES if not c.name.startswith("E005")]
    for i in range(60):
        shutil.copy(sources[i % len(sources)], tmp_path / f"{i:03d}.arch")
    config = LintConfig(max_layers=10_000)
    tasks = [(str(p), config) for p in sorted(tmp_path.glob("*.arch"))]
    serial = lint_files(tasks, jobs=1)
    parallel = lint_files(tasks, jobs=2)
    assert [(r.path, r.diagnostics) for r in serial] == [(r.path, r.diagnostics) for r in parallel]


def test_multiple_networks_are_all_linted() -> None:
    text = ("network A {\n    input 3x8x8\n    relu relu\n}\n"
            "network B {\n    input 3x8x8\n    tanh tanh\n}\n")
    assert [(d.code, d.span.line) for d in lint_text(text)] == [
        (Code.REPEATED_ACTIVATION, 3), (Code.REPEATED_ACTIVATION, 7)]


def test_findings_inside_blocks_are_reported_once() -> None:
    text = textwrap.dedent("""\
        block b(c) {
            conv(c, k=2, s=1) relu relu
        }
        network N {
            input 3x16x16
            b(4) b(4) b(4)
        }
        """)
    codes = [d.code.value for d in lint_text(text)]
    assert codes.count("L001") == 1 and codes.count("L009") == 1


# ---- rule logic beyond the cases -------------------------------------------------------------

def _codes(text: str, **config) -> list[str]:
    return [d.code.value for d in lint_text(text, config=LintConfig(**config))]


def _net(body: str, inp: str = "3x32x32") -> str:
    return f"network N {{\n    input {inp}\n    {body}\n}}\n"


@pytest.mark.parametrize("body", [
    "conv(16, k=4, s=4) relu",  # patch embedding
    "conv(16, k=4, s=2, p=1) relu",  # DCGAN-style downsampler: 32 -> 16
    "conv_t(16, k=4, s=2, p=1) relu",  # ... and upsampler: 32 -> 64
    "conv(16, k=(1, 3), p=(0, 1)) relu",
])
def test_even_kernel_that_tiles_is_fine(body: str) -> None:
    assert "L001" not in _codes(_net(body))


def test_even_kernel_per_axis() -> None:
    assert "L001" in _codes(_net("conv(16, k=(2, 3), p=(1, 1)) relu"))


def test_spatial_collapse_ignores_1x1_convs_and_heads() -> None:
    squeeze = _net("-> x global_avgpool conv(4, k=1) relu conv(16, k=1) sigmoid mul(x) "
                   "conv(16, k=3, p=1)", "16x8x8")
    assert "L006" not in _codes(squeeze)
    assert "L006" not in _codes(_net("conv(8, k=8) flatten linear(2)", "3x8x8"))


def test_spatial_collapse_on_one_axis() -> None:
    text = _net("conv(8, k=(8, 1)) conv(8, k=(1, 3), p=(0, 1)) conv(8, k=3, p=1)", "3x8x8")
    found = [d for d in lint_text(text) if d.code.value == "L006"]
    assert len(found) == 1 and found[0].span.col == 5 and found[0].notes


def test_fc_share_threshold_is_configurable() -> None:
    text = _net("conv(8, k=3, p=1) flatten linear(10)", "3x8x8")  # linear: 5,130 of 5,354
    assert "L007" in _codes(text)
    assert "L007" not in _codes(text, fc_param_share=0.99)


def test_channels_rule_is_off_by_default_and_skips_the_output() -> None:
    text = _net("conv(6, k=3) relu global_avgpool flatten linear(10)")
    assert "L005" not in _codes(text)
    hits = [d for d in lint_text(text, config=LintConfig(extend_select=("L005",)))
            if d.code.value == "L005"]
    assert [d.span.line for d in hits] == [3] and "conv1" in hits[0].message


def test_channels_rule_reads_the_last_axis_of_a_channels_last_map() -> None:
    text = _net("permute(0, 2, 3, 1) linear(20) linear(16) permute(0, 3, 1, 2) conv(8, k=1)",
                "16x3x3")
    hits = [d.message for d in lint_text(text, config=LintConfig(extend_select=("L005",)))
            if d.code.value == "L005"]
    assert hits == ["linear1: 20 output channels is not a multiple of 8"]


def test_shadowing_of_layer_kinds_and_blocks() -> None:
    text = ("block conv_block(c) {\n    conv(c, k=3, p=1)\n}\n"
            "block stage(relu, conv_block=1, valid=0) {\n    conv_block(relu)\n}\n"
            + _net("stage(8)"))
    shadows = [d.message for d in lint_text(text) if d.code.value == "L004"]
    assert len(shadows) == 3
    assert any("layer kind `relu`" in m for m in shadows)
    assert any("block `conv_block`" in m for m in shadows)
    assert any("symbol `valid`" in m for m in shadows)


def test_unused_block_reached_through_another_block_is_used() -> None:
    text = ("block inner(c) {\n    conv(c, k=1)\n}\nblock outer(c) {\n    inner(c)\n}\n"
            "block orphan(c) {\n    inner(c)\n}\n" + _net("outer(4)"))
    found = [(d.code.value, d.span.line) for d in lint_text(text)]
    assert found == [("L002", 7)]


def test_final_activation_on_side_outputs_too() -> None:
    text = _net("conv(4, k=3, p=1) side aux { flatten linear(2) sigmoid } global_avgpool")
    found = [d for d in lint_text(text) if d.code.value == "L008"]
    assert len(found) == 1 and "sigmoid" in found[0].message


def test_repeated_activation_needs_same_arguments_and_a_single_consumer() -> None:
    assert "L009" not in _codes(_net("leaky_relu(0.1) leaky_relu(0.2)"))
    assert "L009" not in _codes(_net("relu -> x relu add(x)"))
    assert "L009" in _codes(_net("dropout(0.1) dropout(0.1)"))


# ---- budgets, selection, configuration -------------------------------------------------------

@pytest.mark.parametrize(("text", "value"), [("30M", 30e6), ("5G", 5e9), ("1.5k", 1500),
                                             ("2m", 2e6), (" 7 ", 7), (42, 42), ("0.5T", 5e11)])
def test_parse_quantity(text, value) -> None:
    assert parse_quantity(text) == value


@pytest.mark.parametrize("text", ["", "M", "3MB", "-1", "1e6", True])
def test_parse_quantity_rejects(text) -> None:
    with pytest.raises(ConfigError):
        parse_quantity(text)


def test_parse_share() -> None:
    assert parse_share("50%") == parse_share(0.5) == parse_share(50) == 0.5
    with pytest.raises(ConfigError):
        parse_share("150%")


@pytest.mark.parametrize(("config", "code", "default", "expected"), [
    (LintConfig(), "L001", True, True),
    (LintConfig(), "L005", False, False),
    (LintConfig(extend_select=("L005",)), "L005", False, True),
    (LintConfig(extend_select=("L",)), "L005", False, True),
    (LintConfig(select=("E",)), "L001", True, False),
    (LintConfig(select=("E",)), "E201", True, True),
    (LintConfig(ignore=("L",)), "L001", True, False),
    (LintConfig(select=("L001",), ignore=("L",)), "L001", True, True),  # more specific wins
    (LintConfig(select=("L",), ignore=("L001",)), "L001", True, False),
    (LintConfig(select=("L001",), ignore=("L001",)), "L001", True, False),  # tie: ignore
    (LintConfig(select=("ALL",)), "L005", False, True),
])
def test_selection(config: LintConfig, code: str, default: bool, expected: bool) -> None:
    assert config.enabled(code, default) is expected


def test_budgets_from_the_command_line() -> None:
    spec = ROOT / "specs" / "resnet18.arch"
    result = _invoke("--format", "json", "--max-params", "10M", "--max-macs", "1G",
                     "--max-activation-mb", "5", str(spec))
    found = {(d["code"], d["line"]) for d in json.loads(result.stdout)["diagnostics"]
             if d["code"].startswith("E5")}
    network_line = next(i for i, line in enumerate(spec.read_text().splitlines(), 1)
                        if line.startswith("network"))
    assert found == {("E501", network_line), ("E502", network_line), ("E503", network_line)}
    assert result.exit_code == 1
    assert _invoke("--max-params", "12M", "--max-macs", "2G", str(spec)).exit_code == 0


def _project(tmp_path: Path, toml: str) -> Path:
    (tmp_path / "pyproject.toml").write_text(textwrap.dedent(toml))
    (tmp_path / "specs" / "big").mkdir(parents=True)
    small = _net("conv(64, k=3, p=1) relu global_avgpool flatten linear(10)")
    (tmp_path / "specs" / "small.arch").write_text(small)  # 2,442 parameters
    (tmp_path / "specs" / "big" / "wide.arch").write_text(
        _net("conv(512, k=3, p=1) relu global_avgpool flatten linear(10)"))  # 19,466
    return tmp_path


def _codes_by_file(result) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for d in json.loads(result.stdout)["diagnostics"]:
        found.setdefault(Path(d["file"]).name, set()).add(d["code"])
    return found


def test_pyproject_budgets_and_overrides(tmp_path: Path, monkeypatch) -> None:
    root = _project(tmp_path, """\
        [tool.archc]
        max-params = "5k"
        ignore = ["L007"]

        [[tool.archc.overrides]]
        paths = ["specs/big/*.arch"]
        max-params = "50k"
        extend-select = ["L005"]
        """)
    monkeypatch.chdir(root)
    found = _codes_by_file(_invoke("--format", "json", "specs"))
    assert found == {}  # both within their budgets, L007 ignored, L005 finds nothing
    found = _codes_by_file(_invoke("--format", "json", "--max-params", "3k", "specs"))
    assert found == {"wide.arch": {"E501"}}  # the command line beats the override


def test_pyproject_found_by_walking_up_from_the_file(tmp_path: Path, monkeypatch) -> None:
    root = _project(tmp_path, """\
        [tool.archc]
        max-params = "1k"
        """)
    elsewhere = tmp_path.parent / f"{tmp_path.name}-cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    found = _codes_by_file(_invoke("--format", "json", str(root / "specs" / "small.arch")))
    assert found == {"small.arch": {"E501"}}
    isolated = _invoke("--format", "json", "--isolated", str(root / "specs" / "small.arch"))
    assert _codes_by_file(isolated) == {}


def test_pyproject_without_the_table_is_skipped(tmp_path: Path) -> None:
    outer = _project(tmp_path, "[tool.archc]\nselect = [\"L009\"]\n")
    inner = outer / "specs"
    (inner / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    spec = inner / "twice.arch"
    spec.write_text(_net("conv(4, k=4) relu relu"))
    assert _codes_by_file(_invoke("--format", "json", str(spec))) == {"twice.arch": {"L009"}}


@pytest.mark.parametrize("toml", ['[tool.archc]\nmax-parms = "1M"\n',
                                  '[tool.archc]\nselect = ["NOPE"]\n',
                                  '[tool.archc]\nmax-params = "big"\n',
                                  '[[tool.archc.overrides]]\nmax-params = "1M"\n',
                                  '[tool.archc\n'])
def test_bad_configuration_is_a_usage_error(tmp_path: Path, toml: str) -> None:
    root = _project(tmp_path, toml)
    result = _invoke(str(root / "specs"))
    assert result.exit_code == 2, result.output


def test_glob_match() -> None:
    assert glob_match("specs/big/a.arch", "specs/big/*.arch")
    assert not glob_match("specs/big/sub/a.arch", "specs/big/*.arch")
    assert glob_match("specs/big/sub/a.arch", "specs/**/*.arch")
    assert glob_match("specs/a.arch", "specs/**/*.arch")
    assert glob_match("deep/x/resnet50.arch", "resnet*.arch")


# ---- pragmas ---------------------------------------------------------------------------------

PRAGMA_NET = """\
network N {
    input 3x32x32
    conv(16, k=4) relu relu  # archc: ignore[L001]
    # archc: ignore[L009,W101]
    conv(16, k=4, s=3) relu relu
    conv(16, k=2) relu relu  # archc: ignore[L]
    conv(16, k=2) relu relu  # archc: ignore
    conv(16, k=2) relu relu
}
"""


def test_line_pragmas() -> None:
    found = [(d.code.value, d.span.line) for d in lint_text(PRAGMA_NET)]
    assert found == [("L009", 3), ("L001", 5), ("L001", 8), ("L009", 8)]


def test_pragma_alone_skips_comment_and_blank_lines() -> None:
    text = _net("# archc: ignore[L009]\n    # why: see the paper\n\n    relu relu")
    assert _codes(text) == []


def test_file_pragma() -> None:
    text = "# archc: ignore-file[L001, L009]\n" + PRAGMA_NET
    assert lint_text(text) == []  # W101 (line 6) is covered by the line pragma above it
    text = "# archc: ignore-file[L001, L009]\n" + PRAGMA_NET.replace("W101", "L003")
    assert [(d.code.value, d.span.line) for d in lint_text(text)] == [("W101", 6)]


def test_suppressions_scan() -> None:
    s = Suppressions.scan("a  # archc: ignore[l001 , E2]\n# archc: ignore-file\n")
    assert s.lines == {1: ["L001", "E2"]} and s.whole_file == ["ALL"]


# ---- docs, hooks, workflow, imports ----------------------------------------------------------

def test_docs_have_a_section_per_rule(tmp_path: Path) -> None:
    committed = (ROOT / "docs" / "lint-rules.md").read_text()
    sections = re.split(r"^## ", committed, flags=re.MULTILINE)[1:]
    by_code = {section.split()[0]: section for section in sections}
    hint = "regenerate with `python -m archc.lint --write-docs`"
    assert set(by_code) == set(rules()), hint
    for code, rule in rules().items():
        section = by_code[code]
        assert section.startswith(f"{code} {rule.name}\n"), hint
        on = "on" if rule.default_enabled else "off"
        assert f"- Default: {on}" in section and f"- Severity: {rule.severity}" in section
        assert rule.rationale in section and rule.fix in section, hint
        if code not in NO_CASE:
            assert "**Example**" in section, hint


def test_write_docs_entry_point_finds_the_repository() -> None:
    from archc.lint.ruleset import REPO_ROOT

    assert REPO_ROOT == ROOT and (REPO_ROOT / "tests" / "lint_cases").is_dir()
    done = subprocess.run([sys.executable, "-m", "archc.lint"], capture_output=True, text=True)
    assert done.returncode == 1 and "python -m archc.lint --write-docs" in done.stderr


def test_cli_offers_every_output_format() -> None:
    from archc.cli.lint import FORMATS as CLI_FORMATS

    assert CLI_FORMATS == FORMATS


def test_rules_are_data_with_rationale() -> None:
    for code, rule in rules().items():
        assert rule.code.value == code and rule.rationale and rule.fix
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", rule.name)
        assert rule.severity == ("error" if code.startswith("E") else "warning")
    assert not rules()["L005"].default_enabled


def test_pre_commit_hooks_file() -> None:
    text = (ROOT / ".pre-commit-hooks.yaml").read_text()
    hooks = _yaml_hooks(text)
    assert {h["id"] for h in hooks} == {"archc-lint", "archc-fmt"}
    for hook in hooks:
        assert hook["language"] == "python"
        assert re.search(hook["files"], "specs/resnet50.arch")
        assert not re.search(hook["files"], "README.md")


def _yaml_hooks(text: str) -> list[dict]:
    yaml = pytest.importorskip("yaml")
    return yaml.safe_load(text)


def test_pre_commit_entries_run(tmp_path: Path) -> None:
    """What pre-commit runs: the hook's entry with the staged files appended."""
    hooks = {h["id"]: h for h in _yaml_hooks((ROOT / ".pre-commit-hooks.yaml").read_text())}
    good = tmp_path / "good.arch"
    good.write_text("network N {\n    input 3x8x8\n    conv(4, k=3) relu\n}\n")
    ugly = tmp_path / "ugly.arch"
    ugly.write_text("network N {input 3x8x8 conv(4, k=3)   relu}\n")
    bad = tmp_path / "bad.arch"
    bad.write_text("network N {\n    input 3x8x8\n    conv(4, k=9)\n}\n")

    def run(hook: str, *files: Path) -> subprocess.CompletedProcess:
        entry = shlex.split(hooks[hook]["entry"]) + hooks[hook].get("args", [])
        return subprocess.run([*entry, *map(str, files)], capture_output=True, text=True,
                              cwd=tmp_path, timeout=120)

    assert run("archc-lint", good, ugly).returncode == 0
    assert run("archc-lint", good, bad).returncode == 1
    assert run("archc-fmt", good).returncode == 0
    assert run("archc-fmt", ugly).returncode == 0 and ugly.read_text() == good.read_text()


@pytest.mark.skipif(shutil.which("pre-commit") is None or shutil.which("git") is None,
                    reason="pre-commit is not installed")
def test_real_pre_commit_run(tmp_path: Path) -> None:
    """pre-commit clones the hook repository (a committed snapshot of this working tree, in a
    temporary git repository) and pip-installs it into a virtualenv; skipped when that
    environment cannot be built here (offline)."""
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache"), "GIT_AUTHOR_NAME": "t",
           "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}

    def git(repo: Path, *args: str) -> None:
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, env=env)

    hooks = tmp_path / "hooks"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("archc", "grammars"):
        shutil.copytree(ROOT / name, hooks / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml"):
        shutil.copy(ROOT / name, hooks / name)
    git(hooks, "init", "-q")
    git(hooks, "add", "-A")
    git(hooks, "commit", "-qm", "snapshot")
    work = tmp_path / "work"
    work.mkdir()
    git(work, "init", "-q")
    (work / "ugly.arch").write_text("network N {input 3x8x8 conv(4, k=3)   relu}\n")
    git(work, "add", "ugly.arch")

    def pre_commit(hook: str) -> subprocess.CompletedProcess:
        return subprocess.run(["pre-commit", "try-repo", str(hooks), hook, "--all-files"],
                              cwd=work, capture_output=True, text=True, env=env, timeout=600)

    fmt = pre_commit("archc-fmt")
    if "An error has occurred" in fmt.stdout + fmt.stderr:
        pytest.skip("pre-commit could not build the hook environment here: " + fmt.stdout[-300:])
    assert fmt.returncode == 1 and "files were modified by this hook" in fmt.stdout
    assert (work / "ugly.arch").read_text() == ("network N {\n    input 3x8x8\n"
                                                "    conv(4, k=3) relu\n}\n")
    lint = pre_commit("archc-lint")
    assert lint.returncode == 0 and "Passed" in lint.stdout, lint.stdout


def test_github_workflow_example() -> None:
    text = (ROOT / "examples" / "github-workflow.yml").read_text()
    yaml = pytest.importorskip("yaml")
    workflow = yaml.safe_load(text)
    steps = [s.get("run", "") for job in workflow["jobs"].values() for s in job["steps"]]
    assert any("archc lint" in s and "--format github" in s for s in steps)
    assert not any("torch" in s for s in steps if "pip install" in s)


@pytest.mark.parametrize("command", [["lint", "specs", "examples"],
                                     ["fmt", "--check", "specs/resnet18.arch"]])
def test_lint_and_fmt_never_import_torch(command: list[str]) -> None:
    code = textwrap.dedent(f"""
        import sys
        from archc.cli import main
        try:
            main({command!r}, standalone_mode=False)
        except SystemExit:
            pass
        assert 'torch' not in sys.modules, 'torch was imported'
        print('ok')
        """)
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), result.stderr
