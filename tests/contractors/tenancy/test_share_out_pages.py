"""The firm list per role: the agency column and filter for the bureau, the inspector column
and "my firms" for agencies, and the manager's share-out among inspectors."""

import pytest
from django.urls import reverse

from contractors.tenancy.models import Assignment
from portal.models import AuditEvent
from tests.conftest import assign, make_firm

FIRMS_URL = reverse("contractors:firm_list")
SHARE_OUT_URL = reverse("contractors:firm_share_out")


def inspector_of(firm):
    return Assignment.objects.get(firm=firm, ended_at__isnull=True).inspector


def share_out(client, firms, inspector, **extra):
    data = {"firms": [firm.pk for firm in firms], "inspector": inspector.pk if inspector else ""}
    return client.post(SHARE_OUT_URL, {**data, **extra}, follow=True)


def test_bureau_staff_see_each_firms_agency_and_filter_by_it(client_for, cast):
    client = client_for(cast.reviewer)
    content = client.get(FIRMS_URL).content.decode()
    assert "<th>服务机构</th>" in content
    assert cast.agency_a.name in content and cast.agency_b.name in content
    only_b = client.get(FIRMS_URL, {"agency": cast.agency_b.pk}).content.decode()
    assert cast.firm_b.name in only_b and cast.firm_a.name not in only_b


def test_agency_staff_see_the_inspector_and_no_agency_filter(client_for, cast):
    Assignment.objects.filter(firm=cast.firm_a).update(inspector=cast.inspector_a2)
    content = client_for(cast.inspector_a1).get(FIRMS_URL).content.decode()
    assert "<th>检查员</th>" in content and "a-inspector2" in content
    assert 'name="agency"' not in content and cast.agency_b.name not in content


def test_the_manager_shares_a_firm_out_and_the_inspectors_mine_filter_shows_it(client_for, cast):
    manager = client_for(cast.manager_a)
    listed = manager.get(FIRMS_URL).content.decode()
    assert 'form="share-out"' in listed and "a-inspector1" in listed
    assert 'name="mine"' not in listed, "managers have no firms of their own"

    response = share_out(manager, [cast.firm_a], cast.inspector_a1)
    assert "已将 1 家企业分给 a-inspector1" in response.content.decode()
    assert inspector_of(cast.firm_a) == cast.inspector_a1
    assert AuditEvent.objects.filter(action="firm.shared_out", actor=cast.manager_a).exists()

    mine = client_for(cast.inspector_a1).get(FIRMS_URL, {"mine": "on"}).content.decode()
    assert cast.firm_a.name in mine
    not_mine = client_for(cast.inspector_a2).get(FIRMS_URL, {"mine": "on"}).content.decode()
    assert cast.firm_a.name not in not_mine and "共 0 家企业" in not_mine


def test_sharing_out_goes_back_to_the_list_with_its_filters(client_for, cast):
    response = share_out(
        client_for(cast.manager_a),
        [cast.firm_a],
        cast.inspector_a1,
        query=f"street={cast.register.changshou.pk}&page=1",
    )
    assert response.redirect_chain[-1][0] == (
        f"{FIRMS_URL}?street={cast.register.changshou.pk}&page=1"
    )


def test_no_inspector_takes_the_firm_back(client_for, cast):
    Assignment.objects.filter(firm=cast.firm_a).update(inspector=cast.inspector_a1)
    response = share_out(client_for(cast.manager_a), [cast.firm_a], None)
    assert "已收回 1 家企业" in response.content.decode()
    assert inspector_of(cast.firm_a) is None


def test_another_agencys_inspector_is_refused(client_for, cast):
    response = share_out(client_for(cast.manager_a), [cast.firm_a], cast.inspector_b1)
    assert "只能分给本机构的检查员" in response.content.decode()
    assert inspector_of(cast.firm_a) is None


def test_another_agencys_firm_cannot_be_shared_out(client_for, cast):
    response = share_out(client_for(cast.manager_a), [cast.firm_b], cast.inspector_a1)
    assert "不在您可操作的范围内" in response.content.decode()
    assert inspector_of(cast.firm_b) is None


def test_sharing_out_nothing_says_so(client_for, cast):
    response = share_out(client_for(cast.manager_a), [], cast.inspector_a1)
    assert "请先勾选企业" in response.content.decode()


@pytest.mark.parametrize("who", ["inspector_a1", "reviewer", "admin", "firm_user_a", "outsider"])
def test_only_agency_managers_share_out(client_for, cast, who):
    response = client_for(getattr(cast, who)).post(
        SHARE_OUT_URL, {"firms": [cast.firm_a.pk], "inspector": cast.inspector_a1.pk}
    )
    assert response.status_code == 403
    assert inspector_of(cast.firm_a) is None


def test_another_agencys_manager_cannot_share_out_the_firm(client_for, cast):
    response = share_out(client_for(cast.manager_b), [cast.firm_a], cast.inspector_b1)
    assert "不在您可操作的范围内" in response.content.decode()
    assert inspector_of(cast.firm_a) is None


@pytest.mark.parametrize("who", ["inspector_a1", "reviewer"])
def test_nobody_but_the_manager_is_offered_the_share_out(client_for, cast, who):
    content = client_for(getattr(cast, who)).get(FIRMS_URL).content.decode()
    assert "share-out" not in content


def test_the_inspector_gets_the_mine_filter(client_for, cast):
    assert "只看分给我的企业" in client_for(cast.inspector_a1).get(FIRMS_URL).content.decode()


def test_firm_page_shows_the_agency_and_inspector_to_staff_only(client_for, cast):
    Assignment.objects.filter(firm=cast.firm_a).update(inspector=cast.inspector_a1)
    url = reverse("contractors:firm_detail", args=[cast.firm_a.pk])
    for who in (cast.admin, cast.manager_a):
        content = client_for(who).get(url).content.decode()
        assert cast.agency_a.name in content and "a-inspector1" in content
    content = client_for(cast.firm_user_a).get(url).content.decode()
    assert cast.agency_a.name not in content and "a-inspector1" not in content


QUERY_BOUND = 10
# A session with a second factor costs one query more: django-otp's device of the session.
SECOND_FACTOR_QUERIES = {"admin": 1}


@pytest.mark.parametrize("firms", [5, 60])
@pytest.mark.parametrize("who", ["admin", "manager_a", "inspector_a1"])
def test_the_firm_list_costs_the_same_queries_for_any_number_of_firms(
    client_for, cast, django_assert_max_num_queries, firms, who
):
    extra = [
        make_firm(cast.bureau, cast.register.changshou, serial, grid=cast.register.grid)
        for serial in range(500, 500 + firms)
    ]
    assign(cast.contract_a, *extra)
    Assignment.objects.filter(contract=cast.contract_a).update(inspector=cast.inspector_a1)
    client = client_for(getattr(cast, who))
    column, params = {
        "admin": (cast.agency_a.name, {"agency": cast.agency_a.pk}),
        "manager_a": ("a-inspector1", {}),
        "inspector_a1": ("a-inspector1", {"mine": "on"}),
    }[who]
    with django_assert_max_num_queries(QUERY_BOUND + SECOND_FACTOR_QUERIES.get(who, 0)):
        response = client.get(FIRMS_URL, params)
    assert response.status_code == 200
    assert response.content.decode().count(f"<td>{column}</td>") == min(firms + 1, 50)
