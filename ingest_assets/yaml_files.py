"""The YAML loader of every file this project reads itself (sources.yml, dagster.yaml,
dbt_project.yml): PyYAML's safe loader, in C when PyYAML has it (~10x faster than the Python
one; sources.yml and dagster.yaml are read at every definitions load)."""

from __future__ import annotations

import yaml

YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""Pass as `yaml.load(text, Loader=YAML_LOADER)` (or `yaml.compose`): safe, C when available."""
