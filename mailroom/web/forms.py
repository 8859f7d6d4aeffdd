"""The base of every form: Flask-WTF (CSRF) with WTForms' built-in German messages.

Flask-WTF translates only through Flask-Babel, which we do not use; without it WTForms answers in
English ("Not a valid choice."). WTForms ships German catalogues, chosen here by `locales`.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms.meta import DefaultMeta


class Form(FlaskForm):
    class Meta:
        locales = ("de_DE", "de")

        def get_translations(self, form):
            return DefaultMeta.get_translations(self, form)
