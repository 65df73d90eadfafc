"""Fixed costs (issue 11): commands that need no Dagster do not import it, the schedule states
read without Dagster are Dagster's, and per-run dbt target folders do not pile up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import REPO

pytestmark = pytest.mark.integration

HEAVY = ("dagster", "dagster_dbt", "dagster_dlt", "dbt", "dlt", "sqlalchemy", "pyarrow")
"""What these commands must not import (`tests/unit/test_light_imports.py` checks the same
commands in a copy of the repo's demo project)."""


def _imported(code: str, cwd: Path, env: dict[str, str] | None = None) -> list[str]:
    """The `HEAVY` packages in sys.modules after running `code` in a fresh interpreter."""
    script = (
        f"{code}\nimport sys, json\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=cwd,
        env=env or os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_reading_the_demo_config_imports_no_dagster():
    code = (
        "from pathlib import Path\n"
        "import ingest_assets.cli\n"
        "from ingest_assets.config import load_project_config\n"
        f"config = load_project_config(Path({str(REPO / 'sources.yml')!r}))\n"
        "assert {s.type for s in config.sources} == {'filesystem', 'dlt_native', 'sql_database', 'rest_api'}"
    )
    assert _imported(code, REPO) == []


@pytest.mark.parametrize(
    "command",
    [
        ["validate", "--no-build"],
        ["status", "--json"],
        ["summary"],
        ["excel-template", "--force", "-o", "{tmp}/t.xlsx"],
        ["demo-data"],
    ],
)
def test_commands_without_dagster(make_project, jaffle_small, tmp_path, command):
    """Each command runs as `ingest ...` would (its module's `app()`), and none of Dagster, dlt,
    dbt, sqlalchemy or pyarrow is imported."""
    import shutil

    from jaffle import jaffle_source

    project = make_project([jaffle_source("data/landing/jaffle_shop")])
    shutil.copytree(jaffle_small, project / "data" / "landing" / "jaffle_shop")
    args = [c.format(tmp=tmp_path) for c in command]
    code = (
        "import sys\n"
        "from ingest_assets.cli import app\n"
        f"sys.argv = ['ingest', *{args!r}]\n"
        "try:\n    app()\nexcept SystemExit as exit:\n    assert not exit.code, exit.code\n"
    )
    assert (
        _imported(code, project, {**os.environ, "DAGSTER_HOME": str(project / "dagster_home")})
        == []
    )


def test_schedule_states_without_dagster_match_the_instance(tmp_path):
    """The SQLite reader of `ingest status` sees what Dagster's own API sees."""
    from ingest_assets.instance_state import _dagster_states, _sqlite_states

    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((REPO / "dagster_home" / "dagster.yaml").read_text())
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "dagster"),
            "schedule",
            "start",
            "jaffle_shop_schedule",
            "-m",
            "ingest_assets.definitions",
        ],
        cwd=REPO,
        env={**os.environ, "DAGSTER_HOME": str(home), "INGEST_PROJECT_DIR": str(REPO)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert _sqlite_states(home) == _dagster_states(home) == {"jaffle_shop_schedule": "running"}


def test_per_run_dbt_target_folders_of_ended_runs_are_removed(tmp_path):
    from ingest_assets.dbt.targets import remove_ended_run_targets

    target = tmp_path / "target"
    running, ended = "abcdef1-2222-3333", "9876543-aaaa-bbbb"
    for name in (
        f"dbt_models-{running[:7]}-1234567",
        f"dbt_models-{ended[:7]}-7654321",
        "dbt_models-odd",
        "manifest.json",
    ):
        (target / name).mkdir(parents=True) if not name.endswith(".json") else (
            target / name
        ).write_text("{}")

    removed = remove_ended_run_targets(target, [running])

    assert [p.name for p in removed] == [f"dbt_models-{ended[:7]}-7654321"]
    assert sorted(p.name for p in target.iterdir()) == sorted(
        [f"dbt_models-{running[:7]}-1234567", "dbt_models-odd", "manifest.json"]
    )
