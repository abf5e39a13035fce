"""The city fan-out's ward list and refusals (no server; the runs: test_scale_out.py)."""

from __future__ import annotations

import contextlib
import importlib.util
import shutil
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import sqlalchemy as sa
from prefect.client.schemas.schedules import CronSchedule

from cchc import cycle
from cchc.city import load_city
from cchc.organization.model import UnknownPersonError
from cchc.settings import sqlite_url
from cchc.vietnam import LOCAL_TZ
from cchc.workspace import Workspace
from flows.city import (
    city_fanout_flow,
    city_wards,
    ward_limit_name,
    ward_review_flow,
    ward_sweep_flow,
)
from flows.deployments import apply_city
from tests.conftest import DEFINITIONS
from workflows.database import Settings, make_engine
from workflows.schema import AuditEvent
from workflows.tenant_lock import TenantBusyError, tenant_lock

CITY = DEFINITIONS / "cities" / "hai-phong.yaml"
PHU_LIEN = DEFINITIONS / "organizations" / "phu-lien.yaml"
FOCAL, CHAIR = "nguyen.thi.lan", "dang.van.thang"


def test_city_file_gives_each_ward_its_organization_file() -> None:
    """Every ward of the sample city comes with its own file and tenant, in the city's order."""
    city = load_city(CITY)
    wards = city_wards(city=str(CITY))
    assert [tenant for _, tenant in wards] == [org.tenant for org in city.wards]
    for path, tenant in wards:
        assert Path(path) == city.organization_path(tenant)


def test_listed_organization_files_give_their_tenants() -> None:
    """Without a city file the listed organization files are the wards."""
    assert city_wards(organizations=[str(PHU_LIEN)]) == [(str(PHU_LIEN), "phuong-phu-lien")]


def test_a_ward_listed_twice_is_refused() -> None:
    """Two runs of one ward in one fan-out would only queue behind each other: refused."""
    with pytest.raises(ValueError, match="listed twice"):
        city_wards(organizations=[str(PHU_LIEN), str(PHU_LIEN)])


def test_exactly_one_source_of_wards() -> None:
    """A city file or a list of organization files, never both or neither."""
    with pytest.raises(ValueError, match="either a city file or a list"):
        city_wards()
    with pytest.raises(ValueError, match="either a city file or a list"):
        city_wards(city=str(CITY), organizations=[str(PHU_LIEN)])


def test_unknown_job_is_refused_before_anything_is_registered() -> None:
    """Only the sweep and the review run per ward."""
    with pytest.raises(ValueError, match="sweep, review"):
        apply_city("rank", {}, "cchc", city=str(CITY))
    with pytest.raises(ValueError, match="sweep, review"):
        city_fanout_flow.fn("rank", {}, city=str(CITY))


def test_overrides_for_a_ward_outside_the_city_are_refused() -> None:
    """ward_parameters naming a tenant the city does not have is a typo, not a silent no-op."""
    with pytest.raises(ValueError, match="phuong-khong-co"):
        city_fanout_flow.fn("sweep", {}, city=str(CITY), ward_parameters={"phuong-khong-co": {}})


def test_ward_limit_is_named_after_the_tenant() -> None:
    """The Prefect limit of a ward is ward:<tenant>, the tag its runs carry."""
    assert ward_limit_name("phuong-phu-lien") == "ward:phuong-phu-lien"


def _deploy_script() -> ModuleType:
    path = DEFINITIONS.parent / "scripts" / "deploy_city.py"
    spec = importlib.util.spec_from_file_location("deploy_city", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_deploy_script_refuses_wards_without_their_parameters(tmp_path: Path) -> None:
    """A ward missing its acting person is named, and nothing is registered."""
    params = tmp_path / "params.yaml"
    params.write_text("wards:\n  phuong-phu-lien: {system_actor: tran.van.minh}\n")
    with pytest.raises(SystemExit, match=r"thiếu tham số cho: phuong-le-chan: system_actor"):
        _deploy_script().main(
            ["sweep", "--city", str(CITY), "--pool", "cchc", "--params", str(params)]
        )


def test_deploy_script_refuses_a_ward_not_in_the_city(tmp_path: Path) -> None:
    """Parameters for a tenant the city does not have are a typo: refused."""
    params = tmp_path / "params.yaml"
    params.write_text("parameters: {system_actor: x}\nwards:\n  phuong-khong-co: {}\n")
    with pytest.raises(SystemExit, match="không có phường phuong-khong-co"):
        _deploy_script().main(
            ["sweep", "--city", str(CITY), "--pool", "cchc", "--params", str(params)]
        )


@pytest.mark.prefect
@pytest.mark.usefixtures("prefect_harness")
def test_deploy_script_registers_the_ward_and_fanout_deployments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Both deployments land on the server; the fan-out's cron is the daily sweep's, GMT+7."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists

    with get_client(sync_client=True) as client, contextlib.suppress(ObjectAlreadyExists):
        client.create_work_pool(WorkPoolCreate(name="cchc-city", type="process"))
    params = tmp_path / "params.yaml"
    params.write_text("parameters: {system_actor: quan.tri}\n")
    assert (
        _deploy_script().main(
            ["sweep", "--city", str(CITY), "--pool", "cchc-city", "--params", str(params)]
        )
        == 0
    )
    assert "city-fanout/city-sweep" in capsys.readouterr().out
    with get_client(sync_client=True) as client:
        fanout = client.read_deployment_by_name("city-fanout/city-sweep")
        ward = client.read_deployment_by_name("ward-sweep/city")
    cron = fanout.schedules[0].schedule
    assert isinstance(cron, CronSchedule)
    assert (cron.cron, cron.timezone) == ("0 6 * * *", "Asia/Ho_Chi_Minh")
    assert fanout.parameters["city"] == str(CITY.resolve())
    assert ward.entrypoint == "flows.city.ward_sweep_flow"
    assert ward.parameters["system_actor"] == "quan.tri"


def _sqlite_ward(tmp_path: Path, sqlite_template: Path) -> str:
    shutil.copy(sqlite_template, tmp_path / "cchc.sqlite3")
    return sqlite_url(tmp_path)


def _limit(tenant: str) -> Any:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.read_global_concurrency_limit_by_name(ward_limit_name(tenant))


@pytest.mark.prefect
@pytest.mark.usefixtures("prefect_harness")
def test_ward_review_runs_alone_on_its_ward_and_frees_it(
    tmp_path: Path, sqlite_template: Path
) -> None:
    """The ward review writes its files under out_dir/<tenant>/<month>; the ward slot is free."""
    url = _sqlite_ward(tmp_path, sqlite_template)
    ws = Workspace.open(
        Settings(data_dir=tmp_path, database_url=url),
        clock=lambda: datetime(2025, 7, 29, 9, tzinfo=LOCAL_TZ),
    )
    cycle.issue(ws, DEFINITIONS.parent / "examples" / "plan-phu-lien-2025-h2.yaml", FOCAL)
    ws.close()
    result = ward_review_flow(
        url,
        str(tmp_path),
        str(PHU_LIEN),
        "KH-CCHC-2025-H2",
        "2025-08",
        FOCAL,
        CHAIR,
        str(tmp_path / "review"),
        now=datetime(2025, 9, 1, 7, tzinfo=LOCAL_TZ).isoformat(),
    )
    assert result["tenant"] == "phuong-phu-lien"
    assert result["files"]
    assert all(
        Path(f).parent == tmp_path / "review" / "phuong-phu-lien" / "2025-08"
        for f in result["files"]
    )
    limit = _limit("phuong-phu-lien")
    assert (limit.limit, limit.active_slots) == (1, 0)


@pytest.mark.prefect
@pytest.mark.usefixtures("prefect_harness")
def test_ward_sweep_waits_for_a_ward_held_outside_prefect(
    tmp_path: Path, sqlite_template: Path
) -> None:
    """The ward's database lock held elsewhere: the run gives up, writes nothing, frees its slot."""
    url = _sqlite_ward(tmp_path, sqlite_template)
    # The ward's reference data was registered long before (its first command).
    Workspace.open(Settings(data_dir=tmp_path, database_url=url), organization=PHU_LIEN).close()
    db = make_engine(url)
    count = sa.select(sa.func.count()).select_from(AuditEvent)
    try:
        with db.connect() as conn:
            before = conn.execute(count).scalar_one()
        with (
            tenant_lock(db, "phuong-phu-lien", timeout=5),
            pytest.raises(TenantBusyError, match="phuong-phu-lien"),
        ):
            ward_sweep_flow(url, str(tmp_path), str(PHU_LIEN), "tran.van.minh", wait_seconds=1)
        with db.connect() as conn:
            events = conn.execute(count).scalar_one()
    finally:
        db.dispose()
    assert events == before
    assert _limit("phuong-phu-lien").active_slots == 0


def test_unknown_person_fails_before_the_ward_is_locked(
    tmp_path: Path, sqlite_template: Path
) -> None:
    """A ward run acting as someone the ward does not know fails at once, naming them."""
    url = _sqlite_ward(tmp_path, sqlite_template)
    with pytest.raises(UnknownPersonError, match=r"khong\.co\.ai"):
        ward_sweep_flow.fn(url, str(tmp_path), str(PHU_LIEN), "khong.co.ai")
