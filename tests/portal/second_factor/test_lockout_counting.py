"""Wrong second-factor codes count against the same lockout as wrong passwords (ASVS 5.0
V6.3.1): guessing codes behind a stolen password locks the account like guessing passwords."""

import pytest
from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.core.cache import cache
from django.test import RequestFactory
from django.urls import reverse
from rest_framework.test import APIClient

from tests.conftest import PASSWORD, totp

VERIFY = reverse("second_factor:verify")


@pytest.fixture(autouse=True)
def fresh_throttle():
    cache.clear()
    yield
    cache.clear()


def wrong_code():
    return "000000" if totp() != "000000" and totp(steps=-1) != "000000" else "111111"


def locked(username):
    request = RequestFactory().post("/accounts/login/", REMOTE_ADDR="127.0.0.1")
    return AxesProxyHandler.is_locked(request, {"username": username})


def test_wrong_codes_at_the_second_step_lock_the_account_and_end_the_session(cast, client):
    client.post(reverse("login"), {"username": "reviewer", "password": PASSWORD})
    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        client.post(VERIFY, {"code": wrong_code()})
    assert locked("reviewer")
    response = client.get(VERIFY)
    assert response["Location"] == reverse("login")
    assert "_auth_user_id" not in client.session


def test_wrong_codes_at_the_token_endpoint_lock_the_account(cast):
    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        response = APIClient().post(
            "/api/v1/auth/token/",
            {"username": "admin", "password": PASSWORD, "otp": wrong_code()},
            format="json",
        )
        assert response.status_code in {400, 403, 429}
    assert locked("admin")
