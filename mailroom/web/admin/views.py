"""Administration: users, sites, org units, vans, stop templates, scanner keys; the set-up checklist.

Nothing with history is deleted here: sites, org units, vans, users and templates are deactivated.
"""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user
from wtforms.fields import SelectChoice

from mailroom.errors import DomainError
from mailroom.models import OrgUnit, Role, Site, StopTemplate, User, Vehicle
from mailroom.services import admin as admin_service
from mailroom.services import audit, geocoding, setup
from mailroom.services.auth import create_user
from mailroom.services.lookup import get_or_404
from mailroom.services.masterdata import org_units as unit_service
from mailroom.services.masterdata import sites as site_service
from mailroom.services.masterdata import stop_templates as template_service
from mailroom.services.masterdata import vans as van_service
from mailroom.services.masterdata.sites import KIND_LABELS
from mailroom.services.masterdata.stop_templates import EntryChoice, format_weekdays, weekday_indexes
from mailroom.web.access import roles_required
from mailroom.web.actions import commit_or_flash
from mailroom.web.admin.forms import (
    EmptyForm,
    OrgUnitForm,
    PasswordForm,
    SiteForm,
    TemplateForm,
    TokenForm,
    UserEditForm,
    UserForm,
    VehicleEditForm,
    VehicleForm,
)

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.app_template_filter("weekdays")
def _weekdays_filter(stored: str) -> str:
    return format_weekdays(stored)


@bp.route("/")
@roles_required(Role.ADMIN)
def index():
    return render_template("admin/index.html", checklist=setup.checklist())


# --- users -------------------------------------------------------------------------------------------


@bp.route("/users", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def users():
    form = UserForm()
    if form.validate_on_submit():
        ok, _ = commit_or_flash(
            lambda: create_user(form.username.data, form.password.data, form.role.data, form.full_name.data or ""),
            f"Benutzer {form.username.data.strip().lower()} angelegt.",
        )
        if ok:
            return redirect(url_for("admin.users"))
    return render_template("admin/users.html", users=admin_service.list_users(), form=form, button=EmptyForm())


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def user_edit(user_id: int):
    user = get_or_404(User, user_id)
    form = UserEditForm(obj=user)
    if form.validate_on_submit():
        ok, _ = commit_or_flash(
            lambda: admin_service.update_user(
                user, full_name=form.full_name.data or "", role=form.role.data, acting=current_user
            ),
            f"Benutzer {user.username} gespeichert.",
        )
        if ok:
            return redirect(url_for("admin.users"))
    return render_template("admin/user_edit.html", user=user, form=form)


@bp.route("/users/<int:user_id>/active", methods=["POST"])
@roles_required(Role.ADMIN)
def user_active(user_id: int):
    user = get_or_404(User, user_id)
    if EmptyForm().validate_on_submit():
        new_state = not user.active
        commit_or_flash(
            lambda: admin_service.set_user_active(user, new_state, acting=current_user),
            f"Benutzer {user.username} {'aktiviert' if new_state else 'deaktiviert'}.",
        )
    return redirect(url_for("admin.users"))


@bp.route("/users/<int:user_id>/password", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def user_password(user_id: int):
    user = get_or_404(User, user_id)
    form = PasswordForm()
    if form.validate_on_submit():
        ok, _ = commit_or_flash(
            lambda: admin_service.reset_password(user, form.password.data), f"Passwort für {user.username} gesetzt."
        )
        if ok:
            if user.id == current_user.id:
                login_user(user)  # the reset ended every session of the user, this one is renewed
            return redirect(url_for("admin.users"))
    return render_template("admin/password.html", user=user, form=form)


# --- sites -------------------------------------------------------------------------------------------


@bp.route("/sites")
@roles_required(Role.ADMIN)
def sites():
    return render_template(
        "admin/sites.html", sites=site_service.list_sites(), kind_labels=KIND_LABELS, button=EmptyForm()
    )


def _site_values(form: SiteForm) -> dict:
    text_fields = ("code", "name", "district", "street", "postcode", "city", "phone", "service_min", "remarks")
    values: dict = {name: getattr(form, name).data or "" for name in text_fields}
    values |= {
        "kind": form.kind.data,
        "lat": (form.lat.data or "").strip() or None,
        "lon": (form.lon.data or "").strip() or None,
        "opens": form.opens.data,
        "closes": form.closes.data,
        "active": bool(form.active.data),
    }
    return values


def _geocode_into(form: SiteForm) -> None:
    """Fill the form's coordinates from the address (not saved: the admin checks them on the map)."""
    address = ", ".join(
        p for p in (form.street.data, f"{form.postcode.data or ''} {form.city.data or ''}".strip()) if p
    )
    try:
        found = geocoding.geocode(
            address,
            base_url=current_app.config.get("GEOCODER_URL"),
            kind=current_app.config.get("GEOCODER_KIND", "nominatim"),
            timeout_s=float(current_app.config.get("GEOCODER_TIMEOUT_S", 5.0)),
        )
    except DomainError as exc:
        flash(exc.message, "error")
        return
    form.lat.data, form.lon.data = f"{found.lat:.6f}", f"{found.lon:.6f}"
    flash(f"Gefunden: {found.label}. Bitte auf der Karte prüfen und speichern.", "success")


def _site_form_page(form: SiteForm, site: Site | None):
    depot = next((s for s in site_service.list_sites(include_inactive=False) if s.is_depot), None)
    return render_template(
        "admin/site_edit.html", site=site, form=form, depot=depot,
        tile_url=current_app.config.get("MAP_TILE_URL") or "", geocoder=bool(current_app.config.get("GEOCODER_URL")),
    )  # fmt: skip


def _save_site_from(form: SiteForm, site: Site | None) -> bool:
    ok, result = commit_or_flash(lambda: site_service.save_site(site, _site_values(form)))
    if ok and result is not None:
        saved, warnings = result
        flash(f"Standort {saved.code} gespeichert.", "success")
        for warning in warnings:
            flash(warning, "warning")
    return ok


@bp.route("/sites/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def site_new():
    form = SiteForm()
    if request.method == "GET" and not site_service.list_sites():
        form.kind.data = "depot"  # the first site of an installation is usually the mail room itself
    if form.validate_on_submit():
        if "geocode" in request.form:
            _geocode_into(form)
        elif _save_site_from(form, None):
            return redirect(url_for("admin.sites"))
    return _site_form_page(form, None)


@bp.route("/sites/<int:site_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def site_edit(site_id: int):
    site = get_or_404(Site, site_id)
    form = SiteForm(obj=site)
    if request.method == "GET":
        form.lat.data = "" if site.lat is None else f"{site.lat:g}"
        form.lon.data = "" if site.lon is None else f"{site.lon:g}"
        form.service_min.data = str(site.service_min)
    if form.validate_on_submit():
        if "geocode" in request.form:
            _geocode_into(form)
        elif _save_site_from(form, site):
            return redirect(url_for("admin.sites"))
    return _site_form_page(form, site)


@bp.route("/sites/<int:site_id>/active", methods=["POST"])
@roles_required(Role.ADMIN)
def site_active(site_id: int):
    site = get_or_404(Site, site_id)
    if EmptyForm().validate_on_submit():
        new_state = not site.active
        commit_or_flash(
            lambda: site_service.set_active(site, new_state),
            f"Standort {site.code} {'aktiviert' if new_state else 'deaktiviert'}.",
        )
    return redirect(url_for("admin.sites"))


# --- org units ---------------------------------------------------------------------------------------


@bp.route("/org-units")
@roles_required(Role.ADMIN)
def org_units():
    return render_template("admin/org_units.html", units=unit_service.list_org_units(), button=EmptyForm())


def _unit_form(unit: OrgUnit | None) -> OrgUnitForm:
    form = OrgUnitForm(obj=unit)
    form.site_id.choices = [SelectChoice(s.id, f"{s.code} – {s.name}") for s in site_service.list_sites()]
    return form


def _unit_values(form: OrgUnitForm) -> dict:
    return {
        "short_name": form.short_name.data or "", "name": form.name.data or "",
        "cost_centre": form.cost_centre.data or "", "site_id": form.site_id.data, "email": form.email.data or "",
        "room": form.room.data or "", "do_not_open": bool(form.do_not_open.data), "active": bool(form.active.data),
    }  # fmt: skip


@bp.route("/org-units/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def org_unit_new():
    form = _unit_form(None)
    if form.validate_on_submit():
        ok, _ = commit_or_flash(
            lambda: unit_service.save_org_unit(None, _unit_values(form)),
            lambda u: f"Fachdienst {u.short_name} angelegt.",
        )
        if ok:
            return redirect(url_for("admin.org_units"))
    return render_template("admin/org_unit_edit.html", unit=None, form=form)


@bp.route("/org-units/<int:unit_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def org_unit_edit(unit_id: int):
    unit = get_or_404(OrgUnit, unit_id)
    form = _unit_form(unit)
    if form.validate_on_submit():
        ok, _ = commit_or_flash(
            lambda: unit_service.save_org_unit(unit, _unit_values(form)),
            lambda u: f"Fachdienst {u.short_name} gespeichert.",
        )
        if ok:
            return redirect(url_for("admin.org_units"))
    return render_template("admin/org_unit_edit.html", unit=unit, form=form)


# --- vans --------------------------------------------------------------------------------------------


@bp.route("/vehicles")
@roles_required(Role.ADMIN, Role.FLEET)
def vehicles():
    return render_template("admin/vehicles.html", vehicles=van_service.list_vans())


def _van_values(form: VehicleForm) -> dict:
    return {
        "code": form.code.data or "", "name": form.name.data or "", "plate": form.plate.data or "",
        "capacity_boxes": form.capacity_boxes.data or "", "battery_range_km": form.battery_range_km.data or "",
        "battery_kwh": form.battery_kwh.data or "", "kwh_per_100km": form.kwh_per_100km.data or "",
        "winter_factor": form.winter_factor.data or "", "active": bool(form.active.data),
    }  # fmt: skip


@bp.route("/vehicles/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN, Role.FLEET)
def vehicle_new():
    form = VehicleForm()
    if form.validate_on_submit():
        ok, _ = commit_or_flash(
            lambda: van_service.save_van(None, _van_values(form)), lambda v: f"Fahrzeug {v.code} angelegt."
        )
        if ok:
            return redirect(url_for("admin.vehicles"))
    return render_template("admin/vehicle_edit.html", vehicle=None, form=form)


def _save_van_and_workshop(vehicle: Vehicle, form: VehicleEditForm) -> Vehicle:
    van_service.save_van(vehicle, _van_values(form))
    try:
        reserve = float((form.safety_reserve.data or "0").replace(",", "."))
    except ValueError:
        reserve = -1.0  # refused below with the German message
    admin_service.update_van_workshop(
        vehicle, safety_reserve=reserve, unavailable_from=form.unavailable_from.data,
        unavailable_until=form.unavailable_until.data, unavailable_note=form.unavailable_note.data or "",
    )  # fmt: skip
    return vehicle


@bp.route("/vehicles/<int:vehicle_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN, Role.FLEET)
def vehicle_edit(vehicle_id: int):
    vehicle = get_or_404(Vehicle, vehicle_id)
    form = VehicleEditForm(obj=vehicle)
    if request.method == "GET":
        for name in ("capacity_boxes", "battery_range_km", "battery_kwh", "kwh_per_100km", "winter_factor",
                     "safety_reserve"):  # fmt: skip
            getattr(form, name).data = f"{getattr(vehicle, name):g}"
    if form.validate_on_submit():
        ok, _ = commit_or_flash(
            lambda: _save_van_and_workshop(vehicle, form), lambda v: f"Fahrzeug {v.code} gespeichert."
        )
        if ok:
            return redirect(url_for("admin.vehicles"))
    return render_template("admin/vehicle_edit.html", vehicle=vehicle, form=form)


# --- stop templates ----------------------------------------------------------------------------------


@bp.route("/templates")
@roles_required(Role.ADMIN)
def templates():
    return render_template("admin/templates.html", templates=template_service.list_templates(), button=EmptyForm())


def _entry_choices(sites: list[Site]) -> list[EntryChoice]:
    choices = []
    for site in sites:
        raw_priority = request.form.get(f"priority-{site.id}", "1").strip() or "1"
        choices.append(
            EntryChoice(
                site_id=site.id,
                included=request.form.get(f"include-{site.id}") == "1",
                must_visit=request.form.get(f"must-{site.id}") == "1",
                priority=int(raw_priority) if raw_priority.isdigit() else 0,
            )
        )
    return choices


def _template_page(template: StopTemplate | None):
    form = TemplateForm(obj=template)
    if request.method == "GET":
        form.weekdays.data = weekday_indexes(template.weekdays) if template else [0, 1, 2, 3, 4]
    sites = [s for s in site_service.list_sites(include_inactive=False) if not s.is_depot]
    if form.validate_on_submit():
        ok, _ = commit_or_flash(
            lambda: template_service.save_template(
                template, name=form.name.data, weekdays=form.weekdays.data or [], active=bool(form.active.data),
                entries=_entry_choices(sites),
            ),
            lambda t: f"Stoppvorlage „{t.name}“ gespeichert ({len(t.entries)} Standorte).",
        )  # fmt: skip
        if ok:
            return redirect(url_for("admin.templates"))
    if request.method == "POST":
        chosen = {c.site_id: c for c in _entry_choices(sites)}
    elif template is not None:
        chosen = {e.site_id: EntryChoice(e.site_id, True, e.must_visit, e.priority) for e in template.entries}
    else:
        chosen = {s.id: EntryChoice(s.id, True) for s in sites}  # a new template: every site, must-visit
    return render_template("admin/template_edit.html", template=template, form=form, sites=sites, chosen=chosen)


@bp.route("/templates/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def template_new():
    return _template_page(None)


@bp.route("/templates/<int:template_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def template_edit(template_id: int):
    return _template_page(get_or_404(StopTemplate, template_id))


@bp.route("/templates/<int:template_id>/active", methods=["POST"])
@roles_required(Role.ADMIN)
def template_active(template_id: int):
    template = get_or_404(StopTemplate, template_id)
    if EmptyForm().validate_on_submit():
        new_state = not template.active
        commit_or_flash(
            lambda: template_service.set_active(template, new_state),
            f"Stoppvorlage „{template.name}“ {'aktiviert' if new_state else 'deaktiviert'}.",
        )
    return redirect(url_for("admin.templates"))


# --- scanner keys ------------------------------------------------------------------------------------


@bp.route("/audit")
@roles_required(Role.ADMIN)
def audit_log():
    """Who changed users, keys, tariffs, budgets and master data: read only, newest first."""
    return render_template("admin/audit.html", entries=audit.entries())


@bp.route("/tokens", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def tokens():
    """API keys for scanner devices: the key is shown once, only its hash is stored."""
    from mailroom.services import tokens as token_service

    form = TokenForm()
    form.user_id.choices = [
        SelectChoice(u.id, f"{u.username} ({u.role_label})") for u in admin_service.list_users() if u.active
    ]
    new_token = None
    if form.validate_on_submit():
        user = get_or_404(User, form.user_id.data)
        ok, result = commit_or_flash(
            lambda: token_service.create_token(user, form.name.data.strip()),
            "API-Schlüssel angelegt. Er wird nur jetzt angezeigt: bitte sofort im Gerät hinterlegen.",
        )
        if ok and result is not None:
            new_token = result[1]
    return render_template(
        "admin/tokens.html", tokens=admin_service.list_tokens(), form=form, new_token=new_token, button=EmptyForm()
    )


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@roles_required(Role.ADMIN)
def token_revoke(token_id: int):
    from mailroom.services import tokens as token_service

    if EmptyForm().validate_on_submit():
        commit_or_flash(lambda: token_service.revoke(token_id), "API-Schlüssel gesperrt.")
    return redirect(url_for("admin.tokens"))


from mailroom.web.admin import transfer  # noqa: E402, F401  (import and export views on this blueprint)
