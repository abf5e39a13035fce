"""Problems found in a file, printed for people (the first ones and a count) or as JSON."""

from __future__ import annotations

import json
from dataclasses import asdict

import typer

from cchc.settings import ENV
from workflows.errors import Problem
from workflows.limits import limits


def problems_json(problems: list[Problem], *, refused: bool) -> dict[str, object]:
    """The JSON a check prints on problems: the first ones, how many in all, how many left out."""
    shown = problems[: limits().problems_shown]
    data: dict[str, object] = {"ok": False}
    if refused:
        data["written"] = False
    data.update(
        problems=[asdict(p) for p in shown], total=len(problems), omitted=len(problems) - len(shown)
    )
    return data


def print_problems(problems: list[Problem], *, refused: bool = True, as_json: bool = False) -> None:
    """The first problems (``CCHC_MAX_PROBLEMS_SHOWN``, 50) as ``file:line: CODE message (hint)``
    on stdout, then "… and N more" and the count on stderr; with ``as_json``, JSON on stdout."""
    if as_json:
        typer.echo(
            json.dumps(problems_json(problems, refused=refused), ensure_ascii=False, indent=2)
        )
        return
    shown = limits().problems_shown
    for problem in problems[:shown]:
        typer.echo(problem.format())
    if len(problems) > shown:
        typer.echo(
            f"… and {len(problems) - shown} more (only the first {shown} are shown; "
            f"{ENV['problems_shown']} changes it)"
        )
    tail = "; nothing was written." if refused else "."
    typer.echo(f"{len(problems)} problem(s) found{tail}", err=True)
