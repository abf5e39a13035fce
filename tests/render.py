"""Render documents with LibreOffice as officials' computers would, and read the PDFs' pages.

Needs ``soffice`` (Debian's libreoffice-writer-nogui and libreoffice-calc-nogui) and ``pdfinfo``
(poppler-utils); ``.ci/run`` installs them when missing. Without them a test is skipped on a
developer's machine and fails under ``CI=true``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import IN_CI

A4 = (595.3, 841.9)
"""A4 in PDF points (portrait)."""
_SIZE = re.compile(r"^Page\s+\d+ size:\s+([\d.]+) x ([\d.]+) pts", re.MULTILINE)


def tool(name: str) -> str:
    """The path of the program ``name``; fails under CI when it is missing, skips otherwise."""
    found = shutil.which(name)
    if found is None:
        message = f"{name} is not installed (.ci/run installs LibreOffice and poppler-utils)"
        if IN_CI:
            pytest.fail(f"{message}; it is required in CI (CI=true)", pytrace=False)
        pytest.skip(message)
    return found


@dataclass(frozen=True)
class Page:
    """A page's size in PDF points."""

    width: float
    height: float

    @property
    def a4(self) -> bool:
        """Whether the page is A4, either way round."""
        size = sorted((self.width, self.height))
        return abs(size[0] - A4[0]) < 2 and abs(size[1] - A4[1]) < 2

    @property
    def landscape(self) -> bool:
        """Wider than tall."""
        return self.width > self.height


def to_pdf(documents: Sequence[Path], out: Path, profile: Path) -> dict[Path, Path]:
    """Convert ``documents`` to PDF in ``out`` with ONE LibreOffice run (own profile folder);
    each document → its PDF (missing when LibreOffice could not convert it)."""
    stems = [d.stem for d in documents]
    assert len(set(stems)) == len(stems), f"two documents share a name: {sorted(stems)}"
    soffice = tool("soffice")
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            soffice,
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--norestore",
            "--convert-to",
            "pdf",
            "--outdir",
            str(out),
            *map(str, documents),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return {d: out / f"{d.stem}.pdf" for d in documents}


def pages(pdf: Path) -> list[Page]:
    """The pages of ``pdf`` (as ``pdfinfo`` reads them)."""
    info = subprocess.run(
        [tool("pdfinfo"), "-f", "1", "-l", "100000", str(pdf)],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    return [Page(float(w), float(h)) for w, h in _SIZE.findall(info)]
