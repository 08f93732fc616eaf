"""What a block definition, or the file's top level, says: the structure the PyTorch export writes a class from.

Lowering reads each definition of the syntax tree into these records
(lower/record.py): its parameters, its statements as flows of steps (layers,
block calls, groups, repeats, conditions, labels), every argument kept as the
expression written (`k // 2`), so that export can write one generic class per
block definition with readable arguments. Export reads these records, the graph
and its sites, never the syntax tree's statements. A step's `span` is the span
of what made it: the key to the nodes (model.LayerNode.span) and block instances
(model.Site.call_span) it made in each place.
"""

from __future__ import annotations

from .records import frozen
from .source import Span


@frozen(eq=False)
class Param:
    """A block parameter: a value (`c`, `stride=1`) or a tensor (`skip: tensor`)."""

    name: str
    tensor: bool
    default: object  # the default's expression; None if it has none


@frozen(eq=False)
class LayerStep:
    """A layer call: its kind as written, its arguments by the kind's spec names (aliases resolved)."""

    kind: str
    args: dict  # spec name -> the expression written
    tensors: tuple[str, ...]  # the tensors it takes besides the one flowing in, in input order
    span: Span
    node: str | None = None  # read from a graph (export/flat.py): the one node it stands for


@frozen(eq=False)
class BlockStep:
    """A use of a block: its name and the arguments it is given."""

    block: str
    args: tuple  # (parameter name, the expression written, given by position)
    span: Span


@frozen(eq=False)
class ReuseStep:
    """`reuse(LABEL)`: the layer, labelled group or block instance LABEL called again (model.Site.reuses holds what
    each expansion of it named, by this span)."""

    label: str
    span: Span


@frozen(eq=False)
class GroupStep:
    """A parenthesised chain, `(a -> b)`."""

    steps: tuple
    span: Span


@frozen(eq=False)
class RepeatStep:
    """`step * count`."""

    step: object
    count: object  # the count's expression
    span: Span
    index: str | None = None  # `* N as i`: the name of the copy's number


@frozen(eq=False)
class WhenStep:
    """`step if condition`."""

    step: object
    condition: object  # the condition's expression
    span: Span


@frozen(eq=False)
class LabelStep:
    """`label: step`: the step's layers (or group) take the label as their name."""

    label: str
    step: object
    span: Span


@frozen(eq=False)
class TensorDecl:
    """`param NAME: shape`: a learnable tensor of the class (an nn.Parameter attribute named NAME)."""

    name: str
    span: Span  # the statement's: the key to the node it made in each place (model.LayerNode.span)


@frozen(eq=False)
class Flow:
    """One statement: the tensors it assigns (`a, b = ...`), the tensor its chain starts from (None where it
    starts with a merge, `add(a, b) -> ...`), and its steps."""

    targets: tuple[str, ...]
    source: str | None
    steps: tuple
    reads: frozenset  # the tensors its steps name: a flow comes after the flows computing them


@frozen(eq=False)
class Definition:
    """A block definition (name, parameters, body), or the top level of a file (name None, no parameters).

    A block written as a chain (`block b(c) = conv(c, 3) -> relu`) has `chain`, the
    steps applied to its input; any other has `flows`, its statements in order.
    env: the constants visible where it is defined.
    """

    name: str | None
    params: tuple[Param, ...]
    chain: tuple | None
    flows: tuple[Flow, ...]
    env: dict
    span: Span | None
    tensors: tuple[TensorDecl, ...] = ()  # its `param` statements, in order
