"""Metric imports: a bad file is refused whole naming row and column; imports are audited."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook

from cchc.metrics.values import ImportResult, check_metrics, current_values, record_import
from tests.conftest import TENANT, Db
from tests.helpers import count
from workflows.database import unit_of_work
from workflows.engine import Engine
from workflows.errors import NotPermittedError
from workflows.registry import Actor

UNITS = {"ttphc", "vp", "kt"}
METRICS = {"on_time_dossiers", "online_payment"}
HEADER = "Mã đơn vị,Kỳ,Chỉ số,Tử số,Mẫu số,Nguồn\n"


def _csv(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "metrics.csv"
    path.write_text(HEADER + body, encoding="utf-8")
    return path


def _check(path: Path) -> tuple[object, list[str]]:
    values, problems = check_metrics(
        path, known_units=UNITS, known_metrics=METRICS, period="2025-H2"
    )
    return values, [p.format() for p in problems]


def test_good_csv_reads_every_row(tmp_path: Path) -> None:
    """A valid CSV gives one value per row, rates computed from numerator and denominator."""
    path = _csv(
        tmp_path,
        "ttphc,2025-H2,on_time_dossiers,965,1000,Cổng DVC\n"
        'ttphc,2025-H2,online_payment,"312,5",500,Cổng DVC\n',
    )
    values, problems = _check(path)
    assert problems == []
    assert isinstance(values, list)
    assert [(v.metric, v.rate) for v in values] == [
        ("on_time_dossiers", Decimal("96.5")),
        ("online_payment", Decimal("62.5")),
    ]


def test_bad_file_is_refused_whole_naming_row_and_column(tmp_path: Path) -> None:
    """Every bad cell is reported with its row and column letter, and no value is returned."""
    path = _csv(
        tmp_path,
        "ttphc,2025-H2,on_time_dossiers,965,1000,\n"
        "phong-x,2025-H2,on_time_dossiers,1,2,\n"
        "kt,2025-H2,online_payment,abc,10,\n"
        "vp,2025-H2,online_payment,12,10,\n"
        "ttphc,2025-H2,on_time_dossiers,1,1,\n",
    )
    values, problems = _check(path)
    assert values is None
    assert any("row 3, column A (unit): unknown unit 'phong-x'" in p for p in problems)
    assert any("row 4, column D (numerator): 'abc' is not a number" in p for p in problems)
    assert any(
        "row 5, column D (numerator): 12 is more than the denominator 10" in p for p in problems
    )
    assert any("row 6, column C (metric)" in p and "repeats row 2" in p for p in problems)


def test_missing_column_and_wrong_type(tmp_path: Path) -> None:
    """A file without the numerator column or of another type is refused with a hint."""
    path = tmp_path / "m.csv"
    path.write_text("Mã đơn vị,Kỳ,Chỉ số\nttphc,2025-H2,on_time_dossiers\n", encoding="utf-8")
    assert "missing column(s): numerator" in _check(path)[1][0]
    other = tmp_path / "m.txt"
    other.write_text("x", encoding="utf-8")
    assert "CCHC-M001" in _check(other)[1][0]


def test_xlsx_reads_like_csv(tmp_path: Path) -> None:
    """The same values from an XLSX export read the same, numbers kept numeric."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Mã đơn vị", "Kỳ", "Chỉ số", "Tử số", "Mẫu số", "Nguồn"])
    sheet.append(["ttphc", "2025-H2", "on_time_dossiers", 980, 1000, "Cổng DVC"])
    sheet.append(["ttphc", "2025-H2", "online_payment", 70, None, "Cổng DVC"])
    path = tmp_path / "metrics.xlsx"
    book.save(path)
    values, problems = _check(path)
    assert problems == []
    assert isinstance(values, list)
    assert values[0].rate == Decimal(98)
    assert values[1].denominator is None


def test_imports_are_audited_and_the_latest_wins(tmp_path: Path, db: Db, engine: Engine) -> None:
    """Each import is an audited instance; a later import supersedes; the same file is a no-op."""
    actor = Actor.of("an", "focal_official", tenant=TENANT)
    first, _ = check_metrics(
        _csv(tmp_path, "ttphc,2025-H2,on_time_dossiers,900,1000,A\n"),
        known_units=UNITS,
        known_metrics=METRICS,
    )
    assert first is not None
    with unit_of_work(db.sessions) as session:
        one = record_import(
            session,
            engine,
            actor,
            first,
            period="2025-H2",
            file_sha256="a" * 64,
            file_name="thang10.csv",
        )
    second, _ = check_metrics(
        _csv(tmp_path, "ttphc,2025-H2,on_time_dossiers,990,1000,B\n"),
        known_units=UNITS,
        known_metrics=METRICS,
    )
    assert second is not None
    with unit_of_work(db.sessions) as session:
        two = record_import(
            session,
            engine,
            actor,
            second,
            period="2025-H2",
            file_sha256="b" * 64,
            file_name="thang11.csv",
        )
        again = record_import(
            session,
            engine,
            actor,
            second,
            period="2025-H2",
            file_sha256="b" * 64,
            file_name="thang11.csv",
        )
    assert two.superseded == (one.import_id,)
    assert again.already_present
    assert again.import_id == two.import_id
    with db.sessions() as session:
        values = current_values(session, TENANT, "2025-H2")
    assert values[("ttphc", "on_time_dossiers")].numerator == Decimal(990)
    assert count(db, "audit_events", "kind = 'metric_import'") == 3


def test_a_unit_file_replaces_that_units_values_only(
    tmp_path: Path, db: Db, engine: Engine
) -> None:
    """After the ward's file, a file of one unit replaces that unit's values and leaves the
    other units' in force (the ward's import stays imported); the next ward file supersedes both."""
    focal = Actor.of("an", "focal_official", tenant=TENANT)
    official = Actor.of("ha", "unit_official", tenant=TENANT, unit="kt")

    def record(actor: Actor, body: str, digest: str) -> ImportResult:
        values, _ = check_metrics(_csv(tmp_path, body), known_units=UNITS, known_metrics=METRICS)
        assert values is not None
        with unit_of_work(db.sessions) as session:
            return record_import(
                session,
                engine,
                actor,
                values,
                period="2025-H2",
                file_sha256=digest * 64,
                file_name=f"{digest}.csv",
            )

    ward = record(
        focal, "kt,2025-H2,online_payment,5,10,A\nttphc,2025-H2,online_payment,6,10,A\n", "a"
    )
    unit = record(official, "kt,2025-H2,online_payment,9,10,B\n", "b")
    assert unit.superseded == ()
    with db.sessions() as session:
        values = current_values(session, TENANT, "2025-H2")
    assert {key: v.numerator for key, v in values.items()} == {
        ("kt", "online_payment"): Decimal(9),
        ("ttphc", "online_payment"): Decimal(6),
    }
    again = record(
        focal, "kt,2025-H2,online_payment,7,10,C\nttphc,2025-H2,online_payment,8,10,C\n", "c"
    )
    assert set(again.superseded) == {ward.import_id, unit.import_id}
    with db.sessions() as session:
        values = current_values(session, TENANT, "2025-H2")
    assert {key: v.numerator for key, v in values.items()} == {
        ("kt", "online_payment"): Decimal(7),
        ("ttphc", "online_payment"): Decimal(8),
    }


def test_an_official_records_their_own_unit_only(tmp_path: Path, db: Db, engine: Engine) -> None:
    """A unit's official importing another unit's values is refused and audited, nothing else
    written; their own unit's values are recorded."""
    official = Actor.of("ha", "unit_official", tenant=TENANT, unit="kt")
    both, _ = check_metrics(
        _csv(tmp_path, "kt,2025-H2,online_payment,5,10,A\nttphc,2025-H2,online_payment,6,10,A\n"),
        known_units=UNITS,
        known_metrics=METRICS,
    )
    assert both is not None
    with pytest.raises(NotPermittedError, match="ttphc"), unit_of_work(db.sessions) as session:
        record_import(
            session,
            engine,
            official,
            both,
            period="2025-H2",
            file_sha256="c" * 64,
            file_name="hai-don-vi.csv",
        )
    assert count(db, "instances") == 0
    assert count(db, "metric_values") == 0
    assert count(db, "audit_events", "outcome = 'refused' and kind = 'metric_import'") == 1
    with unit_of_work(db.sessions) as session:
        own = record_import(
            session,
            engine,
            official,
            both[:1],
            period="2025-H2",
            file_sha256="d" * 64,
            file_name="kt.csv",
        )
    assert own.rows == 1
    assert count(db, "metric_values") == 1


@pytest.mark.parametrize("text", ["", "\ufeff"], ids=["empty", "bom only"])
def test_empty_file(tmp_path: Path, text: str) -> None:
    """An empty file is refused, not read as zero rows."""
    path = tmp_path / "m.csv"
    path.write_text(text, encoding="utf-8")
    values, problems = _check(path)
    assert values is None
    assert problems
