"""Account forms. CSRF is checked by the request guard for every state change, so
the forms themselves do not check it a second time."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length


class PlainForm(FlaskForm):
    class Meta:
        csrf = False


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
