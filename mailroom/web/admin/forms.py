from __future__ import annotations

from datetime import time

from wtforms import (
    BooleanField,
    DateField,
    FileField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TimeField,
)
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, Email, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from mailroom.services.masterdata.sites import KIND_LABELS
from mailroom.services.masterdata.stop_templates import WEEKDAY_NAMES
from mailroom.web.forms import Form

ROLE_CHOICES = [
    SelectChoice("mailroom", "Poststelle"),
    SelectChoice("courier", "Botendienst"),
    SelectChoice("fleet", "Fuhrpark"),
    SelectChoice("admin", "Administration"),
]


class UserForm(Form):
    username = StringField("Benutzername", validators=[DataRequired("Benutzername fehlt."), Length(max=64)])
    full_name = StringField("Name", validators=[Optional(), Length(max=120)])
    role = SelectField("Rolle", choices=ROLE_CHOICES)
    password = PasswordField("Passwort (mind. 10 Zeichen)", validators=[DataRequired("Passwort fehlt.")])


class UserEditForm(Form):
    full_name = StringField("Name", validators=[Optional(), Length(max=120)])
    role = SelectField("Rolle", choices=ROLE_CHOICES)


class PasswordForm(Form):
    password = PasswordField("Neues Passwort (mind. 10 Zeichen)", validators=[DataRequired("Passwort fehlt.")])


class EmptyForm(Form):
    """CSRF token only (buttons)."""


class SiteForm(Form):
    # Coordinates and numbers as text: the service reads a decimal comma as Germans type it.
    code = StringField("Kürzel", validators=[DataRequired("Kürzel fehlt."), Length(max=16)])
    name = StringField("Name", validators=[DataRequired("Name fehlt."), Length(max=120)])
    kind = SelectField("Art", choices=[SelectChoice(k, v) for k, v in KIND_LABELS.items()], default="administration")
    district = StringField("Stadtteil", validators=[Optional(), Length(max=64)])
    street = StringField("Straße", validators=[Optional(), Length(max=120)])
    postcode = StringField("PLZ", validators=[Optional(), Length(max=10)])
    city = StringField("Ort", validators=[Optional(), Length(max=64)])
    phone = StringField("Telefon", validators=[Optional(), Length(max=40)])
    lat = StringField("Breite (lat)", validators=[Optional(), Length(max=20)])
    lon = StringField("Länge (lon)", validators=[Optional(), Length(max=20)])
    opens = TimeField("Öffnet", default=time(7, 30), validators=[DataRequired("Öffnungszeit fehlt.")])
    closes = TimeField("Schließt", default=time(16, 0), validators=[DataRequired("Schließzeit fehlt.")])
    service_min = StringField("Standzeit (min)", default="3", validators=[DataRequired("Standzeit fehlt.")])
    remarks = StringField("Hinweise", validators=[Optional(), Length(max=255)])
    active = BooleanField("Aktiv (wird angefahren)", default=True)


class OrgUnitForm(Form):
    short_name = StringField("Kürzel", validators=[DataRequired("Kürzel fehlt."), Length(max=32)])
    name = StringField("Name", validators=[DataRequired("Name fehlt."), Length(max=160)])
    cost_centre = StringField("Kostenstelle", validators=[DataRequired("Kostenstelle fehlt."), Length(max=16)])
    site_id = SelectField("Standort", coerce=int)
    email = StringField("E-Mail", validators=[Optional(), Email("Keine gültige E-Mail-Adresse."), Length(max=160)])
    room = StringField("Raum", validators=[Optional(), Length(max=32)])
    do_not_open = BooleanField("Post ungeöffnet weitergeben (z. B. Personalrat)")
    active = BooleanField("Aktiv", default=True)


class VehicleForm(Form):
    code = StringField("Kürzel", validators=[DataRequired("Kürzel fehlt."), Length(max=16)])
    name = StringField("Name", validators=[DataRequired("Name fehlt."), Length(max=80)])
    plate = StringField("Kennzeichen", validators=[Optional(), Length(max=16)])
    capacity_boxes = StringField("Kapazität (Kisten)", default="40", validators=[DataRequired("Kapazität fehlt.")])
    battery_range_km = StringField("Reichweite (km)", default="150", validators=[DataRequired("Reichweite fehlt.")])
    battery_kwh = StringField("Batterie (kWh)", default="50", validators=[DataRequired("Batterie fehlt.")])
    kwh_per_100km = StringField("Verbrauch (kWh/100 km)", default="25", validators=[DataRequired("Verbrauch fehlt.")])
    winter_factor = StringField("Winterfaktor", default="0.8", validators=[DataRequired("Winterfaktor fehlt.")])
    active = BooleanField("Im Einsatz", default=True)


class VehicleEditForm(VehicleForm):
    """An existing van: also the safety reserve and one workshop period (as before the fleet pages)."""

    safety_reserve = StringField("Sicherheitsreserve (Anteil)", default="0.15", validators=[Optional()])
    unavailable_from = DateField("Werkstatt ab", validators=[Optional()])
    unavailable_until = DateField("Werkstatt bis", validators=[Optional()])
    unavailable_note = StringField("Grund", validators=[Optional(), Length(max=200)])


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class TemplateForm(Form):
    name = StringField("Name der Vorlage", validators=[DataRequired("Name fehlt."), Length(max=80)])
    weekdays = MultiCheckboxField(
        "Wochentage", choices=[SelectChoice(i, name) for i, name in enumerate(WEEKDAY_NAMES)], coerce=int
    )
    active = BooleanField("Aktiv", default=True)


class UploadForm(Form):
    file = FileField("CSV-Datei")


class ConfirmForm(Form):
    token = StringField()


class TokenForm(Form):
    name = StringField("Gerät", validators=[DataRequired("Bitte das Gerät benennen."), Length(max=80)])
    user_id = SelectField("Handelt als Benutzer", coerce=int)
