"""What every request of the web application shares: the workspace, the policy, templates."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from cchc.accounts.policy import Policy
from cchc.web.format import FILTERS
from cchc.web.nav import GLOBALS
from cchc.workspace import Workspace

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
TRUST_PROXY_ENV = "CCHC_TRUST_PROXY"


def templates() -> Environment:
    """The pages' Jinja2 environment: autoescaped (every ``.html``, and strings by default)."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(FILTERS)
    env.globals.update(GLOBALS)
    return env


def trust_proxy(env: Mapping[str, str] | None = None) -> bool:
    """``CCHC_TRUST_PROXY=1``: honour ``X-Forwarded-Proto`` / ``X-Forwarded-For`` (only behind a
    reverse proxy that sets them; otherwise a client could claim HTTPS or another address)."""
    env = os.environ if env is None else env
    return env.get(TRUST_PROXY_ENV, "").strip().lower() in {"1", "true", "yes"}


@dataclass
class WebContext:
    """The application's state (``app.state.web``)."""

    ws: Workspace
    policy: Policy
    templates: Environment
    trust_proxy: bool
