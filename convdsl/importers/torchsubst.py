"""PyTorch's composite transformer modules, traced through a forward convdsl can follow.

`nn.TransformerEncoderLayer` and `nn.TransformerEncoder` are how most transformers
written in plain PyTorch are built, and neither can be traced by torch.fx: their
forward checks dozens of conditions for a fused fast path, and branches on them.
Their math is the slow path's, which PyTorch documents and the fast path must
equal: for an encoder layer, self-attention then a feed-forward network, each with
dropout and a residual, the layer norm after (post-norm) or before (norm_first).
A substitute written here has the module's own children (the same objects under the
same names, so the translation keeps torch's state_dict keys) and that forward. It
is traced in the module's place; the module's scope, class and parameters stay the
module's.

The substitute takes the sequence alone: a mask passed to the module (a causal one is
recognised where it is called, see Tracer._module_element) is applied to its attention
layers as convdsl's causal=true.
"""

from __future__ import annotations


def substitutable(torch, cls) -> bool:
    nn = torch.nn
    # nn.TransformerDecoder is not: its layers each take the memory too, which the writer cannot number as a
    # chain of `layers` (torchmap says so when it refuses it)
    return cls in (nn.TransformerEncoderLayer, nn.TransformerEncoder, nn.TransformerDecoderLayer)


_DECODER = (
    "tgt_mask",
    "memory_mask",
    "tgt_key_padding_mask",
    "memory_key_padding_mask",
    "tgt_is_causal",
    "memory_is_causal",
)
# Each module's forward: the tensors it takes first (the sequence; a decoder's memory), then its other arguments
# in order. The first of those is the self-attention's mask (causal: convdsl's causal=true), the one ending in
# `is_causal` says it is; any other given is refused.
SIGNATURES = {
    "TransformerEncoderLayer": (1, ("src_mask", "src_key_padding_mask", "is_causal")),
    "TransformerEncoder": (1, ("mask", "src_key_padding_mask", "is_causal")),
    "TransformerDecoderLayer": (2, _DECODER),
}


def substitute(torch, module):
    """The module with the forward convdsl traces (same children), or None where it has none."""
    nn = torch.nn

    class EncoderLayer(nn.Module):
        """nn.TransformerEncoderLayer's forward, its slow path: `x + sa(norm1(x))`, `x + ff(norm2(x))` with
        norm_first, else `norm1(x + sa(x))`, `norm2(x + ff(x))`."""

        ff_dropout = "dropout2"  # the child after the feed-forward (a decoder layer's third dropout)

        def __init__(self, layer):
            super().__init__()
            self._modules = layer._modules  # the same children, under the same names
            self.norm_first = layer.norm_first
            # a module (nn.GELU()) is among the children; a function (F.relu, F.gelu: `activation="relu"`) is not
            self.act = layer.activation if not isinstance(layer.activation, nn.Module) else None

        def forward(self, x):
            if self.norm_first:
                x = x + self._sa(self.norm1(x))
                return x + self._ff(self.norm2(x))
            x = self.norm1(x + self._sa(x))
            return self.norm2(x + self._ff(x))

        def _sa(self, x):
            return self.dropout1(self.self_attn(x, x, x, need_weights=False)[0])

        def _ff(self, x):
            hidden = self.linear1(x)
            hidden = self.act(hidden) if self.act is not None else self.activation(hidden)
            return getattr(self, self.ff_dropout)(self.linear2(self.dropout(hidden)))

    class Encoder(nn.Module):
        """nn.TransformerEncoder's forward: its layers in turn, then its norm if it has one."""

        def __init__(self, encoder):
            super().__init__()
            self._modules = encoder._modules
            self.has_norm = encoder.norm is not None  # None is a plain attribute, not among the children

        def forward(self, x):
            for layer in self.layers:
                x = layer(x)
            return self.norm(x) if self.has_norm else x

    class DecoderLayer(EncoderLayer):
        """nn.TransformerDecoderLayer's slow path: self-attention, attention to the memory, feed-forward, each
        with its dropout, residual and norm (after, or before with norm_first)."""

        ff_dropout = "dropout3"

        def forward(self, x, memory):
            if self.norm_first:
                x = x + self._sa(self.norm1(x))
                x = x + self._mha(self.norm2(x), memory)
                return x + self._ff(self.norm3(x))
            x = self.norm1(x + self._sa(x))
            x = self.norm2(x + self._mha(x, memory))
            return self.norm3(x + self._ff(x))

        def _mha(self, x, memory):
            return self.dropout2(self.multihead_attn(x, memory, memory, need_weights=False)[0])

    made = {
        nn.TransformerEncoderLayer: EncoderLayer,
        nn.TransformerEncoder: Encoder,
        nn.TransformerDecoderLayer: DecoderLayer,
    }.get(type(module))
    return made(module) if made is not None else None


def self_attentions(module) -> list:
    """The attention modules a causal mask passed to `module` applies to: each layer's self_attn (a decoder's
    multihead_attn attends to the memory, unmasked)."""
    return [m for name, m in module.named_modules() if name == "self_attn" or name.endswith(".self_attn")]
