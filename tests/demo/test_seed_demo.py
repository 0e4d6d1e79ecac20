from collections import Counter
from io import StringIO

import pytest
from django.contrib.auth import authenticate as django_authenticate
from django.core.management import CommandError, call_command
from django.test import RequestFactory

from contractors.register.models import KEY_PLACE_KINDS, Firm, Grid, Park, Street
from contractors.register.selectors import search_firms
from contractors.register.uscc import uscc_error
from contractors.tenancy.models import (
    Agency,
    Assignment,
    Contract,
    FirmGroupObjectPermission,
    FirmUserObjectPermission,
)
from contractors.tenancy.selectors import firms_visible_to
from demo.district import agency_share, contract_quota, key_unit_counts
from portal.models import AuditEvent, Bureau, Membership, Role, User


def authenticate(**credentials):
    """A login as the login page makes it: the lockout (django-axes) needs the request."""
    return django_authenticate(RequestFactory().post("/accounts/login/"), **credentials)


pytestmark = pytest.mark.django_db

SMALL = ("--firms", "300")

# --reset truncates the tables; PostgreSQL refuses that in the transaction that filled them,
# so these tests let each seeding commit, as separate runs of the command would.
separately_committed = pytest.mark.django_db(transaction=True)


def seed(*args):
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def snapshot():
    """Everything a user could tell two seedings apart by, in a comparable form."""
    return {
        "bureaus": sorted(Bureau.objects.values_list("id", "name", "short_name", "region_code")),
        "streets": sorted(Street.objects.values_list("id", "code", "name", "kind")),
        "grids": sorted(Grid.objects.values_list("id", "street__code", "name")),
        "parks": sorted(Park.objects.values_list("id", "name")),
        "firms": sorted(
            Firm.objects.values_list(
                "id",
                "uscc",
                "name",
                "address",
                "street__code",
                "grid__name",
                "park__name",
                "industry",
                "key_category",
                "key_kind",
                "legal_representative",
                "contact",
                "phone",
            )
        ),
        # Agencies, contracts and assignments are made by the services, with fresh ids: they are
        # compared by what identifies them to a user.
        "agencies": sorted(
            Agency.objects.values_list("uscc", "name", "qualification", "contact", "phone")
        ),
        "users": sorted(
            User.objects.values_list(
                "id",
                "username",
                "full_name",
                "is_staff",
                "is_superuser",
                "membership__role",
                "membership__agency__uscc",
                "membership__firm__uscc",
                "groups__agency__uscc",
            ),
            key=repr,
        ),
        "contracts": sorted(
            Contract.objects.values_list(
                "agency__uscc", "number", "period_start", "period_end", "quota", "note"
            )
        ),
        "assignments": sorted(
            Assignment.objects.values_list(
                "contract__number", "firm__uscc", "inspector__username", "ended_at"
            ),
            key=repr,
        ),
        "agency_grants": sorted(
            FirmGroupObjectPermission.objects.values_list(
                "group__agency__uscc", "permission__codename", "content_object__uscc"
            )
        ),
        "user_grants": sorted(
            FirmUserObjectPermission.objects.values_list(
                "user__username", "permission__codename", "content_object__uscc"
            )
        ),
        "audit": Counter(AuditEvent.objects.values_list("action", "actor__username")),
    }


def share_firms(number):
    """The firms in the streets of agency `number` (1, 2, 3), by credit code."""
    share = agency_share(Street.objects.all())[number - 1]
    return list(Firm.objects.filter(street__in=share).order_by("uscc"))


def test_default_district_has_the_reports_figures():
    seed()

    streets = list(Street.objects.order_by("code"))
    assert [s.code for s in streets] == [f"{n:02d}" for n in range(1, 11)]
    assert Counter(s.kind for s in streets) == {"street": 8, "town": 2}
    zhenru = Street.objects.get(name="真如镇街道")
    assert sorted(zhenru.grids.values_list("name", flat=True)) == sorted(
        f"第{n}网格" for n in "一二三四五六七八"
    )
    for street in streets:
        if street != zhenru:
            assert 3 <= street.grids.count() <= 6, street.name
    assert Park.objects.count() == 8

    firms = list(Firm.objects.select_related("grid"))
    assert len(firms) == 5000
    assert all(uscc_error(f.uscc) is None for f in firms)
    assert all(f.uscc[2:8] == "310107" for f in firms)
    assert len({f.uscc for f in firms}) == len({f.name for f in firms}) == 5000
    assert all(f.name.startswith("上海") and f.name.endswith("有限公司") for f in firms)
    assert all(f.address.endswith("号") for f in firms)
    assert all(f.phone.isdigit() and len(f.phone) == 11 and f.phone[0] == "1" for f in firms)
    assert all(f.legal_representative and f.contact and f.industry for f in firms)
    assert all(f.grid.street_id == f.street_id for f in firms)
    assert 400 <= sum(f.park_id is not None for f in firms) <= 600

    assert Counter(f.key_category for f in firms if f.key_category) == {
        "fire": 103,
        "construction": 46,
        "key_place": 120,
    }
    key_place_kinds = Counter(f.key_kind for f in firms if f.key_category == "key_place")
    assert set(key_place_kinds) == set(KEY_PLACE_KINDS)
    assert max(key_place_kinds.values()) - min(key_place_kinds.values()) <= 1

    agencies = list(Agency.objects.all())
    assert len(agencies) == 3
    assert all(uscc_error(a.uscc) is None and a.qualification for a in agencies)

    contracts = list(Contract.objects.order_by("number"))
    assert [c.quota for c in contracts] == [
        contract_quota(len(share_firms(number))) for number in (1, 2, 3)
    ]
    assert Assignment.objects.filter(ended_at__isnull=True).count() == 5000
    assert FirmGroupObjectPermission.objects.count() == 2 * 5000


def test_demo_cast_has_every_role():
    seed(*SMALL)
    agencies = list(Agency.objects.order_by("uscc"))
    assert agencies[0].name == "上海安衡安全技术服务有限公司"

    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff
    assert admin.membership.role == Role.BUREAU_ADMIN
    assert User.objects.get(username="reviewer").membership.role == Role.BUREAU_REVIEWER
    for number, agency in enumerate(agencies, start=1):
        staff = Membership.objects.filter(agency=agency)
        assert {(m.user.username, m.role) for m in staff} == {
            (f"a{number}-manager", Role.AGENCY_MANAGER),
            (f"a{number}-inspector1", Role.AGENCY_INSPECTOR),
            (f"a{number}-inspector2", Role.AGENCY_INSPECTOR),
        }

    firm_members = Membership.objects.filter(role=Role.FIRM_USER).select_related("user", "firm")
    assert firm_members.count() == 30
    for member in firm_members:
        assert member.user.username == f"firm-{member.firm.uscc}"
    assert all(u.full_name for u in User.objects.all())
    assert not User.objects.filter(is_superuser=True).exclude(username="admin").exists()


def test_firm_users_are_the_first_firms_of_each_agencys_streets():
    seed(*SMALL)
    shares = agency_share(Street.objects.all())
    assert [[s.code for s in share] for share in shares] == [
        ["01", "04", "07", "10"],
        ["02", "05", "08"],
        ["03", "06", "09"],
    ]
    with_users = set(
        Membership.objects.filter(role=Role.FIRM_USER).values_list("firm__uscc", flat=True)
    )
    first_tens = set()
    for share in shares:
        first_ten = Firm.objects.filter(street__in=share).order_by("uscc")[:10]
        first_tens |= {f.uscc for f in first_ten}
    assert with_users == first_tens


def test_every_agency_has_a_contract_for_the_service_year_with_its_share_assigned():
    seed(*SMALL)
    agencies = list(Agency.objects.order_by("uscc"))
    contracts = list(Contract.objects.order_by("number").select_related("agency"))
    assert [c.number for c in contracts] == [f"普应急服〔2021〕{n}号" for n in (1, 2, 3)]
    assert [c.agency for c in contracts] == agencies
    for number, contract in enumerate(contracts, start=1):
        assert str(contract.period_start) == "2021-01-01"
        assert str(contract.period_end) == "2021-12-31"
        share = share_firms(number)
        assert contract.quota == contract_quota(len(share)) >= len(share)
        current = contract.assignments.filter(ended_at__isnull=True)
        assert sorted(current.values_list("firm__uscc", flat=True)) == [f.uscc for f in share]
    assert not Firm.objects.exclude(assignments__ended_at__isnull=True).exists()


@pytest.mark.parametrize(("firms", "quota"), [(0, 100), (1, 100), (100, 100), (101, 200)])
def test_contract_quotas_are_the_share_rounded_up_to_a_hundred(firms, quota):
    assert contract_quota(firms) == quota


def test_agency_staff_see_their_own_share_and_nothing_else():
    seed(*SMALL)
    shares = {number: {f.pk for f in share_firms(number)} for number in (1, 2, 3)}
    for number, share in shares.items():
        for role in ("manager", "inspector1", "inspector2"):
            user = User.objects.get(username=f"a{number}-{role}")
            assert set(firms_visible_to(user).values_list("pk", flat=True)) == share, user
    assert not shares[1] & shares[2] and not shares[2] & shares[3] and not shares[1] & shares[3]


def test_the_first_firms_of_each_share_are_shared_out_between_the_inspectors():
    seed(*SMALL)
    for number in (1, 2, 3):
        first_ten = [f.uscc for f in share_firms(number)[:10]]
        mine = [
            [f.uscc for f in search_firms(User.objects.get(username=username), mine=True)]
            for username in (f"a{number}-inspector1", f"a{number}-inspector2")
        ]
        assert sorted(mine[0]) == first_ten[:5]
        assert sorted(mine[1]) == first_ten[5:]
    shared = Assignment.objects.filter(inspector__isnull=False)
    assert shared.count() == 30


def test_firm_users_see_their_own_firm():
    seed(*SMALL)
    members = Membership.objects.filter(role=Role.FIRM_USER).select_related("user", "firm")
    for member in members:
        assert list(firms_visible_to(member.user)) == [member.firm]


@separately_committed
def test_seeding_twice_gives_identical_data():
    seed(*SMALL)
    first = snapshot()
    seed(*SMALL, "--reset")
    assert snapshot() == first


def test_refuses_to_seed_over_existing_data():
    seed(*SMALL)
    before = snapshot()
    with pytest.raises(CommandError, match="--reset") as refused:
        seed(*SMALL)
    assert refused.value.returncode == 1
    assert snapshot() == before


def test_if_empty_leaves_existing_data_alone_and_lists_the_logins():
    seed(*SMALL)
    before = snapshot()
    out = seed("--firms", "50", "--if-empty")
    assert "已存在" in out
    assert "a1-inspector1" in out and "demo-pass-2021" in out
    assert snapshot() == before
    assert AuditEvent.objects.filter(action="demo.seed").count() == 1


def test_if_empty_seeds_an_empty_database():
    seed("--firms", "50", "--if-empty")
    assert Firm.objects.count() == 50


@separately_committed
def test_reset_replaces_the_data():
    seed(*SMALL)
    seed("--firms", "120", "--reset")
    assert Bureau.objects.count() == 1
    assert Firm.objects.count() == 120


def test_demo_password_logs_in():
    seed(*SMALL)
    user = authenticate(username="a1-inspector1", password="demo-pass-2021")
    assert user == User.objects.get(username="a1-inspector1")
    assert authenticate(username="admin", password="demo-pass-2021") is not None


def test_custom_password_logs_in():
    out = seed(*SMALL, "--password", "另一个-pass-9")
    assert "另一个-pass-9" in out
    assert authenticate(username="reviewer", password="另一个-pass-9") is not None
    assert authenticate(username="reviewer", password="demo-pass-2021") is None


def test_prints_the_counts_and_the_logins():
    out = seed(*SMALL)
    assert "企业 300 家" in out
    assert "街道镇 10 个" in out and "工业园区 8 个" in out
    assert "重点监管单位 269 家" in out
    assert "服务合同 3 份" in out and "已分配企业 300 家" in out
    assert "默认密码 demo-pass-2021" in out
    for username in ("admin", "reviewer", "a2-manager", "a3-inspector2"):
        assert username in out
    assert "管理局审核员" in out and "服务机构检查员" in out and "企业用户" in out
    for uscc in Membership.objects.filter(role=Role.FIRM_USER).values_list("firm__uscc", flat=True):
        assert f"firm-{uscc}" in out


def test_records_the_seeding_in_the_audit_log():
    seed(*SMALL)
    event = AuditEvent.objects.get(action="demo.seed")
    assert event.actor is None
    assert event.detail["firms"] == 300
    assert event.detail["key_units"] == {"fire": 103, "construction": 46, "key_place": 120}


def test_small_districts_scale_the_key_units_down():
    assert key_unit_counts(100, {"fire": 103, "construction": 46, "key_place": 120}) == {
        "fire": 38,
        "construction": 17,
        "key_place": 45,
    }
    seed("--firms", "100")
    assert Counter(Firm.objects.values_list("key_category", flat=True)) == {
        "fire": 38,
        "construction": 17,
        "key_place": 45,
    }


def test_rejects_an_impossible_firm_count():
    with pytest.raises(CommandError, match="--firms"):
        seed("--firms", "-1")
    assert not Bureau.objects.exists()
