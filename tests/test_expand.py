"""The expand stage: naming rules, defaults, block binding, did-you-mean, repeats.

Names follow nn.Module conventions: automatic names are the kind plus a counter per scope
(conv1, conv2, ...), a label replaces the automatic name, numbered containers (labeled groups
and repeats, shortcuts, branches) name their children 0, 1, 2, ..., and a block call is a
scope of its own.
"""

from __future__ import annotations

import pytest

import archc
from archc.errors import ArchcError, Diagnostic
from archc.expand import LayerNode, expand
from archc.parse import parse_text

FILE = "e.arch"


def net(*lines: str, blocks: str = "") -> str:
    return blocks + "network N {\n    input 3x8x8\n" + "".join(f"    {x}\n" for x in lines) + "}\n"


def names(text: str) -> list[str]:
    return [row.name for row in archc.loads(text, FILE).layers]


def errors(text: str) -> list[Diagnostic]:
    with pytest.raises(ArchcError) as caught:
        archc.loads(text, FILE)
    return caught.value.diagnostics


def brief(diags: list[Diagnostic]) -> list[tuple[str, int, int]]:
    return [(d.code.value, d.span.line, d.span.col) for d in diags]


# ---- naming -----------------------------------------------------------------------------------

def test_automatic_names_count_per_kind():
    assert names(net("conv(4, k=1) relu conv(4, k=1) relu")) == ["conv1", "relu1", "conv2",
                                                                 "relu2"]


def test_labels_are_reserved_for_automatic_names():
    # `conv1:` is taken by a label, so the unlabeled convs skip it
    assert names(net("conv(4, k=1) conv1: conv(4, k=1) conv(4, k=1)")) == ["conv2", "conv1",
                                                                            "conv3"]


def test_repeats_and_labeled_repeats():
    assert names(net("relu * 3", "r: relu * 2")) == ["relu1", "relu2", "relu3", "r.0", "r.1"]


def test_groups_inline_unless_labeled():
    assert names(net("g: { conv(4, k=1) relu }", "{ bn relu }")) == ["g.0", "g.1", "bn1", "relu1"]


def test_block_calls_are_scopes():
    blocks = "block b(c) { conv(c, k=1) relu }\n"
    assert names(net("b(4) b(4)", blocks=blocks)) == ["b1.conv1", "b1.relu1", "b2.conv1",
                                                      "b2.relu1"]
    assert names(net("stage: b(4)", blocks=blocks)) == ["stage.conv1", "stage.relu1"]


def test_residual_and_shortcut_names():
    layers = names(net("residual { conv(3, k=1) bn } relu",
                       "res: residual { relu } shortcut { bn }"))
    assert layers == ["conv1", "bn1", "add1", "relu1", "res.relu1", "res.shortcut.0", "res.add1"]


def test_branches_collapse_single_calls():
    layers = names(net("concat { branch { conv(2, k=1) } branch { conv(2, k=1) relu } }"))
    assert layers == ["branch1", "branch2.0", "branch2.1", "concat1"]


def test_merges_and_sides():
    assert names(net("-> a relu add(a) mul(a) concat(a)")) == ["relu1", "add1", "mul1", "concat1"]
    layers = names(net("side aux { global_avgpool flatten linear(3) }", "relu"))
    assert layers == ["aux.global_avgpool1", "aux.flatten1", "aux.linear1", "relu1"]


def test_labels_inside_a_container_name_its_children():
    # a label inside makes the container's children named (torchvision's OrderedDict style)
    assert names(net("g: { x: conv(4, k=1) relu }")) == ["g.x", "g.relu1"]


def test_duplicate_labels():
    assert brief(errors(net("x: relu x: bn"))) == [("E106", 3, 13)]


# ---- defaults -----------------------------------------------------------------------------------

def conv_bias(text: str) -> list[bool]:
    spec = parse_text(text, FILE)
    layers = [n for n in expand(spec).body if isinstance(n, LayerNode)]
    return [n.args.bias for n in layers if n.kind.name == "conv"]


def test_file_defaults_apply_and_explicit_arguments_win():
    text = "defaults { conv(bias=false) }\n" + net("conv(4, k=1) conv(4, k=1, bias=true)")
    assert conv_bias(text) == [False, True]


def test_network_defaults_override_file_defaults():
    text = ("defaults { conv(bias=false) }\nnetwork N {\n    input 3x8x8\n"
            "    defaults { conv(bias=true) }\n    conv(4, k=1)\n}\n")
    assert conv_bias(text) == [True]


def test_block_defaults_stay_inside_the_block():
    blocks = "block b() {\n    defaults { bn(eps=0.001) }\n    bn\n}\n"
    model = archc.loads(net("b bn", blocks=blocks), FILE)
    eps = [layer.args.eps for layer in (n.layer for n in model.built.nodes[1:])]
    assert eps == [0.001, 1e-5]


def test_defaults_need_named_known_arguments():
    text = "defaults { conv(false) linear(bais=false) }\n" + net("relu")
    assert brief(errors(text)) == [("E104", 1, 17), ("E102", 1, 31)]


def test_bad_default_is_reported_where_written():
    text = "defaults { conv(bias=maybe) }\n" + net("conv(4, k=1) conv(4, k=1)")
    (diag,) = errors(text)
    assert brief([diag]) == [("E104", 1, 17)]


def test_block_parameter_defaults():
    blocks = "block b(c, k=3, p=(k - 1) // 2) { conv(c, k=k, p=p) }\n"
    model = archc.loads(net("b(4) b(4, k=5) b(4, 1, 0)", blocks=blocks), FILE)
    assert [row.output for row in model.layers] == [(4, 8, 8), (4, 8, 8), (4, 8, 8)]


# ---- binding errors ----------------------------------------------------------------------------

def test_unknown_layer_suggests_close_names():
    (diag,) = errors(net("cnov(4, k=1)"))
    assert brief([diag]) == [("E101", 3, 5)]
    assert diag.hint.startswith("did you mean `conv`")


def test_unknown_block_suggests_blocks_too():
    (diag,) = errors(net("bottlenek(4)", blocks="block bottleneck(c) { relu }\n"))
    assert diag.code.value == "E101" and "`bottleneck`" in diag.hint


def test_unknown_argument_suggests_close_names():
    (diag,) = errors(net("conv(4, kk=1)"))
    assert brief([diag]) == [("E102", 3, 13)] and diag.hint == "did you mean `k`?"


def test_positional_rules():
    too_many = errors(net("conv(4, k=1, 5)"))
    assert brief(too_many) == [("E104", 3, 18)] and "too many positional" in too_many[0].message
    after = errors(net("conv(k=1, 4)"))
    assert brief(after) == [("E104", 3, 15)] and "after a named one" in after[0].message


def test_argument_given_twice():
    assert brief(errors(net("conv(4, k=1, k=2)"))) == [("E106", 3, 18)]
    assert brief(errors(net("conv(4, out=4, k=1)"))) == [("E106", 3, 13)]


def test_missing_arguments():
    (diag,) = errors(net("conv(4)"))
    assert brief([diag]) == [("E103", 3, 5)] and diag.message == "`conv` needs `k`"
    (diag,) = errors(net("b()", blocks="block b(c) { relu }\n"))
    assert brief([diag]) == [("E103", 4, 5)] and diag.hint == "signature: b(c)"


def test_block_binding_errors():
    blocks = "block b(c) { relu }\n"
    assert brief(errors(net("b(4, 5)", blocks=blocks))) == [("E104", 4, 10)]
    (diag,) = errors(net("b(d=3)", blocks=blocks))
    assert brief([diag]) == [("E102", 4, 7)] and diag.hint == "`b` takes: c"


def test_undefined_name_in_a_block_suggests_the_parameter():
    (diag,) = errors(net("b(3)", blocks="block b(c) { conv(cc, k=1) }\n"))
    assert brief([diag]) == [("E105", 1, 19)]
    assert "block parameter `c`" in diag.hint
    # the trace leads back to the call
    assert [(text, span.line) for text, span in diag.notes] == [("in block `b` called", 4)]


def test_block_named_like_a_layer():
    assert brief(errors(net("relu", blocks="block relu() { bn }\n"))) == [("E106", 1, 1)]


def test_inputs():
    assert brief(errors("network N { relu }")) == [("E107", 1, 1)]
    assert brief(errors(net("input 3x8x8"))) == [("E107", 3, 5)]


def test_undefined_saved_tensor():
    (diag,) = errors(net("add(zz)"))
    assert brief([diag]) == [("E108", 3, 9)]


def test_repeat_counts():
    assert brief(errors(net("relu * c"))) == [("E104", 3, 12)]
    assert brief(errors(net("relu * (2 - 2)"))) == [("E104", 3, 13)]
    assert brief(errors(net("relu * 1.5"))) == [("E104", 3, 12)]


def test_arithmetic_errors():
    assert brief(errors(net("conv(4 / 0, k=1)"))) == [("E104", 3, 10)]
    assert brief(errors(net("conv(true + 1, k=1)"))) == [("E104", 3, 10)]
    # exact division stays an integer; inexact division is a float and no channel count
    assert archc.loads(net("conv(8 / 2, k=1)"), FILE).layers[0].output == (4, 8, 8)
    assert brief(errors(net("conv(9 / 2, k=1)"))) == [("E104", 3, 10)]


def test_independent_errors_are_all_reported():
    text = net("conv(4, q=1)", "bogus", "conv(4, k=1, bias=2)")
    assert [d.code.value for d in errors(text)] == ["E102", "E101", "E104"]


def test_failing_call_under_repeat_is_expanded_once():
    spec = parse_text(net("bogus * 100000"), FILE)
    expanded = expand(spec)
    assert len(expanded.body) == 1 and len(expanded.diagnostics) == 1


def test_unlabeled_shortcuts_get_distinct_names():
    # found by tests/test_properties.py: two unlabeled residuals with shortcuts in one scope
    # were both named `shortcut`, which broke reports and code generation
    layers = names(net("residual { relu } shortcut { bn }", "residual { relu } shortcut { bn }"))
    assert layers == ["relu1", "shortcut.0", "add1", "relu2", "shortcut2.0", "add2"]


# ---- argument validation (archc.layers.base.Args) ---------------------------------------------

def test_argument_validation_is_strict():
    from archc.layers import REGISTRY
    from archc.layers.base import ValidationError

    conv = REGISTRY["conv"].Args
    assert conv.model_validate({"out": 4, "k": (3, 1)}).k == (3, 1)
    for bad in ({"out": True, "k": 3}, {"out": 4.0, "k": 3}, {"out": 4, "k": [3, 3]},
                {"out": 4, "k": 3, "p": "full"}, {"out": 0, "k": 3}, {"k": 3},
                {"out": 4, "k": 3, "bias": 1}, {"out": 4, "k": 3, "q": 1}):
        with pytest.raises(ValidationError):
            conv.model_validate(bad)
    dropout = REGISTRY["dropout"].Args
    assert dropout.model_validate({"p": 1}).p == 1.0 and type(dropout.model_validate(
        {"p": 1}).p) is float
    with pytest.raises(ValidationError):
        dropout.model_validate({"p": float("nan")})


def test_argument_errors_name_each_argument_once():
    """pydantic reports a union mismatch per member; the diagnostic merges them."""
    with pytest.raises(archc.ArchcError) as caught:
        archc.loads("network N { input 3x8x8 conv(-1, k=3, p=1.5, init=2) }")
    messages = [d.message for d in caught.value.diagnostics]
    assert len(messages) == 3
    assert messages[0] == "`conv` argument `out`=-1 must be greater than 0"
    assert messages[1] == ("`conv` argument `p`=1.5 must be an integer, a tuple like (3, 3) or "
                           "`same` or `valid`")
    assert messages[2] == ("`conv` argument `init`=2 must be `default`, `kaiming`, `xavier` or "
                           "`zeros`")


def test_pydantic_field_declarations_still_work():
    pydantic = pytest.importorskip("pydantic")
    from archc.layers.base import Args

    class Custom(Args):
        width: int = pydantic.Field(default=2, gt=0)
        rate: float = pydantic.Field(default=0.5, le=1.0)

    assert Custom.model_fields["width"].default == 2
    assert Custom.model_validate({"width": 3}).width == 3
    with pytest.raises(ValueError):
        Custom.model_validate({"rate": 2.0})
