"""Time `archc import` on torchvision models: one process per model, whole command (torch's
import included) and the import itself (trace, map, render, verify) measured inside it.

    PYTHONPATH=. python3 bench/importer.py [resnet50 vgg16 ...]
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

DEFAULT = ["resnet18", "resnet50", "vgg16", "alexnet", "googlenet", "mobilenet_v2",
           "densenet121", "efficientnet_b0", "regnet_y_400mf", "convnext_tiny"]
KWARGS = {"googlenet": {"aux_logits": False, "init_weights": False},
          "inception_v3": {"aux_logits": False, "init_weights": False}}

CHILD = """
import json, sys, time
t0 = time.perf_counter()
import torchvision, archc
name, kwargs = sys.argv[1], json.loads(sys.argv[2])
model = getattr(torchvision.models, name)(weights=None, **kwargs)
t1 = time.perf_counter()
text = archc.from_torch(model, (3, 299, 299) if name == "inception_v3" else (3, 224, 224))
t2 = time.perf_counter()
print(json.dumps({"setup_s": t1 - t0, "import_s": t2 - t1, "lines": text.count(chr(10))}))
"""


def main(names: list[str]) -> None:
    print("| model | whole process (s) | import itself (s) | spec lines |")
    print("|---|---|---|---|")
    for name in names:
        start = time.perf_counter()
        run = subprocess.run([sys.executable, "-c", CHILD, name, json.dumps(KWARGS.get(name, {}))],
                             capture_output=True, text=True)
        wall = time.perf_counter() - start
        if run.returncode != 0:
            print(f"| {name} | failed: {run.stderr.strip().splitlines()[-1][:80]} | | |")
            continue
        figures = json.loads(run.stdout.strip().splitlines()[-1])
        print(f"| {name} | {wall:.1f} | {figures['import_s']:.2f} | {figures['lines']} |")


if __name__ == "__main__":
    main(sys.argv[1:] or DEFAULT)
