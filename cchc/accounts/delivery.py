"""Delivering an invite or reset link through the ward's notification channel.

The link is sent at once (not queued in the outbox), so that the token is never stored in
clear: the database keeps its sha256 only. The message is ``notifications/templates/
account_invite.txt.j2``, sent by ``notifications.channels.channel_from_env`` (Maildir by
default, SMTP or a webhook as configured; ``docs/notifications.md``).
"""

from __future__ import annotations

from pathlib import Path

from cchc.accounts.service import Invitation
from cchc.organization.model import Organization
from notifications.channels import Channel, DeliveryError, Envelope, channel_from_env
from notifications.recipients import ward_sender
from notifications.render import render
from workflows.canonical import utc_iso

TEMPLATE = "account_invite"


def invite_envelope(org: Organization, invitation: Invitation, link: str) -> Envelope:
    """The message carrying ``link`` to the invited person."""
    person = org.person(invitation.person_id)
    context = {
        "purpose": invitation.purpose,
        "link": link,
        "expires_at": utc_iso(invitation.expires_at),
    }
    rendered = render(TEMPLATE, context, person, ward=org)
    return Envelope(
        dedupe_key=f"{org.tenant}:{TEMPLATE}:{invitation.person_id}:{utc_iso(invitation.expires_at)}",
        tenant=org.tenant,
        template=TEMPLATE,
        recipient_id=person.id,
        recipient_name=person.full_name,
        address=person.email,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        context={"purpose": invitation.purpose},
    )


def send_invite(
    org: Organization,
    invitation: Invitation,
    link: str,
    data_dir: Path,
    channel: Channel | None = None,
) -> str | None:
    """Send the link; None when sent, else why not (the caller prints the link instead)."""
    channel = channel or channel_from_env(data_dir, sender=ward_sender(org))
    try:
        channel.send(invite_envelope(org, invitation, link))
    except DeliveryError as exc:
        return str(exc)
    return None
