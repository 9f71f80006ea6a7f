"""Flags that change values, not only shapes: the emitted module computes the numbers a person
computes by hand.

Each case compiles a one-layer spec, builds the PyTorch module archc emits, sets its weights
to small integers, feeds a known tensor and compares the output with a tensor worked out
below by hand (not with torch's own op called with the same flag, which would only repeat
what the generated code does).
"""

from __future__ import annotations

import pytest

import archc

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.independent

X3 = [[1.0, 2.0, 3.0],
      [4.0, 5.0, 6.0],
      [7.0, 8.0, 9.0]]


def run(layer: str, dims: str, x: list, weight: list | None = None, bias: list | None = None):
    """Build `network N { input dims layer }`, set its one weight (and bias), run it on x."""
    net = archc.build_module(f"network N {{ input {dims} {layer} }}").eval()
    weighted = [m for m in net.modules() if getattr(m, "weight", None) is not None]
    assert len(weighted) == (1 if weight is not None else 0)
    with torch.no_grad():
        if weight is not None:
            expected = torch.tensor(weight)
            assert weighted[0].weight.shape == expected.shape  # PyTorch's weight layout
            weighted[0].weight.copy_(expected)
        if bias is not None:
            weighted[0].bias.copy_(torch.tensor(bias))
        return net(torch.tensor([x]))[0]


def same(got, expected: list) -> None:
    torch.testing.assert_close(got, torch.tensor(expected), rtol=0, atol=1e-5)


# ---- average pooling: are padded zeros counted? ------------------------------------------

# avgpool 3x3, stride 1, one ring of zero padding over X3. Window sums (padding adds 0):
#   corner (0,0): 1+2+4+5 = 12          edge (0,1): 1+2+3+4+5+6 = 21     centre: 45
SUMS = [[12, 21, 16], [27, 45, 33], [24, 39, 28]]
REAL = [[4, 6, 4], [6, 9, 6], [4, 6, 4]]  # input values under each window


@pytest.mark.parametrize("flag", ["", ", count_include_pad=true"])
def test_avgpool_counts_padding_by_default(flag):
    # every window divides by 3*3 = 9, padded zeros included: corner 12/9, centre 45/9 = 5
    got = run(f"avgpool(3, s=1, p=1{flag})", "1x3x3", [X3])
    same(got, [[[s / 9 for s in row] for row in SUMS]])


def test_avgpool_without_padding_in_the_count():
    # each window divides by the input values it covers: corner 12/4 = 3, edge 21/6 = 3.5
    got = run("avgpool(3, s=1, p=1, count_include_pad=false)", "1x3x3", [X3])
    # i.e. SUMS / REAL element by element
    same(got, [[[3.0, 3.5, 4.0], [4.5, 5.0, 5.5], [6.0, 6.5, 7.0]]])


# ---- ceil mode: the partial window at the edge ---------------------------------------------

def test_maxpool_ceil_keeps_the_partial_windows():
    # 2x2 windows, stride 2, over 3x3: floor keeps one window {1,2,4,5}; ceil adds the
    # partial ones {3,6}, {7,8} and {9}
    same(run("maxpool(2, s=2)", "1x3x3", [X3]), [[[5.0]]])
    same(run("maxpool(2, s=2, ceil=true)", "1x3x3", [X3]), [[[5.0, 6.0], [8.0, 9.0]]])


def test_avgpool_ceil_divides_a_partial_window_by_what_it_covers():
    # {1,2,4,5}/4 = 3, {3,6}/2 = 4.5, {7,8}/2 = 7.5, {9}/1 = 9: the part of a window past
    # the input is not padding, so it is never counted
    same(run("avgpool(2, s=2, ceil=true)", "1x3x3", [X3]), [[[3.0, 4.5], [7.5, 9.0]]])


# ---- dilation: the kernel's taps spread apart ----------------------------------------------

# X4[i][j] = 4i + j
X4 = [[4.0 * i + j for j in range(4)] for i in range(4)]


def test_dilated_conv_reads_every_other_value():
    # k=2, d=2: out[i][j] = 1*X[i][j] + 10*X[i][j+2] + 100*X[i+2][j] + 1000*X[i+2][j+2]
    # out[0][0] = 0 + 10*2 + 100*8 + 1000*10 = 10,820; out[1][1] = 5 + 70 + 1,300 + 15,000
    got = run("conv(1, k=2, d=2, bias=false)", "1x4x4", [X4], [[[[1.0, 10.0], [100.0, 1000.0]]]])
    same(got, [[[10_820.0, 11_931.0], [15_264.0, 16_375.0]]])


def test_dilated_maxpool():
    x = [[3.0, 0.0, 7.0, 1.0],
         [9.0, 2.0, 4.0, 8.0],
         [5.0, 6.0, 0.0, 2.0],
         [1.0, 7.0, 3.0, 4.0]]
    # out[i][j] = max(x[i][j], x[i][j+2], x[i+2][j], x[i+2][j+2])
    # (0,0): max(3,7,5,0) = 7; (0,1): max(0,1,6,2) = 6; (1,0): max(9,4,1,3) = 9; (1,1): 8
    same(run("maxpool(2, s=1, d=2)", "1x4x4", [x]), [[[7.0, 6.0], [9.0, 8.0]]])


# ---- transposed convolution: output_padding adds a row and a column -----------------------

def test_conv_t_output_padding():
    # k=2, s=2: input value x[i][j] writes x*w[a][b] at (2i+a, 2j+b); output_padding=1 adds a
    # last row and column that no input reaches, so they hold the bias alone. 5 = (2-1)*2 + 2 + 1
    x = [[1.0, 2.0], [3.0, 4.0]]
    w = [[1.0, 2.0], [3.0, 4.0]]
    got = run("conv_t(1, k=2, s=2, output_padding=1)", "1x2x2", [x], [[w]], [0.5])
    same(got, [[[1.5, 2.5, 2.5, 4.5, 0.5],  # 1*1, 1*2, 2*1, 2*2 (+0.5)
                [3.5, 4.5, 6.5, 8.5, 0.5],  # 1*3, 1*4, 2*3, 2*4
                [3.5, 6.5, 4.5, 8.5, 0.5],  # 3*1, 3*2, 4*1, 4*2
                [9.5, 12.5, 12.5, 16.5, 0.5],  # 3*3, 3*4, 4*3, 4*4
                [0.5, 0.5, 0.5, 0.5, 0.5]]])


# ---- groups: each output channel sees only its group's inputs ------------------------------

def test_grouped_conv_keeps_groups_apart():
    # 4 -> 4 channels, 1x1, groups=2: outputs 0,1 read inputs 0,1; outputs 2,3 read 2,3.
    # weights (4, 2, 1, 1): output o has taps (o+1) and 10(o+1)
    x = [[[1.0]], [[2.0]], [[3.0]], [[4.0]]]
    w = [[[[1.0]], [[10.0]]], [[[2.0]], [[20.0]]], [[[3.0]], [[30.0]]], [[[4.0]], [[40.0]]]]
    got = run("conv(4, k=1, groups=2, bias=false)", "4x1x1", x, w)
    # 1*1 + 10*2 = 21, 2*1 + 20*2 = 42, 3*3 + 30*4 = 129, 4*3 + 40*4 = 172
    same(got, [[[21.0]], [[42.0]], [[129.0]], [[172.0]]])
