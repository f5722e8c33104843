"""Worker tasks that fail on purpose, for tests/test_parallel.py (importable by worker processes)."""

from __future__ import annotations

import os
from typing import Any, Sequence

from taian_titles import parallel
from taian_titles.io import parse_item


def _ids(part: Sequence[tuple[int, Any, Any]]) -> list[Any]:
    return [record.get("id") if isinstance(record, dict) else None
            for record in (parse_item(line, raw)[1] for _, line, raw in part)]


def dies_on_poison(part: Sequence[tuple[int, Any, Any]]) -> list[Any]:
    """The worker process exits (as a crash of the C core would end it) on a record with id ``poison``."""
    if "poison" in _ids(part):
        os._exit(70)
    return parallel.work(part)


def raises_on_poison(part: Sequence[tuple[int, Any, Any]]) -> list[Any]:
    """The whole task raises on a chunk holding a record with id ``poison``."""
    if "poison" in _ids(part):
        raise RuntimeError("simulated fault of the chunk")
    return parallel.work(part)
