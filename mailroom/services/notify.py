"""E-mail notifications to org units (registered items and PZUs). Being built."""

from __future__ import annotations

from mailroom.models import MailItem


def notify_registered_item(item: MailItem) -> bool:
    """Tell the item's org unit (if it has an e-mail address) that a registered item or PZU arrived.
    Returns True when a message was sent. Never raises for SMTP trouble (logs it instead)."""
    return False
