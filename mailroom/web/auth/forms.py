from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length


class LoginForm(FlaskForm):
    username = StringField("Benutzername", validators=[DataRequired("Bitte Benutzernamen eingeben."), Length(max=64)])
    password = PasswordField("Passwort", validators=[DataRequired("Bitte Passwort eingeben."), Length(max=256)])
