"""Administration: users, sites, org units, vans."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user
from wtforms.fields import SelectChoice

from mailroom.errors import DomainError
from mailroom.extensions import db
from mailroom.models import OrgUnit, Role, Site, User, Vehicle
from mailroom.services import admin as admin_service
from mailroom.services.auth import create_user
from mailroom.services.lookup import get_or_404
from mailroom.web.access import roles_required
from mailroom.web.admin.forms import EmptyForm, OrgUnitForm, PasswordForm, SiteForm, TokenForm, UserForm, VehicleForm

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _save(message: str, action) -> bool:
    """Run a service action in one transaction; flash its German error instead of failing."""
    try:
        action()
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return False
    db.session.commit()
    flash(message, "success")
    return True


@bp.route("/")
@roles_required(Role.ADMIN)
def index():
    return render_template("admin/index.html")


@bp.route("/users", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def users():
    form = UserForm()
    if form.validate_on_submit() and _save(
        f"Benutzer {form.username.data} angelegt.",
        lambda: create_user(form.username.data, form.password.data, form.role.data, form.full_name.data or ""),
    ):
        return redirect(url_for("admin.users"))
    return render_template("admin/users.html", users=admin_service.list_users(), form=form, button=EmptyForm())


@bp.route("/users/<int:user_id>/active", methods=["POST"])
@roles_required(Role.ADMIN)
def user_active(user_id: int):
    user = get_or_404(User, user_id)
    if EmptyForm().validate_on_submit():
        new_state = not user.active
        _save(
            f"Benutzer {user.username} {'aktiviert' if new_state else 'deaktiviert'}.",
            lambda: admin_service.set_user_active(user, new_state, acting=current_user),
        )
    return redirect(url_for("admin.users"))


@bp.route("/users/<int:user_id>/password", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def user_password(user_id: int):
    user = get_or_404(User, user_id)
    form = PasswordForm()
    if form.validate_on_submit() and _save(
        f"Passwort für {user.username} gesetzt.", lambda: admin_service.reset_password(user, form.password.data)
    ):
        return redirect(url_for("admin.users"))
    return render_template("admin/password.html", user=user, form=form)


@bp.route("/sites")
@roles_required(Role.ADMIN)
def sites():
    return render_template("admin/sites.html", sites=admin_service.list_sites())


@bp.route("/sites/<int:site_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def site_edit(site_id: int):
    site = get_or_404(Site, site_id)
    form = SiteForm(obj=site)
    if form.validate_on_submit() and _save(
        f"Standort {site.code} gespeichert.",
        lambda: admin_service.update_site(
            site,
            lat=form.lat.data,
            lon=form.lon.data,
            opens=form.opens.data,
            closes=form.closes.data,
            phone=form.phone.data or "",
            street=form.street.data or "",
            service_min=form.service_min.data or 0,
            remarks=form.remarks.data or "",
        ),
    ):
        return redirect(url_for("admin.sites"))
    return render_template("admin/site_edit.html", site=site, form=form)


@bp.route("/org-units")
@roles_required(Role.ADMIN)
def org_units():
    return render_template("admin/org_units.html", units=admin_service.list_org_units())


@bp.route("/org-units/<int:unit_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def org_unit_edit(unit_id: int):
    unit = get_or_404(OrgUnit, unit_id)
    form = OrgUnitForm(obj=unit)
    form.site_id.choices = [SelectChoice(s.id, f"{s.code} – {s.name}") for s in admin_service.list_sites()]
    if form.validate_on_submit() and _save(
        f"Fachdienst {unit.short_name} gespeichert.",
        lambda: admin_service.update_org_unit(
            unit, email=form.email.data, site_id=form.site_id.data, cost_centre=form.cost_centre.data
        ),
    ):
        return redirect(url_for("admin.org_units"))
    return render_template("admin/org_unit_edit.html", unit=unit, form=form)


@bp.route("/vehicles")
@roles_required(Role.ADMIN, Role.FLEET)
def vehicles():
    return render_template("admin/vehicles.html", vehicles=admin_service.list_vehicles())


@bp.route("/vehicles/<int:vehicle_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN, Role.FLEET)
def vehicle_edit(vehicle_id: int):
    vehicle = get_or_404(Vehicle, vehicle_id)
    form = VehicleForm(obj=vehicle)
    if form.validate_on_submit() and _save(
        f"Fahrzeug {vehicle.code} gespeichert.",
        lambda: admin_service.update_vehicle(
            vehicle,
            battery_range_km=form.battery_range_km.data,
            winter_factor=form.winter_factor.data,
            safety_reserve=form.safety_reserve.data or 0.0,
            capacity_boxes=form.capacity_boxes.data,
            active=form.active.data,
            unavailable_from=form.unavailable_from.data,
            unavailable_until=form.unavailable_until.data,
            unavailable_note=form.unavailable_note.data or "",
        ),
    ):
        return redirect(url_for("admin.vehicles"))
    return render_template("admin/vehicle_edit.html", vehicle=vehicle, form=form)


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
        try:
            _token, new_token = token_service.create_token(user, form.name.data.strip())
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "error")
        else:
            db.session.commit()
            flash("API-Schlüssel angelegt. Er wird nur jetzt angezeigt: bitte sofort im Gerät hinterlegen.", "success")
    return render_template(
        "admin/tokens.html", tokens=admin_service.list_tokens(), form=form, new_token=new_token, button=EmptyForm()
    )


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@roles_required(Role.ADMIN)
def token_revoke(token_id: int):
    from mailroom.services import tokens as token_service

    if EmptyForm().validate_on_submit():
        _save("API-Schlüssel gesperrt.", lambda: token_service.revoke(token_id))
    return redirect(url_for("admin.tokens"))
