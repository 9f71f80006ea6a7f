"""Every layer kind states its receptive-field rule, its derivation and what autograd saves
for it: the base class's defaults raise, so a new kind without them fails here first."""

from __future__ import annotations

import pytest

from archc.layers import REGISTRY
from archc.layers.base import LayerKind


@pytest.mark.parametrize("method", ["window", "explain", "saved"])
def test_every_kind_states_its_rule(method):
    missing = [name for name, kind in REGISTRY.items()
               if getattr(type(kind), method) is getattr(LayerKind, method)]
    assert not missing, f"kinds without LayerKind.{method}: {', '.join(missing)}"
