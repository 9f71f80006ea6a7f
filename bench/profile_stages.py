"""Profile the pipeline (parse, expand, graph, analyze) on one spec with cProfile.

    python bench/profile_stages.py specs/resnet152.arch [--sort tottime] [--top 25]
    python bench/profile_stages.py --generate plain 100000

Imports happen before profiling starts, so the profile shows the work, not the start-up (see
`python -X importtime` for that, which bench/run.py summarises).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("spec", nargs="?", help="a spec file")
    parser.add_argument("--generate", nargs=2, metavar=("SHAPE", "LAYERS"),
                        help="profile a generated spec instead (plain, residual, concat)")
    parser.add_argument("--sort", default="tottime")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    from archc.api import loads
    from archc.parse import parser as lark_parser

    if args.generate:
        from bench.gen_specs import generate

        text, name = generate(args.generate[0], int(args.generate[1])), "generated.arch"
    elif args.spec:
        text, name = Path(args.spec).read_text(encoding="utf-8"), args.spec
    else:
        parser.error("give a spec file or --generate SHAPE LAYERS")
    lark_parser()  # the parser tables load once per process: not part of the work
    profile = cProfile.Profile()
    profile.runcall(loads, text, name)
    pstats.Stats(profile).sort_stats(args.sort).print_stats(args.top)


if __name__ == "__main__":
    main()
