"""PyTorch recounts an emitted module layer by layer (imported only by tests that have torch).

The analyzer's totals are, by definition, the sums of its rows; a test that adds the rows up
again compares the program with itself. What can fail is each row against PyTorch: the
parameters of the module the row names, and the flops `FlopCounterMode` counts while that
module runs in a forward pass.
"""

from __future__ import annotations

import torch
from torch.utils.flop_counter import FlopCounterMode

from archc.api import Model
from archc.codegen.names import module_path

BATCH = 2  # training-mode batch norm needs more than one value per channel


def module_counts(net: torch.nn.Module, input_shape: tuple[int, ...]) -> dict[str, tuple]:
    """module path -> (parameters, flops per sample) of one training-mode forward pass, in
    which side outputs run too. `net` lives on the meta device: no arithmetic is done. A
    module's flops are the counter's growth between its forward hooks (independent of how a
    torch version names modules in `get_flop_counts`)."""
    net.train()
    flops: dict[str, int] = {}
    started: dict[str, int] = {}
    with FlopCounterMode(display=False) as counter:
        def before(name: str):
            def hook(_module, _inputs) -> None:
                started[name] = counter.get_total_flops()
            return hook

        def after(name: str):
            def hook(_module, _inputs, _output) -> None:
                grown = counter.get_total_flops() - started.pop(name)
                flops[name] = flops.get(name, 0) + grown
            return hook

        handles = []
        for name, sub in net.named_modules():
            handles += [sub.register_forward_pre_hook(before(name)),
                        sub.register_forward_hook(after(name))]
        try:
            net(torch.empty(BATCH, *input_shape, device="meta"))
        finally:
            for handle in handles:
                handle.remove()
    counts = {}
    for name, sub in net.named_modules():
        assert flops.get(name, 0) % BATCH == 0, (name, flops.get(name))
        counts[name] = (sum(p.numel() for p in sub.parameters()), flops.get(name, 0) // BATCH)
    # A layer held as a bare parameter of its enclosing module (torchvision's `layer_scale`)
    # has no module of its own: its count is that parameter's, and it runs no counted op.
    for name, param in net.named_parameters():
        counts.setdefault(name, (param.numel(), 0))
    return counts


def assert_rows_match_torch(model: Model, net: torch.nn.Module) -> None:
    """Every analyzer row has the parameters and 2x the MACs PyTorch counts for its module; a
    row with no module of its own (add, concat, flatten, ...) has neither."""
    counts = module_counts(net, model.analysis.input)
    wrong = []
    for row in model.analysis.layers:
        params, flops = counts.get(module_path(row.name), (0, 0))
        if (row.params, 2 * row.macs) != (params, flops):
            wrong.append(f"{row.name}: archc {row.params:,} params / {row.macs:,} MACs, "
                         f"torch {params:,} / {flops // 2:,}")
    assert not wrong, "\n".join(wrong)
