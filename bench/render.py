"""`archc render` speed: the zoo's largest networks drawn collapsed and fully expanded.

    python bench/render.py            # prints a Markdown table; exit 1 past the target

Target (issue 13): the expanded ResNet-152 lays out in a few seconds (< 3 s here, layout and
SVG writing, parse and analysis excluded). Best of 3, in this process.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import archc  # noqa: E402

TARGET_S = 3.0


def best(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> int:
    print("| spec | expand | format | boxes | seconds |\n|---|---|---|---|---|")
    worst = 0.0
    for name in ("resnet152", "googlenet_aux", "vgg19"):
        model = archc.load(ROOT / "specs" / f"{name}.arch")
        for expand in (None, "all"):
            for fmt in ("svg", "html"):
                seconds = best(lambda: archc.render(model, fmt, expand))  # noqa: B023
                boxes = archc.render(model, "svg", expand).count('class="box ')
                print(f"| {name} | {expand or 'collapsed'} | {fmt} | {boxes} | {seconds:.3f} |")
                if name == "resnet152" and expand == "all":
                    worst = max(worst, seconds)
    print(f"\nexpanded ResNet-152: {worst:.2f} s (target < {TARGET_S} s)")
    return 0 if worst < TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
