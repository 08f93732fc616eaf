"""Axis provenance: for each dim of a tensor (the batch left out), which spatial axes of the network's
input it runs along.

A dim is a tuple of input spatial axis indices: `(0,)` for the input's first spatial
axis (H of `C x H x W`, L of `L x D` tokens), `(0, 1)` for a sequence made by flattening
H and W, `()` for features (channels, a token's width, heads). A network input's dims
come from its layout (model.InputSpec.spatial_indices); each layer's from its input's by
the rules below, which follow what the kind does to axes (permute permutes, flatten
merges, unflatten splits, select drops, embedding adds a feature dim); a layer that
keeps the rank keeps the dims, and one that changes it otherwise is taken channels-first.

Inference uses it for receptive fields (a window applies to the input axes its dims run
along, so a window attention on `H x W x C` grows the field of H and W, and attention
over a flattened `L` sees the whole of H and W) and for the W104 lint (linear on a
tensor whose last dim runs along an input axis: not on `L x D` tokens).
"""

from __future__ import annotations

Dims = tuple  # a tuple per dim of input axis indices


def input_dims(spec) -> Dims:
    spatial = list(spec.spatial_indices())
    return tuple((spatial.index(i),) if i in spatial else () for i in range(len(spec.dims)))


def _norm(dim, rank_with_batch: int):
    """A PyTorch dim (the batch 0, negative from the end) as an index among the dims without the batch."""
    if isinstance(dim, bool) or not isinstance(dim, int):
        return None
    dim = dim % rank_with_batch if -rank_with_batch <= dim < rank_with_batch else None
    return None if dim in (None, 0) else dim - 1


def output_dims(kind: str, args: dict, inputs: list, outputs: tuple) -> list:
    """Per output, its Dims (None where unknown). inputs: the Dims of each input (None if unknown)."""
    out = []
    # a merge's dims are its first input's that has any (a `param` has none: it runs along no input axis)
    first = next((d for d in inputs if d is not None), None)
    for shape in outputs:
        out.append(_one(kind, args, first, shape, inputs) if shape is not None and first is not None else None)
    return out


def _one(kind, args, dims, shape, inputs):
    rank = len(shape)
    n = len(dims)
    if kind == "permute":
        from .layers.tokens import _permutation

        try:
            order = _permutation(args, n)
        except Exception:  # reported by the kind's own inference
            order = None
        if order is not None and len(order) == n + 1:
            return tuple(dims[d - 1] for d in order[1:])
    elif kind == "transpose":
        a, b = _norm(args.get("dim0"), n + 1), _norm(args.get("dim1"), n + 1)
        if a is not None and b is not None:
            swapped = list(dims)
            swapped[a], swapped[b] = swapped[b], swapped[a]
            return tuple(swapped)
    elif kind == "flatten":
        start, end = _norm(args.get("start_dim", 1), n + 1), _norm(args.get("end_dim", -1), n + 1)
        if start is not None and end is not None and start <= end:
            merged = tuple(axis for d in dims[start : end + 1] for axis in d)
            result = (*dims[:start], merged, *dims[end + 1 :])
            if len(result) == rank:
                return result
    elif kind == "unflatten":
        at = _norm(args.get("dim"), n + 1)
        if at is not None:
            parts = rank - n + 1
            merged = dims[at]
            pieces = tuple((a,) for a in merged) if len(merged) == parts else (merged,) * parts
            return (*dims[:at], *pieces, *dims[at + 1 :])
    elif kind == "select":
        at = _norm(args.get("dim"), n + 1)
        if at is not None and rank == n - 1:
            return (*dims[:at], *dims[at + 1 :])
    elif kind == "embedding":
        if rank == n + 1:
            return (*dims, ())
    elif kind == "matmul" and rank == n:
        return (*dims[:-1], ())
    elif kind in ("reshape", "view") and tuple(shape) != tuple(args.get("shape") or ()):  # like=t: None
        pass
    if rank == n:
        return dims
    # a rank change no rule above covers: channels first, the spatial dims kept in order where they fit
    kept = dims[1:rank] if dims and dims[0] == () else ()
    return ((),) + tuple(kept) + ((),) * (rank - 1 - len(kept))
