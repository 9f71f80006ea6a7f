"""Python identifiers for generated code: safe whatever names a spec contains.

The grammar admits only ASCII identifiers, but those can still be keywords, shadow
nn.Module attributes (`forward`, `to`, `training`) or collide with each other.
"""

from __future__ import annotations

import keyword

from archc.layers.support import SUPPORT

# Attributes of nn.Module / nn.Sequential / nn.ModuleDict that a submodule must not shadow
# (tests/test_codegen.py checks this list against the installed torch).
MODULE_ATTRIBUTES = frozenset([
    "T_destination", "add_module", "append", "apply", "bfloat16", "buffers", "call_super_init",
    "children", "clear", "compile", "cpu", "cuda", "double", "dump_patches", "eval", "extend",
    "extra_repr", "float", "forward", "get_buffer", "get_extra_state", "get_parameter",
    "get_submodule", "half", "insert", "ipu", "items", "keys", "load_state_dict", "modules",
    "mtia", "named_buffers", "named_children", "named_modules", "named_parameters",
    "parameters", "pop", "register_backward_hook", "register_buffer", "register_forward_hook",
    "register_forward_pre_hook", "register_full_backward_hook",
    "register_full_backward_pre_hook", "register_load_state_dict_post_hook",
    "register_load_state_dict_pre_hook", "register_module", "register_parameter",
    "register_state_dict_post_hook", "register_state_dict_pre_hook", "requires_grad_",
    "set_extra_state", "set_submodule", "share_memory", "state_dict", "to", "to_empty",
    "train", "type", "update", "values", "xpu", "zero_grad", "training",
])

# Names the generated file itself uses at module level or in every forward.
GENERATED_GLOBALS = frozenset({"torch", "nn", "Tensor", "OrderedDict", "self", "x", "super",
                               "in_channels", "annotations", "print", "object", "type",
                               *SUPPORT})


def is_safe(name: str) -> bool:
    return (name.isidentifier() and name.isascii() and not keyword.iskeyword(name)
            and not keyword.issoftkeyword(name) and not name.startswith("_"))


def attribute(name: str) -> str:
    """A submodule name for a spec label. Digits stay (Sequential slots); so does any name
    PyTorch accepts as a module name (`block1-0`, `class`), which the generated code then
    writes with add_module / getattr / a quoted key. Names that would shadow nn.Module
    attributes, or start with `_`, are renamed."""
    if name.isdigit():
        return name
    if name and "." not in name and not name.startswith("_") and name not in MODULE_ATTRIBUTES \
            and name.isprintable():
        return name
    return "m_" + "".join(c if c.isalnum() and c.isascii() else "_" for c in name).strip("_")


def module_path(layer_name: str) -> str:
    """The qualified module name the emitted model uses for an analyzed layer name."""
    return ".".join(attribute(part) for part in layer_name.split("."))


def class_name(name: str) -> str:
    """CamelCase of a spec name; an underscore between two digits stays (`ResNeXt50_32x4d`,
    `SqueezeNet1_0`: without it the numbers would run together)."""
    camel = ""
    for part in (p for p in name.split("_") if p):
        glue = "_" if camel[-1:].isdigit() and part[0].isdigit() else ""
        camel += glue + part[:1].upper() + part[1:]
    camel = camel or "Net"
    if not is_safe(camel) or camel in GENERATED_GLOBALS:
        camel = "Net" + camel
    return camel


class Namer:
    """Fresh local names, never colliding with each other or with reserved ones."""

    def __init__(self, reserved: frozenset[str] | set[str] = GENERATED_GLOBALS) -> None:
        self.used: set[str] = set(reserved)

    def fresh(self, base: str) -> str:
        base = base if is_safe(base) else "t_" + "".join(c for c in base if c.isalnum())
        name, n = base, 1
        while name in self.used or keyword.iskeyword(name):
            n += 1
            name = f"{base}{n}"
        self.used.add(name)
        return name
