"""Per-layer registry rules (`LayerKind.window`, `LayerKind.saved`) asked once per distinct
call: they are pure functions of the kind, its arguments and the shapes, and a network repeats
the same layer on the same shapes many times. On a 20,000-layer spec this saves most of the
rules' cost; a layer that is never repeated pays one dictionary look-up more."""

from __future__ import annotations

from typing import Any


class RuleMemo:
    """`memo(layer, inputs, out)` = `layer.kind.<rule>(layer.args, list(inputs), out)`. The
    answer is shared between the calls that ask the same question: read it, never change it."""

    def __init__(self, rule: str) -> None:
        self.rule = rule
        self.answers: dict[tuple, tuple[Any, Any]] = {}

    def __call__(self, layer: Any, inputs: tuple, out: tuple) -> Any:
        # The arguments by identity: expansion validates a repeated layer's arguments once and
        # shares them, and hashing a pydantic model by value costs more than most rules (equal
        # arguments that are not shared are only asked again). The answer keeps them alive, so
        # their id is not reused while the memo lives. ChannelsLast equals (and hashes as) the
        # plain tuple of the same numbers yet means another layout: shape types are keyed too.
        args = layer.args
        key = (layer.kind, id(args), inputs, tuple(map(type, inputs)), out, type(out))
        try:
            return self.answers[key][1]
        except KeyError:
            pass
        except TypeError:  # a shape that cannot be hashed: ask every time
            return getattr(layer.kind, self.rule)(args, list(inputs), out)
        answer = getattr(layer.kind, self.rule)(args, list(inputs), out)
        self.answers[key] = (args, answer)
        return answer
