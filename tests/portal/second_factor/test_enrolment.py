"""Enrolment: a new secret shown as a QR code drawn by the portal itself and in base32, the
authenticator confirmed only by one of its codes, recovery codes shown once (ASVS 5.0 V6.5.3,
V6.5.4)."""

import re
from urllib.parse import unquote

import pytest
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.models import AuditEvent
from portal.second_factor.services import key_from_base32, unsaved_totp_device
from tests.conftest import PASSWORD, totp

ENROL = reverse("second_factor:enrol")
CODES = reverse("second_factor:recovery_codes")
SECRET = re.compile(r'<code class="secret">([A-Z2-7]+)</code>')


@pytest.fixture
def strict_bureau(cast):
    """A bureau that asks its agencies' managers for a second factor too."""
    cast.bureau.managers_need_second_factor = True
    cast.bureau.save()
    return cast


def secret_on(page):
    return SECRET.search(page.content.decode()).group(1)


def test_a_manager_the_bureau_asks_is_confined_to_enrolment(strict_bureau, client):
    cast = strict_bureau
    client.post(reverse("login"), {"username": "a-manager", "password": PASSWORD})
    response = client.get("/firms/")
    assert response["Location"] == ENROL + "?next=%2Ffirms%2F"
    assert client.get(reverse("second_factor:verify"))["Location"].startswith(ENROL)
    assert client.get("/api/v1/firms/").status_code == 403
    assert not TOTPDevice.objects.filter(user=cast.manager_a).exists()


def test_the_enrolment_page_draws_the_qr_code_itself(strict_bureau, client_for):
    client = client_for(strict_bureau.manager_a)
    page = client.get(ENROL)
    body = page.content.decode()
    assert page.status_code == 200
    # Inline SVG from segno: no image service, no data: URI, no script (the CSP forbids it).
    assert "<svg" in body and "<path" in body
    assert "data:" not in body and "<script" not in body
    secret = secret_on(page)
    # 160 bits from the CSPRNG (django-otp's default key), as base32 for typing.
    assert len(secret) == 32
    # The same secret on a reload, until it is confirmed: the QR code does not change under
    # the user's phone.
    assert secret_on(client.get(ENROL)) == secret
    # The page never saves a device before a code proves the phone holds the secret.
    assert not TOTPDevice.objects.filter(user=strict_bureau.manager_a).exists()


def test_a_wrong_code_confirms_nothing(strict_bureau, client_for):
    client = client_for(strict_bureau.manager_a)
    secret = secret_on(client.get(ENROL))
    wrong = "123456" if totp(secret) != "123456" else "654321"
    response = client.post(ENROL, {"code": wrong})
    assert response.status_code == 200
    assert "验证码不正确" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=strict_bureau.manager_a).exists()


def test_the_right_code_enrols_and_shows_the_recovery_codes_once(strict_bureau, client_for):
    cast = strict_bureau
    client = client_for(cast.manager_a)
    secret = secret_on(client.get(ENROL + "?next=/firms/"))
    response = client.post(ENROL, {"code": totp(secret), "next": "/firms/"})
    assert response.status_code == 302
    assert response["Location"] == CODES + "?next=%2Ffirms%2F"
    device = TOTPDevice.objects.get(user=cast.manager_a)
    assert device.confirmed
    codes_page = client.get(response["Location"]).content.decode()
    codes = StaticToken.objects.filter(device__user=cast.manager_a).values_list("token", flat=True)
    assert len(codes) == 10
    # 40 bits each from the CSPRNG (V6.5.4 asks for 20 at least).
    assert all(re.fullmatch("[a-z2-7]{8}", code) for code in codes)
    assert all(code in codes_page for code in codes)
    assert 'href="/firms/"' in codes_page
    # Shown once: the page does not show them again.
    again = client.get(CODES)
    assert again["Location"] == reverse("second_factor:account")
    # The enrolling session has passed the second step.
    assert client.get("/firms/").status_code == 200
    actions = AuditEvent.objects.filter(actor=cast.manager_a).values_list("action", flat=True)
    assert {"second_factor.enrolled", "second_factor.recovery_codes_created"} <= set(actions)


def test_the_qr_code_carries_the_secret_shown(strict_bureau, client_for):
    client = client_for(strict_bureau.manager_a)
    page = client.get(ENROL)
    secret = secret_on(page)
    uri = unsaved_totp_device(strict_bureau.manager_a, key_from_base32(secret)).config_url
    assert uri.startswith("otpauth://totp/")
    assert f"secret={secret}" in unquote(uri)
    assert "algorithm=SHA1" in uri and "digits=6" in uri and "period=30" in uri


def test_anyone_may_enrol_from_their_account_page(cast, client_for):
    client = client_for(cast.inspector_a1)
    account = client.get(reverse("second_factor:account")).content.decode()
    assert ENROL in account and "未启用" in account
    secret = secret_on(client.get(ENROL))
    client.post(ENROL, {"code": totp(secret)})
    assert TOTPDevice.objects.filter(user=cast.inspector_a1, confirmed=True).exists()
    assert "已启用" in client.get(reverse("second_factor:account")).content.decode()


def test_new_recovery_codes_replace_the_old(cast, client_for):
    client = client_for(cast.reviewer)
    client.post(reverse("second_factor:new_recovery_codes"))
    first = set(StaticToken.objects.values_list("token", flat=True))
    client.get(CODES)
    client.post(reverse("second_factor:new_recovery_codes"))
    second = set(StaticToken.objects.values_list("token", flat=True))
    assert len(first) == len(second) == 10
    assert not first & second
    assert AuditEvent.objects.filter(action="second_factor.recovery_codes_created").count() == 2
