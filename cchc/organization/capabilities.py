"""What each role lets its holder do, as ``definitions/roles.yaml`` declares it.

A role lists its ``capabilities`` in the role catalogue; application code asks which roles
hold a capability (``roles_with``) instead of naming roles. The engine checks workflow
permissions from the definitions and does not interpret capabilities.

The catalogue read is the one of ``CCHC_DEFINITIONS_DIR`` (default: the project's
``definitions/``, ``cchc.settings.definitions_dir``), once per process, through the definitions'
own reader (``ROLE_FILE``: a broken file is a ``DefinitionError`` with its lines).
"""

from __future__ import annotations

from functools import cache

from cchc.settings import definitions_dir
from workflows.definition.loader import ROLE_CATALOG, ROLE_FILE
from workflows.definition.models import RoleCatalog

__all__ = ["CAPABILITIES", "catalog", "roles_with"]

CAPABILITIES: dict[str, str] = {
    "read_ward": "reads every unit's items of its tenant (access.TENANT_READERS)",
    "read_own_unit": "reads its own unit's items only (access.UNIT_READERS)",
    "read_only": "changes nothing: no definition may grant it a trigger (access.READ_ONLY_ROLES)",
    "submit_for_any_unit": "submits evidence for any unit's item (guard own_unit_or_focal)",
    "act_for_any_unit": "acts on any unit's items, not only its own (guards.WARD_WIDE_ROLES)",
    "belongs_to_unit": "is a member of a unit: the organization file names its unit",
    "run_sweep": "runs the deadline sweep (deadlines.SWEEP_ROLES)",
    "apply_reference_data": "registers definitions and reference files (cchc definitions apply)",
    "send_notifications": "sends the notifications of the outbox (cchc notify)",
    "manage_accounts": "invites, resets and disables web accounts (cchc users)",
    "follows_up_notices": "sees the open follow-up tasks of review notices (cchc.waiting)",
    "sign_documents": "signs exported documents and review notices",
    "sign_as_chairman": "signs in its own title (CHỦ TỊCH), not on the chairman's behalf",
    "read_checkpoint": "receives the signed audit checkpoint in its daily digest",
    "notified_for_own_unit": "receives a message about a unit only for its own unit",
    "notified_for_field": "receives a unit's messages when in charge of the unit's field",
}
"""Every capability the application looks up, and what it lets a role do."""


@cache
def catalog() -> RoleCatalog:
    """The role catalogue of the definitions in use (read once per process)."""
    return ROLE_FILE.load_file(definitions_dir() / ROLE_CATALOG, None)


def roles_with(capability: str) -> frozenset[str]:
    """The roles that declare ``capability``; ``KeyError`` for a capability nobody looks up."""
    if capability not in CAPABILITIES:
        raise KeyError(f"unknown capability {capability!r}; known: {', '.join(CAPABILITIES)}")
    return catalog().holders(capability)


class CapabilitiesDifferError(RuntimeError):
    """The registered role catalogue gives roles other capabilities than the one in use."""


def require_in_force(registered: RoleCatalog, tenant: str) -> None:
    """Refuse to act for ``tenant`` when its registered role catalogue gives any role other
    capabilities than the catalogue this process decides with (read once, at start): the
    registered definitions rule, so the process must be started on them."""
    ours = catalog()
    differing = sorted(
        role
        for role in set(registered.roles) | set(ours.roles)
        if _capabilities(registered, role) != _capabilities(ours, role)
    )
    if differing:
        raise CapabilitiesDifferError(
            f"năng lực của vai trò đã đăng ký cho {tenant} khác với tệp roles.yaml đang dùng "
            f"(the registered role capabilities differ for {', '.join(differing)}); start the "
            "command with CCHC_DEFINITIONS_DIR naming the registered definitions, or, when this "
            "installation's roles.yaml is the newer one, register it with "
            "`cchc definitions apply --as ADMIN`"
        )


def _capabilities(catalogue: RoleCatalog, role: str) -> frozenset[str]:
    spec = catalogue.roles.get(role)
    return frozenset(spec.capabilities) if spec is not None else frozenset()
