"""`dlt_native` modules and functions found without importing them (`ingest validate`)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ingest_assets.cli import app
from ingest_assets.settings import ProjectPaths
from ingest_assets.sources.dlt_native.config import DltNativeBlock
from ingest_assets.sources.dlt_native.locate import locate_problem

pytestmark = pytest.mark.unit

SHOP = '''"""A shop."""
import dlt
from helpers import rows as imported_rows

@dlt.source
def shop():
    return []

assigned = shop
'''


def _problem(root: Path, module: str, function: str) -> str | None:
    block = DltNativeBlock(source_module=module, source_function=function)
    return locate_problem("crm", block, ProjectPaths(root))


def test_module_and_function_found_in_the_project_without_importing(tmp_path: Path) -> None:
    (tmp_path / "custom_sources" / "pkg").mkdir(parents=True)
    (tmp_path / "custom_sources" / "shop.py").write_text(SHOP)
    (tmp_path / "custom_sources" / "pkg" / "__init__.py").write_text("def crm():\n    pass\n")
    for module, function in [
        ("shop", "shop"),
        ("shop", "assigned"),
        ("shop", "imported_rows"),
        ("custom_sources.shop", "shop"),
        ("pkg", "crm"),
        ("json", "anything"),  # an installed module: judged by `--build`
    ]:
        assert _problem(tmp_path, module, function) is None, (module, function)
    assert "custom_sources.shop" not in sys.modules  # nothing was imported

    assert _problem(tmp_path, "shop", "shopp") == (
        "source 'crm': dlt_native.source_function: custom_sources.shop has no function 'shopp'"
    )
    assert _problem(tmp_path, "no_such_module", "crm").startswith(
        "source 'crm': dlt_native.source_module: no module custom_sources.no_such_module or "
        "no_such_module: put no_such_module.py in custom_sources/"
    )


def test_file_with_star_import_or_getattr_is_not_judged(tmp_path: Path) -> None:
    (tmp_path / "custom_sources").mkdir()
    (tmp_path / "custom_sources" / "star.py").write_text("from somewhere import *\n")
    (tmp_path / "custom_sources" / "lazy.py").write_text("def __getattr__(name):\n    pass\n")
    (tmp_path / "custom_sources" / "broken.py").write_text("def (:\n")
    for module in ("star", "lazy", "broken"):
        assert _problem(tmp_path, module, "crm") is None, module


def test_validate_without_build_names_the_missing_function(tmp_path: Path) -> None:
    """`ingest validate` (no `--build`) fails naming file, source and field, importing nothing."""
    (tmp_path / "custom_sources").mkdir()
    (tmp_path / "custom_sources" / "shop.py").write_text(SHOP)
    (tmp_path / "sources.yml").write_text(
        "sources:\n  - name: crm\n    type: dlt_native\n"
        "    dlt_native: {source_module: shop, source_function: shopp}\n"
    )
    result = CliRunner().invoke(app, ["validate", "--project", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "✗ sources.yml: source 'crm': dlt_native.source_function: custom_sources.shop has no "
        "function 'shopp'"
    ]
