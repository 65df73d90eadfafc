"""`dbt` as a child that dies with its parent: the dbt executable of every dbt step.

dagster-dbt starts dbt with `subprocess.Popen`. A step that fails or is cancelled stops its dbt
(`ingest_assets.dbt.assets.stop_process`), but when the process running the step is killed
outright (`kill -9`, the OOM killer), dbt went on as an orphan and held DuckDB's write lock until
its build ended, so the next run's load failed on the lock. On Linux this launcher asks the
kernel to send dbt SIGTERM as soon as its parent dies (`prctl(PR_SET_PDEATHSIG)`), then runs
dbt's own CLI in the same process (`dbt.cli.main.cli`, what the `dbt` script runs). Where
`prctl` does not exist (macOS), dbt runs as it is.

`launcher(folder)` writes the executable that `DbtCliResource(dbt_executable=...)` is given: a
two-line shell script that `exec`s this module with the project's Python, so dbt's parent is
the process running the step, not a shell.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from pathlib import Path

PR_SET_PDEATHSIG = 1
"""Linux `prctl` option: the signal this process gets when its parent thread exits."""


def launcher(folder: Path) -> Path:
    """Write `folder/dbt` (when missing or different) and return its path.

    Args:
        folder: a project-local, git-ignored folder (created if missing), e.g. `<project>/.cache/dbt`.

    Returns:
        The executable path: `#!/bin/sh` + `exec <this Python> -m ingest_assets.dbt.child "$@"`.

    Raises:
        OSError: the folder cannot be written.
    """
    script = folder / "dbt"
    text = f'#!/bin/sh\nexec "{sys.executable}" -m ingest_assets.dbt.child "$@"\n'
    if not script.exists() or script.read_text() != text:
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / f".dbt.{os.getpid()}"
        partial.write_text(text)
        partial.chmod(0o755)
        partial.replace(script)  # atomic: a dbt step starting now sees the old or the new script
    return script


def die_with_parent(signum: int = signal.SIGTERM) -> bool:
    """Ask Linux to send `signum` to this process when its parent dies; False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(signum), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def main() -> None:
    """Run dbt with the command line given, ended by SIGTERM when the parent dies."""
    parent = os.getppid()
    if die_with_parent() and os.getppid() != parent:
        raise SystemExit(128 + signal.SIGTERM)  # the parent died before the request took effect
    from dbt.cli.main import cli

    sys.argv[0] = "dbt"
    sys.exit(cli())


if __name__ == "__main__":
    main()
