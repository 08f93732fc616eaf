"""PyTorch as the oracle for convdsl's layer catalogue.

Test modules import this only after `require("torch")` (conftest), so the suite
still runs (and skips these tests) where torch is not installed, unless CI promised it.

    result = run(lambda: torch.nn.Conv2d(3, 16, 3), (3, 32, 32))
    result.shapes   # ((16, 30, 30),): one shape per output, without the batch
    result.params   # sum(p.numel() for p in module.parameters())
    result.buffers  # sum(b.numel() for b in module.buffers())
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

BATCH = 2  # more than 1, so a shape rule that mixes up the batch with another axis shows


@dataclass(frozen=True)
class TorchResult:
    shapes: tuple  # one tuple per output, without the batch dimension
    params: int
    buffers: int
    module: object  # the module (or function) that was run, e.g. to read its weight


def run(factory, *input_shapes, batch: int = BATCH) -> TorchResult:
    """Build `factory()` (an nn.Module or a plain function of tensors) and run it
    on random inputs of the given shapes (each without the batch dimension)."""
    module = factory()
    inputs = [torch.randn((batch, *shape)) for shape in input_shapes]
    if isinstance(module, torch.nn.Module):
        module.eval()
        params = sum(p.numel() for p in module.parameters())
        buffers = sum(b.numel() for b in module.buffers())
    else:
        params = buffers = 0
    with torch.no_grad():
        out = module(*inputs)
    outputs = tuple(out) if isinstance(out, (tuple, list)) else (out,)
    shapes = []
    for tensor in outputs:
        assert tensor.shape[0] == batch, f"torch output {tuple(tensor.shape)} lost the batch dimension"
        shapes.append(tuple(tensor.shape[1:]))
    return TorchResult(tuple(shapes), params, buffers, module)


def output_shape(factory, *input_shapes, batch: int = BATCH) -> tuple:
    """The single output shape (without the batch)."""
    (shape,) = run(factory, *input_shapes, batch=batch).shapes
    return shape


# torchvision is not installed; these follow torchvision.transforms.functional, by hand.


def center_crop(x, size):
    """torchvision's center_crop on the last len(size) axes:
    top = int(round((H - h) / 2.0)), left = int(round((W - w) / 2.0)), then slicing."""
    size = tuple(size)
    index = [slice(None)] * (x.dim() - len(size))
    for axis_size, wanted in zip(x.shape[x.dim() - len(size) :], size):
        start = int(round((axis_size - wanted) / 2.0))
        index.append(slice(start, start + wanted))
    return x[tuple(index)]


def crop(x, size, offsets=None):
    """Keep a region of the last len(size) axes starting at `offsets` (default: the top-left corner)."""
    size = tuple(size)
    offsets = tuple(offsets) if offsets is not None else (0,) * len(size)
    index = [slice(None)] * (x.dim() - len(size))
    index += [slice(o, o + s) for o, s in zip(offsets, size)]
    return x[tuple(index)]


class Fn(torch.nn.Module):
    """Wrap a function of tensors as a parameter-free module, with a readable repr."""

    def __init__(self, fn, name: str = "fn"):
        super().__init__()
        self.fn, self.name = fn, name

    def forward(self, *xs):
        return self.fn(*xs)

    def extra_repr(self):
        return self.name
