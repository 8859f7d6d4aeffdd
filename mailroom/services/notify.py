"""E-mail notifications to org units: a registered item or PZU has arrived for them.

Sent over SMTP (config SMTP_HOST, SMTP_PORT, SMTP_USER, SMTP_PASSWORD, SMTP_STARTTLS, MAIL_FROM; without
SMTP_HOST nothing is sent). A failing mail server never breaks the intake: the failure is logged and
`notify_registered_item` returns False. The caller records a NOTIFIED event when it returns True; an item
with such an event is not notified a second time.
"""

from __future__ import annotations

import smtplib
import ssl
from datetime import date, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from flask import current_app
from sqlalchemy import select

from mailroom.extensions import db
from mailroom.models import EventKind, ItemKind, MailEvent, MailItem, Tour, TourStop
from mailroom.services import workdays
from mailroom.services.clock import LOCAL_TZ, now_utc
from mailroom.services.dates import parse_hhmm
from mailroom.services.formatting import format_day


def _german_day(day: date) -> str:
    return format_day(day, weekday=True)


def expected_delivery(item: MailItem) -> str:
    """When the org unit can expect the item, in German."""
    if item.tour_stop_id is not None:
        stop = db.session.get(TourStop, item.tour_stop_id)
        tour = db.session.get(Tour, stop.tour_id) if stop else None
        if stop is not None and tour is not None:
            text = f"voraussichtlich am {_german_day(tour.service_date)}"
            if stop.eta is not None:
                text += f" gegen {stop.eta.astimezone(LOCAL_TZ):%H:%M} Uhr"
            return text + " mit der Botentour"
    received = item.received_at.astimezone(LOCAL_TZ)
    cutoff = parse_hhmm(current_app.config["NOTIFY_TOUR_CUTOFF"])
    day = received.date()
    if not workdays.is_working_day(day) or received.time() >= cutoff:
        day = workdays.next_working_day(day)
    return f"voraussichtlich mit der Botentour am {_german_day(day)}"


def already_notified(item: MailItem) -> bool:
    if item.id is None:
        return False
    return (
        db.session.scalar(
            select(MailEvent.id).where(MailEvent.item_id == item.id, MailEvent.kind == EventKind.NOTIFIED).limit(1)
        )
        is not None
    )


def build_message(item: MailItem, *, sender: str, recipient: str, at: datetime | None = None) -> EmailMessage:
    """The German notification for one item (no personal data of the sender in it)."""
    kind = ItemKind(item.kind)
    unit = item.org_unit
    is_pzu = kind == ItemKind.PZU
    what = "Postzustellungsurkunde (PZU)" if is_pzu else kind.label
    code = item.carrier_code or item.code
    received = item.received_at.astimezone(LOCAL_TZ)
    lines = [
        "Guten Tag,",
        "",
        f"in der Zentralen Poststelle ist für {unit.name} ({unit.short_name}) eine Sendung eingegangen,",
        "die nur gegen Unterschrift übergeben wird:",
        "",
        f"  Eingangsnummer:  {item.incoming_number}",
        f"  Eingegangen am:  {received:%d.%m.%Y um %H:%M} Uhr",
        f"  Art:             {what}",
        f"  Sendungsnummer:  {code}",
    ]
    if item.file_number:
        lines.append(f"  Aktenzeichen:    {item.file_number}")
    if is_pzu and item.delivery_date:
        lines.append(f"  Zugestellt am:   {item.delivery_date:%d.%m.%Y}")
    lines.append(f"  Zustellung:      {expected_delivery(item)}")
    if item.confidential:
        lines += ["", "Die Sendung ist als „persönlich/vertraulich“ gekennzeichnet und wird verschlossen übergeben."]
    if is_pzu:
        lines += ["", "Bitte beachten Sie: Mit dem Zustelldatum einer PZU beginnen Fristen zu laufen."]
    lines += [
        "",
        "Bitte halten Sie jemanden bereit, der die Sendung mit Name und Unterschrift entgegennimmt.",
        "",
        "Mit freundlichen Grüßen",
        "Zentrale Poststelle",
        "",
        "-- ",
        "Diese Nachricht wurde automatisch erzeugt.",
    ]
    message = EmailMessage()
    message["Subject"] = f"{'PZU' if is_pzu else 'Einschreiben'} eingegangen: {item.incoming_number} ({code})"
    message["From"] = sender
    message["To"] = recipient
    message["Date"] = format_datetime(at or now_utc())
    domain = sender.rpartition("@")[2] or None
    message["Message-ID"] = make_msgid(domain=domain)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content("\n".join(lines) + "\n", charset="utf-8")
    return message


def send_message(message: EmailMessage) -> None:
    """Deliver one message to the configured SMTP server (raises smtplib/OS errors)."""
    config = current_app.config
    timeout = float(config["SMTP_TIMEOUT"])
    with smtplib.SMTP(config["SMTP_HOST"], int(config.get("SMTP_PORT") or 25), timeout=timeout) as smtp:
        if config.get("SMTP_STARTTLS"):
            smtp.starttls(context=ssl.create_default_context())
        if config.get("SMTP_USER"):
            smtp.login(config["SMTP_USER"], config.get("SMTP_PASSWORD") or "")
        smtp.send_message(message)


def notify_registered_item(item: MailItem) -> bool:
    """Tell the item's org unit (if it has an e-mail address) that a registered item or PZU arrived.
    Returns True when a message was sent. Never raises for SMTP trouble (logs it instead)."""
    config = current_app.config
    if not config.get("SMTP_HOST"):
        return False
    if not item.is_registered or item.org_unit is None:
        return False
    recipient = (item.org_unit.email or "").strip()
    if not recipient:
        return False
    if already_notified(item):
        return False
    try:
        message = build_message(item, sender=config["MAIL_FROM"], recipient=recipient)
        send_message(message)
    except (smtplib.SMTPException, OSError, ValueError) as exc:
        current_app.logger.warning(
            "notification for item %s to %s failed: %s", item.incoming_number, item.org_unit.short_name, exc
        )
        return False
    current_app.logger.info("notification for item %s sent to %s", item.incoming_number, item.org_unit.short_name)
    return True
