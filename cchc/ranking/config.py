"""The emulation ranking's configuration: its model, its checks and its loader.

Weights, bands, the overdue penalty and the tie-break order (``definitions/emulation.yaml``,
format in ``docs/ranking.md``), checked as a whole when loaded; problems are reported as
``file:line: CCHC-E0NN message (hint)``. The algorithm is ``cchc.ranking.emulation``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    model_validator,
)

from workflows.datafile import DataFile, FileCodes, Reading, Schema
from workflows.definition.checks import did_you_mean
from workflows.definition.yamlpos import Path_
from workflows.errors import Problem

__all__ = [
    "COMPONENTS",
    "FINAL_TIE_BREAK",
    "SCORE_DECIMALS",
    "TIE_BREAK_KEYS",
    "Band",
    "EmulationConfig",
    "OverduePenalty",
    "Weights",
    "check_emulation_config",
    "check_emulation_text",
    "load_emulation_config",
    "load_emulation_text",
]

COMPONENTS = ("on_time_share", "first_review_share", "points_lost", "overdue")
"""The four components of the composite score, in the order explanations list them."""

FINAL_TIE_BREAK = "unit_code"
"""The last tie-break, always applied: unit codes in code-point order; it makes ranks distinct."""

TIE_BREAK_KEYS = ("points_lost", "on_time_share", "first_review_share", "overdue", "unit_code")
"""Every key ``tie_breaks`` may name."""

SCORE_DECIMALS = 2
"""The composite score is published, banded and compared rounded half up to this many places."""

_DEFER_CHECKS = "defer_emulation_checks"
_DOCS = "docs/ranking.md"

Amount = Annotated[Decimal, Field(allow_inf_nan=False)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]


# --- configuration ----------------------------------------------------------------------------


_CODES = FileCodes(
    "CCHC-E001", "CCHC-E004", "CCHC-E005", "an emulation configuration starts with 'weights:'"
)


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Weights(_Frozen):
    """Weight of each component: points out of 100 (or fractions adding up to 1)."""

    on_time_share: Amount
    first_review_share: Amount
    points_lost: Amount
    overdue: Amount

    def total(self) -> Decimal:
        """The sum of the four weights (100 or 1 in a valid configuration)."""
        return sum((getattr(self, key) for key in COMPONENTS), Decimal(0))

    def points(self) -> dict[str, Decimal]:
        """Each weight on the 100-point scale (fractions adding up to 1 are multiplied by 100)."""
        scale = Decimal(100) if self.total() == 1 else Decimal(1)
        return {key: getattr(self, key) * scale for key in COMPONENTS}


class OverduePenalty(_Frozen):
    """Each overdue item costs ``per_item`` of the overdue weight; ``max_items`` count at most."""

    per_item: Annotated[Decimal, Field(ge=0, le=1, allow_inf_nan=False)]
    max_items: Annotated[int, Field(ge=1, strict=True)]


class Band(_Frozen):
    """A classification level (xếp loại): scores from ``min_score`` up, down to the next band."""

    label: Text
    min_score: Amount


class EmulationConfig(_Frozen):
    """How units are scored, classified and ordered; see ``docs/ranking.md``.

    Built in code, it is checked at once (a ``ValidationError`` names the CCHC-E codes);
    ``load_emulation_config`` checks a file and reports each problem with its line.
    """

    name: Text | None = None
    sample: bool = False
    weights: Weights
    overdue: OverduePenalty
    bands: tuple[Band, ...] = Field(min_length=2)
    """Best first; thresholds strictly decrease and the last band starts at 0."""
    no_top_band_with_overdue: bool = False
    """When true, a unit with an overdue item is classified in the second band at best."""
    tie_breaks: tuple[str, ...]
    """Keys deciding between units of equal band and score; ``unit_code`` is implied last."""

    @model_validator(mode="after")
    def _check_semantics(self, info: ValidationInfo) -> Self:
        if isinstance(info.context, dict) and info.context.get(_DEFER_CHECKS):
            return self  # the file loader reports these itself, each with its line
        issues = _issues(self)
        if issues:
            raise ValueError("; ".join(f"{i.code} {i.message}" for i in issues))
        return self

    @property
    def tie_break_order(self) -> tuple[str, ...]:
        """The tie-breaks as applied: the configured keys, then ``unit_code`` if not listed."""
        if self.tie_breaks and self.tie_breaks[-1] == FINAL_TIE_BREAK:
            return self.tie_breaks
        return (*self.tie_breaks, FINAL_TIE_BREAK)

    @property
    def band_labels(self) -> tuple[str, ...]:
        """Band labels best first (``RankingTable.band_order``)."""
        return tuple(band.label for band in self.bands)


@dataclass(frozen=True)
class _Issue:
    path: Path_
    code: str
    message: str
    hint: str = ""


def _issues(config: EmulationConfig) -> list[_Issue]:
    """Every problem the schema alone cannot see."""
    issues: list[_Issue] = []
    weights = config.weights
    for key in COMPONENTS:
        value: Decimal = getattr(weights, key)
        if value < 0:
            issues.append(
                _Issue(
                    ("weights", key),
                    "CCHC-E006",
                    f"weight {key} is negative ({value})",
                    "weights are 0 or more; a component that should not count weighs 0",
                )
            )
    total = weights.total()
    if total not in (Decimal(1), Decimal(100)):
        issues.append(
            _Issue(
                ("weights",),
                "CCHC-E007",
                f"the weights add up to {total}, not 100",
                "give points out of 100, or fractions adding up to 1",
            )
        )
    issues.extend(_band_issues(config.bands))
    issues.extend(_tie_break_issues(config.tie_breaks))
    penalty = config.overdue
    if penalty.per_item * penalty.max_items > 1:
        issues.append(
            _Issue(
                ("overdue",),
                "CCHC-E015",
                f"per_item × max_items is {penalty.per_item * penalty.max_items}, more than 1",
                "the cap would take more than the whole overdue weight; "
                "lower per_item or max_items",
            )
        )
    return issues


def _band_issues(bands: Sequence[Band]) -> list[_Issue]:
    issues: list[_Issue] = []
    for i, band in enumerate(bands):
        where: Path_ = ("bands", i, "min_score")
        if not 0 <= band.min_score <= 100:
            issues.append(
                _Issue(
                    where,
                    "CCHC-E009",
                    f"band {band.label!r} starts at {band.min_score}, outside 0–100",
                    "scores run from 0 to 100",
                )
            )
        if i > 0 and band.min_score >= bands[i - 1].min_score:
            issues.append(
                _Issue(
                    where,
                    "CCHC-E008",
                    f"band {band.label!r} starts at {band.min_score}, not below "
                    f"{bands[i - 1].min_score} of the band above",
                    "list bands best first with strictly decreasing min_score",
                )
            )
    if bands and bands[-1].min_score != 0:
        issues.append(
            _Issue(
                ("bands", len(bands) - 1, "min_score"),
                "CCHC-E010",
                f"the last band {bands[-1].label!r} starts at {bands[-1].min_score}, not 0",
                "the last band takes every lower score: set its min_score to 0",
            )
        )
    seen: set[str] = set()
    for i, band in enumerate(bands):
        if band.label in seen:
            issues.append(
                _Issue(
                    ("bands", i, "label"),
                    "CCHC-E011",
                    f"band label {band.label!r} is used twice",
                    "each band has its own label",
                )
            )
        seen.add(band.label)
    return issues


def _tie_break_issues(keys: Sequence[str]) -> list[_Issue]:
    issues: list[_Issue] = []
    seen: set[str] = set()
    for j, key in enumerate(keys):
        where: Path_ = ("tie_breaks", j)
        if key not in TIE_BREAK_KEYS:
            issues.append(
                _Issue(
                    where,
                    "CCHC-E012",
                    f"unknown tie-break key {key!r}",
                    did_you_mean(key, TIE_BREAK_KEYS),
                )
            )
        elif key in seen:
            issues.append(
                _Issue(where, "CCHC-E013", f"tie-break key {key!r} is listed twice", "list it once")
            )
        elif key == FINAL_TIE_BREAK and j != len(keys) - 1:
            issues.append(
                _Issue(
                    where,
                    "CCHC-E014",
                    f"{FINAL_TIE_BREAK!r} is not the last tie-break",
                    "unit codes are unique, so no key after it could ever decide; move it last",
                )
            )
        seen.add(key)
    return issues


# --- loading ----------------------------------------------------------------------------------


def check_emulation_config(path: Path | str) -> tuple[EmulationConfig | None, list[Problem]]:
    """Load and check one configuration file: the configuration (if valid) and every problem."""
    return EMULATION_FILE.check_file(path, None)


def check_emulation_text(text: str, source: str) -> tuple[EmulationConfig | None, list[Problem]]:
    """Like ``check_emulation_config`` for a configuration file's text (e.g. registered in a
    database); problems are placed in ``source``."""
    return EMULATION_FILE.check_text(text, source, None)


def load_emulation_text(text: str, source: str) -> EmulationConfig:
    """Like ``check_emulation_text`` but raises ``DefinitionError`` listing every problem."""
    return EMULATION_FILE.load_text(text, source, None)


def load_emulation_config(path: Path | str) -> EmulationConfig:
    """Like ``check_emulation_config`` but raises ``DefinitionError`` listing every problem."""
    return EMULATION_FILE.load_file(path, None)


def _model_validate(data: Any) -> EmulationConfig:
    return EmulationConfig.model_validate(data, context={_DEFER_CHECKS: True})


def _allowed_keys(loc: tuple[Any, ...]) -> str:
    models: dict[Any, type[BaseModel]] = {
        "weights": Weights,
        "overdue": OverduePenalty,
        "bands": Band,
    }
    model = models.get(loc[0], EmulationConfig) if len(loc) > 1 else EmulationConfig
    return ", ".join(model.model_fields)


def _check_issues(config: EmulationConfig, reading: Reading[None]) -> None:
    for issue in _issues(config):
        reading.report(issue.path, issue.code, issue.message, issue.hint)


EMULATION_FILE: DataFile[EmulationConfig, None] = DataFile(
    "emulation configuration",
    _CODES,
    Schema(_model_validate, "CCHC-E002", "CCHC-E003", _allowed_keys, invalid_hint=f"see {_DOCS}"),
    checks=(_check_issues,),
    sort_problems=True,
)
"""An emulation configuration (``definitions/emulation.yaml``, format in docs/ranking.md)."""
