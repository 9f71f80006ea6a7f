"""`archc build`: compile a spec to a PyTorch module file, verified against the analyzer."""

from __future__ import annotations

import contextlib
import importlib.util
import os
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
from archc.errors import ArchcError, visible

EXIT_USAGE = 2
# Verification instantiates and runs every layer in PyTorch, ~1-3 ms each (a 20,000-layer
# network: 15-50 s and ~700 MB); past this, a build is written unverified (or refused when
# --verify was asked for explicitly) instead of running for minutes.
MAX_VERIFY_LAYERS = 20_000


def _check_output(output: str) -> None:
    """A path archc will not write is a usage error, found before compiling anything."""
    from archc.fileio import check_writable

    try:
        check_writable(output)
    except OSError as exc:
        fail(f"cannot write {output or repr(output)}: {exc.strerror or exc}", EXIT_USAGE)


def _refuse_overwriting_sources(output: str, sources: list[str]) -> None:
    """`-o` naming the spec (or a file it includes) would replace the source with Python."""
    for source in dict.fromkeys(sources):
        with contextlib.suppress(OSError):
            if source != "-" and os.path.samefile(output, source):
                fail(f"cannot write {output}: it is {source}, which the spec is read from; "
                     "name a .py file for the module, e.g. -o model.py", EXIT_USAGE)


INSTALL_TORCH = "Install it to verify: pip install torch (or the `torch` extra of archc-cnn)."


def _torch_installed() -> bool:
    """Whether torch can be imported, without importing it (a None entry in sys.modules, as
    left by a failed import, counts as missing)."""
    try:
        return importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):
        return False


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
    has_torch = _torch_installed()
    if verify and not has_torch:
        raise click.UsageError(f"--verify needs PyTorch, which is not installed. {INSTALL_TORCH}")
    model, sources = load_or_exit(spec, network, input_shape, max_layers)
    if output != "-":
        _refuse_overwriting_sources(output, [spec, *(b.span.file for b in model.spec.blocks)])
    status = "not verified (--no-verify)"
    layers = len(model.analysis.layers)
    if verify is not False and layers > MAX_VERIFY_LAYERS:
        if verify:
            fail(f"--verify is limited to {MAX_VERIFY_LAYERS:,} layers (PyTorch builds and runs "
                 f"each one; {spec} has {layers:,}): build it with --no-verify", EXIT_USAGE)
        verify = False
        status = f"not verified ({layers:,} layers, over the {MAX_VERIFY_LAYERS:,} verify cap)"
    try:
        generated = generate(model, spec)
        if verify is None:
            verify = has_torch
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
    status = ("verified against the analyzer" if verify
              else status if has_torch
              else f"not verified: PyTorch is not installed. {INSTALL_TORCH}")
    click.echo(visible(f"wrote {output}: class {generated.class_name}, "
                       f"{model.analysis.totals.params:,} parameters, {status}"), err=True)
