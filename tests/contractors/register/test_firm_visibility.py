"""Which firms each member of the cast sees, and that an agency's view follows its assignments."""

import uuid
from datetime import date

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404
from django.urls import reverse

from contractors.register.models import Firm
from contractors.register.selectors import firm_list_page, search_firms
from contractors.register.uscc import make_uscc
from contractors.tenancy.selectors import (
    access_firm_by_id,
    count_firms_visible_to,
    firms_visible_to,
)
from contractors.tenancy.services import do_assign_firms, do_share_out_firms, do_unassign_firms
from tests.conftest import make_contract, make_firm

SEES = {
    "admin": {"firm_a", "firm_b"},
    "reviewer": {"firm_a", "firm_b"},
    "manager_a": {"firm_a"},
    "inspector_a1": {"firm_a"},
    "inspector_a2": {"firm_a"},
    "manager_b": {"firm_b"},
    "inspector_b1": {"firm_b"},
    "inspector_b2": {"firm_b"},
    "firm_user_a": {"firm_a"},
    "firm_user_b": {"firm_b"},
    "outsider": set(),
}


def firm_page(firm):
    return reverse("contractors:firm_detail", kwargs={"firm_id": firm.pk})


def firm_api(firm):
    return f"/api/v1/firms/{firm.pk}/"


def firms(*items):
    return Firm.objects.filter(pk__in=[firm.pk for firm in items])


@pytest.mark.parametrize("member", SEES)
def test_each_member_sees_exactly_its_firms(cast, member):
    visible = set(firms_visible_to(getattr(cast, member)))

    assert visible == {getattr(cast, name) for name in SEES[member]}
    assert count_firms_visible_to(getattr(cast, member)) == len(SEES[member])


def test_the_unfiltered_list_counts_the_permission_rows_and_a_search_its_matches(cast):
    firm_c = make_firm(cast.bureau, cast.register.changshou, 777, name="长寿路化工仓储有限公司")
    do_assign_firms(actor=cast.admin, contract=cast.contract_a, firms=firms(firm_c))
    do_unassign_firms(actor=cast.admin, contract=cast.contract_a, firms=firms(cast.firm_a))

    page = firm_list_page(cast.inspector_a1, number=1, per_page=50)
    assert (page.paginator.count, list(page.object_list)) == (1, [firm_c])
    searched = firm_list_page(cast.inspector_a1, number=1, per_page=50, q="化工仓储")
    assert (searched.paginator.count, list(searched.object_list)) == (1, [firm_c])
    assert firm_list_page(cast.inspector_a1, number=1, per_page=50, q="无此").paginator.count == 0
    assert firm_list_page(cast.admin, number=1, per_page=50).paginator.count == 3


def test_anonymous_users_see_no_firm(cast):
    assert not firms_visible_to(AnonymousUser()).exists()
    assert not firms_visible_to(None).exists()


@pytest.mark.parametrize("member", SEES)
@pytest.mark.parametrize("firm", ["firm_a", "firm_b"])
def test_opening_a_firm_by_id_follows_visibility(cast, member, firm):
    user, target = getattr(cast, member), getattr(cast, firm)
    if firm in SEES[member]:
        assert access_firm_by_id(user, target.pk) == target
    else:
        with pytest.raises(Http404):
            access_firm_by_id(user, target.pk)


@pytest.mark.parametrize("firm_id", [uuid.uuid4(), "not-a-uuid"])
def test_a_missing_firm_looks_like_a_hidden_one(cast, firm_id):
    with pytest.raises(Http404):
        access_firm_by_id(cast.admin, firm_id)


def share_firm_a_to_inspector_a1(cast):
    do_share_out_firms(
        actor=cast.manager_a,
        agency=cast.agency_a,
        firms=firms(cast.firm_a),
        inspector=cast.inspector_a1,
    )


def test_the_firm_carries_its_current_agency_and_inspector(cast):
    share_firm_a_to_inspector_a1(cast)

    firm = access_firm_by_id(cast.inspector_a2, cast.firm_a.pk)

    assert firm.current_agency_name == cast.agency_a.name
    assert firm.current_inspector_name == cast.inspector_a1.full_name


def test_the_current_agency_and_inspector_ids_are_the_same_uuids_on_every_database(cast):
    """Code comparing them with a pk (a template's `==`, a view's check) must not depend on
    the database: SQLite returns an id read through a subquery as bare hex unless told it is a
    UUID."""
    share_firm_a_to_inspector_a1(cast)

    firm = access_firm_by_id(cast.inspector_a2, cast.firm_a.pk)

    assert firm.current_agency_id == cast.agency_a.pk
    assert firm.current_inspector_id == cast.inspector_a1.pk


def test_after_a_move_the_old_agency_gets_404_and_the_new_one_gets_in(cast, client_for, api_for):
    do_assign_firms(actor=cast.admin, contract=cast.contract_b, firms=firms(cast.firm_a))

    for member, status in [("inspector_a1", 404), ("manager_a", 404), ("inspector_b1", 200)]:
        user = getattr(cast, member)
        assert client_for(user).get(firm_page(cast.firm_a)).status_code == status, member
        assert api_for(user).get(firm_api(cast.firm_a)).status_code == status, member
    listed = api_for(cast.inspector_a1).get("/api/v1/firms/").json()
    assert listed["count"] == 0
    # The firm's own user is not affected by which agency looks after it.
    assert client_for(cast.firm_user_a).get(firm_page(cast.firm_a)).status_code == 200


def test_after_unassigning_the_agency_loses_the_firm_at_once(cast, client_for):
    client = client_for(cast.inspector_a1)
    assert client.get(firm_page(cast.firm_a)).status_code == 200

    do_unassign_firms(actor=cast.admin, contract=cast.contract_a, firms=firms(cast.firm_a))

    assert client.get(firm_page(cast.firm_a)).status_code == 404


def test_an_inspector_sees_all_of_its_agencys_firms_not_only_its_own(cast, client_for):
    firm_c = make_firm(cast.bureau, cast.register.taopu, 3, name="丙机械有限公司")
    do_assign_firms(actor=cast.admin, contract=cast.contract_a, firms=firms(firm_c))
    do_share_out_firms(
        actor=cast.manager_a, agency=cast.agency_a, firms=firms(firm_c), inspector=cast.inspector_a2
    )

    assert set(firms_visible_to(cast.inspector_a1)) == {cast.firm_a, firm_c}
    page = client_for(cast.inspector_a1).get(reverse("contractors:firm_list")).content.decode()
    assert cast.firm_a.name in page and firm_c.name in page and cast.firm_b.name not in page
    assert client_for(cast.inspector_a1).get(firm_page(firm_c)).status_code == 200
    # "My firms" narrows the agency's access to what was shared out; it grants nothing more.
    assert list(search_firms(cast.inspector_a2, mine=True)) == [firm_c]
    assert list(search_firms(cast.inspector_a1, mine=True)) == []
    assert list(search_firms(cast.inspector_b1, mine=True)) == []


# --- Constant cost of the agency's firm list ----------------------------------------------------

# Session, user, membership, the second factor's check (portal/second_factor/middleware.py),
# then the list itself: count and page (and the page's filter form).
PAGE_QUERIES = 13
API_QUERIES = 7


def give_agency_a(cast, count):
    Firm.objects.bulk_create(
        Firm(
            bureau=cast.bureau,
            street=cast.register.changshou,
            grid=cast.register.grid,
            park=cast.register.park,
            uscc=make_uscc(region="310107", serial=200_000 + serial),
            name=f"甲方企业{serial:05d}",
        )
        for serial in range(count)
    )
    contract = make_contract(
        cast.agency_a, quota=count, start=date(2022, 1, 1), end=date(2022, 12, 31)
    )
    do_assign_firms(
        actor=cast.admin, contract=contract, firms=Firm.objects.filter(name__startswith="甲方企业")
    )
    do_share_out_firms(
        actor=cast.manager_a,
        agency=cast.agency_a,
        firms=Firm.objects.filter(name__startswith="甲方企业0000"),
        inspector=cast.inspector_a1,
    )


@pytest.mark.parametrize("count", [10, 5000])
def test_the_agencys_firm_list_costs_the_same_for_10_or_5000_firms(
    cast, client_for, django_assert_max_num_queries, count
):
    give_agency_a(cast, count)
    client = client_for(cast.manager_a)

    with django_assert_max_num_queries(PAGE_QUERIES):
        page = client.get(reverse("contractors:firm_list"))
    with django_assert_max_num_queries(API_QUERIES):
        listed = client.get("/api/v1/firms/")

    assert page.status_code == 200
    assert f"共 {count + 1} 家企业" in page.content.decode()
    assert listed.json()["count"] == count + 1
    assert len(listed.json()["results"]) == min(count + 1, 50)
