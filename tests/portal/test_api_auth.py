import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

from portal.api_support import exception_handler
from tests.conftest import PASSWORD, totp

TOKEN_URL = "/api/v1/auth/token/"


@pytest.fixture(autouse=True)
def fresh_throttle():
    cache.clear()
    yield
    cache.clear()


def protected_endpoints(cast):
    return [
        ("get", "/api/v1/me/"),
        ("get", "/api/v1/users/"),
        ("get", "/api/v1/firms/"),
        ("get", f"/api/v1/firms/{cast.firm_a.id}/"),
        ("get", "/api/v1/streets/"),
        ("post", "/api/v1/firms/import/"),
    ]


def test_anonymous_gets_401_with_a_token_challenge_everywhere(cast, api_for):
    for method, url in protected_endpoints(cast):
        response = getattr(api_for(None), method)(url)
        assert response.status_code == 401, url
        assert response["WWW-Authenticate"] == "Token"
        assert set(response.json()) == {"detail"}


def test_good_credentials_return_a_token_that_authenticates(cast):
    credentials = {"username": "admin", "password": PASSWORD, "otp": totp()}
    response = APIClient().post(TOKEN_URL, credentials)
    assert response.status_code == 200
    token = response.json()["token"]

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    me = api.get("/api/v1/me/")
    assert me.status_code == 200
    assert me.json()["username"] == "admin"


def test_asking_twice_returns_the_same_token(cast):
    credentials = {"username": "reviewer", "password": PASSWORD}
    # Each request spends its code (ASVS 5.0 V6.5.1): the second types the next one.
    first = APIClient().post(TOKEN_URL, {**credentials, "otp": totp()}, format="json")
    second = APIClient().post(TOKEN_URL, {**credentials, "otp": totp(steps=1)}, format="json")
    first, second = first.json()["token"], second.json()["token"]
    assert first == second


def test_bad_credentials_get_400_in_the_errors_shape(cast):
    response = APIClient().post(TOKEN_URL, {"username": "admin", "password": "wrong"})
    assert response.status_code == 400
    assert response.json() == {"errors": {"non_field_errors": ["用户名或密码错误"]}}


def test_missing_credentials_are_named_per_field(cast):
    response = APIClient().post(TOKEN_URL, {}, format="json")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"username", "password"}


def test_inactive_user_gets_no_token(cast):
    cast.admin.is_active = False
    cast.admin.save()
    response = APIClient().post(TOKEN_URL, {"username": "admin", "password": PASSWORD})
    assert response.status_code == 400


def test_unknown_token_gets_401(cast):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    response = api.get("/api/v1/me/")
    assert response.status_code == 401
    assert "detail" in response.json()


def test_token_requests_are_throttled(cast, monkeypatch):
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"token": "3/min"})
    for _attempt in range(3):
        response = APIClient().post(TOKEN_URL, {"username": "admin", "password": "guess"})
        assert response.status_code == 400
    response = APIClient().post(TOKEN_URL, {"username": "admin", "password": PASSWORD})
    assert response.status_code == 429
    assert "detail" in response.json()


def test_session_login_works_for_the_api(cast, client_for):
    response = client_for(cast.reviewer).get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json()["username"] == "reviewer"


def test_a_service_refusal_reaches_the_client_as_400_per_field():
    refusal = ValidationError({"uscc": ["校验码错误"], "__all__": ["整行无效"]})
    response = exception_handler(refusal, {})
    assert response.status_code == 400
    assert response.data == {"errors": {"uscc": ["校验码错误"], "non_field_errors": ["整行无效"]}}


def test_a_service_refusal_without_field_goes_under_non_field_errors():
    response = exception_handler(ValidationError("文件不可读"), {})
    assert response.status_code == 400
    assert response.data == {"errors": {"non_field_errors": ["文件不可读"]}}
