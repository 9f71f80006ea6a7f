"""Child process: what a user would run instead of `archc params` on a network archc emitted.
Imports torch and the tool, instantiates the module from the emitted file, runs the tool on a
1x3x224x224 input, and prints its totals as JSON. The whole process is what gets timed.

    python bench/child_tools.py torchinfo EMITTED.py
    python bench/child_tools.py fvcore EMITTED.py
    python bench/child_tools.py torchinfo torchvision:resnet50   (torchvision's own module)
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

INPUT = (1, 3, 224, 224)


def load_network(path: str):
    """The network class is the last class in a file archc emitted (blocks come first), or
    `torchvision:NAME`: torchvision's own model of that name (untrained), as a user would
    summarise it (importing torchvision is then part of the process)."""
    if path.startswith("torchvision:"):
        import torchvision

        return torchvision.models.get_model(path.partition(":")[2], weights=None).eval()
    classes = re.findall(r"^class (\w+)\(nn\.Module\):", Path(path).read_text(), re.M)
    spec = importlib.util.spec_from_file_location("emitted", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, classes[-1])().eval()


def run_torchinfo(path: str) -> dict:
    import torchinfo

    stats = torchinfo.summary(load_network(path), input_size=INPUT, verbose=0)
    return {"params": stats.total_params, "macs": stats.total_mult_adds}


def run_fvcore(path: str) -> dict:
    import torch
    from fvcore.nn import FlopCountAnalysis, parameter_count

    net = load_network(path)
    flops = FlopCountAnalysis(net, torch.zeros(INPUT))
    flops.unsupported_ops_warnings(False)
    flops.uncalled_modules_warnings(False)
    return {"params": parameter_count(net)[""], "macs": flops.total()}


if __name__ == "__main__":
    tool, emitted = sys.argv[1], sys.argv[2]
    result = {"torchinfo": run_torchinfo, "fvcore": run_fvcore}[tool](emitted)
    print(json.dumps(result))
