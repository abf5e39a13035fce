"""A synthetic city for the benchmarks: N wards (114 by default, like Hải Phòng), a year of work.

Usage: ``.venv/bin/python bench/city_gen.py --out DIR [--wards N] [--seed S]
[--database-url URL] [--sweep-every DAYS] [--force]``

Deterministic from the seed. It writes, under ``DIR``:

- ``organizations/<tenant>.yaml``: one organization file per ward (docs/organizations.md),
  5 or 6 units, about 17 people; **every name is invented**;
- ``city.yaml``: the city file (``organizations`` glob, city officials);
- ``plans/<tenant>.yaml``: the ward's plan for 2025, 40 tasks;
- ``inputs/<tenant>.yaml``: the scorer's manual inputs (levels, values, explanations);
- ``metrics/<tenant>/2025-qN.csv``: the portal exports imported each quarter;
- ``data/``: the data folder (evidence store; the SQLite file when no URL is given);
- ``manifest.json``: seed, sizes, counts and timings (``bench/bench_city.py`` reads it).

and populates the database through the real engine and domain functions, ward after ward, on a
clock it controls through 2025: the plan is issued (``cchc.cycle.issue``), units start, submit
and get their tasks accepted or returned (some late, some never done, a few cancelled), upload
3 evidence files per sub-criterion into the content-addressed store (``submit_evidence``) that
the focal official reviews (``review_evidence``: mostly accepted, some sent back and replaced,
some rejected, some left waiting), the portal's metrics are imported each quarter
(``load_metrics`` + ``record_import``), and the daily sweep (reminders, overdue marks,
escalations) runs every ``--sweep-every`` days. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import json
import random
import shutil
import sys
import time
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

if importlib.util.find_spec("cchc") is None:  # not installed: run from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cchc import cycle
from cchc.demo import pdf_bytes
from cchc.evidence.service import Decision, review_evidence, submit_evidence
from cchc.evidence.store import EvidenceStore
from cchc.indexset.loader import load_index_set
from cchc.metrics.values import load_metrics, record_import
from cchc.migrations import require_current, upgrade
from cchc.organization.model import Organization, load_organization
from cchc.plan.deadlines import TaskDeadlinePolicy, load_policy, sweep
from cchc.runtime import PROJECT_ROOT, make_workflow_engine
from cchc.settings import sqlite_url
from cchc.vietnam import CALENDAR_LOCALE, LOCAL_TZ
from cchc.workspace import Workspace
from workflows.calendar import WorkingCalendar, load_calendar
from workflows.canonical import sha256_hex
from workflows.database import Settings, make_engine, session_factory, unit_of_work
from workflows.schema import AuditEvent, Instance, OutboxMessage

YEAR = 2025
PLAN = f"KH-CCHC-{YEAR}"
PERIOD = str(YEAR)
TASKS = 40
FILES_PER_SUB = 3
EXAMPLE_PLAN = PROJECT_ROOT / "examples" / "plan-phu-lien-2025-h2.yaml"
EXAMPLE_INPUTS = PROJECT_ROOT / "examples" / "scoring-inputs-2025-h2.yaml"
INDEX_SET = PROJECT_ROOT / "definitions" / "index-sets" / "par-2025-ward-sample.yaml"
MANIFEST = "manifest.json"
MARKER = ".cchc-city-gen"
KINDS = (("phuong", 45), ("xa", 67), ("dac_khu", 2))
"""Hải Phòng's commune-level units since 1/7/2025: 45 phường, 67 xã, 2 đặc khu."""

# --- invented names ------------------------------------------------------------------------------

PLACE_SYLLABLES = (
    "An",
    "Bình",
    "Hòa",
    "Phú",
    "Tân",
    "Vĩnh",
    "Hưng",
    "Thịnh",
    "Đông",
    "Tây",
    "Nam",
    "Bắc",
    "Long",
    "Thành",
    "Quang",
    "Minh",
    "Đức",
    "Hải",
    "Thủy",
    "Lạc",
    "Khánh",
    "Phong",
    "Sơn",
    "Lâm",
    "Trung",
    "Hợp",
    "Tiến",
    "Xuân",
    "Thuận",
    "Lợi",
    "Phúc",
    "Lộc",
    "Yên",
    "Cường",
    "Hồng",
    "Kiến",
    "Quý",
    "Ninh",
    "Định",
    "Mỹ",
    "Hà",
    "Giang",
    "Thái",
    "Bảo",
    "Châu",
    "Liên",
)
FAMILY = (
    "Nguyễn",
    "Trần",
    "Lê",
    "Phạm",
    "Hoàng",
    "Vũ",
    "Đặng",
    "Bùi",
    "Đỗ",
    "Ngô",
    "Dương",
    "Lý",
    "Đinh",
    "Mai",
    "Trịnh",
    "Lương",
    "Phan",
    "Tạ",
    "Cao",
    "Hà",
)
MIDDLE = ("Văn", "Thị", "Minh", "Quốc", "Thu", "Đức", "Hồng", "Thanh", "Ngọc", "Bích", "Xuân")
GIVEN = (
    "An",
    "Bình",
    "Chi",
    "Dũng",
    "Giang",
    "Hà",
    "Hải",
    "Hạnh",
    "Hiếu",
    "Hoa",
    "Hùng",
    "Hương",
    "Khánh",
    "Lan",
    "Linh",
    "Long",
    "Mai",
    "Nam",
    "Nga",
    "Ngọc",
    "Phong",
    "Phương",
    "Quân",
    "Sơn",
    "Tâm",
    "Thắng",
    "Thảo",
    "Thu",
    "Trang",
    "Tuấn",
    "Vân",
    "Yến",
)

UNITS = (
    ("vhxh", "Phòng Văn hóa - Xã hội", "VH-XH"),
    ("vp", "Văn phòng HĐND và UBND", "VP"),
    ("kt", "Phòng Kinh tế, Hạ tầng và Đô thị", "KT-HT&ĐT"),
    ("ttphc", "Trung tâm Phục vụ hành chính công", "TT PVHCC"),
    ("ttsnc", "Trung tâm sự nghiệp công", "TT SNC"),
)
SIXTH_UNIT = ("ttvh", "Trung tâm Văn hóa - Thể thao và Truyền thông", "TT VH-TT&TT")
KIND_NAME = {"phuong": "Phường", "xa": "Xã", "dac_khu": "Đặc khu"}

# Which unit reports each metric, and a plausible (numerator range, denominator) for a quarter.
METRICS: tuple[tuple[str, str, tuple[float, float], int | None, str], ...] = (
    ("ttphc", "on_time_dossiers", (0.93, 1.0), 500, "Cổng DVC thành phố"),
    ("ttphc", "full_online_dossiers", (0.45, 0.8), 500, "Cổng DVC thành phố"),
    ("ttphc", "online_payments", (0.3, 0.7), 150, "Cổng DVC thành phố"),
    ("ttphc", "digitised_dossiers", (0.7, 0.95), 500, "Hệ thống TTHC thành phố"),
    ("ttphc", "reused_digitised_data", (0.3, 0.6), 500, "Hệ thống TTHC thành phố"),
    ("ttphc", "online_services_offered", (0.75, 0.95), 180, "Cổng DVC thành phố"),
    ("ttphc", "repeat_supplement_requests", (0, 2), None, "Sổ theo dõi hồ sơ"),
    ("ttphc", "overdue_without_apology", (0, 1), None, "Sổ theo dõi hồ sơ"),
    ("vp", "published_dossiers", (0.95, 1.0), 500, "Cổng DVC thành phố"),
    ("vp", "electronic_documents", (0.9, 1.0), 360, "Hệ thống quản lý văn bản"),
    ("vp", "digitally_signed_documents", (0.8, 1.0), 360, "Hệ thống quản lý văn bản"),
    ("kt", "public_investment_disbursement", (0.1, 0.3), 10, "Kho bạc Nhà nước (tỷ đồng)"),
    ("vhxh", "sipas_satisfaction", (0.85, 0.98), 100, "Khảo sát SIPAS"),
    ("vhxh", "late_reports", (0, 1), None, "Sổ theo dõi báo cáo"),
    ("ttsnc", "website_posts", (8, 20), None, "Trang thông tin điện tử"),
)
QUARTERS = (
    (1, date(YEAR, 4, 7)),
    (2, date(YEAR, 7, 7)),
    (3, date(YEAR, 10, 6)),
    (4, date(YEAR, 12, 22)),
)
LEVELS = ("good", "full", "full", "full", "incomplete")


def _yaml(path: Path) -> Any:
    # A safe loader (the C one when libyaml is there): ruff cannot see through the getattr.
    return yaml.load(
        path.read_text(encoding="utf-8"),
        Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader),  # noqa: S506
    )


def slug(text: str, sep: str = "-") -> str:
    """``Phường Hòa Đông`` → ``phuong-hoa-dong``: ASCII, lower case, words joined by ``sep``."""
    ascii_text = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    ascii_text = "".join(c for c in ascii_text if not unicodedata.combining(c))
    words = "".join(c if c.isalnum() else " " for c in ascii_text.lower()).split()
    return sep.join(words)


# --- the city as data (pure) ---------------------------------------------------------------------


@dataclass(frozen=True)
class WardSpec:
    """One synthetic ward: its organization file's content and the ids the story acts as."""

    tenant: str
    name: str
    kind: str
    place: str
    units: tuple[str, ...]
    org: dict[str, Any]
    focal: str
    office: str
    chairman: str
    admin: str
    officials: dict[str, str]
    """Unit code → the official who acts for it."""


def ward_kinds(wards: int) -> list[str]:
    """The kind of each ward, in Hải Phòng's proportions (at least one of each from 3 wards)."""
    if wards >= len(KINDS):
        special = max(1, round(wards * 2 / 114))
        phuong = max(1, round(wards * 45 / 114))
        counts = {"phuong": phuong, "dac_khu": special, "xa": wards - phuong - special}
    else:
        counts = {"phuong": wards, "xa": 0, "dac_khu": 0}
    return [kind for kind, _ in KINDS for _ in range(counts[kind])]


class _People:
    """Invented people of one ward, with ids unique in it."""

    def __init__(self, rng: random.Random, domain: str) -> None:
        self.rng, self.domain, self.ids = rng, domain, set[str]()
        self.people: list[dict[str, Any]] = []

    def add(self, title: str, roles: list[str], unit: str | None = None) -> str:
        full = f"{self.rng.choice(FAMILY)} {self.rng.choice(MIDDLE)} {self.rng.choice(GIVEN)}"
        base = slug(full, ".")
        pid, n = base, 1
        while pid in self.ids:
            n += 1
            pid = f"{base}{n}"
        self.ids.add(pid)
        person: dict[str, Any] = {"id": pid, "full_name": full, "title": title}
        if unit is not None:
            person["unit"] = unit
        person.update(roles=roles, email=f"{pid}@{self.domain}.example")
        self.people.append(person)
        return pid


def make_ward(rng: random.Random, kind: str, place: str) -> WardSpec:
    """A ward's organization: the leadership, 5 or 6 units with a head and officials."""
    kind_name = KIND_NAME[kind]
    name = f"{kind_name} {place}"
    tenant = f"{slug(kind_name)}-{slug(place)}"
    lower = kind_name.lower()
    people = _People(rng, slug(place, ""))
    chairman = people.add(f"Chủ tịch UBND {lower}", ["chairman"])
    vc1 = people.add(f"Phó Chủ tịch UBND {lower} (phụ trách văn hóa - xã hội)", ["vice_chairman"])
    vc2 = people.add(f"Phó Chủ tịch UBND {lower} (phụ trách kinh tế)", ["vice_chairman"])
    units = list(UNITS) + ([SIXTH_UNIT] if rng.random() < 0.5 else [])
    unit_rows, officials = [], {}
    focal = office = ""
    for code, unit_name, short in units:
        head = people.add(
            f"Trưởng {unit_name}".replace("Trưởng Trung tâm", "Giám đốc Trung tâm"),
            ["unit_head"],
            code,
        )
        if code == "vhxh":
            focal = people.add(
                f"Chuyên viên {unit_name}, đầu mối cải cách hành chính",
                ["focal_official", "unit_official"],
                code,
            )
        if code == "vp":
            office = people.add(
                f"Chuyên viên {unit_name}", ["office_official", "unit_official"], code
            )
        officials[code] = people.add(f"Chuyên viên {unit_name}", ["unit_official"], code)
        if rng.random() < 0.5:
            people.add(f"Chuyên viên {unit_name}", ["unit_official"], code)
        vc = None if code == "vp" else (vc1 if code in {"vhxh", "ttsnc", "ttvh"} else vc2)
        unit_rows.append(
            {
                "code": code,
                "name": unit_name,
                "short_name": short,
                "head": head,
                "vice_chairman_in_charge": vc,
            }
        )
    people.add("Thành viên đoàn kiểm tra cải cách hành chính", ["inspector"])
    admin = people.add("Quản trị hệ thống", ["admin"])
    org = {
        "tenant": tenant,
        "name": name,
        "kind": kind,
        "city": "Hải Phòng",
        "place_name": place,
        "focal_unit": "vhxh",
        "office_unit": "vp",
        "units": unit_rows,
        "people": people.people,
    }
    return WardSpec(
        tenant,
        name,
        kind,
        place,
        tuple(u[0] for u in units),
        org,
        focal,
        office,
        chairman,
        admin,
        officials,
    )


def make_city(wards: int, seed: int) -> list[WardSpec]:
    """``wards`` synthetic wards, deterministic from ``seed``; place names are unique."""
    rng = random.Random(seed)
    names = sorted({f"{a} {b}" for a in PLACE_SYLLABLES for b in PLACE_SYLLABLES if a != b})
    places = rng.sample(names, wards)
    kinds = ward_kinds(wards)
    return [
        make_ward(random.Random(f"{seed}:{i}"), kind, place)
        for i, (kind, place) in enumerate(zip(kinds, places, strict=True))
    ]


def make_plan(spec: WardSpec, rng: random.Random, subs: list[dict[str, str]]) -> dict[str, Any]:
    """The ward's 2025 plan: the 12 sample tasks and 28 more on other sub-criteria, 40 in all,
    deadlines spread from February to mid-December."""
    sample = _yaml(EXAMPLE_PLAN)["tasks"]
    tasked = {code for t in sample for code in t["criteria"]}
    others = [s for s in subs if s["code"] not in tasked]
    tasks: list[dict[str, Any]] = [{k: v for k, v in t.items() if k != "deadline"} for t in sample]
    for s in rng.sample(others, TASKS - len(sample)):
        owner = s["owner_unit"]
        if "ttvh" in spec.units and owner == "ttsnc" and rng.random() < 0.5:
            owner = "ttvh"
        tasks.append(
            {
                "title": f"Triển khai thực hiện tiêu chí {s['code']}: {s['title']}"[:200],
                "expected_product": f"Báo cáo kết quả thực hiện tiêu chí {s['code']}",
                "owner_unit": owner,
                "criteria": [s["code"]],
            }
        )
    rng.shuffle(tasks)
    first, last = date(YEAR, 2, 3), date(YEAR, 12, 15)
    step = (last - first).days / (TASKS - 1)
    for i, task in enumerate(tasks):
        task["code"] = f"NV-{i + 1:02d}"
        task["deadline"] = first + timedelta(days=round(i * step))
    ordered = [{"code": t["code"], **{k: v for k, v in t.items() if k != "code"}} for t in tasks]
    return {
        "code": PLAN,
        "title": f"Kế hoạch cải cách hành chính năm {YEAR} của UBND {spec.name}",
        "tenant": spec.tenant,
        "decision": {"number": f"{rng.randint(2, 40)}/QĐ-UBND", "date": date(YEAR, 1, 6)},
        "period": {
            "code": PERIOD,
            "label": f"năm {YEAR}",
            "start": date(YEAR, 1, 1),
            "end": date(YEAR, 12, 31),
        },
        "index_set": "par-2025-ward-sample",
        "tasks": ordered,
    }


def make_inputs(rng: random.Random) -> dict[str, dict[str, Any]]:
    """The scorer's manual inputs: the sample's codes with a ward's own levels and values."""
    sample = _yaml(EXAMPLE_INPUTS)
    inputs: dict[str, dict[str, Any]] = {}
    for code, given in sample.items():
        mine = dict(given)
        if "level" in mine:
            mine["level"] = rng.choice(LEVELS)
        if "value" in mine:
            mine["value"] = rng.randint(80, 100)
        if "events" in mine:
            mine["events"] = rng.randint(2, 6)
        inputs[str(code)] = mine
    return inputs


def metrics_csv(spec: WardSpec, rng: random.Random, quarter: int) -> str:
    """The portal's export for the year so far (cumulative to the end of ``quarter``)."""
    lines = ["Mã đơn vị,Kỳ,Chỉ số,Tử số,Mẫu số,Nguồn"]
    for unit, metric, (low, high), per_quarter, source in METRICS:
        if per_quarter is None:  # a count of events
            numerator = f"{rng.randint(int(low), int(high)) * quarter}"
            denominator = ""
        else:
            total = per_quarter * quarter if metric != "sipas_satisfaction" else 100
            value = round(total * rng.uniform(low, high), 1 if metric.startswith("public") else 0)
            numerator = f'"{value:g}"'.replace(".", ",") if "." in f"{value:g}" else f"{value:g}"
            denominator = str(total)
        lines.append(f"{unit},{PERIOD},{metric},{numerator},{denominator},{source}")
    return "\n".join(lines) + "\n"


# --- the story of one ward (actions on a clock) ---------------------------------------------------


class SimClock:
    """The generator's clock (Asia/Ho_Chi_Minh); each ward's story moves it forward."""

    def __init__(self) -> None:
        self.now = datetime(YEAR, 1, 1, 8, tzinfo=LOCAL_TZ)

    def __call__(self) -> datetime:
        return self.now

    def set(self, when: datetime) -> None:
        """Move to ``when``."""
        self.now = when


Action = Callable[[Session], str]
"""Runs in the caller's transaction; returns what it counted (``fire``, ``evidence`` …)."""


@dataclass(order=True)
class Step:
    """One action at a local time."""

    at: datetime
    order: int
    what: Action = field(compare=False)


def _at(day: date, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=LOCAL_TZ)


def _workday(day: date) -> date:
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


class WardStory:
    """Builds the ward's year as timed steps over an open workspace."""

    def __init__(self, ws: Workspace, spec: WardSpec, rng: random.Random, out: Path) -> None:
        self.ws, self.spec, self.rng, self.out = ws, spec, rng, out
        self.steps: list[Step] = []
        self.start, self.end = date(YEAR, 1, 7), date(YEAR, 12, 31)

    def add(self, day: date, what: Action, hour: int = 9) -> None:
        """Schedule ``what`` on ``day`` (a working day on or after it), if within the year."""
        day = _workday(max(day, self.start))
        if day <= self.end:
            self.steps.append(Step(_at(day, hour, len(self.steps) % 60), len(self.steps), what))

    def fire(self, instance_id: int, trigger: str, who: str, **payload: str) -> Action:
        """A transition as ``who``."""

        def act(session: Session) -> str:
            self.ws.engine.fire(
                session, instance_id, trigger, actor=self.ws.actor(who), payload=payload or None
            )
            return "fire"

        return act

    def tasks(self, plan: dict[str, Any]) -> None:
        """Each task's story: on time, late, returned once, cancelled, or never done."""
        ids = cycle.task_ids(self.ws, PLAN)
        focal = self.spec.focal
        for task in plan["tasks"]:
            tid, deadline = ids[task["code"]], task["deadline"]
            unit = self.spec.officials[task["owner_unit"]]
            product = {"product": f"Sản phẩm của nhiệm vụ {task['code']}"}
            roll = self.rng.random()
            if roll < 0.03:
                self.add(
                    deadline - timedelta(days=30),
                    self.fire(
                        tid, "cancel", focal, reason="Nhiệm vụ không còn phù hợp, đã điều chỉnh"
                    ),
                )
                continue
            if roll < 0.13:  # never done: the sweep marks it overdue and escalates
                continue
            if self.rng.random() < 0.5:
                self.add(deadline - timedelta(days=25), self.fire(tid, "start", unit))
            if roll < 0.28:  # late
                sent = _workday(deadline + timedelta(days=self.rng.randint(2, 20)))
            else:
                sent = _workday(deadline - timedelta(days=self.rng.randint(1, 12)))
            self.add(sent, self.fire(tid, "submit_product", unit, **product), hour=10)
            if roll > 0.88:  # returned once, then resubmitted
                back = _workday(sent + timedelta(days=1))
                self.add(
                    back,
                    self.fire(
                        tid,
                        "return_product",
                        focal,
                        reason="Sản phẩm chưa đáp ứng yêu cầu, đề nghị bổ sung",
                    ),
                    hour=14,
                )
                sent = _workday(back + timedelta(days=self.rng.randint(2, 6)))
                self.add(sent, self.fire(tid, "submit_product", unit, **product), hour=10)
            self.add(
                sent + timedelta(days=self.rng.randint(0, 2)),
                self.fire(tid, "accept_product", focal),
                hour=15,
            )

    def evidence(self) -> None:
        """3 files per sub-criterion, each reviewed: accepted, sent back and replaced, rejected,
        or left waiting."""
        focal = self.spec.focal
        for sub in self.ws.index_set.sub_criteria():
            unit = self.spec.officials[sub.owner_unit]
            for n in range(1, FILES_PER_SUB + 1):
                name = f"TLKC-{sub.code}-{n}.pdf"
                day = _workday(date(YEAR, 2, 1) + timedelta(days=self.rng.randint(0, 300)))
                review_day = _workday(day + timedelta(days=self.rng.randint(1, 5)))
                roll = self.rng.random()
                decision: Decision | None = None  # left waiting for review
                if roll < 0.84:
                    decision = "accept"
                elif roll < 0.91:
                    decision = "request_changes"
                elif roll < 0.95:
                    decision = "reject"
                self.add(
                    day,
                    self._evidence(sub.code, name, unit, focal, decision, review_day, version=1),
                    hour=11,
                )

    def _evidence(
        self,
        code: str,
        name: str,
        who: str,
        focal: str,
        decision: Decision | None,
        review_day: date,
        version: int,
    ) -> Action:
        def act(session: Session) -> str:
            ws = self.ws
            content = pdf_bytes(f"{self.spec.tenant} {code} {name} v{version}")
            sent = submit_evidence(
                session,
                ws.engine,
                ws.store,
                ws.actor(who),
                plan_code=PLAN,
                target=f"criterion:{code}",
                source=content,
                original_name=name,
            )
            if decision is not None:
                self.add(
                    review_day,
                    self._review(
                        sent.instance_id, sent.sha256, decision, code, name, who, focal, version
                    ),
                    hour=16,
                )
            return "evidence" if version == 1 else "evidence_version"

        return act

    def _review(
        self,
        evidence_id: int,
        sha: str,
        decision: Decision,
        code: str,
        name: str,
        who: str,
        focal: str,
        version: int,
    ) -> Action:
        def act(session: Session) -> str:
            reason = None if decision == "accept" else "Tài liệu chưa đúng yêu cầu của tiêu chí"
            review_evidence(
                session,
                self.ws.engine,
                self.ws.actor(focal),
                evidence_id,
                decision,
                sha256=sha,
                reason=reason,
            )
            if decision == "request_changes" and version < 3:
                day = self.ws.engine.clock().date() + timedelta(days=self.rng.randint(3, 8))
                self.add(
                    day,
                    self._evidence(
                        code, name, who, focal, "accept", day + timedelta(days=2), version + 1
                    ),
                    hour=11,
                )
            return "review"

        return act

    def metrics(self) -> None:
        """The portal's figures imported each quarter (each import supersedes the last)."""
        folder = self.out / "metrics" / self.spec.tenant
        for quarter, day in QUARTERS:

            def act(session: Session, quarter: int = quarter) -> str:
                path = folder / f"{PERIOD}-q{quarter}.csv"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(metrics_csv(self.spec, self.rng, quarter), encoding="utf-8")
                values = load_metrics(
                    path,
                    known_units=set(self.ws.unit_names()),
                    known_metrics=self.ws.metric_names(),
                    period=PERIOD,
                )
                record_import(
                    session,
                    self.ws.engine,
                    self.ws.actor(self.spec.focal),
                    values,
                    period=PERIOD,
                    file_sha256=sha256_hex(path.read_text("utf-8")),
                    file_name=path.name,
                )
                return "metric_import"

            self.add(day, act, hour=8)


@dataclass
class Counts:
    """What the generator did, city-wide."""

    wards: int = 0
    units: int = 0
    people: int = 0
    tasks: int = 0
    evidence_files: int = 0
    evidence_versions: int = 0
    reviews: int = 0
    fires: int = 0
    metric_imports: int = 0
    sweeps: int = 0
    reminders: int = 0
    overdue_marks: int = 0
    escalations: int = 0
    audit_events: int = 0
    outbox: int = 0
    instances: int = 0


@functools.cache
def _deadline_rules() -> tuple[WorkingCalendar, TaskDeadlinePolicy]:
    """The working calendar and the task deadline policy, read once."""
    return (
        load_calendar(PROJECT_ROOT / "definitions" / "calendar.yaml", CALENDAR_LOCALE),
        load_policy(PROJECT_ROOT / "definitions" / "task-deadlines.yaml"),
    )


def play_ward(
    ws: Workspace,
    spec: WardSpec,
    clock: SimClock,
    out: Path,
    seed: int,
    sweep_every: int,
    counts: Counter[str],
) -> None:
    """Issue the plan, then play the ward's year day by day, sweeping every ``sweep_every``."""
    rng = random.Random(f"{seed}:{spec.tenant}:story")
    clock.set(_at(date(YEAR, 1, 6), 8))
    plan_path = out / "plans" / f"{spec.tenant}.yaml"
    cycle.issue(ws, plan_path, spec.focal)
    plan = cycle.read_plan(ws, plan_path).model_dump(mode="python")
    story = WardStory(ws, spec, rng, out)
    story.tasks(plan)
    story.evidence()
    story.metrics()
    calendar, policy = _deadline_rules()
    next_sweep = date(YEAR, 1, 13)  # Mondays
    done = 0
    while True:
        pending = sorted(story.steps[done:])
        if not pending:
            break
        story.steps[done:] = pending
        day = pending[0].at.date()
        while next_sweep <= day:
            clock.set(_at(next_sweep, 7))
            report = sweep(ws, calendar, spec.admin, policy=policy)
            counts.update(
                sweeps=1,
                reminders=report.reminders,
                overdue_marks=report.overdue,
                escalations=report.escalations,
            )
            next_sweep += timedelta(days=sweep_every)
        with unit_of_work(ws.sessions) as session:
            # Every step of the day in one transaction (new steps a review adds go later).
            while done < len(story.steps) and story.steps[done].at.date() == day:
                item = story.steps[done]
                clock.set(item.at)
                counts[item.what(session)] += 1
                done += 1
    end = date(YEAR, 12, 31)
    while next_sweep <= end:
        clock.set(_at(next_sweep, 7))
        report = sweep(ws, calendar, spec.admin, policy=policy)
        counts.update(
            sweeps=1,
            reminders=report.reminders,
            overdue_marks=report.overdue,
            escalations=report.escalations,
        )
        next_sweep += timedelta(days=sweep_every)


# --- files ---------------------------------------------------------------------------------------

HEADER = (
    "# SYNTHETIC: generated by bench/city_gen.py for benchmarks. Every place, person, title\n"
    "# and e-mail address below is invented and describes no real ward or official.\n"
)


def _dump(path: Path, data: Any, header: str = HEADER) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)
    path.write_text(header + text, encoding="utf-8")


def write_files(out: Path, specs: list[WardSpec], seed: int) -> None:
    """Organization files, the city file, plans and scoring inputs."""
    raw = _yaml(INDEX_SET)
    subs = [
        {"code": s["code"], "title": s["title"], "owner_unit": s["owner_unit"]}
        for a in raw["areas"]
        for c in a["criteria"]
        for s in c["sub_criteria"]
    ]
    for spec in specs:
        rng = random.Random(f"{seed}:{spec.tenant}:files")
        _dump(out / "organizations" / f"{spec.tenant}.yaml", spec.org)
        _dump(out / "plans" / f"{spec.tenant}.yaml", make_plan(spec, rng, subs))
        _dump(out / "inputs" / f"{spec.tenant}.yaml", make_inputs(rng))
    city = {
        "city": "hai-phong",
        "name": "Thành phố Hải Phòng",
        "organizations": ["organizations/*.yaml"],
        "officials": [
            {
                "id": "so.noi.vu.can.bo",
                "full_name": "Cán bộ Sở Nội vụ (giả lập)",
                "title": "Chuyên viên Sở Nội vụ thành phố",
                "roles": ["city_official"],
                "email": "so.noi.vu.can.bo@haiphong.example",
            },
        ],
    }
    _dump(out / "city.yaml", city)


# --- the whole run -------------------------------------------------------------------------------


class CityWorkspaces:
    """The whole city in one process: definitions, index set, every ward's organization and one
    database pool, read once; a ``Workspace`` per ward over them (what a city-wide run does,
    instead of re-reading the reference data for each ward like a single command)."""

    def __init__(
        self,
        out: Path,
        url: str,
        clock: Callable[[], datetime],
        orgs: dict[str, Organization] | None = None,
    ) -> None:
        started = time.perf_counter()
        self.settings = Settings(data_dir=out / "data", database_url=url)
        self.engine = make_workflow_engine(clock=clock)
        roles = set(self.engine.definitions.roles.roles)
        if orgs is None:
            orgs = {}
            for path in sorted((out / "organizations").glob("*.yaml")):
                org = load_organization(path, known_roles=roles)
                orgs[org.tenant] = org
        self.orgs = orgs
        units = {u.code for org in orgs.values() for u in org.units}
        self.index_set = load_index_set(INDEX_SET, known_units=units)
        self.db = make_engine(url)
        require_current(self.db)
        self.sessions = session_factory(self.db)
        self.store = EvidenceStore.for_settings(self.settings)
        self.load_seconds = time.perf_counter() - started

    def ward(self, tenant: str) -> Workspace:
        """The ward's workspace (not to be closed: the pool is shared; ``close`` this instead)."""
        return Workspace(
            self.settings,
            self.db,
            self.sessions,
            self.engine,
            self.orgs[tenant],
            self.index_set,
            self.store,
        )

    def close(self) -> None:
        """Release the database pool."""
        self.db.dispose()


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def db_counts(settings: Settings, counts: Counter[str], specs: list[WardSpec]) -> Counts:
    """The figures of the generated city, read back from the database."""
    db = make_engine(settings.database_url)
    try:
        with db.connect() as conn:
            rows = conn.execute(select(Instance.kind, func.count()).group_by(Instance.kind))
            kinds: dict[str, int] = {str(kind): int(n) for kind, n in rows}
            events = conn.scalar(select(func.count()).select_from(AuditEvent)) or 0
            outbox = conn.scalar(select(func.count()).select_from(OutboxMessage)) or 0
    finally:
        db.dispose()
    return Counts(
        wards=len(specs),
        units=sum(len(s.units) for s in specs),
        people=sum(len(s.org["people"]) for s in specs),
        tasks=int(kinds.get("task", 0)),
        evidence_files=counts["evidence"],
        evidence_versions=int(kinds.get("evidence", 0)),
        reviews=counts["review"],
        fires=counts["fire"],
        metric_imports=int(kinds.get("metric_import", 0)),
        sweeps=counts["sweeps"],
        reminders=counts["reminders"],
        overdue_marks=counts["overdue_marks"],
        escalations=counts["escalations"],
        audit_events=int(events),
        outbox=int(outbox),
        instances=int(sum(kinds.values())),
    )


def _register_definitions(url: str) -> None:
    """Store every definition version before the workers start: two first creates of a kind
    at once would both try to insert it (a unique violation on PostgreSQL)."""
    city_engine = make_workflow_engine()
    db = make_engine(url)
    try:
        with unit_of_work(session_factory(db)) as session:
            for kind in city_engine.definitions.workflows:
                city_engine.register(session, city_engine.current(kind))
    finally:
        db.dispose()


def play_wards(
    out: Path,
    url: str,
    specs: list[WardSpec],
    seed: int,
    sweep_every: int,
    progress: Callable[[str], None],
    started: float,
) -> Counter[str]:
    """Play the year of each ward in ``specs``, one after the other; what was done."""
    counts: Counter[str] = Counter()
    clock = SimClock()
    city = CityWorkspaces(out, url, clock)
    try:
        for i, spec in enumerate(specs, 1):
            before = counts["fire"] + counts["evidence"] + counts["review"]
            play_ward(city.ward(spec.tenant), spec, clock, out, seed, sweep_every, counts)
            spent = time.perf_counter() - started
            acted = counts["fire"] + counts["evidence"] + counts["review"] - before
            progress(
                f"[{i}/{len(specs)}] {spec.name} ({spec.tenant}): {acted} actions; "
                f"{spent:.0f} s, ~{spent / i * (len(specs) - i):.0f} s left"
            )
    finally:
        city.close()
    return counts


def generate(
    out: Path,
    *,
    wards: int = 114,
    seed: int = 2025,
    database_url: str | None = None,
    sweep_every: int = 7,
    jobs: int = 1,
    force: bool = False,
    progress: Callable[[str], None] = _progress,
) -> dict[str, Any]:
    """Write the city's files under ``out`` and populate the database; returns the manifest.

    Without ``database_url`` the database is a fresh SQLite file in ``out/data``; a given URL
    must point at an empty database (or schema), which is migrated first.
    """
    if wards < 1:
        raise ValueError("--wards must be at least 1")
    if out.exists() and any(out.iterdir()) and not (out / MARKER).exists() and not force:
        raise SystemExit(f"{out} is not empty and was not made by city_gen; use --force")
    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("created by bench/city_gen.py; safe to delete\n", encoding="utf-8")
    data_dir = out / "data"
    if database_url is None:
        data_dir.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            (data_dir / f"cchc.sqlite3{suffix}").unlink(missing_ok=True)
        database_url = sqlite_url(data_dir)
    for folder in ("organizations", "plans", "inputs", "metrics", "bench-output"):
        shutil.rmtree(out / folder, ignore_errors=True)
    specs = make_city(wards, seed)
    write_files(out, specs, seed)
    db = make_engine(database_url)
    try:
        upgrade(db)
    finally:
        db.dispose()
    settings = Settings(data_dir=data_dir, database_url=database_url)
    counts: Counter[str] = Counter()
    if jobs <= 1:
        counts = play_wards(out, database_url, specs, seed, sweep_every, progress, started)
    else:  # wards split over processes (each ward's story is its own, so the data is the same)
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        _register_definitions(database_url)
        shares = [specs[i::jobs] for i in range(jobs)]
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork")) as pool:
            done = [
                pool.submit(
                    play_wards, out, database_url, share, seed, sweep_every, _progress, started
                )
                for share in shares
                if share
            ]
            for future in done:
                counts.update(future.result())
    figures = db_counts(settings, counts, specs)
    manifest = {
        "seed": seed,
        "wards": wards,
        "sweep_every": sweep_every,
        "jobs": jobs,
        "plan": PLAN,
        "period": PERIOD,
        "month": f"{YEAR}-11",
        "backend": database_url.split(":", 1)[0].split("+")[0],
        "database_url": database_url if database_url.startswith("sqlite") else None,
        "tenants": [s.tenant for s in specs],
        "people": {
            s.tenant: {
                "focal": s.focal,
                "office": s.office,
                "chairman": s.chairman,
                "admin": s.admin,
                "officials": s.officials,
            }
            for s in specs
        },
        "counts": asdict(figures),
        "seconds": round(time.perf_counter() - started, 2),
    }
    (out / MANIFEST).write_text(
        json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    return manifest


def main(argv: list[str] | None = None) -> int:
    """Command line: generate a city."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--wards", type=int, default=114, help="number of wards (default 114)")
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--database-url", help="default: a SQLite file in OUT/data")
    parser.add_argument("--sweep-every", type=int, default=7, help="days between sweeps")
    parser.add_argument("--jobs", type=int, default=1, help="processes sharing the wards")
    parser.add_argument("--force", action="store_true", help="write into a non-empty folder")
    args = parser.parse_args(argv)
    manifest = generate(
        args.out,
        wards=args.wards,
        seed=args.seed,
        database_url=args.database_url,
        sweep_every=args.sweep_every,
        jobs=args.jobs,
        force=args.force,
    )
    print(json.dumps({"seconds": manifest["seconds"], **manifest["counts"]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
