"""``cchc users``: an administrator invites, resets, lists and disables accounts."""

from __future__ import annotations

import json
import mailbox
from pathlib import Path

from typer.testing import CliRunner, Result

from cchc.cli import app

runner = CliRunner()
ADMIN = "tran.van.minh"
OFFICIAL = "ngo.thi.ha"


def _cchc(data: Path, *args: str) -> Result:
    env = {
        "CCHC_DATABASE_URL": "",
        "CCHC_ORGANIZATION": "",
        "CCHC_INDEX_SET": "",
        "CCHC_NOTIFY_CHANNEL": "maildir",
        "CCHC_MAILDIR": "",
        "CCHC_BASE_URL": "https://cchc.example",
    }
    return runner.invoke(app, ["--data-dir", str(data), *args], env=env)


def test_invite_sends_and_prints_a_one_time_link(tmp_path: Path) -> None:
    """The link is printed for the administrator and mailed (Maildir) to the person, in
    Vietnamese; the list then shows the account as invited."""
    data = tmp_path / "var"
    assert _cchc(data, "db", "upgrade").exit_code == 0
    result = _cchc(data, "users", "invite", OFFICIAL, "--as", ADMIN)
    assert result.exit_code == 0, result.output
    link = next(line for line in result.stdout.splitlines() if "/invite/" in line)
    assert link.startswith("https://cchc.example/invite/")
    box = mailbox.Maildir(data / "mail", create=False)
    (message,) = list(box)
    body = message.get_payload(decode=True).decode("utf-8")
    assert link in body
    assert "Tên đăng nhập: ngo.thi.ha" in body
    listed = json.loads(_cchc(data, "users", "list", "--json").stdout)
    assert {a["person"]: a["status"] for a in listed}[OFFICIAL] == "invited"


def test_only_the_administrator_manages_accounts(tmp_path: Path) -> None:
    """An invite, reset or disable by someone else exits 1 naming the refusal."""
    data = tmp_path / "var"
    assert _cchc(data, "db", "upgrade").exit_code == 0
    for command in ("invite", "reset", "disable"):
        result = _cchc(data, "users", command, OFFICIAL, "--as", "pham.quoc.khanh")
        assert result.exit_code == 1, result.output
        assert "không có quyền" in result.output or "not_permitted" in result.output


def test_disable_and_reset(tmp_path: Path) -> None:
    """Disable marks the account disabled; a reset link enables it again."""
    data = tmp_path / "var"
    assert _cchc(data, "db", "upgrade").exit_code == 0
    assert _cchc(data, "users", "invite", OFFICIAL, "--as", ADMIN).exit_code == 0
    assert _cchc(data, "users", "disable", OFFICIAL, "--as", ADMIN).exit_code == 0
    listed = json.loads(_cchc(data, "users", "list", "--json").stdout)
    assert {a["person"]: a["status"] for a in listed}[OFFICIAL] == "disabled"
    assert _cchc(data, "users", "reset", OFFICIAL, "--as", ADMIN).exit_code == 0
    listed = json.loads(_cchc(data, "users", "list", "--json").stdout)
    assert {a["person"]: a["status"] for a in listed}[OFFICIAL] == "invited"
