import uuid
from datetime import date

import pytest

from contractors.register.models import Firm, Street
from contractors.register.uscc import make_uscc
from contractors.tenancy.models import Assignment, Contract
from portal.models import AuditEvent, Bureau
from tests.conftest import assign, make_agency, make_contract, make_firm

CONTRACTS_URL = "/api/v1/contracts/"
EVERYONE = [
    "admin",
    "reviewer",
    "manager_a",
    "inspector_a1",
    "manager_b",
    "inspector_b1",
    "firm_user_a",
    "firm_user_b",
    "outsider",
]
OTHER_TENANTS = ["manager_b", "inspector_b1", "firm_user_a", "firm_user_b", "outsider"]
SAME_TENANT_WITHOUT_THE_ROLE = ["reviewer", "manager_a", "inspector_a1"]


def contract_url(contract, action=""):
    return f"{CONTRACTS_URL}{contract.id}/{action + '/' if action else ''}"


def firm_url(firm):
    return f"/api/v1/firms/{firm.id}/"


def current_contract(firm):
    assignment = Assignment.objects.filter(firm=firm, ended_at__isnull=True).first()
    return assignment.contract if assignment else None


def new_contract_body(cast, **fields):
    return {
        "agency": str(cast.agency_a.id),
        "number": "普应急服〔2021〕9号",
        "period_start": "2021-07-01",
        "period_end": "2022-06-30",
        "quota": 300,
        "note": "下半年续签",
        **fields,
    }


@pytest.fixture
def more_firms(cast):
    """Three unassigned firms: one in the park and the grid of 长寿路街道, a fire unit in 桃浦镇,
    and a plain one in 桃浦镇."""
    register = cast.register
    return [
        make_firm(cast.bureau, register.changshou, 11, name="丙机械有限公司", park=register.park),
        make_firm(cast.bureau, register.taopu, 12, name="丁商贸有限公司", key_category="fire"),
        make_firm(cast.bureau, register.taopu, 13, name="戊餐饮有限公司"),
    ]


# --- Who may do what -----------------------------------------------------------------------------


def test_anonymous_users_get_401_everywhere(cast, api_for):
    api = api_for(None)
    for method, url in [
        ("get", CONTRACTS_URL),
        ("post", CONTRACTS_URL),
        ("get", contract_url(cast.contract_a)),
        ("post", contract_url(cast.contract_a, "assign")),
        ("post", contract_url(cast.contract_a, "unassign")),
    ]:
        response = getattr(api, method)(url, format="json")
        assert response.status_code == 401, (method, url)
        assert set(response.json()) == {"detail"}


@pytest.mark.parametrize("member", ["admin", "reviewer"])
def test_bureau_staff_list_every_contract_of_the_bureau(cast, api_for, member):
    response = api_for(getattr(cast, member)).get(CONTRACTS_URL)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert [c["agency_name"] for c in body["results"]] == [
        "乙安全咨询有限公司",
        "甲安全技术服务有限公司",
    ]


@pytest.mark.parametrize(
    ("member", "contract"),
    [
        ("manager_a", "contract_a"),
        ("inspector_a1", "contract_a"),
        ("manager_b", "contract_b"),
        ("inspector_b2", "contract_b"),
    ],
)
def test_agency_staff_list_only_their_own_agencys_contracts(cast, api_for, member, contract):
    response = api_for(getattr(cast, member)).get(CONTRACTS_URL)
    assert response.status_code == 200
    assert [c["id"] for c in response.json()["results"]] == [str(getattr(cast, contract).id)]


@pytest.mark.parametrize("member", ["firm_user_a", "firm_user_b", "outsider"])
def test_firm_users_and_outsiders_may_not_list_contracts(cast, api_for, member):
    response = api_for(getattr(cast, member)).get(CONTRACTS_URL)
    assert response.status_code == 403
    assert set(response.json()) == {"detail"}


@pytest.mark.parametrize("member", ["admin", "reviewer", "manager_a", "inspector_a2"])
def test_contract_detail_for_the_bureau_and_the_agency_itself(cast, api_for, member):
    response = api_for(getattr(cast, member)).get(contract_url(cast.contract_a))
    assert response.status_code == 200
    assert response.json() == {
        "id": str(cast.contract_a.id),
        "agency": str(cast.agency_a.id),
        "agency_name": "甲安全技术服务有限公司",
        "number": "",
        "period_start": "2021-01-01",
        "period_end": "2021-12-31",
        "quota": 100,
        "note": "",
        "assigned": 1,
    }


@pytest.mark.parametrize("member", OTHER_TENANTS)
def test_contract_detail_is_404_for_other_tenants(cast, api_for, member):
    response = api_for(getattr(cast, member)).get(contract_url(cast.contract_a))
    assert response.status_code == 404
    assert set(response.json()) == {"detail"}


def test_a_missing_contract_is_404(cast, api_for):
    missing = Contract(id=uuid.uuid4())
    api = api_for(cast.admin)
    assert api.get(contract_url(missing)).status_code == 404
    body = {"firms": [str(cast.firm_a.id)]}
    for action in ("assign", "unassign"):
        response = api.post(contract_url(missing, action), body, format="json")
        assert response.status_code == 404, action


@pytest.mark.parametrize("action", ["assign", "unassign"])
@pytest.mark.parametrize("member", OTHER_TENANTS)
def test_other_tenants_get_404_on_assign_and_unassign(cast, api_for, member, action):
    body = {"firms": [str(cast.firm_b.id)]}
    url = contract_url(cast.contract_a, action)
    response = api_for(getattr(cast, member)).post(url, body, format="json")
    assert response.status_code == 404
    assert current_contract(cast.firm_b) == cast.contract_b


@pytest.mark.parametrize("action", ["assign", "unassign"])
@pytest.mark.parametrize("member", SAME_TENANT_WITHOUT_THE_ROLE)
def test_only_the_bureau_admin_assigns_and_unassigns(cast, api_for, member, action):
    firm = cast.firm_b if action == "assign" else cast.firm_a
    url = contract_url(cast.contract_a, action)
    response = api_for(getattr(cast, member)).post(url, {"firms": [str(firm.id)]}, format="json")
    assert response.status_code == 403
    assert set(response.json()) == {"detail"}
    assert current_contract(cast.firm_a) == cast.contract_a
    assert current_contract(cast.firm_b) == cast.contract_b


@pytest.mark.parametrize("member", [m for m in EVERYONE if m != "admin"])
def test_only_the_bureau_admin_creates_contracts(cast, api_for, member):
    response = api_for(getattr(cast, member)).post(
        CONTRACTS_URL, new_contract_body(cast), format="json"
    )
    assert response.status_code == 403
    assert Contract.objects.count() == 2


# --- Creating contracts --------------------------------------------------------------------------


def test_admin_creates_a_contract(cast, api_for):
    response = api_for(cast.admin).post(CONTRACTS_URL, new_contract_body(cast), format="json")
    assert response.status_code == 201
    body = response.json()
    contract = Contract.objects.get(pk=body["id"])
    assert body == {
        "id": str(contract.id),
        "agency": str(cast.agency_a.id),
        "agency_name": "甲安全技术服务有限公司",
        "number": "普应急服〔2021〕9号",
        "period_start": "2021-07-01",
        "period_end": "2022-06-30",
        "quota": 300,
        "note": "下半年续签",
        "assigned": 0,
    }
    assert contract.bureau == cast.bureau
    event = AuditEvent.objects.get(action="contract.created", target_id=str(contract.id))
    assert event.actor == cast.admin
    manager_sees = api_for(cast.manager_a).get(CONTRACTS_URL).json()["results"]
    assert str(contract.id) in {c["id"] for c in manager_sees}


def test_number_and_note_may_be_left_out(cast, api_for):
    body = new_contract_body(cast)
    del body["number"], body["note"]
    response = api_for(cast.admin).post(CONTRACTS_URL, body, format="json")
    assert response.status_code == 201
    assert response.json()["number"] == response.json()["note"] == ""


def other_bureaus_agency():
    other = Bureau.objects.create(
        name="上海市静安区应急管理局", short_name="静", region_code="310106"
    )
    return make_agency(other, "静安安全服务有限公司", 9100)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"agency": str(uuid.uuid4())}, "agency"),
        ({"agency": "not-a-uuid"}, "agency"),
        ({"period_end": "2021-06-30"}, "period_end"),
        ({"quota": 0}, "quota"),
        ({"quota": "many"}, "quota"),
        ({"period_start": None}, "period_start"),
    ],
)
def test_bad_contracts_are_400_in_the_errors_shape(cast, api_for, fields, field):
    response = api_for(cast.admin).post(
        CONTRACTS_URL, new_contract_body(cast, **fields), format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["errors"]
    assert list(response.json()["errors"]) == [field]
    assert Contract.objects.count() == 2


def test_an_agency_of_another_bureau_cannot_be_contracted(cast, api_for):
    foreign = other_bureaus_agency()
    response = api_for(cast.admin).post(
        CONTRACTS_URL, new_contract_body(cast, agency=str(foreign.id)), format="json"
    )
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["agency"]
    assert not Contract.objects.filter(agency=foreign).exists()


def test_end_before_start_says_so(cast, api_for):
    response = api_for(cast.admin).post(
        CONTRACTS_URL, new_contract_body(cast, period_end="2021-06-30"), format="json"
    )
    assert response.json() == {"errors": {"period_end": ["服务期止不能早于服务期起。"]}}


# --- Assigning -----------------------------------------------------------------------------------


def post_assign(api, contract, **body):
    return api.post(contract_url(contract, "assign"), body, format="json")


def test_assign_by_firm_ids(cast, api_for, more_firms):
    firms = more_firms[:2]
    response = post_assign(api_for(cast.admin), cast.contract_a, firms=[str(f.id) for f in firms])
    assert response.status_code == 200
    assert response.json() == {"assigned": 2, "moved": 0, "already": 0}
    assert [current_contract(f) for f in more_firms] == [cast.contract_a, cast.contract_a, None]
    inspector = api_for(cast.inspector_a1)
    assert inspector.get(firm_url(firms[0])).status_code == 200


@pytest.mark.parametrize(
    ("criterion", "expected"),
    [
        ("street", ["乙物流有限公司", "丁商贸有限公司", "戊餐饮有限公司"]),
        ("grid", ["甲化工有限公司", "丙机械有限公司"]),
        ("park_id", ["甲化工有限公司", "丙机械有限公司"]),
        ("park_name", ["甲化工有限公司", "丙机械有限公司"]),
        ("key_category", ["丁商贸有限公司"]),
        ("codes", ["乙物流有限公司", "戊餐饮有限公司"]),
    ],
)
def test_assign_by_each_criterion(cast, api_for, more_firms, criterion, expected):
    more_firms[0].grid = cast.register.grid
    more_firms[0].save()
    cast.firm_a.grid = cast.register.grid
    cast.firm_a.save()
    body = {
        "street": {"street": str(cast.register.taopu.id)},
        "grid": {"grid": str(cast.register.grid.id)},
        "park_id": {"park": str(cast.register.park.id)},
        "park_name": {"park": "铁三角工业园区"},
        "key_category": {"key_category": "fire"},
        # Pasted as people paste: lower case, spaces, the same code twice.
        "codes": {"codes": [cast.firm_b.uscc.lower(), f" {more_firms[2].uscc} ", cast.firm_b.uscc]},
    }[criterion]
    contract = make_contract(cast.agency_b)
    response = post_assign(api_for(cast.admin), contract, **body)
    assert response.status_code == 200
    on_contract = Firm.objects.filter(
        assignments__contract=contract, assignments__ended_at__isnull=True
    )
    assert sorted(on_contract.values_list("name", flat=True)) == sorted(expected)
    moved = {"甲化工有限公司", "乙物流有限公司"} & set(expected)
    assert response.json() == {"assigned": len(expected), "moved": len(moved), "already": 0}


def test_criteria_combine(cast, api_for, more_firms):
    response = post_assign(
        api_for(cast.admin),
        cast.contract_a,
        street=str(cast.register.taopu.id),
        key_category="none",
    )
    assert response.json() == {"assigned": 2, "moved": 1, "already": 0}
    assert current_contract(cast.firm_b) == cast.contract_a
    assert current_contract(more_firms[2]) == cast.contract_a
    assert current_contract(more_firms[1]) is None


def test_moving_a_firm_moves_access_at_once(cast, api_for):
    response = post_assign(
        api_for(cast.admin), cast.contract_a, firms=[str(cast.firm_a.id), str(cast.firm_b.id)]
    )
    assert response.json() == {"assigned": 1, "moved": 1, "already": 1}
    assert api_for(cast.inspector_b1).get(firm_url(cast.firm_b)).status_code == 404
    assert api_for(cast.inspector_b1).get("/api/v1/firms/").json()["count"] == 0
    seen = api_for(cast.inspector_a1).get(firm_url(cast.firm_b))
    assert seen.status_code == 200
    assert seen.json()["agency"] == str(cast.agency_a.id)
    contracts = {
        c["id"]: c["assigned"] for c in api_for(cast.admin).get(CONTRACTS_URL).json()["results"]
    }
    assert contracts == {str(cast.contract_a.id): 2, str(cast.contract_b.id): 0}


def test_going_over_the_quota_is_409_with_the_numbers(cast, api_for, more_firms):
    contract = make_contract(cast.agency_a, quota=2)
    assign(contract, more_firms[0])
    response = post_assign(api_for(cast.admin), contract, firms=[str(f.id) for f in more_firms])
    assert response.status_code == 409
    assert response.json() == {
        "detail": "超出合同配额：配额 2 家，已分配 1 家，本次新增 2 家，分配后共 3 家。",
        "quota": 2,
        "current": 1,
        "adding": 2,
        "after": 3,
    }
    assert [current_contract(f) for f in more_firms] == [contract, None, None]


def test_going_over_the_quota_with_confirmation_assigns_and_is_audited(cast, api_for, more_firms):
    contract = make_contract(cast.agency_a, quota=2)
    response = post_assign(
        api_for(cast.admin),
        contract,
        firms=[str(f.id) for f in more_firms],
        allow_over_quota=True,
    )
    assert response.status_code == 200
    assert response.json() == {"assigned": 3, "moved": 0, "already": 0}
    event = AuditEvent.objects.get(action="contract.quota_exceeded_confirmed")
    assert event.actor == cast.admin
    assert event.detail == {"quota": 2, "current": 0, "adding": 3, "after": 3}


def test_pasted_codes_with_problems_are_listed_back_and_nothing_is_assigned(
    cast, api_for, more_firms
):
    good = more_firms[0].uscc
    bad_check = good[:-1] + ("0" if good[-1] != "0" else "1")
    not_on_register = make_uscc(region="310107", serial=777)
    response = post_assign(
        api_for(cast.admin), cast.contract_a, codes=[good, bad_check, "12345", not_on_register]
    )
    assert response.status_code == 400
    problems = response.json()["errors"]["codes"]
    assert list(response.json()["errors"]) == ["codes"]
    assert len(problems) == 3
    assert problems[0].startswith(f"{bad_check}：第18位")
    assert problems[1].startswith("12345：统一社会信用代码应为18位")
    assert problems[2] == f"{not_on_register}：企业名录中没有这个统一社会信用代码"
    assert current_contract(more_firms[0]) is None


def test_firm_ids_off_the_register_are_listed_back_and_nothing_is_assigned(
    cast, api_for, more_firms
):
    foreign_bureau = other_bureaus_agency().bureau
    street = Street.objects.create(
        bureau=foreign_bureau, name="静安寺街道", code="01", kind="street"
    )
    foreign = make_firm(foreign_bureau, street, 1)
    missing = uuid.uuid4()
    response = post_assign(
        api_for(cast.admin),
        cast.contract_a,
        firms=[str(more_firms[0].id), str(foreign.id), str(missing)],
    )
    assert response.status_code == 400
    assert response.json() == {
        "errors": {
            "firms": [
                f"{foreign.id}：企业名录中没有这家企业",
                f"{missing}：企业名录中没有这家企业",
            ]
        }
    }
    assert current_contract(more_firms[0]) is None
    assert current_contract(foreign) is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"street": str(uuid.uuid4())}, "street"),
        ({"grid": str(uuid.uuid4())}, "grid"),
        ({"park": "不存在的园区"}, "park"),
        ({"park": str(uuid.uuid4())}, "park"),
        ({"key_category": "chemicals"}, "key_category"),
        ({"firms": []}, "firms"),
        ({"firms": ["not-a-uuid"]}, "firms"),
        ({"codes": []}, "codes"),
    ],
)
def test_unknown_or_malformed_criteria_are_400(cast, api_for, body, field):
    response = post_assign(api_for(cast.admin), cast.contract_b, **body)
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
    assert current_contract(cast.firm_a) == cast.contract_a


@pytest.mark.parametrize("body", [{}, {"allow_over_quota": True}])
def test_assign_without_any_criterion_is_400(cast, api_for, body):
    response = post_assign(api_for(cast.admin), cast.contract_b, **body)
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["non_field_errors"]
    assert Assignment.objects.filter(contract=cast.contract_b).count() == 1


# --- Unassigning ---------------------------------------------------------------------------------


def test_unassign_revokes_the_agencys_access(cast, api_for):
    assert api_for(cast.inspector_a1).get(firm_url(cast.firm_a)).status_code == 200
    response = api_for(cast.admin).post(
        contract_url(cast.contract_a, "unassign"),
        {"firms": [str(cast.firm_a.id), str(cast.firm_b.id)]},
        format="json",
    )
    assert response.status_code == 200
    assert response.json() == {"unassigned": 1}
    assert current_contract(cast.firm_a) is None
    assert current_contract(cast.firm_b) == cast.contract_b
    assert api_for(cast.inspector_a1).get(firm_url(cast.firm_a)).status_code == 404
    assert api_for(cast.admin).get(firm_url(cast.firm_a)).json()["agency"] is None
    assert api_for(cast.admin).get(contract_url(cast.contract_a)).json()["assigned"] == 0


@pytest.mark.parametrize("body", [{}, {"firms": []}, {"firms": [str(uuid.uuid4())]}])
def test_unassign_needs_firms_on_the_register(cast, api_for, body):
    response = api_for(cast.admin).post(
        contract_url(cast.contract_a, "unassign"), body, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["firms"]
    assert current_contract(cast.firm_a) == cast.contract_a


def test_contracts_list_costs_a_fixed_number_of_queries(
    cast, api_for, django_assert_max_num_queries
):
    for serial in range(5):
        make_contract(
            make_agency(cast.bureau, f"机构{serial}", 9200 + serial),
            start=date(2020, 1, 1),
            end=date(2020, 12, 31),
        )
    with django_assert_max_num_queries(3):
        response = api_for(cast.admin).get(CONTRACTS_URL)
    assert response.json()["count"] == 7
