"""Language server speed: re-analysis of specs/resnet152.arch after an edit (target < 50 ms).

    python bench/lsp.py [--rounds N] [SPEC]

Each figure is the median (and best) over N edits. Every edit changes a repeat count and makes
a text not seen before, so no answer comes from the server's cache of analysed texts:

- in process, with a whole parse and with the server's incremental parse: what the server
  computes for a changed text (the pipeline through `lint_text`, i.e. every check and lint
  diagnostic, the layer index for hover, the name index), then inlay hints and a hover;
- over stdio: a real client (pygls) sends didChange then a hover request to `archc lsp` and
  waits for the answer (JSON-RPC, the pipes, and the analysis the hover triggers).

Wall time and CPU time are both printed (the server's CPU time from /proc on Linux): on a
shared machine the wall time also counts the other processes' turns. Exit status 1 when the
wall-clock median over stdio misses the target.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TARGET_MS = 50.0


def _edit(text: str, round_: int) -> str:
    """A one-token edit (a repeat count) plus a comment that makes the text unique."""
    found = re.search(r"\) \* (\d+)", text)  # a call repeated N times
    if found is not None:
        count = int(found.group(1))
        new = str(max(1, count - 1 - round_ % 3))
        text = text[:found.start(1)] + new + text[found.end(1):]
    return text + f"# edit {round_}\n"


def _summary(label: str, wall: list[float], cpu: list[float] | None) -> str:
    text = f"{label}: median {statistics.median(wall):.1f} ms, best {min(wall):.1f} ms wall"
    if cpu:
        text += f"; CPU median {statistics.median(cpu):.1f} ms, best {min(cpu):.1f} ms"
    return text


def in_process(spec: Path, rounds: int, incremental: bool) -> list[float]:
    from archc.lsp import features
    from archc.lsp.document import analyse
    from archc.lsp.incremental import IncrementalParser

    text = spec.read_text()
    parse = IncrementalParser() if incremental else None
    analyse(text, str(spec), None, parse)  # warm: imports, validators, parser tables, cache
    wall, cpu, answers = [], [], []
    for i in range(rounds):
        edited = _edit(text, i)
        start, start_cpu = time.perf_counter(), time.process_time()
        index = analyse(edited, str(spec), None, parse)
        found = features.diagnostics(index, spec.as_uri())
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
        assert not found, "the edit broke the spec"
        start = time.perf_counter()
        features.inlay_hints(index)
        features.hover(index, (0, 0))
        answers.append((time.perf_counter() - start) * 1000)
    how = "incremental parse" if incremental else "whole parse"
    print(_summary(f"in process ({how}): analysis + diagnostics", wall, cpu)
          + f"; then inlay hints + hover {statistics.median(answers):.1f} ms")
    return wall


def _cpu_ms(pid: int) -> float | None:
    """User + system CPU time of a process so far (Linux /proc), in ms."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


async def over_stdio(spec: Path, rounds: int) -> list[float]:
    from lsprotocol import types as lsp
    from pygls.lsp.client import LanguageClient

    client = LanguageClient("bench", "1")
    client.feature(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)(lambda params: None)
    await client.start_io(sys.executable, "-m", "archc", "lsp")
    pid = client._server.pid if client._server else 0
    await client.initialize_async(lsp.InitializeParams(capabilities=lsp.ClientCapabilities()))
    client.initialized(lsp.InitializedParams())
    uri, text = spec.as_uri(), spec.read_text()
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(
        lsp.TextDocumentItem(uri, "arch", 1, text)))
    lines = text.split("\n")
    row = next(i for i, line in enumerate(lines)  # the first conv layer written in a body
               if "conv(" in line and not line.lstrip().startswith(("#", "defaults")))
    where = lsp.Position(row, lines[row].index("conv(") + 1)
    ask = lsp.HoverParams(lsp.TextDocumentIdentifier(uri), where)
    await client.text_document_hover_async(ask)  # warm
    wall, cpu = [], []
    for i in range(rounds):
        before = _cpu_ms(pid)
        start = time.perf_counter()
        client.text_document_did_change(lsp.DidChangeTextDocumentParams(
            lsp.VersionedTextDocumentIdentifier(uri=uri, version=i + 2),
            [lsp.TextDocumentContentChangeWholeDocument(_edit(text, i))]))
        answer = await client.text_document_hover_async(ask)
        wall.append((time.perf_counter() - start) * 1000)
        after = _cpu_ms(pid)
        if before is not None and after is not None:
            cpu.append(after - before)
        assert answer is not None, "no hover answer"
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    print(_summary("over stdio: didChange, then the hover answered", wall, cpu)
          + " (server CPU, in clock ticks)" * bool(cpu))
    return wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", nargs="?", default=str(ROOT / "specs" / "resnet152.arch"))
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    spec = Path(args.spec).resolve()
    if hasattr(os, "getloadavg"):
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    in_process(spec, args.rounds, incremental=False)
    in_process(spec, args.rounds, incremental=True)
    remote = statistics.median(asyncio.run(over_stdio(spec, args.rounds)))
    ok = remote < TARGET_MS
    print(f"target < {TARGET_MS:.0f} ms over stdio (wall-clock median): "
          f"{'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
