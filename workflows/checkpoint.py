"""Signed checkpoints of the audit chains, kept outside the database.

A checkpoint states where a tenant's chain stood (head sequence and hash) and how many events
and instances the tenant had, signed with an Ed25519 key whose private part never enters the
database. Someone able to rewrite the database (triggers dropped) can re-hash a chain so that
``audit.verify`` passes; they cannot make it agree with a checkpoint signed earlier and kept
elsewhere. ``check`` compares the database with checkpoints and names what was done:

- **rewritten**: the event at a checkpoint's sequence has another hash (an event up to there was
  changed and the chain re-hashed after it);
- **tail cut**: the chain ends before a checkpoint's sequence (events deleted, head moved back);
- **trail deleted**: a checkpointed tenant has no events left (its instances may remain);
- **instances deleted**: fewer instances than a checkpoint counted.

``cryptography`` is imported by the functions that sign or verify, not by this module.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflows.audit import Break
from workflows.canonical import canonical_json, utc_iso
from workflows.schema import AuditEvent, ChainHead, Instance

FORMAT = "audit-checkpoint/1"
PUBLIC_KEY_FILE = "public-key.pem"
"""The public key's file name in a checkpoint folder: verifying needs no private key."""
RETIRED_KEYS = "retired-keys"
"""The folder of earlier public keys (a key replaced), so their checkpoints still verify."""
_TENANT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class CheckpointError(ValueError):
    """A checkpoint file or key that cannot be read."""


@dataclass(frozen=True)
class Checkpoint:
    """A tenant's chain head and counts at one moment, signed."""

    tenant: str
    seq: int
    head_hash: str
    events: int
    instances: int
    taken_at: str
    """UTC, ``utc_iso``."""
    key: str
    """The signing key's fingerprint (``fingerprint``)."""
    signature: str = ""
    """Ed25519 signature of ``signed_bytes``, base64."""

    def signed_bytes(self) -> bytes:
        """What is signed: the canonical JSON of every field but the signature."""
        body = {"format": FORMAT, **asdict(self)}
        del body["signature"]
        return canonical_json(body).encode("utf-8")

    def to_json(self) -> str:
        """The checkpoint file's text."""
        return json.dumps({"format": FORMAT, **asdict(self)}, ensure_ascii=False, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str = "checkpoint") -> Checkpoint:
        """Read a checkpoint file's text (``CheckpointError`` naming ``source`` when malformed)."""
        try:
            return cls._parsed(text)
        except (ValueError, TypeError) as exc:
            raise CheckpointError(f"{source}: not a readable checkpoint ({exc})") from None

    @classmethod
    def _parsed(cls, text: str) -> Checkpoint:
        """The checkpoint in ``text``; ValueError or TypeError saying what is wrong."""
        data = json.loads(text)
        if not isinstance(data, dict) or data.pop("format", None) != FORMAT:
            raise ValueError(f"not an {FORMAT} file")
        found = cls(**data)
        types = (str, int, str, int, int, str, str, str)
        if not all(isinstance(v, t) for v, t in zip(asdict(found).values(), types, strict=True)):
            raise ValueError("a field has the wrong type")
        return found


def fingerprint(public_pem: bytes) -> str:
    """``SHA256:`` and the hex sha256 of the raw 32-byte public key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    key = serialization.load_pem_public_key(public_pem)
    if not isinstance(key, Ed25519PublicKey):
        raise CheckpointError("the public key is not an Ed25519 key")
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "SHA256:" + hashlib.sha256(raw).hexdigest()


def generate_key() -> tuple[bytes, bytes]:
    """A new Ed25519 key pair as PEM: (private, public)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private = Ed25519PrivateKey.generate()
    return (
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
    )


def public_of(private_pem: bytes) -> bytes:
    """The public key (PEM) of a private key (PEM)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private = serialization.load_pem_private_key(private_pem, password=None)
    if not isinstance(private, Ed25519PrivateKey):
        raise CheckpointError("the signing key is not an Ed25519 key")
    return private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@dataclass(frozen=True)
class ChainState:
    """Where a tenant's chain stands in the database."""

    seq: int
    head_hash: str | None
    events: int
    instances: int


def chain_state(session: Session, tenant: str) -> ChainState:
    """The tenant's head (seq 0 and no hash without one) and its event and instance counts."""
    head = session.execute(
        select(ChainHead.seq, ChainHead.hash).where(ChainHead.tenant == tenant)
    ).first()
    events = session.scalar(select(func.count()).where(AuditEvent.tenant == tenant)) or 0
    instances = session.scalar(select(func.count()).where(Instance.tenant == tenant)) or 0
    return ChainState(
        seq=int(head.seq) if head else 0,
        head_hash=str(head.hash) if head else None,
        events=int(events),
        instances=int(instances),
    )


def take(session: Session, tenant: str, private_pem: bytes, now: datetime) -> Checkpoint:
    """Sign the tenant's chain state as of the session's view."""
    state = chain_state(session, tenant)
    unsigned = Checkpoint(
        tenant=tenant,
        seq=state.seq,
        head_hash=state.head_hash or "",
        events=state.events,
        instances=state.instances,
        taken_at=utc_iso(now),
        key=fingerprint(public_of(private_pem)),
    )
    return sign(unsigned, private_pem)


def sign(checkpoint: Checkpoint, private_pem: bytes) -> Checkpoint:
    """``checkpoint`` signed with the Ed25519 key ``private_pem`` (its ``key`` set to match)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private = serialization.load_pem_private_key(private_pem, password=None)
    if not isinstance(private, Ed25519PrivateKey):
        raise CheckpointError("the signing key is not an Ed25519 key")
    unsigned = replace(checkpoint, key=fingerprint(public_of(private_pem)), signature="")
    signature = base64.b64encode(private.sign(unsigned.signed_bytes())).decode("ascii")
    return replace(unsigned, signature=signature)


def signature_ok(checkpoint: Checkpoint, public_pem: bytes) -> bool:
    """True when ``checkpoint`` was signed by the key ``public_pem`` and not altered since."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        key = serialization.load_pem_public_key(public_pem)
    except (ValueError, TypeError):  # not a PEM public key at all
        return False
    if not isinstance(key, Ed25519PublicKey) or checkpoint.key != fingerprint(public_pem):
        return False
    try:
        key.verify(base64.b64decode(checkpoint.signature, validate=True), checkpoint.signed_bytes())
    except (InvalidSignature, ValueError):
        return False
    return True


class CheckpointFolder:
    """Files ``<root>/<tenant>/<seq>.json`` and the public key ``<root>/public-key.pem``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def public_key_path(self) -> Path:
        """Where the public key lies."""
        return self.root / PUBLIC_KEY_FILE

    def public_key(self) -> bytes | None:
        """The public key (PEM), or None when there is none."""
        path = self.public_key_path
        return path.read_bytes() if path.is_file() else None

    def public_keys(self) -> list[bytes]:
        """The current public key and the retired ones (PEM)."""
        retired = self.root / RETIRED_KEYS
        paths = [self.public_key_path, *sorted(retired.glob("*.pem") if retired.is_dir() else [])]
        return [path.read_bytes() for path in paths if path.is_file()]

    def retire_public_key(self) -> Path | None:
        """Move the current public key to ``retired-keys/`` (before a new key replaces it)."""
        current = self.public_key()
        if current is None:
            return None
        try:
            name = fingerprint(current).removeprefix("SHA256:")[:16]
        except (CheckpointError, ValueError):
            name = "unreadable"
        target = self.root / RETIRED_KEYS / f"{name}.pem"
        target.parent.mkdir(parents=True, exist_ok=True)
        self.public_key_path.replace(target)
        return target

    def _folder(self, tenant: str) -> Path:
        if not _TENANT_NAME.match(tenant):
            raise CheckpointError(f"tenant {tenant!r} cannot name a checkpoint folder")
        return self.root / tenant

    def write(self, checkpoint: Checkpoint) -> Path:
        """Store ``checkpoint``; a checkpoint of the same seq already stored is kept as it is."""
        path = self._folder(checkpoint.tenant) / f"{checkpoint.seq:012d}.json"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(".tmp")
            temporary.write_text(checkpoint.to_json(), encoding="utf-8")
            temporary.replace(path)
        return path

    def tenants(self) -> list[str]:
        """Tenants with a checkpoint folder."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and any(p.glob("*.json")))

    def load(self, tenant: str) -> list[Checkpoint]:
        """The tenant's checkpoints, oldest first (``CheckpointError`` on an unreadable file)."""
        folder = self._folder(tenant)
        files = sorted(folder.glob("*.json")) if folder.is_dir() else []
        return [Checkpoint.from_json(f.read_text(encoding="utf-8"), str(f)) for f in files]

    def latest(self, tenant: str) -> Checkpoint | None:
        """The tenant's newest checkpoint, or None."""
        found = self.load(tenant)
        return found[-1] if found else None


def _when(checkpoint: Checkpoint) -> str:
    return f"the signed checkpoint of {checkpoint.taken_at}"


def check(
    session: Session, checkpoints: Iterable[Checkpoint], public_keys: Sequence[bytes]
) -> list[Break]:
    """Compare the database with ``checkpoints``; one break per tampered tenant, named.

    A checkpoint whose signature does not verify with any of ``public_keys`` (PEM) is itself
    reported (and not trusted for the comparison).
    """
    breaks: list[Break] = []
    by_tenant: dict[str, list[Checkpoint]] = {}
    for checkpoint in checkpoints:
        if not any(signature_ok(checkpoint, key) for key in public_keys):
            why = (
                "no public key to check it with"
                if not public_keys
                else (
                    "its signature does not verify with the public key (the checkpoint was altered "
                    "or signed by another key)"
                )
            )
            breaks.append(
                Break(
                    checkpoint.tenant,
                    None,
                    checkpoint.seq,
                    f"checkpoint of seq {checkpoint.seq}: {why}",
                )
            )
            continue
        by_tenant.setdefault(checkpoint.tenant, []).append(checkpoint)
    for tenant, found in sorted(by_tenant.items()):
        broken = _check_tenant(session, tenant, sorted(found, key=lambda c: (c.seq, c.taken_at)))
        if broken is not None:
            breaks.append(broken)
    return breaks


def _check_tenant(session: Session, tenant: str, checkpoints: Sequence[Checkpoint]) -> Break | None:
    state = chain_state(session, tenant)
    latest = checkpoints[-1]
    if state.events == 0 and latest.events > 0:
        return Break(
            tenant,
            None,
            latest.seq,
            f"trail deleted: {_when(latest)} counts {latest.events} events and "
            f"{latest.instances} instances; the database has 0 events and "
            f"{state.instances} instances (the tenant's whole trail was deleted)",
        )
    seqs = sorted({c.seq for c in checkpoints if c.seq > 0})
    stored: dict[int, str] = {}
    for start in range(0, len(seqs), 500):
        rows = session.execute(
            select(AuditEvent.seq, AuditEvent.hash).where(
                AuditEvent.tenant == tenant, AuditEvent.seq.in_(seqs[start : start + 500])
            )
        )
        stored.update({int(seq): str(hash_) for seq, hash_ in rows})
    last_good = 0
    for checkpoint in checkpoints:
        if checkpoint.seq == 0:
            continue
        found = stored.get(checkpoint.seq)
        if found is None or state.seq < checkpoint.seq:
            return Break(
                tenant,
                None,
                checkpoint.seq,
                f"tail cut: {_when(checkpoint)} has the chain at seq {checkpoint.seq}, "
                f"the database's chain ends at seq {state.seq} (events after seq "
                f"{state.seq} were deleted and the head moved back)",
            )
        if found != checkpoint.head_hash:
            return Break(
                tenant,
                None,
                checkpoint.seq,
                f"rewritten: the event at seq {checkpoint.seq} does not have the hash "
                f"{_when(checkpoint)} recorded (an event between seq {last_good + 1} "
                f"and {checkpoint.seq} was rewritten and the chain re-hashed)",
            )
        last_good = checkpoint.seq
    if state.instances < latest.instances:
        return Break(
            tenant,
            None,
            latest.seq,
            f"instances deleted: {_when(latest)} counts {latest.instances} instances, "
            f"the database has {state.instances}",
        )
    return None
