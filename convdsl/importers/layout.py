"""Whether an imported model reads an input as tokens (`layout=tokens`) rather than channels first.

A PyTorch or ONNX model's input of `16 x 64` is `L x D` tokens to a transformer (its first
layer a LayerNorm, a Linear or an attention over the last axis) and `C x L` channels to a
1-d CNN (a Conv1d). convdsl reads an input channels first unless it says `layout=tokens`,
so a translation that leaves the option out makes `check` warn that each linear acts on an
unflattened tensor (W104) and `sizes` sweep the features axis. What the model does first with
the input decides: the first layer that reads it, past elementwise ones.
"""

from __future__ import annotations

# kinds that read the last axis as features: a tensor they take first is L x D (or H x W x D) tokens
TOKEN_READERS = frozenset(
    {"linear", "layernorm", "attention", "class_token", "position_embedding", "window_attention", "patch_merging"}
    | {"lstm", "gru"}
)
# elementwise kinds: the input goes on through them to the layer that decides
PASS_THROUGH = frozenset(
    {"dropout", "identity", "stochastic_depth", "add", "mul"}
    | {"relu", "relu6", "gelu", "silu", "tanh", "sigmoid", "elu", "leaky_relu", "mish", "hardswish", "hardsigmoid"}
)
MAX_DEPTH = 64  # nested modules followed into (a scope per module, as deep as the model nests them)


def reads_as_tokens(scope, value, depth: int = 0) -> bool:
    """Whether the first layer that reads `value` (an input of `scope`), past elementwise ones and into the
    child modules it is passed to, takes it as tokens."""
    frontier = {value}
    for element in scope.elements:
        position = next((i for i, v in enumerate(element.inputs) if _key(v) in frontier), None)
        if position is None:
            continue
        if element.child is not None:
            inputs = element.child.inputs
            if position < len(inputs) and depth < MAX_DEPTH:
                return reads_as_tokens(element.child, inputs[position], depth + 1)
            return False
        kind = element.mapped.kind if element.mapped is not None else None
        if kind in PASS_THROUGH:
            frontier.update(_key(v) for v in element.outputs)
            continue
        return kind in TOKEN_READERS
    return False


def _key(value):
    """A value id as the elements list it (fx nodes and ONNX names are hashable; anything else is not a tensor)."""
    try:
        hash(value)
    except TypeError:
        return None
    return value
