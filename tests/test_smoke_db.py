"""The database fixtures give a migrated, empty schema on both backends."""

from __future__ import annotations

import sqlalchemy as sa

from tests.conftest import Db


def test_fixture_database_is_migrated_and_empty(db: Db) -> None:
    """Each backend starts a test with the engine's tables present and no instances."""
    with db.engine.connect() as conn:
        count = conn.execute(sa.text("select count(*) from instances")).scalar_one()
    assert count == 0
