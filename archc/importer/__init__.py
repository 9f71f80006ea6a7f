"""`archc import`: a PyTorch module as a spec (needs torch; the pipeline never imports this)."""

from __future__ import annotations

from archc.importer.api import from_torch, load_callable, load_exported
from archc.importer.trace import ImportFailure

__all__ = ["ImportFailure", "from_torch", "load_callable", "load_exported"]
