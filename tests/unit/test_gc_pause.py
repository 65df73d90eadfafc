"""The cyclic garbage collector is paused only for the block it guards (a definitions load, a
sensor tick), and comes back however the block ends."""

from __future__ import annotations

import gc

import pytest

from ingest_assets.config.loader import ConfigError
from ingest_assets.gc_pause import cyclic_gc_paused

pytestmark = pytest.mark.unit


def test_paused_in_the_block_and_back_after_it_ends_or_raises():
    assert gc.isenabled()
    with cyclic_gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), cyclic_gc_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_a_collector_disabled_before_stays_disabled():
    gc.disable()
    try:
        with cyclic_gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_failed_definitions_load_leaves_the_collector_on(make_project):
    import ingest_assets.definitions as entry_point

    make_project("version: 1\nsources:\n  - name: x\n    type: nope\n")
    with pytest.raises(ConfigError):
        entry_point.defs()
    assert gc.isenabled()
