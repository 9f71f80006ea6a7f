"""Classes the emitted PyTorch file defines for kinds that torch.nn lacks, as source text.

Each is written out once, only in files that use it, so an emitted module still needs
nothing but torch. They reproduce torchvision's modules (same arithmetic, same state_dict
keys: LayerNorm2d keeps nn.LayerNorm's weight/bias, the others hold no state).
"""

from __future__ import annotations

SUPPORT: dict[str, str] = {
    "LayerNorm2d": '''class LayerNorm2d(nn.LayerNorm):
    """Layer normalisation of the channels at every position of an NCHW map (as
    torchvision.models.convnext.LayerNorm2d)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 2, 3, 1)
        x = nn.functional.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)
''',
    "Permute": '''class Permute(nn.Module):
    """The input's axes in a new order (as torchvision.ops.misc.Permute)."""

    def __init__(self, dims: tuple[int, ...]) -> None:
        super().__init__()
        self.dims = list(dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.permute(x, self.dims)
''',
    "StochasticDepth": '''class StochasticDepth(nn.Module):
    """In training, zeroes the input per sample (mode "row") or whole (mode "batch") with
    probability p and scales what survives by 1 / (1 - p); the identity in eval mode (as
    torchvision.ops.StochasticDepth)."""

    def __init__(self, p: float, mode: str) -> None:
        super().__init__()
        self.p = p
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        survival = 1.0 - self.p
        size = [x.shape[0]] + [1] * (x.ndim - 1) if self.mode == "row" else [1] * x.ndim
        noise = torch.empty(size, dtype=x.dtype, device=x.device).bernoulli_(survival)
        if survival > 0.0:
            noise.div_(survival)
        return x * noise

    def extra_repr(self) -> str:
        return f"p={self.p}, mode={self.mode}"
''',
}
