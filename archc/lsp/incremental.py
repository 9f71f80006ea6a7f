"""Incremental parsing: a file is a sequence of independent top-level constructs (`network`,
`block`, `defaults`, `include`); after an edit only those whose text or position changed are parsed again.

Each construct is parsed alone, padded with newlines and spaces so that its spans are the ones
a whole-file parse gives, and the parts are joined in file order as the parser's own `start`
rule joins them. Whenever that is not plainly equivalent (a construct does not parse, text
between constructs, a byte-order mark, a huge file), the whole text goes to `parse_text`, so
errors and limits are exactly those of `archc check`.
"""

from __future__ import annotations

from collections import OrderedDict

from archc.ast import SpecFile
from archc.errors import ArchcError
from archc.lsp.document import Token, tokens
from archc.parse import parse_text

MAX_TEXT = 200_000  # beyond this, one parse (the parser's element cap counts per parse)
TOPLEVEL = ("network", "block", "defaults", "include")


def chunks(text: str) -> list[tuple[int, int, int, int]] | None:
    """(start offset, end offset, line, column) of each top-level construct, 1-based line and
    column; None when the text is not a plain sequence of balanced constructs."""
    toks = tokens(text)
    offsets = _line_offsets(text)
    found, depth, start = [], 0, None
    for tok in toks:
        if start is not None and start.text == "include":  # `include "FILE"`: two tokens
            if not tok.text.startswith('"'):
                return None
            found.append(_extent(start, tok, offsets))
            start = None
            continue
        if depth == 0 and start is None:
            if tok.text not in TOPLEVEL:
                return None
            start = tok
            if tok.text == "include":
                continue
        if tok.text in "{(":
            depth += 1
        elif tok.text in "})":
            depth -= 1
            if depth < 0:
                return None
            if depth == 0 and tok.text == "}":
                found.append(_extent(start, tok, offsets))
                start = None
    return found if depth == 0 and start is None else None


def _line_offsets(text: str) -> list[int]:
    offsets = [0]
    offsets += [i + 1 for i, char in enumerate(text) if char == "\n"]
    return offsets


def _extent(first: Token, last: Token, offsets: list[int]) -> tuple[int, int, int, int]:
    start = offsets[first.start[0]] + first.start[1]
    end = offsets[last.end[0]] + last.end[1]
    return start, end, first.start[0] + 1, first.start[1] + 1


class IncrementalParser:
    """`parse_text` with a cache of the top-level constructs parsed before."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self.cache: OrderedDict[tuple[str, int, int, str], SpecFile] = OrderedDict()
        self.reused = 0  # constructs answered from the cache (for tests and the benchmark)

    def __call__(self, text: str, file: str = "<string>") -> SpecFile:
        if len(text) > MAX_TEXT or text.startswith("\ufeff") or "\x00" in text:
            return parse_text(text, file)
        found = chunks(text)
        if not found:
            return parse_text(text, file)
        parts = []
        for start, end, line, col in found:
            part = self._part(text[start:end], file, line, col)
            if part is None:
                return parse_text(text, file)  # the whole file's diagnostics, as check gives
            parts.append(part)
        return SpecFile.build(file=file, defaults=[d for p in parts for d in p.defaults],
                              blocks=[b for p in parts for b in p.blocks],
                              networks=[n for p in parts for n in p.networks],
                              includes=[i for p in parts for i in p.includes])

    def _part(self, piece: str, file: str, line: int, col: int) -> SpecFile | None:
        key = (file, line, col, piece)
        found = self.cache.get(key)
        if found is not None:
            self.cache.move_to_end(key)
            self.reused += 1
            return found
        try:
            found = parse_text("\n" * (line - 1) + " " * (col - 1) + piece, file)
        except ArchcError:
            return None
        self.cache[key] = found
        while len(self.cache) > self.size:
            self.cache.popitem(last=False)
        return found
