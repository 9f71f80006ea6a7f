"""Memory: the bytes autograd saves for backward, measured with
torch.autograd.graph.saved_tensors_hooks on the emitted module in training mode (unique storages,
parameters and buffers excluded), equal archc's figure within TOLERANCE for every spec of the
zoo, the examples and the every-kind test file."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

import archc
from archc.cli import main
from archc.errors import ArchcError
from archc.insight.memory import estimate
from tests.conftest import ROOT, spec_paths

torch = pytest.importorskip("torch")

TOLERANCE = 0.01  # relative; the per-spec differences measured are listed in the README
BATCH = 2
SIZES = (64, 96, 128, 160, 224)  # the smallest input each spec accepts keeps the test fast


def _model(path, network=None):
    """The spec at the smallest input size it accepts (3 channels kept)."""
    model = archc.load(path, network)
    c, *spatial = model.analysis.input
    if len(spatial) != 2:
        return model
    for size in SIZES:
        if size >= min(spatial):
            return model
        try:
            return archc.load(path, network, (c, size, size))
        except ArchcError:
            continue
    return model


def measure_saved(model, dtype=torch.float32) -> int:
    from archc.codegen.build import import_source
    from archc.codegen.pytorch import generate

    generated = generate(model)
    torch.manual_seed(0)
    net = getattr(import_source(generated.source), generated.class_name)().to(dtype).train()
    state = {t.untyped_storage().data_ptr() for t in (*net.parameters(), *net.buffers())}
    storages: dict[int, int] = {}

    kept: list = []  # alive until the forward ends, as autograd would keep them

    def pack(tensor):
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in state:
            storages[storage.data_ptr()] = storage.nbytes()
        # The graph gets an index, not the tensor: a tensor packed into its own grad_fn makes
        # a cycle Python's collector cannot see, and every network measured stayed in memory.
        kept.append(tensor)
        return len(kept) - 1

    x = torch.randn(BATCH, *model.analysis.input, dtype=dtype)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda index: kept[index]):
        out = net(x)
    del out
    kept.clear()
    return sum(storages.values())


def _cases():
    cases = []
    for path in spec_paths(with_test_data=True):
        text = path.read_text()
        names = [line.split()[1] for line in text.splitlines() if line.startswith("network ")]
        cases += [(path, name) for name in names] if len(names) > 1 else [(path, None)]
    return cases


@pytest.mark.independent  # measured by PyTorch itself
@pytest.mark.parametrize("path,network", _cases(),
                         ids=lambda v: getattr(v, "stem", v) or "")
def test_saved_activation_bytes_match_pytorch(path, network):
    model = _model(path, network)
    measured = measure_saved(model)
    predicted = estimate(model, batch=BATCH).saved_bytes
    assert abs(predicted - measured) <= TOLERANCE * measured, (predicted, measured)


@pytest.mark.independent  # measured by PyTorch itself
def test_bf16_halves_the_saved_bytes_and_matches():
    model = _model(ROOT / "specs/resnet18.arch")
    measured = measure_saved(model, torch.bfloat16)
    predicted = estimate(model, batch=BATCH, dtype="bf16").saved_bytes
    assert abs(predicted - measured) <= TOLERANCE * measured


@pytest.mark.independent  # measured by PyTorch itself
def test_parameters_gradients_and_adamw_state():
    """AdamW keeps exp_avg and exp_avg_sq per parameter: measured on the optimizer itself."""
    model = archc.load(ROOT / "examples/lenet5.arch")
    from archc.codegen.build import import_source
    from archc.codegen.pytorch import generate

    generated = generate(model)
    net = getattr(import_source(generated.source), generated.class_name)()
    opt = torch.optim.AdamW(net.parameters())
    net(torch.randn(2, *model.analysis.input)).sum().backward()
    opt.step()
    state = sum(t.numel() * t.element_size() for s in opt.state.values() for t in s.values()
                if t.dim() > 0)
    grads = sum(p.grad.numel() * p.grad.element_size() for p in net.parameters())
    memory = estimate(model, dtype="fp32", optimizer="adamw")
    assert memory.optimizer_bytes == state and memory.grads_bytes == grads
    assert memory.params_bytes == 4 * 61_706  # reference-figures.md: LeNet-5 parameters


def test_memory_command_and_params_totals():
    out = CliRunner().invoke(main, ["memory", str(ROOT / "specs/resnet18.arch"), "--batch", "64",
                                    "--dtype", "bf16", "--optimizer", "adamw"]).output
    assert "saved for backward" in out.lower() and "AdamW" in out
    params = CliRunner().invoke(main, ["params", str(ROOT / "specs/resnet18.arch")]).output
    assert "Training memory" in params


@pytest.mark.independent  # hand arithmetic
def test_inference_peak_by_hand():
    """1x8x8 -> conv 4 (3x3, p=1) -> relu (in place) -> conv 2 (1x1), fp32: the relu output
    (256 values) and the last conv's output (128) are live together: 384 * 4 = 1,536 bytes,
    more than input + first conv (64 + 256 = 320 values); parameters (36+4) + (8+2) = 50."""
    model = archc.loads("network P { input 1x8x8 conv(4, k=3, p=1) relu conv(2, k=1) }")
    assert estimate(model).inference_peak_bytes == 1_536 + 50 * 4


def test_params_json_carries_memory_totals():
    import json

    doc = json.loads(CliRunner().invoke(main, ["params", str(ROOT / "examples/lenet5.arch"),
                                               "--format", "json"]).output)
    # fp32 AdamW: params + grads + 2 states = 4 x 61,706 x 4 bytes, plus what autograd saves
    assert doc["memory"]["training_bytes"] == 16 * 61_706 + doc["memory"]["saved_bytes"]


MODERN = {  # views, permuted maps and the new kinds, each where its saving rule matters
    # matmul keeps a contiguous copy of the permuted relu output (which relu also keeps)
    "permuted_linear": "network A { input 3x8x8 conv(8, k=3, p=1) relu permute(0, 2, 3, 1) "
                       "gelu linear(16) gelu linear(8) permute(0, 3, 1, 2) }",
    # permuting back and forth makes the map contiguous again: no copy
    "round_trip": "network F { input 3x8x8 conv(8, k=3, p=1) permute(0, 2, 3, 1) linear(16) "
                  "permute(0, 3, 1, 2) permute(0, 2, 3, 1) linear(4) }",
    "convnext": "network B { input 3x8x8 conv(8, k=3, p=1) relu permute(0, 2, 3, 1) layernorm "
                "linear(16) layer_scale(0.1) permute(0, 3, 1, 2) relu }",
    "swapped": "network C { input 3x8x10 conv(8, k=3, p=1) permute(0, 3, 2, 1) relu layer_scale "
               "permute(0, 3, 2, 1) conv(4, k=3) }",
    # a convolution keeping a chunk keeps the whole tensor the chunk views
    "chunks": "network D { input 3x8x8 conv(8, k=3, p=1) -> x concat { branch { chunk(4, 1) "
              "conv(6, k=1) } branch { chunk(4, 3) relu } } stochastic_depth(0.5) add(x) }",
    "stochastic": "network E { input 3x8x8 conv(8, k=3, p=1) layernorm stochastic_depth(0.0) relu "
                  "stochastic_depth(0.3, batch) conv(4, k=1) }",
}


@pytest.mark.independent  # measured by PyTorch itself
@pytest.mark.parametrize("name", sorted(MODERN))
def test_saved_bytes_of_views_and_channels_last_maps(name):
    model = archc.loads(MODERN[name])
    measured = measure_saved(model)
    assert estimate(model, batch=BATCH).saved_bytes == measured


@pytest.mark.independent  # hand arithmetic
def test_inference_peak_keeps_a_chunked_tensor_until_its_last_view():
    """4x4x4 input (64 values) -> chunk(2, 0) and chunk(2, 1) in two branches -> conv 1x1 each
    (16 values out per branch) -> concat (32): the input lives until the second conv has run,
    so the peak is input + both conv outputs = 64 + 16 + 16 = 96 values (the concat then holds
    16 + 16 + 32 = 64); parameters 2 * (2 + 1) = 6. Freeing the input with the first chunk's
    reader would give 80."""
    model = archc.loads("network P { input 4x4x4 concat { branch { chunk(2, 0) conv(1, k=1) } "
                        "branch { chunk(2, 1) conv(1, k=1) } } }")
    assert estimate(model).inference_peak_bytes == (96 + 6) * 4
