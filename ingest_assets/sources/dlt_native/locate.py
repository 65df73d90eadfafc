"""Finding a `dlt_native` source's module and function without importing them: what
`ingest validate` checks without `--build` (importing a custom source imports dlt, ~0.5 s).

`source.py` imports the module for real (`_import_module`) and says the same when it is missing.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

from ingest_assets.settings import ProjectPaths
from ingest_assets.sources.dlt_native.config import DltNativeBlock


def no_module_message(source_name: str, dotted: str) -> str:
    """`source '<name>': dlt_native.source_module: no module custom_sources.<dotted> or
    <dotted>: ...`, saying where to put the file or what to install."""
    top = dotted.split(".")[0]
    return (
        f"source '{source_name}': dlt_native.source_module: no module custom_sources.{dotted} "
        f"or {dotted}: put {dotted.replace('.', '/')}.py in custom_sources/, or install the "
        f"package providing '{top}': run `pip install {pip_name(top)}` (the pip name of a "
        "package may differ from its module name) and add it to pyproject.toml"
    )


def pip_name(module: str) -> str:
    """The usual pip name of a top-level module: `my_crm` -> `my-crm`."""
    return module.replace("_", "-")


def locate_problem(source_name: str, block: DltNativeBlock, paths: ProjectPaths) -> str | None:
    """Why the module or function of a `dlt_native` block cannot be there, found without
    importing anything; None when it may be (`ingest validate --build` imports it to be sure).

    The module is looked up as `custom_sources/<dotted path>.py` (or a package there), as
    `<dotted path>.py` under the project root, and else as an installed top-level package
    (`importlib.util.find_spec` of its first part, which imports nothing). In a file found in the
    project, something must bind the name `source_function` (a file with `import *` or a
    module `__getattr__` is not judged).

    Args:
        source_name: the source's name, for the message.
        block: the validated `dlt_native:` block.
        paths: the project's paths.

    Returns:
        A message starting `source '<name>': dlt_native.source_module: ` or
        `...source_function: `, as the import at run time would say it, or None.
    """
    dotted = block.source_module
    relative = Path(*dotted.split("."))
    for base, package in ((paths.custom_sources_dir, "custom_sources."), (paths.root, "")):
        for file in (
            base / relative.with_name(f"{relative.name}.py"),
            base / relative / "__init__.py",
        ):
            if file.is_file():
                return _function_problem(source_name, block, file, package + dotted)
    if importlib.util.find_spec(dotted.split(".")[0]) is not None:
        return None
    return no_module_message(source_name, dotted)


def _function_problem(
    source_name: str, block: DltNativeBlock, file: Path, module: str
) -> str | None:
    """The message when nothing in `file` (module `module`) binds the name `source_function`:
    no `def`/`class` of it, no assignment to it and no import as it, anywhere in the file (so
    a name bound only in a function body passes too: this check never refuses a module that
    could have it)."""
    try:
        tree = ast.parse(file.read_text(encoding="utf-8"), filename=str(file))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return None  # the import at run time (or `--build`) reports it, with its traceback
    wanted = {block.source_function, "__getattr__"}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound = {node.name}
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound = {node.id}
        elif isinstance(node, ast.alias):
            bound = {node.asname or node.name.split(".")[0], node.name}
        else:
            continue
        if bound & wanted or "*" in bound:
            return None
    return (
        f"source '{source_name}': dlt_native.source_function: {module} has no function "
        f"{block.source_function!r}"
    )
