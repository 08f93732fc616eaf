"""`frozen`: dataclass(frozen=True, slots=True), with an __init__ that sets the slots directly.

A frozen dataclass's generated __init__ sets each field through
object.__setattr__ (to get past the class's own __setattr__, which forbids
assignment), looked up anew for every field: about 1.8 times as slow as
calling each slot's own setter, and parsing, lowering and inference make a
record or two per token and per layer (spans, syntax nodes, windows, layer
results). Slots also make each record about half the size (80 bytes rather
than 152 for a span), which a 100,000-layer network feels. Everything else --
eq, hash, repr, replace(), FrozenInstanceError on assignment -- is dataclass's own.
"""

from __future__ import annotations

import dataclasses
from dataclasses import MISSING


def frozen(cls=None, /, **options):
    """Use as @frozen or @frozen(eq=False, ...), for classes of plain fields (no default_factory,
    no init=False field, no __post_init__): anything else is a TypeError at import."""

    def wrap(cls):
        if not cls.__dict__.get("__doc__"):
            # dataclass would make this docstring from inspect.signature(cls), which costs twice as much
            # as the rest of making the class (0.5 ms each, at every cold start): say the same without it
            fields = cls.__dict__.get("__annotations__", {})  # noqa: RUF063 (the names only, unevaluated)
            cls.__doc__ = f"{cls.__name__}({', '.join(fields)})"
        cls = dataclasses.dataclass(cls, frozen=True, init=False, slots=True, **options)
        cls.__init__ = _slot_init(cls)
        return cls

    return wrap if cls is None else wrap(cls)


def _slot_init(cls):
    fields = dataclasses.fields(cls)
    if hasattr(cls, "__post_init__") or any(not f.init or f.default_factory is not MISSING for f in fields):
        raise TypeError(f"{cls.__name__}: @frozen takes plain fields only; use dataclass(frozen=True)")
    namespace = {f"_set_{f.name}": cls.__dict__[f.name].__set__ for f in fields}  # each slot's setter
    params = []
    for f in fields:
        if f.default is MISSING:
            params.append(f.name)
        else:
            namespace[f"_default_{f.name}"] = f.default
            params.append(f"{f.name}=_default_{f.name}")
    body = "".join(f"\n    _set_{f.name}(self, {f.name})" for f in fields) or "\n    pass"
    source = f"def __init__(self, {', '.join(params)}):{body}\n"
    exec(source, namespace)
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    return init
