"""The import structure of `src/`: no import circle among its modules, and vlmtrain's layers import only
downward (the table below is the README's Layout section).

Every import counts, inside functions too, except those under `if TYPE_CHECKING:`. An edge goes to the
module named (`from a.b import c` -> `a.b.c` when that is a module, else `a.b`), not to the parent
packages Python also runs.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

# vlmtrain's layers, lowest first: a module imports only modules of its own layer or below.
# Matched by the longest module-name prefix.
LAYERS: list[tuple[str, ...]] = [
    ("vlmtrain", "vlmtrain.errors", "vlmtrain.notices", "vlmtrain.runfolder"),
    (
        "vlmtrain.encoding",
        "vlmtrain.families",
        "vlmtrain.tiny",
        "vlmtrain.config",
        "vlmtrain.training_args",
        "vlmtrain.methods",
        "vlmtrain.metrics",
        "vlmtrain.metrics_vqa",
        "vlmtrain.schema_gen",
    ),
    (
        "vlmtrain.data",
        "vlmtrain.tokens",
        "vlmtrain.sampling",
        "vlmtrain.packing",
        "vlmtrain.collator",
        "vlmtrain.fsdp",
    ),
    ("vlmtrain.trainers", "vlmtrain.stats", "vlmtrain.callbacks"),
    (
        "vlmtrain.train",
        "vlmtrain.check",
        "vlmtrain.predict",
        "vlmtrain.merge",
        "vlmtrain.tiny.make",
        "vlmtrain.integrations",
        "vlmtrain.labels_view",
        "vlmtrain.console",
        "vlmtrain.counter",
    ),
    ("vlmtrain.launch",),
    ("vlmtrain.cli", "vlmtrain.__main__"),
]


def _modules() -> dict[str, Path]:
    out = {}
    for path in SRC.rglob("*.py"):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def target(mod: str) -> str | None:
        while mod and mod not in modules:
            mod = mod.rpartition(".")[0]
        return mod or None

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                if t := target(alias.name):
                    found.add(t)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                full = f"{base}.{alias.name}"
                t = full if full in modules else target(base)
                if t:
                    found.add(t)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    found.discard(name)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
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
            node, it = work[-1]
            for nxt in it:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph.get(nxt, ())))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    comp = []
                    while True:
                        top = stack.pop()
                        on_stack.discard(top)
                        comp.append(top)
                        if top == node:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
    return out


def test_no_import_circle_in_src():
    cycles = _cycles(_graph())
    assert not cycles, "import circles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def _layer(module: str) -> int | None:
    best, rank = -1, None
    for k, prefixes in enumerate(LAYERS):
        for p in prefixes:
            if (module == p or module.startswith(p + ".")) and len(p) > best:
                best, rank = len(p), k
    return rank


def test_every_vlmtrain_module_has_a_layer():
    missing = [m for m in _graph() if m.startswith("vlmtrain") and _layer(m) is None]
    assert not missing


@pytest.mark.parametrize("package", ["vlmtrain"])
def test_vlmtrain_imports_only_downward(package):
    upward = [
        f"{src} (layer {_layer(src)}) imports {dst} (layer {_layer(dst)})"
        for src, dsts in sorted(_graph().items())
        if src.startswith(package)
        for dst in sorted(dsts)
        if dst.startswith(package) and _layer(dst) > _layer(src)
    ]
    assert not upward, "\n".join(upward)


def test_vlmdata_never_imports_torch_or_vlmtrain():
    graph = _graph()
    bad = [
        f"{m} -> {d}"
        for m, ds in graph.items()
        if m.startswith("vlmdata")
        for d in ds
        if d.startswith("vlmtrain")
    ]
    assert not bad
    for name, path in _modules().items():
        if name.startswith("vlmdata"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    assert not any(a.name.split(".")[0] == "torch" for a in node.names), name
                elif isinstance(node, ast.ImportFrom) and node.module:
                    assert node.module.split(".")[0] != "torch", name
