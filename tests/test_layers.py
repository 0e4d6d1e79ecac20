"""The house keeps its shape (docs/architecture.md): imports point one way, no module imports
itself back through others, every hook a layer fires has its handlers, no module is too big.

Imports are read from the source, those inside functions included: a lazy import that dodges a
cycle at run time is still a cycle here."""

import ast
from pathlib import Path

import pytest

from contractors import hooks

ROOT = Path(__file__).resolve().parent.parent
# Lowest first: a module may import its own app and the apps before it, never one after it.
LAYERS = ("portal", "contractors", "documents", "reporting", "demo", "config")
MAX_LINES = 500


def app_modules():
    """{dotted name: path} of every module of the apps (migrations are generated; left out)."""
    modules = {}
    for app in LAYERS:
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = path.relative_to(ROOT).with_suffix("")
            if "migrations" in relative.parts:
                continue
            parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
            modules[".".join(parts)] = path
    return modules


def imported_modules(path, name, modules):
    """The app modules that the module `name` at `path` imports, anywhere in its body."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from a import b` imports module a.b when there is one, else a name of a.
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph():
    modules = app_modules()
    return {name: imported_modules(path, name, modules) for name, path in modules.items()}


def cycles(graph):
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph[node]):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def layer_of(module):
    return LAYERS.index(module.split(".")[0])


def test_no_module_imports_itself_back():
    assert cycles(import_graph()) == []


def test_the_cycle_check_finds_a_cycle_through_a_lazy_import():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_imports_point_down_the_layers():
    upward = sorted(
        f"{module} imports {target}"
        for module, targets in import_graph().items()
        for target in targets
        if layer_of(target) > layer_of(module)
    )
    assert upward == []


def test_lazy_imports_are_read(tmp_path):
    module = tmp_path / "lazy.py"
    module.write_text(
        "def later():\n    from documents import services\n    import reporting.stats\n"
    )
    modules = {"documents.services": None, "reporting.stats": None, "lazy": module}
    assert imported_modules(module, "lazy", modules) == {"documents.services", "reporting.stats"}


@pytest.mark.parametrize(
    "hook", [value for value in vars(hooks).values() if isinstance(value, hooks.Hook)], ids=str
)
def test_every_hook_of_the_inspection_work_has_its_handlers(hook):
    assert hook.handlers, f"nobody handles {hook.name}"


def test_no_module_passes_the_size_limit():
    too_big = {
        name: lines
        for name, path in app_modules().items()
        if (lines := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert too_big == {}
