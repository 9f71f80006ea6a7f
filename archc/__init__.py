"""archc: a declarative CNN architecture compiler and shape/parameter analyzer."""

from __future__ import annotations

__version__ = "0.1.0"

from archc.api import Model, load, loads
from archc.errors import ArchcError

__all__ = ["ArchcError", "Model", "__version__", "build_module", "load", "loads"]


def build_module(spec_or_path, **options):
    """Compile a spec (path or text) to PyTorch and return an instantiated nn.Module."""
    from archc.codegen.build import build_module as _build

    return _build(spec_or_path, **options)
