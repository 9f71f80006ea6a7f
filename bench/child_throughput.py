"""Child process: forward throughput of the ResNet-50 archc emitted against the hand-written
torchvision-layout ResNet-50 in tests/reference_models.py, on whatever device is present.

Both models get the same weights and the same input (and must give the same output); rounds
alternate between them (so drift in machine load hits both alike), each after warm-up, under
torch.inference_mode; the median per model is reported.

    python bench/child_throughput.py EMITTED.py --batch 32 --rounds 5
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _models(emitted: str):
    """Both models with the same weights: the emitted one gets the reference's state, tensor
    by tensor in registration order (the layouts match; names differ only in `shortcut` vs
    `downsample`), so the comparison is of code, not of random initialisations."""
    sys.path.insert(0, str(ROOT))
    from bench.child_tools import load_network
    from tests.reference_models import resnet50

    ours, reference = load_network(emitted), resnet50().eval()
    mine, theirs = ours.state_dict(), reference.state_dict()
    assert [v.shape for v in mine.values()] == [v.shape for v in theirs.values()]
    ours.load_state_dict(dict(zip(mine.keys(), theirs.values(), strict=True)))
    return {"emitted": ours, "reference": reference}


def _sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize()


def _time_once(model, batch, device) -> float:
    _sync(device)
    started = time.perf_counter()
    model(batch)
    _sync(device)
    return time.perf_counter() - started


def measure(emitted: str, batch_size: int, rounds: int, warmup: int) -> dict:
    import torch

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    models = {name: model.to(device) for name, model in _models(emitted).items()}
    batch = torch.randn(batch_size, 3, 224, 224, device=device)
    times: dict[str, list[float]] = {name: [] for name in models}
    with torch.inference_mode():
        same = torch.allclose(models["emitted"](batch), models["reference"](batch), atol=1e-4)
        for model in models.values():
            for _ in range(warmup):
                model(batch)
        for _ in range(rounds):
            for name, model in models.items():
                times[name].append(_time_once(model, batch, device))
    median = {name: statistics.median(values) for name, values in times.items()}
    return {"device": str(device), "threads": torch.get_num_threads(), "batch": batch_size,
            "same_output": same, "median_s": median, "times": times,
            "images_per_s": {n: batch_size / t for n, t in median.items()},
            "ratio": median["reference"] / median["emitted"]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("emitted")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    args = parser.parse_args()
    print(json.dumps(measure(args.emitted, args.batch, args.rounds, args.warmup)))


if __name__ == "__main__":
    main()
