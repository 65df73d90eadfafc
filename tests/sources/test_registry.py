"""The registry of source types: each type's name, config model and the config union."""

from __future__ import annotations

import typing

import pytest
from pydantic import TypeAdapter

from ingest_assets.sources.base import SourceType
from ingest_assets.sources.registry import SOURCE_TYPES, SourceConfig, source_type

pytestmark = pytest.mark.unit


def test_every_type_is_named_by_its_config_models_type_field():
    assert set(SOURCE_TYPES) == {"filesystem", "sql_database", "rest_api", "dlt_native"}
    for name, kind in SOURCE_TYPES.items():
        assert isinstance(kind, SourceType)
        assert kind.name == name
        assert typing.get_args(kind.config_model.model_fields["type"].annotation) == (name,)


def test_the_config_union_is_built_from_the_registry():
    union = typing.get_args(typing.get_args(SourceConfig)[0])
    assert {model for model in union} == {kind.config_model for kind in SOURCE_TYPES.values()}
    config = TypeAdapter(SourceConfig).validate_python(
        {
            "name": "files",
            "type": "filesystem",
            "filesystem": {
                "bucket_url": "data",
                "tables": [{"name": "orders", "file_glob": "orders/*.csv", "format": "csv"}],
            },
        }
    )
    assert source_type(config) is SOURCE_TYPES["filesystem"]


def test_default_cursor_reads_dlts_incremental_state():
    kind = SOURCE_TYPES["sql_database"]
    state = {"incremental": {"updated_at": {"last_value": "2024-01-02"}}}
    assert kind.cursor(state) == ("updated_at=2024-01-02", {})
    assert kind.cursor({}) == (None, {})


def test_filesystem_cursor_is_the_files_loaded():
    files = {"a.csv": "10:2024-01-01T00:00:00", "b.csv": "12:2024-01-02T00:00:00"}
    assert SOURCE_TYPES["filesystem"].cursor({"loaded_files": files}) == ("2 files", files)
