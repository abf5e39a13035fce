"""YAML loading that remembers the line of every key and item, and refuses duplicate keys."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import ValidationError

from workflows.errors import Problem

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


_FAST_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's parser when PyYAML has it: the same nodes and lines, ten times faster."""


def load_located(text: str) -> Located:
    """Parse one YAML document; raises ``yaml.YAMLError`` (with a mark) on bad syntax.

    The document is composed by libyaml when available (every command loads the definitions,
    the organization and the index set); on a syntax error it is parsed again by PyYAML's own
    parser, whose error messages quote the offending line.
    """
    try:
        node = yaml.compose(text, Loader=_FAST_LOADER)
    except yaml.YAMLError:
        node = yaml.compose(text, Loader=yaml.SafeLoader)  # raises, with the quoted line
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


def display_path(path: Path) -> str:
    """``path`` relative to the working folder when it is below it (as problems show it)."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


@dataclass(frozen=True)
class FileCodes:
    """The problem codes a kind of data file uses for the three parsing failures."""

    unreadable: str
    """Unreadable file or invalid YAML (e.g. ``CCHC-D001``)."""
    duplicate_key: str
    not_mapping: str
    mapping_hint: str
    """How a valid file starts, e.g. "a definition starts with 'kind:'"."""


def parse_mapping_file(
    path: Path, name: str, codes: FileCodes, problems: list[Problem]
) -> Located | None:
    """Read ``path`` as a YAML mapping with lines; append every problem; None when unusable."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(name, 1, codes.unreadable, f"cannot read file: {exc}",
                                "save it as UTF-8 text"))  # fmt: skip
        return None
    try:
        located = load_located(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        detail = getattr(exc, "problem", None) or str(exc)
        problems.append(Problem(name, line, codes.unreadable, f"invalid YAML: {detail}",
                                "check indentation and quoting on this line"))  # fmt: skip
        return None
    for key, line in located.duplicate_keys:
        problems.append(Problem(name, line, codes.duplicate_key, f"key {key!r} appears twice",
                                "YAML keeps only the last one; remove the duplicate"))  # fmt: skip
    if not isinstance(located.data, dict):
        problems.append(Problem(name, 1, codes.not_mapping, "the file does not hold a mapping",
                                codes.mapping_hint))  # fmt: skip
        return None
    return located


_Model = TypeVar("_Model")


def validate_without_unknown_keys(
    data: Any, errors: Iterable[Mapping[str, Any]], validate: Callable[[Any], _Model]
) -> _Model | None:
    """``validate`` a copy of ``data`` without the unknown keys pydantic's ``errors`` name, when
    those are the only errors, so one run reports every other problem too; else ``None``."""
    errors = list(errors)
    if any(err["type"] != "extra_forbidden" for err in errors):
        return None
    data = copy.deepcopy(data)
    try:
        for err in errors:
            *parents, key = err["loc"]
            holder = data
            for part in parents:
                holder = holder[part]
            del holder[key]
        return validate(data)
    except (LookupError, TypeError, ValidationError):
        return None
