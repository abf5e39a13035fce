"""Register the city's per-ward sweep or review on the Prefect server of ``PREFECT_API_URL``.

    .venv/bin/python scripts/deploy_city.py sweep --city definitions/cities/hai-phong.yaml \\
        --pool cchc --params city-sweep.yaml

The parameters file (YAML) gives what every ward run gets and, per ward tenant, what differs
(each ward has its own officials)::

    parameters: {}                      # e.g. month: previous (review)
    wards:
      phuong-phu-lien: {system_actor: tran.van.minh}

The project database and data folder come from ``CCHC_DATABASE_URL`` / ``CCHC_DATA_DIR`` as for
``cchc``; every worker must reach the same database and see the same files. See
docs/scale-out.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

REQUIRED = {
    "sweep": ("system_actor",),
    "review": ("plan", "month", "actor_id", "chair_id", "out_dir"),
}


def _parameters(path: Path | None) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    if path is None:
        return {}, {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict) or set(data) - {"parameters", "wards"}:
        raise SystemExit(f"{path}: chỉ được có hai khóa 'parameters' và 'wards'")
    shared, wards = data.get("parameters") or {}, data.get("wards") or {}
    if (
        not isinstance(shared, dict)
        or not isinstance(wards, dict)
        or not all(isinstance(v, dict) for v in wards.values())
    ):
        raise SystemExit(
            f"{path}: 'parameters' và từng phường trong 'wards' phải là bảng khóa-giá trị"
        )
    return shared, wards


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, check every ward has its parameters, register both deployments."""
    parser = argparse.ArgumentParser(description="Đăng ký chạy theo từng phường trên Prefect.")
    parser.add_argument("job", choices=sorted(REQUIRED))
    parser.add_argument(
        "--city", type=Path, required=True, help="tệp thành phố (definitions/cities)"
    )
    parser.add_argument("--pool", required=True, help="work pool kiểu process")
    parser.add_argument("--params", type=Path, help="tệp YAML tham số (xem đầu tệp này)")
    parser.add_argument("--cadence", choices=["monthly", "weekly"], default="monthly")
    parser.add_argument("--no-schedule", action="store_true", help="không đặt lịch cron")
    args = parser.parse_args(argv)

    from cchc.settings import resolve_settings
    from cchc.vietnam import TIMEZONE
    from flows.city import city_wards
    from flows.deployments import apply_city

    settings = resolve_settings()
    shared, per_ward = _parameters(args.params)
    shared = {
        "database_url": settings.database_url,
        "data_dir": str(settings.data_dir.resolve()),
        **shared,
    }
    if args.job == "review" and "out_dir" in shared:
        shared["out_dir"] = str(Path(shared["out_dir"]).resolve())
    wards = city_wards(city=str(args.city))
    tenants = {tenant for _, tenant in wards}
    unknown = sorted(set(per_ward) - tenants)
    if unknown:
        raise SystemExit(f"không có phường {', '.join(unknown)} trong {args.city}")
    missing = [
        f"{tenant}: {', '.join(m)}"
        for _, tenant in wards
        if (m := [k for k in REQUIRED[args.job] if k not in {**shared, **per_ward.get(tenant, {})}])
    ]
    if missing:
        raise SystemExit("thiếu tham số cho: " + "; ".join(missing))
    ids = apply_city(
        args.job,
        shared,
        args.pool,
        city=str(args.city),
        cadence=args.cadence,
        ward_parameters=per_ward,
        scheduled=not args.no_schedule,
    )
    for name, deployment_id in ids.items():
        print(f"đã đăng ký {name} ({deployment_id})")
    if not args.no_schedule:
        print(f"lịch: city-fanout/city-{args.job} theo giờ {TIMEZONE}; {len(wards)} phường")
    return 0


if __name__ == "__main__":
    sys.exit(main())
