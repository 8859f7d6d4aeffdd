"""`mailroom decode FILE [FILE ...] [--json]`: the barcodes on scans of envelopes and labels.

Needs no database. With --json: a JSON array, one object per file,
``{"file": "<path as given>", "codes": [{"symbology": "CODE128", "value": "..."}], "error": null}``;
an unreadable file gets ``"codes": []`` and an ``"error"`` text. Exit code 0 unless the arguments are wrong.
"""

from __future__ import annotations

import json

import click
from flask import Flask
from flask.cli import with_appcontext


def register(app: Flask) -> None:
    app.cli.add_command(decode_command)


@click.command("decode")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("--json", "as_json", is_flag=True, help="JSON-Ausgabe (ein Objekt je Datei) statt einer Tabelle.")
@click.option("--max-pixels", type=click.IntRange(min=1), default=None, help="Höchstzahl Pixel je Bild/Seite.")
@with_appcontext
def decode_command(files: tuple[str, ...], as_json: bool, max_pixels: int | None) -> None:
    """Decode the barcodes on image or PDF files (JPEG, PNG, TIFF, PDF) and classify carrier codes."""
    from flask import current_app

    from labels import codes as carrier_codes
    from labels import reading

    limit = max_pixels or int(current_app.config["MAX_IMAGE_PIXELS"])
    results = [reading.decode_file(path, max_pixels=limit) for path in files]
    if as_json:
        click.echo(json.dumps([r.to_json() for r in results], ensure_ascii=False, indent=2))
        return
    for result in results:
        if result.error:
            click.echo(f"{result.file}: Fehler: {result.error}")
            continue
        if not result.codes:
            click.echo(f"{result.file}: kein Barcode gefunden")
            continue
        click.echo(f"{result.file}: {len(result.codes)} Code(s)")
        for code in result.codes:
            info = carrier_codes.classify(code.value)
            note = f"  ({info.message})" if info.message else ""
            click.echo(f"  {code.symbology:<8} {code.value:<40} {info.label}{note}")
