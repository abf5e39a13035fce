"""YAML loading that remembers the line of every key and item, and refuses duplicate keys.

The lines are the parser's own node marks (``yaml.compose`` → ``node.start_mark``), composed by
libyaml when PyYAML has it. ``workflows.datafile`` builds the reading of whole data files on this
(one parse per text per process, problems with codes, validation, checks).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from workflows.limits import TOO_DEEP, TOO_MANY_VALUES, limits

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


def load_located(
    text: str, *, text_keys: frozenset[str] = frozenset(), libyaml: bool = True
) -> Located:
    """Parse one YAML document; raises ``yaml.YAMLError`` (with a mark) on bad syntax, and
    ``YamlLimitError`` past the nesting or value limits (``workflows.limits``).

    ``text_keys``: keys whose plain (unquoted) number values are kept as written, as text
    (``code: 1.10`` stays ``"1.10"``, not the float 1.1). ``libyaml=False`` composes with
    PyYAML's pure-Python parser only (to compare the two).

    The document is composed by libyaml when available (every command loads the definitions,
    the organization and the index set); on a syntax error it is parsed again by PyYAML's own
    parser, whose error messages quote the offending line. Aliases are not expanded by
    composing; they are counted while converting, so an alias bomb stops at the value limit.
    """
    bounds = limits()
    try:
        node = yaml.compose(text, Loader=_FAST_LOADER if libyaml else yaml.SafeLoader)
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
        converter = _Converter(
            located, constructor, bounds.yaml_depth, bounds.yaml_nodes, text_keys
        )
        located.data = converter.convert(node, (), 0, frozenset())
    except RecursionError:
        raise _too_deep(bounds.yaml_depth, None) from None
    return located


def _too_deep(limit: int, mark: Any) -> YamlLimitError:
    return YamlLimitError(
        TOO_DEEP,
        f"nested more than {limit} levels deep",
        mark,
        "a data file nests a few levels; is this the right file? The limit "
        f"is {limits().setting('yaml_depth')}",
    )


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
    text_keys: frozenset[str] = frozenset()

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
                if key in self.text_keys and _plain_number(value_node):
                    located.nodes += 1
                    result[key] = value_node.value
                    continue
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


_NUMBER_TAGS = frozenset({"tag:yaml.org,2002:int", "tag:yaml.org,2002:float"})


def _plain_number(node: yaml.Node) -> bool:
    """An unquoted scalar YAML reads as a number (``1.10``, ``7``); a plain scalar's style is
    ``None`` from PyYAML's parser, ``""`` from libyaml's."""
    return isinstance(node, yaml.ScalarNode) and not node.style and node.tag in _NUMBER_TAGS


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
