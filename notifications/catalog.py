"""Which notification templates exist: the names workflow definitions may refer to."""

from __future__ import annotations

from pathlib import Path

TEMPLATE_DIR = Path(__file__).parent / "templates"


def template_names(directory: Path = TEMPLATE_DIR) -> frozenset[str]:
    """Template names in ``directory``: ``approval_submitted.txt.j2`` is ``approval_submitted``."""
    return frozenset(
        path.name.split(".", 1)[0] for path in directory.glob("*.j2") if path.is_file()
    )
