"""The engine knows no CCHC and no country; the packages import each other one way only.

``workflows`` (the engine) imports neither ``cchc`` nor Prefect and names no Vietnamese word,
time zone or ``CCHC_`` variable; ``notifications`` imports nothing of ``cchc``; ``cchc`` imports
nothing of ``flows`` (the CLI's flow commands are registered from ``flows``).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from cchc.runtime import registry
from cchc.vietnam import LOCAL_TZ
from tests.conftest import ROOT, TENANT, Clock, Db
from tests.helpers import instance_in
from workflows.definition.loader import DefinitionSet
from workflows.engine import Engine
from workflows.registry import Actor
from workflows.schema import OutboxMessage

ENGINE_MODULES = sorted(
    ".".join(path.relative_to(ROOT).with_suffix("").parts)
    for path in (ROOT / "workflows").rglob("*.py")
    if "versions" not in path.parts and path.name != "env.py"
)
"""Every importable module of the engine (migration scripts run inside Alembic only)."""


def _python_files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _imported(path: Path) -> set[str]:
    """Every module ``path`` imports, at the top or inside functions."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _vietnamese(text: str) -> list[str]:
    """The letters of ``text`` with a diacritic (Latin letters beyond ASCII)."""
    return [c for c in text if c.isalpha() and "\u00c0" <= c <= "\u1ef9"]


def test_importing_the_engine_imports_no_cchc_and_no_prefect() -> None:
    """Every module of ``workflows`` imports without bringing in cchc or prefect."""
    assert "workflows.engine" in ENGINE_MODULES
    assert "workflows.calendar" in ENGINE_MODULES
    code = (
        "import importlib, sys\n"
        f"for name in {ENGINE_MODULES!r}:\n"
        "    importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m.startswith(('cchc', 'prefect'))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("path", _python_files("workflows"), ids=lambda p: p.name)
def test_the_engine_names_no_country_and_no_cchc_variable(path: Path) -> None:
    """No module of ``workflows`` holds a Vietnamese word, the time zone or a ``CCHC_`` name."""
    text = path.read_text(encoding="utf-8")
    assert _vietnamese(text) == []
    assert "Ho_Chi_Minh" not in text
    assert "CCHC_" not in text


def test_the_checks_would_see_a_vietnamese_word_and_a_cchc_import(tmp_path: Path) -> None:
    """The scans above find what they look for (a word with diacritics, an import in a body)."""
    assert _vietnamese("thứ Hai") == ["ứ"]
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from cchc.organization.model import Person\n", encoding="utf-8")
    assert "cchc.organization.model" in _imported(probe)


@pytest.mark.parametrize("path", _python_files("notifications"), ids=lambda p: p.name)
def test_notifications_import_nothing_of_cchc(path: Path) -> None:
    """No module of ``notifications`` imports ``cchc``: the application passes what it needs."""
    assert [m for m in _imported(path) if m == "cchc" or m.startswith("cchc.")] == []


@pytest.mark.parametrize("path", _python_files("cchc"), ids=lambda p: str(p.relative_to(ROOT)))
def test_cchc_imports_nothing_of_flows(path: Path) -> None:
    """No module of ``cchc`` imports ``flows``: flow commands are registered from ``flows``."""
    assert [m for m in _imported(path) if m == "flows" or m.startswith("flows.")] == []


def test_a_calendar_takes_the_applications_country_zone_and_names() -> None:
    """A calendar file naming no country or zone gets the locale's; without local names the
    problems name weekdays in English only, with CCHC's also in Vietnamese."""
    from cchc.vietnam import CALENDAR_LOCALE
    from workflows.calendar import CalendarLocale, check_calendar_text, load_calendar_text

    french = CalendarLocale(country="FR", timezone="Europe/Paris")
    cal = load_calendar_text("days_off:\n", "calendar.yaml", french)
    assert (cal.country, cal.timezone) == ("FR", "Europe/Paris")
    assert cal.is_working_day(date(2026, 7, 14)) is False  # the library's French holiday
    text = "make_up_days:\n  2026-03-04: a Wednesday\n"
    _, plain = check_calendar_text(text, "calendar.yaml", french)
    _, vietnamese = check_calendar_text(text, "calendar.yaml", CALENDAR_LOCALE)
    assert "is a Wednesday, a working day anyway" in plain[0].message
    assert "is a Wednesday (thứ Tư), a working day anyway" in vietnamese[0].message


def test_limits_hints_name_the_applications_setting() -> None:
    """A limit's hint names the setting the application installed, else the limit's field."""
    from cchc.settings import limits_from_environment
    from workflows.limits import Limits, too_many_rows, use_limits

    assert "raise the limit with CCHC_MAX_ROWS" in too_many_rows("f.csv", 5, 7).hint
    use_limits(Limits)
    try:
        assert too_many_rows("f.csv", 5, 7).hint.endswith("raise the limit with rows")
    finally:
        use_limits(limits_from_environment)


def test_the_engine_writes_local_times_in_the_zone_it_is_given(
    definitions: DefinitionSet, db: Db, clock: Clock
) -> None:
    """An engine given no time zone writes UTC local times in notification contexts; given
    Vietnam's, GMT+7 (09:00 for 02:00 UTC)."""
    author = Actor.of("lan.author", "author", tenant=TENANT)
    times = []
    for ref, zone in (("R-UTC", None), ("R-VN", LOCAL_TZ)):
        given = {} if zone is None else {"timezone": zone}
        engine = Engine(definitions, registry(), clock=clock, **given)
        instance_id = instance_in(db, engine, "submitted", author, author, ref)
        with db.sessions() as session:
            row = session.query(OutboxMessage).filter_by(instance_id=instance_id).one()
        times.append(json.loads(row.context)["occurred_at_local"])
    assert times == ["03/11/2025 02:00:00", "03/11/2025 09:00:00"]
