"""Per-layer registry rules (`LayerKind.window`, `LayerKind.saved`) asked once per distinct
call: they are pure functions of the kind, its arguments and the shapes, and a network repeats
the same layer on the same shapes many times (validated arguments are shared between repeated
layers, so a hit costs a hash and an identity check). On a 20,000-layer spec this saves most of
the rules' cost; a layer that is never repeated pays one dictionary look-up more."""

from __future__ import annotations

from typing import Any


class RuleMemo:
    """`memo(layer, inputs, out)` = `layer.kind.<rule>(layer.args, list(inputs), out)`. The
    answer is shared between the calls that ask the same question: read it, never change it."""

    def __init__(self, rule: str) -> None:
        self.rule = rule
        self.answers: dict[tuple, Any] = {}

    def __call__(self, layer: Any, inputs: tuple, out: tuple) -> Any:
        # ChannelsLast equals (and hashes as) the plain tuple of the same numbers, yet means
        # another layout: the shapes' types are part of the question.
        key = (layer.kind, layer.args, inputs, tuple(map(type, inputs)), out, type(out))
        try:
            return self.answers[key]
        except KeyError:
            pass
        except TypeError:  # an argument value that cannot be hashed: ask every time
            return getattr(layer.kind, self.rule)(layer.args, list(inputs), out)
        answer = self.answers[key] = getattr(layer.kind, self.rule)(layer.args, list(inputs),
                                                                    out)
        return answer
