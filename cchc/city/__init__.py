"""Many wards in one deployment: the city file, its wards in blocks, the city ranking.

See ``docs/city.md``.
"""

from cchc.city.model import (
    BLOCKS,
    CITY_ROLE,
    Block,
    City,
    block_of,
    check_city,
    city_committee,
    city_name_of,
    default_city,
    load_city,
)

__all__ = [
    "BLOCKS",
    "CITY_ROLE",
    "Block",
    "City",
    "block_of",
    "check_city",
    "city_committee",
    "city_name_of",
    "default_city",
    "load_city",
]
