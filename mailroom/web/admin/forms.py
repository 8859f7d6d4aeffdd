from __future__ import annotations

from wtforms import (
    BooleanField,
    DateField,
    FloatField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    TimeField,
)
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional

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


class PasswordForm(Form):
    password = PasswordField("Neues Passwort (mind. 10 Zeichen)", validators=[DataRequired("Passwort fehlt.")])


class EmptyForm(Form):
    """CSRF token only (buttons)."""


class SiteForm(Form):
    street = StringField("Straße", validators=[Optional(), Length(max=120)])
    phone = StringField("Telefon", validators=[Optional(), Length(max=40)])
    lat = FloatField("Breite", validators=[Optional()])
    lon = FloatField("Länge", validators=[Optional()])
    opens = TimeField("Öffnet", validators=[DataRequired("Öffnungszeit fehlt.")])
    closes = TimeField("Schließt", validators=[DataRequired("Schließzeit fehlt.")])
    service_min = IntegerField("Standzeit (min)", validators=[NumberRange(0, 120, "0–120 Minuten.")])
    remarks = StringField("Hinweise", validators=[Optional(), Length(max=255)])


class OrgUnitForm(Form):
    email = StringField("E-Mail", validators=[Optional(), Email("Keine gültige E-Mail-Adresse."), Length(max=160)])
    site_id = SelectField("Standort", coerce=int)
    cost_centre = StringField("Kostenstelle", validators=[DataRequired("Kostenstelle fehlt."), Length(max=16)])


class VehicleForm(Form):
    battery_range_km = FloatField("Reichweite (km)", validators=[DataRequired("Reichweite fehlt.")])
    winter_factor = FloatField("Winterfaktor", validators=[DataRequired("Winterfaktor fehlt.")])
    safety_reserve = FloatField("Sicherheitsreserve (Anteil)", validators=[Optional()])
    capacity_boxes = IntegerField("Kapazität (Kisten)", validators=[DataRequired("Kapazität fehlt.")])
    active = BooleanField("Im Einsatz")
    unavailable_from = DateField("Werkstatt ab", validators=[Optional()])
    unavailable_until = DateField("Werkstatt bis", validators=[Optional()])
    unavailable_note = StringField("Grund", validators=[Optional(), Length(max=200)])


class TokenForm(Form):
    name = StringField("Gerät", validators=[DataRequired("Bitte das Gerät benennen."), Length(max=80)])
    user_id = SelectField("Handelt als Benutzer", coerce=int)
