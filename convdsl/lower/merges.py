"""A kind of one flowing tensor and a tensor argument, written as a merge at the start of a chain, or with the
tensor first in a chain.

`matmul(a, b)` is `a -> matmul(b)`, and `attention(x, memory, heads=8)` is
`x -> attention(8, memory=memory)`: the first name is the tensor that flows in,
the second fills the kind's tensor argument, the rest its other positional
arguments in order. Lowering and the definition records (record.py) read a
chain's start through this one function, so both see the same steps.
"""

from __future__ import annotations

from ..syntax import Call, Ident, Keyword, Labelled, Name


def merge_form(element, kinds, constants):
    """(the flowing tensor's Name, the element rewritten as a call in a chain) or None.

    kinds: the catalogue (name -> LayerKind); constants: names that are values, not tensors.
    """
    label = None
    call = element
    if isinstance(call, Labelled):
        label, call = call, call.element
    if not isinstance(call, Call) or len(call.args) < 2:
        return None
    kind = kinds.get(call.name.id)
    if kind is None or kind.variadic or kind.statement or not kind.takes_input:
        return None
    tensor_specs = [spec for spec in kind.args if spec.type == "tensor"]
    first, second = call.args[0], call.args[1]
    if not tensor_specs or not isinstance(first, Name) or not isinstance(second, Name):
        return None
    if first.id in constants or second.id in constants:
        return None
    spec = tensor_specs[0]
    rest = list(call.args[2:])
    if spec.positional:  # in its place among the positional arguments, the others around it in order
        positional = []
        for s in (s for s in kind.args if s.positional):
            if s is spec:
                positional.append(second)
            elif rest:
                positional.append(rest.pop(0))
        args, keywords = (*positional, *rest), ()  # more than the kind takes: binding reports them
    else:
        args, keywords = tuple(rest), (Keyword(Ident(spec.name, second.span), second, second.span),)
    rewritten = Call(call.name, tuple(args), (*keywords, *call.kwargs), call.span)
    if label is not None:
        rewritten = Labelled(label.label, rewritten, label.span)
    return first, rewritten


def tensor_first(call, kinds, values):
    """`x -> attention(m, heads=8)`: a kind whose tensor argument is a keyword (attention's `memory`, the `like`
    of upsample and reshape), given a tensor's name as its first positional argument, reads it as that keyword:
    the call rewritten (`attention(heads=8, memory=m)`), or None when it is not written so.

    values: the names that are values (constants, block parameters): a value there is the kind's own first
    argument, as always (`attention(h)` with a constant h is h heads).
    """
    if not isinstance(call, Call) or not call.args or not isinstance(call.args[0], Name):
        return None
    kind = kinds.get(call.name.id)
    if kind is None or kind.variadic or kind.statement:
        return None
    first = call.args[0]
    if first.id in values:
        return None
    specs = [spec for spec in kind.args if spec.type == "tensor"]
    if len(specs) != 1 or specs[0].positional:
        return None
    spec = specs[0]
    given = {kw.name.id for kw in call.kwargs}
    if given & {spec.name, *spec.aliases}:
        return None
    keyword = Keyword(Ident(spec.name, first.span), first, first.span)
    return Call(call.name, call.args[1:], (*call.kwargs, keyword), call.span)
