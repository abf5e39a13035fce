"""Wiring shared by the CLI and the flows: where definitions live, and an engine over them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from cchc.guards import registry as cchc_registry
from cchc.settings import PROJECT_ROOT, definitions_dir
from cchc.vietnam import CALENDAR_LOCALE, LOCAL_TZ, same_actor_text, vietnam_calendar
from notifications.catalog import template_names
from workflows.calendar import WorkingCalendar, load_calendar
from workflows.canonical import utcnow
from workflows.definition.loader import DefinitionSet, load_definitions
from workflows.engine import Engine
from workflows.registry import Registry

__all__ = ["PROJECT_ROOT", "definitions_dir", "load", "make_workflow_engine", "registry"]


def registry() -> Registry:
    """Every guard and action definitions may name: the engine's generic ones and CCHC's."""
    return cchc_registry


def load(directory: Path | None = None) -> DefinitionSet:
    """Load and validate the definitions; raises ``DefinitionError`` listing every problem."""
    return load_definitions(
        [directory or definitions_dir()], registry=registry(), templates=template_names()
    )


def make_workflow_engine(
    directory: Path | None = None, clock: Callable[[], datetime] = utcnow
) -> Engine:
    """An engine over the definitions in ``directory`` (default: ``definitions_dir()``), in
    Vietnam's time zone, wording refusals in Vietnamese."""
    return Engine(
        load(directory),
        registry(),
        clock=clock,
        timezone=LOCAL_TZ,
        same_actor_text=same_actor_text,
    )


def working_calendar(directory: Path | None = None) -> WorkingCalendar:
    """The calendar of ``calendar.yaml`` in ``directory`` (default ``definitions_dir()``); the
    library's Vietnamese holidays alone when the file does not exist. Raises
    ``DefinitionError`` when it is invalid. Read again when the file changes."""
    path = (directory or definitions_dir()) / "calendar.yaml"
    try:
        stamp = path.stat().st_mtime_ns
    except FileNotFoundError:
        return vietnam_calendar()
    return _calendar_file(path, stamp)


@lru_cache(maxsize=8)
def _calendar_file(path: Path, stamp: int) -> WorkingCalendar:
    del stamp  # part of the cache key only
    return load_calendar(path, CALENDAR_LOCALE)
