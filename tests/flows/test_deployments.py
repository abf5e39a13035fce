"""Deployments register their cron schedule in Asia/Ho_Chi_Minh and can be read back."""

from __future__ import annotations

import pytest

from flows.deployments import apply, review_spec, schedule_of, sweep_spec

pytestmark = [pytest.mark.prefect, pytest.mark.usefixtures("prefect_harness")]


@pytest.mark.parametrize(("cadence", "cron"), [("monthly", "0 7 1 * *"), ("weekly", "0 7 * * 1")])
def test_review_deployment_schedule_reads_back(cadence: str, cron: str) -> None:
    """The review deployment's schedule on the server has its cron and the Vietnamese zone."""
    spec = review_spec(
        cadence,
        {
            "database_url": "sqlite:///x.sqlite3",
            "data_dir": "var",
            "plan": "KH-CCHC-2025-H2",
            "month": "2025-11",
            "actor_id": "nguyen.thi.lan",
            "chair_id": "dang.van.thang",
            "out_dir": "var/review",
        },
    )
    apply(spec)
    schedule = schedule_of(spec.name)
    assert schedule.cron == cron
    assert schedule.timezone == "Asia/Ho_Chi_Minh"


def test_unknown_cadence_is_refused() -> None:
    """Only monthly and weekly cadences exist."""
    with pytest.raises(ValueError, match="monthly, weekly"):
        review_spec("daily", {})


def test_daily_sweep_deployment_schedule_reads_back() -> None:
    """The daily sweep runs at 06:00 Asia/Ho_Chi_Minh."""
    spec = sweep_spec(
        {"database_url": "sqlite:///x.sqlite3", "data_dir": "var", "system_actor": "tran.van.minh"}
    )
    apply(spec)
    schedule = schedule_of(spec.name)
    assert (schedule.cron, schedule.timezone) == ("0 6 * * *", "Asia/Ho_Chi_Minh")
