"""Notifications: Vietnamese Jinja2 templates (``render``), recipients of a ward
(``recipients``), channels (``channels``: Maildir, SMTP, webhook), delivery of the outbox
(``dispatch``) and the daily digest (``digest``). See ``docs/notifications.md``."""
