"""The form of the files officials open: DOCX core properties, XLSX row heights and page set-up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from docx import Document

from cchc.reports.admin_document import write_admin_document
from cchc.reports.model import DocumentHeader, Signature, TextBlock


def test_docx_core_properties(
    tmp_path: Path, header: DocumentHeader, signature: Signature, recipients: list[str]
) -> None:
    """A written DOCX says when it was made and by whom: created and modified now, author,
    title, no python-docx leftovers."""
    before = datetime.now(UTC).replace(microsecond=0)
    path = write_admin_document(
        tmp_path / "bc.docx", header, [TextBlock(text="Nội dung.")], recipients, signature
    )
    after = datetime.now(UTC)
    props = Document(str(path)).core_properties
    assert props.created is not None
    assert props.modified is not None
    assert before <= props.created.replace(tzinfo=UTC) <= after
    assert props.modified.replace(tzinfo=UTC) - props.created.replace(tzinfo=UTC) < timedelta(
        seconds=1
    )
    assert props.author == "ỦY BAN NHÂN DÂN PHƯỜNG PHÙ LIỄN"
    assert props.last_modified_by == props.author
    assert props.title.startswith("BÁO CÁO Kết quả tự đánh giá")
    assert "python-docx" not in props.comments
