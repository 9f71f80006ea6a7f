"""`again NAME`: a labelled module applied once more with the same weights. Counts are checked
against PyTorch counting the emitted module (parameters as model.parameters() does, MACs as
FlopCounterMode), and by hand; errors are located and coded."""

from __future__ import annotations

import json

import pytest

import archc
from archc.errors import ArchcError
from archc.expand import Limits
from archc.fmt import format_text
from archc.lint import lint_text
from archc.report import to_dict

TIED = """
block unit(c) {
    conv1: conv(c, k=3, p=1, bias=false)
    bn1: bn relu
    again conv1
}

network Tied {
    input 3x16x16
    stem: conv(8, k=3, p=1)
    act: relu
    -> skip
    body: unit(8)
    again body
    add(skip)
    again act
    r: residual {
        conv(8, k=3, p=1) bn
    }
    again r
    head: { global_avgpool flatten }
    fc: linear(8)
    again fc
}
"""


def _errors(text: str, **kwargs) -> list[tuple[str, int, int, str]]:
    with pytest.raises(ArchcError) as caught:
        archc.loads(text, **kwargs)
    return [(d.code.value, d.span.line, d.span.col, d.hint or "")
            for d in caught.value.diagnostics if d.is_error]


@pytest.mark.independent
def test_counts_by_hand():
    model = archc.loads("network N { input 16x32x32 c: conv(16, k=3, p=1) again c again c }")
    # 3*3*16*16 + 16 = 2,320 weights once; 32*32*16*3*3*16 = 2,359,296 MACs at each use
    assert model.totals.params == 2_320
    assert model.totals.macs == 3 * 2_359_296
    assert [r.params for r in model.analysis.layers] == [2_320, 0, 0]
    assert [r.shared for r in model.analysis.layers] == [None, "c", "c"]


@pytest.mark.independent
def test_counts_equal_pytorch_on_the_emitted_module():
    torch = pytest.importorskip("torch")
    from torch.utils.flop_counter import FlopCounterMode

    model = archc.loads(TIED)
    module = archc.build_module(TIED).eval()
    assert model.totals.params == sum(p.numel() for p in module.parameters())
    keys = list(module.state_dict())
    assert not any("#" in k for k in keys)
    assert sum(p.numel() for k, p in module.state_dict().items()
               if "running" not in k and "num_batches" not in k) == model.totals.params
    x = torch.randn(1, 3, 16, 16)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        out = module(x)
    assert model.totals.macs == counter.get_total_flops() // 2
    assert tuple(out.shape[1:]) == tuple(model.analysis.output)


def test_emitted_module_calls_the_first_module_again():
    from archc.codegen.pytorch import generate

    source = generate(archc.loads(TIED)).source
    assert source.count("nn.Linear(") == 1 and source.count("self.fc(x)") == 2
    assert source.count("self.body(x)") == 2 and source.count("= Unit(") == 1
    # a reused activation never works in place: it also runs on another tensor
    assert "self.act = nn.ReLU()" in source


@pytest.mark.independent
def test_reused_block_with_a_parameter_matches_pytorch():
    torch = pytest.importorskip("torch")
    text = """
    block gate(c) { fc1: linear(c) relu again fc1 fc2: linear(c // 2) }
    network G { input 16 g: gate(16) linear(8) }
    """
    model = archc.loads(text)
    module = archc.build_module(text)
    assert model.totals.params == sum(p.numel() for p in module.parameters())
    with torch.no_grad():
        assert tuple(module(torch.randn(1, 16)).shape[1:]) == tuple(model.analysis.output)


def test_report_marks_the_reuse():
    model = archc.loads(TIED)
    rows = {r["name"]: r for r in to_dict(model.analysis)["layers"]}
    assert rows["fc#2"]["shared"] == "fc" and rows["fc#2"]["params"] == 0
    assert "shared" not in rows["fc"]
    from archc.report import rows as table_rows

    names = [row[0] for row in table_rows(model.analysis)]
    assert "fc#2 (again fc)" in names and "fc" in names
    assert json.loads(json.dumps(rows["body#2.conv1#2"]))["shared"] == "body.conv1"


def test_fmt_and_lint_accept_again():
    formatted = format_text(TIED.lstrip())
    assert format_text(formatted) == formatted
    assert "    again body\n" in formatted
    assert not [d for d in lint_text(formatted) if d.is_error]


def test_unknown_label_is_located():
    text = "network N {\n    input 3x8x8\n    a: conv(4, k=3)\n    again b\n}\n"
    [(code, line, col, hint)] = _errors(text)
    assert (code, line, col) == ("E115", 4, 5) and "`a`" in hint


def test_label_defined_later_is_located():
    text = "network N {\n    input 3x8x8\n    again a\n    a: conv(4, k=3)\n}\n"
    [(code, line, col, hint)] = _errors(text)
    assert (code, line, col) == ("E115", 3, 5) and "move it after" in hint


def test_label_inside_another_scope_is_not_visible():
    inside_block = ("block b() { c: conv(4, k=3, p=1) }\n"
                    "network N {\n    input 3x8x8\n    b\n    again c\n}\n")
    assert [e[:3] for e in _errors(inside_block)] == [("E115", 5, 5)]
    inside_container = ("network N {\n    input 4x8x8\n    head: { c: conv(4, k=3, p=1) }\n"
                        "    again c\n}\n")
    assert [e[:3] for e in _errors(inside_container)] == [("E115", 4, 5)]
    network_label_in_block = ("block b() { again stem }\n"
                              "network N {\n    input 4x8x8\n    stem: conv(4, k=3, p=1)\n"
                              "    b\n}\n")
    assert [e[:3] for e in _errors(network_label_in_block)] == [("E115", 1, 13)]


def test_input_that_does_not_fit_the_weights_is_located():
    text = ("network N {\n    input 3x8x8\n    a: conv(4, k=3, p=1)\n    conv(6, k=1)\n"
            "    again a\n}\n")
    [(code, line, col, hint)] = _errors(text)
    assert (code, line, col) == ("E208", 5, 5) and "first use" in hint
    # the same channels at another size is the same module
    ok = "network N { input 4x8x8 a: conv(4, k=3, p=1) maxpool(2) again a }"
    assert archc.loads(ok).totals.params == 3 * 3 * 4 * 4 + 4


def test_again_takes_no_label():
    with pytest.raises(ArchcError) as caught:
        archc.loads("network N { input 3x8x8 a: conv(4, k=3) b: again a }")
    assert caught.value.diagnostics[0].code.value == "E001"


def test_again_counts_towards_the_layer_limit():
    text = ("block big() { conv(4, k=1) conv(4, k=1) conv(4, k=1) conv(4, k=1) }\n"
            "network N { input 4x8x8 b: big " + "again b " * 5 + "}")
    assert archc.loads(text).expanded.layer_count == 24
    codes = [e[0] for e in _errors(text, limits=Limits(max_layers=10))]
    assert codes == ["E301"]


def test_editor_goes_from_again_to_the_label():
    from archc.lsp.document import analyse
    from archc.lsp.features import definition, references

    text = "network N {\n    input 4x8x8\n    unit: conv(4, k=3, p=1)\n    again unit\n}\n"
    index = analyse(text, "n.arch")
    [target] = definition(index, (3, 11))  # on `unit` after `again` (0-based line 3)
    assert (target.start.line, target.start.character) == (2, 4)
    assert len(references(index, (2, 5), include_declaration=True)) == 2


@pytest.mark.parametrize("command", [["params"], ["params", "--depth", "1"], ["explain"],
                                     ["memory"], ["render", "-o", "-"], ["lint"], ["check"]])
def test_commands_walk_a_spec_with_shared_modules(tmp_path, command):
    from click.testing import CliRunner

    from archc.cli import main

    spec = tmp_path / "tied.arch"
    spec.write_text(format_text(TIED.lstrip()))
    result = CliRunner().invoke(main, [*command, str(spec)])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    if command[0] in ("params", "check"):
        assert f"{archc.loads(TIED).totals.params:,}" in result.output


def test_readme_example_checks_and_is_formatted():
    from tests.conftest import ROOT

    readme = (ROOT / "README.md").read_text()
    start = readme.index("**Shared weights**")
    text = readme[start:].split("```\n", 2)[1]
    assert "again body" in text and format_text(text) == text
    model = archc.loads(text)
    assert [r.params for r in model.analysis.layers if r.shared] == [0, 0, 0]
