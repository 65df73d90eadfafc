"""Benchmark input of the `sql` suite: TPC-H `lineitem` in the local PostgreSQL and MariaDB.

`lineitem` at a scale factor is generated as CSV by `tpchgen-cli` (`benchmarks.data`), then
loaded with PostgreSQL's `COPY ... FROM STDIN` into `bench.lineitem_sf<SF>` of database `test`
and with MariaDB's `LOAD DATA LOCAL INFILE` into `sql13_bench.lineitem_sf<SF>` (`lineitem_sf1`,
`lineitem_sf0_1`). A table is reloaded only when its
row count differs from the file's (the scale factor is in a table comment), so repeated runs reuse
it. The types are TPC-H's: keys `bigint`, money `numeric(15,2)`, flags `char(1)`, dates `date`,
`char(25)`/`char(10)` and `varchar(44)`; primary key (`l_orderkey`, `l_linenumber`).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from benchmarks.data import tpchgen_cli

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
PG_SCHEMA = "bench"
MYSQL_URL = "mysql://root@127.0.0.1:3306/sql13_bench"
MYSQL_DATABASE = "sql13_bench"

COLUMNS = [
    ("l_orderkey", "bigint"),
    ("l_partkey", "bigint"),
    ("l_suppkey", "bigint"),
    ("l_linenumber", "integer"),
    ("l_quantity", "numeric(15,2)"),
    ("l_extendedprice", "numeric(15,2)"),
    ("l_discount", "numeric(15,2)"),
    ("l_tax", "numeric(15,2)"),
    ("l_returnflag", "char(1)"),
    ("l_linestatus", "char(1)"),
    ("l_shipdate", "date"),
    ("l_commitdate", "date"),
    ("l_receiptdate", "date"),
    ("l_shipinstruct", "char(25)"),
    ("l_shipmode", "char(10)"),
    ("l_comment", "varchar(44)"),
]
"""`lineitem`'s columns and their SQL types (the same text in both databases)."""


@dataclass(frozen=True)
class Lineitem:
    """Where `lineitem` of one scale factor is: the CSV file and its row count."""

    sf: float
    csv: Path
    rows: int

    @property
    def table(self) -> str:
        """The table's name in both databases: `lineitem_sf1`, `lineitem_sf0_1`."""
        return f"lineitem_sf{self.sf:g}".replace(".", "_")


def lineitem_csv(sf: float, work: Path) -> Lineitem:
    """`lineitem` at `sf` as CSV with a header (tpchgen-cli), generated once under `work`."""
    folder = work / f"tpch_sf{sf:g}" / "csv"
    target = folder / "lineitem.csv"
    if not target.exists():
        folder.mkdir(parents=True, exist_ok=True)
        print(f"  generating lineitem SF{sf:g} as CSV with tpchgen-cli", flush=True)
        subprocess.run(
            [tpchgen_cli(), "csv", "-s", f"{sf:g}", "-T", "lineitem", "-o", str(folder)], check=True
        )
    count = folder / "rows.txt"
    if not count.exists():
        with open(target, "rb") as handle:
            count.write_text(str(sum(1 for _ in handle) - 1))
    return Lineitem(sf=sf, csv=target, rows=int(count.read_text()))


def _create_sql(table: str) -> str:
    columns = ", ".join(f"{name} {kind} NOT NULL" for name, kind in COLUMNS)
    return f"CREATE TABLE {table} ({columns}, PRIMARY KEY (l_orderkey, l_linenumber))"


def load_postgres(item: Lineitem) -> None:
    """`bench.lineitem` in PostgreSQL holds `item` (COPY from the CSV unless already there)."""
    import psycopg2

    conn = psycopg2.connect(PG_URL)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(f"CREATE SCHEMA IF NOT EXISTS {PG_SCHEMA}")
            cur.execute(
                "SELECT obj_description(to_regclass(%s), 'pg_class')",
                (f"{PG_SCHEMA}.{item.table}",),
            )
            comment = cur.fetchone()[0]
            if comment == f"sf{item.sf:g} rows={item.rows}":
                return
            print(
                f"  loading lineitem SF{item.sf:g} into PostgreSQL {PG_SCHEMA}.{item.table} with COPY",
                flush=True,
            )
            cur.execute(f"DROP TABLE IF EXISTS {PG_SCHEMA}.{item.table}")
            cur.execute(_create_sql(f"{PG_SCHEMA}.{item.table}"))
            with open(item.csv, "rb") as handle:
                cur.copy_expert(
                    f"COPY {PG_SCHEMA}.{item.table} FROM STDIN WITH (FORMAT csv, HEADER true)",
                    handle,
                )
            cur.execute(
                f"COMMENT ON TABLE {PG_SCHEMA}.{item.table} IS %s",
                (f"sf{item.sf:g} rows={item.rows}",),
            )
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f"VACUUM ANALYZE {PG_SCHEMA}.{item.table}")
    finally:
        conn.close()


def load_mariadb(item: Lineitem) -> None:
    """`sql13_bench.lineitem` in MariaDB holds `item` (LOAD DATA LOCAL INFILE unless there)."""
    import pymysql

    conn = pymysql.connect(
        host="127.0.0.1", port=3306, user="root", password="", local_infile=True, autocommit=True
    )
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE IF NOT EXISTS {MYSQL_DATABASE}")
            cur.execute(
                "SELECT table_comment FROM information_schema.tables WHERE table_schema = %s AND table_name = %s",
                (MYSQL_DATABASE, item.table),
            )
            row = cur.fetchone()
            if row and row[0] == f"sf{item.sf:g} rows={item.rows}":
                return
            print(
                f"  loading lineitem SF{item.sf:g} into MariaDB {MYSQL_DATABASE}.{item.table} with LOAD DATA",
                flush=True,
            )
            cur.execute(f"DROP TABLE IF EXISTS {MYSQL_DATABASE}.{item.table}")
            cur.execute(_create_sql(f"{MYSQL_DATABASE}.{item.table}") + " ENGINE=InnoDB")
            cur.execute(
                f"LOAD DATA LOCAL INFILE %s INTO TABLE {MYSQL_DATABASE}.{item.table} FIELDS TERMINATED BY ',' "
                "OPTIONALLY ENCLOSED BY '\"' LINES TERMINATED BY '\\n' IGNORE 1 LINES",
                (str(item.csv),),
            )
            cur.execute(
                f"ALTER TABLE {MYSQL_DATABASE}.{item.table} COMMENT = %s",
                (f"sf{item.sf:g} rows={item.rows}",),
            )
            cur.execute(f"ANALYZE TABLE {MYSQL_DATABASE}.{item.table}")
    finally:
        conn.close()
