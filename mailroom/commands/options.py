"""What several commands' options share."""

from __future__ import annotations

import click


def day_option(_ctx, _param, value: str):
    """Click callback: a day typed as YYYY-MM-DD, refused with the service's German message."""
    from mailroom.errors import DomainError
    from mailroom.services.dates import parse_day

    try:
        return parse_day(value)
    except DomainError as exc:
        raise click.BadParameter(exc.message) from exc
