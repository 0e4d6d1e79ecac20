import pytest

from portal.models import Role
from tests.conftest import make_user

ME_URL = "/api/v1/me/"
USERS_URL = "/api/v1/users/"

BUREAU_MEMBERS = {
    "admin",
    "reviewer",
    "a-manager",
    "a-inspector1",
    "a-inspector2",
    "b-manager",
    "b-inspector1",
    "b-inspector2",
    "firm-a",
    "firm-b",
}
AGENCY_A_MEMBERS = {"a-manager", "a-inspector1", "a-inspector2"}


def usernames(response):
    return {user["username"] for user in response.json()["results"]}


def test_me_describes_a_bureau_member(cast, api_for):
    response = api_for(cast.admin).get(ME_URL)
    assert response.status_code == 200
    assert response.json() == {
        "id": str(cast.admin.id),
        "username": "admin",
        "full_name": "王管理",
        "role": "bureau_admin",
        "organisation": {
            "id": str(cast.bureau.id),
            "kind": "bureau",
            "name": "上海市普陀区应急管理局",
        },
    }


@pytest.mark.parametrize(
    ("member", "role", "kind", "organisation"),
    [
        ("inspector_a1", "agency_inspector", "agency", "agency_a"),
        ("manager_b", "agency_manager", "agency", "agency_b"),
        ("firm_user_a", "firm_user", "firm", "firm_a"),
    ],
)
def test_me_names_the_own_organisation(cast, api_for, member, role, kind, organisation):
    body = api_for(getattr(cast, member)).get(ME_URL).json()
    expected = getattr(cast, organisation)
    assert body["role"] == role
    assert body["organisation"] == {"id": str(expected.id), "kind": kind, "name": expected.name}


def test_me_of_a_user_without_membership_has_no_role_or_organisation(cast, api_for):
    response = api_for(cast.outsider).get(ME_URL)
    assert response.status_code == 200
    body = response.json()
    assert body["username"] == "outsider"
    assert body["role"] is None
    assert body["organisation"] is None


@pytest.mark.parametrize("member", ["admin", "reviewer"])
def test_bureau_staff_list_every_member_of_the_bureau(cast, api_for, member):
    response = api_for(getattr(cast, member)).get(USERS_URL)
    assert response.status_code == 200
    assert response.json()["count"] == len(BUREAU_MEMBERS)
    assert usernames(response) == BUREAU_MEMBERS


@pytest.mark.parametrize("member", ["manager_a", "inspector_a2"])
def test_agency_staff_list_only_their_own_agency(cast, api_for, member):
    response = api_for(getattr(cast, member)).get(USERS_URL)
    assert response.status_code == 200
    assert usernames(response) == AGENCY_A_MEMBERS


def test_the_other_agency_sees_its_own_members_only(cast, api_for):
    response = api_for(cast.inspector_b1).get(USERS_URL)
    assert usernames(response) == {"b-manager", "b-inspector1", "b-inspector2"}


@pytest.mark.parametrize("member", ["firm_user_a", "firm_user_b", "outsider"])
def test_firm_users_and_outsiders_may_not_list_users(cast, api_for, member):
    response = api_for(getattr(cast, member)).get(USERS_URL)
    assert response.status_code == 403
    assert set(response.json()) == {"detail"}


def test_users_carry_role_and_organisation(cast, api_for):
    response = api_for(cast.manager_a).get(USERS_URL, {"role": "agency_inspector"})
    assert response.json()["results"] == [
        {
            "id": str(user.id),
            "username": user.username,
            "full_name": user.full_name,
            "role": "agency_inspector",
            "organisation": {
                "id": str(cast.agency_a.id),
                "kind": "agency",
                "name": "甲安全技术服务有限公司",
            },
        }
        for user in (cast.inspector_a1, cast.inspector_a2)
    ]


def test_role_filter_for_bureau_staff(cast, api_for):
    response = api_for(cast.admin).get(USERS_URL, {"role": "firm_user"})
    assert usernames(response) == {"firm-a", "firm-b"}


def test_empty_role_filter_lists_everyone(cast, api_for):
    response = api_for(cast.admin).get(USERS_URL, {"role": ""})
    assert response.status_code == 200
    assert usernames(response) == BUREAU_MEMBERS


def test_unknown_role_is_400_in_the_errors_shape(cast, api_for):
    response = api_for(cast.admin).get(USERS_URL, {"role": "superuser"})
    assert response.status_code == 400
    assert list(response.json()) == ["errors"]
    assert list(response.json()["errors"]) == ["role"]


def test_users_list_is_paginated(cast, api_for):
    response = api_for(cast.admin).get(USERS_URL, {"page_size": 4, "page": 2})
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == len(BUREAU_MEMBERS)
    assert len(body["results"]) == 4
    assert "page=3" in body["next"]
    assert body["previous"] is not None


def test_users_list_costs_a_fixed_number_of_queries(cast, api_for, django_assert_max_num_queries):
    for serial in range(40):
        make_user(f"extra-{serial:02d}", role=Role.BUREAU_REVIEWER, bureau=cast.bureau)
    api = api_for(cast.admin)
    with django_assert_max_num_queries(3):
        response = api.get(USERS_URL)
    assert response.json()["count"] == len(BUREAU_MEMBERS) + 40
