"""Pure helpers of the load step and the job sheet: the schema diff reported as
`schema_changes` metadata (what schema-drift alerts read), and a sheet's `last_watermark` cell
read as an incremental cursor's `initial_value`.

They call `ingest_assets.dlt.load.schema_changes` and
`ingest_assets.config.job_sheet.watermark_value`; when those modules move, only the imports do.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from ingest_assets.config.job_sheet import watermark_value
from ingest_assets.dlt.table_report import schema_changes

pytestmark = pytest.mark.unit

BEFORE = {"id": "bigint", "name": "text", "amount": "double", "_dlt_id": "text"}


def test_an_unchanged_schema_has_no_changes():
    assert schema_changes(BEFORE, dict(BEFORE)) == {}


def test_added_and_removed_columns_with_their_types():
    after = {"id": "bigint", "amount": "double", "_dlt_id": "text", "email": "text", "vip": "bool"}

    assert schema_changes(BEFORE, after) == {
        "added": {"email": "text", "vip": "bool"},
        "removed": {"name": "text"},
    }


def test_a_variant_column_is_a_retype_of_its_column_not_an_addition():
    after = {**BEFORE, "amount__v_text": "text"}

    assert schema_changes(BEFORE, after) == {
        "retyped": {"amount": {"from": "double", "to": "text", "variant_column": "amount__v_text"}}
    }


def test_a_column_whose_type_changes_in_place_is_retyped():
    assert schema_changes(BEFORE, {**BEFORE, "id": "text"}) == {
        "retyped": {"id": {"from": "bigint", "to": "text"}}
    }


def test_a_variant_like_name_without_its_base_column_is_an_addition():
    after = {**BEFORE, "note__v_text": "text"}

    assert schema_changes(BEFORE, after) == {"added": {"note__v_text": "text"}}


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        (None, None),
        (42, 42),
        (2.5, 2.5),
        (datetime(2024, 1, 1), datetime(2024, 1, 1)),
        ("42", 42),
        ("2024-01-01", date(2024, 1, 1)),
        ("2024-01-01T00:00:00Z", datetime(2024, 1, 1, tzinfo=UTC)),
        ("2024-01-01 12:30:00", datetime(2024, 1, 1, 12, 30)),
        ("A-17", "A-17"),
        ("true", "true"),  # a boolean is no cursor value: the text stays
        ("[unbalanced", "[unbalanced"),
    ],
    ids=[
        "blank",
        "int",
        "float",
        "date-cell",
        "int-text",
        "date-text",
        "utc-text",
        "timestamp-text",
        "text",
        "bool-text",
        "not-yaml",
    ],
)
def test_a_watermark_cell_becomes_the_initial_value_yaml_would_read(cell, expected):
    value = watermark_value(cell)

    assert value == expected and type(value) is type(expected)
