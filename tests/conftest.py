"""Fixtures that build small worlds fast, on SQLite and on PostgreSQL alike.

Every test that takes ``db`` runs twice: on a fresh SQLite file (copied from a migrated
template) and on PostgreSQL (a schema made for this session, emptied before each test).
When PostgreSQL is unreachable its tests are skipped, except under ``CI=true``, where the
run fails instead.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import settings
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

from cchc.migrations import upgrade
from cchc.runtime import registry as runtime_registry
from cchc.vietnam import LOCAL_TZ, same_actor_text
from notifications.catalog import template_names
from workflows.database import make_engine, session_factory
from workflows.definition.loader import DefinitionSet, load_definitions
from workflows.engine import Engine as WorkflowEngine
from workflows.registry import Actor

REGISTRY = runtime_registry()

LONG = os.environ.get("CCHC_LONG_TESTS", "").lower() in {"1", "true", "yes"}
"""``CCHC_LONG_TESTS=1`` (or ``pytest --long``) runs the long versions of the matrix, kill and
property tests; CI runs the short ones."""

settings.register_profile("ci", max_examples=25, deadline=None)
settings.register_profile("long", max_examples=500, deadline=None)
settings.load_profile("long" if LONG else "ci")


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--long``: the long versions of the matrix, kill and property tests."""
    parser.addoption("--long", action="store_true", help="run the long test versions")


def pytest_configure(config: pytest.Config) -> None:
    """``--long`` switches the hypothesis profile and the ``long_tests`` flag on."""
    global LONG  # noqa: PLW0603 - the flag parametrizations read, set from the command line
    if config.getoption("--long"):
        LONG = True
        os.environ["CCHC_LONG_TESTS"] = "1"
        settings.load_profile("long")


def long_tests() -> bool:
    """True when the long test versions were asked for (``--long`` or ``CCHC_LONG_TESTS=1``)."""
    return LONG


ROOT = Path(__file__).resolve().parent.parent
DEFINITIONS = ROOT / "definitions"
PG_URL = os.environ.get(
    "CCHC_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() == "true"
TENANT = "phu-lien"


@dataclass
class Db:
    """A migrated, empty database for one test."""

    backend: str
    url: str
    engine: Engine
    sessions: sessionmaker[Session]


class Clock:
    """A clock the test controls: starts at a fixed instant, moves only when told."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        """Move forward by ``timedelta(**delta)`` and return the new now."""
        self.now += timedelta(**delta)
        return self.now


def _postgres_unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"PostgreSQL is required in CI (CI=true) but {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL unavailable: {reason}")


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A URL whose search_path is a schema made (and migrated) for this test session."""
    admin = make_engine(PG_URL, connect_args={"connect_timeout": 3})
    try:
        with admin.connect() as conn:
            conn.execute(sa.text("select 1"))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        _postgres_unavailable(f"{PG_URL} is unreachable ({exc.orig})")
    schema = f"cchc_test_{uuid.uuid4().hex[:10]}"
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in PG_URL else "?"
    url = f"{PG_URL}{separator}options=-csearch_path%3D{schema}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session")
def pg_engine(pg_url: str) -> Iterator[Engine]:
    """One engine on the session's PostgreSQL schema."""
    engine = make_engine(pg_url, pool_size=10)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies instead of migrating again."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()  # the last connection to close checkpoints the WAL into the file
    assert not path.with_name(path.name + "-wal").exists()
    return path


_EMPTY_SCHEMA = """
DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT tablename FROM pg_tables
             WHERE schemaname = current_schema() AND tablename NOT LIKE 'alembic_version%'
    LOOP
        EXECUTE format('DELETE FROM %I', r.tablename);
    END LOOP;
    FOR r IN SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema()
    LOOP
        EXECUTE format('ALTER SEQUENCE %I RESTART', r.sequencename);
    END LOOP;
END
$$
"""
"""Empty every table of the schema (all but Alembic's) and restart its sequences, in one round
trip. DELETE, not TRUNCATE: on a dozen nearly empty tables TRUNCATE costs ~0.4 s (new files for
every table and index), DELETE a tenth of that."""


def _truncate(engine: Engine) -> None:
    """Empty the test schema of ``engine`` (PostgreSQL) as a fresh migrated one would be."""
    with engine.begin() as conn:
        # A session a previous test left open would block the deletes forever: fail instead.
        conn.execute(sa.text("SET LOCAL lock_timeout = '10s'"))
        # The audit trail refuses DELETE and TRUNCATE (migrations 0001, 0005); emptying the
        # test schema is the one place allowed to bypass its triggers (replica mode skips
        # ordinary triggers, and the foreign-key checks with them).
        conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
        conn.execute(sa.text(_EMPTY_SCHEMA))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Db]:
    """An empty migrated database, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "cchc.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
        engine = make_engine(url)
        yield Db("sqlite", url, engine, session_factory(engine))
        engine.dispose()
    else:
        engine = request.getfixturevalue("pg_engine")
        _truncate(engine)
        yield Db("postgresql", request.getfixturevalue("pg_url"), engine, session_factory(engine))


@pytest.fixture
def pg_db(pg_engine: Engine, pg_url: str) -> Db:
    """An empty migrated PostgreSQL database, for tests that only make sense there."""
    _truncate(pg_engine)
    return Db("postgresql", pg_url, pg_engine, session_factory(pg_engine))


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing() -> Iterator[None]:
    """Argon2id with argon2-cffi's ``CHEAPEST`` profile (its parameters for tests) in the test
    processes: ~0.1 ms a hash instead of ~100 ms, in every web test's sign-ins and accounts.
    The servers and CLIs the tests start as subprocesses hash with the real parameters, and
    ``tests/test_accounts.py`` checks those."""
    from argon2 import PasswordHasher, profiles

    from cchc.accounts import secrets_

    real = secrets_._hasher
    cheap = PasswordHasher.from_parameters(profiles.CHEAPEST)
    secrets_._hasher = lambda: cheap  # the module's one hasher, for this test session
    yield
    secrets_._hasher = real


@pytest.fixture(scope="session")
def definitions() -> DefinitionSet:
    """The definitions shipped in definitions/."""
    return load_definitions([DEFINITIONS], registry=REGISTRY, templates=template_names())


@pytest.fixture
def clock() -> Clock:
    """A controlled clock at 2025-11-03 09:00 Asia/Ho_Chi_Minh (02:00 UTC)."""
    return Clock(datetime(2025, 11, 3, 2, 0, tzinfo=UTC))


@pytest.fixture
def engine(definitions: DefinitionSet, clock: Clock) -> WorkflowEngine:
    """The workflow engine over the shipped definitions, on the controlled clock."""
    return WorkflowEngine(
        definitions, REGISTRY, clock=clock, timezone=LOCAL_TZ, same_actor_text=same_actor_text
    )


@pytest.fixture
def author() -> Actor:
    """An author of the test tenant."""
    return Actor.of("lan.author", "author", tenant=TENANT)


@pytest.fixture
def reviewer() -> Actor:
    """A reviewer of the test tenant."""
    return Actor.of("minh.reviewer", "reviewer", tenant=TENANT)
