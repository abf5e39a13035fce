"""The package's version and CHANGELOG.md agree.

CHANGELOG.md lists its sections newest first as ``## <title>`` headings: work not yet released
sits in ``## Unreleased — …`` sections at the top, each release in a ``## X.Y.Z — date (…)``
section. The rule: the first heading that is not an Unreleased one names the version in
pyproject.toml.
"""

from __future__ import annotations

import re
import tomllib

from tests.conftest import ROOT

RELEASE = re.compile(r"^## (\d+\.\d+\.\d+)\b")


def test_pyproject_version_is_the_top_release_of_the_changelog() -> None:
    """pyproject.toml's version is the first released (not Unreleased) heading of CHANGELOG.md."""
    version = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "version"
    ]
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    headings = [line for line in changelog.splitlines() if line.startswith("## ")]
    first_released = next(h for h in headings if not h.startswith("## Unreleased"))
    release = RELEASE.match(first_released)
    assert release is not None, f"not a release heading: {first_released!r}"
    assert release.group(1) == version


def test_unreleased_sections_sit_above_every_release() -> None:
    """No ``## Unreleased`` section of CHANGELOG.md comes after a released version's section."""
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    headings = [line for line in changelog.splitlines() if line.startswith("## ")]
    first_release = next(i for i, h in enumerate(headings) if RELEASE.match(h))
    assert not [h for h in headings[first_release:] if h.startswith("## Unreleased")]
