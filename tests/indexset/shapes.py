"""The sample index set rewritten in the shape of real sets: a criterion scored directly and
bonus and penalty items outside the seven areas."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "definitions" / "index-sets" / "par-2025-ward-sample.yaml"


def _criterion(data: dict[str, Any], code: str) -> dict[str, Any]:
    area = next(a for a in data["areas"] if a["code"] == code.split(".", maxsplit=1)[0])
    return next(c for c in area["criteria"] if c["code"] == code)


def real_shape_data() -> dict[str, Any]:
    """The sample with criterion 1.2 scored directly (the deduction rule of 1.2.1, 2 points),
    its penalty 1.2.2 moved out as ``TR.1`` and the bonus 1.5.3 moved out as ``T.1``."""
    data = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    reports = _criterion(data, "1.2")
    late, criticised = reports.pop("sub_criteria")
    reports.update(owner_unit=late["owner_unit"], evidence=late["evidence"], rule=late["rule"])
    quality = _criterion(data, "1.5")
    bonus = quality["sub_criteria"].pop()
    assert bonus["code"] == "1.5.3"
    data["bonus_penalty"] = [{**bonus, "code": "T.1"}, {**criticised, "code": "TR.1"}]
    return data


def write_real_shape(folder: Path) -> Path:
    """``real_shape_data`` as a YAML file in ``folder``."""
    path = folder / "par-2025-real-shape.yaml"
    path.write_text(
        yaml.safe_dump(real_shape_data(), allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    return path
