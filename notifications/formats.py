"""How the templates' date filters write dates: given by the application, which knows its
language (``cchc`` gives ``cchc.vi_text``). Kept apart from ``render`` so that giving them costs
no Jinja2 import."""

from __future__ import annotations

import importlib
from datetime import date, datetime
from typing import Protocol, cast


class TextFormats(Protocol):
    """The date wording the filters ``vn_date``, ``vn_long_date`` and ``vn_datetime`` use."""

    def date_text(self, value: date | datetime | str) -> str:
        """A date (or an instant's local day, or ISO text) as tables and messages write it."""
        ...

    def long_date(self, value: date | datetime | str) -> str:
        """A date as a document's date line writes it."""
        ...

    def datetime_text(self, value: datetime | str) -> str:
        """An instant (naive = UTC, or ISO text) in local time."""
        ...


_given: TextFormats | str | None = None


def use_text_formats(formats: TextFormats | str) -> None:
    """Give the filters their formats: an object, or the name of a module holding them (imported
    at the first date a template writes)."""
    global _given  # noqa: PLW0603 - the application's choice, made once at start-up
    _given = formats


def text_formats() -> TextFormats:
    """The formats in use; ``LookupError`` when the application gave none."""
    global _given  # noqa: PLW0603 - a module name is replaced by the module it names, once
    if _given is None:
        raise LookupError(
            "no date formats: the application gives them with "
            "notifications.formats.use_text_formats"
        )
    if isinstance(_given, str):
        _given = cast(TextFormats, importlib.import_module(_given))
    return _given
