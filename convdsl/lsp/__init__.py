"""`convdsl lsp`: a language server (LSP over stdio) for .cdsl files.

One entry point, main(); it depends on the analysis (snapshot.py builds on
network, infer, recover, positions and suppress), never the other way round.
pygls and lsprotocol come with the `lsp` extra: `pip install 'convdsl[lsp]'`.
"""

from __future__ import annotations

INSTALL = "pip install 'convdsl[lsp]'"


def main() -> int:
    """Serve over stdin and stdout until the editor ends the session; 2 if pygls is missing."""
    import sys

    try:
        from .server import main as serve
    except ImportError as err:
        print(
            f"convdsl lsp: error: the language server needs pygls and lsprotocol ({err.name} is missing): {INSTALL}",
            file=sys.stderr,
        )
        return 2
    return serve()


__all__ = ["main"]
