"""Re-hash the stored evidence files against the sha256 the record holds for each.

Every ``evidence`` instance (superseded versions included: the record still refers to them)
names the sha256 of its file. A file is *missing* when the store has nothing under that hash
and *altered* when its bytes no longer hash to it. Each distinct file is read once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from cchc.evidence.store import EvidenceStore
from cchc.inspection.history import in_plan
from workflows.schema import Instance

Progress = Callable[[int, int], None]
"""Called with (files checked so far, files in all) after each file."""


@dataclass(frozen=True)
class FileProblem:
    """A stored file that does not match the record."""

    sha256: str
    problem: str
    """``missing`` or ``altered``."""
    records: tuple[tuple[int, str, str], ...]
    """(evidence id, target, original file name) of every record naming the file."""

    @property
    def label(self) -> str:
        """``mất tệp`` / ``tệp bị thay đổi``."""
        return "mất tệp (missing)" if self.problem == "missing" else "tệp bị thay đổi (altered)"


@dataclass(frozen=True)
class EvidenceCheck:
    """The outcome: records read, distinct files re-hashed, the files that do not match."""

    records: int
    files: int
    problems: tuple[FileProblem, ...]

    @property
    def ok(self) -> bool:
        """True when every file matched."""
        return not self.problems


def check_evidence_files(
    session: Session,
    store: EvidenceStore,
    tenant: str,
    *,
    plan: str | None = None,
    units: Collection[str] | None = None,
    progress: Progress | None = None,
) -> EvidenceCheck:
    """Re-hash every file the tenant's evidence records name (of ``plan``, of ``units``)."""
    rows = session.execute(
        select(Instance.id, Instance.ref, Instance.data)
        .where(Instance.tenant == tenant, Instance.kind == "evidence")
        .order_by(Instance.id)
    )
    by_hash: dict[str, list[tuple[int, str, str]]] = {}
    records = 0
    for row in rows:
        data = json.loads(row.data)
        if plan is not None and not in_plan(row.ref, plan):
            continue
        if units is not None and data.get("owner_unit") not in units:
            continue
        records += 1
        record = (row.id, str(data.get("target", "")), str(data.get("original_name", "")))
        by_hash.setdefault(str(data.get("sha256", "")), []).append(record)
    problems = []
    for done, (sha256, named) in enumerate(sorted(by_hash.items()), 1):
        try:
            present = store.exists(sha256)
        except ValueError:  # not even a sha256: the record itself is damaged
            present = False
        if not present:
            problems.append(FileProblem(sha256, "missing", tuple(named)))
        elif not store.verify(sha256):
            problems.append(FileProblem(sha256, "altered", tuple(named)))
        if progress is not None:
            progress(done, len(by_hash))
    return EvidenceCheck(records=records, files=len(by_hash), problems=tuple(problems))
