"""`archc import`: a PyTorch module as a spec (needs torch; the pipeline never imports this)."""

from __future__ import annotations

from archc.importer.api import from_torch, load_callable, load_exported
from archc.importer.trace import ImportFailure


def from_exported(program, input_shape=None, verify: bool = True) -> str:
    """The spec text of a torch.export ExportedProgram (see archc/importer/exported.py)."""
    from archc.importer.exported import from_exported as _from_exported

    return _from_exported(program, input_shape, verify)


__all__ = ["ImportFailure", "from_exported", "from_torch", "load_callable", "load_exported"]
