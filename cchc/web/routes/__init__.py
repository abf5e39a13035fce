"""One router per area of the web application (``cchc.web.deps.area_router``)."""
