"""The analyze stage: shapes, parameters and MACs per layer, and the errors that stop it.

Expected values come from outside archc: the seeds' worked examples in shared/seed-notes.md
(E-numbers below; floor((N - F + 2P) / S) + 1, F*F*D*K + K parameters, H_out*W_out*K*F*F*D
multiplies), or torch itself where it is installed.
"""

from __future__ import annotations

import pytest

import archc
from archc.errors import ArchcError, Diagnostic

FILE = "a.arch"


def net(dims: str, *lines: str, blocks: str = "") -> str:
    return (blocks + f"network N {{\n    input {dims}\n" + "".join(f"    {x}\n" for x in lines)
            + "}\n")


def rows(text: str) -> list[tuple[tuple[int, ...], int, int]]:
    return [(r.output, r.params, r.macs) for r in archc.loads(text, FILE).layers]


def warnings(text: str) -> list[str]:
    return [w.code.value for w in archc.loads(text, FILE).analysis.warnings]


def error(text: str) -> Diagnostic:
    with pytest.raises(ArchcError) as caught:
        archc.loads(text, FILE)
    (diag,) = caught.value.diagnostics
    return diag


# ---- the size rule: floor((N - F + 2P) / S) + 1 -------------------------------------------

@pytest.mark.parametrize(("n", "f", "s", "p", "out", "drops"), [
    (7, 3, 1, 0, 5, False),  # E27, stride 1
    (7, 3, 2, 0, 3, False),  # E27 / E35: (7 - 3) / 2 + 1 = 3
    (7, 3, 3, 0, 2, True),  # E27: 2.33 -> floor 2; the 7th column is never covered
    (4, 3, 2, 0, 1, True),  # E1: floor(0.5) + 1 = 1, the window "runs off"
    (4, 3, 2, 1, 2, False),  # E1 with a ring of zeros: floor(1.5) + 1 = 2
    (32, 5, 3, 0, 10, False),  # E2: (32 - 5) / 3 = 9 exactly: it fits
    (32, 5, 1, 0, 28, False),  # E10
    (6, 3, 1, 1, 6, False),  # E34: p = (f - 1) / 2 keeps 6x6
    (7, 3, 1, 1, 7, False),  # E28
])
@pytest.mark.independent
def test_seed_size_rule(n, f, s, p, out, drops):
    text = net(f"1x{n}x{n}", f"conv(1, k={f}, s={s}, p={p})")
    assert rows(text)[0][0] == (1, out, out)
    assert warnings(text) == (["W101"] if drops else [])


@pytest.mark.parametrize(("dims", "layer", "shape", "params", "macs"), [
    ("3x32x32", "conv(10, k=5, p=2)", (10, 32, 32), 760, 768_000),  # E9
    ("64x32x32", "conv(128, k=3, p=1)", (128, 32, 32), 73_856, 75_497_472),  # E14
    ("3x6x6", "conv(2, k=3)", (2, 4, 4), 56, 864),  # E36
    ("3x39x39", "conv(10, k=3)", (10, 37, 37), 280, 369_630),  # E38
    ("192x28x28", "conv(32, k=1)", (32, 28, 28), 6_176, 4_816_896),  # E43
    ("192x28x28", "conv(32, k=5, p=same)", (32, 28, 28), 153_632, 120_422_400),  # E44
    ("1024", "linear(10)", (10,), 10_250, 10_240),  # E13
])
@pytest.mark.independent
def test_seed_counts(dims, layer, shape, params, macs):
    assert rows(net(dims, layer)) == [(shape, params, macs)]


@pytest.mark.independent
def test_seed_flatten_then_dense():
    # E16: 32x32x3 flattens to 3072; a dense layer to 4096 has 12,587,008 parameters
    assert rows(net("3x32x32", "flatten", "linear(4096)")) == [
        ((3072,), 0, 0), ((4096,), 12_587_008, 12_582_912)]


@pytest.mark.parametrize(("dims", "layer", "shape"), [
    ("64x24x24", "maxpool(2, s=2)", (64, 12, 12)),  # E11
    ("1x5x5", "maxpool(3, s=1)", (1, 3, 3)),  # E40
    ("1000x7x7", "maxpool(2, s=2)", (1000, 3, 3)),  # E40: f2 s2 ...
    ("1000x7x7", "maxpool(3, s=2)", (1000, 3, 3)),  # ... and f3 s2 both give 3
    ("2x4x4", "avgpool(2)", (2, 2, 2)),  # E12: the stride defaults to the kernel
])
@pytest.mark.independent
def test_seed_pooling(dims, layer, shape):
    assert rows(net(dims, layer)) == [(shape, 0, 0)]


@pytest.mark.independent
def test_bottleneck_report():
    # E44/E45: the 5x5 alone costs 120,422,400 MACs; through a 1x1 to 16 channels 12,443,648
    analysis = archc.loads(net("192x28x28", "conv(16, k=1) conv(32, k=5, p=2)"), FILE).analysis
    (found,) = analysis.bottlenecks
    assert (found.direct_macs, found.bottleneck_macs) == (120_422_400, 12_443_648)
    assert round(found.ratio, 2) == 9.68


# ---- against torch --------------------------------------------------------------------------

def torch_shape(module, dims: tuple[int, ...]) -> tuple[int, ...]:
    torch = pytest.importorskip("torch")
    return tuple(module(torch.zeros(1, *dims)).shape[1:])


@pytest.mark.parametrize(("n", "k", "s", "p"), [(7, 3, 2, 0), (8, 3, 2, 1), (5, 2, 2, 0),
                                                 (6, 3, 2, 1), (112, 3, 2, 0), (10, 4, 3, 2)])
@pytest.mark.independent
def test_ceil_mode_matches_torch(n, k, s, p):
    torch = pytest.importorskip("torch")
    expected = torch_shape(torch.nn.MaxPool2d(k, s, p, ceil_mode=True), (2, n, n))
    assert rows(net(f"2x{n}x{n}", f"maxpool({k}, s={s}, p={p}, ceil=true)"))[0][0] == expected


@pytest.mark.parametrize(("k", "d"), [(3, 1), (5, 1), (3, 2), (3, 3), (7, 2), (1, 4)])
@pytest.mark.independent
def test_same_padding_and_dilation(k, d):
    torch = pytest.importorskip("torch")
    conv = torch.nn.Conv2d(3, 4, k, dilation=d, padding="same")
    expected = torch_shape(conv, (3, 11, 9))
    assert expected == (4, 11, 9)
    params = sum(p.numel() for p in conv.parameters())
    assert rows(net("3x11x9", f"conv(4, k={k}, d={d}, p=same)"))[0][:2] == (expected, params)


def test_same_padding_impossible():
    assert error(net("3x8x8", "conv(4, k=4, p=same)")).code.value == "E205"
    diag = error(net("3x8x8", "conv(4, k=3, s=2, p=same)"))
    assert (diag.code.value, diag.span.line, diag.span.col) == ("E205", 3, 5)


@pytest.mark.parametrize(("c_in", "out", "groups"), [(32, 32, 32), (32, 64, 32), (12, 8, 4),
                                                      (6, 6, 1)])
@pytest.mark.independent
def test_grouped_and_depthwise_parameters(c_in, out, groups):
    torch = pytest.importorskip("torch")
    conv = torch.nn.Conv2d(c_in, out, 3, groups=groups, padding=1)
    params = sum(p.numel() for p in conv.parameters())
    shape, got_params, macs = rows(net(f"{c_in}x10x10", f"conv({out}, k=3, p=1, "
                                       f"groups={groups})"))[0]
    assert (shape, got_params) == ((out, 10, 10), params)
    assert macs == 10 * 10 * out * 9 * (c_in // groups)


def test_groups_must_divide_channels():
    diag = error(net("6x8x8", "conv(8, k=3, groups=4)"))
    assert (diag.code.value, diag.span.line) == ("E202", 3)


@pytest.mark.parametrize(("k", "s", "p", "op", "d"), [(2, 2, 0, 0, 1), (3, 2, 1, 1, 1),
                                                       (4, 2, 1, 0, 1), (3, 1, 0, 0, 2)])
@pytest.mark.independent
def test_transposed_conv_matches_torch(k, s, p, op, d):
    torch = pytest.importorskip("torch")
    layer = torch.nn.ConvTranspose2d(4, 6, k, stride=s, padding=p, output_padding=op, dilation=d)
    expected = torch_shape(layer, (4, 5, 7))
    params = sum(q.numel() for q in layer.parameters())
    shape, got, macs = rows(net("4x5x7", f"conv_t(6, k={k}, s={s}, p={p}, output_padding={op}, "
                                f"d={d})"))[0]
    assert (shape, got) == (expected, params)
    assert macs == 4 * 5 * 7 * k * k * 6  # every input position scatters a k x k x 6 window


def test_kernel_larger_than_input():
    diag = error(net("1x8x8", "conv(4, k=9)"))
    assert (diag.code.value, diag.span.line, diag.span.col) == ("E201", 3, 5)
    assert "8 + 2*0 = 8" in diag.message


# ---- merges ---------------------------------------------------------------------------------

def test_broadcasting_multiply_and_add():
    # squeeze-and-excitation: a Cx1x1 gate scales the CxHxW map
    text = net("8x6x6", "-> x global_avgpool conv(8, k=1) sigmoid mul(x)", "-> y relu add(y)")
    assert [r[0] for r in rows(text)][-3:] == [(8, 6, 6), (8, 6, 6), (8, 6, 6)]


def test_broadcast_mismatch():
    diag = error(net("8x6x6", "-> x conv(4, k=1) add(x)"))
    assert (diag.code.value, diag.span.line, diag.span.col) == ("E207", 3, 23)
    assert "4x6x6, 8x6x6 do not broadcast" in diag.message


def test_broadcast_follows_the_batched_tensors():
    """Regression: (N, C) against (N, C, H, W) aligns C with W (and N with H) in PyTorch, so a
    flat gate cannot scale a map even when C == W; it used to pass `check` and crash `build`."""
    diag = error(net("4x4x4", "-> x", "global_avgpool flatten", "mul(x)"))
    assert (diag.code.value, diag.span.line, diag.span.col) == ("E207", 5, 5)
    assert "(N, 4) and (N, 4, 4, 4)" in diag.message
    assert "global_avgpool` keeps Cx1x1" in diag.hint
    diag = error(net("8x1x1", "-> x", "flatten", "add(x)"))  # every axis 1 or equal: still no
    assert diag.code.value == "E207"


def test_tensor_saved_in_a_side_head_is_not_on_the_main_path():
    """Regression: the head runs only in training, so the main path cannot read what it saves
    (it used to report 0 MACs for the conv and crash `build` with UnboundLocalError)."""
    diag = error(net("3x8x8", "-> x", "side s { conv(4, k=1) -> y }", "concat(y)"))
    assert (diag.code.value, diag.span.line, diag.span.col) == ("E108", 5, 12)
    assert "inside side output `s`" in diag.message


def test_side_head_may_reuse_a_name_without_hiding_the_main_one():
    text = net("3x8x8", "-> x", "side s { conv(4, k=1) -> x conv(4, k=1) add(x) }",
               "conv(3, k=1)", "add(x)")
    analysis = archc.loads(text, FILE).analysis
    assert analysis.output == (3, 8, 8)
    assert analysis.totals.macs == 8 * 8 * 3 * 3  # the main conv only


# ---- channels-last layout, per-position layers (issue 10) -----------------------------------

def test_linear_at_every_position_of_a_channels_last_map():
    text = net("16x5x7", "permute(0, 2, 3, 1)", "layernorm", "linear(32)", "gelu",
               "linear(16, bias=false)", "permute(0, 3, 1, 2)")
    r = rows(text)
    assert [x[0] for x in r] == [(5, 7, 16), (5, 7, 16), (5, 7, 32), (5, 7, 32), (5, 7, 16),
                                 (16, 5, 7)]
    assert r[1][1:] == (2 * 16, 0)  # a weight and a bias per channel
    assert r[2][1:] == (16 * 32 + 32, 5 * 7 * 16 * 32)  # H*W*in*out
    assert r[4][1:] == (32 * 16, 5 * 7 * 32 * 16)


def test_layernorm_over_channels_of_a_map_and_a_flat_vector():
    assert rows(net("24x3x3", "layernorm(eps=1e-6)"))[0] == ((24, 3, 3), 48, 0)
    assert rows(net("24", "layernorm(affine=false)"))[0] == ((24,), 0, 0)


def test_channels_last_tensor_is_refused_by_channel_first_kinds():
    diag = error(net("8x4x4", "permute(0, 2, 3, 1)", "conv(8, k=1)"))
    assert (diag.code.value, diag.span.line) == ("E206", 4)
    assert "channels last" in diag.message and "permute(0, 3, 1, 2)" in diag.hint
    diag = error(net("8x4x4", "linear(8)"))  # a CxHxW map: flatten or permute first
    assert diag.code.value == "E206" and "permute(0, 2, 3, 1)" in diag.hint


@pytest.mark.parametrize(("dims", "fragment"), [
    ("(0, 2, 3)", "not an order"), ("(1, 0, 2, 3)", "batch axis"),
    ("(0, 2, 1, 3)", "channels first or last")])
def test_bad_permutes(dims, fragment):
    diag = error(net("8x4x4", f"permute{dims}"))
    assert diag.code.value == "E104" and fragment in diag.message


def test_layer_scale_stochastic_depth_and_chunk_counts():
    r = rows(net("12x4x4", "layer_scale", "stochastic_depth(0.1)", "chunk(3, 2)"))
    assert r == [((12, 4, 4), 12, 0), ((12, 4, 4), 0, 0), ((4, 4, 4), 0, 0)]
    assert error(net("12x4x4", "chunk(5, 0)")).code.value == "E202"
    assert error(net("12x4x4", "chunk(3, 3)")).code.value == "E104"


def test_residual_mismatch_is_located():
    text = net("8x8x8", "conv(8, k=1)", "residual { conv(16, k=3, s=2, p=1) }")
    diag = error(text)
    assert (diag.code.value, diag.span.line, diag.span.col) == ("E203", 4, 5)
    assert "16x4x4" in diag.message and "8x8x8" in diag.message
    assert "shortcut" in diag.hint


def test_residual_with_projection_fits():
    text = net("8x8x8", "residual { conv(16, k=3, s=2, p=1) } shortcut { conv(16, k=1, s=2) }")
    assert rows(text)[-1][0] == (16, 4, 4)


def test_concat_adds_channels_and_needs_equal_maps():
    text = net("8x8x8", "concat { branch { conv(3, k=1) } branch { conv(5, k=3, p=1) } "
               "branch { maxpool(3, s=1, p=1) } }")
    assert rows(text)[-1][0] == (3 + 5 + 8, 8, 8)
    diag = error(net("8x8x8", "concat { branch { conv(3, k=1) } branch { conv(5, k=3) } }"))
    assert (diag.code.value, diag.span.line, diag.span.col) == ("E204", 3, 5)


def test_rank_mismatch():
    diag = error(net("3x8x8", "linear(10)"))
    assert (diag.code.value, diag.span.line, diag.span.col) == ("E206", 3, 5)
    assert diag.hint.startswith("add `flatten` before it")


def test_errors_do_not_cascade():
    # the first failure poisons the layers after it; an independent branch still reports
    text = net("3x8x8", "concat { branch { conv(4, k=9) relu linear(3) } "
               "branch { linear(2) } }")
    with pytest.raises(ArchcError) as caught:
        archc.loads(text, FILE)
    assert [d.code.value for d in caught.value.diagnostics] == ["E201", "E206"]


def test_output_cap():
    diag = error(net("3x8x8", "upsample(100000) upsample(1000)"))
    assert (diag.code.value, diag.span.col) == ("E304", 22)


@pytest.mark.independent
def test_totals():
    analysis = archc.loads(net("3x32x32", "conv(10, k=5, p=2) bn relu",
                               "side aux { global_avgpool flatten linear(2) }",
                               "flatten linear(4)"), FILE).analysis
    main = 760 + 20 + 10 * 32 * 32 * 4 + 4
    assert analysis.totals.params == main + 10 * 2 + 2
    assert analysis.totals.macs == 768_000 + 10 * 32 * 32 * 4  # side MACs apart
    (side,) = analysis.side_outputs
    assert (side.name, side.params, side.macs) == ("aux", 22, 20)


# ---- found by tests/test_properties.py -----------------------------------------------------

@pytest.mark.parametrize(("s", "d", "op", "ok"), [(1, 1, 1, False), (2, 1, 1, True),
                                                  (2, 1, 2, False), (1, 2, 1, True)])
def test_output_padding_below_stride_or_dilation(s, d, op, ok):
    # torch: "output padding must be smaller than either stride or dilation"
    text = net("2x3x3", f"conv_t(2, k=3, s={s}, d={d}, output_padding={op})")
    if ok:
        assert archc.loads(text, FILE).layers[0].output[0] == 2
    else:
        assert error(text).code.value == "E104"


@pytest.mark.parametrize(("k", "p", "d", "ok"), [(2, 1, 3, True), (2, 2, 3, False),
                                                  (3, 2, 2, False), (4, 2, 1, True)])
def test_pool_padding_at_most_half_the_kernel(k, p, d, ok):
    # torch checks the kernel size itself, whatever the dilation
    text = net("1x9x9", f"maxpool({k}, s=1, p={p}, d={d})")
    if ok:
        assert archc.loads(text, FILE).layers
    else:
        assert error(text).code.value == "E104"
