"""The synthetic city generator of bench/city_gen.py, at a tiny size, on both backends."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest
from sqlalchemy import func, select

from cchc.evidence.store import EvidenceStore
from cchc.organization.model import load_organization
from cchc.plan.loader import load_plan
from tests.conftest import ROOT, Db
from workflows.audit import verify
from workflows.database import Settings
from workflows.schema import Instance

WARDS = 1


def _city_gen() -> ModuleType:
    name = "bench_city_gen"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / "city_gen.py")
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture
def city(db: Db, tmp_path: Path) -> tuple[Path, dict[str, object]]:
    """A 1-ward city generated into the test database (sweeping every 4 weeks, to stay fast)."""
    out = tmp_path / "city"
    manifest = _city_gen().generate(
        out, wards=WARDS, seed=11, database_url=db.url, sweep_every=28, progress=lambda _: None
    )
    return out, manifest


def test_city_is_consistent(city: tuple[Path, dict[str, object]], db: Db) -> None:
    """Every ward's files load, its audit chain verifies, and the counts are those asked for."""
    gen = _city_gen()
    out, manifest = city
    tenants = manifest["tenants"]
    assert isinstance(tenants, list)
    assert len(tenants) == WARDS
    roles = set(yaml_roles())
    subs = list(_index_subs())
    with db.sessions() as session:
        report = verify(session)
        assert report.ok, [b.describe() for b in report.breaks]
        assert report.tenants == WARDS
        for tenant in tenants:
            org = load_organization(out / "organizations" / f"{tenant}.yaml", known_roles=roles)
            assert 5 <= len(org.units) <= 6
            plan = load_plan(
                out / "plans" / f"{tenant}.yaml",
                known_units={u.code for u in org.units},
                known_criteria=set(subs),
            )
            assert len(plan.tasks) == gen.TASKS
            kinds = dict(
                session.execute(
                    select(Instance.kind, func.count())
                    .where(Instance.tenant == tenant)
                    .group_by(Instance.kind)
                )
                .tuples()
                .all()
            )
            assert kinds["task"] == gen.TASKS
            assert kinds["assessment"] == len(subs)
            assert kinds["metric_import"] == len(gen.QUARTERS)
            evidence = [
                json.loads(data)
                for data in session.scalars(
                    select(Instance.data).where(
                        Instance.tenant == tenant, Instance.kind == "evidence"
                    )
                )
            ]
            first = [e for e in evidence if e["version"] == 1]
            assert len(first) == len(subs) * gen.FILES_PER_SUB
            store = EvidenceStore.for_settings(Settings(out / "data", db.url))
            assert all(store.verify(e["sha256"]) for e in evidence)
    counts = manifest["counts"]
    assert isinstance(counts, dict)
    assert counts["evidence_files"] == WARDS * len(subs) * gen.FILES_PER_SUB
    assert counts["audit_events"] == report.events


def test_city_is_deterministic() -> None:
    """The same seed gives the same wards, people and kinds; another seed gives others."""
    gen = _city_gen()
    assert gen.make_city(5, 3) == gen.make_city(5, 3)
    assert [w.tenant for w in gen.make_city(5, 3)] != [w.tenant for w in gen.make_city(5, 4)]
    assert [w.kind for w in gen.make_city(114, 1)].count("phuong") == 45
    assert [w.kind for w in gen.make_city(114, 1)].count("dac_khu") == 2


def yaml_roles() -> list[str]:
    """The role names of definitions/roles.yaml."""
    import yaml

    return list(yaml.safe_load((ROOT / "definitions" / "roles.yaml").read_text("utf-8"))["roles"])


def _index_subs() -> list[str]:
    from cchc.indexset.loader import load_index_set

    units = {"vhxh", "vp", "kt", "ttphc", "ttsnc"}
    return [s.code for s in load_index_set(_city_gen().INDEX_SET, known_units=units).sub_criteria()]
