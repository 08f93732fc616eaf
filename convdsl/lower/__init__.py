"""Lowers the syntax tree to a graph: one node per layer instance.

Names are resolved here, blocks and repeats expanded, arguments bound to the
layer catalogue, includes read, and cycles found. Tensors may be used before
the line that defines them; every tensor is defined once.

statements.py walks statements and chains, making every node through the
public builder (build.py); blocks.py lowers a block's use; binding.py binds a
call's arguments to its kind's specs (through arguments.py); includes.py reads
settings, constants, block definitions and included files; naming.py names the
layers; state.py holds the records the walk keeps; record.py reads definitions
into definition.py's records when export asks.
"""

from .statements import Lowering

__all__ = ["Lowering"]
