"""The import direction of ARCHITECTURE.md holds: no room imports a room on its own or a higher floor, the
module graph has no cycle, and no neuroemu import hides inside a function.

Read from the source with ``ast`` (nothing is imported), so the test sees exactly what a reader sees.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "neuroemu"

#: room (a top-level module or package of neuroemu) → floor; a room imports only rooms on lower floors
FLOORS: dict[str, int] = {
    "cards": 0, "data": 0, "ledger": 0, "memory": 0, "specs": 0, "report": 0, "mapping": 0,
    "neuroemu": 1, "devices": 1, "usage": 1,
    "cost": 2,
    "registration": 3,
    "lowbit": 4,
    "nets": 5,
    "digital": 6, "crossbar": 6, "stochastic": 6, "spiking": 6,
    "rpu": 7, "hwa": 7, "resparc": 7,
    "substrates": 8,  # above resparc, whose spiking registration it lists
    "experiments": 9,
    "commands": 10,
    "cli": 11, "__main__": 12,
}
#: third-party packages a function may import locally: heavy, and needed only on some paths
LOCAL_IMPORTS_ALLOWED = {"brian2", "matplotlib", "dask", "sympy"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "neuroemu"


def _resolve(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(path: Path) -> list[tuple[str, bool, int]]:
    """(imported neuroemu module or third-party top name, at module level?, line) of one file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    module = _module_name(path)
    found: list[tuple[str, bool, int]] = []
    type_checking = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                     and "TYPE_CHECKING" in ast.unparse(node.test) for n in ast.walk(node)}

    def visit(node: ast.AST, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = top and not isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            if id(child) in type_checking:
                continue
            if isinstance(child, ast.Import):
                found.extend((alias.name, top, child.lineno) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                target = _resolve(child, module, path.name == "__init__.py")
                if target.startswith("neuroemu"):  # `from neuroemu.x import y`: y may be a module
                    for alias in child.names:
                        sub = f"{target}.{alias.name}"
                        found.append((sub if _exists(sub) else target, top, child.lineno))
                else:
                    found.append((target, top, child.lineno))
            visit(child, inner)

    visit(tree, True)
    return found


def _exists(module: str) -> bool:
    relative = Path(*module.split(".")[1:])
    return (PACKAGE / relative).with_suffix(".py").is_file() or (PACKAGE / relative / "__init__.py").is_file()


SOURCES = sorted(PACKAGE.rglob("*.py"))


def test_every_room_has_a_floor():
    rooms = {_room(_module_name(path)) for path in SOURCES}
    assert rooms <= set(FLOORS), f"rooms without a floor in this test: {sorted(rooms - set(FLOORS))}"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down(path: Path):
    module = _module_name(path)
    room = _room(module)
    for target, _top, line in _imports(path):
        if not target.startswith("neuroemu"):
            continue
        other = _room(target)
        assert other == room or FLOORS[other] < FLOORS[room], (
            f"{path.relative_to(PACKAGE.parent)}:{line} ({room}, floor {FLOORS[room]}) imports {target} "
            f"({other}, floor {FLOORS[other]})")


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_import_hides_in_a_function(path: Path):
    for target, top, line in _imports(path):
        if top:
            continue
        allowed = target.split(".")[0] in LOCAL_IMPORTS_ALLOWED
        assert allowed, (f"{path.relative_to(PACKAGE.parent)}:{line} imports {target} inside a function: "
                         f"put it at the top (local imports: only {sorted(LOCAL_IMPORTS_ALLOWED)})")


def test_the_module_graph_has_no_cycle():
    graph = {_module_name(path): {t for t, top, _ in _imports(path) if top and t.startswith("neuroemu")}
             for path in SOURCES}
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if nxt == node:
                continue
            if state.get(nxt) == 1:
                cycle = [*trail[trail.index(nxt):], nxt] if nxt in trail else [node, nxt]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])


def test_the_checks_catch_an_upward_import_and_a_cycle(tmp_path: Path):
    """The parser sees imports at the top, inside functions and relative ones (a test that can fail)."""
    source = tmp_path / "neuroemu" / "cost" / "bad.py"
    source.parent.mkdir(parents=True)
    source.write_text("from neuroemu.crossbar import Crossbar\n\ndef f():\n    from . import rules\n")
    global PACKAGE
    saved, PACKAGE = PACKAGE, tmp_path / "neuroemu"
    try:
        found = _imports(source)
    finally:
        PACKAGE = saved
    assert ("neuroemu.crossbar", True, 1) in found
    assert any(target == "neuroemu.cost" and not top for target, top, _ in found)
    assert FLOORS[_room("neuroemu.crossbar")] > FLOORS[_room("neuroemu.cost.bad")]
