"""Pausing Python's cyclic garbage collector around a bounded burst of allocations.

In a process that has imported Dagster, dlt and dbt, each full collection walks millions of
long-lived objects. A burst that allocates many short-lived objects (a sensor tick over
100,000 files, a definitions load building every asset spec) triggers several such
collections; pausing the collector for the burst skips them, and memory is still freed by
reference counting as usual (cycles made meanwhile are collected after the block).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for the block (memory is still freed by reference
    counting; reference cycles made in the block are collected after it).

    A tick over 100,000 files allocates a few hundred thousand short-lived strings, tuples and
    dicts. In a process that has imported Dagster, dlt and dbt, each full collection those
    allocations trigger walks millions of long-lived objects: measured, the tick's JSON
    encoding alone took 0.21 s with the collector and 0.04 s without it, and the whole request
    tick ~1.9 s against ~1 s.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
