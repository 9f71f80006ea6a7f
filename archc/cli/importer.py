"""`archc import`: a PyTorch module (module:callable, or a torch.export .pt2 archive) as a spec."""

from __future__ import annotations

import json
import sys

import click

from archc.cli import EXIT_SPEC_ERROR, parse_dims


@click.command("import")
@click.argument("source", metavar="MODULE:CALLABLE")
@click.option("-o", "--output", "output", default="-", show_default=True, metavar="FILE",
              help="Where to write the spec; `-` for standard output.")
@click.option("--kwargs", "kwargs", default=None, metavar="JSON",
              help="Keyword arguments for the callable, as a JSON object.")
@click.option("--input", "input_shape", default="3x224x224", show_default=True,
              metavar="CxHxW", help="Per-sample input shape the model is traced at.")
@click.option("--no-verify", is_flag=True,
              help="Skip building the spec's module to compare its state_dict with the model's.")
def import_(source: str, output: str, kwargs: str | None, input_shape: str,
            no_verify: bool) -> None:
    """Turn a PyTorch model into a spec whose module loads the model's state_dict strictly."""
    try:
        from archc.importer import ImportFailure, from_torch, load_callable
    except ImportError as exc:
        raise click.UsageError(f"archc import needs PyTorch ({exc}); "
                               "pip install torch (or the `torch` extra)") from None
    shape = parse_dims(input_shape)
    try:
        options = json.loads(kwargs) if kwargs else {}
    except json.JSONDecodeError as exc:
        raise click.UsageError(f"--kwargs is not JSON: {exc}") from None
    if not isinstance(options, dict):
        raise click.UsageError("--kwargs must be a JSON object")
    if source.endswith(".pt2"):
        # an exported program is a graph of ATen operations with its parameters lifted to
        # inputs: none of the nn.Module calls the importer maps survive in it
        click.echo(f"error: {source}: torch.export archives are not supported yet (their graph "
                   "holds ATen operations, not module calls); import the module itself as "
                   "MODULE:CALLABLE", err=True)
        sys.exit(EXIT_SPEC_ERROR)
    try:
        module = load_callable(source, options)
    except Exception as exc:
        click.echo(f"error: cannot load {source}: {type(exc).__name__}: {exc}", err=True)
        sys.exit(EXIT_SPEC_ERROR)
    try:
        text = from_torch(module, shape, verify=not no_verify)
    except ImportFailure as exc:
        click.echo(f"error: {source} cannot be written in archc exactly:", err=True)
        for problem in exc.problems:
            click.echo(f"  - {problem}", err=True)
        sys.exit(EXIT_SPEC_ERROR)
    except Exception as exc:
        click.echo(f"error: importing {source} failed: {type(exc).__name__}: {exc}", err=True)
        sys.exit(EXIT_SPEC_ERROR)
    if output == "-":
        click.echo(text, nl=False)
        return
    from archc.fileio import atomic_write

    atomic_write(output, text)
