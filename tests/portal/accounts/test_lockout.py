"""Brute force (ASVS 5.0 V6.3.1): the login page and the token endpoint share one lockout per
account and per client address; the refusal does not tell a real account from an unknown one
(V6.3.8); every login, failure and lockout is in the audit log (V16.3.1)."""

import re
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.core.cache import cache
from rest_framework.test import APIClient

from portal.models import AuditEvent
from tests.conftest import PASSWORD

LOGIN_URL = "/accounts/login/"
TOKEN_URL = "/api/v1/auth/token/"
LOCKED_WORDS = "登录失败次数过多"


@pytest.fixture(autouse=True)
def fresh_throttle():
    # The token endpoint's DRF throttle counts in the cache; the lockout must be what refuses.
    cache.clear()
    yield
    cache.clear()


def alert_of(response):
    return re.search(r'role="alert">([^<]*)<', response.content.decode()).group(1)


def page_login(client, username, password, address="10.0.0.1"):
    return client.post(LOGIN_URL, {"username": username, "password": password}, REMOTE_ADDR=address)


def token_login(username, password, address="10.0.0.1"):
    return APIClient().post(
        TOKEN_URL, {"username": username, "password": password}, REMOTE_ADDR=address
    )


def fail(times, username, *, via="page", client=None, address="10.0.0.1"):
    for _attempt in range(times):
        if via == "page":
            response = page_login(client, username, "wrong-password", address)
        else:
            response = token_login(username, "wrong-password", address)
        assert response.status_code in {200, 400, 429}
    return response


def test_five_failures_at_the_page_refuse_the_right_password_there(cast, client):
    """V6.3.1: after five failures the account is refused, with a message and no session."""
    for _attempt in range(4):
        response = page_login(client, "reviewer", "wrong-password")
        assert response.status_code == 200
        assert "用户名或密码不正确" in response.content.decode()
    fifth = page_login(client, "reviewer", "wrong-password")
    assert fifth.status_code == 429

    right = page_login(client, "reviewer", PASSWORD)

    assert right.status_code == 429
    page = right.content.decode()
    assert LOCKED_WORDS in page and "15分钟" in page
    assert "用户名或密码不正确" not in page
    assert int(right["Retry-After"]) == 15 * 60
    assert "_auth_user_id" not in client.session


def test_five_failures_at_the_token_endpoint_refuse_a_token(cast):
    """V6.3.1 at the API: 429 with the contract's `detail`, no token."""
    for _attempt in range(4):
        assert token_login("admin", "wrong-password").status_code == 400
    assert token_login("admin", "wrong-password").status_code == 429

    response = token_login("admin", PASSWORD)

    assert response.status_code == 429
    assert set(response.json()) == {"detail"}
    assert LOCKED_WORDS in response.json()["detail"]
    assert "token" not in response.json()


def test_the_page_and_the_token_endpoint_share_one_count(cast, client):
    fail(3, "reviewer", via="page", client=client)
    fail(2, "reviewer", via="token")

    assert token_login("reviewer", PASSWORD).status_code == 429
    assert page_login(client, "reviewer", PASSWORD).status_code == 429


def test_the_account_stays_locked_from_another_address(cast, client):
    """The lock is on the account, not only on the address the guesses came from."""
    fail(5, "reviewer", client=client, address="10.0.0.1")

    assert page_login(client, "reviewer", PASSWORD, address="10.9.9.9").status_code == 429
    assert token_login("reviewer", PASSWORD, address="10.9.9.9").status_code == 429
    # Another account from that other address is not concerned.
    assert token_login("a-inspector1", PASSWORD, address="10.9.9.9").status_code == 200


def test_the_address_lockout_locks_another_account_from_the_same_address(cast, client):
    for username in ["admin", "a-manager", "nobody-1", "nobody-2", "nobody-3"]:
        page_login(client, username, "wrong-password", address="10.0.0.7")

    assert token_login("a-inspector1", PASSWORD, address="10.0.0.7").status_code == 429
    assert page_login(client, "firm-a", PASSWORD, address="10.0.0.7").status_code == 429
    assert token_login("a-inspector1", PASSWORD, address="10.0.0.8").status_code == 200


def test_an_unknown_account_gets_the_same_answers_as_a_real_one(cast, client):
    """V6.3.8: neither the failures nor the lockout tell whether the account exists."""
    real = [page_login(client, "reviewer", "wrong-password", "10.0.0.1") for _ in range(6)]
    unknown = [page_login(client, "no-such-user", "wrong-password", "10.0.0.2") for _ in range(6)]
    assert [r.status_code for r in real] == [r.status_code for r in unknown]
    assert [r.status_code for r in real] == [200, 200, 200, 200, 429, 429]
    assert [alert_of(r) for r in real] == [alert_of(r) for r in unknown]

    real_api = [token_login("a-manager", "wrong-password", "10.0.1.1") for _ in range(6)]
    unknown_api = [token_login("no-such-admin", "wrong-password", "10.0.1.2") for _ in range(6)]
    assert [(r.status_code, r.json()) for r in real_api] == [
        (r.status_code, r.json()) for r in unknown_api
    ]


def test_the_lockout_ends_after_the_cool_off(cast, client):
    """V6.3.1: the refusal is for a while; the setting says how long."""
    fail(5, "reviewer", client=client)
    assert page_login(client, "reviewer", PASSWORD).status_code == 429

    # Time travel: the failures happened sixteen minutes ago.
    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=16)
    )

    response = page_login(client, "reviewer", PASSWORD)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(cast.reviewer.pk)


def test_the_cool_off_and_the_limit_come_from_the_settings(cast, client, settings):
    settings.AXES_FAILURE_LIMIT = 2
    settings.AXES_COOLOFF_TIME = timedelta(minutes=1)
    fail(2, "reviewer", client=client)
    locked = page_login(client, "reviewer", PASSWORD)
    assert locked.status_code == 429
    assert "1分钟" in locked.content.decode()

    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(seconds=61)
    )

    assert page_login(client, "reviewer", PASSWORD).status_code == 302


def test_tries_during_the_lockout_do_not_prolong_it(cast, client):
    fail(5, "reviewer", client=client)
    locked_at = AccessAttempt.objects.get().attempt_time
    for _attempt in range(3):
        assert page_login(client, "reviewer", PASSWORD).status_code == 429
    assert AccessAttempt.objects.get().attempt_time == locked_at
    assert AccessAttempt.objects.get().failures_since_start == 5


def test_logins_failures_and_the_lockout_are_audited_without_the_password(cast, client):
    """V16.3.1: who tried what account, from where; the password is never written."""
    page_login(client, "reviewer", PASSWORD, address="10.0.0.3")
    client.post("/accounts/logout/", REMOTE_ADDR="10.0.0.3")
    fail(5, "reviewer", client=client, address="10.0.0.3")
    page_login(client, "reviewer", PASSWORD, address="10.0.0.3")
    token_login("ghost", "wrong-password", address="10.0.0.4")

    events = list(
        AuditEvent.objects.filter(action__startswith="auth.")
        .order_by("at")
        .values("action", "actor__username", "target_id", "ip_address", "detail")
    )
    assert [e["action"] for e in events] == [
        "auth.login_succeeded",
        "auth.logged_out",
        *["auth.login_failed"] * 5,
        "auth.locked_out",
        "auth.login_failed",
        "auth.login_failed",
    ]
    succeeded, logged_out, *failures, locked, refused, ghost = events
    assert (succeeded["actor__username"], succeeded["detail"]) == ("reviewer", {"via": "session"})
    assert logged_out["detail"] == {"reason": "user"}
    assert {e["ip_address"] for e in events[:-1]} == {"10.0.0.3"}
    assert failures[0]["actor__username"] is None
    assert failures[0]["target_id"] == str(cast.reviewer.pk)
    assert failures[0]["detail"] == {"username": "reviewer", "refused_while_locked": False}
    assert locked["detail"] == {"username": "reviewer"}
    assert refused["detail"] == {"username": "reviewer", "refused_while_locked": True}
    assert (ghost["detail"]["username"], ghost["target_id"], ghost["ip_address"]) == (
        "ghost",
        "",
        "10.0.0.4",
    )
    written = str(list(AuditEvent.objects.values_list("detail", flat=True)))
    assert PASSWORD not in written and "wrong-password" not in written
    assert not AccessAttempt.objects.filter(post_data__contains="wrong-password").exists()


def test_a_token_issued_is_audited_as_a_login(cast):
    assert token_login("a-inspector1", PASSWORD).status_code == 200
    event = AuditEvent.objects.get(action="auth.login_succeeded")
    assert (event.actor, event.detail, event.ip_address) == (
        cast.inspector_a1,
        {"via": "token"},
        "10.0.0.1",
    )
