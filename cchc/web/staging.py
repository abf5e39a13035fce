"""Files officials upload (plans, metrics, scoring inputs), kept by content hash until used.

A check stores the uploaded bytes as ``DATA_DIR/staging/<sha256>.<suffix>`` (never a name
from the request) and the page's confirm form carries the hash only; issuing or importing
reads the file of that hash back and checks that its bytes still hash to it, so exactly the
file that was checked is the one used. A file refused by the check is removed at once.

The problems a check reports (``workflows.errors.Problem``: file, line, a stable code, the
checker's detail and a hint) are laid out for a table: sheet, row, column, the Vietnamese
words of the code and the detail.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fastapi import UploadFile

from workflows.errors import Problem
from workflows.limits import limits

SUFFIXES = {".xlsx": "xlsx", ".yaml": "yaml", ".yml": "yaml", ".csv": "csv"}
"""Upload suffix (lower case) → the suffix it is staged under."""

HASH = re.compile(r"[0-9a-f]{64}")
CHUNK = 1 << 16

PROBLEM_WORDS = {
    "CCHC-P001": "Không đọc được tệp kế hoạch (tệp hỏng, quá lớn, không phải .xlsx hoặc .yaml)",
    "CCHC-P002": "Có trường không thuộc mẫu kế hoạch, hoặc một khóa được viết hai lần",
    "CCHC-P003": "Thiếu thông tin bắt buộc hoặc thông tin không hợp lệ (mã, ngày, tên …)",
    "CCHC-P004": "Kỳ kế hoạch kết thúc trước khi bắt đầu",
    "CCHC-P005": "Mã nhiệm vụ bị trùng",
    "CCHC-P006": "Đơn vị không có trong danh sách đơn vị của phường",
    "CCHC-P007": "Tiêu chí không có trong bộ chỉ số",
    "CCHC-P008": "Thời hạn nhiệm vụ nằm ngoài kỳ kế hoạch",
    "CCHC-P009": "Tệp thiếu trang tính “Kế hoạch” hoặc “Nhiệm vụ”",
    "CCHC-P010": "Dòng tiêu đề của trang “Nhiệm vụ” thiếu cột bắt buộc",
    "CCHC-P011": "Ô bị gộp hoặc công thức chưa được tính: giá trị bị che khuất",
    "CCHC-M001": "Không đọc được tệp số liệu (tệp hỏng, quá lớn, không phải .csv hoặc .xlsx)",
    "CCHC-M002": "Tệp trống, không có dòng số liệu hoặc thiếu cột bắt buộc",
    "CCHC-M003": "Ô không hợp lệ (đơn vị, chỉ số, kỳ, số liệu hoặc dòng bị lặp)",
    "CCHC-M004": "Ô bị gộp, công thức chưa được tính hoặc bảng không nằm ở trang tính đầu tiên",
}
"""Problem code → what it means, in Vietnamese (docs/plans.md, docs/metrics.md)."""

TOO_MANY_WORDS = "Tệp vượt giới hạn cho phép (quá lớn hoặc quá nhiều dòng, nhiệm vụ)"
OTHER_WORDS = "Tệp không hợp lệ"


@dataclass(frozen=True)
class Staged:
    """An uploaded file kept under its hash."""

    sha256: str
    suffix: str
    path: Path
    name: str
    """The name the browser gave (shown and recorded, never used as a path)."""


@dataclass(frozen=True)
class ProblemRow:
    """One problem as the page's table shows it."""

    sheet: str
    row: int
    column: str
    code: str
    words: str
    detail: str
    hint: str


def folder(data_dir: Path) -> Path:
    """The staging folder of a data folder (made when missing)."""
    path = data_dir / "staging"
    path.mkdir(parents=True, exist_ok=True)
    return path


def suffix_of(filename: str | None) -> str | None:
    """The staged suffix for an uploaded name, None when the kind is not accepted."""
    return SUFFIXES.get(Path(filename or "").suffix.lower())


def stage(data_dir: Path, upload: UploadFile, suffix: str) -> Staged:
    """Keep the upload under its hash (read from its spooled file: routes taking uploads are
    plain functions, run in the thread pool). At most one byte past the size limit is kept,
    so a huge file is refused by the checker's own size check without being read whole."""
    most = limits().file_bytes + 1
    digest = hashlib.sha256()
    parts: list[bytes] = []
    size = 0
    while size < most:
        chunk = upload.file.read(min(CHUNK, most - size))
        if not chunk:
            break
        parts.append(chunk)
        digest.update(chunk)
        size += len(chunk)
    sha = digest.hexdigest()
    path = folder(data_dir) / f"{sha}.{suffix}"
    if not path.exists():
        partial = path.with_name(f"{path.name}.part")
        partial.write_bytes(b"".join(parts))
        partial.replace(path)
    return Staged(sha, suffix, path, Path(upload.filename or "").name[:200])


def staged(data_dir: Path, sha256: str, suffix: str) -> Path | None:
    """The staged file of ``sha256`` whose bytes still hash to it; None otherwise."""
    if not HASH.fullmatch(sha256) or suffix not in set(SUFFIXES.values()):
        return None
    path = folder(data_dir) / f"{sha256}.{suffix}"
    if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != sha256:
        return None
    return path


def discard(path: Path) -> None:
    """Remove a staged file (refused, or used)."""
    path.unlink(missing_ok=True)


_SHEET = re.compile(r"^\[(?P<sheet>[^\]]+)\](?:\s+(?:(?P<column>[A-Z]{1,3})\d+|row \d+))?$")
_COLUMN = re.compile(r"\bcolumn (?P<column>[A-Z]{1,3})\b|\bcells? \$?(?P<cell>[A-Z]{1,3})\$?\d+")


def problem_rows(problems: Sequence[Problem], path: Path, *, first_sheet: str) -> list[ProblemRow]:
    """The problems of the staged ``path`` laid out by sheet, row and column.

    A plan workbook's problems name their sheet (``file[Nhiệm vụ] C5``); a metrics workbook
    is read from its first sheet (``first_sheet`` names it); a CSV or YAML file has no sheet.
    """
    rows = []
    for problem in problems[: limits().problems_shown]:
        where = problem.file.removeprefix(str(path))
        sheet, column = "", ""
        found = _SHEET.match(where.strip())
        if found:
            sheet, column = found["sheet"], found["column"] or ""
        elif path.suffix == ".xlsx":
            sheet = first_sheet
        if not column and (named := _COLUMN.search(problem.message)):
            column = named["column"] or named["cell"] or ""
        words = PROBLEM_WORDS.get(problem.code)
        if words is None:
            words = TOO_MANY_WORDS if problem.code.startswith("CCHC-L") else OTHER_WORDS
        rows.append(
            ProblemRow(
                sheet=sheet,
                row=problem.line,
                column=column,
                code=problem.code,
                words=words,
                detail=problem.message.replace(str(path), path.name),
                hint=problem.hint,
            )
        )
    return rows
