"""Pieces to spec text: labels, inline containers with `* N`, one block per module class and
body shape with the differing numbers as parameters (or expressions of one another)."""

from __future__ import annotations

import re
from typing import Any

from archc.importer.emit import (
    IDENT,
    RESERVED,
    Again,
    Emitter,
    Leaf,
    Scope,
    Shortcut,
    Slot,
    is_container,
    label_text,
    numbered,
)
from archc.importer.mapping import literal
from archc.layers import REGISTRY

PARAM_NAMES = {"out": "c", "groups": "g", "size": "n"}


def snake(name: str) -> str:
    text = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()
    text = re.sub(r"[^a-z0-9_]", "_", text).strip("_") or "block"
    return text if not text[0].isdigit() else "b_" + text


class Renderer:
    def __init__(self, emitter: Emitter) -> None:
        self.em = emitter
        self.instances: dict[type, list[Scope]] = {}
        self._collect(emitter.root)
        self.calls: dict[int, list] = {}  # id(scope) -> call pieces
        self.defs: list[str] = []
        self.used_names: set[str] = set(REGISTRY)
        self.done: set[type] = set()

    def _collect(self, scope: Scope) -> None:
        for child in scope.children:
            if child.again is not None:  # the first call's block stands for it
                continue
            if not is_container(child.module):
                self.instances.setdefault(type(child.module), []).append(child)
            self._collect(child)

    # ---- bodies ---------------------------------------------------------------------------
    def items(self, scope: Scope, named: bool) -> list[list]:
        pieces = self.em.body(scope)
        groups: list[list] = []
        depth = 0
        for piece in pieces:
            rendered = self.piece(piece, named)
            if depth == 0:
                groups.append([])
            groups[-1] += rendered
            if isinstance(piece, str):
                depth += piece.count("{") - piece.count("}")
        return groups

    def flat(self, scope: Scope, named: bool) -> list:
        groups = self.items(scope, named)
        if not named:
            groups = compress(groups)
        return [p for g in groups for p in [*g, "\n"]]

    def piece(self, piece: Any, named: bool) -> list:
        if isinstance(piece, str):
            return [piece]
        if isinstance(piece, Leaf):
            label = [label_text(piece.name) + ":"] if named and piece.layer.stateful else []
            return ["\n"] * bool(label) + label + layer_pieces(piece.layer)
        if isinstance(piece, Again):
            return ["\n", "again", label_text(piece.name), "\n"]
        if isinstance(piece, Shortcut):
            inner = piece.scope
            return ["shortcut", label_text(inner.name), "{",
                    *self.flat(inner, not numbered(inner.module)), "}"]
        scope = piece.scope
        stateful = bool(scope.module.state_dict())
        label = [label_text(scope.name) + ":"] if named and stateful else []
        return ["\n", *label, *self.call(scope), "\n"]

    def call(self, scope: Scope) -> list:
        if is_container(scope.module):
            return one_line(["{", *self.flat(scope, not numbered(scope.module)), "}"])
        cls = type(scope.module)
        if cls not in self.done:
            self.done.add(cls)
            self.define(cls)
        return self.calls[id(scope)]

    # ---- blocks ---------------------------------------------------------------------------
    def define(self, cls: type) -> None:
        bodies = [(s, self.flat(s, True)) for s in self.instances[cls]]
        if cls in self.em.joined:  # its callers concatenate its output after its input
            bodies = [(s, ["-> x", "\n", *body, "concat(x, _)", "\n"]) for s, body in bodies]
        groups: dict[tuple, list] = {}
        for scope, body in bodies:
            key = tuple(p if isinstance(p, str) else (type(p).__name__, p.name) for p in body)
            groups.setdefault(key, []).append((scope, body))
        for members in groups.values():
            self.define_group(cls, members)

    def define_group(self, cls: type, members: list) -> None:
        name = self.fresh(self.block_name(cls, [scope for scope, _ in members]))
        template = members[0][1]
        slots = [i for i, p in enumerate(template) if type(p) is Slot]
        written: dict[int, Any] = {}
        params: list[tuple[str, list]] = []
        for i, p in enumerate(template):
            if isinstance(p, Opt):
                vec = [body[i].value for _, body in members]
                if all(v == vec[0] for v in vec):
                    written[i] = render([body[i] for _, body in members][:1])
                else:
                    value = self.relate(vec, params) or self.new_param(p.name, vec, params)
                    written[i] = f", {p.name}={value}"
        vectors = {i: [body[i].value for _, body in members] for i in slots}
        for i in slots:
            vec = vectors[i]
            if all(v == vec[0] for v in vec):
                written[i] = literal(vec[0])
                continue
            written[i] = self.relate(vec, params) or self.new_param(template[i].name, vec, params)
        text = []
        for i, p in enumerate(template):
            text.append(written[i] if isinstance(p, (Slot, Opt)) else p)
        header = f"block {name}({', '.join(n for n, _ in params)})" if params else f"block {name}()"
        self.defs.append(header + " " + tidy(" ".join(["{", *text, "}"])))
        for k, (scope, _) in enumerate(members):
            if params:
                args = [Slot(vec[k], pname) for pname, vec in params]
                pieces: list = [name + "("]
                for j, a in enumerate(args):
                    pieces += ([", "] if j else []) + [a]
                self.calls[id(scope)] = [*pieces, ")"]
            else:
                self.calls[id(scope)] = [name]

    def block_name(self, cls: type, scopes: list[Scope]) -> str:
        """The block's name: the stem of its instances' attribute names where they all share
        one (`denselayer1`, `denselayer2`: `denselayer`, whose calls archc then names as
        PyTorch does, without labels), else the class name in snake case."""
        stems = {_stem(scope.name) for scope in scopes}
        stem = stems.pop() if len(stems) == 1 else None
        if stem and stem not in self.used_names and stem not in RESERVED and IDENT.match(stem):
            return stem
        return snake(cls.__name__)

    def relate(self, vec: list, params: list) -> str | None:
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in vec):
            return None
        for pname, pvec in params:
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in pvec):
                continue
            if pvec == vec:
                return pname
            if all(p != 0 for p in pvec) and all(v % p == 0 for v, p in zip(vec, pvec)):
                ratios = {v // p for v, p in zip(vec, pvec)}
                if len(ratios) == 1 and (m := ratios.pop()) > 1:
                    return f"{pname} * {m}"
            if all(v != 0 for v in vec) and all(p % v == 0 for v, p in zip(vec, pvec)):
                ratios = {p // v for v, p in zip(vec, pvec)}
                if len(ratios) == 1 and (m := ratios.pop()) > 1:
                    return f"{pname} / {m}"
        return None

    def new_param(self, arg: str, vec: list, params: list) -> str:
        base = PARAM_NAMES.get(arg, arg)
        name, k = base, 2
        taken = {n for n, _ in params} | set(REGISTRY) | self.used_names
        while name in taken:
            name, k = f"{base}{k}", k + 1
        params.append((name, vec))
        return name

    def fresh(self, base: str) -> str:
        name, k = base, 2
        while name in self.used_names:
            name, k = f"{base}_{k}", k + 1
        self.used_names.add(name)
        return name


def _stem(name: str) -> str | None:
    """`denselayer` of `denselayer3`, `block_` of `block_2`... as archc's counters glue it:
    `relu6_1` for a base ending in a digit."""
    match = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*?)(_?)([1-9][0-9]*)", name)
    if match is None:
        return None
    stem, glue = match.group(1), match.group(2)
    return stem if (glue == "_") == stem[-1:].isdigit() else None


def layer_pieces(layer) -> list:
    kind = REGISTRY[layer.kind]
    fields = kind.Args.model_fields
    parts: list = []
    keyword = False
    given = {**layer.omitted, **{n: v for n, v in layer.args.items() if _number(v)}}
    numeric = {n: given[n] for n in fields if n in given}  # one order whatever the defaults
    for name in kind.positional:
        if name not in layer.args:
            keyword = True
            continue
        if keyword:
            break
        value = layer.args[name]
        parts += ([", "] if parts else []) + [Slot(value, name) if _number(value)
                                              else literal(value)]
    done = {n for n in kind.positional if n in layer.args and not keyword} if not keyword else {
        n for n in kind.positional[:[n in layer.args for n in kind.positional].index(False)]}
    for name in fields:  # keywords in the kind's own order
        if name in done:
            continue
        if name in numeric:
            default = fields[name].default if not fields[name].is_required() else None
            parts.append(Opt(default, name, numeric[name]))
        elif name in layer.args:
            parts.append(f", {name}={literal(layer.args[name])}")
    return [layer.kind + "(", *parts, ")"]


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class Opt(Slot):
    """A numeric keyword argument at its default: written only where a block needs it."""

    def __init__(self, default: Any, name: str, value: Any) -> None:
        object.__setattr__(self, "value", value)
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "default", default)


ONE_LINE = 72  # characters of a container written on one line (indentation comes on top)


def one_line(pieces: list) -> list:
    """A container of plain items on one line when it is short (`{ conv(16, 1) bn relu }`),
    as a reader would write it; one item a line otherwise."""
    inner = [p for p in pieces[1:-1] if p != "\n"]
    if any(isinstance(p, str) and "{" in p for p in inner):
        return pieces
    joined = [pieces[0], *inner, pieces[-1]]
    return joined if len(render(joined)) <= ONE_LINE else pieces


def compress(groups: list[list]) -> list[list]:
    """Consecutive equal items of a numbered container as `item * N`."""
    out: list[list] = []
    for group in groups:
        text = render(group)
        if out and render(out[-1][0]) == text:
            out[-1][1] += 1
        else:
            out.append([group, 1])
    result = []
    for group, n in out:
        result.append(group + ([f"* {n}"] if n > 1 else []))
    return result


def render(pieces: list) -> str:
    out = []
    for p in pieces:
        if isinstance(p, Opt):
            out.append("" if p.value == p.default else f", {p.name}={literal(p.value)}")
        else:
            out.append(literal(p.value) if isinstance(p, Slot) else p)
    return tidy(" ".join(out))


def tidy(text: str) -> str:
    text = re.sub(r"\(\s*,\s*", "(", text)
    text = re.sub(r"\s+,", ",", text)
    text = re.sub(r"\(\s+", "(", text)
    text = re.sub(r"\s+\)", ")", text)
    text = re.sub(r"\n[ \t]*(?=\n)", "", text)  # one item a line, no blank lines
    return re.sub(r"(?<=[A-Za-z0-9_])\(\)", "", text)
