"""The `mailroom` command: Flask's CLI group (run, shell, db ...) plus the product's commands."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

DEMO_LOGINS_FILE = "demo-logins.txt"


def _create_app(*_args) -> Flask:
    from mailroom import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=True)
def main() -> None:
    """Zentrale Poststelle: incoming mail, custody, tours, fleet."""


def init_app(app: Flask) -> None:
    app.cli.add_command(init_command)
    app.cli.add_command(create_user_command)
    app.cli.add_command(serve_command)
    for name in (
        "mailroom.commands.decode",
        "mailroom.commands.intake",
        "mailroom.commands.records",
        "mailroom.commands.dispatch",
        "mailroom.commands.fleet",
        "mailroom.commands.outgoing",
        "mailroom.commands.ops",
        "mailroom.commands.masterdata",
    ):
        try:
            module = __import__(name, fromlist=["register"])
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(app)


@click.command("init")
@click.option("--demo", is_flag=True, help="Seed demo data (only into an empty database).")
@with_appcontext
def init_command(demo: bool) -> None:
    """Create or upgrade the database schema (Alembic); optionally seed demo data."""
    from flask_migrate import upgrade

    from mailroom import demo as demo_data
    from mailroom.extensions import db
    from mailroom.services import storage

    upgrade()
    click.echo(f"Datenbank bereit: {db.engine.url.render_as_string(hide_password=True)}")
    if demo:
        logins_path = Path(current_app.instance_path) / DEMO_LOGINS_FILE
        if demo_data.database_is_empty():
            logins = demo_data.seed()
            db.session.commit()
            text = demo_data.format_logins(logins)
            storage.write_atomically(logins_path, text, mode=0o600)
            click.echo("Demodaten angelegt.")
        else:
            click.echo("Datenbank enthält bereits Daten: Demodaten nicht erneut angelegt.")
        if logins_path.exists():
            click.echo(logins_path.read_text(encoding="utf-8"))
    else:
        from mailroom.services import setup

        click.echo(setup.next_steps_text())


@click.command("create-user")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(["admin", "mailroom", "courier", "fleet"]))
@click.option("--name", "full_name", default="", help="Full name shown in the UI.")
@with_appcontext
def create_user_command(username: str, role: str, full_name: str) -> None:
    """Create a user; the password is asked for, never taken as an argument."""
    from mailroom.errors import DomainError
    from mailroom.extensions import db
    from mailroom.services.auth import create_user

    password = click.prompt("Passwort", hide_input=True, confirmation_prompt="Passwort wiederholen")
    try:
        create_user(username, password, role, full_name)
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from exc
    db.session.commit()
    click.echo(f"Benutzer {username.strip().lower()} ({role}) angelegt.")


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=int, help="Threads per process.")
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Processes: 1 serves with waitress; more with gunicorn (a process per CPU core uses them all).",
)
@click.option("--with-worker", is_flag=True, help="Also run `mailroom worker` (stopped together on Ctrl+C).")
def serve_command(host: str, port: int, threads: int, workers: int, with_worker: bool) -> None:
    """Serve the app with waitress, or with gunicorn in several processes (production WSGI servers)."""
    from mailroom import create_app

    if workers > 1:
        # Each gunicorn process makes its own app (and database pool) after the fork.
        serve = _gunicorn_server(host, port, workers, threads)
    else:
        from waitress import serve as waitress_serve

        app = create_app()
        # waitress refuses a larger body with 413 before reading it (its default buffers up to 1 GB onto disk).
        limits = {"max_request_body_size": int(app.config["MAX_CONTENT_LENGTH"])}

        def serve() -> None:
            waitress_serve(app, host=host, port=port, threads=threads, ident="mailroom", **limits)

    processes = f" in {workers} Prozessen" if workers > 1 else ""
    click.echo(f"Anmeldung: http://{host}:{port}/login")
    if not with_worker:
        click.echo(f"mailroom läuft auf http://{host}:{port}/{processes} (Strg+C beendet)")
        sys.stdout.flush()
        serve()
        return
    from mailroom.commands.ops import supervise_with_worker

    click.echo(f"mailroom läuft auf http://{host}:{port}/{processes} mit Worker (Strg+C beendet beide)")
    sys.stdout.flush()
    supervise_with_worker(serve)


def _gunicorn_server(host: str, port: int, workers: int, threads: int):
    """gunicorn's arbiter with `workers` processes of `threads` threads each (gthread), as a callable."""
    from gunicorn.app.base import BaseApplication

    from mailroom import create_app

    class MailroomApplication(BaseApplication):
        def load_config(self) -> None:
            options = {
                "bind": f"{host}:{port}",
                "workers": workers,
                "threads": threads,
                "worker_class": "gthread",
                # No keep-alive: a kept-alive connection stays with the process that accepted it, so a few busy
                # scan stations can queue behind one process (one GIL) while another idles. Closed after each
                # answer, the next request goes to whichever process is free. Measured on 2 cores, 8 stations:
                # 1.57-1.70 cores busy with keep-alive, 1.96 without (benchmarks/load.py). Behind a reverse proxy
                # (nginx by default opens a connection per request to its upstream) this changes nothing.
                "keepalive": 0,
                "graceful_timeout": 30,
                "accesslog": None,
            }
            for name, value in options.items():
                self.cfg.set(name, value)

        def load(self):
            return create_app()

    return MailroomApplication().run
