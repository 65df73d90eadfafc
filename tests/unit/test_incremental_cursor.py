"""A table's `incremental:` block as dlt's incremental cursor, run on an in-memory dlt resource
(dlt filters the rows and keeps the watermark; no pipeline, no warehouse).

They call `ingest_assets.config.common.LoadOptions` (`dlt_hints`) and
`ingest_assets.config.job_sheet.watermark_value`; when those move, only the imports do.
"""

from __future__ import annotations

from datetime import UTC, datetime

import dlt
import pytest
from pydantic import ValidationError

from ingest_assets.config.common import LoadOptions
from ingest_assets.config.job_sheet import watermark_value

pytestmark = pytest.mark.unit

ROWS = [
    {"id": 1, "updated_at": datetime(2024, 1, 1, tzinfo=UTC)},
    {"id": 2, "updated_at": datetime(2024, 1, 2, tzinfo=UTC)},
    {"id": 3, "updated_at": datetime(2024, 1, 5, tzinfo=UTC)},
]


def extract(options: dict) -> tuple[list[dict], object]:
    """The rows a resource with these load options yields, and its incremental."""

    @dlt.resource(name="orders")
    def orders():
        yield ROWS

    resource = orders()
    resource.apply_hints(**LoadOptions.model_validate(options).dlt_hints())
    rows = list(resource)
    return rows, resource.incremental


def test_the_cursor_starts_at_the_initial_value_and_remembers_the_largest_value():
    rows, incremental = extract(
        {
            "write_disposition": "merge",
            "primary_key": "id",
            "incremental": {
                "cursor": "updated_at",
                "initial_value": datetime(2024, 1, 2, tzinfo=UTC),
            },
        }
    )

    assert [row["id"] for row in rows] == [2, 3]
    assert incremental.cursor_path == "updated_at"
    assert incremental.last_value == datetime(2024, 1, 5, tzinfo=UTC)


def test_without_an_initial_value_the_first_run_loads_everything():
    rows, incremental = extract({"incremental": {"cursor": "updated_at"}})

    assert [row["id"] for row in rows] == [1, 2, 3]
    assert incremental.last_value == datetime(2024, 1, 5, tzinfo=UTC)


def test_a_job_sheet_watermark_cell_is_the_initial_value():
    rows, _ = extract(
        {
            "incremental": {
                "cursor": "updated_at",
                "initial_value": watermark_value("2024-01-03T00:00:00Z"),
            }
        }
    )

    assert [row["id"] for row in rows] == [3]


def test_options_without_a_cursor_give_no_incremental():
    hints = LoadOptions.model_validate({"write_disposition": "append"}).dlt_hints()

    assert hints == {"write_disposition": "append"}


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"incremental": {"cursor": ""}}, "incremental.cursor"),
        ({"incremental": {"initial_value": 3}}, "incremental.cursor"),
        ({"write_disposition": "merge", "incremental": {"cursor": "id"}}, "needs a primary_key"),
        ({"incremental": {"cursor": "id", "start": 3}}, "incremental.start"),
    ],
    ids=["empty-cursor", "no-cursor", "merge-without-key", "unknown-field"],
)
def test_an_invalid_incremental_block_is_refused_naming_the_field(options, problem):
    with pytest.raises(ValidationError) as raised:
        LoadOptions.model_validate(options)

    assert problem in str(raised.value)
