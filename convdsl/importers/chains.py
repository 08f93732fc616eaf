"""Writing a numbered list of layers (darknet's, ultralytics' rows) as .cdsl chains.

A layer that reads only the one before it, when nothing else reads that one, continues its chain;
every other layer starts a chain from a named tensor. A tensor is named after the label of the layer
that makes it (`conv13`, `m4`), so the text reads against the source's numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..source import Span
from .writer import Writer


@dataclass
class Step:
    """One numbered layer of the source, as .cdsl."""

    index: int
    label: str
    span: Span
    inputs: list[int]  # source numbers; -1 is the network's input
    element: str | None = None  # a chain element (without its label), for a layer of one input
    merge: str | None = None  # the head of a chain for a layer of several inputs: a call, its tensors filled in
    merge_args: str = ""  # further arguments of the merge call, after its tensors
    alias: int | None = None  # a layer that is another's tensor (a route to one layer)
    output: bool = False  # the network's output (a [yolo] layer, ultralytics' Detect)
    refs: tuple[int, ...] = ()  # further layers the element names as tensor arguments: REF(0), REF(1), ...


def ref(i: int) -> str:
    """The place in an element where the name of the tensor of refs[i] goes."""
    return f"\x00{i}\x00"


def write_chains(out: Writer, steps: list[Step], input_name: str, origin: Span | None) -> None:
    def resolve(j: int) -> int:
        while j >= 0 and steps[j].alias is not None:
            j = steps[j].alias
        return j

    for step in steps:
        step.inputs = [resolve(j) for j in step.inputs]
        step.refs = tuple(resolve(j) for j in step.refs)
    readers: dict[int, int] = {}
    for step in steps:
        if step.alias is None:
            for j in (*step.inputs, *step.refs):
                readers[j] = readers.get(j, 0) + 1
    last = resolve(len(steps) - 1) if steps else -1
    outputs = {step.index for step in steps if step.output and step.alias is None}
    if not outputs and last >= 0:
        outputs = {last}
    names = {-1: input_name}
    chain: list = []  # [end number, head text, elements, origins]
    late_outputs: list[str] = []

    def flush():
        if not chain:
            return
        end, head, elements, origins = chain
        chain.clear()
        tensor = steps[end].label
        names[end] = tensor
        if end in outputs and not readers.get(end):
            out.chain(f"output {tensor} = ", [head, *elements], origins[0], origins)
        else:
            out.chain(f"{tensor} = ", [head, *elements], origins[0], origins)
            if end in outputs:
                late_outputs.append(tensor)

    def tensor(j: int) -> str:
        if chain and chain[0] == j:
            flush()
        return names[j]

    for step in steps:
        if step.alias is not None:
            continue
        if step.merge is not None:
            heads = [tensor(j) for j in step.inputs]
            flush()
            args = ", ".join(heads) + (f", {step.merge_args}" if step.merge_args else "")
            head = f"{step.label}: {step.merge}({args})"
            elements = [step.element] if step.element else []
            chain[:] = [step.index, head, elements, [step.span] * (1 + len(elements))]
            continue
        (j,) = step.inputs
        element = f"{step.label}: {step.element}"
        for i, k in enumerate(step.refs):
            element = element.replace(ref(i), tensor(k))
        if chain and chain[0] == j and readers.get(j, 0) == 1:
            chain[0] = step.index
            chain[2].append(element)
            chain[3].append(step.span)
            continue
        head = tensor(j)
        flush()
        chain[:] = [step.index, head, [element], [step.span, step.span]]
    flush()
    if late_outputs:
        out.line(f"output {', '.join(late_outputs)}", origin)
