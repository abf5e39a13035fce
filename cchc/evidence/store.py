"""Content-addressed storage of evidence files (tài liệu kiểm chứng) under ``data_dir/evidence``.

A stored file is named by the sha256 of its bytes, at ``evidence/ab/cd/<sha256>``: no extension
and nothing taken from the uploader's file name, which is kept as data only (sanitised for
display). Files are streamed while hashed, checked against a size limit, an extension allow-list
and the magic bytes of their type, written to a temporary file on the same file system, then
moved into place with ``os.replace``: a reader never sees half a file, and storing the same
content twice stores it once.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
import unicodedata
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, suppress
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import BinaryIO

from workflows.database import Settings

MiB = 1024 * 1024
DEFAULT_MAX_BYTES = 20 * MiB
CHUNK = 1 * MiB

DEFAULT_ALLOWED: Mapping[str, str] = MappingProxyType(
    {
        "pdf": "application/pdf",
        "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "doc": "application/msword",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "xls": "application/vnd.ms-excel",
        "jpg": "image/jpeg",
        "jpeg": "image/jpeg",
        "png": "image/png",
        "zip": "application/zip",
    }
)
"""Extensions accepted by default, with the media type recorded for each."""

_ZIP = b"PK\x03\x04"
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
SIGNATURES: Mapping[str, tuple[bytes, ...]] = MappingProxyType(
    {
        "pdf": (b"%PDF-",),
        "docx": (_ZIP,),
        "xlsx": (_ZIP,),
        "zip": (_ZIP, b"PK\x05\x06"),  # the second: an empty archive
        "doc": (_OLE,),
        "xls": (_OLE,),
        "jpg": (b"\xff\xd8\xff",),
        "jpeg": (b"\xff\xd8\xff",),
        "png": (b"\x89PNG\r\n\x1a\n",),
    }
)
"""The bytes a file of each extension starts with (its magic number)."""

_HEADER = max(len(s) for sigs in SIGNATURES.values() for s in sigs)

_OOXML_FOLDER = {"docx": "word/", "xlsx": "xl/"}
"""An Office Open XML file is a zip holding ``[Content_Types].xml`` and this folder."""

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_INCOMING = ".incoming"
MAX_NAME = 200
"""Longest original name kept (characters); longer names are shortened, keeping the extension."""


class RejectReason(StrEnum):
    """Why a file was refused; stable codes for the API, the UI and the audit trail."""

    EMPTY = "empty"
    TOO_LARGE = "too_large"
    TYPE_NOT_ALLOWED = "type_not_allowed"
    CONTENT_MISMATCH = "content_mismatch"


class EvidenceRejected(ValueError):  # noqa: N818 (the name the API promises)
    """A file was refused; ``reason`` says why, the message says it in Vietnamese and English."""

    def __init__(self, reason: RejectReason, message: str, original_name: str = "") -> None:
        self.reason = reason
        self.original_name = original_name
        super().__init__(message)

    @property
    def vietnamese(self) -> str:
        """The Vietnamese half of the message (it reads ``Vietnamese / English``)."""
        return str(self).split(" / ", 1)[0]


@dataclass(frozen=True)
class StoredFile:
    """A file in the store: its hash and size, and what the uploader called it."""

    sha256: str
    size: int
    media_type: str
    original_name: str
    """The uploader's file name, sanitised for display; never used as a path."""
    extension: str
    """Lower-case, without the dot (``pdf``)."""
    path: Path


def sanitize_name(name: str) -> str:
    """The display form of an uploaded file's name: its last path part, printable, short.

    Folders (``/`` or ``\\``), drive letters, NUL and control characters are dropped, Unicode is
    normalised (NFC, so Vietnamese letters compare equal), and names over ``MAX_NAME`` characters
    are cut, keeping the extension. The result is for display and records only, never a path.
    """
    name = unicodedata.normalize("NFC", name)
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(
        " " if ch in "\t\r\n" else ch
        for ch in name
        if ch in "\t\r\n" or unicodedata.category(ch)[0] != "C"
    )
    name = re.sub(r"\s+", " ", name).strip().lstrip(".").strip()
    if re.fullmatch(r"[A-Za-z]:", name) or not name:
        return "unnamed"
    if len(name) > MAX_NAME:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 10:
            name = stem[: MAX_NAME - len(ext) - 1].rstrip() + "." + ext
        else:
            name = name[:MAX_NAME]
    return name


def extension_of(name: str) -> str:
    """The lower-case extension of a (sanitised) name, without the dot; ``""`` when none."""
    stem, dot, ext = name.rpartition(".")
    return ext.lower() if dot and stem else ""


def _size_text(size: int) -> str:
    if size >= MiB and size % MiB == 0:
        return f"{size // MiB} MiB"
    if size >= MiB:
        return f"{size / MiB:.1f} MiB"
    return f"{size} byte"


class EvidenceStore:
    """Evidence files by sha256 under ``root`` (``data_dir/evidence``)."""

    def __init__(
        self,
        root: Path,
        max_bytes: int = DEFAULT_MAX_BYTES,
        allowed: Mapping[str, str] = DEFAULT_ALLOWED,
    ) -> None:
        if max_bytes <= 0:
            raise ValueError("max_bytes must be positive")
        normalised = {ext.lower().lstrip("."): media for ext, media in allowed.items()}
        unchecked = sorted(set(normalised) - set(SIGNATURES))
        if unchecked:
            raise ValueError(
                f"no content check is known for extension(s) {', '.join(unchecked)}; "
                f"known: {', '.join(sorted(SIGNATURES))}"
            )
        self.root = root
        self.max_bytes = max_bytes
        self.allowed: Mapping[str, str] = MappingProxyType(normalised)

    @classmethod
    def for_settings(cls, settings: Settings, max_bytes: int = DEFAULT_MAX_BYTES) -> EvidenceStore:
        """The store of a data folder: ``settings.data_dir / "evidence"``."""
        return cls(settings.data_dir / "evidence", max_bytes=max_bytes)

    # --- reading --------------------------------------------------------------------------------

    def path_of(self, sha256: str) -> Path:
        """Where the file with this hash lives (it may not exist); refuses anything but hex."""
        if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
            raise ValueError(f"not a sha256 (64 lower-case hex digits): {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        """Whether a file with this hash is stored."""
        return self.path_of(sha256).is_file()

    def open(self, sha256: str) -> BinaryIO:
        """The stored file, opened for binary reading; ``FileNotFoundError`` when absent."""
        return self.path_of(sha256).open("rb")

    def verify(self, sha256: str) -> bool:
        """Re-hash the stored file: ``True`` only if it exists and its bytes still match."""
        try:
            with self.open(sha256) as handle:
                digest = hashlib.sha256()
                for chunk in iter(lambda: handle.read(CHUNK), b""):
                    digest.update(chunk)
        except FileNotFoundError:
            return False
        return digest.hexdigest() == sha256

    # --- writing --------------------------------------------------------------------------------

    def put(self, source: bytes | BinaryIO | Path, original_name: str) -> StoredFile:
        """Store ``source`` (bytes, an open binary file or a path); the stored file's record.

        Raises ``EvidenceRejected`` (and leaves nothing behind) when the file is empty, larger
        than ``max_bytes``, of an extension not allowed, or its content does not match its
        extension. Storing content already present changes nothing and returns the same hash.
        """
        name = sanitize_name(original_name)
        ext = extension_of(name)
        if ext not in self.allowed:
            raise self._rejected(RejectReason.TYPE_NOT_ALLOWED, name, ext)
        if isinstance(source, Path) and source.stat().st_size > self.max_bytes:
            raise self._rejected(RejectReason.TOO_LARGE, name, ext)
        incoming = self.root / _INCOMING
        incoming.mkdir(parents=True, exist_ok=True)
        with ExitStack() as stack:
            if isinstance(source, bytes | bytearray | memoryview):
                stream: BinaryIO = io.BytesIO(source)
            elif isinstance(source, Path):
                stream = stack.enter_context(source.open("rb"))
            else:
                stream = source
            fd, temp_name = tempfile.mkstemp(dir=incoming, prefix="put-", suffix=".part")
            temp = Path(temp_name)
            try:
                with os.fdopen(fd, "wb") as out:
                    sha256, size = self._copy(stream, out, name, ext)
                    out.flush()
                    os.fsync(out.fileno())
                self._check_structure(temp, name, ext)
                final = self.path_of(sha256)
                if self.verify(sha256):
                    temp.unlink()  # same content already stored: nothing to do
                else:  # new content, or a stored copy that was damaged: (re)place it
                    final.parent.mkdir(parents=True, exist_ok=True)
                    temp.chmod(0o444)  # stored files never change
                    temp.replace(final)
                    _fsync_dir(final.parent)
            except BaseException:
                with suppress(FileNotFoundError):
                    temp.unlink()
                raise
        return StoredFile(
            sha256=sha256,
            size=size,
            media_type=self.allowed[ext],
            original_name=name,
            extension=ext,
            path=final,
        )

    def _copy(self, stream: BinaryIO, out: BinaryIO, name: str, ext: str) -> tuple[str, int]:
        """Copy while hashing; check the magic bytes first and the size as it grows."""
        digest = hashlib.sha256()
        size = 0
        header = b""
        for chunk in _chunks(stream):
            if len(header) < _HEADER:
                header += chunk[: _HEADER - len(header)]
                if len(header) >= _HEADER and not _matches(header, ext):
                    raise self._rejected(RejectReason.CONTENT_MISMATCH, name, ext)
            size += len(chunk)
            if size > self.max_bytes:
                raise self._rejected(RejectReason.TOO_LARGE, name, ext)
            digest.update(chunk)
            out.write(chunk)
        if size == 0:
            raise self._rejected(RejectReason.EMPTY, name, ext)
        if len(header) < _HEADER and not _matches(header, ext):
            raise self._rejected(RejectReason.CONTENT_MISMATCH, name, ext)
        return digest.hexdigest(), size

    def _check_structure(self, temp: Path, name: str, ext: str) -> None:
        """A zip (docx, xlsx, zip) must open as one; docx/xlsx must hold their own folder."""
        if SIGNATURES.get(ext, ())[:1] != (_ZIP,):
            return
        try:
            with zipfile.ZipFile(temp) as archive:
                names = archive.namelist()
        except (zipfile.BadZipFile, OSError, ValueError):
            raise self._rejected(RejectReason.CONTENT_MISMATCH, name, ext) from None
        folder = _OOXML_FOLDER.get(ext)
        if folder is not None and not (
            "[Content_Types].xml" in names and any(n.startswith(folder) for n in names)
        ):
            raise self._rejected(RejectReason.CONTENT_MISMATCH, name, ext)

    def _rejected(self, reason: RejectReason, name: str, ext: str) -> EvidenceRejected:
        accepted = ", ".join(sorted(self.allowed))
        limit = _size_text(self.max_bytes)
        messages = {
            RejectReason.EMPTY: (f"Tệp “{name}” rỗng (0 byte). / The file “{name}” is empty."),
            RejectReason.TOO_LARGE: (
                f"Tệp “{name}” vượt quá dung lượng cho phép ({limit}). "
                f"/ The file “{name}” is larger than the limit ({limit})."
            ),
            RejectReason.TYPE_NOT_ALLOWED: (
                f"Loại tệp “.{ext}” không được chấp nhận; chỉ nhận: {accepted}. "
                f"/ File type “.{ext}” is not allowed; accepted: {accepted}."
                if ext
                else f"Tệp “{name}” không có phần mở rộng; chỉ nhận: {accepted}. "
                f"/ The file “{name}” has no extension; accepted: {accepted}."
            ),
            RejectReason.CONTENT_MISMATCH: (
                f"Nội dung tệp “{name}” không đúng định dạng .{ext} "
                "(tệp bị đổi tên hoặc bị hỏng?). "
                f"/ The content of “{name}” is not a valid .{ext} file (renamed or damaged?)."
            ),
        }
        return EvidenceRejected(reason, messages[reason], original_name=name)


def _chunks(stream: BinaryIO) -> Iterator[bytes]:
    while True:
        chunk = stream.read(CHUNK)
        if not chunk:
            return
        yield bytes(chunk)


def _matches(header: bytes, ext: str) -> bool:
    return any(header.startswith(sig) for sig in SIGNATURES[ext])


def _fsync_dir(folder: Path) -> None:
    """Make a rename durable (POSIX); a no-op where folders cannot be opened (Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
