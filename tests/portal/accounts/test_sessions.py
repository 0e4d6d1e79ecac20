"""Sessions (ASVS 5.0 V7): a new session identifier at login (V7.2.4), an idle timeout by role
(V7.3.1), and every other session ended when the password changes (V7.4.3)."""

import time

import pytest
from django.contrib.sessions.models import Session

from portal.accounts.middleware import LAST_SEEN
from portal.models import AuditEvent
from tests.conftest import PASSWORD

HOME = "/"


def idle_for(client, minutes):
    """Time travel: the session's last request was `minutes` ago."""
    session = client.session
    session[LAST_SEEN] = int(time.time()) - minutes * 60
    session.save()


def test_login_gives_a_new_session_identifier(cast, client):
    """V7.2.4: a session fixed before login (e.g. by an attacker's link) is not the one that
    becomes authenticated."""
    before = client.session
    before["planted"] = True
    before.save()
    planted = before.session_key

    response = client.post("/accounts/login/", {"username": "a-inspector1", "password": PASSWORD})

    assert response.status_code == 302
    assert client.cookies["sessionid"].value != planted
    assert not Session.objects.filter(session_key=planted).exists()
    assert client.session["_auth_user_id"] == str(cast.inspector_a1.pk)


@pytest.mark.parametrize(
    ("member", "still_in", "timed_out"),
    [
        ("admin", 29, 31),
        ("reviewer", 29, 31),
        ("manager_a", 8 * 60 - 1, 8 * 60 + 1),
        ("inspector_a1", 8 * 60 - 1, 8 * 60 + 1),
        ("firm_user_a", 8 * 60 - 1, 8 * 60 + 1),
    ],
)
def test_an_idle_session_ends_after_its_role_s_timeout(
    cast, client_for, member, still_in, timed_out
):
    """V7.3.1: 30 minutes for bureau staff, 8 hours for the others (inspectors on site)."""
    client = client_for(getattr(cast, member))
    idle_for(client, still_in)
    assert client.get(HOME).status_code == 200

    idle_for(client, timed_out)
    response = client.get("/firms/?q=x")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/firms/%3Fq%3Dx"
    assert "_auth_user_id" not in client.session
    page = client.get(response["Location"]).content.decode()
    assert "长时间未操作，登录已失效，请重新登录" in page


def test_each_request_restarts_the_idle_clock(cast, client_for):
    client = client_for(cast.reviewer)
    idle_for(client, 20)
    assert client.get(HOME).status_code == 200
    stamp = client.session[LAST_SEEN]
    assert abs(stamp - time.time()) < 5

    # Twenty minutes more: forty since login, twenty since the last request.
    session = client.session
    session[LAST_SEEN] = stamp - 20 * 60
    session.save()
    assert client.get(HOME).status_code == 200


def test_an_idle_session_at_the_api_gets_401(cast, client_for):
    client = client_for(cast.reviewer)
    idle_for(client, 31)

    response = client.get("/api/v1/me/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert set(response.json()) == {"detail"}
    assert client.get("/api/v1/me/").status_code == 401


def test_the_timeouts_come_from_the_settings(cast, client_for, settings):
    settings.SESSION_IDLE_MINUTES = 5
    client = client_for(cast.inspector_a1)
    idle_for(client, 6)
    assert client.get(HOME).status_code == 302


def test_the_idle_logout_is_audited(cast, client_for):
    client = client_for(cast.admin)
    idle_for(client, 31)
    client.get(HOME, REMOTE_ADDR="10.3.3.3")

    event = AuditEvent.objects.get(action="auth.logged_out")
    assert (event.actor, event.bureau, event.ip_address, event.detail) == (
        cast.admin,
        cast.bureau,
        "10.3.3.3",
        {"reason": "idle"},
    )
