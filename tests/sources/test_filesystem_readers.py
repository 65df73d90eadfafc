"""Real files through the filesystem source's readers: reader options, values typed to the table's
existing columns, per-file failures with line and column, dlt-named columns, paths that stay in
their folder, and loads that match no file. Every file is written by the test, small."""

from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path

import duckdb
import fsspec
import pytest
from dagster import DagsterEventType
from dlt.common.storages.fsspec_filesystem import FileItemDict, glob_files
from helpers import file_table, materialize_project, query, read_csv, scalar, source, write_csv
from jaffle import jaffle_source

from ingest_assets.config.loader import ConfigError, validate_document
from ingest_assets.settings import ProjectPaths
from ingest_assets.sources.filesystem import FilesystemSourceConfig, path_warnings
from ingest_assets.sources.filesystem.options import (
    CsvOptions,
    FileReadError,
    JsonOptions,
    ReadSpec,
)
from ingest_assets.sources.filesystem.readers import write_load_file


def _item(path: Path) -> FileItemDict:
    filesystem = fsspec.filesystem("file")
    (file,) = [f for f in glob_files(filesystem, str(path.parent), path.name)]
    return FileItemDict(file, filesystem)


def _load(path: Path, spec: ReadSpec) -> tuple[dict[str, str], list[tuple]]:
    """Convert `path` as the source does; `({column: DuckDB type}, rows)` of the load file."""
    target = path.parent / f"{path.name}.load.parquet"
    write_load_file(_item(path), spec, target, "load-1")
    with duckdb.connect() as conn:
        relation = conn.sql(f"SELECT * EXCLUDE (_dlt_load_id) FROM read_parquet('{target}')")
        return dict(zip(relation.columns, map(str, relation.types))), relation.order(
            "ALL"
        ).fetchall()


def _failure(path: Path, spec: ReadSpec) -> FileReadError:
    with pytest.raises(FileReadError) as raised:
        _load(path, spec)
    assert path.name in str(raised.value)
    return raised.value


# ---- reader options, each on a file that needs it -------------------------------------------


@pytest.mark.unit
def test_null_values_keep_an_r_export_numeric(tmp_path):
    path = tmp_path / "r_export.csv"
    path.write_text('"id","weight","height"\n1,NA,1.70\n2,72.5,NA\n3,80,1.82\n')

    sniffed, _ = _load(path, ReadSpec("csv"))
    types, rows = _load(path, ReadSpec("csv", csv=CsvOptions(null_values=["NA", ""])))

    assert sniffed["weight"] == "VARCHAR"  # without the option: text, as the issue found
    assert types == {"id": "BIGINT", "weight": "DOUBLE", "height": "DOUBLE"}
    assert rows == [(1, None, 1.7), (2, 72.5, None), (3, 80.0, 1.82)]


@pytest.mark.unit
def test_delimiter_and_decimal_separator_of_a_european_export(tmp_path):
    path = tmp_path / "prices.csv"
    path.write_text("sku;price;qty\nA-1;3,50;2\nB-2;10,25;1\n")

    types, rows = _load(path, ReadSpec("csv", csv=CsvOptions(delimiter=";", decimal_separator=",")))

    assert types["price"] == "DOUBLE"
    assert rows == [("A-1", 3.5, 2), ("B-2", 10.25, 1)]


@pytest.mark.unit
def test_quote_and_escape(tmp_path):
    quoted = tmp_path / "quoted.csv"
    quoted.write_text("id,name\n1,'Smith, John'\n2,'Doe, Jane'\n")
    escaped = tmp_path / "escaped.csv"
    escaped.write_text('id,said\n1,"she said \\"hi\\""\n2,"plain"\n')

    _, quoted_rows = _load(quoted, ReadSpec("csv", csv=CsvOptions(quote="'")))
    _, escaped_rows = _load(escaped, ReadSpec("csv", csv=CsvOptions(quote='"', escape="\\")))

    assert quoted_rows == [(1, "Smith, John"), (2, "Doe, Jane")]
    assert escaped_rows == [(1, 'she said "hi"'), (2, "plain")]


@pytest.mark.unit
def test_header_and_skip_rows(tmp_path):
    path = tmp_path / "report.csv"
    path.write_text("Exported by ACME\nRun 2024-05-01\nid,amount\n1,10\n2,20\n")
    headerless = tmp_path / "headerless.csv"
    headerless.write_text("1,10\n2,20\n")

    types, rows = _load(path, ReadSpec("csv", csv=CsvOptions(skip_rows=2, header=True)))
    no_header_types, no_header_rows = _load(
        headerless, ReadSpec("csv", csv=CsvOptions(header=False))
    )

    assert list(types) == ["id", "amount"] and rows == [(1, 10), (2, 20)]
    assert list(no_header_types) == ["column0", "column1"] and no_header_rows == [(1, 10), (2, 20)]


@pytest.mark.unit
@pytest.mark.parametrize("encoding", ["latin-1", "utf-16", "cp1252"])
def test_encodings(tmp_path, encoding):
    text = "id,city,price\n1,Zürich,5\n2,São Paulo,7\n" + (
        "3,€uro,9\n" if encoding != "latin-1" else ""
    )
    path = tmp_path / f"cities_{encoding}.csv"
    path.write_bytes(text.encode(encoding))

    _, rows = _load(path, ReadSpec("csv", csv=CsvOptions(encoding=encoding)))

    assert rows[:2] == [(1, "Zürich", 5), (2, "São Paulo", 7)]
    if encoding != "latin-1":
        assert rows[2] == (3, "€uro", 9)


@pytest.mark.unit
def test_file_not_in_its_declared_encoding_fails(tmp_path):
    path = tmp_path / "ascii.csv"
    path.write_bytes(b"id,name\n1,caf\xe9\n")

    error = _failure(path, ReadSpec("csv", csv=CsvOptions(encoding="ascii")))

    assert "in ascii" in str(error) and "0xe9" in str(error)


@pytest.mark.unit
def test_transcoded_gzip_file(tmp_path):
    path = tmp_path / "cities.csv.gz"
    with gzip.open(path, "wb") as out:
        out.write("id,city\n1,Zürich\n".encode("cp1252"))

    _, rows = _load(path, ReadSpec("csv", csv=CsvOptions(encoding="cp1252")))

    assert rows == [(1, "Zürich")]


@pytest.mark.unit
def test_date_and_timestamp_formats(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text("id,day,at\n1,31.01.2024,31/01/2024 13:45\n2,01.02.2024,01/02/2024 08:00\n")

    types, rows = _load(
        path,
        ReadSpec("csv", csv=CsvOptions(date_format="%d.%m.%Y", timestamp_format="%d/%m/%Y %H:%M")),
    )

    assert types["day"] == "DATE" and types["at"] == "TIMESTAMP"
    assert str(rows[0][1]) == "2024-01-31" and str(rows[0][2]) == "2024-01-31 13:45:00"


@pytest.mark.unit
def test_columns_set_types_that_detection_gets_wrong(tmp_path):
    path = tmp_path / "customers.csv"
    path.write_text("id,zip,score\n1,00123,7\n2,04567,8\n")

    types, rows = _load(path, ReadSpec("csv", columns={"zip": "VARCHAR", "score": "DOUBLE"}))

    assert types == {"id": "BIGINT", "zip": "VARCHAR", "score": "DOUBLE"}
    assert rows == [(1, "00123", 7.0), (2, "04567", 8.0)]


@pytest.mark.unit
def test_json_array_and_newline_delimited(tmp_path):
    array = tmp_path / "orders.json"
    array.write_text('[{"id": 1, "total": 2.5}, {"id": 2, "total": 4.0}]')
    lines = tmp_path / "orders.jsonl"
    lines.write_text('{"id": 1, "total": 2.5}\n{"id": 2, "total": 4.0}\n')

    _, array_rows = _load(array, ReadSpec("jsonl", json=JsonOptions(format="array")))
    _, line_rows = _load(lines, ReadSpec("jsonl"))
    _, detected = _load(array, ReadSpec("json"))

    assert array_rows == line_rows == detected == [(1, 2.5), (2, 4.0)]


# ---- values cast to the table's existing types; every cause fails the one file -------------


@pytest.mark.unit
def test_value_that_does_not_fit_the_existing_type_names_line_and_column(tmp_path):
    path = tmp_path / "raw_orders_bad.csv"
    path.write_text("id,ordered_at\na1,2024-01-01T10:00:00\na2,notadate\n")
    existing = {"id": {"data_type": "text"}, "ordered_at": {"data_type": "timestamp"}}

    error = _failure(path, ReadSpec("csv", existing=existing))

    assert (error.line, error.column) == (3, "ordered_at")
    assert "notadate" in str(error)
    # the same file for a table without that column loads as text
    assert _load(path, ReadSpec("csv"))[0]["ordered_at"] == "VARCHAR"


@pytest.mark.unit
def test_int_column_receiving_text_fails_naming_line_and_column(tmp_path):
    path = tmp_path / "stock.csv"
    path.write_text("sku,qty\nA,1\nB,abc\nC,3\n")

    error = _failure(path, ReadSpec("csv", existing={"qty": {"data_type": "bigint"}}))

    assert (error.line, error.column) == (3, "qty") and "abc" in str(error)


@pytest.mark.unit
def test_existing_text_column_keeps_text_that_looks_like_numbers(tmp_path):
    path = tmp_path / "zips.csv"
    path.write_text("id,zip\n1,00123\n")

    types, rows = _load(
        path,
        ReadSpec("csv", existing={"zip": {"data_type": "text"}, "id": {"data_type": "double"}}),
    )

    assert types == {"id": "DOUBLE", "zip": "VARCHAR"} and rows == [(1.0, "00123")]


@pytest.mark.unit
def test_jsonl_and_parquet_misfits_name_row_and_column(tmp_path):
    lines = tmp_path / "events.jsonl"
    lines.write_text('{"id": 1, "n": 5}\n{"id": 2, "n": 6}\n{"id": 3, "n": "abc"}\n')
    parquet = tmp_path / "events.parquet"
    with duckdb.connect() as conn:
        conn.sql(
            f"COPY (SELECT range AS id, CASE WHEN range = 4 THEN 'x' ELSE range::VARCHAR END AS n FROM range(6)) TO '{parquet}'"
        )
    existing = {"n": {"data_type": "bigint"}}

    json_error = _failure(lines, ReadSpec("jsonl", existing=existing))
    parquet_error = _failure(parquet, ReadSpec("parquet", existing=existing))

    assert (json_error.line, json_error.column) == (3, "n") and "abc" in str(json_error)
    assert (parquet_error.line, parquet_error.column) == (5, "n") and "value x does" in str(
        parquet_error
    )


@pytest.mark.unit
def test_ragged_rows_fail_with_the_line(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("a,b\n" + "".join(f"{i},{i}\n" for i in range(10)) + "3,4,5\n7,7\n")

    error = _failure(path, ReadSpec("csv"))

    assert error.line == 12 and "3,4,5" in str(error)


@pytest.mark.unit
def test_bad_encoding_truncated_parquet_and_binary_csv_fail(tmp_path):
    bad_utf8 = tmp_path / "caf.csv"
    bad_utf8.write_bytes(b"id,name\n1,ok\n2,caf\xe9\n")
    parquet = tmp_path / "cut.parquet"
    with duckdb.connect() as conn:
        conn.sql(f"COPY (SELECT range AS id FROM range(1000)) TO '{parquet}'")
    parquet.write_bytes(parquet.read_bytes()[:300])
    binary = tmp_path / "image.csv"
    binary.write_bytes(bytes(range(256)) * 8)

    assert "Invalid unicode" in str(_failure(bad_utf8, ReadSpec("csv")))
    _failure(parquet, ReadSpec("parquet"))
    _failure(binary, ReadSpec("csv"))


@pytest.mark.unit
@pytest.mark.parametrize("column", ["_dlt_load_id", "_dlt_id", "_DLT_ID"])
def test_column_named_like_dlts_own_is_refused(tmp_path, column):
    path = tmp_path / "sneaky.csv"
    path.write_text(f"id,{column}\n1,mine\n")

    error = _failure(path, ReadSpec("csv", normalize=str.lower))

    assert error.column == column and "rename the column" in str(error)
    if column != "_dlt_load_id":  # files dlt wrote (the lake) keep them as data
        assert _load(path, ReadSpec("csv", keep_dlt_columns=True))[1] == [(1, "mine")]


@pytest.mark.unit
def test_columns_option_that_contradicts_the_table_fails_with_the_fix(tmp_path):
    path = tmp_path / "stock.csv"
    path.write_text("sku,qty\nA,1\n")

    error = _failure(
        path, ReadSpec("csv", columns={"qty": "VARCHAR"}, existing={"qty": {"data_type": "bigint"}})
    )

    assert "--full-refresh" in str(error) and error.column == "qty"


# ---- config validation -----------------------------------------------------------------------


def _source(**table) -> dict:
    bucket_url = table.pop("bucket_url", "data/drops")
    file_glob = table.pop("file_glob", "*.csv")
    return source("drops", bucket_url=bucket_url, tables=[file_table("t", file_glob, **table)])


def _problems(source: dict) -> str:
    with pytest.raises(ConfigError) as raised:
        validate_document({"version": 1, "sources": [source]}, "sources.yml")
    return "\n".join(raised.value.problems)


@pytest.mark.unit
def test_reader_options_are_validated():
    assert "filesystem.tables[0].csv.nullstr: " in _problems(_source(csv={"nullstr": "NA"}))
    assert "unknown encoding 'klingon'" in _problems(_source(csv={"encoding": "klingon"}))
    assert "`csv:` options need format: csv" in _problems(
        _source(format="parquet", csv={"delimiter": ";"})
    )
    assert "'DUBBLE' is not a DuckDB type" in _problems(_source(columns={"x": "DUBBLE"}))
    assert "json.format: " in _problems(_source(format="jsonl", json={"format": "lines"}))
    config = validate_document(
        {
            "version": 1,
            "sources": [
                _source(csv={"null_values": ["NA"], "encoding": "Latin-1"}, columns={"x": "int"})
            ],
        },
        "sources.yml",
    )
    table = config.sources[0].filesystem.tables[0]
    assert table.csv.encoding == "iso8859-1" and table.columns == {"x": "INTEGER"}


@pytest.mark.unit
@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("file_glob", "../../../../etc/passw*", "has a '..' segment"),
        ("file_glob", "sub/../../x*.csv", "has a '..' segment"),
        ("file_glob", "/etc/passw*", "is an absolute path"),
        ("file_glob", "file:///etc/passw*", "is an absolute path"),
        ("bucket_url", "../outside", "has a '..' segment"),
        ("bucket_url", "s3://bucket/a/../../b", "has a '..' segment"),
    ],
)
def test_paths_that_leave_the_folder_are_rejected(field, value, problem):
    assert problem in _problems(_source(**{field: value}))


@pytest.mark.unit
def test_absolute_and_remote_bucket_urls_stay_allowed(tmp_path):
    for bucket_url in (str(tmp_path), "s3://bucket/landing", "data/landing/x"):
        validate_document(
            {"version": 1, "sources": [_source(bucket_url=bucket_url)]}, "sources.yml"
        )


@pytest.mark.unit
def test_path_warnings_name_missing_folder_and_empty_glob(tmp_path):
    paths = ProjectPaths(tmp_path)
    config = FilesystemSourceConfig.model_validate(_source(bucket_url="data/drops"))

    assert path_warnings(config, paths) == [
        f"source 'drops': bucket_url folder {tmp_path / 'data' / 'drops'} does not exist"
    ]
    (tmp_path / "data" / "drops").mkdir(parents=True)
    (tmp_path / "data" / "drops" / "notes.txt").write_text("x")
    assert path_warnings(config, paths) == [
        f"source 'drops': table 't': file_glob '*.csv' matches no file in {tmp_path / 'data' / 'drops'}"
    ]
    (tmp_path / "data" / "drops" / "a.csv").write_text("id\n1\n")
    assert path_warnings(config, paths) == []
    os.symlink("/etc/passwd", tmp_path / "data" / "drops" / "passwd.csv")
    assert path_warnings(config, paths) == [
        f"source 'drops': table 't': passwd.csv links to /etc/passwd, outside {tmp_path / 'data' / 'drops'}; runs refuse it"
    ]


# ---- end to end: runs on real projects -------------------------------------------------------


def _failure_event(result):
    return next(e for e in result.all_events if e.event_type == DagsterEventType.STEP_FAILURE)


@pytest.mark.e2e
def test_issue_10_bad_orders_file_fails_alone_named_with_line_and_column(
    make_project, jaffle_small
):
    project = make_project([jaffle_source("data/landing/jaffle_shop")])
    landing = project / "data" / "landing" / "jaffle_shop"
    landing.mkdir(parents=True)
    for name in ("raw_orders.csv", "raw_customers.csv"):
        shutil.copy2(jaffle_small / name, landing / name)
    assert materialize_project(project, "group:jaffle_shop", checks=False).success
    orders = scalar(project, "select count(*) from raw_jaffle_shop.orders")
    good = read_csv(landing / "raw_orders.csv")[0]
    write_csv(landing / "raw_orders_good2.csv", [{**good, "id": "good-2"}])
    write_csv(landing / "raw_orders_bad.csv", [{**good, "id": "bad-1", "ordered_at": "notadate"}])

    result = materialize_project(project, "group:jaffle_shop", raise_on_error=False, checks=False)

    assert not result.success
    failure = _failure_event(result)
    message = failure.event_specific_data.error.message
    assert (
        "raw_orders_bad.csv as csv (line 2, column 'ordered_at')" in message
        and "notadate" in message
    )
    assert "raw_orders_good2.csv" not in message
    assert scalar(project, "select count(*) from raw_jaffle_shop.orders") == orders + 1
    assert scalar(project, "select count(*) from raw_jaffle_shop.orders where id = 'good-2'") == 1
    assert scalar(project, "select count(*) from raw_jaffle_shop.orders where id = 'bad-1'") == 0
    # no package is left behind to poison the next run: fixing the file loads it, once
    write_csv(landing / "raw_orders_bad.csv", [{**good, "id": "bad-1"}])
    assert materialize_project(project, "group:jaffle_shop", checks=False).success
    assert scalar(project, "select count(*) from raw_jaffle_shop.orders") == orders + 2


def _drops_project(make_project, tables: list[dict], **filesystem) -> tuple[Path, Path]:
    project = make_project(
        [
            {
                "name": "drops",
                "type": "filesystem",
                "filesystem": {"bucket_url": "data/drops", "tables": tables, **filesystem},
            }
        ]
    )
    landing = project / "data" / "drops"
    landing.mkdir(parents=True)
    return project, landing


@pytest.mark.e2e
def test_failure_metadata_lists_file_line_and_column_and_symlinks_out_are_refused(
    make_project, tmp_path
):
    project, landing = _drops_project(
        make_project,
        [
            {
                "name": "stock",
                "file_glob": "stock*.csv",
                "format": "csv",
                "csv": {"null_values": ["NA"]},
            }
        ],
    )
    (landing / "stock_1.csv").write_text("sku,qty\nA,1\nB,NA\n")
    assert materialize_project(project, "group:drops", checks=False).success
    (landing / "stock_2.csv").write_text("sku,qty\nC,3\n")
    (landing / "stock_3.csv").write_text("sku,qty\nD,4\nE,abc\n")
    outside = tmp_path / "secret.csv"
    outside.write_text("sku,qty\nroot,0\n")
    os.symlink(outside, landing / "stock_link.csv")

    result = materialize_project(project, "group:drops", raise_on_error=False, checks=False)

    assert not result.success
    failure = _failure_event(result).event_specific_data
    message = failure.error.message
    assert "stock_3.csv" in message and "abc" in message
    assert "stock_link.csv" in message and str(outside) in message
    assert scalar(project, "select count(*) from raw_drops.stock") == 3
    assert query(project, "select sku, qty from raw_drops.stock order by sku") == [
        ("A", 1),
        ("B", None),
        ("C", 3),
    ]
    history = query(project, "select error from _ingest.load_history where status = 'failed'")
    assert "stock_3.csv" in history[0][0]


@pytest.mark.e2e
def test_unreadable_files_metadata_has_line_and_column(make_project):
    from dagster import DagsterInstance

    from ingest_assets.project import build_definitions, load_project

    project, landing = _drops_project(
        make_project, [{"name": "stock", "file_glob": "*.csv", "format": "csv"}]
    )
    (landing / "a.csv").write_text("sku,qty\nA,1\n")
    assert materialize_project(project, "group:drops", checks=False).success
    (landing / "b.csv").write_text("sku,qty\nB,2\nC,abc\n")

    defs = build_definitions(load_project(project))
    job = defs.resolve_job_def("drops_job")
    result = job.execute_in_process(instance=DagsterInstance.ephemeral(), raise_on_error=False)

    failure = _failure_event(result).event_specific_data
    assert "b.csv" in failure.error.message
    metadata = failure.user_failure_data.metadata["unreadable_files"].value
    assert metadata == [
        {
            "table": "stock",
            "relative_path": "b.csv",
            "file_url": (landing / "b.csv").as_uri(),
            "error": metadata[0]["error"],
            "line": 3,
            "column": "qty",
        }
    ]


@pytest.mark.e2e
def test_source_matching_no_file_says_so_and_its_row_count_check_fails(make_project):
    project, _ = _drops_project(
        make_project, [{"name": "stock", "file_glob": "stock*.csv", "format": "csv"}]
    )

    result = materialize_project(project, "group:drops", raise_on_error=False)

    (materialization,) = [
        e.event_specific_data.materialization for e in result.get_asset_materialization_events()
    ]
    assert materialization.metadata["files_matched"].value == 0
    assert "matched no file" in materialization.metadata["files_message"].value
    checks = [
        e.event_specific_data
        for e in result.all_events
        if e.event_type == DagsterEventType.ASSET_CHECK_EVALUATION
    ]
    # row_count fails on the empty first load; reconcile has no file to compare yet
    assert sorted((c.check_name, c.passed) for c in checks) == [
        ("reconcile", True),
        ("row_count", False),
    ]


@pytest.mark.e2e
def test_ingest_validate_warns_about_a_missing_folder_and_an_empty_glob(make_project):
    import subprocess
    import sys

    project, landing = _drops_project(
        make_project,
        [
            {"name": "stock", "file_glob": "stock*.csv", "format": "csv"},
            {"name": "prices", "file_glob": "prices/*.csv", "format": "csv"},
        ],
    )
    (landing / "stock_1.csv").write_text("sku,qty\nA,1\n")
    env = {**os.environ, "INGEST_PROJECT_DIR": str(project), "COLUMNS": "300"}

    result = subprocess.run(
        [str(Path(sys.executable).parent / "ingest"), "validate"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
    )

    assert result.returncode == 0, result.stderr
    assert (
        f"! source 'drops': table 'prices': file_glob 'prices/*.csv' matches no file in {landing}"
        in result.stderr
    )
    assert "table 'stock'" not in result.stderr
    shutil.rmtree(landing)
    missing = subprocess.run(
        [str(Path(sys.executable).parent / "ingest"), "validate"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
    )
    assert f"! source 'drops': bucket_url folder {landing} does not exist" in missing.stderr


@pytest.mark.unit
def test_remote_file_is_copied_then_read_with_its_options(tmp_path):
    filesystem = fsspec.filesystem("memory")
    filesystem.pipe("/landing/prices.csv", "sku;price\nÄ-1;3,5\n".encode("cp1252"))
    (file,) = glob_files(filesystem, "memory://landing", "*.csv")
    spec = ReadSpec("csv", csv=CsvOptions(delimiter=";", decimal_separator=",", encoding="cp1252"))

    load_file = write_load_file(
        FileItemDict(file, filesystem), spec, tmp_path / "load.parquet", None
    )

    with duckdb.connect() as conn:
        assert conn.sql(f"SELECT * FROM read_parquet('{load_file.path}')").fetchall() == [
            ("Ä-1", 3.5)
        ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["load.parquet"]  # work copies removed


@pytest.mark.e2e
def test_every_cause_fails_its_file_alone_in_one_run(make_project):
    project, landing = _drops_project(
        make_project,
        [
            {"name": "stock", "file_glob": "stock*.csv", "format": "csv"},
            {"name": "sales", "file_glob": "sales*.parquet", "format": "parquet"},
        ],
    )
    (landing / "stock_1.csv").write_text("sku,qty\nA,1\n")
    with duckdb.connect() as conn:
        conn.sql(f"COPY (SELECT range AS id FROM range(100)) TO '{landing / 'sales_1.parquet'}'")
        conn.sql(f"COPY (SELECT range AS id FROM range(1000)) TO '{landing / 'sales_cut.parquet'}'")
    cut = landing / "sales_cut.parquet"
    cut.write_bytes(cut.read_bytes()[:200])
    bad = {
        "stock_type.csv": b"sku,qty\nB,2\nC,abc\n",
        "stock_ragged.csv": b"sku,qty\n"
        + b"".join(b"R%d,%d\n" % (i, i) for i in range(10))
        + b"X,1,2\n",
        "stock_encoding.csv": b"sku,qty\ncaf\xe9,3\n",
        "stock_binary.csv": bytes(range(256)) * 8,
        "stock_dlt.csv": b"sku,_dlt_id\nD,x\n",
    }
    for name, content in bad.items():
        (landing / name).write_bytes(content)
    (landing / "stock_2.csv").write_text("sku,qty\nE,5\n")

    result = materialize_project(project, "group:drops", raise_on_error=False, checks=False)

    failure = _failure_event(result).event_specific_data
    unreadable = {
        p["relative_path"]: p for p in failure.user_failure_data.metadata["unreadable_files"].value
    }
    assert sorted(unreadable) == sorted([*bad, "sales_cut.parquet"])
    assert (unreadable["stock_type.csv"]["line"], unreadable["stock_type.csv"]["column"]) == (
        3,
        "qty",
    )
    assert unreadable["stock_ragged.csv"]["line"] == 12
    assert unreadable["stock_dlt.csv"]["column"] == "_dlt_id"
    assert query(project, "select sku, qty from raw_drops.stock order by sku") == [
        ("A", 1),
        ("E", 5),
    ]
    assert scalar(project, "select count(*) from raw_drops.sales") == 100
