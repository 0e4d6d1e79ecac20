"""A lost factor is reset by another bureau admin, never by the user alone (ASVS 5.0 V6.4.4),
and the reset is audited."""

import pytest
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token

from portal.models import AuditEvent, Bureau, Role
from portal.second_factor.services import do_create_recovery_codes, do_enrol_known_secret
from portal.services import do_issue_api_token
from tests.conftest import OTP_SECRET, make_user

STAFF = reverse("second_factor:staff")


def reset_url(user):
    return reverse("second_factor:reset", kwargs={"member_id": user.pk})


@pytest.fixture
def second_admin(cast):
    user = make_user("admin2", role=Role.BUREAU_ADMIN, bureau=cast.bureau)
    do_enrol_known_secret(actor=None, user=user, secret=OTP_SECRET)
    return user


def test_the_admin_sees_who_has_a_second_factor(cast, client_for):
    do_create_recovery_codes(actor=cast.reviewer)
    page = client_for(cast.admin).get(STAFF)
    body = page.content.decode()
    assert page.status_code == 200
    for member in ("admin", "reviewer", "a-manager", "b-manager"):
        assert member in body
    # Inspectors and firms sign nothing: they are not on the page.
    assert "a-inspector1" not in body and "firm-a" not in body
    members = {member.username: member for member in page.context["members"]}
    assert members["reviewer"].has_authenticator and members["reviewer"].recovery_codes_left == 10
    assert not members["a-manager"].has_authenticator
    # No button to reset oneself.
    assert reset_url(cast.admin) not in body
    assert reset_url(cast.reviewer) in body


def test_another_admin_resets_a_reviewer_who_lost_the_phone(cast, client_for, second_admin):
    do_create_recovery_codes(actor=cast.reviewer)
    do_issue_api_token(actor=cast.reviewer)
    response = client_for(second_admin).post(reset_url(cast.reviewer))
    assert response["Location"] == STAFF
    assert not TOTPDevice.objects.filter(user=cast.reviewer).exists()
    assert not StaticDevice.objects.filter(user=cast.reviewer).exists()
    # The token was issued behind the lost factor.
    assert not Token.objects.filter(user=cast.reviewer).exists()
    event = AuditEvent.objects.get(action="second_factor.reset")
    assert (event.actor, event.target_id, event.bureau) == (
        second_admin,
        str(cast.reviewer.pk),
        cast.bureau,
    )
    assert event.detail == {"had_authenticator": True, "tokens_revoked": 1}
    # The reviewer's verified session is verified no more: enrol again first.
    assert client_for(cast.reviewer).get("/")["Location"].startswith(reverse("second_factor:enrol"))


def test_an_admin_cannot_reset_their_own(cast, client_for):
    response = client_for(cast.admin).post(reset_url(cast.admin), follow=True)
    assert "不能重置自己的双因素认证" in response.content.decode()
    assert TOTPDevice.objects.filter(user=cast.admin).exists()
    assert not AuditEvent.objects.filter(action="second_factor.reset").exists()


@pytest.mark.parametrize(
    "member", ["reviewer", "manager_a", "inspector_a1", "firm_user_a", "manager_b", "outsider"]
)
def test_other_roles_get_404(cast, client_for, member):
    client = client_for(getattr(cast, member))
    assert client.get(STAFF).status_code == 404
    assert client.post(reset_url(cast.manager_a)).status_code == 404
    assert TOTPDevice.objects.filter(user=cast.reviewer).exists()


def test_another_bureaus_admin_gets_404(cast, client_for):
    other = Bureau.objects.create(
        name="上海市静安区应急管理局", short_name="静", region_code="310106"
    )
    stranger = make_user("jingan-admin", role=Role.BUREAU_ADMIN, bureau=other)
    do_enrol_known_secret(actor=None, user=stranger, secret=OTP_SECRET)
    client = client_for(stranger)
    assert "reviewer" not in client.get(STAFF).content.decode()
    assert client.post(reset_url(cast.reviewer)).status_code == 404
    assert TOTPDevice.objects.filter(user=cast.reviewer).exists()


def test_only_those_who_sign_or_manage_can_be_reset(cast, client_for):
    assert client_for(cast.admin).post(reset_url(cast.inspector_a1)).status_code == 404
    assert client_for(cast.admin).post(reset_url(cast.firm_user_a)).status_code == 404
