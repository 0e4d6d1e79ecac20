"""Login, logout and the home page each role lands on."""

import pytest
from django.urls import reverse

from tests.conftest import PASSWORD, totp


def test_root_sends_anonymous_visitors_to_the_login_form(client, db):
    response = client.get("/", follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("login"))
    assert 'name="password"' in response.content.decode()


def test_login_with_the_right_password_lands_on_home(client, cast):
    response = client.post(
        reverse("login"), {"username": "admin", "password": PASSWORD}, follow=True
    )
    # The admin signs: the authenticator's code comes after the password.
    assert response.redirect_chain[-1][0] == reverse("second_factor:verify") + "?next=%2F"
    response = client.post(
        reverse("second_factor:verify"), {"code": totp(), "next": "/"}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("home")
    assert "上海市普陀区应急管理局" in response.content.decode()


def test_login_with_a_wrong_password_says_so(client, cast):
    response = client.post(reverse("login"), {"username": "admin", "password": "nope"})
    assert response.status_code == 200
    assert "用户名或密码不正确" in response.content.decode()


def test_logout_ends_the_session(client_for, cast):
    client = client_for(cast.admin)
    client.post(reverse("logout"))
    assert client.get(reverse("home")).status_code == 302


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("admin", "导入企业名录"),
        ("reviewer", "查看企业名录"),
        ("inspector_a1", "甲安全技术服务有限公司"),
        ("firm_user_a", "甲化工有限公司"),
        ("outsider", "账号尚未加入任何机构"),
    ],
)
def test_each_role_has_its_own_home(client_for, cast, who, expected):
    response = client_for(getattr(cast, who)).get(reverse("home"))
    assert response.status_code == 200
    assert expected in response.content.decode()


def test_reviewer_is_not_offered_the_import(client_for, cast):
    content = client_for(cast.reviewer).get(reverse("home")).content.decode()
    assert reverse("contractors:register_import") not in content
