"""Passwords (ASVS 5.0 V6.2): at least 12 characters (V6.2.1), not a common one (V6.2.4), changed
by their owner on a page that asks for the current one (V6.2.2, V6.2.3); the change ends every
other session (V7.4.3) and is audited."""

import pytest
from django.contrib.auth import password_validation
from django.contrib.auth.password_validation import (
    get_default_password_validators,
    validate_password,
)
from django.test import Client
from rest_framework.authtoken.models import Token

from portal.models import AuditEvent
from tests.conftest import PASSWORD

PASSWORD_URL = "/accounts/password/"
NEW_PASSWORD = "纸飞机-over-Suzhou-Creek"


def change(client, new, old=PASSWORD, confirm=None):
    return client.post(
        PASSWORD_URL,
        {"old_password": old, "new_password1": new, "new_password2": confirm or new},
    )


@pytest.mark.parametrize("password", ["demo-pass-2021", PASSWORD])
def test_the_demo_and_cast_passwords_still_pass_the_rules(password):
    validate_password(password)


def test_an_11_character_password_is_refused_in_chinese(cast, client_for):
    """V6.2.1: 12 characters at least."""
    client = client_for(cast.inspector_a1)
    response = change(client, "k7#Lw9!pQ2z")

    assert response.status_code == 200
    assert response.context["form"].errors["new_password2"] == [
        "密码长度太短。密码必须包含至少 12 个字符。"
    ]
    assert "密码长度太短" in response.content.decode()
    cast.inspector_a1.refresh_from_db()
    assert cast.inspector_a1.check_password(PASSWORD)


def test_a_common_password_is_refused_in_chinese(cast, client_for):
    """V6.2.4: checked against the common passwords (Django's list of 20,000)."""
    response = change(client_for(cast.inspector_a1), "qwerty123456")
    assert response.context["form"].errors["new_password2"] == ["这个密码太常见了。"]


def test_the_current_password_is_asked_for(cast, client_for):
    response = change(client_for(cast.inspector_a1), NEW_PASSWORD, old="not-my-password")
    assert "old_password" in response.context["form"].errors
    assert not AuditEvent.objects.filter(action="auth.password_changed").exists()


def test_the_minimum_is_twelve_by_default_and_the_page_says_so(cast, client_for):
    [length] = [
        validator
        for validator in get_default_password_validators()
        if isinstance(validator, password_validation.MinimumLengthValidator)
    ]
    assert length.min_length == 12
    page = client_for(cast.inspector_a1).get(PASSWORD_URL).content.decode()
    assert "至少 12 个字符" in page


def test_changing_the_password_ends_the_other_sessions_and_keeps_this_one(cast, client_for):
    """V7.4.3: the phone left logged in elsewhere is logged out by the change."""
    elsewhere = Client()
    elsewhere.force_login(cast.inspector_a1)
    assert elsewhere.get("/").status_code == 200
    here = client_for(cast.inspector_a1)
    key_before = here.session.session_key
    Token.objects.create(user=cast.inspector_a1)

    response = change(here, NEW_PASSWORD)

    assert response.status_code == 302 and response["Location"] == "/"
    assert here.session.session_key != key_before
    assert "密码已修改" in here.get("/").content.decode()
    assert here.get("/firms/").status_code == 200
    assert elsewhere.get("/firms/")["Location"].startswith("/accounts/login/?next=")
    assert not Token.objects.filter(user=cast.inspector_a1).exists()
    cast.inspector_a1.refresh_from_db()
    assert cast.inspector_a1.check_password(NEW_PASSWORD)
    event = AuditEvent.objects.get(action="auth.password_changed")
    assert (event.actor, event.bureau, event.detail) == (
        cast.inspector_a1,
        cast.bureau,
        {"tokens_revoked": 1},
    )
    assert NEW_PASSWORD not in str(event.detail)


@pytest.mark.parametrize("member", ["admin", "manager_b", "firm_user_a", "outsider"])
def test_every_logged_in_user_has_the_page_linked_from_the_header(cast, client_for, member):
    client = client_for(getattr(cast, member))
    page = client.get(PASSWORD_URL)
    assert page.status_code == 200
    assert "修改密码" in page.content.decode()
    assert f'href="{PASSWORD_URL}"' in client.get("/").content.decode()


def test_anonymous_visitors_are_sent_to_log_in(client, db):
    assert client.get(PASSWORD_URL)["Location"].startswith("/accounts/login/?next=")
