"""The content-addressed evidence store: what it accepts, refuses, and never writes."""

from __future__ import annotations

import hashlib
import io
import stat
import zipfile
from pathlib import Path

import pytest

from cchc.evidence.store import (
    CHUNK,
    EvidenceRejected,
    EvidenceStore,
    RejectReason,
    sanitize_name,
)
from workflows.database import Settings

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n" + bytes(range(256)) * 8 + b"%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(64)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(64) + b"\xff\xd9"
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512)


def _zip(*names: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "<x/>")
    return buffer.getvalue()


DOCX = _zip("[Content_Types].xml", "word/document.xml")
XLSX = _zip("[Content_Types].xml", "xl/workbook.xml")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "data" / "evidence"


@pytest.fixture
def store(root: Path) -> EvidenceStore:
    return EvidenceStore(root)


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def _objects(store: EvidenceStore) -> list[Path]:
    """Every stored object; asserts each sits at ab/cd/<sha256 of its content>."""
    found = []
    for path in _files(store.root):
        relative = path.relative_to(store.root)
        assert relative.parts[0] != ".incoming", f"left behind: {relative}"
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert relative.parts == (digest[:2], digest[2:4], digest), relative
        found.append(path)
    return found


def _assert_nothing_half_written(store: EvidenceStore) -> None:
    incoming = store.root / ".incoming"
    assert not incoming.exists() or list(incoming.iterdir()) == []


def _rejected(store: EvidenceStore, source: bytes | Path, name: str) -> EvidenceRejected:
    with pytest.raises(EvidenceRejected) as caught:
        store.put(source, name)
    _assert_nothing_half_written(store)
    return caught.value


class _CountingStream(io.RawIOBase):
    """A forward-only stream of ``total`` bytes that counts what was read from it."""

    def __init__(self, head: bytes, total: int) -> None:
        self.head = head
        self.total = total
        self.position = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        size = min(len(buffer), self.total - self.position)
        data = (self.head + bytes(size))[self.position : self.position + size]
        data = data.ljust(size, b"\x00")
        buffer[:size] = data
        self.position += size
        return size


# --- storing --------------------------------------------------------------------------------


def test_round_trip(store: EvidenceStore) -> None:
    """put() then open() gives the same bytes; the record names hash, size, type and name."""
    stored = store.put(PDF, "Báo cáo CCHC quý III.pdf")
    assert stored.sha256 == hashlib.sha256(PDF).hexdigest()
    assert stored.size == len(PDF)
    assert (stored.media_type, stored.extension) == ("application/pdf", "pdf")
    assert stored.original_name == "Báo cáo CCHC quý III.pdf"
    assert stored.path == store.path_of(stored.sha256)
    assert store.exists(stored.sha256)
    with store.open(stored.sha256) as handle:
        assert handle.read() == PDF
    assert store.verify(stored.sha256)
    assert _objects(store) == [stored.path]


@pytest.mark.parametrize(
    ("name", "content", "media_type"),
    [
        ("KE HOACH.PDF", PDF, "application/pdf"),
        ("anh.PNG", PNG, "image/png"),
        ("anh.jpg", JPEG, "image/jpeg"),
        ("anh.jpeg", JPEG, "image/jpeg"),
        (
            "bao-cao.docx",
            DOCX,
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        (
            "bang-diem.xlsx",
            XLSX,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        ("cu.doc", OLE, "application/msword"),
        ("cu.xls", OLE, "application/vnd.ms-excel"),
        ("ho-so.zip", _zip("a.pdf"), "application/zip"),
    ],
)
def test_each_allowed_type_is_accepted(
    store: EvidenceStore, name: str, content: bytes, media_type: str
) -> None:
    """Every allowed extension with matching content is stored; the extension is lower-cased."""
    stored = store.put(content, name)
    assert stored.media_type == media_type
    assert stored.extension == name.rsplit(".", 1)[1].lower()


def test_real_office_files_are_accepted(store: EvidenceStore, tmp_path: Path) -> None:
    """A docx written by python-docx and an xlsx written by openpyxl pass the content check."""
    import docx
    import openpyxl

    document = docx.Document()
    document.add_paragraph("Báo cáo kết quả thực hiện nhiệm vụ CCHC")
    docx_path = tmp_path / "bao-cao.docx"
    document.save(str(docx_path))
    workbook = openpyxl.Workbook()
    workbook.active["A1"] = "Tiêu chí 1.1.3"  # type: ignore[index]
    xlsx_path = tmp_path / "bang-diem.xlsx"
    workbook.save(xlsx_path)
    assert store.put(docx_path, docx_path.name).extension == "docx"
    assert store.put(xlsx_path, xlsx_path.name).extension == "xlsx"


def test_same_content_twice_is_stored_once(store: EvidenceStore) -> None:
    """Storing the same bytes twice (under other names) returns the same hash, one object."""
    first = store.put(PDF, "a.pdf")
    second = store.put(io.BytesIO(PDF), "b.pdf")
    assert second.sha256 == first.sha256
    assert second.original_name == "b.pdf"
    assert _objects(store) == [first.path]
    _assert_nothing_half_written(store)


def test_put_accepts_a_path(store: EvidenceStore, tmp_path: Path) -> None:
    """A Path source is read from disk and stored under its hash, the source left in place."""
    source = tmp_path / "upload.bin"
    source.write_bytes(PNG)
    stored = store.put(source, "anh.png")
    assert source.read_bytes() == PNG
    assert stored.path.read_bytes() == PNG


def test_stream_is_read_once(store: EvidenceStore) -> None:
    """A forward-only stream is read exactly once, end to end, while being hashed."""
    stream = _CountingStream(b"%PDF-1.4\n", 3 * CHUNK + 17)
    stored = store.put(io.BufferedReader(stream), "lon.pdf")
    assert stream.position == 3 * CHUNK + 17
    assert stored.size == 3 * CHUNK + 17


def test_stored_files_are_read_only(store: EvidenceStore) -> None:
    """A stored object has no write permission bits."""
    stored = store.put(PDF, "a.pdf")
    assert stat.S_IMODE(stored.path.stat().st_mode) & 0o222 == 0


def test_for_settings_uses_the_data_dir(tmp_path: Path) -> None:
    """The store of a Settings lives in data_dir/evidence."""
    settings = Settings(data_dir=tmp_path / "var", database_url="sqlite://")
    store = EvidenceStore.for_settings(settings, max_bytes=1000)
    assert store.root == tmp_path / "var" / "evidence"
    assert store.max_bytes == 1000


# --- hostile names ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("C:\\x\\..\\y.pdf", "y.pdf"),
        ("/etc/cron.d/evil.pdf", "evil.pdf"),
        ("..\\..\\..\\windows\\system32\\a.pdf", "a.pdf"),
        ("bao\x00cao.pdf", "baocao.pdf"),
        ("tai-lieu\u202efdp.pdf", "tai-lieufdp.pdf"),
        ("..pdf.pdf", "pdf.pdf"),
    ],
)
def test_hostile_names_never_become_paths(
    store: EvidenceStore, tmp_path: Path, name: str, shown: str
) -> None:
    """Traversal, absolute, Windows and NUL names are shown sanitised; files stay under root."""
    stored = store.put(PDF, name)
    assert stored.original_name == shown
    assert _files(tmp_path) == _objects(store) == [stored.path]
    assert stored.path.resolve().is_relative_to(store.root.resolve())


def test_names_that_leave_no_extension_are_refused(store: EvidenceStore, tmp_path: Path) -> None:
    """`../../etc/passwd` has no allowed extension: refused, and nothing is written anywhere."""
    for name in ("../../etc/passwd", "C:\\x\\..\\", "", "..", "\x00"):
        error = _rejected(store, PDF, name)
        assert error.reason is RejectReason.TYPE_NOT_ALLOWED
    assert _files(tmp_path) == []


def test_very_long_names_are_shortened_keeping_the_extension() -> None:
    """A 5000-character name is cut to 200 characters and keeps its extension."""
    shown = sanitize_name("Báo cáo " * 625 + ".pdf")
    assert len(shown) <= 200
    assert shown.endswith(".pdf")


# --- refusals ---------------------------------------------------------------------------------


def test_oversize_is_refused(root: Path) -> None:
    """A file over max_bytes is refused as too_large, with a Vietnamese and English message."""
    store = EvidenceStore(root, max_bytes=len(PDF) - 1)
    error = _rejected(store, PDF, "a.pdf")
    assert error.reason == "too_large"
    assert "vượt quá dung lượng" in str(error)
    assert "larger than the limit" in str(error)
    assert store.put(PDF[: len(PDF) - 1], "b.pdf").size == len(PDF) - 1


def test_oversize_stream_is_not_read_to_the_end(root: Path) -> None:
    """An endless upload stops being read soon after the limit is passed."""
    store = EvidenceStore(root, max_bytes=2 * CHUNK)
    stream = _CountingStream(b"%PDF-1.4\n", 1000 * CHUNK)
    with pytest.raises(EvidenceRejected) as caught:
        store.put(io.BufferedReader(stream), "a.pdf")
    assert caught.value.reason is RejectReason.TOO_LARGE
    assert stream.position <= 2 * CHUNK + 2 * CHUNK
    _assert_nothing_half_written(store)


def test_oversize_path_is_refused_before_reading(root: Path, tmp_path: Path) -> None:
    """A Path larger than the limit is refused from its size alone."""
    source = tmp_path / "big.pdf"
    source.write_bytes(PDF)
    store = EvidenceStore(root, max_bytes=10)
    assert _rejected(store, source, "big.pdf").reason is RejectReason.TOO_LARGE
    assert not root.exists()


def test_wrong_type_is_refused(store: EvidenceStore) -> None:
    """An extension outside the allow-list is refused as type_not_allowed."""
    for name in ("virus.exe", "script.pdf.js", "ghi-chu.txt", "khong-duoi"):
        error = _rejected(store, b"MZ\x90\x00", name)
        assert error.reason is RejectReason.TYPE_NOT_ALLOWED
        assert "không được chấp nhận" in str(error) or "không có phần mở rộng" in str(error)
    assert _files(store.root) == []


def test_allow_list_can_be_narrowed(root: Path) -> None:
    """A store allowing only pdf refuses png; an extension with no known check is an error."""
    store = EvidenceStore(root, allowed={".PDF": "application/pdf"})
    assert _rejected(store, PNG, "anh.png").reason is RejectReason.TYPE_NOT_ALLOWED
    assert store.put(PDF, "a.pdf").media_type == "application/pdf"
    with pytest.raises(ValueError, match="txt"):
        EvidenceStore(root, allowed={"txt": "text/plain"})


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("gia-mao.pdf", PNG),
        ("anh.png", PDF),
        ("anh.jpg", PNG),
        ("bao-cao.docx", OLE),
        ("cu.doc", DOCX),
        ("bao-cao.docx", XLSX),
        ("bang.xlsx", DOCX),
        ("hong.zip", b"PK\x03\x04" + bytes(100)),
        ("ngan.pdf", b"%PD"),
    ],
)
def test_content_mismatch_is_refused(store: EvidenceStore, name: str, content: bytes) -> None:
    """Content that is not what the extension says (e.g. a .pdf that is a PNG) is refused."""
    error = _rejected(store, content, name)
    assert error.reason is RejectReason.CONTENT_MISMATCH
    assert "không đúng định dạng" in str(error)
    assert "is not a valid" in str(error)
    assert _files(store.root) == []


def test_empty_is_refused(store: EvidenceStore) -> None:
    """A file with no bytes is refused as empty."""
    for source in (b"", io.BytesIO(b"")):
        error = _rejected(store, source, "rong.pdf")  # type: ignore[arg-type]
        assert error.reason is RejectReason.EMPTY
        assert "rỗng" in str(error)
    assert _files(store.root) == []


def test_rejection_is_a_value_error(store: EvidenceStore) -> None:
    """EvidenceRejected is a ValueError carrying the sanitised original name."""
    with pytest.raises(ValueError, match="is empty") as caught:
        store.put(b"", "../rong.pdf")
    assert isinstance(caught.value, EvidenceRejected)
    assert caught.value.original_name == "rong.pdf"


def test_a_failing_source_leaves_nothing(store: EvidenceStore) -> None:
    """A stream that breaks mid-way raises its own error and leaves no temporary file."""

    class Broken(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            if getattr(self, "done", False):
                raise OSError("connection reset")
            self.done = True
            return PDF

    with pytest.raises(OSError, match="connection reset"):
        store.put(Broken(), "a.pdf")  # type: ignore[arg-type]
    _assert_nothing_half_written(store)
    assert _objects(store) == []


# --- reading and checking -------------------------------------------------------------------


def test_verify_detects_a_flipped_byte(store: EvidenceStore) -> None:
    """verify() re-hashes on disk: one flipped byte makes it False; a re-put repairs it."""
    stored = store.put(PDF, "a.pdf")
    stored.path.chmod(0o644)
    data = bytearray(stored.path.read_bytes())
    data[100] ^= 0x01
    stored.path.write_bytes(bytes(data))
    assert not store.verify(stored.sha256)
    assert store.put(PDF, "a.pdf").sha256 == stored.sha256
    assert store.verify(stored.sha256)


def test_missing_object(store: EvidenceStore) -> None:
    """An unknown hash does not exist, does not verify, and cannot be opened."""
    digest = hashlib.sha256(b"never stored").hexdigest()
    assert not store.exists(digest)
    assert not store.verify(digest)
    with pytest.raises(FileNotFoundError):
        store.open(digest)


@pytest.mark.parametrize(
    "bad",
    [
        "../../etc/passwd",
        "ab/cd/" + "0" * 58,
        "0" * 63,
        "0" * 65,
        "A" * 64,
        "g" * 64,
        "0" * 64 + "\n",
        "/" + "0" * 63,
        "",
    ],
)
def test_path_of_rejects_anything_but_hex(store: EvidenceStore, bad: str) -> None:
    """path_of(), exists(), open() and verify() refuse a value that is not 64 lower-case hex."""
    for method in (store.path_of, store.exists, store.open, store.verify):
        with pytest.raises(ValueError, match="not a sha256"):
            method(bad)


def test_path_layout(store: EvidenceStore) -> None:
    """A hash maps to root/ab/cd/<hash>."""
    digest = "abcd" + "0" * 60
    assert store.path_of(digest) == store.root / "ab" / "cd" / digest
