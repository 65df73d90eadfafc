"""Jaffle Shop demo data: dbt Labs' generator `jafgen` writes the CSVs the `jaffle_shop` source reads."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

JAFGEN_FILES = [
    "raw_customers.csv",
    "raw_items.csv",
    "raw_orders.csv",
    "raw_products.csv",
    "raw_stores.csv",
    "raw_supplies.csv",
    "raw_tweets.csv",
]


def generate_jaffle_data(landing: Path, years: int = 1, force: bool = False) -> list[Path]:
    """Write the seven Jaffle Shop CSVs (`raw_*.csv`, ~200k rows a year) into `landing`.

    jafgen is random, so existing files are kept unless `force` is set: regenerating would hand
    the loader new files with new ids, which is a new delivery, not the same data again.

    Args:
        landing: the folder the `jaffle_shop` source's `bucket_url` points at; created if needed.
        years: simulated years (jafgen's only size knob).
        force: overwrite existing files.

    Returns:
        The CSV paths written; empty when all files already existed.

    Raises:
        subprocess.CalledProcessError: jafgen failed (its output is in the exception).
    """
    landing.mkdir(parents=True, exist_ok=True)
    if not force and all((landing / name).exists() for name in JAFGEN_FILES):
        return []
    jafgen = Path(sys.executable).parent / "jafgen"
    with tempfile.TemporaryDirectory() as work:
        subprocess.run(
            [str(jafgen), str(years)], cwd=work, check=True, capture_output=True, text=True
        )
        written = []
        for name in JAFGEN_FILES:
            target = landing / name
            shutil.move(str(Path(work) / "jaffle-data" / name), target)
            written.append(target)
    return written
