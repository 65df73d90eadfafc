"""The package's import structure: no import cycles, and each room uses only the rooms below it.

Imports are read from the source with `ast` (nothing is imported): every `import` and
`from ... import` of an `ingest_assets` module, at module level or inside a function (a lazy
import still is a dependency), except those under `if TYPE_CHECKING:`. A package's `__init__`
counts as its own module (a facade that may re-export its submodules); importing a submodule is
not counted as importing its parent packages' `__init__`.

The rooms, bottom to top (`ROOMS`); a module belongs to the room of its longest matching prefix:
- foundation: errors, redaction, settings, names, the ledger and other leaf helpers;
- config models shared by every source type (`config.common`, `config.errors`, `config.alerts`);
- the source interface (`sources.base`);
- one package per source type (`sources.<type>`); a type does not import another type;
- the registry of source types (`sources.registry`), which builds the config union;
- the whole project config (`config.project`, `config.loader`, `config.job_sheet`, `config`);
- the load step (`dlt`);
- dbt, orchestration, alerts;
- the top: the Dagster definitions, components and the CLI.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

PACKAGE = "ingest_assets"
ROOT = Path(__file__).resolve().parents[1] / PACKAGE

ROOMS: list[tuple[str, tuple[str, ...]]] = [
    (
        "foundation",
        (
            "ingest_assets.errors",
            "ingest_assets.redact",
            "ingest_assets.settings",
            "ingest_assets.names",
            "ingest_assets.lazy_exports",
            "ingest_assets.partitions",
            "ingest_assets.schedule_times",
            "ingest_assets.demo_data",
            "ingest_assets.instance_state",
            "ingest_assets.gc_pause",
            "ingest_assets.yaml_files",
        ),
    ),
    (
        "config models",
        (
            "ingest_assets.config.common",
            "ingest_assets.config.errors",
            "ingest_assets.config.alerts",
            "ingest_assets.config.automation",
        ),
    ),
    ("source interface", ("ingest_assets.sources", "ingest_assets.sources.base")),
    (
        "source types",
        (
            "ingest_assets.sources.filesystem",
            "ingest_assets.sources.sql_database",
            "ingest_assets.sources.rest_api",
            "ingest_assets.sources.dlt_native",
        ),
    ),
    ("source registry", ("ingest_assets.sources.registry",)),
    ("project config", ("ingest_assets.config", "ingest_assets.excel_template")),
    # the warehouse (ingest_assets/warehouses/: dlt destination, dbt target, SQL connections,
    # pools) and what reads or writes it through them: the load ledger, the read-only views, the
    # loaded project (config + paths + warehouse, without Dagster)
    (
        "warehouse",
        (
            "ingest_assets.warehouses",
            "ingest_assets.ledger",
            "ingest_assets.warehouse",
            "ingest_assets.loaded_project",
        ),
    ),
    ("load step", ("ingest_assets.dlt",)),
    ("dbt", ("ingest_assets.dbt",)),
    ("orchestration", ("ingest_assets.orchestration",)),
    ("alerts", ("ingest_assets.alerts",)),
    (
        "definitions",
        (
            "ingest_assets.project",
            "ingest_assets.definitions",
            "ingest_assets.defs",
            "ingest_assets.lib",
            "ingest_assets.components",
            "ingest_assets.cli",
            "ingest_assets.__main__",
            "ingest_assets",
        ),
    ),
]
"""Rooms, bottom to top: (name, module prefixes)."""

INDEPENDENT = ROOMS[3][1]
"""Packages of one room that must not import each other (each source type stands alone)."""


def _modules() -> dict[str, Path]:
    modules = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules `module` imports (see the module docstring for what counts)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    is_package = path.name == "__init__.py"
    found: set[str] = set()

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == PACKAGE and (target := resolve(alias.name)):
                    found.add(target)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".") if is_package else module.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            if base.split(".")[0] != PACKAGE:
                return
            for alias in node.names:
                target = (
                    resolve(f"{base}.{alias.name}")
                    if f"{base}.{alias.name}" in modules
                    else resolve(base)
                )
                if target:
                    found.add(target)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    found.discard(module)
    return found


def _room(module: str) -> tuple[int, str]:
    """(room index, the prefix it matched) of `module`."""
    best: tuple[int, int, str] | None = None
    for index, (_, prefixes) in enumerate(ROOMS):
        for prefix in prefixes:
            matches = module == prefix or module.startswith(prefix + ".")
            if matches and (best is None or len(prefix) > best[1]):
                best = (index, len(prefix), prefix)
    if best is None:
        raise AssertionError(f"{module} is in no room: add its prefix to ROOMS in {__file__}")
    return best[0], best[2]


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {module: _imports(module, path, modules) for module, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def connect(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
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
            connect(node)
    return found


def _unit(module: str) -> str:
    """The unit a module belongs to for package-level cycles: its room's matching prefix."""
    return _room(module)[1]


def test_every_module_has_a_room():
    for module in _graph():
        _room(module)


def test_no_import_cycle_between_modules():
    cycles = _cycles(_graph())
    assert not cycles, "import cycles between modules:\n" + "\n".join(
        " <-> ".join(c) for c in cycles
    )


def test_no_import_cycle_between_packages():
    units: dict[str, set[str]] = defaultdict(set)
    for module, targets in _graph().items():
        units[_unit(module)].update(_unit(t) for t in targets if _unit(t) != _unit(module))
    cycles = _cycles(units)
    assert not cycles, "import cycles between packages (rooms' units):\n" + "\n".join(
        " <-> ".join(c) for c in cycles
    )


def test_a_room_uses_only_the_rooms_below_it():
    wrong = []
    for module, targets in sorted(_graph().items()):
        room, _ = _room(module)
        for target in sorted(targets):
            if _room(target)[0] > room:
                wrong.append(
                    f"{module} ({ROOMS[room][0]}) imports {target} ({ROOMS[_room(target)[0]][0]})"
                )
    assert not wrong, "a lower room imports a higher one:\n" + "\n".join(wrong)


def test_source_types_do_not_import_each_other():
    wrong = []
    for module, targets in sorted(_graph().items()):
        _, own = _room(module)
        if own not in INDEPENDENT:
            continue
        wrong += [
            f"{module} imports {t}"
            for t in sorted(targets)
            if _room(t)[1] in INDEPENDENT and _room(t)[1] != own
        ]
    assert not wrong, "a source type imports another:\n" + "\n".join(wrong)


def test_the_checker_sees_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


_IMPORT_EACH = """
import importlib, sys, traceback
failed = []
for name in sys.argv[1:]:
    for loaded in [m for m in sys.modules if m == "ingest_assets" or m.startswith("ingest_assets.")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception:
        failed.append(name + ": " + traceback.format_exc().strip().splitlines()[-1])
print("\\n".join(failed))
sys.exit(1 if failed else 0)
"""


def test_every_module_imports_first():
    """Each module imports on its own, first, in a fresh package (a cycle through a package's
    `__init__`, which the static check above cannot see, fails as a partially initialized
    module). Libraries stay imported between modules, so this takes seconds."""
    import subprocess
    import sys

    modules = sorted(m for m in _modules() if not m.endswith("__main__"))
    result = subprocess.run(
        [sys.executable, "-c", _IMPORT_EACH, *modules],
        capture_output=True,
        text=True,
        cwd=ROOT.parent,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
