"""Export to PyTorch: readable Python source for a network, and a harness that runs it.

    >>> from convdsl.export import export_pytorch
    >>> result = export_pytorch(convdsl.load("examples/resnet50.cdsl").analyze())
    >>> result.source        # the module's text; result.diagnostics says what could not be written

How each layer kind is written lives in the catalogue (`LayerKind.to_torch`);
this package writes the classes, forward code and file around it. Writing the
text never imports torch; verify.py runs it and needs torch.
"""

from __future__ import annotations


def export_pytorch(analysis, *, source_label: str | None = None):
    """The PyTorch module for an analysed network: an export.model.Export."""
    from .model import export

    return export(analysis, source_label=source_label)


__all__ = ["export_pytorch"]
