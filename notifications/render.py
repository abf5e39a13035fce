"""Render a notification from its Jinja2 templates: subject, plain text and (optional) HTML.

A template name such as ``task_assigned`` refers to ``task_assigned.txt.j2`` (required: its first
line is the subject, then a blank line, then the body) and, when it exists,
``task_assigned.html.j2`` (the HTML body). HTML templates are autoescaped, text templates are
not. A variable the context lacks is an error (``StrictUndefined``): a notification never goes
out with a hole in it.

Templates see the outbox context (``kind``, ``ref``, ``data``, ``payload`` …) plus
``recipient_label`` (``Ông/Bà Nguyễn Thị Lan – Chuyên viên …``), ``recipient_name``,
``recipient_id`` and, when the caller names the ward (``dispatch`` and the digest do), ``ward``:
``ward.name`` (``Xã Tiên Lãng``), ``ward.kind`` (``phường``, ``xã`` or ``đặc khu``) and
``ward.name_in_text`` (``xã Tiên Lãng``), so no template hard-codes "phường". Filters:
``vn_date`` (``05/12/2025``), ``vn_long_date`` (``ngày 05 tháng 12 năm 2025``, Decree 30 style)
and ``vn_datetime`` (an ISO instant as ``05/12/2025 14:30`` local time), written as the
application says (``notifications.formats``).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateError,
    TemplateNotFound,
    TemplateSyntaxError,
    Undefined,
    UndefinedError,
    nodes,
    select_autoescape,
)
from jinja2.utils import missing

from notifications.catalog import TEMPLATE_DIR
from notifications.formats import text_formats

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")

TEXT_SUFFIX = ".txt.j2"
HTML_SUFFIX = ".html.j2"


class Addressee(Protocol):
    """Who a notification is addressed to (``cchc.organization.model.Person`` is one)."""

    @property
    def id(self) -> str: ...

    @property
    def full_name(self) -> str: ...

    @property
    def title(self) -> str: ...


@dataclass(frozen=True)
class Rendered:
    """A rendered notification: one-line subject, plain-text body and optional HTML body."""

    subject: str
    text: str
    html: str | None = None


class RenderError(Exception):
    """A template could not be rendered; the message names the template (and line, variable)."""

    def __init__(self, template: str, message: str) -> None:
        super().__init__(f"template {template}: {message}")
        self.template = template


class MissingVariableError(RenderError):
    """The context lacks a variable the template uses."""

    def __init__(self, template: str, line: int | None, variable: str) -> None:
        where = f"{template}" if line is None else f"{template}, line {line}"
        super().__init__(where, f"missing variable: {variable}")
        self.template = template
        self.line = line
        self.variable = variable


class _Undefined(StrictUndefined):
    """StrictUndefined whose message names the missing variable or attribute plainly."""

    __slots__ = ()

    @property
    def _undefined_message(self) -> str:
        if self._undefined_hint:
            return self._undefined_hint
        name = self._undefined_name
        owner = self._undefined_obj
        if owner is _MISSING_OWNER:
            return f"{name!r}"
        if isinstance(owner, Mapping):
            keys = ", ".join(sorted(map(str, owner)))
            return f"{name!r} (present: {keys})" if keys else f"{name!r} (the mapping is empty)"
        return f"{name!r} (not an attribute of {type(owner).__name__})"


_MISSING_OWNER: object = missing
"""What jinja2 puts in ``_undefined_obj`` when a plain variable (not an attribute) is missing."""


class Ward(Protocol):
    """The ward a notification comes from (``cchc.organization.model.Organization`` is one)."""

    @property
    def name(self) -> str: ...

    @property
    def kind_name(self) -> str: ...

    @property
    def name_in_text(self) -> str: ...


def ward_context(ward: Ward) -> dict[str, str]:
    """What templates read as ``ward``: its ``name``, ``kind`` and ``name_in_text``."""
    return {"name": ward.name, "kind": ward.kind_name, "name_in_text": ward.name_in_text}


def recipient_label(recipient: Addressee) -> str:
    """How a notification greets its recipient: ``Ông/Bà Nguyễn Thị Lan – Chuyên viên …``."""
    return f"Ông/Bà {recipient.full_name} – {recipient.title}"


# --- Vietnamese date filters -----------------------------------------------------------------


def _defined(value: object) -> None:
    """Filters see a missing variable as an ``Undefined``: fail on it like a plain read does."""
    if isinstance(value, Undefined):
        value._fail_with_undefined_error()


def _when(value: object) -> date | datetime | str:
    _defined(value)
    if isinstance(value, date | str):  # a datetime is a date
        return value
    raise TypeError(f"not a date: {value!r}")


def vn_date(value: object) -> str:
    """``2025-12-05`` (or a date, or an instant) → ``05/12/2025``."""
    return text_formats().date_text(_when(value))


def vn_long_date(value: object) -> str:
    """``ngày 05 tháng 12 năm 2025``; months 1 and 2 take a leading zero (Decree 30/2020)."""
    return text_formats().long_date(_when(value))


def vn_datetime(value: object) -> str:
    """An instant (ISO text or datetime, naive = UTC) as ``05/12/2025 14:30`` local time."""
    _defined(value)
    if not isinstance(value, datetime | str):
        raise TypeError(f"not a date and time: {value!r}")
    return text_formats().datetime_text(value)


# --- rendering -------------------------------------------------------------------------------


def make_environment(directory: Path = TEMPLATE_DIR) -> Environment:
    """The Jinja2 environment of the templates in ``directory``: strict, HTML autoescaped."""
    env = Environment(
        loader=FileSystemLoader(directory),
        undefined=_Undefined,
        autoescape=select_autoescape(
            enabled_extensions=("html.j2", "html"), default_for_string=False, default=False
        ),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters.update(vn_date=vn_date, vn_long_date=vn_long_date, vn_datetime=vn_datetime)
    return env


class Renderer:
    """Renders the notification templates of one folder."""

    def __init__(self, directory: Path = TEMPLATE_DIR) -> None:
        self.directory = directory
        self.env = make_environment(directory)

    def has_html(self, template: str) -> bool:
        """Whether ``template`` has an HTML version."""
        return (self.directory / f"{template}{HTML_SUFFIX}").is_file()

    def render(
        self,
        template: str,
        context: Mapping[str, Any],
        recipient: Addressee,
        *,
        ward: Ward | None = None,
    ) -> Rendered:
        """Render ``template`` for ``recipient`` of ``ward``; raises ``RenderError`` naming
        what is wrong (a template reading ``ward`` fails without one)."""
        values = {
            **context,
            "recipient_label": recipient_label(recipient),
            "recipient_name": recipient.full_name,
            "recipient_id": recipient.id,
        }
        if ward is not None:
            values["ward"] = ward_context(ward)
        text_name = f"{template}{TEXT_SUFFIX}"
        text = self._render_file(text_name, values)
        head, blank, body = text.lstrip("\r\n").partition("\n\n")
        subject = " ".join(head.split())
        if not blank or not subject:
            raise RenderError(
                text_name, "the first line must be the subject, followed by a blank line"
            )
        html = None
        if self.has_html(template):
            html = self._render_file(f"{template}{HTML_SUFFIX}", values).strip() + "\n"
        return Rendered(subject=subject, text=body.strip() + "\n", html=html)

    def _render_file(self, name: str, values: Mapping[str, Any]) -> str:
        try:
            return self.env.get_template(name).render(values)
        except UndefinedError as exc:
            line = _template_line(name)
            variable = exc.message or "?"
            path = self._attribute_path(name, line, variable)
            if path:
                variable = f"{path} — {variable}"
            raise MissingVariableError(name, line, variable) from exc
        except TemplateNotFound as exc:
            raise RenderError(name, f"no such template in {self.directory}") from exc
        except TemplateSyntaxError as exc:
            raise RenderError(name, f"line {exc.lineno}: {exc.message}") from exc
        except TemplateError as exc:
            raise RenderError(name, str(exc)) from exc

    def _attribute_path(self, name: str, line: int | None, message: str) -> str | None:
        """``payload.reason`` for a missing ``'reason'`` read on ``line`` of template ``name``."""
        if line is None or not message.startswith("'"):
            return None
        attr = message[1:].partition("'")[0]
        try:
            source = self.env.loader.get_source(self.env, name)[0] if self.env.loader else ""
            tree = self.env.parse(source)
        except TemplateError:
            return None
        for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
            if node.lineno == line and _key(node) == attr:
                return _dotted(node)
        return None


def _key(node: nodes.Node) -> str | None:
    if isinstance(node, nodes.Getattr):
        return node.attr
    return _const(node.arg) if isinstance(node, nodes.Getitem) else None


def _const(node: nodes.Node) -> str | None:
    return node.value if isinstance(node, nodes.Const) and isinstance(node.value, str) else None


def _dotted(node: nodes.Node) -> str | None:
    if isinstance(node, nodes.Name):
        return node.name
    if isinstance(node, nodes.Getattr):
        owner = _dotted(node.node)
        return None if owner is None else f"{owner}.{node.attr}"
    if isinstance(node, nodes.Getitem):
        owner, key = _dotted(node.node), _const(node.arg)
        return None if owner is None or key is None else f"{owner}.{key}"
    return None


def _template_line(name: str) -> int | None:
    """The line of ``name`` the error being handled was raised on (Jinja2 rewrites tracebacks)."""
    tb: TracebackType | None = sys.exc_info()[2]
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename.endswith(name):
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


@cache
def default_renderer() -> Renderer:
    """The renderer of the shipped templates (``notifications/templates``)."""
    return Renderer()


def render(
    template: str, context: Mapping[str, Any], recipient: Addressee, *, ward: Ward | None = None
) -> Rendered:
    """Render a shipped template for ``recipient`` of ``ward`` (see ``Renderer.render``)."""
    return default_renderer().render(template, context, recipient, ward=ward)
