"""One way to read a data file: parse once, validate, check, report every problem at once.

A kind of data file is described once, by a ``DataFile``:

- its ``FileCodes``: the problem codes of the reading failures (unreadable or invalid YAML, a
  key written twice, not a mapping), all under one code prefix that no other kind uses;
- ``validate``: how the plain data become a value, each error a problem at its line (a pydantic
  model through ``Schema``, or any function of a ``Reading``);
- ``checks``: functions that see the valid value as a whole (cross-references, sums …) and
  report what they find on the ``Reading``.

``DataFile.check_file`` gives ``(value, problems)``: the value only when there is no problem;
``load_file`` raises ``DefinitionError`` listing them all. Lines come from the YAML parser's
own node marks (``workflows.definition.yamlpos``), through libyaml when PyYAML has it, within
the limits of ``workflows.limits``.

Each text is parsed once per process (``parse_yaml``): the located data are kept by the hash of
the text, the parsing options and the limits in force, so a file read by several commands of a
process, or the hundreds of organization files of a city read again, cost one parse. The kept
data are shared: readers never change them (``validate_without_unknown_keys`` works on a copy).

Every ``DataFile`` is registered by its code prefix (``registered``); a second kind of file
claiming a prefix already taken is refused, so a code never has two meanings.
"""

from __future__ import annotations

import copy
import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

import yaml
from pydantic import ValidationError

from workflows.definition.yamlpos import (
    Located,
    Path_,
    YamlLimitError,
    display_path,
    load_located,
)
from workflows.errors import DefinitionError, Problem
from workflows.limits import FileTooLargeError, limits, read_text

T = TypeVar("T")
C = TypeVar("C")
_Model = TypeVar("_Model")

DUPLICATE_HINT = "YAML keeps only the last one; remove the duplicate"


@dataclass(frozen=True)
class FileCodes:
    """The problem codes a kind of data file uses for the three parsing failures."""

    unreadable: str
    """Unreadable file or invalid YAML (e.g. ``CCHC-D001``)."""
    duplicate_key: str
    not_mapping: str
    mapping_hint: str
    """How a valid file starts, e.g. "a definition starts with 'kind:'"."""
    duplicate_hint: str = DUPLICATE_HINT
    not_mapping_message: str = "the file does not hold a mapping"

    @property
    def prefix(self) -> str:
        """The codes without their number (``CCHC-D``)."""
        return _prefix(self.unreadable)


def _prefix(code: str) -> str:
    return code.rstrip("0123456789")


# --- parsing, once per process -------------------------------------------------------------


@dataclass
class ParseCounts:
    """How many texts were parsed, and how many readings used a text parsed before."""

    parses: int = 0
    reuses: int = 0


_CACHE_SIZE = 4096
_cache: OrderedDict[tuple[Any, ...], Located | yaml.YAMLError] = OrderedDict()
_counts = ParseCounts()
_lock = threading.Lock()


def parse_counts() -> ParseCounts:
    """A copy of the counts since the process started (or ``clear_cache``)."""
    with _lock:
        return ParseCounts(_counts.parses, _counts.reuses)


def clear_cache() -> None:
    """Forget every parsed text (the next reading of each parses it again)."""
    with _lock:
        _cache.clear()
        _counts.parses = _counts.reuses = 0


def parse_yaml(text: str, *, text_keys: frozenset[str] = frozenset()) -> Located:
    """``load_located(text)``, parsed once per process: the same text (with the same options
    and limits) gives the same ``Located``, which the caller must not change. Raises as
    ``load_located`` does (the same error again for the same text)."""
    bounds = limits()
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=20).digest()
    key = (digest, len(text), text_keys, bounds.yaml_depth, bounds.yaml_nodes)
    with _lock:
        known = _cache.get(key)
        if known is not None:
            _cache.move_to_end(key)
            _counts.reuses += 1
    if known is None:
        try:
            known = load_located(text, text_keys=text_keys)
        except yaml.YAMLError as exc:
            known = exc
        with _lock:
            _counts.parses += 1
            _cache[key] = known
            while len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
    if isinstance(known, yaml.YAMLError):
        raise known.with_traceback(None)  # the kept error, without the last raise's frames
    return known


# --- problems of reading --------------------------------------------------------------------


def read_problem(exc: OSError | UnicodeDecodeError, name: str, unreadable: str) -> Problem:
    """The problem for a file that could not be read: too large (``CCHC-L001``) or unreadable."""
    if isinstance(exc, FileTooLargeError):
        setting = limits().setting("file_bytes")
        hint = f"is this the right file? Split it, or raise the limit with {setting}"
        return Problem(name, 1, exc.code, str(exc), hint)
    return Problem(name, 1, unreadable, f"cannot read file: {exc}", "save it as UTF-8 text")


def yaml_problem(exc: yaml.YAMLError, name: str, unreadable: str) -> Problem:
    """The problem for YAML that could not be loaded: past a limit (its ``CCHC-L…`` code), or
    invalid YAML (``unreadable``), at the line of the error."""
    mark = getattr(exc, "problem_mark", None)
    line = mark.line + 1 if mark is not None else 1
    detail = getattr(exc, "problem", None) or str(exc)
    if isinstance(exc, YamlLimitError):
        return Problem(name, line, exc.code, detail, exc.hint)
    hint = "check indentation and quoting on this line"
    return Problem(name, line, unreadable, f"invalid YAML: {detail}", hint)


def parse_mapping_text(
    text: str,
    name: str,
    codes: FileCodes,
    problems: list[Problem],
    *,
    text_keys: frozenset[str] = frozenset(),
) -> Located | None:
    """``text`` as a YAML mapping with lines (parsed once per process); every problem appended;
    ``None`` when it is unusable."""
    try:
        located = parse_yaml(text, text_keys=text_keys)
    except yaml.YAMLError as exc:
        problems.append(yaml_problem(exc, name, codes.unreadable))
        return None
    for key, line in located.duplicate_keys:
        message = f"key {key!r} appears twice"
        problems.append(Problem(name, line, codes.duplicate_key, message, codes.duplicate_hint))
    if not isinstance(located.data, dict):
        problems.append(
            Problem(name, 1, codes.not_mapping, codes.not_mapping_message, codes.mapping_hint)
        )
        return None
    return located


def parse_mapping_file(
    path: Path,
    name: str,
    codes: FileCodes,
    problems: list[Problem],
    *,
    text_keys: frozenset[str] = frozenset(),
) -> Located | None:
    """Like ``parse_mapping_text`` for the file at ``path``, refused before reading when it is
    above the size limit."""
    try:
        text = read_text(path)
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(read_problem(exc, name, codes.unreadable))
        return None
    return parse_mapping_text(text, name, codes, problems, text_keys=text_keys)


# --- validation -----------------------------------------------------------------------------


@dataclass
class Reading(Generic[C]):
    """One file being checked: its name, its located data, the caller's context (what the
    checks compare with, e.g. the known roles) and the problems found so far."""

    name: str
    located: Located
    context: C
    problems: list[Problem] = field(default_factory=list)

    @property
    def data(self) -> Any:
        """The plain data of the file (shared: never change them)."""
        return self.located.data

    def line_of(self, where: Path_) -> int:
        """The line of ``where``, or of its nearest ancestor written in the file."""
        return self.located.line_of(where)

    def report(self, where: Path_, code: str, message: str, hint: str = "") -> None:
        """Add a problem at the line of ``where`` (a path into the data)."""
        self.problems.append(Problem(self.name, self.line_of(where), code, message, hint))


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


def model_keys(model: type[Any], loc: tuple[Any, ...], fallback: str) -> str:
    """The keys allowed where an unknown key ``loc`` was found, following ``model``'s fields
    (the first pydantic model of each field's type); ``fallback`` when the way is lost."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field_info = getattr(current, "model_fields", {}).get(part)
        if field_info is None:
            return fallback
        annotation = field_info.annotation
        args = getattr(annotation, "__args__", ())
        current = next((a for a in args if hasattr(a, "model_fields")), annotation)
    return ", ".join(getattr(current, "model_fields", {})) or fallback


def without_echoes(errors: list[Any]) -> list[Any]:
    """Drop a list's "too short" when an unknown key inside it failed: it is only an echo."""
    extra = [tuple(e["loc"]) for e in errors if e["type"] == "extra_forbidden"]
    return [
        e
        for e in errors
        if e["type"] != "too_short"
        or not any(loc[: len(e["loc"])] == tuple(e["loc"]) for loc in extra)
    ]


@dataclass(frozen=True)
class Schema(Generic[T]):
    """Validation by a pydantic model: an unknown key is ``unknown_key`` (hint: the keys allowed
    there), any other error ``invalid`` (hint: "add this field" when missing, else
    ``invalid_hint``), each at its line. When unknown keys are the only errors, the value
    without them is returned so the checks still run (the problems stay)."""

    validate: Callable[[Any], T]
    unknown_key: str
    invalid: str
    allowed_keys: Callable[[tuple[Any, ...]], str]
    invalid_hint: str = ""
    drop_echoes: bool = False
    """Leave out a list's "too short" caused by an unknown key inside it."""

    def __call__(self, reading: Reading[Any]) -> T | None:
        """The valid value of ``reading``'s data, or ``None``; each error reported."""
        try:
            return self.validate(reading.data)
        except ValidationError as exc:
            errors = exc.errors()
        if self.drop_echoes:
            errors = without_echoes(errors)
        for err in errors:
            loc = tuple(err["loc"])
            where = ".".join(str(part) for part in loc) or "(top)"
            if err["type"] == "extra_forbidden":
                hint = f"allowed here: {self.allowed_keys(loc)}"
                reading.report(loc, self.unknown_key, f"unknown key {where!r}", hint)
            else:
                hint = "add this field" if err["type"] == "missing" else self.invalid_hint
                reading.report(loc, self.invalid, f"{where}: {err['msg']}", hint)
        return validate_without_unknown_keys(reading.data, errors, self.validate)


# --- a kind of data file --------------------------------------------------------------------

Check = Callable[[T, Reading[C]], None]
"""A check of the whole value: reports what it finds on the reading."""

_registry: dict[str, str] = {}
_registry_lock = threading.Lock()


def registered() -> Mapping[str, str]:
    """Code prefix → the kind of file that owns it, for every ``DataFile`` defined so far."""
    with _registry_lock:
        return dict(_registry)


def _register(kind: str, codes: FileCodes) -> None:
    prefix = codes.prefix
    used = (codes.unreadable, codes.duplicate_key, codes.not_mapping)
    if not prefix or any(_prefix(code) != prefix for code in used):
        raise ValueError(f"the codes of {kind} do not share one prefix: {', '.join(used)}")
    with _registry_lock:
        owner = _registry.setdefault(prefix, kind)
    if owner != kind:
        raise ValueError(f"code prefix {prefix} of {kind} is already used by {owner}")


_CODE = re.compile(r"^[A-Z][A-Z0-9]*-[A-Z]+\d{3}$")


@dataclass(frozen=True, eq=False)
class DataFile(Generic[T, C]):
    """What a kind of YAML data file is, and how it is read, validated and checked."""

    kind: str
    """What the file is, in words (``organization file``); owns the code prefix."""
    codes: FileCodes
    validate: Callable[[Reading[C]], T | None]
    checks: Sequence[Check[T, C]] = ()
    text_keys: frozenset[str] = frozenset()
    """Keys whose unquoted numbers are kept as written (``code: 1.10`` → ``"1.10"``)."""
    sort_problems: bool = False
    """Problems in line order (then code) rather than in the order found."""

    def __post_init__(self) -> None:
        if not _CODE.match(self.codes.unreadable):
            raise ValueError(f"{self.codes.unreadable!r} is not a problem code (PREFIX-X000)")
        _register(self.kind, self.codes)

    # reading

    def parse_file(self, path: Path, name: str, problems: list[Problem]) -> Located | None:
        """The located mapping of ``path`` (``None`` when unusable); problems appended."""
        return parse_mapping_file(path, name, self.codes, problems, text_keys=self.text_keys)

    def parse_text(self, text: str, name: str, problems: list[Problem]) -> Located | None:
        """Like ``parse_file`` for text already read (e.g. registered in a database)."""
        return parse_mapping_text(text, name, self.codes, problems, text_keys=self.text_keys)

    def examine(self, reading: Reading[C]) -> T | None:
        """Validate ``reading`` and run every check on the value: the value whenever validation
        gave one, even if a check then reported a problem (for readers of several files that
        go on comparing them); ``None`` when it is unusable."""
        value = self.validate(reading)
        if value is not None:
            for check in self.checks:
                check(value, reading)
        return value

    def check_located(
        self, located: Located, name: str, context: C, problems: list[Problem] | None = None
    ) -> tuple[T | None, list[Problem]]:
        """Validate and check data already located: the value (if no problem) and every
        problem, those in ``problems`` first."""
        reading = Reading(name, located, context, problems if problems is not None else [])
        value = self.examine(reading)
        found = reading.problems
        if self.sort_problems:
            found.sort(key=lambda p: (p.line, p.code))
        return (None if found else value), found

    def check_file(
        self, path: Path | str, context: C, *, name: str | None = None
    ) -> tuple[T | None, list[Problem]]:
        """Read and check the file at ``path``; problems carry ``name`` (default: the path
        relative to the working folder)."""
        file = Path(path)
        shown = display_path(file) if name is None else name
        problems: list[Problem] = []
        located = self.parse_file(file, shown, problems)
        if located is None:
            return None, problems
        return self.check_located(located, shown, context, problems)

    def check_text(self, text: str, name: str, context: C) -> tuple[T | None, list[Problem]]:
        """Like ``check_file`` for a file's text; problems are placed in ``name``."""
        problems: list[Problem] = []
        located = self.parse_text(text, name, problems)
        if located is None:
            return None, problems
        return self.check_located(located, name, context, problems)

    def check_data(self, data: Any, name: str, context: C) -> tuple[T | None, list[Problem]]:
        """Like ``check_file`` for data already parsed (no lines: every problem on line 1)."""
        return self.check_located(Located(data), name, context)

    def load_file(self, path: Path | str, context: C, *, name: str | None = None) -> T:
        """Like ``check_file`` but raises ``DefinitionError`` listing every problem."""
        return _value(self.check_file(path, context, name=name))

    def load_text(self, text: str, name: str, context: C) -> T:
        """Like ``check_text`` but raises ``DefinitionError`` listing every problem."""
        return _value(self.check_text(text, name, context))


def _value(result: tuple[T | None, list[Problem]]) -> T:
    value, problems = result
    if value is None:
        raise DefinitionError(problems)
    return value
