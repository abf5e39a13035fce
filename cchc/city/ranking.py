"""The city ranking: the wards of each block ordered by their latest index for a period.

For each ward, the plans of the period (kind ``plan``, ``period.code``; withdrawn plans left
out) and their latest scoring run give the figures: the index (as ``ScoreCard.index``: total
points / base max × 100, rounded half up to 2 decimals), the base points and the bonus/penalty
adjustments. A ward with no such run is listed as not ranked, with the reason.

Order within a block (``TIE_BREAKS``): the published index, higher first; then the base points,
higher first (an index earned on the 100-point base ranks above one lifted by bonus points);
then the ward name in Vietnamese alphabetical order; then the tenant code. Ranks are distinct.

Reproducible: the run id is the sha256 of the canonical inputs (the rule version, the city,
the period, each ward's tenant, name, block and score run with its figures, or its reason for
not being ranked). The ranking is stored through the engine as a ``city_ranking`` instance in
the city's tenant, with an idempotency key from the run id: the same inputs give the same run
and no second instance.

Reading costs two queries on ``instances`` and ``scores`` for the whole city, whatever the
number of wards.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cchc import vi_text
from cchc.city.collation import vn_sort_key
from cchc.city.model import BLOCKS, CITY_ROLE, City, block_of
from cchc.indexset.rules import report
from cchc.organization.access import AccessDeniedError
from cchc.ranking.emulation import TieBreak, TiedThroughoutError, rank
from cchc.tables import Score
from workflows.canonical import canonical_json, sha256_hex
from workflows.engine import Engine
from workflows.registry import Actor
from workflows.schema import Instance

KIND = "city_ranking"
RULE = "city-ranking/1"
"""Names the ordering rule in the inputs: a new rule gives new run ids."""
TIE_BREAKS = ("index", "base_points", "name", "tenant")
"""The order within a block: the index, then the tie-breaks ``WARD_TIE_BREAKS``."""
HUNDRED = Decimal(100)

__all__ = [
    "KIND",
    "RULE",
    "TIE_BREAKS",
    "CityRanking",
    "RankedWard",
    "WardEntry",
    "WardFigures",
    "rank_city",
    "rank_wards",
    "ranking_inputs",
    "ward_entries",
]


@dataclass(frozen=True)
class WardFigures:
    """A ward's latest scoring run for the period and what it adds up to."""

    plan: str
    score_run: str
    index_set: str
    base_points: Decimal
    adjustments: Decimal
    base_max: Decimal

    @property
    def total_points(self) -> Decimal:
        """Base points plus adjustments."""
        return self.base_points + self.adjustments

    @property
    def index(self) -> Decimal:
        """The index in %, rounded to 2 decimals (as ``ScoreCard.index``)."""
        if not self.base_max:
            return Decimal(0)
        return report(self.total_points * HUNDRED / self.base_max)


@dataclass(frozen=True)
class WardEntry:
    """One ward as the ranking sees it: figures, or the reason it cannot be ranked."""

    tenant: str
    name: str
    block: str
    figures: WardFigures | None
    missing: str | None = None
    """Why there are no figures (Vietnamese), when ``figures`` is None."""


@dataclass(frozen=True)
class RankedWard:
    """A row of the city table: the ward, its rank in its block (None: not ranked), why."""

    entry: WardEntry
    rank: int | None
    of: int
    """How many wards of the block are ranked."""
    explanation_vi: str
    tie_break: str | None = None
    """The key that placed it below the ward above it, when their indices are equal."""


@dataclass(frozen=True)
class CityRanking:
    """A stored city ranking: every row by block, its run id and its instance."""

    city: str
    period: str
    period_label: str
    run_id: str
    rows: tuple[RankedWard, ...]
    instance_id: int
    state: str
    replayed: bool
    """True when the same inputs had been ranked before (no new instance)."""

    def block(self, block: str) -> list[RankedWard]:
        """The rows of ``block``: ranked wards by rank, then the wards not ranked."""
        return [row for row in self.rows if row.entry.block == block]

    def as_json(self) -> dict[str, Any]:
        """JSON-ready: run, instance and the rows of each block."""
        return {
            "city": self.city,
            "period": self.period,
            "period_label": self.period_label,
            "run_id": self.run_id,
            "ranking_id": self.instance_id,
            "state": self.state,
            "replayed": self.replayed,
            "blocks": {b: [_row_json(r) for r in self.block(b)] for b in BLOCKS},
        }


# --- reading ------------------------------------------------------------------------------------


def ward_entries(session: Session, city: City, period: str) -> tuple[list[WardEntry], str]:
    """Every ward's figures for ``period`` (one query per table, not per ward), the period label."""
    tenants = [org.tenant for org in city.wards]
    plans: dict[str, list[str]] = defaultdict(list)
    labels: dict[str, str] = {}
    rows = session.execute(
        select(Instance.tenant, Instance.ref, Instance.data)
        .where(Instance.kind == "plan", Instance.tenant.in_(tenants), Instance.state != "withdrawn")
        .order_by(Instance.tenant, Instance.ref)
    ).all()
    for row in rows:
        data = json.loads(row.data)
        plan_period = data.get("period") if isinstance(data, dict) else None
        if isinstance(plan_period, dict) and plan_period.get("code") == period:
            plans[row.tenant].append(row.ref)
            labels.setdefault(row.tenant, str(plan_period.get("label") or period))
    latest = _latest_figures(session, plans)
    entries = []
    for org in city.wards:
        block = block_of(org)
        figures = latest.get(org.tenant)
        missing = None if figures else _missing(plans.get(org.tenant, []), period)
        entries.append(WardEntry(org.tenant, org.name, block, figures, missing))
    label = next((labels[t] for t in tenants if t in labels), period)
    return entries, label


def _latest_figures(session: Session, plans: Mapping[str, Sequence[str]]) -> dict[str, WardFigures]:
    """Tenant → figures of the latest scoring run among the tenant's plans (one query).

    A run's rows share their ``computed_at`` (a repeated run updates them all), so the latest
    run is the one with the greatest (``computed_at``, row id), as ``scoring.latest_run`` reads.
    Sums are exact on PostgreSQL; SQLite stores NUMERIC as REAL and returns them at the
    column's 4 decimals, as it does for every single score.
    """
    if not plans:
        return {}
    codes = {code for codes in plans.values() for code in codes}
    rows = session.execute(
        select(
            Score.tenant,
            Score.plan,
            Score.run_id,
            Score.outside_base,
            func.max(Score.index_set).label("index_set"),
            func.sum(Score.points).label("points"),
            func.sum(Score.max_points).label("max_points"),
            func.max(Score.computed_at).label("at"),
            func.max(Score.id).label("last"),
        )
        .where(Score.tenant.in_(list(plans)), Score.plan.in_(sorted(codes)))
        .group_by(Score.tenant, Score.plan, Score.run_id, Score.outside_base)
    ).all()
    runs: dict[tuple[str, str, str], dict[str, Any]] = {}
    for row in rows:
        if row.plan not in plans[row.tenant]:
            continue
        run = runs.setdefault(
            (row.tenant, row.plan, row.run_id),
            {
                "at": row.at,
                "last": row.last,
                "index_set": row.index_set,
                "base": Decimal(0),
                "adjustments": Decimal(0),
                "base_max": Decimal(0),
            },
        )
        run["at"], run["last"] = max((run["at"], run["last"]), (row.at, row.last))
        if row.outside_base:
            run["adjustments"] += Decimal(row.points)
        else:
            run["base"] += Decimal(row.points)
            run["base_max"] += Decimal(row.max_points)
    best: dict[str, tuple[Any, int, WardFigures]] = {}
    for (tenant, plan, run_id), run in runs.items():
        figures = WardFigures(
            plan, run_id, run["index_set"], run["base"], run["adjustments"], run["base_max"]
        )
        if tenant not in best or (run["at"], run["last"]) > best[tenant][:2]:
            best[tenant] = (run["at"], run["last"], figures)
    return {tenant: figures for tenant, (_, _, figures) in best.items()}


def _missing(plans: Sequence[str], period: str) -> str:
    if not plans:
        return f"chưa có kế hoạch CCHC kỳ {period} trong hệ thống"
    return f"kế hoạch {', '.join(plans)} kỳ {period} chưa được chấm điểm"


# --- ranking (pure) -----------------------------------------------------------------------------


def _figures(entry: WardEntry) -> WardFigures:
    if entry.figures is None:
        raise ValueError(f"ward {entry.tenant!r} has no figures to rank")
    return entry.figures


WARD_TIE_BREAKS: tuple[TieBreak[WardEntry], ...] = (
    TieBreak("base_points", lambda e: -_figures(e).base_points),
    TieBreak("name", lambda e: vn_sort_key(e.name)),
    TieBreak("tenant", lambda e: e.tenant),
)
"""``TIE_BREAKS`` after the index, smaller first."""


def rank_wards(entries: Iterable[WardEntry]) -> list[RankedWard]:
    """Rank each block's wards (pure): blocks in ``BLOCKS`` order, unranked wards last."""
    by_block: dict[str, list[WardEntry]] = defaultdict(list)
    for entry in entries:
        by_block[entry.block].append(entry)
    rows: list[RankedWard] = []
    for block in BLOCKS:
        ward_list = by_block.get(block, [])
        try:
            placed = rank(
                (e for e in ward_list if e.figures is not None),
                WARD_TIE_BREAKS,
                by=lambda e: -_figures(e).index,
            )
        except TiedThroughoutError as exc:
            raise ValueError(f"ward {exc.entry.tenant!r} is listed twice") from None
        total = len(placed)
        for row in placed:
            above, below = (row.above, row.decided_above), (row.below, row.decided_below)
            text = _explain(row.rank, total, row.entry, above, below)
            rows.append(RankedWard(row.entry, row.rank, total, text, row.decided_above))
        unranked = sorted(
            (e for e in ward_list if e.figures is None),
            key=lambda e: (vn_sort_key(e.name), e.tenant),
        )
        rows.extend(RankedWard(e, None, total, f"Chưa xếp hạng: {e.missing}.") for e in unranked)
    return rows


def _explain(
    rank: int,
    total: int,
    entry: WardEntry,
    above: tuple[WardEntry | None, str | None],
    below: tuple[WardEntry | None, str | None],
) -> str:
    f = _figures(entry)
    adjustments = ""
    if f.adjustments:
        sign = "+" if f.adjustments > 0 else ""
        adjustments = f", điểm thưởng/trừ {sign}{_points(f.adjustments)}"
    sentences = [
        (
            f"Xếp thứ {rank}/{total} {BLOCKS[entry.block].lower()}: chỉ số {_percent(f.index)} "
            f"(điểm cơ bản {_points(f.base_points)}/{_points(f.base_max)}{adjustments}; "
            f"lần chấm {f.score_run[:12]} của kế hoạch {f.plan})."
        )
    ]
    for other, key, placed in ((above[0], above[1], "dưới"), (below[0], below[1], "trên")):
        if other is not None and key is not None:
            sentences.append(_tie_text(entry, other, key, placed))
    return " ".join(sentences)


def _tie_text(entry: WardEntry, other: WardEntry, key: str, placed: str) -> str:
    mine, theirs = _figures(entry), _figures(other)
    first = placed == "trên"
    if key == "base_points":
        reason = "điểm cơ bản " + ("cao hơn" if first else "thấp hơn")
        detail = f" ({_points(mine.base_points)} so với {_points(theirs.base_points)})"
    elif key == "name":
        reason = "tên đứng " + ("trước" if first else "sau") + " theo thứ tự chữ cái tiếng Việt"
        detail = ""
    else:
        reason = "mã đơn vị đứng " + ("trước" if first else "sau")
        detail = f" ({entry.tenant} so với {other.tenant})"
    equal = " và bằng điểm cơ bản" if key != "base_points" else ""
    return (
        f"Bằng chỉ số với {other.name} ({_percent(mine.index)}){equal}; "
        f"xếp {placed} vì {reason}{detail}."
    )


def _points(value: Decimal) -> str:
    return vi_text.number(value, 2)


def _percent(value: Decimal) -> str:
    return vi_text.percent(value, 2)


# --- inputs, run id, storage ----------------------------------------------------------------------


def ranking_inputs(
    city: City, period: str, label: str, entries: Sequence[WardEntry]
) -> dict[str, Any]:
    """The canonical inputs the run id is computed over (JSON-ready)."""
    wards = []
    for entry in sorted(entries, key=lambda e: e.tenant):
        item: dict[str, Any] = {"tenant": entry.tenant, "name": entry.name, "block": entry.block}
        f = entry.figures
        if f is None:
            item["missing"] = entry.missing
        else:
            item.update(
                plan=f.plan,
                score_run=f.score_run,
                index_set=f.index_set,
                index=_plain(f.index),
                base_points=_plain(f.base_points),
                adjustments=_plain(f.adjustments),
                base_max=_plain(f.base_max),
            )
        wards.append(item)
    return {
        "rule": RULE,
        "city": city.code,
        "period": period,
        "period_label": label,
        "wards": wards,
    }


def _plain(value: Decimal) -> str:
    """Without trailing zeros, so the run id does not depend on the database's NUMERIC scale."""
    text = format(Decimal(value).normalize(), "f")
    return "0" if text in {"-0", "0"} else text


def _row_json(row: RankedWard) -> dict[str, Any]:
    entry, f = row.entry, row.entry.figures
    return {
        "block": entry.block,
        "rank": row.rank,
        "of": row.of,
        "tenant": entry.tenant,
        "name": entry.name,
        "index": None if f is None else _plain(f.index),
        "base_points": None if f is None else _plain(f.base_points),
        "adjustments": None if f is None else _plain(f.adjustments),
        "plan": None if f is None else f.plan,
        "score_run": None if f is None else f.score_run,
        "tie_break": row.tie_break,
        "explanation": row.explanation_vi,
    }


def rank_city(
    session: Session,
    engine: Engine,
    city: City,
    actor: Actor,
    *,
    period: str,
    publish: bool = False,
) -> CityRanking:
    """Rank the city's wards for ``period`` as ``actor`` (a city official) in the caller's
    transaction, store it (once per distinct inputs) and optionally publish it.

    Refused before anything is read, and audited on the actor's own chain: an actor of
    another tenant than the city's (``AccessDeniedError``), or one without a role that may
    create a ``city_ranking`` (``NotPermittedError``). Inputs ranked before give the stored
    instance back (``replayed``), whatever wording the explanations have since.
    """
    ref = f"{city.code}/{period}"[:200]
    if actor.tenant != city.code:
        engine.refuse(
            session,
            actor=actor,
            kind=KIND,
            ref=ref,
            trigger="read",
            error=AccessDeniedError(
                f"{actor.id} of tenant {actor.tenant!r} may not rank the wards of {city.code}: "
                f"only city officials ({CITY_ROLE}) of tenant {city.code!r} do",
                facts={
                    "rule": "city_tenant",
                    "actor": actor.id,
                    "actor_tenant": actor.tenant,
                    "city": city.name,
                },
            ),
        )
    # The engine's own rule, before anything is read: inputs ranked before give the stored
    # instance back without a creation, so they are refused here too.
    engine.require_create(session, KIND, actor=actor, ref=ref)
    entries, label = ward_entries(session, city, period)
    inputs = ranking_inputs(city, period, label, entries)
    run_id = sha256_hex(canonical_json(inputs))
    rows = rank_wards(entries)
    ref = f"{period}/XH-{run_id[:12]}"
    stored = session.execute(
        select(Instance.id, Instance.state).where(
            Instance.tenant == city.code, Instance.kind == KIND, Instance.ref == ref
        )
    ).first()
    if stored is not None:  # the same inputs (the ref holds the run id): the same run
        instance_id, state, replayed = stored.id, stored.state, True
    else:
        created = engine.create(
            session,
            KIND,
            actor=actor,
            ref=ref,
            idempotency_key=f"city-rank:{period}:{run_id}",
            data={"run_id": run_id, "inputs": inputs, "table": [_row_json(r) for r in rows]},
        )
        instance_id, state, replayed = created.instance_id, created.dest, False
    if publish and state != "published":
        state = engine.fire(
            session,
            instance_id,
            "publish",
            actor=actor,
            idempotency_key=f"city-publish:{period}:{run_id}",
        ).dest
    return CityRanking(city.code, period, label, run_id, tuple(rows), instance_id, state, replayed)
