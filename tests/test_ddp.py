"""An emitted module trains under DistributedDataParallel: `torchrun --nproc_per_node 2`,
gloo backend, on CPU. Each rank sees different data; after each step the gradients must be
the same on both ranks and equal to the mean of the ranks' local gradients (computed without
synchronisation), and the weights must stay identical."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torch.distributed")

ROOT = Path(__file__).resolve().parent.parent

WORKER = r'''
import json, sys
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP
import archc

dist.init_process_group("gloo")
rank, world = dist.get_rank(), dist.get_world_size()
torch.manual_seed(0)  # the same initial weights on every rank (DDP also broadcasts rank 0's)
net = archc.build_module(sys.argv[1])
model = DDP(net)
opt = torch.optim.SGD(model.parameters(), lr=0.1)
data = torch.Generator().manual_seed(100 + rank)  # different data on each rank
report = {"steps": []}


def flat_grads(module):
    return torch.cat([p.grad.reshape(-1) for p in module.parameters()])


for step in range(2):
    x = torch.randn(4, 3, 32, 32, generator=data)
    y = torch.randint(0, 10, (4,), generator=data)
    # the local gradient of this rank's batch, without synchronisation
    opt.zero_grad()
    with model.no_sync():
        torch.nn.functional.cross_entropy(model(x), y).backward()
    local = flat_grads(model).clone()
    expected = local.clone()
    dist.all_reduce(expected)
    expected /= world
    # the real step: DDP averages the gradients across ranks in backward
    opt.zero_grad()
    loss = torch.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    synced = flat_grads(model)
    gathered = [torch.empty_like(synced) for _ in range(world)]
    dist.all_gather(gathered, synced)
    opt.step()
    weights = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
    all_weights = [torch.empty_like(weights) for _ in range(world)]
    dist.all_gather(all_weights, weights)
    report["steps"].append({
        "loss": loss.item(),
        "grad_norm": synced.norm().item(),
        "ranks_agree": max((g - gathered[0]).abs().max().item() for g in gathered),
        "vs_mean_of_local": (synced - expected).abs().max().item(),
        "local_differs": (local - synced).abs().max().item(),
        "weights_agree": max((w - all_weights[0]).abs().max().item() for w in all_weights),
    })
if rank == 0:
    with open(sys.argv[2], "w") as f:
        json.dump(report, f)
dist.destroy_process_group()
'''


@pytest.mark.independent  # PyTorch's own all-reduce is the reference
def test_two_steps_under_torchrun(tmp_path):
    worker = tmp_path / "worker.py"
    worker.write_text(WORKER, encoding="utf-8")
    result_file = tmp_path / "result.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               "--nproc_per_node", "2", str(worker), str(ROOT / "examples/se_block.arch"),
               str(result_file)]
    run = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    steps = json.loads(result_file.read_text())["steps"]
    assert len(steps) == 2
    for step in steps:
        assert step["grad_norm"] > 0
        assert step["local_differs"] > 0  # the ranks saw different data: syncing did something
        assert step["ranks_agree"] == 0.0  # all-reduced gradients: the same bits on every rank
        assert step["vs_mean_of_local"] <= 1e-6 * max(1.0, step["grad_norm"])
        assert step["weights_agree"] == 0.0
