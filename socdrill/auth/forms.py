"""Account forms. CSRF is checked by the request guard for every state change, so
the forms themselves do not check it a second time."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_wtf import FlaskForm
from flask_wtf.form import _Auto
from werkzeug.datastructures import ImmutableMultiDict
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length


class PlainForm(FlaskForm):
    class Meta:
        csrf = False

        def wrap_formdata(self, form: Any, formdata: Any) -> Any:
            # A JSON body must be an object of strings: a list, a number or a
            # nested value is no form at all (and must not crash the view).
            if formdata is _Auto and request.is_json:
                body = request.get_json(silent=True)
                if not isinstance(body, dict):
                    return ImmutableMultiDict()
                return ImmutableMultiDict(
                    {
                        key: value
                        for key, value in body.items()
                        if isinstance(value, str)
                    }
                )
            return super().wrap_formdata(form, formdata)  # type: ignore[misc]


class LoginForm(PlainForm):
    username = StringField("Username", validators=[Length(max=64)])
    # No stripping or required-check here: blank passwords are refused explicitly.
    password = PasswordField("Password")


class PasswordChangeForm(PlainForm):
    current_password = PasswordField("Current password")
    new_password = PasswordField("New password")
    confirm = PasswordField(
        "Repeat the new password",
        validators=[EqualTo("new_password", message="the two new passwords differ")],
    )


class TokenForm(PlainForm):
    name = StringField("Token name", validators=[DataRequired(), Length(min=1, max=80)])
