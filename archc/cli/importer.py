"""`archc import`: a PyTorch module (module:callable, or a torch.export .pt2 archive) as a spec."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from archc.cli import EXIT_SPEC_ERROR, parse_dims

DEFAULT_INPUT = (3, 224, 224)


@click.command("import")
@click.argument("source", metavar="MODULE:CALLABLE|FILE.pt2")
@click.option("-o", "--output", "output", default="-", show_default=True, metavar="FILE",
              help="Where to write the spec; `-` for standard output.")
@click.option("--kwargs", "kwargs", default=None, metavar="JSON",
              help="Keyword arguments for the callable, as a JSON object.")
@click.option("--input", "input_shape", default=None, metavar="CxHxW",
              help="Per-sample input shape the model is traced at (default 3x224x224; a .pt2 "
                   "archive's own example input is used, and must agree if given).")
@click.option("--no-verify", is_flag=True,
              help="Skip building the spec's module to compare its state_dict with the model's "
                   "(and, for a .pt2, the rebuilt network's outputs with the program's).")
def import_(source: str, output: str, kwargs: str | None, input_shape: str | None,
            no_verify: bool) -> None:
    """Turn a PyTorch model into a spec whose module loads the model's state_dict strictly.

    SOURCE is `package.module:callable` (called with --kwargs) or a torch.export archive
    written by torch.export.save. Reading an archive runs torch.export.load, which unpickles
    parts of it (torch.load with weights_only=False): import only archives you trust, as you
    would run only pickles you trust.
    """
    try:
        from archc.importer import ImportFailure, from_torch, load_callable
    except ImportError as exc:
        raise click.UsageError(f"archc import needs PyTorch ({exc}); "
                               "pip install torch (or the `torch` extra)") from None
    shape = parse_dims(input_shape)
    archive = source.endswith(".pt2") or (":" not in source and Path(source).is_file())
    if archive:
        if kwargs is not None:
            raise click.UsageError("--kwargs applies to MODULE:CALLABLE, not to an archive")
        text = _run(source, lambda: _from_archive(source, shape, not no_verify), ImportFailure)
    else:
        try:
            options = json.loads(kwargs) if kwargs else {}
        except json.JSONDecodeError as exc:
            raise click.UsageError(f"--kwargs is not JSON: {exc}") from None
        if not isinstance(options, dict):
            raise click.UsageError("--kwargs must be a JSON object")
        try:
            module = load_callable(source, options)
        except Exception as exc:
            click.echo(f"error: cannot load {source}: {type(exc).__name__}: {exc}", err=True)
            sys.exit(EXIT_SPEC_ERROR)
        text = _run(source, lambda: from_torch(module, shape or DEFAULT_INPUT,
                                               verify=not no_verify), ImportFailure)
    if output == "-":
        click.echo(text, nl=False)
        return
    from archc.fileio import atomic_write

    atomic_write(output, text)


def _from_archive(path: str, shape: tuple[int, ...] | None, verify: bool) -> str:
    from archc.importer.exported import ProgramError, from_exported, load_program

    try:
        return from_exported(load_program(path), shape, verify=verify)
    except ProgramError as exc:
        click.echo(f"error: {path}: {exc}", err=True)
        sys.exit(EXIT_SPEC_ERROR)


def _run(source: str, work, failure: type[Exception]) -> str:
    """The spec text, or exit 1 with every reason (never a traceback)."""
    try:
        return work()
    except failure as exc:
        click.echo(f"error: {source} cannot be written in archc exactly:", err=True)
        for problem in exc.problems:
            click.echo(f"  - {problem}", err=True)
    except Exception as exc:
        click.echo(f"error: importing {source} failed: {type(exc).__name__}: {exc}", err=True)
    sys.exit(EXIT_SPEC_ERROR)
