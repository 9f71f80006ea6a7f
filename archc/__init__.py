"""archc: a declarative CNN architecture compiler and shape/parameter analyzer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from archc._version import __version__

__all__ = ["ArchcError", "Model", "__version__", "build_module", "from_torch", "load", "loads",
           "render"]

if TYPE_CHECKING:
    from archc.api import Model, load, loads
    from archc.errors import ArchcError


def __getattr__(name: str) -> Any:
    # The pipeline (lark, pydantic, networkx) loads on first use, so `archc --version` and
    # `import archc` stay cheap.
    if name in ("Model", "load", "loads"):
        from archc import api

        return getattr(api, name)
    if name == "render":  # archc.render(model, "svg"): the subpackage is callable
        import archc.render as render_module

        return render_module
    if name == "ArchcError":
        from archc.errors import ArchcError

        return ArchcError
    raise AttributeError(f"module 'archc' has no attribute {name!r}")


def build_module(spec_or_path, **options):
    """Compile a spec (path or text) to PyTorch and return an instantiated nn.Module."""
    from archc.codegen.build import build_module as _build

    return _build(spec_or_path, **options)


def from_torch(module, input_shape=(3, 224, 224), verify: bool = True) -> str:
    """A PyTorch module as spec text (archc.importer; needs torch)."""
    from archc.importer import from_torch as _from_torch

    return _from_torch(module, tuple(input_shape), verify=verify)
