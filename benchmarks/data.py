"""Benchmark inputs: TPC-H files, a folder of 100,000 files, a large generated project, a local
REST API. Everything is generated under the work folder and reused while its inputs match."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import yaml

from benchmarks.project import REPO, copy_project_files, dbt_parse, write_sources

JSONL_ROWS = 1_000_000
"""JSONL holds the first 1M rows of lineitem (JSON is ~3x the bytes of CSV)."""


@dataclass(frozen=True)
class TpchFiles:
    """`lineitem` of one scale factor in each format, each alone in its own folder."""

    sf: float
    parquet: Path
    csv: Path
    jsonl: Path
    jsonl_small: Path
    """The first `small_rows` rows as JSONL, for dlt's default JSONL reader (dicts, slow)."""
    small_rows: int

    def file(self, file_format: str) -> Path:
        return {"parquet": self.parquet, "csv": self.csv, "jsonl": self.jsonl}[file_format]


def tpchgen_cli() -> str:
    """The `tpchgen-cli` executable (beside this interpreter, else on PATH)."""
    beside = Path(sys.executable).parent / "tpchgen-cli"
    if beside.exists():
        return str(beside)
    found = shutil.which("tpchgen-cli")
    if not found:
        raise SystemExit(
            "tpchgen-cli is not installed: install the benchmark extra "
            "(`.venv/bin/uv pip install --python .venv/bin/python tpchgen-cli`)"
        )
    return found


def tpch(sf: float, work: Path, small_rows: int) -> TpchFiles:
    """Generate `lineitem` at scale factor `sf` as parquet and CSV with tpchgen-cli, and the first
    1M rows (and the first `small_rows`) as JSONL with DuckDB. Reused when already there."""
    import duckdb

    root = work / f"tpch_sf{sf:g}"
    folders = {name: root / name for name in ("parquet", "csv", "jsonl", "jsonl_small")}
    files = TpchFiles(
        sf=sf,
        parquet=folders["parquet"] / "lineitem.parquet",
        csv=folders["csv"] / "lineitem.csv",
        jsonl=folders["jsonl"] / "lineitem.jsonl",
        jsonl_small=folders["jsonl_small"] / "lineitem.jsonl",
        small_rows=small_rows,
    )
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    for file_format, target in (("parquet", files.parquet), ("csv", files.csv)):
        if not target.exists():
            print(f"  generating lineitem SF{sf:g} as {file_format} with tpchgen-cli", flush=True)
            subprocess.run(
                [
                    tpchgen_cli(),
                    file_format,
                    "-s",
                    f"{sf:g}",
                    "-T",
                    "lineitem",
                    "-o",
                    str(target.parent),
                ],
                check=True,
            )
    with duckdb.connect() as conn:
        conn.execute("SET enable_progress_bar = false")
        for target, rows in ((files.jsonl, JSONL_ROWS), (files.jsonl_small, small_rows)):
            if not target.exists():
                print(f"  writing the first {rows:,} rows as JSONL", flush=True)
                partial = target.with_suffix(".partial")
                conn.execute(
                    f"COPY (SELECT * FROM read_parquet('{files.parquet}') LIMIT {rows}) "
                    f"TO '{partial}' (FORMAT json)"
                )
                partial.rename(target)
    return files


def many_files(work: Path, count: int) -> Path:
    """A folder of `count` small CSV files (`part_000000.csv`, ...), made once."""
    folder = work / f"files_{count}"
    marker = folder / ".complete"
    if marker.exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    print(f"  writing {count:,} files into {folder}", flush=True)
    for n in range(count):
        (folder / f"part_{n:06d}.csv").write_text(f"id,value\n{n},{n * 3}\n")
    marker.write_text("")
    return folder


# --- a large project for definitions load: 100 sources, 300 dbt models -------------------------


def large_project(root: Path, sources: int = 100, models: int = 300) -> Path:
    """A project at `root` with `sources` sources (filesystem, dlt_native, rest_api and
    sql_database) and a generated dbt project of `models` models (2/3 staging views on the raw
    tables, 1/3 marts joining two of them, a not_null test per staging model), its manifest
    parsed by `dbt parse` (not timed). Reused when present."""
    marker = root / ".complete"
    if marker.exists():
        return root
    shutil.rmtree(root, ignore_errors=True)
    copy_project_files(root)
    landing = root / "data" / "landing"
    configs, tables_of = [], {}
    for n in range(sources):
        name, kind = (
            f"src_{n:03d}",
            (
                "filesystem",
                "filesystem",
                "filesystem",
                "dlt_native",
                "rest_api",
                "filesystem",
                "filesystem",
                "sql_database",
                "filesystem",
                "filesystem",
            )[n % 10],
        )
        config, tables = _source(name, kind, landing)
        configs.append(config)
        tables_of[name] = tables
    write_sources(root, configs)
    _dbt_models(root / "dbt_project", tables_of, models)
    print(f"  dbt parse of {models} generated models (not timed)", flush=True)
    dbt_parse(root / "dbt_project", root / "warehouse.duckdb")
    marker.write_text("")
    return root


def _source(name: str, kind: str, landing: Path) -> tuple[dict[str, Any], list[str]]:
    base = {
        "name": name,
        "type": kind,
        "description": f"generated {kind} source {name}",
        "schedule": "0 * * * *",
    }
    if kind == "filesystem":
        folder = landing / name
        folder.mkdir(parents=True, exist_ok=True)
        tables = ["orders", "customers", "events"]
        base["filesystem"] = {
            "bucket_url": f"data/landing/{name}",
            "tables": [
                {
                    "name": t,
                    "file_glob": f"{t}*.csv",
                    "format": "csv",
                    "write_disposition": "merge",
                    "primary_key": "id",
                }
                if t == "customers"
                else {"name": t, "file_glob": f"{t}*.csv", "format": "csv"}
                for t in tables
            ],
        }
        return base, tables
    if kind == "dlt_native":
        base["dlt_native"] = {
            "source_module": "example_shop",
            "source_function": "example_shop",
            "function_kwargs": {"day": 1},
        }
        return base, ["products", "orders"]
    if kind == "rest_api":
        base["rest_api"] = {
            "client": {
                "base_url": "http://127.0.0.1:9/api/",
                "paginator": {"type": "json_link", "next_url_path": "next"},
            },
            "resource_defaults": {"endpoint": {"data_selector": "data"}},
            "resources": [
                {"name": "items", "endpoint": {"path": "items"}},
                {"name": "users", "endpoint": {"path": "users"}},
            ],
        }
        return base, ["items", "users"]
    base["sql_database"] = {
        "credentials": {
            "drivername": "postgresql",
            "host": "127.0.0.1",
            "port": 5432,
            "database": "bench",
            "username": "bench",
            "password_env": "BENCH_DB_PASSWORD",
        },
        "schema": "public",
        "tables": ["accounts", "payments"],
    }
    return base, ["accounts", "payments"]


def _dbt_models(dbt_dir: Path, tables_of: dict[str, list[str]], models: int) -> None:
    shutil.rmtree(dbt_dir / "models", ignore_errors=True)
    shutil.rmtree(dbt_dir / "tests", ignore_errors=True)
    (dbt_dir / "tests").mkdir(parents=True)
    staging_dir, marts_dir = dbt_dir / "models" / "staging", dbt_dir / "models" / "marts"
    staging_dir.mkdir(parents=True)
    marts_dir.mkdir(parents=True)
    staging_count = models * 2 // 3
    names = list(tables_of)
    dbt_sources, staging, staging_of = [], [], {}
    for name in names:
        dbt_sources.append(
            {
                "name": f"raw_{name}",
                "schema": f"raw_{name}",
                "tables": [{"name": t} for t in tables_of[name]],
            }
        )
    n = 0
    while len(staging) < staging_count:
        name = names[n % len(names)]
        table = tables_of[name][(n // len(names)) % len(tables_of[name])]
        model = f"stg_{name}__{table}"
        if model not in staging_of:
            (staging_dir / f"{model}.sql").write_text(
                f"select *, current_timestamp as loaded_at\nfrom {{{{ source('raw_{name}', '{table}') }}}}\n"
            )
            staging.append(
                {
                    "name": model,
                    "description": f"{table} of {name}",
                    "columns": [{"name": "id", "data_tests": ["not_null"]}],
                }
            )
            staging_of[model] = name
        n += 1
    (staging_dir / "_sources.yml").write_text(
        yaml.safe_dump({"version": 2, "sources": dbt_sources}, sort_keys=False)
    )
    (staging_dir / "_models.yml").write_text(
        yaml.safe_dump({"version": 2, "models": staging}, sort_keys=False)
    )
    staging_names = [m["name"] for m in staging]
    marts = []
    for m in range(models - staging_count):
        left, right = (
            staging_names[m % len(staging_names)],
            staging_names[(m * 7 + 3) % len(staging_names)],
        )
        (marts_dir / f"mart_{m:03d}.sql").write_text(
            f"select l.id, count(*) as matches\nfrom {{{{ ref('{left}') }}}} as l\n"
            f"left join {{{{ ref('{right}') }}}} as r on l.id = r.id\ngroup by l.id\n"
        )
        marts.append(
            {"name": f"mart_{m:03d}", "columns": [{"name": "id", "data_tests": ["unique"]}]}
        )
    (marts_dir / "_models.yml").write_text(
        yaml.safe_dump({"version": 2, "models": marts}, sort_keys=False)
    )


# --- a local REST API --------------------------------------------------------------------------


class ApiServer:
    """A paginated JSON API on 127.0.0.1 (a free port) serving `rows` lineitem-like records at
    `/items?page=N`, `page_size` per page, with a `next` link; pages are rendered once up front
    so serving costs little. Use as a context manager; `base_url` ends with `/`."""

    def __init__(self, rows: int, page_size: int) -> None:
        self.pages = _render_pages(rows, page_size)
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                server.requests += 1
                url = urlparse(self.path)
                page = int(parse_qs(url.query).get("page", ["1"])[0])
                if url.path.rstrip("/") != "/items" or not 1 <= page <= len(server.pages):
                    self.send_error(404)
                    return
                body = server.pages[page - 1].replace(b"__BASE__", server.base_url.encode())
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> ApiServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _render_pages(rows: int, page_size: int) -> list[bytes]:
    start = date(1992, 1, 1)
    pages = []
    count = (rows + page_size - 1) // page_size
    for page in range(count):
        first = page * page_size
        data = [
            {
                "id": n,
                "order_id": n // 4 + 1,
                "sku": f"SKU-{n % 5000:05d}",
                "quantity": n % 50 + 1,
                "price": round((n % 100_000) * 1.37 + 901.0, 2),
                "status": "NRA"[n % 3],
                "shipped_on": (start + timedelta(days=n % 2500)).isoformat(),
                "updated_at": f"2024-01-{n % 28 + 1:02d}T10:{n % 60:02d}:00Z",
                "comment": f"carefully final deposits {n % 97} haggle furiously",
            }
            for n in range(first, min(first + page_size, rows))
        ]
        next_url = f"__BASE__items?page={page + 2}" if page + 1 < count else None
        pages.append(json.dumps({"data": data, "next": next_url}).encode())
    return pages


def rest_source(name: str, base_url: str) -> dict[str, Any]:
    """The project's `rest_api` source over `ApiServer`."""
    return {
        "name": name,
        "type": "rest_api",
        "rest_api": {
            "client": {
                "base_url": base_url,
                "paginator": {"type": "json_link", "next_url_path": "next"},
            },
            "resources": [
                {"name": "items", "endpoint": {"path": "items", "data_selector": "data"}}
            ],
        },
    }


def rest_config(base_url: str) -> dict[str, Any]:
    """The same API as dlt's own `rest_api_source` config."""
    return rest_source("x", base_url)["rest_api"]


def wait_for(predicate, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError
        time.sleep(0.05)


def jaffle_landing(project: Path) -> None:
    """The demo's data: `ingest demo-data` in the project copy (jafgen CSVs into its landing)."""
    env = {**os.environ, "INGEST_PROJECT_DIR": str(project)}
    subprocess.run(
        [str(Path(sys.executable).parent / "ingest"), "demo-data"],
        env=env,
        cwd=project,
        check=True,
        capture_output=True,
    )


def repo_sources_yml() -> Path:
    return REPO / "sources.yml"
