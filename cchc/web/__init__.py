"""The ward's web application (``cchc serve``): FastAPI, server-rendered Jinja2 pages, plain
HTML forms, no front-end build step.

Layout (copy it for a new area):

- ``app.py``: ``create_app(ws)`` builds the application on an open ``Workspace``;
- ``security.py``: the middleware that finds the signed-in person from the session cookie,
  names the audit channel, sets the security headers; the CSRF check;
- ``deps.py``: ``router(public=...)`` (every route of it checks CSRF on POST and, unless
  public, refuses anonymous access), ``Viewer`` (the signed-in person), ``page()`` (renders a
  template), ``not_found_unless_readable()`` (404 + audited refusal);
- ``routes/<area>.py``: one router per area (``auth``, ``home``, ``tasks`` …); a route calls the
  same service functions as the CLI and renders their result, no rule of its own;
- ``templates/``: Jinja2 (autoescaped), Vietnamese; ``static/``: one CSS file.
"""
