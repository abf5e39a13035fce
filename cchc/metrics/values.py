"""Metric values per unit and period (dossiers on time, online payment …) from CSV or XLSX.

These usually come as exports of the public-service portal. A file with any bad row is
refused whole, each problem naming its row and column; nothing is half-imported.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy import and_, func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from cchc.guards import WARD_WIDE_ROLES
from cchc.organization.access import require_any_role
from cchc.tables import MetricValue as MetricRow
from cchc.workbooks.notes import cell_problems, table_elsewhere
from workflows.database import unit_of_work
from workflows.datafile import read_problem
from workflows.definition.checks import did_you_mean
from workflows.engine import Engine
from workflows.errors import DefinitionError, Problem
from workflows.limits import FileTooLargeError, check_size, limits, too_many_rows
from workflows.registry import Actor
from workflows.schema import Instance

COLUMNS: Mapping[str, str] = {
    "mã đơn vị": "unit",
    "đơn vị": "unit",
    "unit": "unit",
    "kỳ": "period",
    "period": "period",
    "chỉ số": "metric",
    "metric": "metric",
    "tử số": "numerator",
    "numerator": "numerator",
    "mẫu số": "denominator",
    "denominator": "denominator",
    "nguồn": "source",
    "nguồn số liệu": "source",
    "source": "source",
}
REQUIRED = ("unit", "period", "metric", "numerator")


@dataclass(frozen=True)
class MetricValue:
    """One value: ``numerator`` of ``denominator`` for a unit, a period and a metric."""

    unit: str
    period: str
    metric: str
    numerator: Decimal
    denominator: Decimal | None
    source: str

    @property
    def rate(self) -> Decimal | None:
        """numerator / denominator × 100, or None without a (non-zero) denominator."""
        if not self.denominator:
            return None
        return self.numerator * 100 / self.denominator


LAYOUT = "CCHC-M004"
"""A workbook whose layout hides values: merged cells, uncomputed formulas, another sheet."""


def _norm(value: object) -> str:
    return " ".join(str(value or "").strip().lower().split())


def _rows(path: Path) -> Iterator[tuple[int, list[Any]]]:
    if path.suffix.lower() == ".csv":
        text = path.read_bytes().decode("utf-8-sig")
        dialect = csv.Sniffer().sniff(text.splitlines()[0] if text else ",", delimiters=",;\t")
        for number, row in enumerate(csv.reader(io.StringIO(text), dialect), 1):
            yield number, list(row)
        return
    from cchc.workbooks.read import read_workbook

    book = read_workbook(path)
    try:
        sheet = book.worksheets[0]
        for number, cells in enumerate(sheet.iter_rows(values_only=True), 1):
            yield number, list(cells)
    finally:
        book.close()


LIMIT = Decimal(10) ** 11
"""Values stay below a hundred billion: exact to 4 decimal places on both backends (SQLite
keeps numbers as doubles). Express money in millions of đồng."""
PLACES = Decimal("0.0001")
"""Values are kept to 4 decimal places (the column's scale), rounded half-even when read."""


def _decimal(value: object) -> Decimal:
    """The number in a cell, rounded to 4 places; ValueError saying why it is not one."""
    if isinstance(value, bool):
        raise ValueError("is not a number")  # noqa: TRY004 - the docstring's contract
    if isinstance(value, int | float | Decimal):
        text = str(value)
    else:
        text = str(value).strip().replace(" ", "")
        if "," in text and "." in text:  # 1.234,5 (Vietnamese) → 1234.5
            text = text.replace(".", "").replace(",", ".")
        else:
            text = text.replace(",", ".")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError("is not a number") from None
    if not number.is_finite():
        raise ValueError("is not a number")
    if abs(number) >= LIMIT:
        raise ValueError("is too large (at most 99,999,999,999.9999; give money in millions)")
    return number.quantize(PLACES, rounding=ROUND_HALF_EVEN)


def _shown(number: Decimal) -> str:
    """``12`` for 12.0000, ``12.5`` for 12.5000: as the official wrote it."""
    return f"{number.normalize():f}"


def check_metrics(
    path: Path,
    *,
    known_units: Collection[str],
    known_metrics: Collection[str],
    period: str | None = None,
) -> tuple[list[MetricValue] | None, list[Problem]]:
    """Read and check every row; the values if all are valid, and every problem."""
    from openpyxl.utils import get_column_letter

    name = str(path)
    problems: list[Problem] = []
    if path.suffix.lower() not in {".csv", ".xlsx"}:
        return None, [Problem(name, 1, "CCHC-M001", "metrics come as a .csv or .xlsx file")]
    bounds = limits()
    try:
        check_size(path)
        rows = list(islice(_rows(path), bounds.rows + 2))  # the header, the rows, one too many
    except FileTooLargeError as exc:
        return None, [read_problem(exc, name, "CCHC-M001")]
    except Exception as exc:  # noqa: BLE001 - csv, unicode and openpyxl raise many types for a wrong file
        return None, [
            Problem(
                name,
                1,
                "CCHC-M001",
                f"cannot read the file: {exc}",
                "save it as UTF-8 CSV or as .xlsx",
            )
        ]
    xlsx = path.suffix.lower() == ".xlsx"
    if xlsx and (elsewhere := table_elsewhere(path, COLUMNS, name, LAYOUT)) is not None:
        return None, [elsewhere]
    if not rows:
        return None, [Problem(name, 1, "CCHC-M002", "the file is empty")]
    if len(rows) > bounds.rows + 1:
        return None, [too_many_rows(name, bounds.rows, rows[-1][0])]
    header_number, header = rows[0]
    columns = {i: COLUMNS[_norm(v)] for i, v in enumerate(header) if _norm(v) in COLUMNS}
    missing = [c for c in REQUIRED if c not in columns.values()]
    if missing:
        return None, [
            Problem(
                name,
                header_number,
                "CCHC-M002",
                f"missing column(s): {', '.join(missing)}",
                "headers: Mã đơn vị, Kỳ, Chỉ số, Tử số, Mẫu số, Nguồn",
            )
        ]
    read = {i + 1 for i in columns}
    if xlsx and (layout := cell_problems(path, 0, name, LAYOUT, header_number + 1, read)):
        return None, layout
    values: list[MetricValue] = []
    seen: dict[tuple[str, str, str], int] = {}
    for number, row in rows[1:]:
        if not any(str(v or "").strip() for v in row):
            continue
        cells = {
            field: (row[i] if i < len(row) else None, get_column_letter(i + 1))
            for i, field in columns.items()
        }

        def bad(
            field: str,
            message: str,
            hint: str = "",
            number: int = number,
            cells: dict[str, tuple[Any, str]] = cells,
        ) -> None:
            column = cells[field][1] if field in cells else "?"
            problems.append(
                Problem(
                    name,
                    number,
                    "CCHC-M003",
                    f"row {number}, column {column} ({field}): {message}",
                    hint,
                )
            )

        unit, period_value, metric = (
            str(cells[f][0] or "").strip() for f in ("unit", "period", "metric")
        )
        if unit not in known_units:
            bad("unit", f"unknown unit {unit!r}", did_you_mean(unit, known_units))
        if metric not in known_metrics:
            bad("metric", f"unknown metric {metric!r}", did_you_mean(metric, known_metrics))
        if period is not None and period_value != period:
            bad("period", f"period {period_value!r} is not the imported period {period!r}")
        numerator = denominator = None
        try:
            numerator = _decimal(cells["numerator"][0])
            if numerator < 0:
                bad("numerator", "must not be negative")
        except ValueError as exc:
            bad("numerator", f"{cells['numerator'][0]!r} {exc}")
        raw_denominator = cells.get("denominator", (None, ""))[0]
        if raw_denominator not in (None, ""):
            try:
                denominator = _decimal(raw_denominator)
                if denominator < 0:
                    bad("denominator", "must not be negative")
                elif numerator is not None and numerator > denominator:
                    bad(
                        "numerator",
                        f"{_shown(numerator)} is more than the denominator {_shown(denominator)}",
                    )
            except ValueError as exc:
                bad("denominator", f"{raw_denominator!r} {exc}")
        key = (unit, period_value, metric)
        if key in seen:
            bad("metric", f"{metric} of {unit} for {period_value} repeats row {seen[key]}")
        seen[key] = number
        if numerator is not None:
            source = str(cells.get("source", ("", ""))[0] or "").strip()
            values.append(MetricValue(unit, period_value, metric, numerator, denominator, source))
    if not values and not problems:
        problems.append(
            Problem(
                name,
                header_number,
                "CCHC-M002",
                "the file has no data rows",
                "one row per unit, period and metric",
            )
        )
    if problems:
        return None, problems
    return values, []


def load_metrics(
    path: Path,
    *,
    known_units: Collection[str],
    known_metrics: Collection[str],
    period: str | None = None,
) -> list[MetricValue]:
    """Like ``check_metrics`` but raises ``DefinitionError`` listing every problem."""
    values, problems = check_metrics(
        path, known_units=known_units, known_metrics=known_metrics, period=period
    )
    if values is None:
        raise DefinitionError(problems)
    return values


@dataclass(frozen=True)
class ImportResult:
    """What an import recorded."""

    import_id: int
    rows: int
    superseded: tuple[int, ...]
    already_present: bool


def record_import(
    session: Session,
    engine: Engine,
    actor: Actor,
    values: Sequence[MetricValue],
    *,
    period: str,
    file_sha256: str,
    file_name: str,
) -> ImportResult:
    """Record checked values as one audited ``metric_import``; earlier imports are superseded.

    The same file for the same period again is a no-op that returns the first import. A unit's
    official records their own unit's values only: values of other units need a ward-wide role
    (``NotPermittedError``, audited, before anything else is written).
    """
    others = sorted({v.unit for v in values} - {actor.unit})
    if others and not actor.roles & WARD_WIDE_ROLES:
        require_any_role(
            session,
            engine,
            actor,
            WARD_WIDE_ROLES,
            kind="metric_import",
            what=f"import metric values of units {', '.join(others)}",
            facts={"rule": "import_other_units", "units": others, "actor_unit": actor.unit},
        )
    ref = f"{period}/{file_sha256[:16]}"
    existing = session.execute(
        select(Instance.id).where(
            Instance.tenant == actor.tenant, Instance.kind == "metric_import", Instance.ref == ref
        )
    ).scalar()
    if existing is not None:
        return ImportResult(int(existing), len(values), (), already_present=True)
    units = {v.unit for v in values}
    # An earlier import stays in force for the units this one does not bring (a unit's
    # official imports their own unit's figures); it is superseded once all its units are.
    earlier = [
        row.id
        for row in session.execute(
            select(Instance.id, Instance.data).where(
                Instance.tenant == actor.tenant,
                Instance.kind == "metric_import",
                Instance.state == "imported",
                Instance.ref.startswith(f"{period}/", autoescape=True),
            )
        )
        if set(json.loads(row.data).get("units", ())) <= units
    ]
    created = engine.create(
        session,
        "metric_import",
        actor=actor,
        ref=ref,
        data={
            "period": period,
            "file_sha256": file_sha256,
            "file_name": file_name,
            "rows": len(values),
            "units": sorted(units),
            "metrics": sorted({v.metric for v in values}),
        },
    )
    for old in earlier:
        engine.fire(session, old, "supersede", actor=actor)
    now = engine.clock()
    if values:
        session.execute(
            insert(MetricRow),
            [
                {
                    "tenant": actor.tenant,
                    "period": v.period,
                    "unit": v.unit,
                    "metric": v.metric,
                    "numerator": v.numerator,
                    "denominator": v.denominator,
                    "source": v.source,
                    "import_id": created.instance_id,
                    "imported_at": now,
                }
                for v in values
            ],
        )
    return ImportResult(created.instance_id, len(values), tuple(earlier), already_present=False)


def import_file(
    sessions: sessionmaker[Session],
    engine: Engine,
    actor: Actor,
    path: Path,
    *,
    period: str,
    known_units: Collection[str],
    known_metrics: Collection[str],
) -> ImportResult:
    """Check ``path`` and record its values as one audited import, in one transaction.

    Any bad row raises ``DefinitionError`` listing every problem, and nothing is written.
    """
    values = load_metrics(path, known_units=known_units, known_metrics=known_metrics, period=period)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with unit_of_work(sessions) as session:
        return record_import(
            session, engine, actor, values, period=period, file_sha256=digest, file_name=path.name
        )


def current_values(
    session: Session, tenant: str, period: str
) -> dict[tuple[str, str], MetricValue]:
    """The values in force for a period, by (unit, metric): each unit's from the latest import
    that brought that unit (a newer file of one unit does not hide the other units' values)."""
    latest = (
        select(MetricRow.unit, func.max(MetricRow.import_id).label("import_id"))
        .where(MetricRow.tenant == tenant, MetricRow.period == period)
        .group_by(MetricRow.unit)
        .subquery()
    )
    rows = session.scalars(
        select(MetricRow)
        .join(
            latest, and_(MetricRow.unit == latest.c.unit, MetricRow.import_id == latest.c.import_id)
        )
        .where(MetricRow.tenant == tenant, MetricRow.period == period)
    ).all()
    return {
        (r.unit, r.metric): MetricValue(
            r.unit,
            r.period,
            r.metric,
            Decimal(r.numerator),
            None if r.denominator is None else Decimal(r.denominator),
            r.source,
        )
        for r in rows
    }
