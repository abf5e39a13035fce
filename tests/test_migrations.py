"""The Alembic migrations build exactly the schema the models describe, and can be undone."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import cchc.accounts.models  # noqa: F401  # registers the accounts tables on Base.metadata
from tests.conftest import Db
from workflows.database import make_engine
from workflows.migrations import alembic_config, current_revision, head_revision, upgrade
from workflows.schema import Base


def test_models_match_migrations(db: Db) -> None:
    """After upgrade, autogenerate finds no difference between the models and the database."""
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_upgrade_downgrade_upgrade(tmp_path: Path) -> None:
    """A fresh SQLite database upgrades to head, downgrades to nothing and upgrades again."""
    from alembic import command

    engine = make_engine(f"sqlite:///{tmp_path / 'm.sqlite3'}")
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    command.downgrade(alembic_config(engine), "base")
    assert current_revision(engine) is None
    assert sa.inspect(engine).get_table_names() == ["alembic_version"]
    upgrade(engine)
    assert "audit_events" in sa.inspect(engine).get_table_names()
    engine.dispose()


def test_head_revision_is_alembics_head() -> None:
    """The head read from the version files is the one Alembic's script directory computes."""
    from alembic.script import ScriptDirectory

    from workflows.migrations import head_revision

    assert head_revision() == ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_current_revision_is_alembics(db: Db, tmp_path: Path) -> None:
    """The revision read from alembic_version is Alembic's, also for a database without one."""
    with db.engine.connect() as conn:
        assert (
            current_revision(db.engine) == MigrationContext.configure(conn).get_current_revision()
        )
    empty = make_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    assert current_revision(empty) is None
    empty.dispose()
