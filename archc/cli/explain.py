"""`archc explain`: a spec's arithmetic layer by layer, or the long text of a diagnostic code."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from archc.cli import input_option, load_or_exit, max_layers_option, network_option


@click.command()
@click.argument("target")
@click.option("--layer", metavar="NAME", help="Only this layer (full name, e.g. layer1.0.conv2).")
@network_option
@input_option
@max_layers_option
def explain(target: str, layer: str | None, network: str | None, input_shape: str | None,
            max_layers: int | None) -> None:
    """Explain TARGET: a spec (every layer's output size, parameters, MACs and receptive field,
    derived with the numbers filled in) or a diagnostic code such as E203 or L007."""
    from archc.insight.explain import explain_code, explain_network, is_code

    if is_code(target) and not Path(target).exists():
        text = explain_code(target)
        if text is None:
            raise click.UsageError(f"no diagnostic code {target.upper()}; "
                                   "`archc lint --list-rules` lists them")
        click.echo(text, nl=False)
        return
    if target != "-" and not Path(target).is_file():
        raise click.UsageError(f"no such file: {target} (nor a code like E203)")
    model, _ = load_or_exit(target, network, input_shape, max_layers)
    try:
        click.echo(explain_network(model, layer), nl=False)
    except KeyError:
        names = [r.name for r in model.analysis.layers]
        import difflib

        close = difflib.get_close_matches(layer or "", names, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        click.echo(f"archc explain: no layer named `{layer}` in {target}{hint}", err=True)
        sys.exit(2)
