"""kubelab's modules import only downwards, and never in a circle.

The package is built in layers; a module may import modules of its own layer or of a
layer below it, never one above:

    base     kubelab._base        errors, versions, i18n (i18n imports nothing of kubelab)
    system   kubelab._system      paths, procs, run, background, engine
    build    kubelab._build
    cluster  kubelab._cluster
    backends kubelab._backends
    session  kubelab._session
    shell    kubelab/__init__.py, lab, errors, facts, charts, traffic, versions, magics
    apps     kubelab.cli, kubelab.workshop

Every import of a kubelab module counts (at the top of a module and inside functions);
only those under `if TYPE_CHECKING:` do not, since they never run. The same imports must
form a graph without a cycle. The modules are read with `ast`, never imported, so this
test is fast and runs without kubelab's dependencies.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "kubelab"

LAYERS = ["base", "system", "build", "cluster", "backends", "session", "shell", "apps"]
PREFIXES = {                     # the longest prefix that matches a module decides
    "kubelab._base": "base",
    "kubelab._system": "system",
    "kubelab._build": "build",
    "kubelab._cluster": "cluster",
    "kubelab._backends": "backends",
    "kubelab._session": "session",
    "kubelab": "shell",          # kubelab/__init__.py, lab.py, errors.py, facts.py, ...
    "kubelab.cli": "apps",
    "kubelab.workshop": "apps",
}
LEAVES = {"kubelab._base.i18n"}  # modules that import nothing of kubelab


def module_name(path: Path) -> str:
    parts = ("kubelab", *path.relative_to(PACKAGE).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def layer_of(module: str) -> str:
    best = max((p for p in PREFIXES if module == p or module.startswith(p + ".")), key=len)
    return PREFIXES[best]


@dataclass(frozen=True)
class Import:
    importer: str
    target: str
    line: int

    def where(self) -> str:
        return f"{MODULES[self.importer].relative_to(PACKAGE.parent)}:{self.line}"


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def import_nodes(node: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement in `node`, at any depth, except under `if TYPE_CHECKING:`
    (its `else:` branch runs, so it counts)."""
    found: list[ast.Import | ast.ImportFrom] = []
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            found.append(child)
        elif isinstance(child, ast.If) and _is_type_checking(child.test):
            for stmt in child.orelse:
                found.extend(import_nodes(ast.Module(body=[stmt], type_ignores=[])))
        else:
            found.extend(import_nodes(child))
    return found


def _nearest_module(name: str) -> str | None:
    """`kubelab.a.b.Thing` -> the longest prefix that is a module of the package."""
    while name:
        if name in MODULES:
            return name
        if "." not in name:
            return None
        name = name.rsplit(".", 1)[0]
    return None


def imports_of(name: str, path: Path, source: str | None = None) -> list[Import]:
    """The kubelab modules `name` imports, relative imports resolved. `from pkg import x`
    counts as importing pkg.x when x is a module, else pkg itself."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    tree = ast.parse(source if source is not None else path.read_text(), str(path))
    out: list[Import] = []
    for node in import_nodes(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        else:
            if node.level:
                base = package
                for _ in range(node.level - 1):
                    base = base.rsplit(".", 1)[0]
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module or ""
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                targets.append(sub if sub in MODULES else base)
        for target in targets:
            module = _nearest_module(target) if target.startswith("kubelab") else None
            if module and module != name:
                out.append(Import(name, module, node.lineno))
    return out


def all_imports() -> list[Import]:
    return [imp for name, path in MODULES.items() for imp in imports_of(name, path)]


def upward(imports: list[Import]) -> list[str]:
    """Imports from a lower layer to a higher one, and leaves that import kubelab."""
    bad = []
    for imp in imports:
        src, dst = layer_of(imp.importer), layer_of(imp.target)
        if LAYERS.index(dst) > LAYERS.index(src):
            bad.append(f"{imp.where()}: {imp.importer} ({src}) imports "
                       f"{imp.target} ({dst})")
        elif imp.importer in LEAVES:
            bad.append(f"{imp.where()}: {imp.importer} is a leaf but imports {imp.target}")
    return bad


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle for each strongly connected component with more than one module
    (Tarjan's algorithm, iterative), shortest path back found by breadth-first search."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[set[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in graph:
                    continue
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        components.append(component)
    cycles = []
    for component in components:
        start = min(component)
        previous: dict[str, str] = {}
        frontier = [start]
        found = None
        while frontier and found is None:
            nxt = []
            for node in frontier:
                for child in sorted(graph[node] & component):
                    if child == start:
                        found = node
                        break
                    if child not in previous:
                        previous[child] = node
                        nxt.append(child)
                if found:
                    break
            frontier = nxt
        path = [found]
        while path[-1] != start:
            path.append(previous[path[-1]])
        cycles.append([start, *reversed(path[:-1]), start] if len(path) > 1
                      else [start, found, start] if found != start else [start, start])
    return sorted(cycles)


def describe(cycle: list[str], imports: list[Import]) -> str:
    lines = {(i.importer, i.target): i.where() for i in imports}
    return " -> ".join(cycle) + "\n" + "\n".join(
        f"      {lines[a, b]}: imports {b}" for a, b in zip(cycle, cycle[1:]))


# ---------------------------------------------------------------- the package

def test_imports_go_only_downwards():
    bad = upward(all_imports())
    assert not bad, "imports against the layers:\n  " + "\n  ".join(bad)


def test_no_import_cycle_in_the_package():
    imports = all_imports()
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for imp in imports:
        graph[imp.importer].add(imp.target)
    cycles = find_cycles(graph)
    assert not cycles, "import cycles:\n  " + "\n  ".join(describe(c, imports)
                                                         for c in cycles)


def test_every_module_has_a_layer():
    assert {layer_of(m) for m in MODULES} <= set(LAYERS)
    assert layer_of("kubelab.lab") == "shell"
    assert layer_of("kubelab.cli.doctor") == "apps"
    assert layer_of("kubelab._system.engine") == "system"


def test_lab_is_a_small_facade():
    assert len((PACKAGE / "lab.py").read_text().splitlines()) < 200


# ---------------------------------------------------------------- the checker

def test_the_checker_sees_a_cycle():
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []
    assert len(find_cycles({"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": {"c"}})) == 2


def test_the_checker_reads_function_imports_and_skips_type_checking():
    source = (
        "from typing import TYPE_CHECKING\n"
        "from ..errors import KubelabError\n"
        "if TYPE_CHECKING:\n"
        "    from kubelab._session.scope import Lab\n"
        "def f():\n"
        "    from kubelab._session import progress\n"
        "    import kubelab._cluster.cluster\n"
    )
    path = PACKAGE / "_system" / "background.py"
    found = {(i.target, i.line) for i in imports_of("kubelab._system.background", path, source)}
    assert found == {("kubelab.errors", 2), ("kubelab._session.progress", 6),
                     ("kubelab._cluster.cluster", 7)}
    assert upward([Import("kubelab._system.background", "kubelab._session.progress", 6)])
    assert not upward([Import("kubelab._session.scope", "kubelab._system.background", 1)])
