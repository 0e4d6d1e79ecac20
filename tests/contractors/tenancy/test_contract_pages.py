"""Service contracts as the bureau and the agencies see them: list, create, detail, unassign."""

import pytest
from django.urls import reverse

from contractors.register.models import Firm
from contractors.tenancy.models import Assignment, Contract
from contractors.tenancy.services import do_assign_firms
from portal.models import AuditEvent
from tests.conftest import assign, make_contract, make_firm

CONTRACTS_URL = reverse("contractors:contract_list")
CREATE_URL = reverse("contractors:contract_create")


def detail_url(contract):
    return reverse("contractors:contract_detail", args=[contract.pk])


def contract_form(cast, **overrides):
    return {
        "agency": cast.agency_a.pk,
        "number": "PT-2022-001",
        "period_start": "2022-01-01",
        "period_end": "2022-12-31",
        "quota": "300",
        "note": "",
        **overrides,
    }


@pytest.mark.parametrize("who", ["admin", "reviewer"])
def test_bureau_staff_see_every_contract_with_its_progress(client_for, cast, who):
    response = client_for(getattr(cast, who)).get(CONTRACTS_URL)
    content = response.content.decode()
    assert response.status_code == 200
    assert cast.agency_a.name in content and cast.agency_b.name in content
    assert "2021-01-01 — 2021-12-31" in content
    assert 'value="1" max="100"' in content and "1%" in content


def test_agency_staff_see_only_their_own_agencys_contract(client_for, cast):
    content = client_for(cast.inspector_a1).get(CONTRACTS_URL).content.decode()
    assert cast.agency_a.name in content and cast.agency_b.name not in content
    assert detail_url(cast.contract_a) in content
    assert detail_url(cast.contract_b) not in content


@pytest.mark.parametrize("who", ["firm_user_a", "outsider"])
def test_firm_users_and_the_outsider_may_not_open_the_contracts(client_for, cast, who):
    assert client_for(getattr(cast, who)).get(CONTRACTS_URL).status_code == 403


def test_anonymous_visitors_are_sent_to_login(client_for, cast):
    response = client_for(None).get(CONTRACTS_URL)
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_only_the_bureau_admin_is_offered_a_new_contract(client_for, cast):
    assert "新建合同" in client_for(cast.admin).get(CONTRACTS_URL).content.decode()
    for who in (cast.reviewer, cast.manager_a):
        assert "新建合同" not in client_for(who).get(CONTRACTS_URL).content.decode()


def test_a_contract_over_its_quota_stands_out_in_the_list(client_for, cast):
    small = make_contract(cast.agency_a, quota=1)
    firms = [make_firm(cast.bureau, cast.register.taopu, serial) for serial in (40, 41)]
    do_assign_firms(
        actor=cast.admin,
        contract=small,
        firms=Firm.objects.filter(pk__in=[f.pk for f in firms]),
        allow_over_quota=True,
    )
    content = client_for(cast.admin).get(CONTRACTS_URL).content.decode()
    assert 'class="progress over"' in content and "200%" in content


def test_admin_creates_a_contract_and_lands_on_it(client_for, cast):
    response = client_for(cast.admin).post(CREATE_URL, contract_form(cast), follow=True)
    contract = Contract.objects.get(number="PT-2022-001")
    assert response.redirect_chain[-1][0] == detail_url(contract)
    content = response.content.decode()
    assert "服务合同已创建" in content and "2022-01-01 — 2022-12-31" in content
    assert contract.agency == cast.agency_a and contract.quota == 300
    assert AuditEvent.objects.filter(action="contract.created", actor=cast.admin).exists()


def test_the_new_contract_form_offers_the_bureaus_agencies_and_date_pickers(client_for, cast):
    content = client_for(cast.admin).get(CREATE_URL).content.decode()
    assert cast.agency_a.name in content and cast.agency_b.name in content
    assert 'type="date"' in content


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"period_end": "2021-06-30"}, "服务期止不能早于服务期起。"),
        ({"quota": "0"}, "企业配额至少为1家。"),
        ({"period_start": ""}, "该字段是必填项。"),
    ],
)
def test_a_bad_contract_is_refused_at_its_field(client_for, cast, overrides, message):
    response = client_for(cast.admin).post(CREATE_URL, contract_form(cast, **overrides))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Contract.objects.filter(number="PT-2022-001").exists()


@pytest.mark.parametrize("who", ["reviewer", "manager_a", "firm_user_a", "outsider"])
def test_only_the_bureau_admin_creates_contracts(client_for, cast, who):
    client = client_for(getattr(cast, who))
    assert client.get(CREATE_URL).status_code == 403
    assert client.post(CREATE_URL, contract_form(cast)).status_code == 403
    assert not Contract.objects.filter(number="PT-2022-001").exists()


def test_the_detail_lists_the_assigned_firms_with_street_and_inspector(client_for, cast):
    Assignment.objects.filter(firm=cast.firm_a).update(inspector=cast.inspector_a1)
    response = client_for(cast.manager_a).get(detail_url(cast.contract_a))
    content = response.content.decode()
    assert response.status_code == 200
    assert cast.firm_a.name in content and "长寿路街道" in content and "a-inspector1" in content
    assert cast.firm_b.name not in content
    assert "取消分配所选企业" not in content and "分配企业" not in content


@pytest.mark.parametrize("who", ["inspector_b1", "manager_b", "firm_user_a", "outsider"])
def test_another_tenants_contract_is_not_found(client_for, cast, who):
    assert client_for(getattr(cast, who)).get(detail_url(cast.contract_a)).status_code == 404


@pytest.mark.parametrize("firms", [5, 60])
def test_the_detail_pages_through_fifty_firms_in_constant_queries(
    client_for, cast, django_assert_max_num_queries, firms
):
    extra = [make_firm(cast.bureau, cast.register.taopu, s) for s in range(300, 300 + firms)]
    assign(cast.contract_a, *extra)
    client = client_for(cast.admin)
    # Seven, and the admin's verified second factor (django-otp's device of the session).
    with django_assert_max_num_queries(8):
        content = client.get(detail_url(cast.contract_a)).content.decode()
    assert f"共 {firms + 1} 家企业" in content
    assert content.count('name="firms"') == min(firms + 1, 50)


def test_admin_unassigns_selected_firms_and_the_agency_loses_them(client_for, cast):
    response = client_for(cast.admin).post(
        reverse("contractors:contract_unassign", args=[cast.contract_a.pk]),
        {"firms": [cast.firm_a.pk]},
        follow=True,
    )
    assert "已取消分配 1 家企业" in response.content.decode()
    assert not Assignment.objects.filter(firm=cast.firm_a, ended_at__isnull=True).exists()
    firm_url = reverse("contractors:firm_detail", args=[cast.firm_a.pk])
    assert client_for(cast.inspector_a1).get(firm_url).status_code == 404


def test_unassigning_nothing_says_so(client_for, cast):
    response = client_for(cast.admin).post(
        reverse("contractors:contract_unassign", args=[cast.contract_a.pk]), follow=True
    )
    assert "请先勾选企业" in response.content.decode()
    assert Assignment.objects.filter(firm=cast.firm_a, ended_at__isnull=True).exists()


def test_unassigning_a_firm_of_another_contract_leaves_it_alone(client_for, cast):
    response = client_for(cast.admin).post(
        reverse("contractors:contract_unassign", args=[cast.contract_a.pk]),
        {"firms": [cast.firm_b.pk]},
        follow=True,
    )
    assert "已取消分配 0 家企业" in response.content.decode()
    assert Assignment.objects.filter(firm=cast.firm_b, ended_at__isnull=True).exists()


@pytest.mark.parametrize(
    ("who", "status"),
    [("reviewer", 403), ("manager_a", 403), ("manager_b", 404), ("firm_user_a", 404)],
)
def test_only_the_bureau_admin_unassigns(client_for, cast, who, status):
    response = client_for(getattr(cast, who)).post(
        reverse("contractors:contract_unassign", args=[cast.contract_a.pk]),
        {"firms": [cast.firm_a.pk]},
    )
    assert response.status_code == status
    assert Assignment.objects.filter(firm=cast.firm_a, ended_at__isnull=True).exists()


def test_the_admin_sees_unassign_and_the_assignment_page(client_for, cast):
    content = client_for(cast.admin).get(detail_url(cast.contract_a)).content.decode()
    assert "取消分配所选企业" in content
    assert reverse("contractors:contract_assign", args=[cast.contract_a.pk]) in content
