"""Functions an exported file defines when its forward code calls them.

PyTorch has no crop layer; these follow torchvision.transforms.functional
(center_crop's rounding included), which convdsl's crop kinds are checked
against in tests/test_catalogue_vs_torch.py.
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
}


def source(names) -> str:
    """The definitions of the named helpers, in a fixed order."""
    return "\n".join(SOURCES[name].strip("\n") + "\n" for name in sorted(SOURCES) if name in names)
