"""A dlt source yielding `rows` Python dicts shaped like TPC-H `lineitem` rows (the dict path).

Rows come in pages of `page_size` dicts, as from a paginated API. Values are deterministic and
cheap to make (a fixed pool of strings, arithmetic on the row number), so the time measured is
dlt's, not the generator's.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import dlt

SHIP_MODES = ["AIR", "FOB", "MAIL", "RAIL", "REG AIR", "SHIP", "TRUCK"]
INSTRUCTIONS = ["COLLECT COD", "DELIVER IN PERSON", "NONE", "TAKE BACK RETURN"]
COMMENTS = [f"carefully final deposits {n} haggle furiously" for n in range(97)]
START = date(1992, 1, 1)
DATES = [START + timedelta(days=n) for n in range(2500)]


@dlt.source(name="bench_dicts")
def bench_dicts(rows: int = 1_000_000, page_size: int = 1_000) -> list:
    """One resource, `lineitem`, with `rows` rows."""
    return [lineitem(rows, page_size)]


@dlt.resource(name="lineitem", write_disposition="append")
def lineitem(rows: int, page_size: int) -> Iterator[list[dict]]:
    for first in range(0, rows, page_size):
        yield [_row(n) for n in range(first, min(first + page_size, rows))]


def _row(n: int) -> dict:
    return {
        "l_orderkey": n // 4 + 1,
        "l_partkey": (n * 7919) % 200_000 + 1,
        "l_suppkey": (n * 104_729) % 10_000 + 1,
        "l_linenumber": n % 4 + 1,
        "l_quantity": float(n % 50 + 1),
        "l_extendedprice": round((n % 100_000) * 1.37 + 901.0, 2),
        "l_discount": (n % 11) / 100,
        "l_tax": (n % 9) / 100,
        "l_returnflag": "NRA"[n % 3],
        "l_linestatus": "OF"[n % 2],
        "l_shipdate": DATES[n % 2500],
        "l_commitdate": DATES[(n + 30) % 2500],
        "l_receiptdate": DATES[(n + 15) % 2500],
        "l_shipinstruct": INSTRUCTIONS[n % 4],
        "l_shipmode": SHIP_MODES[n % 7],
        "l_comment": COMMENTS[n % 97],
    }
