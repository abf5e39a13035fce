"""Report writers: pure functions from plain dataclasses to .xlsx, .docx and .png files.

Nothing here reads a database: callers build the inputs (:mod:`cchc.reports.model`) and the
writers lay them out. See ``docs/reports.md``.
"""

from cchc.reports.admin_document import AdminDocument, build_admin_document, write_admin_document
from cchc.reports.model import (
    AssessmentRow,
    DocumentHeader,
    Heading,
    RankingRow,
    RankingTable,
    SelfAssessmentTable,
    Signature,
    TableBlock,
    TextBlock,
)
from cchc.reports.ranking import write_ranking_png, write_ranking_xlsx
from cchc.reports.self_assessment import (
    summarise,
    write_self_assessment_docx,
    write_self_assessment_xlsx,
)

__all__ = [
    "AdminDocument",
    "AssessmentRow",
    "DocumentHeader",
    "Heading",
    "RankingRow",
    "RankingTable",
    "SelfAssessmentTable",
    "Signature",
    "TableBlock",
    "TextBlock",
    "build_admin_document",
    "summarise",
    "write_admin_document",
    "write_ranking_png",
    "write_ranking_xlsx",
    "write_self_assessment_docx",
    "write_self_assessment_xlsx",
]
