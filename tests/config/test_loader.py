"""sources.yml validation: good files load, each kind of mistake gets its own named message."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ingest_assets.config import ConfigError, load_project_config

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]

FILES_SOURCE = {
    "name": "crm",
    "type": "filesystem",
    "filesystem": {
        "bucket_url": "data/crm",
        "tables": [{"name": "accounts", "file_glob": "*.csv", "format": "csv"}],
    },
}


def _write(tmp_path: Path, document: dict | str) -> Path:
    path = tmp_path / "sources.yml"
    path.write_text(document if isinstance(document, str) else yaml.safe_dump(document))
    return path


def _problems(tmp_path: Path, document: dict | str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_project_config(_write(tmp_path, document))
    return caught.value.problems


def _with(**changes) -> dict:
    return {"version": 1, "sources": [{**FILES_SOURCE, **changes}]}


def test_repo_sources_yml_is_valid():
    config = load_project_config(REPO / "sources.yml")
    names = [source.name for source in config.sources]
    assert "jaffle_shop" in names
    jaffle = next(s for s in config.sources if s.name == "jaffle_shop")
    assert jaffle.dataset_name == "raw_jaffle_shop"
    assert {t.name for t in jaffle.filesystem.tables} >= {"customers", "orders", "items"}


def test_defaults(tmp_path):
    config = load_project_config(_write(tmp_path, _with()))
    source = config.sources[0]
    assert source.enabled is True
    assert source.schedule is None
    assert config.warehouse is None
    assert source.filesystem.tables[0].write_disposition is None


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"schedule": "61 * * * *"},
            "sources.yml: source 'crm': schedule: '61 * * * *' is not a valid cron expression",
        ),
        (
            {"name": "CRM"},
            "sources.yml: source 'CRM': name: 'CRM' must be lower-case letters, digits and _ and start with a letter",
        ),
        (
            {"type": "ftp"},
            "sources.yml: source 'crm': type: 'ftp' is not a source type; use one of 'filesystem', ",
        ),
        (
            {"colour": "blue"},
            "sources.yml: source 'crm': colour: unknown field; check its spelling and where it is indented",
        ),
        (
            {"filesystem": {"bucket_url": "x", "tables": []}},
            "sources.yml: source 'crm': filesystem.tables: List should have at least 1 item",
        ),
        (
            {
                "filesystem": {
                    "bucket_url": "x",
                    "tables": [{"name": "t", "file_glob": "*", "format": "xlsx"}],
                }
            },
            "sources.yml: source 'crm': filesystem.tables[0].format: Input should be 'csv', 'jsonl', 'json' or 'parquet'",
        ),
        (
            {
                "filesystem": {
                    "bucket_url": "x",
                    "tables": [
                        {
                            "name": "t",
                            "file_glob": "*",
                            "format": "csv",
                            "write_disposition": "merge",
                        }
                    ],
                }
            },
            "sources.yml: source 'crm': filesystem.tables[0]: write_disposition 'merge' needs a primary_key",
        ),
        (
            {
                "filesystem": {
                    "bucket_url": "x",
                    "tables": [
                        {
                            "name": "t",
                            "file_glob": "*",
                            "format": "csv",
                            "write_disposition": "upsert",
                        }
                    ],
                }
            },
            "sources.yml: source 'crm': filesystem.tables[0].write_disposition: Input should be 'append', 'replace' or 'merge'",
        ),
        (
            {
                "filesystem": {
                    "bucket_url": "x",
                    "tables": [
                        {"name": "t", "file_glob": "*", "format": "csv"},
                        {"name": "t", "file_glob": "b*", "format": "csv"},
                    ],
                }
            },
            "sources.yml: source 'crm': filesystem.tables: table names must be unique, repeated: t",
        ),
    ],
)
def test_each_mistake_names_file_source_and_field(tmp_path, change, expected):
    problems = _problems(tmp_path, _with(**change))
    assert any(problem.startswith(expected) for problem in problems), problems


def test_every_problem_is_reported_not_just_the_first(tmp_path):
    document = {
        "version": 1,
        "sources": [
            {**FILES_SOURCE, "schedule": "every day"},
            {**FILES_SOURCE, "name": "crm"},
            {"name": "api", "type": "dlt_native", "dlt_native": {"source_module": "x"}},
        ],
    }
    problems = _problems(tmp_path, document)
    assert problems == [
        "sources.yml: source 'crm': schedule: 'every day' is not a valid cron expression",
        "sources.yml: source 'crm': name: 'crm' is used by another source",
        "sources.yml: source 'api': dlt_native.source_function: required field is missing",
    ]


def test_top_level_mistakes(tmp_path):
    assert _problems(tmp_path, {"version": 2, "sources": []}) == [
        "sources.yml: version: Input should be 1"
    ]
    assert _problems(tmp_path, "sources: [unclosed")[0].startswith("sources.yml: not valid YAML")
    assert _problems(tmp_path, "- just a list") == [
        "sources.yml: the top level must be a mapping with a 'sources' list"
    ]


def test_missing_file_says_where(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_project_config(tmp_path / "sources.yml")
    assert caught.value.problems == [
        f"sources.yml: file not found at {tmp_path / 'sources.yml'}; create it (see README.md)"
    ]


def test_dlt_native_resource_shorthand_and_hints(tmp_path):
    document = {
        "version": 1,
        "sources": [
            {
                "name": "shop",
                "type": "dlt_native",
                "dlt_native": {
                    "source_module": "example_shop",
                    "source_function": "example_shop",
                    "resources": ["orders", {"name": "products", "write_disposition": "replace"}],
                },
            }
        ],
    }
    block = load_project_config(_write(tmp_path, document)).sources[0].dlt_native
    assert [(r.name, r.write_disposition) for r in block.resources] == [
        ("orders", None),
        ("products", "replace"),
    ]


TYPO_YAML = """\
version: 1
sources:
  - name: crm
    type: filesystem
    schedule: "61 * * * *"
    filesystem:
      bucket_url: data/crm
      tables:
        - name: accounts
          file_glb: "*.csv"
          format: csv
"""


def test_problem_names_file_line_field_and_a_did_you_mean(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_project_config(_write(tmp_path, TYPO_YAML))
    error = caught.value
    # the misspelled key comes first, with its suggestion; its "file_glob is missing" twin is
    # left out (the suggestion says it)
    assert error.located == [
        "sources.yml:10: source 'crm': filesystem.tables[0].file_glb: unknown field; check its "
        "spelling and where it is indented: did you mean 'file_glob'?",
        "sources.yml:5: source 'crm': schedule: '61 * * * *' is not a valid cron expression",
    ]
    assert error.lines == [10, 5]
    # the first line of the error (what a code location's traceback shows first) is the typo
    assert str(error).splitlines()[0] == error.located[0]


def test_did_you_mean_at_the_top_level_and_in_source_fields(tmp_path):
    document = (
        "version: 1\ntimezon: UTC\nsources:\n  - name: crm\n    type: filesystem\n    enabeld: false\n"
        "    filesystem: {bucket_url: x, tables: [{name: t, file_glob: '*', format: csv}]}\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_project_config(_write(tmp_path, document))
    assert caught.value.located == [
        "sources.yml:2: timezon: unknown field; check its spelling and where it is indented: did you mean 'timezone'?",
        "sources.yml:6: source 'crm': enabeld: unknown field; check its spelling and where it is indented: did you mean 'enabled'?",
    ]


def test_missing_field_points_at_its_block_and_yaml_errors_at_their_line(tmp_path):
    document = "version: 1\nsources:\n  - name: api\n    type: dlt_native\n    dlt_native:\n      source_module: x\n"
    with pytest.raises(ConfigError) as caught:
        load_project_config(_write(tmp_path, document))
    assert caught.value.located == [
        "sources.yml:5: source 'api': dlt_native.source_function: required field is missing"
    ]
    with pytest.raises(ConfigError) as caught:
        load_project_config(_write(tmp_path, "version: 1\nsources:\n  - name: [unclosed\n"))
    assert caught.value.located[0].startswith("sources.yml:4: not valid YAML")


def test_dango_dlt_native_block_is_accepted(tmp_path):
    """Dango's documented block: `source_module: custom_sources.<module>`, `source_name`."""
    document = {
        "version": 1,
        "sources": [
            {
                "name": "shop",
                "type": "dlt_native",
                "dlt_native": {
                    "source_module": "custom_sources.example_shop",
                    "source_name": "example_shop",
                },
            }
        ],
    }
    config = load_project_config(_write(tmp_path, document))
    block = config.sources[0].dlt_native
    assert (block.source_module, block.source_function) == (
        "custom_sources.example_shop",
        "example_shop",
    )

    from ingest_assets.settings import ProjectPaths
    from ingest_assets.sources.registry import build_dlt_source

    source = build_dlt_source(config.sources[0], ProjectPaths(REPO))
    assert set(source.resources) == {"orders", "products"}
