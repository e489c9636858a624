"""The project's import graph: no cycle, and no layer imports a layer above it.

Every ``import`` counts, at module level or deferred into a function body (a deferred import is
still a dependency, only a later one); those under ``if TYPE_CHECKING:`` do not (annotations).
The layers, lowest first, are :data:`LAYERS` (docs/architecture.md "Map of folders"): a module
may import its own layer and those below.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("rig", "devices", "firmware_stubs")

#: Lowest first. A module belongs to the layer of the longest prefix that names it.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("rig", "rig._native", "rig.clock", "rig.util"),  # the seam with time, helpers
    ("rig.gbcs", "rig.keys", "rig.zigbee"),  # the GBCS codec, key material, the ZigBee stack
    ("firmware_stubs",),  # pure, clock-injected device firmware
    ("rig.dsp", "rig.duis", "rig.results", "rig.host"),  # DSP model, DUIS, results, host tuning
    ("devices",),  # the Device API, transports, emulated devices
    ("rig.config",),  # bench files
    ("rig.sim", "rig.report"),  # virtual time; reports from stored results
    ("rig.live",),  # the live bench
    ("rig.load", "rig.plans", "rig.serve"),  # traffic on the live bench; its DUIS door
    ("rig.plugin",),  # pytest integration
    ("rig.benchmarks",),  # they import what they measure; nothing imports them
    ("rig.cli",),
    ("rig.measure",),  # the old path of rig.results.measure, kept for one release
)


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imports(body: list[ast.stmt]) -> list[ast.Import | ast.ImportFrom]:
    found: list[ast.Import | ast.ImportFrom] = []
    for node in body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            found += _imports(node.orelse)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        else:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.stmt):
                    found += _imports([child])
                elif isinstance(child, ast.excepthandler | ast.match_case):
                    found += _imports(child.body)
    return found


def import_graph() -> dict[str, set[str]]:
    """Each project module and the project modules it imports."""
    known = modules()

    def resolve(name: str) -> str | None:
        while name and name not in known:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for module, path in known.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        targets: set[str] = set()
        for node in _imports(ast.parse(path.read_text(encoding="utf-8")).body):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*parent, *([base] if base else [])])
                names = [base, *(f"{base}.{alias.name}" for alias in node.names)]
            targets |= {t for t in map(resolve, names) if t and t != module}
        graph[module] = targets
    return graph


def layer_of(module: str) -> int:
    best = max(
        (prefix for layer in LAYERS for prefix in layer if module == prefix or
         module.startswith(f"{prefix}.")),
        key=len,
    )  # fmt: skip
    return next(i for i, layer in enumerate(LAYERS) if best in layer)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle() -> None:
    assert cycles(import_graph()) == []


def test_no_module_imports_a_layer_above_its_own() -> None:
    upward = [
        f"{module} ({layer_of(module)}) imports {target} ({layer_of(target)})"
        for module, targets in sorted(import_graph().items())
        for target in sorted(targets)
        if layer_of(target) > layer_of(module)
    ]
    assert upward == []


def test_every_module_has_a_layer() -> None:
    for module in modules():
        assert layer_of(module) >= 0


def test_the_checks_see_a_cycle_and_skip_type_checking_imports() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    body = ast.parse(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import x\n"
        "def f():\n    import y\n    try:\n        import z\n    except E:\n        import w\n"
    ).body
    imported = [a.name for node in _imports(body) if isinstance(node, ast.Import) for a in
                node.names]  # fmt: skip
    assert imported == ["y", "z", "w"]


@pytest.mark.parametrize("module", ["rig.sim.commands", "rig.sim.runner"])
def test_virtual_time_loads_neither_pytest_nor_the_live_bench(module: str) -> None:
    """``rig simulate`` runs the DSP model in virtual time: the pytest plugin chain and the live
    bench are not part of it."""
    probe = f"import sys, {module}; print(' '.join(sorted(sys.modules)))"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.split()
    heavy = [m for m in loaded if m.split(".")[0] == "pytest" or m.startswith(("rig.plugin",
             "rig.live", "devices"))]  # fmt: skip
    assert heavy == []
