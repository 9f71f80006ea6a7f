"""`archc build`: compile a spec to a PyTorch module file, verified against the analyzer."""

from __future__ import annotations

import importlib.util
import sys

import click

from archc.cli import (
    EXIT_SPEC_ERROR,
    _require_file,
    fail,
    input_option,
    load_or_exit,
    max_layers_option,
    network_option,
    print_diagnostics,
    spec_argument,
)
from archc.errors import ArchcError

EXIT_USAGE = 2


def _check_output(output: str) -> None:
    """A path archc will not write is a usage error, found before compiling anything."""
    from archc.fileio import check_writable

    try:
        check_writable(output)
    except OSError as exc:
        fail(f"cannot write {output or repr(output)}: {exc.strerror or exc}", EXIT_USAGE)


@click.command()
@spec_argument
@click.option("-o", "--output", "output", required=True, metavar="FILE",
              help="Where to write the module; `-` for standard output.")
@network_option
@input_option
@max_layers_option
@click.option("--verify/--no-verify", default=None,
              help="Import the emitted module and check parameters and every layer's shape "
                   "against the analyzer (default: on when torch is installed).")
def build(spec: str, output: str, network: str | None, input_shape: str | None,
          max_layers: int | None, verify: bool | None) -> None:
    """Compile SPEC to a readable, self-contained PyTorch module."""
    from archc.codegen.pytorch import generate

    _require_file(spec)
    if output != "-":
        _check_output(output)
    model, sources = load_or_exit(spec, network, input_shape, max_layers)
    try:
        generated = generate(model, spec)
        if verify is None:
            verify = importlib.util.find_spec("torch") is not None
        if verify:
            from archc.codegen.build import verify as check_module

            check_module(model, generated)
    except ArchcError as exc:
        print_diagnostics(exc.diagnostics, sources)
        sys.exit(EXIT_SPEC_ERROR)
    if output == "-":
        click.echo(generated.source, nl=False)
        return
    from archc.fileio import write_file

    try:
        write_file(output, generated.source)
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror or exc}", EXIT_SPEC_ERROR)
    status = "verified against the analyzer" if verify else "not verified (--no-verify)"
    click.echo(f"wrote {output}: class {generated.class_name}, "
               f"{model.analysis.totals.params:,} parameters, {status}", err=True)
