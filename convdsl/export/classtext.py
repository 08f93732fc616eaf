"""A finished class as text: its containers as Sequentials, ModuleDicts or attributes, its forward."""

from __future__ import annotations

from .code import Ctor, Dict, flat, layout
from .names import attribute_syntax, module_name
from ..layers.pyexpr import NotGeneric, quote
from .scope import FlagRef


class ClassText:
    """Lays out one class's children; `base` ends up nn.Module, nn.Sequential or nn.ModuleDict."""

    def __init__(self, base: str, local_names):
        self.base = base
        self.init_names = local_names  # the Namespace of __init__'s locals (lists being built)

    def init(self, root, indent) -> list[str]:
        if root.positional:
            return self._positional_class(root, indent)
        return [f"{indent}super().__init__()"] + self._named_body(root, indent)

    def resolver(self):
        """How forward refers to a module (ModRef) or a flag (FlagRef)."""
        base = self.base

        def resolve(ref):
            if isinstance(ref, FlagRef):
                return f"self.{ref.child.key}"
            first, *rest = ref.path
            attr = module_name(first)
            if base == "nn.ModuleDict":
                text = f"self[{quote(attr)}]"
            elif attribute_syntax(attr):
                text = f"self.{attr}"
            else:
                text = f"getattr(self, {quote(attr)})"
            return text + "".join(f"[{quote(module_name(k))}]" for k in rest)

        return resolve

    def _positional_class(self, root, indent):
        if root.pure and not root.labelled and not root.dynamic:
            self.base = "nn.Sequential"
            prelude, items = self._items(root, indent)
            return prelude + layout(Ctor("super().__init__", items, spread=True), indent)
        if root.pure and not root.labelled:
            self.base = "nn.Sequential"
            var = self.init_names.claim("layers")
            return self._list_building(root, indent, var) + [f"{indent}super().__init__(*{var})"]
        if root.pure and not root.dynamic:
            self.base = "nn.Sequential"
            return [f"{indent}super().__init__()"] + self._labelled_items(root, indent, "self")
        if root.dynamic:
            raise NotGeneric("a condition in a block with merges or crops between its layers")
        self.base = "nn.ModuleDict"
        prelude, entries = self._entries(root, indent)
        return prelude + layout(Ctor("super().__init__", [Dict(entries)]), indent)

    def _named_body(self, container, indent):
        lines = []
        index = 0
        children = [c for c in container.children if not c.functional]  # merges and crops live in forward
        while index < len(children):
            child = children[index]
            if child.flag is not None:
                lines.append(f"{indent}self.{child.key} = {child.flag.src()}")
                index += 1
                continue
            if child.cond is None:
                lines += self._assign_child(child, indent)
                index += 1
                continue
            run = [child]
            while index + len(run) < len(children) and children[index + len(run)].cond is child.cond:
                run.append(children[index + len(run)])
            for c in run:
                if not c.functional:
                    lines.append(self._set(c.key, "None", indent))
            lines.append(f"{indent}if {child.cond.src()}:")
            for c in run:
                lines += self._assign_child(c, indent + "    ")
            index += len(run)
        return lines

    def _set(self, key, value, indent):
        attr = module_name(key)
        if attribute_syntax(attr):
            return f"{indent}self.{attr} = {value}"
        return f"{indent}setattr(self, {quote(attr)}, {value})"

    def _assign_child(self, child, indent):
        if child.functional:
            return []
        prelude, node = self._child_expr(child, indent)
        attr = module_name(child.key)
        note = [] if attr == child.key else [f"{indent}# `{child.key}` in the .cdsl file: nn.Module reserves that name"]
        if attribute_syntax(attr):
            return note + prelude + layout(node, indent, f"self.{attr} = ")
        return note + prelude + layout(node, indent, f"self.add_module({quote(attr)}, ", ")")

    def _child_expr(self, child, indent):
        """(lines that build it, its expression) for a child module."""
        if child.container is None:
            return [], child.ctor
        container = child.container
        hint = module_name(child.key) if module_name(child.key).isidentifier() else "group"
        if container.pure and not container.labelled and not container.dynamic:
            prelude, items = self._items(container, indent)
            return prelude, Ctor("nn.Sequential", items, spread=True)
        if container.pure and not container.labelled:
            var = self.init_names.claim(hint)
            return self._list_building(container, indent, var), f"nn.Sequential(*{var})"
        if container.pure and not container.dynamic:
            var = self.init_names.claim(hint)
            return [f"{indent}{var} = nn.Sequential()"] + self._labelled_items(container, indent, var), var
        if container.dynamic:
            raise NotGeneric("a condition in a group with merges, crops or named layers")
        prelude, entries = self._entries(container, indent)
        return prelude, Ctor("nn.ModuleDict", [Dict(entries)])

    def _items(self, container, indent):
        prelude, items = [], []
        for c in container.children:
            pre, node = self._child_expr(c, indent)
            prelude += pre
            items.append(node)
        return prelude, _collapse(items)

    def _entries(self, container, indent):
        prelude, entries = [], []
        for c in container.children:
            if c.functional:
                continue
            pre, node = self._child_expr(c, indent)
            prelude += pre
            entries.append((quote(module_name(c.key)), node))
        return prelude, entries

    def _labelled_items(self, container, indent, owner):
        lines = []
        for c in container.children:
            pre, node = self._child_expr(c, indent)
            attr = module_name(c.key)
            lines += pre
            if attribute_syntax(attr):
                lines += layout(node, indent, f"{owner}.{attr} = ")
            else:
                lines += layout(node, indent, f"{owner}.add_module({quote(attr)}, ", ")")
        return lines

    def _list_building(self, container, indent, var):
        lines, started = [], False
        children = container.children
        index = 0
        while index < len(children):
            cond_ = children[index].cond
            run = []
            while index < len(children) and children[index].cond is cond_:
                run.append(children[index])
                index += 1
            prelude, items = [], []
            for c in run:
                pre, node = self._child_expr(c, indent if cond_ is None else indent + "    ")
                prelude += pre
                items.append(node)
            inner = indent if cond_ is None else indent + "    "
            block = list(prelude)
            listed = Ctor("", items, spread=True, brackets="[]")
            if not started and cond_ is None:
                block += layout(listed, inner, f"{var} = ")
            elif len(items) == 1:
                block += layout(items[0], inner, f"{var}.append(", ")")
            else:
                block += layout(listed, inner, f"{var} += ")
            if not started and cond_ is not None:
                lines.append(f"{indent}{var} = []")
            started = True
            if cond_ is not None:
                lines.append(f"{indent}if {cond_.src()}:")
            lines += block
        return lines


def _collapse(items):
    """Long runs of identical modules as one comprehension, so a deep repeat stays short."""
    out, index = [], 0
    while index < len(items):
        run = 1
        while index + run < len(items) and flat(items[index + run]) == flat(items[index]):
            run += 1
        if run >= 8:
            out.append(f"*({flat(items[index])} for _ in range({run}))")
        else:
            out.extend(items[index : index + run])
        index += run
    return out
