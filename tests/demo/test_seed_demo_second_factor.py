"""seed_demo enrols the demo's admin and reviewer with the TOTP secret API.md names (or the one
given), printed with the logins, so that the demo and outside checks can log in; a code
computed by the test itself (RFC 6238) passes the second step and the token endpoint."""

from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from tests.conftest import totp

pytestmark = pytest.mark.django_db

DEMO_SECRET = "JBSWY3DPEHPK3PXP"


def seed(*args):
    out = StringIO()
    call_command("seed_demo", "--firms", "30", *args, stdout=out)
    return out.getvalue()


@pytest.fixture(autouse=True)
def fresh_throttle():
    cache.clear()
    yield
    cache.clear()


def test_the_signers_have_the_default_secret_printed_with_the_logins():
    out = seed()
    assert DEMO_SECRET in out
    devices = TOTPDevice.objects.filter(confirmed=True).select_related("user")
    assert sorted(device.user.username for device in devices) == ["admin", "reviewer"]
    # django-otp keeps the key in hex; the base32 secret decodes to it.
    assert {device.key for device in devices} == {"48656c6c6f21deadbeef"}


def test_an_independently_computed_code_passes_the_second_step(client):
    seed()
    client.post(reverse("login"), {"username": "reviewer", "password": "demo-pass-2021"})
    assert client.get("/")["Location"].startswith(reverse("second_factor:verify"))
    response = client.post(reverse("second_factor:verify"), {"code": totp(DEMO_SECRET)})
    assert response["Location"] == reverse("home")
    assert client.get("/").status_code == 200


def test_an_independently_computed_code_gets_a_token():
    seed()
    credentials = {"username": "admin", "password": "demo-pass-2021"}
    assert APIClient().post("/api/v1/auth/token/", credentials).status_code == 400
    response = APIClient().post("/api/v1/auth/token/", {**credentials, "otp": totp(DEMO_SECRET)})
    assert response.status_code == 200
    assert "token" in response.json()


def test_another_secret_is_used_as_given():
    secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
    assert secret in seed("--otp-secret", secret)
    assert TOTPDevice.objects.get(user__username="admin").key == b"12345678901234567890".hex()


def test_a_secret_that_is_not_base32_is_refused_before_anything_is_written():
    with pytest.raises(CommandError, match="--otp-secret"):
        seed("--otp-secret", "not base32!")
    assert not TOTPDevice.objects.exists()
