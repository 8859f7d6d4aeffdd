from __future__ import annotations

from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from mailroom.web.forms import Form


class LoginForm(Form):
    username = StringField("Benutzername", validators=[DataRequired("Bitte Benutzernamen eingeben."), Length(max=64)])
    password = PasswordField("Passwort", validators=[DataRequired("Bitte Passwort eingeben."), Length(max=256)])
