"""The registry of layer kinds: the one place a layer's meaning is written.

Both the analyzer and the code generator read `REGISTRY`; nothing outside
`archc.layers` special-cases a kind. Adding a layer = one class + one entry here.
"""

from __future__ import annotations

from archc.layers import activation, conv, dense, merge, norm, pool, reshape, residual
from archc.layers.base import Args, LayerError, LayerKind, Shape, TorchCall

_KINDS: tuple[type[LayerKind], ...] = (
    conv.Conv, conv.Conv1d, conv.ConvTranspose,
    pool.MaxPool, pool.AvgPool, pool.MaxPool1d, pool.AvgPool1d,
    pool.AdaptiveAvgPool, pool.AdaptiveMaxPool, pool.GlobalAvgPool, pool.GlobalMaxPool,
    pool.Upsample,
    dense.Linear, dense.Flatten, dense.Dropout, dense.Dropout2d, dense.BatchNorm,
    norm.LayerNorm, norm.GroupNorm, norm.InstanceNorm, norm.LocalResponseNorm,
    activation.ReLU, activation.ReLU6, activation.LeakyReLU, activation.PReLU, activation.ELU,
    activation.Sigmoid, activation.Hardsigmoid, activation.Tanh, activation.SiLU,
    activation.Swish, activation.Hardswish, activation.GELU, activation.Mish, activation.Softmax,
    reshape.Identity, reshape.ZeroPad, reshape.PixelShuffle, reshape.ChannelShuffle,
    reshape.Permute, reshape.Chunk, residual.LayerScale, residual.StochasticDepth,
    merge.Add, merge.Mul, merge.Concat, merge.ResidualAdd,
)

REGISTRY: dict[str, LayerKind] = {kind.name: kind() for kind in _KINDS}

__all__ = ["REGISTRY", "Args", "LayerError", "LayerKind", "Shape", "TorchCall"]
