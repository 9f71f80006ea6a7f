"""Issue 10's language: module paths (labels anywhere, nested numbered containers, quoted
names, the shortcut's name and place), `concat` order, `in.c` and conditionals.

Expected names are torchvision's module paths; shapes and counts are hand arithmetic.
"""

from __future__ import annotations

import pytest

import archc
from archc.errors import ArchcError, Diagnostic
from archc.parse import parse_text

FILE = "lang.arch"


def net(*lines: str, blocks: str = "", dims: str = "3x8x8") -> str:
    return blocks + f"network N {{\n    input {dims}\n" + "".join(f"    {x}\n" for x in lines) \
        + "}\n"


def rows(text: str) -> list[tuple[str, tuple]]:
    return [(r.name, tuple(r.output)) for r in archc.loads(text, FILE).layers]


def names(text: str) -> list[str]:
    return [name for name, _ in rows(text)]


def errors(text: str) -> list[Diagnostic]:
    with pytest.raises(ArchcError) as caught:
        archc.loads(text, FILE)
    return caught.value.diagnostics


def brief(diags: list[Diagnostic]) -> list[tuple[str, int, int]]:
    return [(d.code.value, d.span.line, d.span.col) for d in diags]


# ---- module paths ---------------------------------------------------------------------------

def test_unlabelled_group_in_numbered_container_is_its_own_level():
    # MobileNetV2: features.0.0 (Conv2dNormActivation inside the features Sequential)
    assert names(net("features: { { conv(4, k=1) bn } relu }")) == [
        "features.0.0", "features.0.1", "features.1"]


def test_unlabelled_group_in_named_scope_stays_inline():
    assert names(net("{ conv(4, k=1) bn }")) == ["conv1", "bn1"]


def test_labels_in_a_branch_name_modules_in_the_enclosing_scope():
    # torchvision Inception/SqueezeNet: Mixed_5b.branch1x1, Fire.expand1x1
    text = net("m: concat { branch { b1: conv(4, k=1) } branch { b2_1: conv(2, k=1) "
               "b2_2: conv(3, k=3, p=1) } }")
    assert names(text) == ["m.b1", "m.b2_1", "m.b2_2", "m.concat1"]
    assert rows(text)[-1][1] == (7, 8, 8)


def test_unlabelled_branches_keep_their_numbered_names():
    assert names(net("concat { branch { conv(4, k=1) } branch { conv(2, k=1) relu } }")) == [
        "branch1", "branch2.0", "branch2.1", "concat1"]


def test_quoted_labels_name_modules_any_way_pytorch_allows():
    assert names(net('trunk: { "block1-0": conv(4, k=1) "block1-1": relu }')) == [
        "trunk.block1-0", "trunk.block1-1"]


@pytest.mark.parametrize("label", ['""', '"a.b"'])
def test_quoted_labels_that_cannot_name_a_module(label):
    diags = errors(net(f"{label}: relu"))
    assert brief(diags) == [("E111", 3, 5)]


def test_shortcut_named_and_placed_as_written():
    text = net("residual { shortcut proj { conv(8, k=1, s=2) bn } f: conv(8, k=3, s=2, p=1) }")
    assert names(text) == ["proj.0", "proj.1", "f", "add1"]
    text = net("residual { conv(8, k=3, s=2, p=1) } shortcut downsample { conv(8, k=1, s=2) }")
    assert names(text) == ["conv1", "downsample.0", "add1"]


def test_two_shortcuts_are_refused():
    diags = errors(net("residual { shortcut { relu } relu } shortcut { relu }"))
    assert [d.code.value for d in diags] == ["E106"]


# ---- concat order -----------------------------------------------------------------------------

def test_concat_places_the_current_tensor_where_written():
    text = net("-> x conv(2, k=1) concat(x, _)")
    assert rows(text)[-1] == ("concat1", (5, 8, 8))
    built = archc.loads(text, FILE)
    # the graph reads x (the input, node 0) first, then the conv (node 1)
    node = next(n for n in built.built.nodes if n.layer is not None and n.name == "concat1")
    assert node.inputs == [0, 1]
    node = next(n for n in archc.loads(net("-> x conv(2, k=1) concat(x)"), FILE).built.nodes
            if n.name == "concat1")
    assert node.inputs == [1, 0]


def test_underscore_cannot_be_saved():
    assert brief(errors(net("-> _ relu"))) == [("E111", 3, 5)]


# ---- in.c and conditionals --------------------------------------------------------------------

IR = """block ir(c, s, t) {
    residual if s == 1 and in.c == c {
        conv: {
            if t != 1 { { conv(in.c * t, k=1) bn relu6 } }
            { conv(in.c * t, k=3, s=s, p=1, groups=in.c * t) bn relu6 }
            conv(c, k=1) bn
        }
    }
}
"""


def test_inverted_residual_is_one_block():
    text = net("features: { ir(4, 1, 1) ir(8, 2, 6) ir(8, 1, 6) }", blocks=IR, dims="4x8x8")
    got = rows(text)
    assert ("features.0.conv.0.0", (4, 8, 8)) in got  # t == 1: no expansion conv
    assert "features.0.add1" in names(text)  # stride 1, 4 -> 4 channels: a residual
    assert ("features.1.conv.0.0", (24, 8, 8)) in got  # expansion 4 * 6
    assert not any(n.startswith("features.1.add") for n in names(text))  # stride 2
    assert ("features.2.conv.0.0", (48, 4, 4)) in got and "features.2.add1" in names(text)


def test_in_dims_and_else_chains():
    blocks = "block b() { if in.h > 4 { maxpool(2) } else if in.c == 3 { relu } else { bn } }"
    assert names(net("b", blocks=blocks)) == ["b1.maxpool1"]
    assert names(net("b", blocks=blocks, dims="3x4x4")) == ["b1.relu1"]
    assert names(net("b", blocks=blocks, dims="5x4x4")) == ["b1.bn1"]


def test_in_outside_a_block():
    assert brief(errors(net("conv(in.c, k=1)"))) == [("E113", 3, 10)]


def test_in_dimension_the_input_lacks():
    blocks = "block b() { conv(in.l, k=1) }"
    assert [d.code.value for d in errors(net("b", blocks=blocks))] == ["E113"]


def test_condition_must_be_true_or_false():
    blocks = "block b(t) { if t { relu } }"
    assert brief(errors(net("b(2)", blocks=blocks)))[0][0] == "E112"


def test_parameter_defaults_may_read_in():
    blocks = "block b(c=in.c * 2) { conv(c, k=1) }"
    assert rows(net("b", blocks=blocks))[-1][1] == (6, 8, 8)


def test_reserved_words_are_keywords():
    with pytest.raises(ArchcError):
        parse_text(net("if: relu"))


def test_label_templates_name_repeats_like_torchvision_stages():
    blocks = 'block stage(k, n) { "block{k}-{#}": conv(4, k=1) "block{k}-{#}": relu * (n - 1) }'
    assert names(net("trunk: { block1: stage(1, 3) }", blocks=blocks)) == [
        "trunk.block1.block1-0", "trunk.block1.block1-1", "trunk.block1.block1-2"]


def test_label_template_errors():
    assert [d.code.value for d in errors(net('"a{x}": relu'))] == ["E105"]
    blocks = 'block b(k) { "b{k}": relu * 2 }'  # both repetitions would be b1
    assert [d.code.value for d in errors(net("b(1)", blocks=blocks))] == ["E106"]


def test_in_c_keeps_one_symbolic_class():
    pytest.importorskip("torch")
    from archc.codegen.pytorch import generate

    text = net("t1: transition t2: transition", dims="64x16x16",
               blocks="block transition() { norm: bn conv: conv(in.c // 2, k=1) }")
    source = generate(archc.loads(text, FILE), FILE).source
    assert "nn.Conv2d(in_channels, in_channels // 2, 1)" in source
    assert "Transition(64)" in source and "Transition(32)" in source


def test_formatter_round_trips_the_new_syntax():
    from tests.test_fmt import assert_formats_well

    text = ('block b(c, s, t) {\n residual if s == 1 and (in.c == c or not t > 2) { shortcut'
            ' "p-x" { conv(c, k=1) } conv: { if t != 1 { { conv(in.c * t, k=1) bn } } else '
            'if t == 0 { relu } else { bn } conv(c, k=1) } } }\nblock d() { -> x relu '
            'concat(x, _) }\nnetwork N { input 3x8x8 "a-0": b(3, 1, 2) residual { relu } '
            'shortcut downsample { conv(3, k=1) } d residual { if 1 == 2 { shortcut p { bn } }'
            ' relu } }\n')
    assert_formats_well(text)


def test_hostile_quoted_labels_stay_data():
    torch = pytest.importorskip("torch")
    from archc.codegen.build import import_source, verify
    from archc.codegen.pytorch import generate

    labels = ["a'b c", "class", "import os", "x)); print(1", "\u00e9t\u00e9", "forward", "0x"]
    body = "g: { " + " ".join(f'"{label}": conv(2, k=1)' for label in labels) + " }"
    body += ' "top-level": conv(2, k=1) "def": relu'
    model = archc.loads(net(body), FILE)
    generated = generate(model, FILE)
    module = import_source(generated.source)
    verify(model, generated, module)
    ours = getattr(module, generated.class_name)()
    keys = {k.rsplit(".", 1)[0] for k in ours.state_dict()}
    # verbatim where PyTorch can register the name; `forward` would shadow nn.Module.forward
    assert keys == {f"g.{label}" for label in labels if label != "forward"} | {
        "g.m_forward", "top-level"}
    assert ours(torch.randn(1, 3, 8, 8)).shape == (1, 2, 8, 8)


def test_conditional_shortcut_inside_the_body():
    # torchvision ResNet: a downsample only where stride or width changes
    blocks = ("block basic(c, s) { residual { if s != 1 or in.c != c { shortcut downsample { "
              "conv(c, k=1, s=s) bn } } conv1: conv(c, k=3, s=s, p=1) bn1: bn } relu }")
    got = names(net("l: { basic(3, 1) basic(8, 2) }", blocks=blocks))
    assert got == ["l.0.conv1", "l.0.bn1", "l.0.add1", "l.0.relu1", "l.1.downsample.0",
                   "l.1.downsample.1", "l.1.conv1", "l.1.bn1", "l.1.add1", "l.1.relu1"]


def test_shortcut_outside_a_residual_and_two_shortcuts():
    assert brief(errors(net("shortcut { relu }"))) == [("E001", 3, 5)]
    diags = errors(net("residual { shortcut { relu } relu } shortcut { relu }"))
    assert [d.code.value for d in diags] == ["E106"]
