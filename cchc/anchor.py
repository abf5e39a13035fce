"""The ward's signed audit checkpoints: where the key and the files live, and how they read.

The signing key (Ed25519, private) is the file ``CCHC_SIGNING_KEY`` or
``DATA_DIR/keys/checkpoint-signing-key.pem``, made by ``cchc keys init`` with mode 0600; a key
that others can read is refused. Checkpoints are files ``DATA_DIR/checkpoints/<tenant>/<seq>.json``
beside the public key ``DATA_DIR/checkpoints/public-key.pem``: verifying needs no private key.
Without a key no checkpoint is taken (``checkpoint_ward`` returns None) and nothing else changes.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from cchc import vi_text
from workflows.audit import Break
from workflows.checkpoint import (
    Checkpoint,
    CheckpointError,
    CheckpointFolder,
    check,
    fingerprint,
    generate_key,
    public_of,
    take,
)
from workflows.database import Settings

KEY_ENV = "CCHC_SIGNING_KEY"
KEY_FILE = "checkpoint-signing-key.pem"


class SigningKeyError(CheckpointError):
    """The signing key is missing, unreadable, of the wrong kind or readable by others."""


def signing_key_path(settings: Settings) -> Path:
    """``CCHC_SIGNING_KEY`` or ``DATA_DIR/keys/checkpoint-signing-key.pem``."""
    return Path(os.environ.get(KEY_ENV) or settings.data_dir / "keys" / KEY_FILE)


def checkpoint_folder(settings: Settings) -> CheckpointFolder:
    """``DATA_DIR/checkpoints``."""
    return CheckpointFolder(settings.data_dir / "checkpoints")


def init_key(settings: Settings, *, force: bool = False) -> tuple[Path, str]:
    """Make the signing key (0600) and publish its public part; (key path, fingerprint).

    An existing key is kept (``SigningKeyError``) unless ``force``; the old public key then
    moves to ``checkpoints/retired-keys/``, so that the checkpoints it signed still verify.
    """
    path = signing_key_path(settings)
    if path.exists() and not force:
        raise SigningKeyError(f"{path} exists already (use --force to replace it)")
    private, public = generate_key()
    folder = checkpoint_folder(settings)
    folder.retire_public_key()  # the old key's checkpoints keep verifying
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(path.name + ".tmp")
    temporary.unlink(missing_ok=True)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(private)
    temporary.replace(path)
    folder.root.mkdir(parents=True, exist_ok=True)
    folder.public_key_path.write_bytes(public)
    return path, fingerprint(public)


def read_signing_key(path: Path) -> bytes:
    """The private key's PEM; refused when the group or others may read or write the file."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise SigningKeyError(f"no signing key at {path} (run `cchc keys init`)") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SigningKeyError(
            f"{path} may be read by others (mode {stat.filemode(mode)}); run `chmod 600 {path}`"
        )
    return path.read_bytes()


def checkpoint_ward(
    settings: Settings, sessions: sessionmaker[Session], tenant: str, now: datetime
) -> tuple[Checkpoint, Path] | None:
    """Sign and store the tenant's checkpoint; None when no signing key is configured.

    The public key is written beside the checkpoints when it is not there yet.
    """
    path = signing_key_path(settings)
    if not path.exists():
        return None
    private = read_signing_key(path)
    folder = checkpoint_folder(settings)
    if folder.public_key() is None:
        folder.root.mkdir(parents=True, exist_ok=True)
        folder.public_key_path.write_bytes(public_of(private))
    with sessions() as session:
        checkpoint = take(session, tenant, private, now)
    return checkpoint, folder.write(checkpoint)


@dataclass(frozen=True)
class AnchorReport:
    """Checkpoints compared with the database: how many, the newest, and what does not match."""

    checked: int
    latest: Checkpoint | None
    breaks: tuple[Break, ...]


def check_ward(
    settings: Settings, session: Session, tenant: str, extra: Sequence[Checkpoint] = ()
) -> AnchorReport:
    """The tenant's stored checkpoints and ``extra`` ones (brought by an inspector) checked."""
    folder = checkpoint_folder(settings)
    try:
        stored = folder.load(tenant)
    except CheckpointError as exc:
        return AnchorReport(0, None, (Break(tenant, None, None, str(exc)),))
    found = [*stored, *extra]
    breaks = check(session, found, folder.public_keys()) if found else []
    latest = max(found, key=lambda c: (c.seq, c.taken_at)) if found else None
    return AnchorReport(len(found), latest, tuple(breaks))


def checkpoint_text(checkpoint: Checkpoint) -> str:
    """The checkpoint as a Vietnamese sentence for reports and the digest."""
    taken = vi_text.datetime_text(checkpoint.taken_at, seconds=True)
    return (
        f"Điểm neo nhật ký đã ký số (Ed25519) lúc {taken}: số thứ tự đầu chuỗi "
        f"{vi_text.number(checkpoint.seq, 0)}, mã băm đầu chuỗi {checkpoint.head_hash[:16]}…, "
        f"{vi_text.number(checkpoint.events, 0)} sự kiện, "
        f"{vi_text.number(checkpoint.instances, 0)} hồ sơ; "
        f"dấu vân tay khóa ký {checkpoint.key[:23]}…"
    )


def report_checkpoint_text(
    settings: Settings, sessions: sessionmaker[Session], tenant: str, now: datetime
) -> str:
    """For a report: a checkpoint signed now (or the newest stored one), or why there is none."""
    try:
        taken = checkpoint_ward(settings, sessions, tenant, now)
    except CheckpointError:
        taken = None
    if taken is not None:
        return checkpoint_text(taken[0])
    return latest_checkpoint_text(settings, tenant) or (
        "Chưa có điểm neo nhật ký đã ký số (chưa tạo khóa ký: `cchc keys init`)."
    )


def latest_checkpoint_text(settings: Settings, tenant: str) -> str | None:
    """The sentence of the tenant's newest stored checkpoint, or None when there is none."""
    try:
        latest = checkpoint_folder(settings).latest(tenant)
    except CheckpointError:
        return None
    return checkpoint_text(latest) if latest else None
