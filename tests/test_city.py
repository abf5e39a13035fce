"""The city file, its wards in blocks, and the city ranking of their index (cchc.city)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from openpyxl import load_workbook

from cchc.city import BLOCKS, City, block_of, check_city, load_city
from cchc.city.collation import vn_sort_key
from cchc.city.ranking import (
    CityRanking,
    WardEntry,
    WardFigures,
    rank_city,
    rank_wards,
)
from cchc.city.xlsx import write_city_ranking_xlsx
from cchc.cycle import read_manual
from cchc.indexset.loader import load_index_set
from cchc.indexset.models import IndexSet
from cchc.organization.access import AccessDeniedError
from cchc.organization.model import Organization, UnknownPersonError
from cchc.scoring.scores import ScoreCard, score_plan
from tests.conftest import Clock, Db
from tests.expectations import expected, found
from workflows.audit import verify
from workflows.database import unit_of_work
from workflows.engine import Engine
from workflows.errors import DefinitionError, NotPermittedError

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "definitions" / "cities" / "hai-phong.yaml"
INVALID = Path(__file__).resolve().parent / "cities" / "invalid"
FIXTURE_ORGS = Path(__file__).resolve().parent / "cities" / "organizations"
FIXTURES = sorted(INVALID.glob("*.yaml"))
ROLES = frozenset(
    yaml.safe_load((ROOT / "definitions" / "roles.yaml").read_text(encoding="utf-8"))["roles"]
)
INDEX_SET = ROOT / "definitions" / "index-sets" / "par-2025-ward-sample.yaml"
INPUTS = ROOT / "examples" / "scoring-inputs-2025-h2.yaml"
PERIOD = "2025-H2"
OFFICIAL = "giang.van.hieu"


@pytest.fixture(scope="module")
def city() -> City:
    return load_city(SAMPLE, ROLES)


@pytest.fixture(scope="module")
def index_set(city: City) -> IndexSet:
    return load_index_set(INDEX_SET, known_units={u.code for u in city.wards[0].units})


# --- the city file ------------------------------------------------------------------------------


def test_sample_city_loads_with_both_blocks(city: City) -> None:
    """The Hải Phòng sample loads every sample ward, with wards in both blocks."""
    city_, problems = check_city(SAMPLE, ROLES)
    assert problems == []
    assert city_ is not None
    organizations = sorted((ROOT / "definitions" / "organizations").glob("*.yaml"))
    assert sorted(city.paths.values()) == [p.resolve() for p in organizations]
    assert (city.code, city.name) == ("hai-phong", "Thành phố Hải Phòng")
    assert {block_of(org) for org in city.wards} == set(BLOCKS)
    for block in BLOCKS:
        assert all(block_of(org) == block for org in city.block(block))
    assert sum(len(city.block(b)) for b in BLOCKS) == len(city.wards)
    assert city.code not in {org.tenant for org in city.wards}


def test_block_of_follows_the_kind(city: City) -> None:
    """Phường rank in the phường block; xã and đặc khu together in the other."""
    ward = city.ward("phuong-phu-lien")
    assert block_of(ward) == "phuong"
    assert block_of(ward.model_copy(update={"kind": "xa"})) == "xa_dac_khu"
    assert block_of(ward.model_copy(update={"kind": "dac_khu"})) == "xa_dac_khu"
    assert BLOCKS == {"phuong": "Khối phường", "xa_dac_khu": "Khối xã, đặc khu"}


def test_lookups_and_city_actors(city: City) -> None:
    """Wards by tenant with a did-you-mean hint; officials act in the city's own tenant."""
    assert city.ward("xa-tien-lang").name == "Xã Tiên Lãng"
    assert city.organization_path("xa-tien-lang").name == "tien-lang.yaml"
    with pytest.raises(LookupError, match="did you mean 'phuong-le-chan'"):
        city.ward("phuong-le-chn")
    with pytest.raises(LookupError, match="did you mean"):
        city.organization_path("xa-tien-lan")
    actor = city.actor(OFFICIAL)
    assert (actor.tenant, actor.unit, actor.roles) == ("hai-phong", None, {"city_official"})
    with pytest.raises(UnknownPersonError, match=r"did you mean 'giang\.van\.hieu'"):
        city.actor("giang.van.hiu")
    with pytest.raises(UnknownPersonError):
        city.actor("nguyen.thi.lan")  # a ward's person is no city official


def test_sample_people_are_fictional(city: City) -> None:
    """Every sample file says its people are fictional and uses example e-mail domains."""
    files = [SAMPLE, *city.paths.values()]
    for path in files:
        assert "FICTIONAL" in path.read_text(encoding="utf-8").split("\ncity:")[0], path
    people = [*city.officials, *(p for org in city.wards for p in org.people)]
    assert people
    assert all(p.email.endswith(".example") for p in people)


@pytest.mark.parametrize("fixture", FIXTURES, ids=[f.stem for f in FIXTURES])
def test_invalid_city_files_are_reported(fixture: Path) -> None:
    """Each invalid city fixture gives exactly the codes and lines its header declares."""
    city, problems = check_city(fixture, ROLES)
    assert city is None
    assert found(problems) == expected(fixture, "Y")
    assert all(p.hint for p in problems)


def test_load_city_raises_listing_every_problem() -> None:
    """load_city raises DefinitionError with every problem of the file."""
    with pytest.raises(DefinitionError) as caught:
        load_city(INVALID / "several_problems.yaml", ROLES)
    assert {p.code for p in caught.value.problems} == {"CCHC-Y006", "CCHC-Y010", "CCHC-Y012"}


def _city_file(tmp_path: Path, organizations: list[str]) -> Path:
    path = tmp_path / "city.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "city": "thanh-pho-thu",
                "name": "Thành phố Thử",
                "organizations": organizations,
                "officials": [
                    {
                        "id": "can.bo",
                        "full_name": "Cán Bộ Thử",
                        "title": "Chuyên viên",
                        "roles": ["city_official"],
                        "email": "can.bo@thu.example",
                    }
                ],
            },
            allow_unicode=True,
        ),
        encoding="utf-8",
    )
    return path


def test_problems_of_an_organization_file_keep_their_file_and_code(tmp_path: Path) -> None:
    """An invalid organization file named by the city is reported with its own file:line."""
    path = _city_file(tmp_path, [str(FIXTURE_ORGS / "broken.yaml")])
    city, problems = check_city(path, ROLES)
    assert city is None
    assert [(Path(p.file).name, p.code) for p in problems] == [("broken.yaml", "CCHC-O009")]


def test_two_globs_naming_one_file_give_one_ward(tmp_path: Path) -> None:
    """A file matched by two entries is one ward, not a duplicate tenant."""
    folder = ROOT / "definitions" / "organizations"
    path = _city_file(tmp_path, [str(folder / "*.yaml"), str(folder / "phu-lien.yaml")])
    city = load_city(path, ROLES)
    tenants = [org.tenant for org in city.wards]
    assert len(tenants) == len(set(tenants)) == len(list(folder.glob("*.yaml")))


def test_vietnamese_alphabetical_order() -> None:
    """Names sort by the Vietnamese alphabet (ă, â, đ … are letters), then by tone."""
    names = [
        "Xã Á",
        "Phường Đông Hải",
        "Phường Ân Hòa",
        "Xã A",
        "Phường Dư Hàng",
        "Phường Ăn",
        "Phường An Biên",
        "Xã À",
        "Phường Anh Dũng",
    ]
    assert sorted(names, key=vn_sort_key) == [
        "Phường An Biên",
        "Phường Anh Dũng",
        "Phường Ăn",
        "Phường Ân Hòa",
        "Phường Dư Hàng",
        "Phường Đông Hải",
        "Xã A",
        "Xã À",
        "Xã Á",
    ]


# --- ranking (pure) -----------------------------------------------------------------------------


def entry(
    tenant: str, name: str, block: str, base: str | None, adjustments: str = "0"
) -> WardEntry:
    """A ward's entry with the given base points (None: not scored) out of 100."""
    if base is None:
        return WardEntry(tenant, name, block, None, "chưa chấm điểm")
    figures = WardFigures(
        f"KH-{tenant}", tenant * 2, "par", Decimal(base), Decimal(adjustments), Decimal(100)
    )
    return WardEntry(tenant, name, block, figures)


def test_blocks_are_ranked_separately_and_unranked_wards_listed() -> None:
    """Each block has its own ranks 1..n by index; wards without a run come last, unranked."""
    rows = rank_wards(
        [
            entry("p-a", "Phường A", "phuong", "80"),
            entry("x-b", "Xã B", "xa_dac_khu", "95"),
            entry("p-c", "Phường C", "phuong", "90"),
            entry("x-d", "Xã D", "xa_dac_khu", None),
            entry("x-e", "Xã E", "xa_dac_khu", "70"),
        ]
    )
    table = [(r.entry.block, r.rank, r.of, r.entry.tenant) for r in rows]
    assert table == [
        ("phuong", 1, 2, "p-c"),
        ("phuong", 2, 2, "p-a"),
        ("xa_dac_khu", 1, 2, "x-b"),
        ("xa_dac_khu", 2, 2, "x-e"),
        ("xa_dac_khu", None, 2, "x-d"),
    ]
    by_tenant = {r.entry.tenant: r for r in rows}
    assert by_tenant["p-a"].explanation_vi.startswith("Xếp thứ 2/2 khối phường: chỉ số 80,00%")
    assert by_tenant["x-b"].explanation_vi.startswith("Xếp thứ 1/2 khối xã, đặc khu")
    assert by_tenant["x-d"].explanation_vi == "Chưa xếp hạng: chưa chấm điểm."


def test_equal_index_is_decided_by_base_points_and_explained() -> None:
    """Same index: more base points ranks first (fewer bonus points), both sides say why."""
    rows = rank_wards(
        [
            entry("p-a", "Phường A", "phuong", "80", adjustments="2"),
            entry("p-b", "Phường B", "phuong", "82"),
        ]
    )
    first, second = rows
    assert (first.entry.tenant, second.entry.tenant) == ("p-b", "p-a")
    assert first.entry.figures
    assert second.entry.figures
    assert first.entry.figures.index == second.entry.figures.index
    assert (first.tie_break, second.tie_break) == (None, "base_points")
    assert "điểm thưởng/trừ +2,00" in second.explanation_vi
    assert (
        "Bằng chỉ số với Phường B (82,00%); xếp dưới vì điểm cơ bản thấp hơn (80,00 so với 82,00)."
    ) in second.explanation_vi
    assert "xếp trên vì điểm cơ bản cao hơn (82,00 so với 80,00)." in first.explanation_vi


def test_equal_index_and_base_is_decided_by_vietnamese_name_order() -> None:
    """Same index and base points: the ward whose name comes first in Vietnamese order."""
    rows = rank_wards(
        [
            entry("p-dong", "Phường Đông", "phuong", "90"),
            entry("p-dung", "Phường Dung", "phuong", "90"),
        ]
    )
    assert [r.entry.name for r in rows] == ["Phường Dung", "Phường Đông"]
    assert rows[1].tie_break == "name"
    assert "và bằng điểm cơ bản; xếp dưới vì tên đứng sau theo thứ tự chữ cái tiếng Việt" in (
        rows[1].explanation_vi
    )


def test_ranking_does_not_depend_on_input_order() -> None:
    """The same entries in any order give the same table."""
    entries = [
        entry(f"p-{i}", f"Phường {c}", "phuong", str(80 + i % 3)) for i, c in enumerate("GHIKLMN")
    ]
    forward = [(r.rank, r.entry.tenant, r.explanation_vi) for r in rank_wards(entries)]
    backward = [(r.rank, r.entry.tenant, r.explanation_vi) for r in rank_wards(entries[::-1])]
    assert forward == backward
    assert [r for r, _, _ in forward] == list(range(1, len(entries) + 1))


# --- ranking from the database ------------------------------------------------------------------


def issue_plan(db: Db, engine: Engine, org: Organization, code: str, period: str) -> None:
    """A plan record of ``org`` for ``period`` (what `cchc plan issue` creates first)."""
    focal = org.people_with_role("focal_official")[0]
    with unit_of_work(db.sessions) as session:
        engine.create(
            session,
            "plan",
            actor=org.actor(focal.id),
            ref=code,
            data={
                "title": "Kế hoạch CCHC",
                "index_set": "par-2025-ward-sample",
                "period": {"code": period, "label": "6 tháng cuối năm 2025"},
                "tasks": 0,
            },
        )


def score(
    db: Db,
    engine: Engine,
    org: Organization,
    plan: str,
    index_set: IndexSet,
    manual: Mapping[str, Mapping[str, Any]],
) -> ScoreCard:
    """Score the plan of ``org`` with ``manual`` inputs and store the run."""
    with unit_of_work(db.sessions) as session:
        return score_plan(
            session,
            tenant=org.tenant,
            plan=plan,
            period=PERIOD,
            index_set=index_set,
            manual=manual,
            now=engine.clock(),
        )


def rank(db: Db, engine: Engine, city: City, person: str = OFFICIAL, **kw: Any) -> CityRanking:
    """Rank the city as ``person`` (a city official by default) in one transaction."""
    actor = city.actor(person)
    with unit_of_work(db.sessions) as session:
        return rank_city(session, engine, city, actor, period=PERIOD, **kw)


def rankings(db: Db) -> int:
    """How many city_ranking instances exist."""
    with db.engine.connect() as conn:
        query = "select count(*) from instances where kind = 'city_ranking'"
        return int(conn.execute(sa.text(query)).scalar_one())


@pytest.fixture
def scored(db: Db, engine: Engine, city: City, index_set: IndexSet) -> dict[str, ScoreCard]:
    """Phù Liễn and Tiên Lãng scored on the example inputs, Lê Chân on fewer; cards by tenant."""
    manual = read_manual(INPUTS)
    fewer = {code: v for code, v in manual.items() if not code.startswith(("1.", "2."))}
    cards = {}
    for tenant, inputs in (
        ("phuong-phu-lien", manual),
        ("phuong-le-chan", fewer),
        ("xa-tien-lang", manual),
    ):
        org = city.ward(tenant)
        issue_plan(db, engine, org, f"KH-{tenant}", PERIOD)
        cards[tenant] = score(db, engine, org, f"KH-{tenant}", index_set, inputs)
    return cards


def test_city_ranking_ranks_stored_indices_by_block(
    db: Db, engine: Engine, city: City, scored: dict[str, ScoreCard]
) -> None:
    """Each ward's latest stored index (as its score card shows it) ranks it in its block."""
    assert scored["phuong-phu-lien"].index != scored["phuong-le-chan"].index
    ranking = rank(db, engine, city)
    assert ranking.state == "draft"
    assert not ranking.replayed
    indices = {r.entry.tenant: r.entry.figures.index for r in ranking.rows if r.entry.figures}
    assert indices == {tenant: card.index for tenant, card in scored.items()}
    wards = [r.entry.tenant for r in ranking.block("phuong")]
    expected_order = sorted(["phuong-phu-lien", "phuong-le-chan"], key=lambda t: -scored[t].index)
    assert wards == expected_order
    assert [(r.rank, r.of) for r in ranking.block("phuong")] == [(1, 2), (2, 2)]
    assert [(r.entry.tenant, r.rank) for r in ranking.block("xa_dac_khu")] == [("xa-tien-lang", 1)]
    with db.sessions() as session:
        row = session.execute(
            sa.select(sa.text("tenant, ref, data"))
            .select_from(sa.table("instances"))
            .where(sa.text("kind = 'city_ranking'"))
        ).one()
    data = json.loads(row.data)
    assert (row.tenant, row.ref) == ("hai-phong", f"{PERIOD}/XH-{ranking.run_id[:12]}")
    assert data["run_id"] == ranking.run_id
    runs = {w["tenant"]: w["score_run"] for w in data["inputs"]["wards"]}
    assert runs == {tenant: card.run_id for tenant, card in scored.items()}
    assert [t["tenant"] for t in data["table"]] == [r.entry.tenant for r in ranking.rows]


def test_same_inputs_give_the_same_run_and_no_second_instance(
    db: Db,
    engine: Engine,
    clock: Clock,
    city: City,
    index_set: IndexSet,
    scored: dict[str, ScoreCard],
) -> None:
    """Ranking again on the same scores replays the run; a new score run gives a new run."""
    first = rank(db, engine, city)
    clock.advance(hours=1)
    again = rank(db, engine, city, person="trieu.thi.kim.oanh")
    assert (again.run_id, again.instance_id) == (first.run_id, first.instance_id)
    assert again.replayed
    assert again.rows == first.rows
    assert rankings(db) == 1
    clock.advance(hours=1)
    rescored = score(db, engine, city.ward("phuong-le-chan"), "KH-phuong-le-chan", index_set, {})
    assert rescored.run_id != scored["phuong-le-chan"].run_id
    changed = rank(db, engine, city)
    assert changed.run_id != first.run_id
    assert rankings(db) == 2
    le_chan = next(r for r in changed.rows if r.entry.tenant == "phuong-le-chan")
    assert le_chan.entry.figures
    assert le_chan.entry.figures.score_run == rescored.run_id


def test_a_ward_without_a_score_run_is_listed_with_the_reason(
    db: Db, engine: Engine, city: City, index_set: IndexSet
) -> None:
    """No plan for the period, or a plan never scored: not ranked, and the reason says which."""
    issue_plan(db, engine, city.ward("phuong-le-chan"), "KH-LC", PERIOD)
    issue_plan(db, engine, city.ward("xa-tien-lang"), "KH-TL-2026", "2026-H1")
    issue_plan(db, engine, city.ward("phuong-phu-lien"), "KH-PL", PERIOD)
    score(db, engine, city.ward("phuong-phu-lien"), "KH-PL", index_set, {})
    rows = {r.entry.tenant: r for r in rank(db, engine, city).rows}
    assert (rows["phuong-phu-lien"].rank, rows["phuong-le-chan"].rank) == (1, None)
    assert rows["phuong-le-chan"].explanation_vi == (
        f"Chưa xếp hạng: kế hoạch KH-LC kỳ {PERIOD} chưa được chấm điểm."
    )
    assert rows["xa-tien-lang"].rank is None
    assert rows["xa-tien-lang"].explanation_vi == (
        f"Chưa xếp hạng: chưa có kế hoạch CCHC kỳ {PERIOD} trong hệ thống."
    )


def test_equal_indices_from_the_database_are_explained(
    db: Db, engine: Engine, city: City, index_set: IndexSet
) -> None:
    """Two wards scored on the same inputs tie; the Vietnamese name order decides, explained."""
    for tenant in ("phuong-phu-lien", "phuong-le-chan"):
        org = city.ward(tenant)
        issue_plan(db, engine, org, f"KH-{tenant}", PERIOD)
        score(db, engine, org, f"KH-{tenant}", index_set, read_manual(INPUTS))
    first, second = rank(db, engine, city).block("phuong")
    assert (first.entry.name, second.entry.name) == ("Phường Lê Chân", "Phường Phù Liễn")
    assert second.tie_break == "name"
    assert "Bằng chỉ số với Phường Lê Chân" in second.explanation_vi
    assert "xếp trên vì tên đứng trước theo thứ tự chữ cái tiếng Việt" in first.explanation_vi


def test_a_ward_official_may_not_rank_the_city_and_is_audited_on_their_chain(
    db: Db, engine: Engine, city: City, scored: dict[str, ScoreCard]
) -> None:
    """A ward's official is refused before anything is read; the refusal is on their chain."""
    ward = city.ward("phuong-phu-lien")
    with (
        pytest.raises(AccessDeniedError, match="may not rank the wards"),
        unit_of_work(db.sessions) as session,
    ):
        rank_city(session, engine, city, ward.actor("nguyen.thi.lan"), period=PERIOD)
    with db.engine.connect() as conn:
        refused = conn.execute(
            sa.text(
                "select tenant, kind, trigger, actor from audit_events where outcome = 'refused'"
            )
        ).all()
    assert [tuple(r) for r in refused] == [
        ("phuong-phu-lien", "city_ranking", "read", "nguyen.thi.lan")
    ]
    assert rankings(db) == 0


def test_a_city_inspector_may_not_rank_even_inputs_ranked_before(
    db: Db, engine: Engine, city: City, scored: dict[str, ScoreCard]
) -> None:
    """A city person without city_official is refused on the city's chain, even on a replay."""
    for _ in range(2):
        with pytest.raises(NotPermittedError, match="may not create 'city_ranking'"):
            rank(db, engine, city, person="ong.thi.phuong")
        assert rankings(db) == 0
    rank(db, engine, city)
    with pytest.raises(NotPermittedError, match="may not create 'city_ranking'"):
        rank(db, engine, city, person="ong.thi.phuong")
    assert rankings(db) == 1
    with db.engine.connect() as conn:
        refused = conn.execute(
            sa.text("select tenant, trigger, actor from audit_events where outcome = 'refused'")
        ).all()
    assert [tuple(r) for r in refused] == [("hai-phong", "create", "ong.thi.phuong")] * 3


def test_publish_and_the_city_chain_verifies(
    db: Db, engine: Engine, city: City, scored: dict[str, ScoreCard]
) -> None:
    """Publishing moves the ranking to published once; every tenant's chain verifies."""
    published = rank(db, engine, city, publish=True)
    assert published.state == "published"
    again = rank(db, engine, city, publish=True)
    assert (again.instance_id, again.state, again.replayed) == (
        published.instance_id,
        "published",
        True,
    )
    with db.sessions() as session:
        for tenant in ("hai-phong", *scored):
            assert verify(session, tenant=tenant).ok, tenant
        events = session.execute(
            sa.text(
                "select trigger, outcome from audit_events where tenant = 'hai-phong' order by seq"
            )
        ).all()
    assert [tuple(e) for e in events] == [("create", "applied"), ("publish", "applied")]


def test_xlsx_has_a_sheet_per_block_in_rank_order(
    db: Db, engine: Engine, city: City, scored: dict[str, ScoreCard], tmp_path: Path
) -> None:
    """The workbook has the two block sheets with the wards in the ranking's order."""
    ranking = rank(db, engine, city)
    path = write_city_ranking_xlsx(tmp_path / "xh.xlsx", ranking, city.name)
    wb = load_workbook(path)
    assert wb.sheetnames == list(BLOCKS.values())
    for block, label in BLOCKS.items():
        sheet = wb[label]
        assert sheet["A3"].value == "Hạng"
        names = [row[1] for row in sheet.iter_rows(min_row=4, values_only=True)]
        assert names == [r.entry.name for r in ranking.block(block)]
        for row, ranked in zip(
            sheet.iter_rows(min_row=4, values_only=True), ranking.block(block), strict=True
        ):
            assert ranked.entry.figures
            assert row[0] == ranked.rank
            assert Decimal(str(row[2])) == ranked.entry.figures.index
            assert row[8] == ranked.explanation_vi
