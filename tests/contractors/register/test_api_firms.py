import uuid

import pytest

from contractors.register.models import Firm, KeyCategory
from contractors.register.uscc import make_uscc
from tests.conftest import assign, make_firm

FIRMS_URL = "/api/v1/firms/"
STREETS_URL = "/api/v1/streets/"
STAFF = ["admin", "reviewer", "manager_a", "inspector_a1", "manager_b", "inspector_b2"]


def firm_url(firm_id):
    return f"{FIRMS_URL}{firm_id}/"


def names(response):
    return [firm["name"] for firm in response.json()["results"]]


def add_firms(cast, count):
    Firm.objects.bulk_create(
        Firm(
            bureau=cast.bureau,
            street=cast.register.changshou,
            grid=cast.register.grid,
            park=cast.register.park,
            uscc=make_uscc(region="310107", serial=1000 + serial),
            name=f"批量企业{serial:03d}",
        )
        for serial in range(count)
    )


@pytest.mark.parametrize("member", ["admin", "reviewer"])
def test_bureau_staff_see_the_whole_register(cast, api_for, member):
    response = api_for(getattr(cast, member)).get(FIRMS_URL)
    assert response.status_code == 200
    assert response.json()["count"] == 2
    assert names(response) == ["乙物流有限公司", "甲化工有限公司"]


@pytest.mark.parametrize(("member", "firm"), [("firm_user_a", "firm_a"), ("firm_user_b", "firm_b")])
def test_firm_users_see_only_their_own_firm(cast, api_for, member, firm):
    response = api_for(getattr(cast, member)).get(FIRMS_URL)
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [str(getattr(cast, firm).id)]


@pytest.mark.parametrize(
    ("member", "firm"),
    [
        ("manager_a", "firm_a"),
        ("inspector_a1", "firm_a"),
        ("inspector_a2", "firm_a"),
        ("manager_b", "firm_b"),
        ("inspector_b1", "firm_b"),
        ("inspector_b2", "firm_b"),
    ],
)
def test_agency_staff_see_only_their_agencys_assigned_firms(cast, api_for, member, firm):
    make_firm(cast.bureau, cast.register.changshou, 3, name="丙未分配有限公司")
    response = api_for(getattr(cast, member)).get(FIRMS_URL)
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [str(getattr(cast, firm).id)]


def test_outsiders_see_no_firm(cast, api_for):
    response = api_for(cast.outsider).get(FIRMS_URL)
    assert response.status_code == 200
    assert response.json() == {"count": 0, "next": None, "previous": None, "results": []}


def test_firm_fields(cast, api_for):
    firm = cast.firm_a
    firm.address = "普陀区长寿路1号"
    firm.grid = cast.register.grid
    firm.industry = "化工"
    firm.key_category = KeyCategory.KEY_PLACE
    firm.key_kind = "危险化学品"
    firm.legal_representative = "张三"
    firm.contact = "李四"
    firm.phone = "021-12345678"
    firm.save()

    response = api_for(cast.admin).get(firm_url(firm.id))
    assert response.status_code == 200
    assert response.json() == {
        "id": str(firm.id),
        "uscc": firm.uscc,
        "name": "甲化工有限公司",
        "address": "普陀区长寿路1号",
        "street": str(cast.register.changshou.id),
        "street_name": "长寿路街道",
        "grid": "第一网格",
        "park": "铁三角工业园区",
        "industry": "化工",
        "key_category": "key_place",
        "key_kind": "危险化学品",
        "legal_representative": "张三",
        "contact": "李四",
        "phone": "021-12345678",
        "agency": str(cast.agency_a.id),
    }


def test_firm_without_grid_or_park_shows_null(cast, api_for):
    body = api_for(cast.admin).get(firm_url(cast.firm_b.id)).json()
    assert body["grid"] is None
    assert body["park"] is None
    assert body["street_name"] == "桃浦镇"
    assert body["key_category"] == ""


@pytest.mark.parametrize("member", ["admin", "reviewer", "manager_b", "inspector_b2"])
def test_staff_see_the_current_agency_of_a_firm(cast, api_for, member):
    api = api_for(getattr(cast, member))
    assert api.get(firm_url(cast.firm_b.id)).json()["agency"] == str(cast.agency_b.id)
    listed = api.get(FIRMS_URL, {"q": "乙物流"}).json()["results"]
    assert [row["agency"] for row in listed] == [str(cast.agency_b.id)]


def test_an_unassigned_firm_has_no_agency(cast, api_for):
    firm = make_firm(cast.bureau, cast.register.taopu, 3, name="丙贸易有限公司")
    assert api_for(cast.admin).get(firm_url(firm.id)).json()["agency"] is None


@pytest.mark.parametrize("member", ["firm_user_a", "firm_user_b"])
def test_firm_users_are_not_told_their_agency(cast, api_for, member):
    api = api_for(getattr(cast, member))
    own = api.get(FIRMS_URL).json()["results"][0]
    assert "agency" not in own
    assert "agency" not in api.get(firm_url(own["id"])).json()
    assert set(own) == set(api_for(cast.admin).get(firm_url(own["id"])).json()) - {"agency"}


@pytest.mark.parametrize(
    "member", ["admin", "reviewer", "manager_a", "inspector_a1", "inspector_a2", "firm_user_a"]
)
def test_detail_for_those_who_may_see_it(cast, api_for, member):
    response = api_for(getattr(cast, member)).get(firm_url(cast.firm_a.id))
    assert response.status_code == 200
    assert response.json()["name"] == "甲化工有限公司"


@pytest.mark.parametrize(
    "member", ["firm_user_b", "manager_b", "inspector_b1", "inspector_b2", "outsider"]
)
def test_detail_of_an_invisible_firm_is_404(cast, api_for, member):
    response = api_for(getattr(cast, member)).get(firm_url(cast.firm_a.id))
    assert response.status_code == 404
    assert set(response.json()) == {"detail"}


def test_detail_of_a_missing_firm_is_404(cast, api_for):
    response = api_for(cast.admin).get(firm_url(uuid.uuid4()))
    assert response.status_code == 404
    assert set(response.json()) == {"detail"}


def test_search_by_name(cast, api_for):
    response = api_for(cast.admin).get(FIRMS_URL, {"q": "化工"})
    assert names(response) == ["甲化工有限公司"]


def test_search_by_part_of_the_credit_code_in_any_case(cast, api_for):
    firm = make_firm(cast.bureau, cast.register.taopu, 3, name="丙贸易有限公司")
    assert firm.uscc.endswith("35Q")
    response = api_for(cast.admin).get(FIRMS_URL, {"q": " 035q "})
    assert names(response) == ["丙贸易有限公司"]
    response = api_for(cast.admin).get(FIRMS_URL, {"q": cast.firm_b.uscc})
    assert names(response) == ["乙物流有限公司"]


def test_filter_by_street(cast, api_for):
    response = api_for(cast.admin).get(FIRMS_URL, {"street": cast.register.taopu.id})
    assert names(response) == ["乙物流有限公司"]


def test_filter_by_park(cast, api_for):
    response = api_for(cast.admin).get(FIRMS_URL, {"park": cast.register.park.id})
    assert names(response) == ["甲化工有限公司"]


def test_filter_by_key_category(cast, api_for):
    make_firm(
        cast.bureau, cast.register.taopu, 5, name="丁建设有限公司", key_category="construction"
    )
    make_firm(cast.bureau, cast.register.taopu, 6, name="戊消防有限公司", key_category="fire")
    response = api_for(cast.admin).get(FIRMS_URL, {"key_category": "construction"})
    assert names(response) == ["丁建设有限公司"]


def test_filter_by_agency(cast, api_for):
    make_firm(cast.bureau, cast.register.taopu, 3, name="丙未分配有限公司")
    api = api_for(cast.admin)
    assert names(api.get(FIRMS_URL, {"agency": cast.agency_a.id})) == ["甲化工有限公司"]
    assert names(api.get(FIRMS_URL, {"agency": cast.agency_b.id})) == ["乙物流有限公司"]
    assert names(api.get(FIRMS_URL, {"agency": uuid.uuid4()})) == []


@pytest.mark.parametrize(("member", "count"), [("inspector_a1", 1), ("inspector_b1", 0)])
def test_the_agency_filter_only_narrows_what_agency_staff_see(cast, api_for, member, count):
    response = api_for(getattr(cast, member)).get(FIRMS_URL, {"agency": cast.agency_a.id})
    assert response.json()["count"] == count


@pytest.mark.parametrize("agency", ["agency_a", "agency_b"])
def test_a_firm_user_cannot_probe_which_agency_holds_its_firm(cast, api_for, agency):
    response = api_for(cast.firm_user_b).get(FIRMS_URL, {"agency": getattr(cast, agency).id})
    assert names(response) == ["乙物流有限公司"]


def test_empty_filters_as_sent_by_a_form_filter_nothing(cast, api_for):
    params = {"q": "", "street": "", "park": "", "key_category": "", "agency": ""}
    response = api_for(cast.admin).get(FIRMS_URL, params)
    assert response.status_code == 200
    assert response.json()["count"] == 2


def test_filters_combine_and_stay_inside_what_the_user_sees(cast, api_for):
    response = api_for(cast.firm_user_b).get(FIRMS_URL, {"street": cast.register.changshou.id})
    assert response.json()["count"] == 0


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"street": "not-a-uuid"}, "street"),
        ({"park": "123"}, "park"),
        ({"key_category": "chemicals"}, "key_category"),
        ({"agency": "甲"}, "agency"),
    ],
)
def test_malformed_filters_are_400_in_the_errors_shape(cast, api_for, params, field):
    response = api_for(cast.admin).get(FIRMS_URL, params)
    assert response.status_code == 400
    assert list(response.json()) == ["errors"]
    assert list(response.json()["errors"]) == [field]


def test_firms_are_paginated_50_by_default(cast, api_for):
    add_firms(cast, 60)
    body = api_for(cast.admin).get(FIRMS_URL).json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 62
    assert len(body["results"]) == 50
    assert "page=2" in body["next"]
    assert body["previous"] is None

    second = api_for(cast.admin).get(FIRMS_URL, {"page": 2}).json()
    assert len(second["results"]) == 12
    assert second["next"] is None


def test_page_size_is_capped_at_200(cast, api_for):
    add_firms(cast, 210)
    body = api_for(cast.admin).get(FIRMS_URL, {"page_size": 1000}).json()
    assert body["count"] == 212
    assert len(body["results"]) == 200


def test_a_page_beyond_the_end_is_404(cast, api_for):
    response = api_for(cast.admin).get(FIRMS_URL, {"page": 9})
    assert response.status_code == 404
    assert set(response.json()) == {"detail"}


@pytest.mark.parametrize("extra", [3, 48])
def test_firms_list_costs_a_fixed_number_of_queries(
    cast, api_for, django_assert_max_num_queries, extra
):
    add_firms(cast, extra)
    api = api_for(cast.admin)
    with django_assert_max_num_queries(3):
        response = api.get(FIRMS_URL)
    assert len(response.json()["results"]) == 2 + extra


@pytest.mark.parametrize("extra", [3, 48])
def test_an_agencys_firm_list_costs_a_fixed_number_of_queries(
    cast, api_for, django_assert_max_num_queries, extra
):
    add_firms(cast, extra)
    assign(cast.contract_a, *Firm.objects.filter(name__startswith="批量企业"))
    api = api_for(cast.inspector_a1)
    with django_assert_max_num_queries(3):
        response = api.get(FIRMS_URL)
    assert len(response.json()["results"]) == 1 + extra
    assert {row["agency"] for row in response.json()["results"]} == {str(cast.agency_a.id)}


@pytest.mark.parametrize("member", STAFF)
def test_staff_list_the_streets_of_their_bureau(cast, api_for, member):
    response = api_for(getattr(cast, member)).get(STREETS_URL)
    assert response.status_code == 200
    assert response.json() == {
        "count": 2,
        "next": None,
        "previous": None,
        "results": [
            {
                "id": str(cast.register.changshou.id),
                "name": "长寿路街道",
                "code": "01",
                "kind": "street",
            },
            {"id": str(cast.register.taopu.id), "name": "桃浦镇", "code": "10", "kind": "town"},
        ],
    }


@pytest.mark.parametrize("member", ["firm_user_a", "firm_user_b", "outsider"])
def test_firm_users_and_outsiders_may_not_list_streets(cast, api_for, member):
    response = api_for(getattr(cast, member)).get(STREETS_URL)
    assert response.status_code == 403
    assert set(response.json()) == {"detail"}


def test_streets_are_paginated(cast, api_for):
    body = api_for(cast.admin).get(STREETS_URL, {"page_size": 1}).json()
    assert body["count"] == 2
    assert [street["name"] for street in body["results"]] == ["长寿路街道"]
    assert "page=2" in body["next"]


def test_key_category_none_lists_the_firms_outside_key_supervision(cast, api_for):
    make_firm(cast.bureau, cast.register.taopu, 6, name="戊消防有限公司", key_category="fire")
    response = api_for(cast.admin).get(FIRMS_URL, {"key_category": "none"})
    assert names(response) == ["乙物流有限公司", "甲化工有限公司"]


@pytest.mark.parametrize("member", STAFF)
def test_staff_list_the_parks_of_their_bureau(cast, api_for, member):
    response = api_for(getattr(cast, member)).get("/api/v1/parks/")
    assert response.status_code == 200
    assert response.json()["results"] == [
        {"id": str(cast.register.park.id), "name": "铁三角工业园区"}
    ]


@pytest.mark.parametrize("member", ["firm_user_a", "outsider"])
def test_firm_users_and_outsiders_may_not_list_parks(cast, api_for, member):
    assert api_for(getattr(cast, member)).get("/api/v1/parks/").status_code == 403
