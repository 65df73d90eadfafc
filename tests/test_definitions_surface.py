"""The definitions users see (asset keys and groups, asset checks, jobs, schedules, sensors) are
those recorded in tests/data/definitions_surface.json: for the repo's sources.yml and for a
project with every source type enabled and alerts set."""

from __future__ import annotations

import json

import pytest
from definitions_surface import BASELINE, build, demo_document, full_document, surface, write_sqlite

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("name", ["demo", "full"])
def test_definitions_surface_matches_the_baseline(make_project, name):
    root = make_project(demo_document() if name == "demo" else full_document(), name=name)
    write_sqlite(root)
    expected = json.loads(BASELINE.read_text())[name]
    assert surface(build(root)) == expected
