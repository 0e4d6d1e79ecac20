"""Bulk assignment as the bureau admin does it: choose by criteria, preview, confirm."""

import pytest
from django.urls import reverse

from contractors.register.models import Grid
from contractors.register.uscc import make_uscc
from contractors.tenancy.models import Assignment
from portal.models import AuditEvent
from tests.conftest import make_contract, make_firm


def assign_url(contract):
    return reverse("contractors:contract_assign", args=[contract.pk])


def firm_url(firm):
    return reverse("contractors:firm_detail", args=[firm.pk])


def preview(client, contract, **criteria):
    return client.post(assign_url(contract), {"action": "preview", **criteria})


def confirm(client, contract, **criteria):
    return client.post(assign_url(contract), {"action": "confirm", **criteria}, follow=True)


def current_contract(firm):
    return Assignment.objects.get(firm=firm, ended_at__isnull=True).contract


@pytest.fixture
def more_firms(cast):
    """Three unassigned firms: one in Changshou's first grid, a fire-safety one in Taopu, and
    one in the park."""
    return [
        make_firm(cast.bureau, cast.register.changshou, 11, grid=cast.register.grid),
        make_firm(cast.bureau, cast.register.taopu, 12, key_category="fire"),
        make_firm(cast.bureau, cast.register.taopu, 13, park=cast.register.park),
    ]


def test_the_page_offers_every_criterion_with_grids_labelled_by_street(client_for, cast):
    content = client_for(cast.admin).get(assign_url(cast.contract_a)).content.decode()
    for name in ("street", "grid", "park", "key_category", "codes"):
        assert f'name="{name}"' in content
    assert "长寿路街道 · 第一网格" in content
    assert "确认分配" not in content


def test_preview_by_street_counts_new_moved_and_already_and_names_the_agency(
    client_for, cast, more_firms
):
    content = preview(
        client_for(cast.admin), cast.contract_a, street=cast.register.taopu.pk
    ).content.decode()
    assert "<b>3</b>符合条件" in content
    assert "<b>2</b>新分配" in content
    assert "<b>1</b>从其他机构转入" in content
    assert f"{cast.agency_b.name}：1 家" in content
    assert f"{cast.firm_b.name}（{cast.agency_b.name}）" in content
    assert "已分配 1 / 配额 100 → 分配后 4" in content
    assert "确认分配 3 家" in content
    assert current_contract(cast.firm_b) == cast.contract_b, "a preview writes nothing"


def test_criteria_in_the_address_preview_too(client_for, cast, more_firms):
    response = client_for(cast.admin).get(
        assign_url(cast.contract_a), {"street": cast.register.taopu.pk}
    )
    assert "<b>3</b>符合条件" in response.content.decode()


def test_confirm_by_street_moves_the_firm_and_the_old_agency_loses_it_at_once(
    client_for, cast, more_firms
):
    firm_page = firm_url(cast.firm_b)
    assert client_for(cast.inspector_b1).get(firm_page).status_code == 200
    response = confirm(client_for(cast.admin), cast.contract_a, street=cast.register.taopu.pk)
    assert response.redirect_chain[-1][0] == reverse(
        "contractors:contract_detail", args=[cast.contract_a.pk]
    )
    assert "已分配 3 家（其中从其他机构转入 1 家）" in response.content.decode()
    assert current_contract(cast.firm_b) == cast.contract_a
    assert client_for(cast.inspector_b1).get(firm_page).status_code == 404
    assert client_for(cast.inspector_a1).get(firm_page).status_code == 200


@pytest.mark.parametrize(
    ("criterion", "index"),
    [("grid", 0), ("key_category", 1), ("park", 2)],
)
def test_confirm_by_grid_key_category_or_park(client_for, cast, more_firms, criterion, index):
    value = {
        "grid": cast.register.grid.pk,
        "key_category": "fire",
        "park": cast.register.park.pk,
    }[criterion]
    criteria = {criterion: value}
    if criterion == "park":
        # firm A is in the park too and already with contract A.
        criteria["street"] = cast.register.taopu.pk
    response = confirm(client_for(cast.admin), cast.contract_a, **criteria)
    assert "已分配 1 家（其中从其他机构转入 0 家）" in response.content.decode()
    assert current_contract(more_firms[index]) == cast.contract_a
    others = [firm for i, firm in enumerate(more_firms) if i != index]
    assert not Assignment.objects.filter(firm__in=others).exists()


def test_firms_already_on_the_contract_are_counted_not_reassigned(client_for, cast):
    client = client_for(cast.admin)
    content = preview(client, cast.contract_a, park=cast.register.park.pk).content.decode()
    assert "<b>1</b>已在本合同" in content
    assert "都已分配给本合同" in content and "确认分配" not in content


def test_pasted_codes_assign_exactly_those_firms(client_for, cast, more_firms):
    codes = f"{more_firms[0].uscc}\n{more_firms[1].uscc.lower()}， {cast.firm_b.uscc}"
    response = confirm(client_for(cast.admin), cast.contract_a, codes=codes)
    assert "已分配 3 家（其中从其他机构转入 1 家）" in response.content.decode()
    assert current_contract(more_firms[0]) == cast.contract_a
    assert current_contract(cast.firm_b) == cast.contract_a
    assert not Assignment.objects.filter(firm=more_firms[2]).exists()


def test_bad_pasted_codes_are_listed_back_and_nothing_is_assigned(client_for, cast, more_firms):
    malformed = "914403001922038217"
    unknown = make_uscc(region="310107", serial=999)
    codes = f"{more_firms[0].uscc}\n{malformed}\n{unknown}"
    client = client_for(cast.admin)
    for response in (
        preview(client, cast.contract_a, codes=codes),
        confirm(client, cast.contract_a, codes=codes),
    ):
        content = response.content.decode()
        assert f"{malformed}：" in content and "第18位" in content
        assert f"{unknown}：企业名录中没有这个统一社会信用代码" in content
        assert "确认分配" not in content
    assert not Assignment.objects.filter(firm=more_firms[0]).exists()


def test_choosing_no_criterion_says_so(client_for, cast):
    content = preview(client_for(cast.admin), cast.contract_a).content.decode()
    assert "请至少填写一个条件" in content
    assert Assignment.objects.count() == 2


def test_criteria_matching_no_firm_say_so(client_for, cast):
    empty_grid = Grid.objects.create(street=cast.register.taopu, name="第九网格")
    client = client_for(cast.admin)
    for response in (
        preview(client, cast.contract_a, grid=empty_grid.pk),
        confirm(client, cast.contract_a, grid=empty_grid.pk),
    ):
        assert "没有符合条件的企业" in response.content.decode()
    assert Assignment.objects.count() == 2


def test_going_over_the_quota_is_refused_with_the_numbers(client_for, cast, more_firms):
    small = make_contract(cast.agency_a, quota=1)
    client = client_for(cast.admin)
    shown = preview(client, small, street=cast.register.taopu.pk).content.decode()
    assert "超出配额" in shown and "我确认超出配额分配" in shown
    content = confirm(client, small, street=cast.register.taopu.pk).content.decode()
    assert "超出合同配额：配额 1 家，已分配 0 家，本次新增 3 家，分配后共 3 家。" in content
    assert not small.assignments.exists()
    assert current_contract(cast.firm_b) == cast.contract_b


def test_going_over_the_quota_after_confirmation_is_recorded(client_for, cast, more_firms):
    small = make_contract(cast.agency_a, quota=1)
    response = confirm(
        client_for(cast.admin), small, street=cast.register.taopu.pk, allow_over_quota="on"
    )
    assert "已分配 3 家（其中从其他机构转入 1 家）" in response.content.decode()
    assert small.assignments.filter(ended_at__isnull=True).count() == 3
    event = AuditEvent.objects.get(action="contract.quota_exceeded_confirmed")
    assert event.actor == cast.admin and event.target_id == str(small.pk)
    assert event.detail == {"quota": 1, "current": 0, "adding": 3, "after": 3}


def test_the_confirm_button_carries_the_previewed_criteria(client_for, cast, more_firms):
    content = preview(
        client_for(cast.admin), cast.contract_a, grid=cast.register.grid.pk
    ).content.decode()
    assert f'type="hidden" name="grid" value="{cast.register.grid.pk}"' in content


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("reviewer", 403),
        ("manager_a", 403),
        ("inspector_a1", 403),
        ("manager_b", 404),
        ("firm_user_a", 404),
        ("outsider", 404),
    ],
)
def test_only_the_bureau_admin_assigns(client_for, cast, who, status):
    client = client_for(getattr(cast, who))
    assert client.get(assign_url(cast.contract_a)).status_code == status
    response = client.post(
        assign_url(cast.contract_a), {"action": "confirm", "street": cast.register.taopu.pk}
    )
    assert response.status_code == status
    assert current_contract(cast.firm_b) == cast.contract_b
