"""Lowers the syntax tree to a graph: one node per layer instance.

Names are resolved here, blocks and repeats expanded, arguments bound to the
layer catalogue, includes read, and cycles found. Tensors may be used before
the line that defines them; every tensor is defined once.

statements.py walks statements, chains and blocks; binding.py binds a call's
arguments to its kind's specs; includes.py reads settings, constants, block
definitions and included files; naming.py names the layers; state.py holds the
records the walk keeps.
"""
from .statements import Lowering

__all__ = ["Lowering"]
