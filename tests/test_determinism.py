"""Same input, same bytes out, whatever the interpreter's string-hash seed.

Two generations inside one process share one PYTHONHASHSEED, so a set or dict ordered by
hash would agree with itself there; only separate processes with different seeds can show
it. Each process writes everything a user or CI sees: the emitted PyTorch source, the JSON
and CSV reports, the lint findings in JSON, `fmt` output, and the errors (with their
did-you-mean suggestions) of a spec full of mistakes.
"""

from __future__ import annotations

import difflib
import os
import subprocess
import sys
import textwrap

from tests.conftest import ROOT, spec_paths

SEEDS = ["0", "1", "4242"]

BROKEN = """\
block unit(c) { conv(c, k=3, p=1) bn Relu }
network N {
    input 3x32x32
    Conv2d(8, kernel_size=3)
    unit(8, cc=3)
    residul { conv(8, k=3) }
    maxpool(2, stide=2)
    BatchNorm2d
    linear(10)
}
"""

SCRIPT = textwrap.dedent("""
    import sys
    from pathlib import Path
    from click.testing import CliRunner
    import archc, archc.parse
    from archc import report
    from archc.cli import main
    from archc.codegen.pytorch import generate

    paths, broken = [Path(p) for p in sys.argv[2:]], sys.argv[1]
    out = []
    for path in paths:
        text = path.read_text(encoding="utf-8")
        for net in archc.parse.parse_text(text, path.name).networks:
            model = archc.load(path, net.name)
            out += [generate(model, path.name).source, report.to_json(model.analysis),
                    report.to_csv(model.analysis)]
    runner = CliRunner()
    for args in (["lint", "--format", "json", "--select", "ALL", "-j", "1", *sys.argv[2:]],
                 ["check", broken], ["lint", "--format", "json", "-j", "1", broken],
                 ["fmt", "-", "--check"]):
        result = runner.invoke(main, args, input=Path(paths[0]).read_text())
        out += [" ".join(args[:2]), str(result.exit_code), result.output]
    print("\\n".join(out))
""")


def _run(seed: str, paths: list[str], broken: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", SCRIPT, broken, *paths], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_output_is_the_same_under_every_hash_seed(tmp_path):
    broken = tmp_path / "broken.arch"
    broken.write_text(BROKEN, encoding="utf-8")
    paths = [str(p) for p in spec_paths(with_test_data=True)]
    runs = {seed: _run(seed, paths, str(broken)) for seed in SEEDS}  # in parallel
    outputs = {}
    for seed, process in runs.items():
        stdout, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr[-2000:]
        outputs[seed] = stdout
    first = outputs[SEEDS[0]]
    assert "class " in first and '"totals"' in first and "error[E101]" in first  # it ran
    for seed in SEEDS[1:]:
        diff = "".join(list(difflib.unified_diff(
            first.splitlines(keepends=True), outputs[seed].splitlines(keepends=True),
            f"PYTHONHASHSEED={SEEDS[0]}", f"PYTHONHASHSEED={seed}"))[:60])
        assert outputs[seed] == first, diff
