"""`include "file.arch"`: one spec file uses the blocks another defines.

Resolution runs between parsing and expansion. An include brings in the included file's
blocks (and, transitively, the blocks it includes), never its networks. An included block
keeps the file-level `defaults` of the file that defines it, as if they were written at the
top of its body (so `conv(bias=false)` there still holds when another file calls the block);
the includer's defaults reach it only where those do not say otherwise. Paths are relative to
the including file and must stay inside the *root*, the directory of the file being checked
(for text without a file, the current directory): a spec cannot read `/etc/passwd` or
`../../secret.arch`, not even through a symbolic link. Each file is read once however often
it is included (a diamond is fine); a file that includes itself, directly or through others,
is an error, as is a missing or unreadable one. Every error is E114, located at the
`include` that caused it.
"""

from __future__ import annotations

from pathlib import Path

from archc.ast import BlockDef, Include, SpecFile
from archc.errors import ArchcError, Code, Diagnostic

MAX_INCLUDED_FILES = 1000  # a generated include tree cannot make archc read a whole disk


def base_directory(file: str) -> Path:
    """The directory relative includes of `file` start from (the cwd for `<string>`/stdin)."""
    path = Path(file)
    if file.startswith("<") or not path.parent.exists():
        return Path.cwd()
    return path.parent


def resolve_includes(spec: SpecFile, root: Path | None = None) -> SpecFile:
    """`spec` with the blocks of every file it includes in front of its own."""
    if not spec.includes:
        return spec
    root = (root or base_directory(spec.file)).resolve()
    top = Path(spec.file).resolve() if not spec.file.startswith("<") else None
    blocks: list = []
    _Resolver(root, blocks, {top} if top else set()).visit(spec, [top] if top else [])
    return SpecFile.build(file=spec.file, defaults=spec.defaults,
                          blocks=[*blocks, *spec.blocks], networks=spec.networks,
                          includes=spec.includes)


class _Resolver:
    def __init__(self, root: Path, blocks: list, seen: set[Path]) -> None:
        self.root = root
        self.blocks = blocks
        self.seen = seen  # files already read: each contributes its blocks once

    def visit(self, spec: SpecFile, stack: list[Path]) -> None:
        errors: list[Diagnostic] = []
        for include in spec.includes:
            try:
                self.include(spec, include, stack)
            except ArchcError as exc:
                errors += exc.diagnostics
        if errors:
            raise ArchcError(errors)

    def include(self, spec: SpecFile, include: Include, stack: list[Path]) -> None:
        from archc.api import read_source
        from archc.parse import parse_text

        target = self.locate(spec, include)
        if target in stack:
            chain = " -> ".join(p.name for p in [*stack[stack.index(target):], target])
            raise _error(include, f"include cycle: {chain}",
                         "move the shared blocks into a file that includes neither")
        if target in self.seen:
            return
        if len(self.seen) >= MAX_INCLUDED_FILES:
            raise _error(include, f"more than {MAX_INCLUDED_FILES} included files",
                         "include fewer files")
        self.seen.add(target)
        try:
            text = read_source(target)
        except ArchcError as exc:
            raise _error(include, f"cannot include \"{include.path}\": "
                         f"{exc.diagnostics[0].message}", "check the path") from None
        included = parse_text(text, _display(target))
        self.visit(included, [*stack, target])
        self.blocks.extend(_with_file_defaults(block, included.defaults)
                           for block in included.blocks)

    def locate(self, spec: SpecFile, include: Include) -> Path:
        relative = Path(include.path)
        if not include.path or relative.is_absolute() or include.path.startswith("~"):
            raise _error(include, f"include \"{include.path}\" is not a relative path",
                         "name the file relative to the including spec")
        target = (base_directory(spec.file) / relative).resolve()
        if not target.is_relative_to(self.root):
            raise _error(include, f"include \"{include.path}\" leaves the spec's directory "
                         f"{self.root}", "includes can only read files in the directory of the "
                         "spec being checked, or below it")
        if not target.is_file():
            raise _error(include, f"cannot include \"{include.path}\": no such file",
                         "check the path; it is relative to the including file")
        return target


def _with_file_defaults(block: BlockDef, defaults: list) -> BlockDef:
    """The block with its file's defaults as block-level ones: blocks carry them along."""
    if not defaults:
        return block
    return BlockDef.build(span=block.span, name=block.name, params=block.params,
                          body=[*defaults, *block.body])


def _display(target: Path) -> str:
    """Name an included file as the user would: relative to the cwd when it lies below it."""
    try:
        return str(target.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(target)


def _error(include: Include, message: str, hint: str) -> ArchcError:
    return ArchcError([Diagnostic(Code.INCLUDE, message, include.span, hint)])
