"""Notification templates (Vietnamese, Jinja2) and, later, the channels that deliver the outbox."""
