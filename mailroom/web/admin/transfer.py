"""CSV import (upload, preview of what is created, updated or left unchanged, confirm) and export of
sites, org units, vans and stop templates. The upload waits for the confirmation in the instance
folder under a random token; the confirmation checks the whole file again before it stores anything."""

from __future__ import annotations

from pathlib import Path

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from mailroom.errors import DomainError
from mailroom.extensions import db
from mailroom.models import Role
from mailroom.services import masterdata
from mailroom.services.clock import local_today
from mailroom.services.masterdata import uploads
from mailroom.services.masterdata.common import MAX_BYTES
from mailroom.web.access import roles_required
from mailroom.web.admin.forms import ConfirmForm, UploadForm
from mailroom.web.admin.views import bp
from mailroom.web.downloads import csv_response


def _urls(kind: str) -> dict[str, str]:
    """The import/export URLs of a kind: vans have their own, which the fleet manager may open too."""
    if kind == "vans":
        return {
            "upload_url": url_for("admin.vehicles_import"),
            "confirm_url": url_for("admin.vehicles_import_confirm"),
            "export_url": url_for("admin.vehicles_export"),
        }
    return {
        "upload_url": url_for("admin.import_upload", kind=kind),
        "confirm_url": url_for("admin.import_confirm", kind=kind),
        "export_url": url_for("admin.export", kind=kind),
    }


def _kind(name: str) -> masterdata.Kind:
    if name not in masterdata.KINDS:
        abort(404)
    return masterdata.KINDS[name]


def _folder() -> Path:
    return Path(current_app.instance_path) / "imports"


def _export(kind: str):
    spec = _kind(kind)
    data = masterdata.export_csv(spec.name)
    filename = f"{spec.name}-{local_today().isoformat()}.csv"
    return csv_response(data, filename)


def _upload(kind: str):
    spec = _kind(kind)
    form = UploadForm()
    problems: list[masterdata.Problem] = []
    if form.validate_on_submit():
        upload = request.files.get("file")
        data = upload.read(MAX_BYTES + 1) if upload else b""
        if not upload or not upload.filename:
            flash("Bitte eine CSV-Datei auswählen.", "error")
        else:
            try:
                report = masterdata.import_csv(spec.name, data, apply=False)
            except masterdata.ImportFailed as exc:
                problems = exc.problems
            else:
                token = uploads.store(_folder(), current_user.id, spec.name, data)
                return render_template(
                    "admin/import_preview.html", kind=spec, report=report, form=ConfirmForm(token=token),
                    filename=upload.filename, **_urls(spec.name),
                )  # fmt: skip
            finally:
                db.session.rollback()
    status = 422 if problems else 200
    page = render_template("admin/import_upload.html", kind=spec, form=form, problems=problems, **_urls(spec.name))
    return page, status


def _confirm(kind: str):
    spec = _kind(kind)
    urls = _urls(spec.name)
    form = ConfirmForm()
    if not form.validate_on_submit():
        flash("Das Formular ist abgelaufen. Bitte die Datei erneut hochladen.", "error")
        return redirect(urls["upload_url"])
    token = form.token.data or ""
    if "cancel" in request.form:
        uploads.discard(_folder(), current_user.id, spec.name, token)
        flash("Import abgebrochen: nichts gespeichert.", "success")
        return redirect(urls["upload_url"])
    try:
        data = uploads.load(_folder(), current_user.id, spec.name, token)
        report = masterdata.import_csv(spec.name, data, apply=True)
    except masterdata.ImportFailed as exc:
        db.session.rollback()
        page = render_template("admin/import_upload.html", kind=spec, form=UploadForm(), problems=exc.problems, **urls)
        return page, 422
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(urls["upload_url"])
    db.session.commit()
    uploads.discard(_folder(), current_user.id, spec.name, token)
    flash(f"{spec.label} eingelesen: {report.summary}.", "success")
    for warning in report.warnings[:20]:
        flash(f"Hinweis {warning}", "warning")
    return redirect(urls["upload_url"])


@bp.route("/export/<kind>.csv")
@roles_required(Role.ADMIN)
def export(kind: str):
    return _export(kind)


@bp.route("/import/<kind>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def import_upload(kind: str):
    return _upload(kind)


@bp.route("/import/<kind>/confirm", methods=["POST"])
@roles_required(Role.ADMIN)
def import_confirm(kind: str):
    return _confirm(kind)


# The fleet manager keeps the vans (and only the vans): their own URLs, open to the fleet role too.


@bp.route("/vehicles/export.csv")
@roles_required(Role.ADMIN, Role.FLEET)
def vehicles_export():
    return _export("vans")


@bp.route("/vehicles/import", methods=["GET", "POST"])
@roles_required(Role.ADMIN, Role.FLEET)
def vehicles_import():
    return _upload("vans")


@bp.route("/vehicles/import/confirm", methods=["POST"])
@roles_required(Role.ADMIN, Role.FLEET)
def vehicles_import_confirm():
    return _confirm("vans")
