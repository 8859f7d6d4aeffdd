"""File answers of the views (PDF, CSV): one place for their headers.

Every download may hold personal data: "private, no-store" keeps it out of shared and browser caches."""

from __future__ import annotations

from flask import Response


def file_response(data: bytes, filename: str, mimetype: str, *, attachment: bool = True) -> Response:
    content_type = f"{mimetype}; charset=utf-8" if mimetype.startswith("text/") else mimetype
    disposition = "attachment" if attachment else "inline"
    return Response(
        data,
        mimetype=mimetype,
        headers={
            "Content-Type": content_type,
            "Content-Disposition": f'{disposition}; filename="{filename}"',
            "Cache-Control": "private, no-store",
        },
    )


def pdf_response(data: bytes, filename: str, *, attachment: bool = False) -> Response:
    """A PDF, shown in the browser unless `attachment`."""
    return file_response(data, filename, "application/pdf", attachment=attachment)


def csv_response(data: bytes, filename: str) -> Response:
    return file_response(data, filename, "text/csv")
