"""The city's reference data, registered in its own tenant like a ward's (``cchc.reference_data``).

The city file as checked (the city's code and name, its officials, its wards' organizations) is
registered as kind ``city``, and the definitions the city's engine runs on as ``definitions``.
The first ranking registers the files it was given (by ``system``); afterwards a city file or a
definitions folder that was chosen (``--city``/``CCHC_CITY``, ``CCHC_DEFINITIONS_DIR``) and
differs is refused, naming the difference, and a default that differs follows the registered
version. ``cchc city apply`` registers a new version.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from cchc import reference_data
from cchc.city.model import City
from cchc.runtime import definitions_dir
from workflows.engine import Engine

KINDS = ("city", "definitions")
"""The kinds of reference data registered for a city's own tenant."""


def city_snapshots(city: City, source: Path | str, engine: Engine) -> list[reference_data.Snapshot]:
    """The city's reference data as read from its file and the definitions folder."""
    return [
        reference_data.city_snapshot(city, source),
        reference_data.definitions_snapshot(engine.definitions, definitions_dir()),
    ]


def settle_city(
    sessions: sessionmaker[Session],
    city: City,
    source: Path | str,
    engine: Engine,
    *,
    chosen: Path | None,
    follow: Collection[str] = (),
) -> tuple[City, Engine]:
    """The city and the engine in force for the city's tenant once ``city`` (read from
    ``source``; ``chosen`` when a file was named) and ``engine``'s definitions are settled with
    the registered versions (``reference_data.settle``: registered on first use, refused when
    chosen and different, audited). Kinds in ``follow`` are not refused (``city apply``)."""
    snapshots = city_snapshots(city, source, engine)
    follow = set(follow) | reference_data.followed({"city": chosen, "definitions": None})
    contents = reference_data.settle(
        sessions, city.code, snapshots, follow=follow, now=engine.clock()
    )
    if contents["city"] != snapshots[0].content:
        city = reference_data.city_of(contents["city"], city.paths)
    engine = reference_data.engine_in_force(
        engine, contents["definitions"], snapshots[1], city.code
    )
    return city, engine
