"""The second step after the password (ASVS 5.0 V6.3.2): who needs it, what an unverified
session may reach, codes used once (V6.5.1), recovery codes, the audit of failures."""

import pytest
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.models import AuditEvent
from portal.second_factor.rules import needs_second_factor
from portal.second_factor.services import do_create_recovery_codes
from tests.conftest import PASSWORD, totp

VERIFY = reverse("second_factor:verify")
ENROL = reverse("second_factor:enrol")


def log_in(client, user, next_url=""):
    """The password step through the login form, as a person does it."""
    data = {"username": user.username, "password": PASSWORD}
    if next_url:
        data["next"] = next_url
    return client.post(reverse("login"), data)


def test_who_needs_a_second_factor_asvs_6_3_2(cast):
    assert needs_second_factor(cast.admin)
    assert needs_second_factor(cast.reviewer)
    for member in ("manager_a", "inspector_a1", "firm_user_a", "outsider"):
        assert not needs_second_factor(getattr(cast, member)), member
    cast.bureau.managers_need_second_factor = True
    cast.bureau.save()
    assert needs_second_factor(cast.manager_a)
    assert not needs_second_factor(cast.inspector_a1)


def test_after_the_password_every_page_leads_to_the_second_step_asvs_6_3_2(cast, client):
    response = log_in(client, cast.reviewer, next_url="/documents/review/")
    assert response.status_code == 302
    # The login sends on to `next`; the second step catches it there and keeps it.
    followed = client.get(response["Location"])
    assert followed.status_code == 302
    assert followed["Location"] == VERIFY + "?next=%2Fdocuments%2Freview%2F"
    for url in ("/", reverse("dashboard"), reverse("second_factor:account"), ENROL):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(VERIFY), url
    page = client.get(VERIFY + "?next=/documents/review/")
    assert page.status_code == 200
    assert "双因素认证" in page.content.decode()
    assert client.get(reverse("healthz")).status_code in {200, 503}


def test_the_api_refuses_an_unverified_session_in_json(cast, client):
    log_in(client, cast.admin)
    response = client.get("/api/v1/me/")
    assert response.status_code == 403
    assert response.json() == {"detail": "请先在网页上完成双因素认证。"}


def test_a_code_from_the_authenticator_opens_the_portal_and_keeps_next(cast, client):
    log_in(client, cast.reviewer)
    session_key = client.session.session_key
    response = client.post(VERIFY, {"code": totp(), "next": "/documents/review/"})
    assert response.status_code == 302
    assert response["Location"] == "/documents/review/"
    # A new session key at the second step, as at the first (ASVS 5.0 V7.2.4).
    assert client.session.session_key != session_key
    assert client.get("/api/v1/me/").json()["username"] == "reviewer"
    assert client.get(reverse("dashboard")).status_code == 200


def test_next_pointing_elsewhere_is_not_followed(cast, client):
    log_in(client, cast.reviewer)
    response = client.post(VERIFY, {"code": totp(), "next": "https://evil.example/"})
    assert response["Location"] == reverse("home")


def test_a_wrong_code_is_refused_audited_and_slows_the_next_try(cast, client):
    log_in(client, cast.admin)
    wrong = "000000" if totp() != "000000" else "111111"
    response = client.post(VERIFY, {"code": wrong})
    assert response.status_code == 200
    assert "验证码不正确或已使用" in response.content.decode()
    event = AuditEvent.objects.get(action="second_factor.failed")
    assert event.actor == cast.admin
    assert event.detail == {"channel": "web", "reason": "wrong_code"}
    # django-otp's throttle: the right code at once is still refused (brute force, V6.3.1).
    response = client.post(VERIFY, {"code": totp()})
    assert "稍候" in response.content.decode()
    assert client.get("/").status_code == 302


def test_a_code_is_accepted_once_asvs_6_5_1(cast, client):
    code = totp()
    log_in(client, cast.reviewer)
    assert client.post(VERIFY, {"code": code})["Location"] == reverse("home")
    client.logout()
    log_in(client, cast.reviewer)
    response = client.post(VERIFY, {"code": code})
    assert response.status_code == 200
    assert "验证码不正确或已使用" in response.content.decode()


def test_a_recovery_code_works_once_asvs_6_5_1(cast, client):
    codes = do_create_recovery_codes(actor=cast.reviewer)
    assert len(codes) == 10 and len(set(codes)) == 10
    log_in(client, cast.reviewer)
    assert client.post(VERIFY, {"code": codes[0].upper()})["Location"] == reverse("home")
    assert not StaticToken.objects.filter(token=codes[0]).exists()
    assert StaticToken.objects.filter(device__user=cast.reviewer).count() == 9
    client.logout()
    log_in(client, cast.reviewer)
    assert client.post(VERIFY, {"code": codes[0]}).status_code == 200
    assert client.get("/").status_code == 302


def test_users_without_a_factor_who_need_none_are_not_stopped(cast, client):
    log_in(client, cast.inspector_a1)
    assert client.get("/").status_code == 200
    # The second step has nothing to ask them: it sends them on.
    assert client.get(VERIFY + "?next=/firms/")["Location"] == "/firms/"


def test_an_optional_factor_once_enrolled_is_asked_for_too(cast, client):
    TOTPDevice.objects.create(user=cast.inspector_a1, name="x", confirmed=True)
    log_in(client, cast.inspector_a1)
    assert client.get("/")["Location"].startswith(VERIFY)


def test_logout_is_open_before_the_second_step(cast, client):
    log_in(client, cast.admin)
    assert client.post(reverse("logout")).status_code == 302
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("member", ["manager_b", "inspector_b1", "firm_user_b", "outsider"])
def test_the_second_step_page_shows_others_nothing(cast, client_for, member):
    response = client_for(getattr(cast, member)).get(VERIFY)
    assert response.status_code == 302
