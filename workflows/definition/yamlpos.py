"""YAML loading that remembers the line of every key and item, and refuses duplicate keys."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

Path_ = tuple[str | int, ...]


@dataclass
class Located:
    """Plain data loaded from YAML plus the 1-based line of every path in it."""

    data: Any
    lines: dict[Path_, int] = field(default_factory=dict)
    duplicate_keys: list[tuple[str, int]] = field(default_factory=list)
    nodes: int = 0

    def line_of(self, path: Path_) -> int:
        """Line of ``path``, or of its nearest ancestor that has one (1 for the document)."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return 1


MAX_NODES = 100_000
"""A definition has a few hundred values; far more means an alias bomb or a wrong file."""


def load_located(text: str) -> Located:
    """Parse one YAML document; raises ``yaml.YAMLError`` (with a mark) on bad syntax."""
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    located = Located(data=None)
    if node is None:
        return located
    constructor = yaml.constructor.SafeConstructor()
    located.lines[()] = node.start_mark.line + 1
    located.data = _convert(node, (), located, constructor)
    return located


def _convert(
    node: yaml.Node,
    path: Path_,
    located: Located,
    constructor: yaml.constructor.SafeConstructor,
    parents: frozenset[int] = frozenset(),
) -> Any:
    if id(node) in parents:
        raise yaml.constructor.ConstructorError(
            None, None, "found a recursive alias", node.start_mark
        )
    parents = parents | {id(node)}
    located.nodes += 1
    if located.nodes > MAX_NODES:  # aliases can expand a small file exponentially
        raise yaml.constructor.ConstructorError(
            None, None, f"more than {MAX_NODES} values (aliases expanding?)", node.start_mark
        )
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _construct(key_node, constructor)
            line = key_node.start_mark.line + 1
            try:
                hash(key)
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    None, None, "found unhashable key", key_node.start_mark
                ) from None
            if key in result:
                located.duplicate_keys.append((str(key), line))
            child = (*path, str(key))
            located.lines[child] = line
            result[key] = _convert(value_node, child, located, constructor, parents)
        return result
    if isinstance(node, yaml.SequenceNode):
        items = []
        for index, item in enumerate(node.value):
            child = (*path, index)
            located.lines[child] = item.start_mark.line + 1
            items.append(_convert(item, child, located, constructor, parents))
        return items
    return _construct(node, constructor)


def _construct(node: yaml.Node, constructor: yaml.constructor.SafeConstructor) -> Any:
    try:
        return constructor.construct_object(node, deep=True)
    except ValueError as exc:  # e.g. ``2025-02-30`` resolves as a timestamp, then fails
        raise yaml.constructor.ConstructorError(
            None, None, f"invalid value: {exc}", node.start_mark
        ) from exc
