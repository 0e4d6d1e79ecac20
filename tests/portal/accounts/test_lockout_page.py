"""A bureau admin sees the lockouts in force and lifts one (ASVS 5.0 V6.3.1: the owner of a
locked account gets back in without waiting); the lifting is audited (V16.3.2). Nobody else
sees the page."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.utils import timezone

from portal.models import AuditEvent, Bureau, Role
from portal.second_factor.services import do_enrol_known_secret
from tests.conftest import OTP_SECRET, PASSWORD, make_user

LOCKOUTS_URL = "/accounts/lockouts/"
LIFT_URL = "/accounts/lockouts/lift/"


def fail(client, username, times=5, address="10.0.0.1"):
    for _attempt in range(times):
        client.post(
            "/accounts/login/",
            {"username": username, "password": "wrong-password"},
            REMOTE_ADDR=address,
        )


@pytest.fixture
def locked_reviewer(cast, client):
    fail(client, "reviewer", address="10.0.0.1")
    client.cookies.clear()
    return cast.reviewer


def test_the_admin_sees_the_locked_account_and_address_with_their_times(
    cast, client_for, locked_reviewer
):
    response = client_for(cast.admin).get(LOCKOUTS_URL)

    assert response.status_code == 200
    lockouts = {(lockout.kind, lockout.value): lockout for lockout in response.context["lockouts"]}
    assert set(lockouts) == {("username", "reviewer"), ("ip_address", "10.0.0.1")}
    account = lockouts[("username", "reviewer")]
    last_failure = AccessAttempt.objects.get().attempt_time
    assert (account.failures, account.since) == (5, last_failure)
    assert account.until == last_failure + timedelta(minutes=15)
    page = response.content.decode()
    assert "reviewer" in page and "10.0.0.1" in page and "解除锁定" in page
    assert timezone.localtime(account.until).strftime("%Y-%m-%d %H:%M") in page


def test_the_page_is_empty_when_nothing_is_locked(cast, client_for, client):
    fail(client, "reviewer", times=4)
    response = client_for(cast.admin).get(LOCKOUTS_URL)
    assert response.context["lockouts"] == []
    assert "当前没有被锁定的账号或地址" in response.content.decode()


def test_a_lockout_spread_over_browsers_ends_when_its_oldest_failures_age_out(
    cast, client_for, client
):
    fail(client, "reviewer", times=3)
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=10))
    for agent in ["phone", "laptop"]:
        client.post(
            "/accounts/login/",
            {"username": "reviewer", "password": "wrong-password"},
            REMOTE_ADDR="10.0.0.1",
            HTTP_USER_AGENT=agent,
        )

    [account] = [
        lockout
        for lockout in client_for(cast.admin).get(LOCKOUTS_URL).context["lockouts"]
        if lockout.kind == "username"
    ]

    oldest = AccessAttempt.objects.order_by("attempt_time").first().attempt_time
    newest = AccessAttempt.objects.order_by("attempt_time").last().attempt_time
    assert (account.failures, account.since) == (5, newest)
    assert account.until == oldest + timedelta(minutes=15)


def test_the_admin_lifts_the_account_lockout_and_the_owner_logs_in(
    cast, client_for, locked_reviewer
):
    admin = client_for(cast.admin)
    response = admin.post(
        LIFT_URL, {"kind": "username", "value": "reviewer"}, REMOTE_ADDR="10.1.1.1"
    )

    assert response.status_code == 302 and response["Location"] == LOCKOUTS_URL
    # The same five failures had locked the address: forgotten, they lock it no more.
    assert admin.get(LOCKOUTS_URL).context["lockouts"] == []
    event = AuditEvent.objects.get(action="auth.lockout_lifted")
    assert (event.actor, event.bureau, event.target_id, event.ip_address) == (
        cast.admin,
        cast.bureau,
        str(cast.reviewer.pk),
        "10.1.1.1",
    )
    assert event.detail == {"username": "reviewer", "failures": 5, "rows": 1}

    admin.logout()
    login = admin.post(
        "/accounts/login/",
        {"username": "reviewer", "password": PASSWORD},
        REMOTE_ADDR="10.0.0.1",
    )
    assert login.status_code == 302


def test_the_admin_lifts_an_address_lockout(cast, client_for, locked_reviewer):
    admin = client_for(cast.admin)
    admin.post(LIFT_URL, {"kind": "ip_address", "value": "10.0.0.1"})

    assert not AccessAttempt.objects.exists()
    event = AuditEvent.objects.get(action="auth.lockout_lifted")
    assert (event.target_id, event.detail["ip_address"]) == ("", "10.0.0.1")


def test_lifting_what_is_not_locked_is_404_and_writes_nothing(cast, client_for, locked_reviewer):
    admin = client_for(cast.admin)
    assert admin.post(LIFT_URL, {"kind": "username", "value": "admin"}).status_code == 404
    assert not AuditEvent.objects.filter(action="auth.lockout_lifted").exists()
    assert AccessAttempt.objects.count() == 1


def test_a_bad_lift_request_is_a_message_not_an_error(cast, client_for):
    response = client_for(cast.admin).post(LIFT_URL, {"kind": "password"}, follow=True)
    assert response.status_code == 200
    assert [m.level_tag for m in response.context["messages"]] == ["error"]


def test_another_bureau_does_not_see_or_lift_this_bureau_s_accounts(cast, client_for, client):
    other = Bureau.objects.create(
        name="上海市静安区应急管理局", short_name="静", region_code="310106"
    )
    other_admin = make_user("jingan-admin", role=Role.BUREAU_ADMIN, bureau=other)
    do_enrol_known_secret(actor=None, user=other_admin, secret=OTP_SECRET)
    fail(client, "reviewer", address="10.0.0.1")
    fail(client, "nobody-at-all", address="10.0.0.2")

    page = client_for(other_admin).get(LOCKOUTS_URL)

    seen = {(x.kind, x.value) for x in page.context["lockouts"]}
    assert ("username", "reviewer") not in seen
    assert ("username", "nobody-at-all") in seen
    lift = client_for(other_admin).post(LIFT_URL, {"kind": "username", "value": "reviewer"})
    assert lift.status_code == 404


@pytest.mark.parametrize(
    "member",
    ["reviewer", "manager_a", "inspector_a1", "firm_user_a", "manager_b", "outsider"],
)
def test_nobody_but_a_bureau_admin_sees_or_lifts_lockouts(
    cast, client_for, locked_reviewer, member
):
    user_client = client_for(getattr(cast, member))
    assert user_client.get(LOCKOUTS_URL).status_code == 403
    lift = user_client.post(LIFT_URL, {"kind": "username", "value": "reviewer"})
    assert lift.status_code == 403
    assert AccessAttempt.objects.count() == 1


def test_only_the_admin_s_menu_links_the_page(cast, client_for):
    assert LOCKOUTS_URL in client_for(cast.admin).get("/").content.decode()
    assert LOCKOUTS_URL not in client_for(cast.inspector_a1).get("/").content.decode()


def test_anonymous_visitors_are_sent_to_log_in(client, db):
    assert client.get(LOCKOUTS_URL)["Location"].startswith("/accounts/login/?next=")
    assert client.post(LIFT_URL)["Location"].startswith("/accounts/login/?next=")
