"""Walking nested YAML data, for the property tests that mutate valid files."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def nodes(data: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Every (path, value) below ``data``, parents before children."""
    children = data.items() if isinstance(data, dict) else enumerate(data)
    for key, value in children:
        yield (*prefix, key), value
        if isinstance(value, dict | list):
            yield from nodes(value, (*prefix, key))


def holder(data: Any, path: tuple[Any, ...]) -> Any:
    """The container holding the value at ``path``."""
    for part in path[:-1]:
        data = data[part]
    return data
