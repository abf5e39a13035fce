"""fire-selected: the plain database functions on both backends, the flow through Prefect."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from sqlalchemy.exc import OperationalError

import flows.batch_fire
from cchc.organization.model import UnknownPersonError
from flows.batch_fire import fire_batch, fire_ids, fire_selected, select_ids
from tests.conftest import DEFINITIONS, TENANT, Db
from workflows.audit import verify
from workflows.database import make_engine, session_factory, unit_of_work
from workflows.engine import Engine
from workflows.registry import Actor
from workflows.schema import AuditEvent, Instance, OutboxMessage

KIND = "approval_request"
NOTHING = {"applied": 0, "replayed": 0, "refused": 0, "conflicts": 0}


@pytest.fixture
def sqlite_db(sqlite_template: Path, tmp_path: Path) -> Iterator[Db]:
    """A migrated, empty SQLite database (a copy of the session's template)."""
    path = tmp_path / "cchc.sqlite3"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    yield Db("sqlite", url, engine, session_factory(engine))
    engine.dispose()


def _drafts(db: Db, engine: Engine, author: Actor, count: int, start: int = 0) -> list[int]:
    with unit_of_work(db.sessions) as session:
        return [
            engine.create(session, KIND, actor=author, ref=f"REQ-{i}").instance_id
            for i in range(start, start + count)
        ]


def _count(db: Db, model: type[Any], *where: Any) -> int:
    with db.sessions() as session:
        query = sa.select(sa.func.count()).select_from(model).where(*where)
        return int(session.execute(query).scalar_one())


@pytest.fixture(scope="module")
def organization(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The sample ward as tenant TENANT, with the author and reviewer of the engine's tests."""
    sample = DEFINITIONS / "organizations" / "phu-lien.yaml"
    data = yaml.safe_load(sample.read_text(encoding="utf-8"))
    data["tenant"] = TENANT
    for person, role in (("lan.author", "author"), ("minh.reviewer", "reviewer")):
        data["people"].append(
            {
                "id": person,
                "full_name": "Người thử nghiệm",
                "title": "Thử nghiệm",
                "roles": [role],
                "email": f"{person}@phulien.example",
            }
        )
    path = tmp_path_factory.mktemp("org") / "org.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return str(path)


def _run(db: Db, actor: Actor, organization: str, batch_size: int = 200) -> dict[str, int]:
    return fire_selected(
        database_url=db.url,
        kind=KIND,
        state="draft",
        trigger="submit",
        actor_id=actor.id,
        organization=organization,
        batch_size=batch_size,
        definitions_dir=str(DEFINITIONS),
    )


def test_fire_ids_fires_once_and_replays_with_the_same_key_prefix(
    db: Db, engine: Engine, author: Actor
) -> None:
    """fire_ids submits each draft once; the same key prefix again replays and writes nothing."""
    ids = _drafts(db, engine, author, 5)
    with db.sessions() as session:
        assert select_ids(session, KIND, "draft", TENANT) == ids

    first = fire_ids(engine, db.sessions, ids, "submit", author, None, key_prefix="run-1")
    events = _count(db, AuditEvent)
    second = fire_ids(engine, db.sessions, ids, "submit", author, None, key_prefix="run-1")

    assert first == {**NOTHING, "applied": 5}
    assert second == {**NOTHING, "replayed": 5}
    assert events == 10  # 5 creations, 5 submissions
    assert _count(db, AuditEvent) == events
    assert _count(db, OutboxMessage) == 5
    with db.sessions() as session:
        assert select_ids(session, KIND, "submitted", TENANT) == ids


def test_fire_ids_counts_refusals_and_keeps_them_audited(
    db: Db, engine: Engine, author: Actor, reviewer: Actor
) -> None:
    """fire_ids counts refused fires, which stay audited as refusals and change no instance."""
    ids = _drafts(db, engine, author, 3)

    counts = fire_ids(engine, db.sessions, ids, "submit", reviewer, None, key_prefix="run-1")

    assert counts == {**NOTHING, "refused": 3}
    assert _count(db, AuditEvent, AuditEvent.outcome == "refused") == 3
    assert _count(db, Instance, Instance.state == "draft", Instance.version == 1) == 3


@pytest.mark.prefect
@pytest.mark.usefixtures("prefect_harness")
def test_prefect_settings_have_no_flow_run_heartbeat() -> None:
    """Importing flows switches Prefect's flow-run heartbeat off, also under the harness."""
    from prefect.settings import get_current_settings

    assert get_current_settings().flows.heartbeat_frequency is None


@pytest.mark.prefect
@pytest.mark.usefixtures("prefect_harness")
def test_flow_submits_every_draft_in_batches(
    sqlite_db: Db, engine: Engine, author: Actor, organization: str
) -> None:
    """The flow submits 450 drafts in 3 batches of at most 200, audited and notified once each."""
    ids = _drafts(sqlite_db, engine, author, 450)

    result = _run(sqlite_db, author, organization, batch_size=200)

    assert result == {"selected": 450, "applied": 450, "refused": 0, "conflicts": 0, "batches": 3}
    with sqlite_db.sessions() as session:
        assert select_ids(session, KIND, "submitted", TENANT) == ids
        report = verify(session)
    assert report.ok, [b.describe() for b in report.breaks]
    assert report.events == 901  # 450 creations, 450 submissions, the ward's registration
    assert _count(sqlite_db, OutboxMessage, OutboxMessage.template == "approval_submitted") == 450


@pytest.mark.prefect
@pytest.mark.usefixtures("prefect_harness")
def test_flow_without_the_role_refuses_everything_and_changes_nothing(
    db: Db, engine: Engine, author: Actor, reviewer: Actor, organization: str
) -> None:
    """A flow run by an actor without the role refuses and audits every item, moving none."""
    _drafts(db, engine, author, 25)

    result = _run(db, reviewer, organization, batch_size=10)

    assert result == {"selected": 25, "applied": 0, "refused": 25, "conflicts": 0, "batches": 3}
    refusals = (AuditEvent.outcome == "refused", AuditEvent.actor == reviewer.id)
    assert _count(db, AuditEvent, *refusals, AuditEvent.reason.like("not_permitted:%")) == 25
    assert _count(db, AuditEvent) == 51  # 25 creations, 25 refusals, the ward's registration
    assert _count(db, Instance, Instance.state == "draft", Instance.version == 1) == 25
    assert _count(db, OutboxMessage) == 0
    with db.sessions() as session:
        assert verify(session).ok


@pytest.mark.prefect
@pytest.mark.usefixtures("prefect_harness")
def test_retried_batch_does_not_fire_twice(
    sqlite_db: Db,
    engine: Engine,
    author: Actor,
    organization: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A batch retried after a database error replays what it fired and fires only the rest."""
    _drafts(sqlite_db, engine, author, 5)
    real_fire = Engine.fire
    calls = 0

    def flaky_fire(self: Engine, *args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise OperationalError("UPDATE instances", {}, Exception("database is locked"))
        return real_fire(self, *args, **kwargs)

    monkeypatch.setattr(Engine, "fire", flaky_fire)
    no_delay = fire_batch.with_options(retry_delay_seconds=0)
    monkeypatch.setattr(flows.batch_fire, "fire_batch", no_delay)

    result = _run(sqlite_db, author, organization)

    assert result == {"selected": 5, "applied": 5, "refused": 0, "conflicts": 0, "batches": 1}
    assert calls == 3 + 5  # two fired, one failed; then the retry: two replays, three fired
    assert _count(sqlite_db, AuditEvent, AuditEvent.trigger == "submit") == 5
    assert _count(sqlite_db, OutboxMessage) == 5


@pytest.mark.prefect
@pytest.mark.usefixtures("prefect_harness")
def test_flow_acts_only_as_a_person_of_the_organization(
    sqlite_db: Db, engine: Engine, author: Actor, organization: str
) -> None:
    """An actor id missing from the organization file fails the flow before anything is fired."""
    _drafts(sqlite_db, engine, author, 3)
    events = _count(sqlite_db, AuditEvent)

    with pytest.raises(UnknownPersonError, match=r"lan\.authr"):
        _run(sqlite_db, Actor.of("lan.authr", "author", tenant=TENANT), organization)

    assert _count(sqlite_db, AuditEvent) == events + 1  # only the ward's first registration
    assert _count(sqlite_db, Instance, Instance.state == "draft") == 3


@pytest.mark.prefect
@pytest.mark.usefixtures("prefect_harness")
def test_flow_with_a_data_dir_signs_a_checkpoint_at_its_end(
    sqlite_db: Db,
    engine: Engine,
    author: Actor,
    organization: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Given the data folder holding a signing key, the flow signs the tenant's new head."""
    from cchc.anchor import checkpoint_folder, init_key
    from workflows.database import Settings

    monkeypatch.delenv("CCHC_SIGNING_KEY", raising=False)
    settings = Settings(data_dir=tmp_path / "var", database_url=sqlite_db.url)
    init_key(settings)
    _drafts(sqlite_db, engine, author, 3)
    fire_selected(
        database_url=sqlite_db.url,
        kind=KIND,
        state="draft",
        trigger="submit",
        actor_id=author.id,
        organization=organization,
        definitions_dir=str(DEFINITIONS),
        data_dir=str(settings.data_dir),
    )
    latest = checkpoint_folder(settings).latest(TENANT)
    assert latest is not None
    # 3 creations, 3 submissions and the ward's registration on first use
    assert (latest.seq, latest.events, latest.instances) == (7, 7, 3)


@pytest.mark.prefect
@pytest.mark.usefixtures("prefect_harness")
def test_the_flow_refuses_an_organization_file_that_differs_from_the_registered_one(
    sqlite_db: Db, engine: Engine, author: Actor, organization: str, tmp_path: Path
) -> None:
    """A file naming the same ward that grants the actor another role is refused, audited, and
    fires nothing; the registered organization decides who acts."""
    from cchc.reference_data import ReferenceMismatchError

    ids = _drafts(sqlite_db, engine, author, 3)
    assert _run(sqlite_db, author, organization, batch_size=2)["applied"] == 3
    data = yaml.safe_load(Path(organization).read_text(encoding="utf-8"))
    for person in data["people"]:
        if person["id"] == author.id:
            person["roles"] = ["author", "chairman"]
    evil = tmp_path / "evil.yaml"
    evil.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    more = _drafts(sqlite_db, engine, author, 2, start=3)
    with pytest.raises(ReferenceMismatchError, match=r"roles"):
        _run(sqlite_db, author, str(evil))
    with sqlite_db.sessions() as session:
        assert select_ids(session, KIND, "draft", TENANT) == more
        assert select_ids(session, KIND, "submitted", TENANT) == ids
        refused = session.scalars(
            sa.select(AuditEvent.reason).where(AuditEvent.outcome == "refused")
        ).all()
    assert any("chairman" in (reason or "") for reason in refused)
