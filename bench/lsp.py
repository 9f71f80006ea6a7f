"""Language server speed: re-analysis of specs/resnet152.arch after an edit (target < 50 ms).

    python bench/lsp.py [--rounds N] [SPEC]

Two figures, each the median (and best) over N edits; every edit changes a repeat count and
makes a text not seen before, so no answer comes from the server's cache of analysed texts:

- in process: what the server computes for a changed text (the pipeline through `lint_text`,
  every check/lint diagnostic, the layer index for hover, inlay hints), per stage;
- over stdio: a real client (pygls) sends didChange then a hover request to `archc lsp` and
  waits for the answer; includes JSON-RPC, the pipes and the analysis the hover triggers.
"""

from __future__ import annotations

import argparse
import asyncio
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


def in_process(spec: Path, rounds: int, incremental: bool) -> list[float]:
    from archc.lsp import features
    from archc.lsp.document import analyse
    from archc.lsp.incremental import IncrementalParser

    text = spec.read_text()
    parse = IncrementalParser() if incremental else None
    analyse(text, str(spec), None, parse)  # warm: imports, validators, parser tables, cache
    times, hints = [], []
    for i in range(rounds):
        edited = _edit(text, i)
        start = time.perf_counter()
        index = analyse(edited, str(spec), None, parse)
        assert not features.diagnostics(index, spec.as_uri()), "the edit broke the spec"
        analysed = time.perf_counter()
        features.inlay_hints(index)
        features.hover(index, (0, 0))
        hints.append((time.perf_counter() - analysed) * 1000)
        times.append((analysed - start) * 1000)
    how = "incremental parse" if incremental else "whole parse"
    print(f"in process ({how}): analysis + diagnostics median {statistics.median(times):.1f} ms, "
          f"best {min(times):.1f} ms; inlay hints + hover on the new index "
          f"{statistics.median(hints):.1f} ms")
    return times


async def over_stdio(spec: Path, rounds: int) -> list[float]:
    from lsprotocol import types as lsp
    from pygls.lsp.client import LanguageClient

    client = LanguageClient("bench", "1")
    client.feature(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)(lambda params: None)
    await client.start_io(sys.executable, "-m", "archc", "lsp")
    await client.initialize_async(lsp.InitializeParams(capabilities=lsp.ClientCapabilities()))
    client.initialized(lsp.InitializedParams())
    uri, text = spec.as_uri(), spec.read_text()
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(
        lsp.TextDocumentItem(uri, "arch", 1, text)))
    lines = text.split("\n")
    where = lsp.Position(lines.index(next(
        line for line in lines if "conv" in line and not line.startswith("#"))), 8)
    ask = lsp.HoverParams(lsp.TextDocumentIdentifier(uri), where)
    await client.text_document_hover_async(ask)  # warm
    times = []
    for i in range(rounds):
        start = time.perf_counter()
        client.text_document_did_change(lsp.DidChangeTextDocumentParams(
            lsp.VersionedTextDocumentIdentifier(uri=uri, version=i + 2),
            [lsp.TextDocumentContentChangeWholeDocument(_edit(text, i))]))
        await client.text_document_hover_async(ask)
        times.append((time.perf_counter() - start) * 1000)
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    print(f"over stdio: didChange + hover answered, median {statistics.median(times):.1f} ms, "
          f"best {min(times):.1f} ms")
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", nargs="?", default=str(ROOT / "specs" / "resnet152.arch"))
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    spec = Path(args.spec).resolve()
    in_process(spec, args.rounds, incremental=False)
    local = statistics.median(in_process(spec, args.rounds, incremental=True))
    remote = statistics.median(asyncio.run(over_stdio(spec, args.rounds)))
    ok = local < TARGET_MS and remote < TARGET_MS
    print(f"target < {TARGET_MS:.0f} ms: {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
