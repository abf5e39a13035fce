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
from workflows.limits import (
    TOO_DEEP,
    TOO_MANY_VALUES,
    FileTooLargeError,
    limits,
    read_text,
)

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


class YamlLimitError(yaml.MarkedYAMLError):
    """A YAML file past a limit (nesting, values once aliases are expanded); ``code`` says which."""

    def __init__(self, code: str, problem: str, mark: Any, hint: str) -> None:
        super().__init__(problem=problem, problem_mark=mark)
        self.code, self.hint = code, hint


_FAST_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's parser when PyYAML has it: the same nodes and lines, ten times faster."""


def load_located(text: str) -> Located:
    """Parse one YAML document; raises ``yaml.YAMLError`` (with a mark) on bad syntax, and
    ``YamlLimitError`` past the nesting or value limits (``workflows.limits``).

    The document is composed by libyaml when available (every command loads the definitions,
    the organization and the index set); on a syntax error it is parsed again by PyYAML's own
    parser, whose error messages quote the offending line. Aliases are not expanded by
    composing; they are counted while converting, so an alias bomb stops at the value limit.
    """
    bounds = limits()
    try:
        node = yaml.compose(text, Loader=_FAST_LOADER)
    except (yaml.YAMLError, RecursionError):
        _check_depth(text, bounds.yaml_depth)  # a nesting past the limit is the real problem
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)  # raises, with the quoted line
        except RecursionError:
            raise _too_deep(bounds.yaml_depth, None) from None
    located = Located(data=None)
    if node is None:
        return located
    constructor = yaml.constructor.SafeConstructor()
    located.lines[()] = node.start_mark.line + 1
    try:
        _Size(bounds.yaml_depth, bounds.yaml_nodes).of(node, 0, frozenset())
        located.data = _Converter(located, constructor, bounds.yaml_depth,
                                  bounds.yaml_nodes).convert(node, (), 0, frozenset())  # fmt: skip
    except RecursionError:
        raise _too_deep(bounds.yaml_depth, None) from None
    return located


def _too_deep(limit: int, mark: Any) -> YamlLimitError:
    return YamlLimitError(TOO_DEEP, f"nested more than {limit} levels deep", mark,
                          "a data file nests a few levels; is this the right file? The limit "
                          f"is {limits().setting('yaml_depth')}")  # fmt: skip


def _check_depth(text: str, limit: int) -> None:
    """Raise ``YamlLimitError`` at the first collection nested past ``limit`` (events are read
    one by one by PyYAML's parser, without recursion nor libyaml's own nesting limit); other
    syntax errors are left to the composer. Only called when composing failed."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > limit:
                    raise _too_deep(limit, event.start_mark)
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except YamlLimitError:
        raise
    except yaml.YAMLError:
        return


def _too_many(limit: int, mark: Any) -> YamlLimitError:
    hint = (
        f"remove the aliases that repeat each other; the limit is {limits().setting('yaml_nodes')}"
    )
    message = f"more than {limit:,} values once aliases (*name) are expanded"
    return YamlLimitError(TOO_MANY_VALUES, message, mark, hint)


@dataclass
class _Size:
    """The number of values a node expands to, each shared (aliased) node measured once, so an
    alias bomb is refused before anything is built; also refuses nesting past the limit."""

    max_depth: int
    max_nodes: int
    sizes: dict[int, int] = field(default_factory=dict)

    def of(self, node: yaml.Node, depth: int, parents: frozenset[int]) -> int:
        known = self.sizes.get(id(node))
        if known is not None:
            return known
        if id(node) in parents:
            raise yaml.constructor.ConstructorError(
                None, None, "found a recursive alias", node.start_mark
            )
        size = 1
        if isinstance(node, yaml.MappingNode | yaml.SequenceNode):
            if depth >= self.max_depth:
                raise _too_deep(self.max_depth, node.start_mark)
            inner = parents | {id(node)}
            children = (  # values, as ``_Converter`` counts them (keys are scalars)
                [value for _, value in node.value]
                if isinstance(node, yaml.MappingNode)
                else node.value
            )
            for child in children:
                size += self.of(child, depth + 1, inner)
                if size > self.max_nodes:
                    raise _too_many(self.max_nodes, child.start_mark)
        self.sizes[id(node)] = size
        return size


@dataclass
class _Converter:
    located: Located
    constructor: yaml.constructor.SafeConstructor
    max_depth: int
    max_nodes: int

    def convert(self, node: yaml.Node, path: Path_, depth: int, parents: frozenset[int]) -> Any:
        located = self.located
        if id(node) in parents:
            raise yaml.constructor.ConstructorError(
                None, None, "found a recursive alias", node.start_mark
            )
        parents = parents | {id(node)}
        located.nodes += 1
        if located.nodes > self.max_nodes:  # aliases can expand a small file exponentially
            raise _too_many(self.max_nodes, node.start_mark)
        if isinstance(node, yaml.MappingNode | yaml.SequenceNode) and depth >= self.max_depth:
            raise _too_deep(self.max_depth, node.start_mark)
        if isinstance(node, yaml.MappingNode):
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = _construct(key_node, self.constructor)
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
                result[key] = self.convert(value_node, child, depth + 1, parents)
            return result
        if isinstance(node, yaml.SequenceNode):
            items = []
            for index, item in enumerate(node.value):
                child = (*path, index)
                located.lines[child] = item.start_mark.line + 1
                items.append(self.convert(item, child, depth + 1, parents))
            return items
        return _construct(node, self.constructor)


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
        text = read_text(path)
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(read_problem(exc, name, codes.unreadable))
        return None
    return parse_mapping_text(text, name, codes, problems)


def parse_mapping_text(
    text: str, name: str, codes: FileCodes, problems: list[Problem]
) -> Located | None:
    """Like ``parse_mapping_file`` for text already read (e.g. registered in a database)."""
    try:
        located = load_located(text)
    except yaml.YAMLError as exc:
        problems.append(yaml_problem(exc, name, codes.unreadable))
        return None
    for key, line in located.duplicate_keys:
        problems.append(Problem(name, line, codes.duplicate_key, f"key {key!r} appears twice",
                                "YAML keeps only the last one; remove the duplicate"))  # fmt: skip
    if not isinstance(located.data, dict):
        problems.append(Problem(name, 1, codes.not_mapping, "the file does not hold a mapping",
                                codes.mapping_hint))  # fmt: skip
        return None
    return located


def read_problem(exc: OSError | UnicodeDecodeError, name: str, unreadable: str) -> Problem:
    """The problem for a file that could not be read: too large (``CCHC-L001``) or unreadable."""
    if isinstance(exc, FileTooLargeError):
        return Problem(name, 1, exc.code, str(exc), "is this the right file? Split it, or raise "
                       f"the limit with {limits().setting('file_bytes')}")  # fmt: skip
    return Problem(name, 1, unreadable, f"cannot read file: {exc}", "save it as UTF-8 text")


def yaml_problem(exc: yaml.YAMLError, name: str, unreadable: str) -> Problem:
    """The problem for YAML that could not be loaded: past a limit (its ``CCHC-L…`` code), or
    invalid YAML (``unreadable``), at the line of the error."""
    mark = getattr(exc, "problem_mark", None)
    line = mark.line + 1 if mark is not None else 1
    detail = getattr(exc, "problem", None) or str(exc)
    if isinstance(exc, YamlLimitError):
        return Problem(name, line, exc.code, detail, exc.hint)
    return Problem(name, line, unreadable, f"invalid YAML: {detail}",
                   "check indentation and quoting on this line")  # fmt: skip


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
