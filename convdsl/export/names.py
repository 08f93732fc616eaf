"""Python names for convdsl names: valid, never a keyword, never clashing, as close to the file as possible.

convdsl names are identifiers ([A-Za-z_][A-Za-z0-9_]*), so they cannot carry
code; what they can do is be a Python keyword (`class`), shadow something the
generated code uses (`torch`, `nn`, `range`), or be an attribute nn.Module
already has (`forward`, `training`, `to`). Layer names keep their exact text
wherever PyTorch allows it, since they become the state_dict keys.
"""

from __future__ import annotations

import builtins
import keyword
import re

# Attributes of nn.Module, nn.Sequential and nn.ModuleDict (methods, and what
# Module.__init__ sets) in torch 2.13: add_module refuses a child with one of
# these names, and `self.name` would find the attribute, not the child.
# tests/test_export.py checks this list against the installed torch.
MODULE_ATTRIBUTES = frozenset(
    [
        "T_destination",
        "_apply",
        "_backward_hooks",
        "_backward_pre_hooks",
        "_buffers",
        "_call_impl",
        "_compiled_call_impl",
        "_forward_hooks",
        "_forward_hooks_always_called",
        "_forward_hooks_with_kwargs",
        "_forward_pre_hooks",
        "_forward_pre_hooks_with_kwargs",
        "_get_backward_hooks",
        "_get_backward_pre_hooks",
        "_get_item_by_idx",
        "_get_name",
        "_is_full_backward_hook",
        "_load_from_state_dict",
        "_load_state_dict_post_hooks",
        "_load_state_dict_pre_hooks",
        "_maybe_warn_non_full_backward_hook",
        "_modules",
        "_named_members",
        "_non_persistent_buffers_set",
        "_parameters",
        "_register_load_state_dict_pre_hook",
        "_register_state_dict_hook",
        "_replicate_for_data_parallel",
        "_save_to_state_dict",
        "_slow_forward",
        "_state_dict_hooks",
        "_state_dict_pre_hooks",
        "_version",
        "_wrapped_call_impl",
        "add_module",
        "append",
        "apply",
        "bfloat16",
        "buffers",
        "call_super_init",
        "children",
        "clear",
        "compile",
        "cpu",
        "cuda",
        "double",
        "dump_patches",
        "eval",
        "extend",
        "extra_repr",
        "float",
        "forward",
        "get_buffer",
        "get_extra_state",
        "get_parameter",
        "get_submodule",
        "half",
        "insert",
        "ipu",
        "items",
        "keys",
        "load_state_dict",
        "modules",
        "mtia",
        "named_buffers",
        "named_children",
        "named_modules",
        "named_parameters",
        "parameters",
        "pop",
        "register_backward_hook",
        "register_buffer",
        "register_forward_hook",
        "register_forward_pre_hook",
        "register_full_backward_hook",
        "register_full_backward_pre_hook",
        "register_load_state_dict_post_hook",
        "register_load_state_dict_pre_hook",
        "register_module",
        "register_parameter",
        "register_state_dict_post_hook",
        "register_state_dict_pre_hook",
        "requires_grad_",
        "set_extra_state",
        "set_submodule",
        "share_memory",
        "state_dict",
        "to",
        "to_empty",
        "train",
        "training",
        "type",
        "update",
        "values",
        "xpu",
        "zero_grad",
    ]
)

# Module-level names of every exported file, and the builtins its code calls.
MODULE_NAMES = frozenset({"torch", "nn", "F", "crop", "center_crop"})
BUILTINS = frozenset(dir(builtins))


def is_dunder(name: str) -> bool:
    return name.startswith("__") and name.endswith("__") and len(name) > 4


def module_name(name: str) -> str:
    """The name a layer (or group, or block instance) has as a child module.

    Its own, unless nn.Module already has that attribute (`forward`) or it is a
    dunder: then one more underscore. Names that already end in underscores
    after such a name get one more too, so no two names meet: `forward` becomes
    `forward_` and a layer called `forward_` becomes `forward__`.
    """
    if name.rstrip("_") in MODULE_ATTRIBUTES or (name.startswith("__") and name.endswith("__")):
        return name + "_"
    return name


def module_path(node: str) -> str:
    """A layer's path in the exported model (`layer1.0.conv1`) from its convdsl name."""
    return ".".join(module_name(part) for part in node.split("."))


def attribute_syntax(name: str) -> bool:
    """`self.name` works: an identifier, no keyword, no private name mangling (`__x`)."""
    return (
        name.isidentifier() and not keyword.iskeyword(name) and not (name.startswith("__") and not name.endswith("__"))
    )


def class_name(name: str) -> str:
    """CamelCase: `se_fc` -> SeFc, `resnet50` -> Resnet50; a file name's other characters separate words."""
    words = re.split(r"[^A-Za-z0-9]+", name)
    text = "".join(word[:1].upper() + word[1:] for word in words if word.isascii())
    if not text:
        return "Network"
    return "Net" + text if text[0].isdigit() else text


class Namespace:
    """Unique names in one Python scope; a wanted name that is taken or unusable gets underscores."""

    def __init__(self, reserved=()):
        self.taken: set[str] = set(reserved)

    def claim(self, wanted: str) -> str:
        name = wanted if wanted.isidentifier() else "_" + wanted
        if is_dunder(name):  # `__import__` would read as Python's own
            name = name.strip("_") + "_"
        elif name.startswith("__") and not name.endswith("__"):
            # Inside a class Python renames it (`__k` becomes `_B__k`), so a keyword argument `__k=5`
            # written in another class would name a parameter that does not exist.
            name = name.lstrip("_") + "_"
            if not name.isidentifier():
                name = "_" + name
        while keyword.iskeyword(name) or name in self.taken:
            name += "_"
        self.taken.add(name)
        return name

    def reserve(self, name: str) -> None:
        self.taken.add(name)
