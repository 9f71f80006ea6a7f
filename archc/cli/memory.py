"""`archc memory`: will it fit? Training and inference memory of a spec."""

from __future__ import annotations

import json
import shutil
import sys

import click

from archc.cli import _require_file, input_option, load_or_exit, max_layers_option, network_option

DTYPES = ("fp32", "bf16", "fp16", "fp64")
OPTIMIZERS = ("adamw", "adam", "sgd", "momentum", "rmsprop", "adagrad", "none")


@click.command()
@click.argument("spec", type=click.Path(dir_okay=False, allow_dash=True))
@network_option
@input_option
@max_layers_option
@click.option("--batch", type=click.IntRange(min=1), default=1, show_default=True,
              help="Samples per training step (activations scale with it).")
@click.option("--dtype", type=click.Choice(DTYPES), default="fp32", show_default=True,
              help="Dtype of parameters and activations (a model cast with .to(dtype)).")
@click.option("--optimizer", type=click.Choice(OPTIMIZERS), default="adamw", show_default=True,
              help="Its state per parameter: adamw/adam 2, momentum/rmsprop/adagrad 1, sgd 0.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="table for people, json for other tools.")
@click.option("--depth", type=click.IntRange(min=1), default=None, metavar="N",
              help="Fold blocks and containers nested deeper than N into one row each.")
@click.option("--width", type=click.IntRange(min=40), default=None, metavar="COLS",
              help="Wrap names to fit COLS columns (default: the terminal's width).")
@click.option("--ascii", "ascii_only", is_flag=True, help="ASCII rules.")
def memory(spec: str, network: str | None, input_shape: str | None, max_layers: int | None,
           batch: int, dtype: str, optimizer: str, fmt: str, depth: int | None,
           width: int | None, ascii_only: bool) -> None:
    """Memory to train SPEC (parameters, gradients, optimizer state, the activations autograd
    saves for backward, layer by layer) and its inference peak."""
    from archc.insight.memory import estimate, memory_table, to_dict

    _require_file(spec)
    model, _ = load_or_exit(spec, network, input_shape, max_layers)
    m = estimate(model, batch, dtype, optimizer)
    if fmt == "json":
        click.echo(json.dumps(to_dict(m, model), indent=2))
        return
    if width is None and sys.stdout.isatty():
        width = shutil.get_terminal_size().columns
    click.echo(memory_table(model, m, depth, width, ascii_only), nl=False)
