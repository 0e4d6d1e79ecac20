"""API tokens behind the same second factor as the pages (ASVS 5.0 V6.3.3: one strength on
every path in), listed and revoked by their owner."""

import uuid

import pytest
from django.core.cache import cache
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from portal.models import AuditEvent
from portal.second_factor.selectors import token_public_id
from portal.second_factor.services import do_create_recovery_codes
from portal.services import do_issue_api_token
from tests.conftest import PASSWORD, totp

TOKEN_URL = "/api/v1/auth/token/"
TOKENS_URL = "/api/v1/auth/tokens/"


@pytest.fixture(autouse=True)
def fresh_throttle():
    cache.clear()
    yield
    cache.clear()


def ask(username, **extra):
    return APIClient().post(
        TOKEN_URL, {"username": username, "password": PASSWORD, **extra}, format="json"
    )


def test_a_signer_without_otp_gets_400_naming_otp(cast):
    response = ask("admin")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["otp"]
    assert not Token.objects.exists()


def test_a_wrong_otp_gets_400_and_is_audited(cast):
    wrong = "000000" if totp() != "000000" else "111111"
    response = ask("reviewer", otp=wrong)
    assert response.status_code == 400
    assert response.json() == {"errors": {"otp": ["验证码不正确或已使用，请重新输入。"]}}
    event = AuditEvent.objects.get(action="second_factor.failed")
    assert event.detail == {"channel": "api", "reason": "wrong_code"}
    assert not Token.objects.exists()


def test_a_wrong_password_never_reaches_the_second_factor(cast):
    response = APIClient().post(
        TOKEN_URL, {"username": "admin", "password": "wrong", "otp": totp()}
    )
    assert response.status_code == 400
    assert "otp" not in response.json()["errors"]
    assert TOTPDevice.objects.get(user=cast.admin).last_t == -1


def test_the_current_code_gets_the_token(cast):
    response = ask("reviewer", otp=totp())
    assert response.status_code == 200
    assert Token.objects.get(user=cast.reviewer).key == response.json()["token"]


def test_a_recovery_code_gets_the_token_once_asvs_6_5_1(cast):
    code = do_create_recovery_codes(actor=cast.admin)[0]
    assert ask("admin", otp=code).status_code == 200
    assert ask("admin", otp=code).status_code == 400


def test_a_signer_who_has_not_enrolled_is_told_to_enrol_first(cast):
    TOTPDevice.objects.filter(user=cast.reviewer).delete()
    response = ask("reviewer", otp="123456")
    assert response.status_code == 400
    assert "请先登录网页启用双因素认证" in response.json()["errors"]["otp"][0]


def test_users_without_a_factor_need_no_otp(cast):
    assert ask("a-inspector1").status_code == 200
    assert ask("firm-a", otp="").status_code == 200


def test_an_optional_factor_once_enrolled_is_asked_for_too(cast):
    TOTPDevice.objects.create(user=cast.inspector_a1, name="x", confirmed=True)
    assert list(ask("a-inspector1").json()["errors"]) == ["otp"]


def test_managers_need_one_where_their_bureau_says_so(cast):
    cast.bureau.managers_need_second_factor = True
    cast.bureau.save()
    assert list(ask("a-manager").json()["errors"]) == ["otp"]


def test_the_owner_lists_their_tokens_without_the_key(cast, api_for):
    token = do_issue_api_token(actor=cast.inspector_a1)
    do_issue_api_token(actor=cast.inspector_a2)
    response = api_for(cast.inspector_a1).get(TOKENS_URL)
    assert response.status_code == 200
    assert response.json() == [
        {"id": str(token_public_id(token)), "created": response.json()[0]["created"]}
    ]
    assert token.key not in response.content.decode()
    assert api_for(cast.inspector_a2).get(TOKENS_URL).json()[0]["id"] != str(token_public_id(token))


def test_the_owner_revokes_a_token_and_it_stops_working(cast, api_for):
    token = do_issue_api_token(actor=cast.inspector_a1)
    url = f"{TOKENS_URL}{token_public_id(token)}/"
    by_token = APIClient()
    by_token.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert by_token.get("/api/v1/me/").status_code == 200
    assert by_token.delete(url).status_code == 204
    assert by_token.get("/api/v1/me/").status_code == 401
    event = AuditEvent.objects.get(action="auth.token_revoked")
    assert event.actor == cast.inspector_a1
    assert event.detail == {"token": str(token_public_id(token))}


@pytest.mark.parametrize("member", ["inspector_a2", "manager_a", "admin", "outsider"])
def test_another_users_token_is_404(cast, api_for, member):
    token = do_issue_api_token(actor=cast.inspector_a1)
    response = api_for(getattr(cast, member)).delete(f"{TOKENS_URL}{token_public_id(token)}/")
    assert response.status_code == 404
    assert Token.objects.filter(pk=token.pk).exists()


def test_an_unknown_token_id_is_404(cast, api_for):
    assert api_for(cast.admin).delete(f"{TOKENS_URL}{uuid.uuid4()}/").status_code == 404


def test_anonymous_gets_401(cast, api_for):
    assert api_for(None).get(TOKENS_URL).status_code == 401
    assert api_for(None).delete(f"{TOKENS_URL}{uuid.uuid4()}/").status_code == 401


def test_the_account_page_lists_and_revokes(cast, client_for):
    token = do_issue_api_token(actor=cast.reviewer)
    client = client_for(cast.reviewer)
    page = client.get(reverse("second_factor:account")).content.decode()
    assert str(token_public_id(token)) in page
    assert token.key not in page
    revoke = reverse("second_factor:revoke_token", kwargs={"token_id": token_public_id(token)})
    assert client_for(cast.admin).post(revoke).status_code == 404
    assert client_for(cast.reviewer).post(revoke).status_code == 302
    assert not Token.objects.filter(user=cast.reviewer).exists()
    assert AuditEvent.objects.filter(action="auth.token_revoked", actor=cast.reviewer).exists()
