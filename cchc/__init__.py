"""CCHC: the administrative-reform product built on the generic ``workflows`` engine.

Importing it gives the engine CCHC's settings: the limits on what a command reads come from
the ``CCHC_MAX_*`` environment variables (``cchc.settings``); the notifications' date filters
write dates as ``cchc.vi_text`` does (imported at the first date a template writes).
"""

from cchc.settings import limits_from_environment
from notifications.formats import use_text_formats
from workflows.limits import use_limits

use_limits(limits_from_environment)
use_text_formats("cchc.vi_text")
