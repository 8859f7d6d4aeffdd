"""`mailroom create-token USERNAME --name DEVICE`, `mailroom revoke-token ID`: API keys for scanner devices."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import with_appcontext


@click.command("create-token")
@click.argument("username")
@click.option("--name", "device", required=True, help="Name of the scanner device, e.g. 'Handscanner 1'.")
@with_appcontext
def create_token_command(username: str, device: str) -> None:
    """Create an API token for USERNAME's device; it is printed once, only its hash is stored."""
    from sqlalchemy import select

    from mailroom.errors import DomainError
    from mailroom.extensions import db
    from mailroom.models import User
    from mailroom.services import tokens

    user = db.session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise click.ClickException(f"Benutzer {username} gibt es nicht.")
    try:
        token, plaintext = tokens.create_token(user, device)
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from exc
    db.session.commit()
    click.echo(f"API-Schlüssel {token.id} für {user.username} ({token.name}) angelegt. Er wird nur jetzt angezeigt:")
    click.echo(plaintext)


@click.command("revoke-token")
@click.argument("token_id", type=int)
@with_appcontext
def revoke_token_command(token_id: int) -> None:
    """Revoke the API token with this id."""
    from mailroom.errors import DomainError
    from mailroom.extensions import db
    from mailroom.services import tokens

    try:
        token = tokens.revoke(token_id)
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from exc
    db.session.commit()
    click.echo(f"API-Schlüssel {token.id} ({token.name}) gesperrt.")


def register(app: Flask) -> None:
    app.cli.add_command(create_token_command)
    app.cli.add_command(revoke_token_command)
