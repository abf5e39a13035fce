"""The Alembic migrations build exactly the schema the models describe, and can be undone.

The engine's branch, notifications' and cchc's are upgraded together; a database made by the
single chain of migrations before the split (up to 0006) upgrades to the new heads, data kept.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine

from cchc.migrations import (
    LOCATIONS,
    current_revisions,
    head_revisions,
    metadata,
    require_current,
    upgrade,
)
from tests.conftest import PG_URL, Db, _postgres_unavailable
from workflows import migrations
from workflows.database import make_engine
from workflows.migrations import SchemaOutdatedError, alembic_config

HEADS = {"0007", "notifications_0001", "cchc_0002"}
LEGACY = Path(__file__).parent / "migrations_0006"


def test_models_match_migrations(db: Db) -> None:
    """After upgrade, autogenerate finds no difference between the models and the database."""
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata())
    assert diff == []


def test_upgrade_downgrade_upgrade(tmp_path: Path) -> None:
    """A fresh SQLite database upgrades to head, downgrades to nothing and upgrades again."""
    from alembic import command

    engine = make_engine(f"sqlite:///{tmp_path / 'm.sqlite3'}")
    upgrade(engine)
    assert current_revisions(engine) == HEADS
    command.downgrade(alembic_config(engine, LOCATIONS), "base")
    assert current_revisions(engine) == frozenset()
    assert sa.inspect(engine).get_table_names() == ["alembic_version"]
    upgrade(engine)
    assert "audit_events" in sa.inspect(engine).get_table_names()
    engine.dispose()


def test_the_engine_branch_alone_makes_only_the_engine_tables(tmp_path: Path) -> None:
    """Upgrading the engine's migrations alone creates no table of another package."""
    engine = make_engine(f"sqlite:///{tmp_path / 'e.sqlite3'}")
    migrations.upgrade(engine)
    tables = set(sa.inspect(engine).get_table_names())
    engine.dispose()
    assert {"instances", "audit_events", "outbox", "reference_data"} <= tables
    assert not tables & {"metric_values", "scores", "deadline_steps", "notification_deliveries"}


def test_head_revisions_are_alembics_heads() -> None:
    """The heads read from the version files are the ones Alembic's script directory computes."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(locations=LOCATIONS))
    assert head_revisions() == frozenset(script.get_heads()) == HEADS


def test_current_revisions_are_alembics(db: Db, tmp_path: Path) -> None:
    """The revisions read from alembic_version are Alembic's, also for a database without."""
    with db.engine.connect() as conn:
        alembic_heads = MigrationContext.configure(conn).get_current_heads()
    assert current_revisions(db.engine) == set(alembic_heads)
    empty = make_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    assert current_revisions(empty) == frozenset()
    empty.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine on a database with nothing in it, on SQLite and on PostgreSQL (own schema)."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'legacy.sqlite3'}")
        yield engine
        engine.dispose()
        return
    admin = make_engine(PG_URL, connect_args={"connect_timeout": 3})
    try:
        with admin.connect() as conn:
            conn.execute(sa.text("select 1"))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        _postgres_unavailable(f"{PG_URL} is unreachable ({exc.orig})")
    schema = f"cchc_legacy_{uuid.uuid4().hex[:10]}"
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in PG_URL else "?"
    engine = make_engine(f"{PG_URL}{separator}options=-csearch_path%3D{schema}")
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _upgrade_with_the_old_chain(engine: Engine) -> None:
    """Build the schema as the single chain did up to 0006 (``tests/migrations_0006``)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations.SCRIPT_LOCATION))
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", str(LEGACY))
    config.attributes["engine"] = engine
    command.upgrade(config, "head")


ROWS = {
    "workflow_definitions": "insert into workflow_definitions values ('h', 'task', 1, '{}', :t)",
    "instances": "insert into instances (tenant, kind, ref, state, definition_hash, version, "
    "data, created_by, created_at, updated_at) values ('w', 'task', 'T1', 'open', 'h', 1, "
    "'{}', 'a', :t, :t)",
    "audit_events": "insert into audit_events (tenant, seq, occurred_at, actor, kind, ref, "
    "trigger, payload, definition_hash, outcome, prev_hash, hash) values ('w', 1, :t, 'a', "
    "'task', 'T1', 'create', '{}', 'h', 'applied', 'p', 'x')",
    "outbox": "insert into outbox (tenant, event_id, instance_id, template, recipients, "
    "context, dedupe_key, status, attempts, created_at) values ('w', 1, 1, 'tpl', '[]', '{}', "
    "'k', 'pending', 0, :t)",
    "metric_values": "insert into metric_values (tenant, period, unit, metric, numerator, "
    "source, import_id, imported_at) values ('w', '2025', 'u', 'm', 1, 's', 1, :t)",
    "scores": "insert into scores (tenant, plan, run_id, index_set, index_set_hash, code, "
    "owner_unit, rule, inputs, points, max_points, explanation, outside_base, computed_at) "
    "values ('w', 'p', 'r', 'i', 'ih', 'c', 'u', '{}', '{}', 1, 2, 'e', false, :t)",
    "deadline_steps": "insert into deadline_steps (tenant, instance_id, step, due_at, deadline, "
    "key, done_at, outcome) values ('w', 1, 'overdue', :t, :t, 'k', null, null)",
    "notification_deliveries": "insert into notification_deliveries (tenant, dedupe_key, "
    "outbox_id, template, recipient, address, status, attempts, created_at, updated_at) "
    "values ('w', 'k:p', 1, 'tpl', 'p', 'p@example.org', 'sent', 1, :t, :t)",
    "delivery_attempts": "insert into delivery_attempts (delivery_id, attempt, channel, "
    "started_at, outcome) values (1, 1, 'email', :t, 'sent')",
}


def test_a_database_at_the_old_head_upgrades_to_the_new_heads(empty_engine: Engine) -> None:
    """A database made by the single chain (at 0006) upgrades to every new head: the packages'
    tables it already has are adopted with their rows, and the schema matches the models."""
    _upgrade_with_the_old_chain(empty_engine)
    assert current_revisions(empty_engine) == {"0006"}
    with empty_engine.begin() as conn:
        for statement in ROWS.values():
            conn.execute(sa.text(statement), {"t": "2025-11-03 02:00:00"})
    with pytest.raises(SchemaOutdatedError, match="cchc db upgrade"):
        require_current(empty_engine)

    upgrade(empty_engine)

    assert current_revisions(empty_engine) == HEADS
    require_current(empty_engine)
    with empty_engine.connect() as conn:
        counts = {t: conn.execute(sa.text(f"select count(*) from {t}")).scalar() for t in ROWS}
        assert counts == dict.fromkeys(ROWS, 1)
        assert compare_metadata(MigrationContext.configure(conn), metadata()) == []
