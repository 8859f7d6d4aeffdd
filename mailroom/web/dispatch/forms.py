"""Forms of the dispatch pages (CSRF on every one)."""

from __future__ import annotations

from wtforms import BooleanField, FloatField, HiddenField, IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from mailroom.web.forms import Form


class EmptyForm(Form):
    """Buttons that only post (the CSRF token is the whole form)."""


class AdhocStopForm(Form):
    date = HiddenField()
    site_id = SelectField("Standort", coerce=int, validators=[DataRequired("Bitte einen Standort wählen.")])
    pickup_boxes = IntegerField(
        "Abholkisten",
        default=1,
        validators=[NumberRange(0, 40, "Abholkisten: bitte eine Zahl von 0 bis 40.")],
    )
    deliver_to_site_id = SelectField("Kurier: Kisten bringen nach", coerce=int, default=0)
    must_visit = BooleanField("Muss angefahren werden", default=True)
    note = StringField("Bemerkung", validators=[Optional(), Length(max=200)])


class BreakdownForm(Form):
    lat = FloatField("Breite (optional)", validators=[Optional(), NumberRange(-90, 90, "Breite: -90 bis 90.")])
    lon = FloatField("Länge (optional)", validators=[Optional(), NumberRange(-180, 180, "Länge: -180 bis 180.")])
