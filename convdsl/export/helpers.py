"""Functions an exported file defines when its forward code calls them.

PyTorch has no crop layer; these follow torchvision.transforms.functional
(center_crop's rounding included), which convdsl's crop kinds are checked
against in tests/test_catalogue_vs_torch.py. The classes are the modules of
modern kinds PyTorch has no single module for, written as torchvision writes
them (Swin's window attention, ConvNeXt's LayerNorm2d) or as thin batch-first
wrappers of PyTorch's own (attention, LSTM, GRU), so parameter names and counts
are PyTorch's.
"""

from __future__ import annotations

SOURCES = {
    "crop": '''
def crop(x, size):
    """The top-left region of x's last len(size) axes."""
    index = [slice(None)] * (x.dim() - len(size)) + [slice(0, s) for s in size]
    return x[tuple(index)]
''',
    "center_crop": '''
def center_crop(x, size):
    """The central region of x's last len(size) axes, rounded as torchvision rounds it."""
    index = [slice(None)] * (x.dim() - len(size))
    for length, wanted in zip(x.shape[x.dim() - len(size):], size):
        start = int(round((length - wanted) / 2.0))
        index.append(slice(start, start + wanted))
    return x[tuple(index)]
''',
    "Attention": '''
class Attention(nn.MultiheadAttention):
    """nn.MultiheadAttention on batch-first tokens: self-attention, or cross-attention."""

    def __init__(self, embed_dim, num_heads, kdim=None, vdim=None, bias=True, causal=False,
                 dropout=0.0):
        super().__init__(embed_dim, num_heads, dropout=dropout, bias=bias, kdim=kdim, vdim=vdim,
                         batch_first=True)
        self.causal = causal

    def forward(self, x, memory=None):
        kv = x if memory is None else memory
        mask = None
        if self.causal:  # True where a query may not look: the keys after it
            mask = torch.ones(x.shape[1], kv.shape[1], dtype=torch.bool, device=x.device).triu(1)
        return super().forward(x, kv, kv, need_weights=False, attn_mask=mask)[0]
''',
    "GroupedQueryAttention": '''
class GroupedQueryAttention(nn.Module):
    """Multi-head attention with fewer key/value heads than query heads (grouped-query)."""

    def __init__(self, embed_dim, num_heads, kv_heads, kdim=None, bias=True, causal=False,
                 dropout=0.0):
        super().__init__()
        kdim = embed_dim if kdim is None else kdim
        head_dim = embed_dim // num_heads
        self.num_heads, self.kv_heads = num_heads, kv_heads
        self.causal, self.dropout = causal, dropout
        self.q_proj = nn.Linear(embed_dim, embed_dim, bias=bias)
        self.k_proj = nn.Linear(kdim, head_dim * kv_heads, bias=bias)
        self.v_proj = nn.Linear(kdim, head_dim * kv_heads, bias=bias)
        self.out_proj = nn.Linear(embed_dim, embed_dim, bias=bias)

    def forward(self, x, memory=None):
        kv = x if memory is None else memory
        n, lq, lk = x.shape[0], x.shape[1], kv.shape[1]
        q = self.q_proj(x).view(n, lq, self.num_heads, -1).transpose(1, 2)
        k = self.k_proj(kv).view(n, lk, self.kv_heads, -1).transpose(1, 2)
        v = self.v_proj(kv).view(n, lk, self.kv_heads, -1).transpose(1, 2)
        p = self.dropout if self.training else 0.0
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=self.causal,
                                           enable_gqa=True)
        return self.out_proj(y.transpose(1, 2).reshape(n, lq, -1))
''',
    "ShiftedWindowAttention": '''
class ShiftedWindowAttention(nn.Module):
    """Swin's (shifted) window attention on (N, H, W, C), as torchvision's."""

    def __init__(self, dim, window_size, shift_size, num_heads, qkv_bias=True, proj_bias=True):
        super().__init__()
        pair = lambda v: tuple(v) if isinstance(v, (tuple, list)) else (v, v)  # noqa: E731
        self.window_size, self.shift_size = pair(window_size), pair(shift_size)
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim, bias=proj_bias)
        wh, ww = self.window_size
        table = torch.zeros((2 * wh - 1) * (2 * ww - 1), num_heads)
        self.relative_position_bias_table = nn.Parameter(table)
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)
        grid = torch.meshgrid(torch.arange(wh), torch.arange(ww), indexing="ij")
        coords = torch.stack(grid).flatten(1)
        relative = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0).contiguous()
        relative[:, :, 0] += wh - 1
        relative[:, :, 1] += ww - 1
        relative[:, :, 0] *= 2 * ww - 1
        self.register_buffer("relative_position_index", relative.sum(-1).flatten())

    def forward(self, x):
        n, h, w, c = x.shape
        (wh, ww), (sh, sw), heads = self.window_size, self.shift_size, self.num_heads
        x = F.pad(x, (0, 0, 0, (ww - w % ww) % ww, 0, (wh - h % wh) % wh))
        ph, pw = x.shape[1], x.shape[2]
        sh, sw = (0 if wh >= ph else sh), (0 if ww >= pw else sw)  # one window: nothing to shift
        if sh or sw:
            x = torch.roll(x, shifts=(-sh, -sw), dims=(1, 2))
        windows, tokens = (ph // wh) * (pw // ww), wh * ww
        x = x.view(n, ph // wh, wh, pw // ww, ww, c).permute(0, 1, 3, 2, 4, 5)
        x = x.reshape(n * windows, tokens, c)
        qkv = self.qkv(x).reshape(n * windows, tokens, 3, heads, c // heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0] * (c // heads) ** -0.5, qkv[1], qkv[2]
        attn = q.matmul(k.transpose(-2, -1))
        bias = self.relative_position_bias_table[self.relative_position_index]
        bias = bias.view(tokens, tokens, -1)
        attn = attn + bias.permute(2, 0, 1).unsqueeze(0)
        if sh or sw:
            mask = x.new_zeros((ph, pw))
            count = 0
            for hs in ((0, -wh), (-wh, -sh), (-sh, None)):
                for ws in ((0, -ww), (-ww, -sw), (-sw, None)):
                    mask[hs[0]:hs[1], ws[0]:ws[1]] = count
                    count += 1
            mask = mask.view(ph // wh, wh, pw // ww, ww).permute(0, 2, 1, 3)
            mask = mask.reshape(windows, tokens)
            mask = mask.unsqueeze(1) - mask.unsqueeze(2)
            mask = mask.masked_fill(mask != 0, -100.0).masked_fill(mask == 0, 0.0)
            attn = attn.view(n, windows, heads, tokens, tokens) + mask.unsqueeze(1).unsqueeze(0)
            attn = attn.view(-1, heads, tokens, tokens)
        x = attn.softmax(dim=-1).matmul(v).transpose(1, 2).reshape(n * windows, tokens, c)
        x = self.proj(x)
        x = x.view(n, ph // wh, pw // ww, wh, ww, c).permute(0, 1, 3, 2, 4, 5).reshape(n, ph, pw, c)
        if sh or sw:
            x = torch.roll(x, shifts=(sh, sw), dims=(1, 2))
        return x[:, :h, :w, :].contiguous()
''',
    "PatchMerging": '''
class PatchMerging(nn.Module):
    """Swin's patch merging on (N, H, W, C), as torchvision's PatchMerging."""

    def __init__(self, dim, eps=1e-5):
        super().__init__()
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = nn.LayerNorm(4 * dim, eps=eps)

    def forward(self, x):
        h, w = x.shape[-3], x.shape[-2]
        x = F.pad(x, (0, 0, 0, w % 2, 0, h % 2))
        # torchvision's x0, x1, x2, x3
        parts = [x[..., i::2, j::2, :] for j in (0, 1) for i in (0, 1)]
        x = torch.cat(parts, -1)
        return self.reduction(self.norm(x))
''',
    "LayerNorm2d": '''
class LayerNorm2d(nn.LayerNorm):
    """Layer normalisation over the channels (dim 1) at each position (ConvNeXt's LayerNorm2d)."""

    def forward(self, x):
        return super().forward(x.movedim(1, -1)).movedim(-1, 1)
''',
    "LayerScale": '''
class LayerScale(nn.Module):
    """A learned scale per entry of one axis (ConvNeXt's and CaiT's layer scale)."""

    def __init__(self, size, init, trailing=0):
        super().__init__()
        self.gamma = nn.Parameter(torch.full((size,) + (1,) * trailing, float(init)))

    def forward(self, x):
        return x * self.gamma
''',
    "StochasticDepth": '''
class StochasticDepth(nn.Module):
    """Drops the branch per sample ("row") or for the batch, as torchvision's; identity in eval."""

    def __init__(self, p, mode="row"):
        super().__init__()
        self.p, self.mode = p, mode

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        keep = 1.0 - self.p
        shape = [x.shape[0]] + [1] * (x.dim() - 1) if self.mode == "row" else [1] * x.dim()
        noise = torch.empty(shape, dtype=x.dtype, device=x.device).bernoulli_(keep)
        return x * (noise / keep if keep > 0.0 else noise)
''',
    "ClassToken": '''
class ClassToken(nn.Module):
    """Learned tokens put before the sequence (ViT's class token)."""

    def __init__(self, dim, tokens=1):
        super().__init__()
        self.token = nn.Parameter(torch.zeros(1, tokens, dim))

    def forward(self, x):
        return torch.cat([self.token.expand(x.shape[0], -1, -1), x], dim=1)
''',
    "PositionEmbedding": '''
class PositionEmbedding(nn.Module):
    """A learned tensor added to the tokens (absolute position embedding)."""

    def __init__(self, length, dim):
        super().__init__()
        self.embedding = nn.Parameter(torch.empty(1, length, dim).normal_(std=0.02))

    def forward(self, x):
        return x + self.embedding
''',
    "LSTM": '''
class LSTM(nn.LSTM):
    """nn.LSTM on batch-first sequences, giving (sequence, h, c), each with the batch first."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, batch_first=True, **kwargs)

    def forward(self, x):
        y, (h, c) = super().forward(x)
        return y, h.transpose(0, 1), c.transpose(0, 1)
''',
    "GRU": '''
class GRU(nn.GRU):
    """nn.GRU on batch-first sequences, giving (sequence, h), each with the batch first."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, batch_first=True, **kwargs)

    def forward(self, x):
        y, h = super().forward(x)
        return y, h.transpose(0, 1)
''',
}


def source(names) -> str:
    """The definitions of the named helpers, in a fixed order."""
    return "\n".join(SOURCES[name].strip("\n") + "\n" for name in sorted(SOURCES) if name in names)
