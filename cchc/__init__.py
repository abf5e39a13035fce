"""CCHC: the administrative-reform product built on the generic ``workflows`` engine.

Importing it gives the engine CCHC's settings: the limits on what a command reads come from
the ``CCHC_MAX_*`` environment variables (``cchc.settings``).
"""

from cchc.settings import limits_from_environment
from workflows.limits import use_limits

use_limits(limits_from_environment)
