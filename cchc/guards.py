"""Guards and actions of the CCHC workflows, registered by name for the definitions to use."""

from __future__ import annotations

from cchc.organization.capabilities import roles_with
from workflows.registry import FireContext, GuardRefusal, Registry, builtins

domain = Registry()
"""The CCHC guards and actions (the engine's generic ones are in ``workflows.registry``)."""


@domain.guard("own_unit")
def _own_unit(ctx: FireContext) -> GuardRefusal | None:
    """Prevents an official from acting for another unit than the one the item is assigned to."""
    owner = ctx.data.get("owner_unit")
    if owner is None or ctx.actor.unit == owner:
        return None
    return GuardRefusal(
        "Prevents an official from acting for another unit than the one the item is assigned to",
        {"owner_unit": owner, "actor_unit": ctx.actor.unit},
    )


@domain.guard("own_unit_or_focal")
def _own_unit_or_focal(ctx: FireContext) -> GuardRefusal | None:
    """Prevents an official from acting for another unit, except the reform focal official."""
    if ctx.actor.roles & roles_with("submit_for_any_unit") or _own_unit(ctx) is None:
        return None
    return GuardRefusal(
        "Prevents an official from acting for another unit, except the reform focal official",
        {"owner_unit": ctx.data.get("owner_unit"), "actor_unit": ctx.actor.unit},
    )


WARD_WIDE_ROLES = roles_with("act_for_any_unit")
"""Roles that act for every unit of the ward (where a transition lets them act at all)."""


@domain.guard("own_unit_or_ward")
def _own_unit_or_ward(ctx: FireContext) -> GuardRefusal | None:
    """Prevents a unit's head or official from acting for another unit (leaders act for all)."""
    if ctx.actor.roles & WARD_WIDE_ROLES or _own_unit(ctx) is None:
        return None
    return GuardRefusal(
        "Prevents a unit's head or official from acting for another unit (leaders act for all)",
        {"owner_unit": ctx.data.get("owner_unit"), "actor_unit": ctx.actor.unit},
    )


@domain.guard("hash_matches")
def _hash_matches(ctx: FireContext) -> GuardRefusal | None:
    """Prevents a decision on evidence other than the version the reviewer saw (sha256 differs)."""
    seen = ctx.payload.get("sha256")
    if seen and seen == ctx.data.get("sha256"):
        return None
    return GuardRefusal(
        "Prevents a decision on evidence other than the version the reviewer saw (sha256 differs)",
        {"seen": str(seen or ""), "stored": str(ctx.data.get("sha256") or "")},
    )


@domain.guard("explained_if_incomplete")
def _explained_if_incomplete(ctx: FireContext) -> GuardRefusal | None:
    """Prevents a self-score with incomplete evidence unless an explanation is given."""
    if ctx.payload.get("evidence_complete", True) is not False:
        return None
    if str(ctx.payload.get("explanation") or "").strip():
        return None
    return GuardRefusal(
        "Prevents a self-score with incomplete evidence unless an explanation is given"
    )


@domain.action("record_product")
def _record_product(ctx: FireContext) -> None:
    """Keeps the submitted product, when and by whom, for the plan-completion criterion."""
    ctx.data["product"] = str(ctx.payload.get("product", ""))
    ctx.data["product_submitted_at"] = ctx.now.isoformat()
    ctx.data["product_submitted_by"] = ctx.actor.id


@domain.action("record_review")
def _record_review(ctx: FireContext) -> None:
    """Keeps every review decision with the evidence hash it was made on, in ``data.reviews``."""
    reviews = list(ctx.data.get("reviews", []))
    reviews.append(
        {
            "trigger": ctx.trigger,
            "by": ctx.actor.id,
            "at": ctx.now.isoformat(),
            "sha256": ctx.payload.get("sha256"),
            "reason": ctx.payload.get("reason"),
        }
    )
    ctx.data["reviews"] = reviews


@domain.action("record_self_score")
def _record_self_score(ctx: FireContext) -> None:
    """Keeps the self-score, its explanation and whether the evidence was complete."""
    ctx.data["self_score"] = str(ctx.payload.get("points"))
    ctx.data["explanation"] = str(ctx.payload.get("explanation") or "")
    ctx.data["evidence_complete"] = ctx.payload.get("evidence_complete", True) is not False


registry = builtins.merged(domain)
"""Everything CCHC definitions may name."""
