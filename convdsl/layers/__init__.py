"""The layer catalogue: every layer kind, registered by name.

A new kind is one LayerKind subclass in one of these modules, listed in
_KINDS below; the grammar, the graph and the reporters need no change.
"""

from __future__ import annotations

from .activation import ACTIVATIONS, LogSoftmax, Softmax
from .base import REQUIRED, Arg, Inferred, InferContext, LayerKind, RF, ShapeError
from .conv import Conv, ConvTranspose
from .dense import Dropout, Flatten, Identity, Linear, Reshape
from .merge import Add, Chunk, Concat, Mul, Split
from .norm import BatchNorm, GroupNorm, InstanceNorm, LayerNorm, LayerNorm2d, LocalResponseNorm
from .pool import AdaptiveAvgPool, AdaptiveMaxPool, AvgPool, GlobalAvgPool, GlobalMaxPool, MaxPool
from .resample import CenterCrop, Crop, Pad, PixelShuffle, Upsample
from . import attention, learned, opaque, recurrent, residual, tokens


def _ranked(base: type, rank: int, torch_name: str) -> type:
    """`conv2d` and friends: the same kind, pinned to a number of spatial axes."""
    suffix = f"{rank}d"
    return type(
        base.__name__ + suffix.upper(),
        (base,),
        {
            "name": base.name + suffix,
            "aliases": tuple(a + suffix for a in base.aliases),
            "rank": rank,
            "torch_name": torch_name,
            "summary": f"{base.summary} ({rank}-D)",
            "__module__": base.__module__,
        },
    )


_TORCH_RANKED = {
    Conv: "Conv{}d",
    ConvTranspose: "ConvTranspose{}d",
    MaxPool: "MaxPool{}d",
    AvgPool: "AvgPool{}d",
    AdaptiveAvgPool: "AdaptiveAvgPool{}d",
    AdaptiveMaxPool: "AdaptiveMaxPool{}d",
}

_KINDS: list[type] = [
    Conv,
    ConvTranspose,
    MaxPool,
    AvgPool,
    AdaptiveAvgPool,
    AdaptiveMaxPool,
    GlobalAvgPool,
    GlobalMaxPool,
    Linear,
    Flatten,
    Reshape,
    Identity,
    Dropout,
    BatchNorm,
    GroupNorm,
    LayerNorm,
    LayerNorm2d,
    InstanceNorm,
    LocalResponseNorm,
    *ACTIVATIONS,
    Softmax,
    LogSoftmax,
    Upsample,
    PixelShuffle,
    Pad,
    Crop,
    CenterCrop,
    Add,
    Mul,
    Concat,
    Chunk,
    Split,
    *tokens.KINDS,
    *attention.KINDS,
    *residual.KINDS,
    *recurrent.KINDS,
    *opaque.KINDS,
    *learned.KINDS,
]
for _base, _torch in _TORCH_RANKED.items():
    _KINDS.extend(_ranked(_base, r, _torch.format(r)) for r in (1, 2, 3))

KINDS: dict[str, LayerKind] = {}
for _cls in _KINDS:
    _kind = _cls()
    for _name in (_cls.name, *_cls.aliases):
        assert _name not in KINDS, _name
        KINDS[_name] = _kind


def lookup(name: str) -> LayerKind | None:
    return KINDS.get(name)


def canonical_kinds() -> list[LayerKind]:
    """Each kind once, in catalogue order."""
    seen, out = set(), []
    for kind in KINDS.values():
        if id(kind) not in seen:
            seen.add(id(kind))
            out.append(kind)
    return out


__all__ = [
    "KINDS",
    "REQUIRED",
    "RF",
    "Arg",
    "InferContext",
    "Inferred",
    "LayerKind",
    "ShapeError",
    "canonical_kinds",
    "lookup",
]
