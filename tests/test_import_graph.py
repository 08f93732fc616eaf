"""The package's import graph has no cycle: modules depend downwards only, so each can be read, tested
and replaced from the bottom up (issue 16). Function-level imports count, as they run as surely as
module-level ones, only later; imports under `if TYPE_CHECKING:` do not, as they never run."""

from __future__ import annotations

import ast
from pathlib import Path

import convdsl

PACKAGE = Path(convdsl.__file__).parent
ROOT = "convdsl"


def _modules() -> dict[str, tuple[Path, bool]]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        package = parts[-1] == "__init__"
        found[".".join(parts[:-1] if package else parts)] = (path, package)
    return found


def _type_checking_only(tree: ast.AST) -> set[int]:
    """ids of the import statements inside `if TYPE_CHECKING:` blocks."""
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", getattr(node.test, "attr", None)) == "TYPE_CHECKING":
            for inner in node.body:
                for sub in ast.walk(inner):
                    skipped.add(id(sub))
    return skipped


def _parents(module: str) -> list[str]:
    """The packages importing `module` runs first (the root package, the public facade, left out)."""
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(2, len(parts))]


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, (path, package) in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skipped = _type_checking_only(tree)
        here = name if package else name.rsplit(".", 1)[0]
        targets = set()
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = here.split(".")[: len(here.split(".")) - (node.level - 1)]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                if target != ROOT and not target.startswith(ROOT + "."):
                    continue
                for alias in node.names:
                    sub = f"{target}.{alias.name}"
                    targets.add(sub if sub in modules else target)
            elif isinstance(node, ast.Import):
                targets.update(a.name for a in node.names if a.name == ROOT or a.name.startswith(ROOT + "."))
        deps = set()
        for target in targets:
            deps.add(target)
            # importing convdsl.layers.ops runs convdsl/layers/__init__.py first, unless it is our own package
            deps.update(p for p in _parents(target) if not (name + ".").startswith(p + "."))
        deps.discard(name)
        graph[name] = deps & modules.keys()
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []

    def visit(node):
        state[node] = 1
        path.append(node)
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                return path[path.index(dep) :] + [dep]
            if dep not in state:
                found = visit(dep)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_package_import_graph_has_no_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_checker_finds_a_cycle_where_there_is_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_the_graph_sees_function_level_and_relative_imports():
    graph = import_graph()
    assert "convdsl.infer" in graph["convdsl.network"]  # Network.analyze imports it inside the method
    assert "convdsl.model" in graph["convdsl.infer"]
    assert "convdsl.layers" in graph["convdsl.export.compiler"]  # `from ..layers import KINDS`
    assert "convdsl.network" not in graph["convdsl.model"]  # under `if TYPE_CHECKING:` only


def test_the_model_and_the_catalogue_sit_below_their_consumers():
    graph = import_graph()

    def reach(start):
        seen, stack = set(), [start]
        while stack:
            for dep in graph[stack.pop()]:
                if dep not in seen:
                    seen.add(dep)
                    stack.append(dep)
        return seen

    below_model = reach("convdsl.model")
    for consumer in ("convdsl.lower", "convdsl.infer", "convdsl.render", "convdsl.export", "convdsl.network"):
        assert consumer not in below_model
    assert not {m for m in reach("convdsl.layers") if m.startswith(("convdsl.export", "convdsl.render"))}


def test_only_the_command_line_imports_the_importers():
    """The importers depend on the analysis, never the other way round (issue 21's design)."""
    graph = import_graph()
    users = {m for m, deps in graph.items() if any(d.startswith("convdsl.importers") for d in deps)}
    assert {m for m in users if not m.startswith("convdsl.importers")} == {"convdsl.cli"}


EXPRESSIONS = {
    "BinOp",
    "IfExpr",
    "Literal",
    "Name",
    "TupleExpr",
    "UnaryOp",
    "FuncCall",
    "ShapeOf",
}  # syntax.py's expressions


def test_export_reads_no_statement_of_the_syntax_tree():
    """Export writes from what lowering made (the graph, its sites, definition.py's records); of the syntax
    tree it may keep only argument expressions, so that `padding=k // 2` stays readable."""
    taken = {}
    for path in sorted((PACKAGE / "export").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[-1] == "syntax":
                taken[path.name] = {alias.name for alias in node.names}
            elif isinstance(node, ast.Import):
                assert not any(a.name.endswith(".syntax") for a in node.names), path.name
    assert taken  # translate.py keeps expressions: the check sees the imports it is about
    for module, names in taken.items():
        assert names <= EXPRESSIONS, f"export/{module} reads {sorted(names - EXPRESSIONS)} of the syntax tree"
    graph = import_graph()
    assert "convdsl.lower" not in graph["convdsl.export.compiler"]
