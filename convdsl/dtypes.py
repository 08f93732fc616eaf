"""Which tensors are integer ids: a network input declared `dtype=long` is, and only `embedding` reads ids.

Everything else a network computes is float. An id tensor fed to any other layer,
or a float tensor (a layer's output) fed to `embedding`, is an error where the
layer is written. An input without `dtype=` that only embeddings read is taken as
ids, as before the option existed.
"""

from __future__ import annotations

from . import diagnostics as codes
from .diagnostics import Diagnostic


def dtype_problems(network) -> list[Diagnostic]:
    graph = network.layer_graph
    found = []
    for node, data in graph.nodes.items():
        if data.kind in ("input", "output"):
            continue
        for source, _ in graph.in_edges(node):
            spec = network.inputs.get(source)
            long = spec is not None and spec.dtype == "long"
            if long and data.kind != "embedding":
                found.append(
                    Diagnostic(
                        codes.ARGUMENT_TYPE,
                        data.span,
                        f"`{source}` holds integer ids (dtype=long); only `embedding` reads them",
                        "reads ids",
                        f"map the ids to vectors first: `{source} -> embedding(num, dim)`",
                    )
                )
            elif data.kind == "embedding" and spec is None and graph.nodes[source].kind != "input":
                found.append(
                    Diagnostic(
                        codes.ARGUMENT_TYPE,
                        data.span,
                        "embedding reads token ids, but this tensor is computed by a layer (floats)",
                        "not ids",
                        "feed it a network input of ids: `input ids: 1024, dtype=long`",
                    )
                )
    return found
