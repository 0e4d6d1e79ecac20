"""Agencies, contracts and assignments against the database: who gets access to which firm, and
the audit trail of every grant and revocation."""

import threading
from datetime import date, timedelta

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from contractors.register.models import Firm
from contractors.register.uscc import make_uscc
from contractors.tenancy import services
from contractors.tenancy.models import Assignment, FirmGroupObjectPermission
from contractors.tenancy.services import (
    AssignmentResult,
    QuotaExceeded,
    do_assign_firms,
    do_create_agency,
    do_create_contract,
    do_share_out_firms,
    do_unassign_firms,
)
from portal.models import AuditEvent, Bureau, User
from tests.conftest import make_agency, make_contract, make_firm

BOTH = {"view_firm", "inspect_firm"}


def firms(*items):
    return Firm.objects.filter(pk__in=[firm.pk for firm in items])


def granted(agency, firm):
    """The firm permissions the agency's group holds on the firm, from the permission rows."""
    return set(
        FirmGroupObjectPermission.objects.filter(
            group=agency.group, content_object=firm
        ).values_list("permission__codename", flat=True)
    )


def may(user, codename, firm):
    """Ask guardian's backend afresh, as a view would for a new request."""
    return User.objects.get(pk=user.pk).has_perm(f"contractors.{codename}", firm)


def current(firm):
    return Assignment.objects.get(firm=firm, ended_at__isnull=True)


def events(action, firm=None):
    found = AuditEvent.objects.filter(action=action)
    if firm is not None:
        found = found.filter(target_type="contractors.firm", target_id=str(firm.pk))
    return found


def bulk_firms(cast, count):
    return Firm.objects.bulk_create(
        Firm(
            bureau=cast.bureau,
            street=cast.register.taopu,
            uscc=make_uscc(region="310107", serial=100_000 + serial),
            name=f"批量企业{serial:05d}",
        )
        for serial in range(count)
    )


@pytest.fixture
def new_firm(cast):
    return make_firm(cast.bureau, cast.register.changshou, 50, name="丙机械有限公司")


# --- Grants and revocations -----------------------------------------------------------------


def test_assigning_grants_the_agency_view_and_inspect_on_the_firm(cast, new_firm):
    assert not may(cast.inspector_a1, "view_firm", new_firm)

    do_assign_firms(actor=cast.admin, contract=cast.contract_a, firms=firms(new_firm))

    assert granted(cast.agency_a, new_firm) == BOTH
    assert may(cast.inspector_a1, "view_firm", new_firm)
    assert may(cast.inspector_a1, "inspect_firm", new_firm)
    assert may(cast.manager_a, "inspect_firm", new_firm)
    assert not may(cast.inspector_b1, "view_firm", new_firm)
    assert current(new_firm).contract == cast.contract_a


def test_unassigning_revokes_both_permissions_and_keeps_the_history(cast):
    ended = do_unassign_firms(actor=cast.admin, contract=cast.contract_a, firms=firms(cast.firm_a))

    assert ended == 1
    assert granted(cast.agency_a, cast.firm_a) == set()
    assert not may(cast.inspector_a1, "view_firm", cast.firm_a)
    assert not may(cast.inspector_a1, "inspect_firm", cast.firm_a)
    history = Assignment.objects.get(firm=cast.firm_a)
    assert history.ended_at is not None and history.ended_by == cast.admin
    # The firm's own user keeps seeing its firm: that grant is not the agency's.
    assert may(cast.firm_user_a, "view_firm", cast.firm_a)


def test_unassigning_from_a_contract_the_firm_is_not_on_changes_nothing(cast):
    ended = do_unassign_firms(actor=cast.admin, contract=cast.contract_a, firms=firms(cast.firm_b))

    assert ended == 0
    assert granted(cast.agency_b, cast.firm_b) == BOTH
    assert current(cast.firm_b).contract == cast.contract_b
    assert not events("firm.unassigned").exists()


def test_moving_a_firm_takes_access_from_the_old_agency_and_gives_it_to_the_new(cast):
    result = do_assign_firms(actor=cast.admin, contract=cast.contract_a, firms=firms(cast.firm_b))

    assert result == AssignmentResult(assigned=1, moved=1, already=0)
    assert granted(cast.agency_b, cast.firm_b) == set()
    assert granted(cast.agency_a, cast.firm_b) == BOTH
    assert not may(cast.inspector_b1, "view_firm", cast.firm_b)
    assert may(cast.inspector_a2, "inspect_firm", cast.firm_b)
    old, new = Assignment.objects.filter(firm=cast.firm_b).order_by("assigned_at")
    assert (old.contract, old.ended_by) == (cast.contract_b, cast.admin)
    assert old.ended_at is not None
    assert (new.contract, new.ended_at, new.assigned_by) == (cast.contract_a, None, cast.admin)


def test_a_move_that_fails_half_way_leaves_the_old_agency_its_access(cast, monkeypatch):
    """Revocation and grant share one transaction: a failure after both undoes both."""
    record = services.record_audit_events

    def fail_on_assignment_events(**kwargs):
        if kwargs["action"] == "firm.assigned":
            raise RuntimeError("audit log unavailable")
        return record(**kwargs)

    monkeypatch.setattr(services, "record_audit_events", fail_on_assignment_events)
    with pytest.raises(RuntimeError):
        do_assign_firms(actor=cast.admin, contract=cast.contract_a, firms=firms(cast.firm_b))

    assert granted(cast.agency_b, cast.firm_b) == BOTH
    assert granted(cast.agency_a, cast.firm_b) == set()
    assert current(cast.firm_b).contract == cast.contract_b
    assert Assignment.objects.filter(firm=cast.firm_b).count() == 1
    assert not events("firm.unassigned").exists()


def test_the_database_refuses_a_second_current_assignment(cast):
    with pytest.raises(IntegrityError), transaction.atomic():
        Assignment.objects.create(contract=cast.contract_b, firm=cast.firm_a)

    ended = Assignment(contract=cast.contract_b, firm=cast.firm_a, ended_at=timezone.now())
    ended.save()
    assert Assignment.objects.filter(firm=cast.firm_a).count() == 2


def test_the_result_counts_new_moved_and_already_assigned_firms(cast, new_firm):
    chosen = firms(cast.firm_a, cast.firm_b, new_firm)

    result = do_assign_firms(actor=cast.admin, contract=cast.contract_a, firms=chosen)

    # `assigned` counts every firm that now has this contract: the new one and the moved one.
    assert result == AssignmentResult(assigned=2, moved=1, already=1)
    assert Assignment.objects.filter(contract=cast.contract_a, ended_at__isnull=True).count() == 3


def test_assigning_the_same_firms_again_changes_nothing(cast, new_firm):
    do_assign_firms(actor=cast.admin, contract=cast.contract_a, firms=firms(new_firm))
    rows = FirmGroupObjectPermission.objects.count()
    audit = AuditEvent.objects.count()

    again = do_assign_firms(
        actor=cast.admin, contract=cast.contract_a, firms=firms(new_firm, cast.firm_a)
    )

    assert again == AssignmentResult(assigned=0, moved=0, already=2)
    assert Assignment.objects.filter(firm=new_firm).count() == 1
    assert FirmGroupObjectPermission.objects.count() == rows
    assert AuditEvent.objects.count() == audit


def test_firms_of_another_bureau_are_never_assigned(cast):
    other = Bureau.objects.create(
        name="上海市静安区应急管理局", short_name="静", region_code="310106"
    )
    street = other.streets.create(name="南京西路街道", code="01", kind="street")
    stranger = make_firm(other, street, 1, name="外区企业有限公司")

    result = do_assign_firms(actor=cast.admin, contract=cast.contract_a, firms=firms(stranger))

    assert result == AssignmentResult(assigned=0, moved=0, already=0)
    assert not Assignment.objects.filter(firm=stranger).exists()
    assert granted(cast.agency_a, stranger) == set()


# --- Quota -------------------------------------------------------------------------------------


@pytest.fixture
def small_contract(cast, new_firm):
    """A contract of agency A for two firms, one of them already assigned."""
    contract = make_contract(cast.agency_a, quota=2, start=date(2022, 1, 1), end=date(2022, 12, 31))
    do_assign_firms(actor=cast.admin, contract=contract, firms=firms(new_firm))
    return contract


def test_going_over_the_quota_is_refused_with_the_numbers(cast, small_contract):
    with pytest.raises(QuotaExceeded) as refused:
        do_assign_firms(
            actor=cast.admin, contract=small_contract, firms=firms(cast.firm_a, cast.firm_b)
        )

    assert refused.value.usage == {"quota": 2, "current": 1, "adding": 2, "after": 3}
    message = str(refused.value)
    assert "配额 2 家" in message and "已分配 1 家" in message and "分配后共 3 家" in message
    assert current(cast.firm_b).contract == cast.contract_b
    assert granted(cast.agency_b, cast.firm_b) == BOTH
    assert not events("contract.quota_exceeded_confirmed").exists()


def test_filling_the_quota_exactly_is_allowed(cast, small_contract):
    result = do_assign_firms(actor=cast.admin, contract=small_contract, firms=firms(cast.firm_b))

    assert result == AssignmentResult(assigned=1, moved=1, already=0)
    assert not events("contract.quota_exceeded_confirmed").exists()


def test_going_over_the_quota_on_the_admins_word_is_audited(cast, small_contract):
    result = do_assign_firms(
        actor=cast.admin,
        contract=small_contract,
        firms=firms(cast.firm_a, cast.firm_b),
        allow_over_quota=True,
    )

    assert result == AssignmentResult(assigned=2, moved=2, already=0)
    event = events("contract.quota_exceeded_confirmed").get()
    assert event.actor == cast.admin
    assert event.target_id == str(small_contract.pk)
    assert event.detail == {"quota": 2, "current": 1, "adding": 2, "after": 3}


# --- Audit trail -------------------------------------------------------------------------------


def assert_recent_utc(moment):
    assert moment.utcoffset() == timedelta(0)
    assert abs(timezone.now() - moment) < timedelta(minutes=1)


def test_every_grant_is_audited_with_the_actor_and_utc_time(cast, new_firm):
    do_assign_firms(actor=cast.admin, contract=cast.contract_a, firms=firms(new_firm))

    event = events("firm.assigned", new_firm).get()
    assert event.actor == cast.admin
    assert event.bureau == cast.bureau
    assert event.detail == {
        "contract": str(cast.contract_a.pk),
        "agency": str(cast.agency_a.pk),
    }
    assert_recent_utc(event.at)


def test_a_move_audits_the_revocation_and_the_grant_naming_where_it_came_from(cast):
    do_assign_firms(actor=cast.admin, contract=cast.contract_a, firms=firms(cast.firm_b))

    revoked = events("firm.unassigned", cast.firm_b).get()
    assert revoked.actor == cast.admin
    assert revoked.detail == {"contract": str(cast.contract_b.pk), "agency": str(cast.agency_b.pk)}
    assert_recent_utc(revoked.at)
    granted_event = events("firm.assigned", cast.firm_b).get(actor=cast.admin)
    assert granted_event.actor == cast.admin
    assert granted_event.detail == {
        "contract": str(cast.contract_a.pk),
        "agency": str(cast.agency_a.pk),
        "moved_from_contract": str(cast.contract_b.pk),
        "moved_from_agency": str(cast.agency_b.pk),
    }
    assert_recent_utc(granted_event.at)


def test_every_revocation_is_audited(cast):
    do_unassign_firms(actor=cast.admin, contract=cast.contract_a, firms=firms(cast.firm_a))

    event = events("firm.unassigned", cast.firm_a).get()
    assert event.actor == cast.admin
    assert event.bureau == cast.bureau
    assert event.detail == {"contract": str(cast.contract_a.pk), "agency": str(cast.agency_a.pk)}
    assert_recent_utc(event.at)


# --- Share-out among an agency's inspectors ----------------------------------------------------


def test_a_manager_shares_a_firm_out_to_an_inspector_of_the_agency(cast):
    shared = do_share_out_firms(
        actor=cast.manager_a,
        agency=cast.agency_a,
        firms=firms(cast.firm_a),
        inspector=cast.inspector_a1,
    )

    assert shared == 1
    assert current(cast.firm_a).inspector == cast.inspector_a1
    event = events("firm.shared_out", cast.firm_a).get()
    assert event.actor == cast.manager_a
    assert event.detail == {"agency": str(cast.agency_a.pk), "inspector": str(cast.inspector_a1.pk)}
    # Sharing out is bookkeeping inside the agency: the whole agency keeps its access.
    assert may(cast.inspector_a2, "inspect_firm", cast.firm_a)


def test_taking_a_firm_back_from_an_inspector(cast):
    do_share_out_firms(
        actor=cast.manager_a,
        agency=cast.agency_a,
        firms=firms(cast.firm_a),
        inspector=cast.inspector_a1,
    )

    shared = do_share_out_firms(
        actor=cast.manager_a, agency=cast.agency_a, firms=firms(cast.firm_a), inspector=None
    )

    assert shared == 1
    assert current(cast.firm_a).inspector is None


def test_sharing_out_touches_only_the_agencys_own_firms(cast):
    shared = do_share_out_firms(
        actor=cast.manager_a,
        agency=cast.agency_a,
        firms=firms(cast.firm_a, cast.firm_b),
        inspector=cast.inspector_a1,
    )

    assert shared == 1
    assert current(cast.firm_b).inspector is None
    assert not events("firm.shared_out", cast.firm_b).exists()


@pytest.mark.parametrize("member", ["inspector_b1", "manager_a", "firm_user_a", "admin"])
def test_sharing_out_to_anyone_but_an_inspector_of_the_agency_is_refused(cast, member):
    with pytest.raises(ValidationError) as refused:
        do_share_out_firms(
            actor=cast.manager_a,
            agency=cast.agency_a,
            firms=firms(cast.firm_a),
            inspector=getattr(cast, member),
        )

    assert "inspector" in refused.value.message_dict
    assert current(cast.firm_a).inspector is None
    assert not events("firm.shared_out").exists()


def test_sharing_out_to_a_user_outside_any_organisation_is_refused(cast):
    with pytest.raises(ValidationError):
        do_share_out_firms(
            actor=cast.manager_a,
            agency=cast.agency_a,
            firms=firms(cast.firm_a),
            inspector=cast.outsider,
        )


# --- Agencies and contracts --------------------------------------------------------------------


def test_creating_an_agency_gives_it_its_own_group(cast):
    agency = do_create_agency(
        actor=cast.admin,
        bureau=cast.bureau,
        name="丙安全评价有限公司",
        uscc=" " + make_uscc(region="310107", serial=9003).lower(),
        contact="赵六",
    )

    assert agency.uscc == make_uscc(region="310107", serial=9003)
    assert agency.group.name == f"agency:{agency.pk}"
    assert agency.group not in (cast.agency_a.group, cast.agency_b.group)
    event = events("agency.created").get(target_id=str(agency.pk))
    assert event.actor == cast.admin


@pytest.mark.parametrize(
    "uscc",
    [
        make_uscc(region="310107", serial=9001),  # agency A's code: one agency per code
        "91310107MA1G8XXXX1",  # a wrong check character
    ],
)
def test_an_agency_with_a_bad_or_taken_credit_code_is_refused_and_leaves_nothing(cast, uscc):
    groups = Group.objects.count()

    with pytest.raises(ValidationError) as refused:
        do_create_agency(actor=cast.admin, bureau=cast.bureau, name="丁公司", uscc=uscc)

    assert refused.value.messages
    assert Group.objects.count() == groups
    assert not events("agency.created").filter(actor=cast.admin).exists()


def test_creating_a_contract(cast):
    contract = do_create_contract(
        actor=cast.admin,
        bureau=cast.bureau,
        agency=cast.agency_b,
        period_start=date(2022, 1, 1),
        period_end=date(2022, 12, 31),
        quota=300,
        number="普应急采〔2022〕3号",
    )

    assert (contract.agency, contract.quota, contract.number) == (
        cast.agency_b,
        300,
        "普应急采〔2022〕3号",
    )
    event = events("contract.created").get(target_id=str(contract.pk))
    assert event.actor == cast.admin
    assert event.detail == {
        "agency": str(cast.agency_b.pk),
        "period_start": "2022-01-01",
        "period_end": "2022-12-31",
        "quota": 300,
    }


def create_contract_for_2022(cast, **changes):
    terms = {
        "agency": cast.agency_a,
        "period_start": date(2022, 1, 1),
        "period_end": date(2022, 12, 31),
        "quota": 10,
        **changes,
    }
    return do_create_contract(actor=cast.admin, bureau=cast.bureau, **terms)


def assert_no_contract_created(cast):
    assert not cast.bureau.contracts.filter(period_start__year=2022).exists()
    assert not events("contract.created").filter(actor=cast.admin).exists()


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"period_end": date(2021, 12, 31)}, "period_end"), ({"quota": 0}, "quota")],
)
def test_a_contract_with_bad_terms_is_refused(cast, changes, field):
    with pytest.raises(ValidationError) as refused:
        create_contract_for_2022(cast, **changes)

    assert list(refused.value.message_dict) == [field]
    assert_no_contract_created(cast)


def test_a_contract_with_another_bureaus_agency_is_refused(cast):
    other = Bureau.objects.create(
        name="上海市静安区应急管理局", short_name="静", region_code="310106"
    )
    stranger = make_agency(other, "外区机构有限公司", 9100)

    with pytest.raises(ValidationError) as refused:
        create_contract_for_2022(cast, agency=stranger)

    assert list(refused.value.message_dict) == ["agency"]
    assert_no_contract_created(cast)


def test_a_one_day_contract_is_fine(cast):
    day = date(2022, 6, 1)
    contract = do_create_contract(
        actor=cast.admin,
        bureau=cast.bureau,
        agency=cast.agency_a,
        period_start=day,
        period_end=day,
        quota=1,
    )
    assert contract.period_start == contract.period_end == day


# --- Scale ---------------------------------------------------------------------------------------


def max_bulk_queries():
    """Few enough queries for 5000 firms that there cannot be one per firm. SQLite takes at most
    999 parameters per statement, so Django cuts its bulk inserts into smaller batches there."""
    return 80 if connection.vendor == "postgresql" else 200


def test_assigning_and_moving_5000_firms_uses_bulk_writes(cast, django_assert_max_num_queries):
    bulk_firms(cast, 5000)
    batch = Firm.objects.filter(name__startswith="批量企业")
    big_a = make_contract(cast.agency_a, quota=6000, start=date(2022, 1, 1), end=date(2022, 12, 31))
    big_b = make_contract(cast.agency_b, quota=6000, start=date(2022, 1, 1), end=date(2022, 12, 31))

    with django_assert_max_num_queries(max_bulk_queries()):
        result = do_assign_firms(actor=cast.admin, contract=big_a, firms=batch)

    assert result == AssignmentResult(assigned=5000, moved=0, already=0)
    assert FirmGroupObjectPermission.objects.filter(group=cast.agency_a.group).count() == 10_002
    assert events("firm.assigned").filter(actor=cast.admin).count() == 5000

    with django_assert_max_num_queries(max_bulk_queries()):
        moved = do_assign_firms(actor=cast.admin, contract=big_b, firms=batch)

    assert moved == AssignmentResult(assigned=5000, moved=5000, already=0)
    # Agency A keeps only firm A; agency B has firm B and the whole batch.
    assert FirmGroupObjectPermission.objects.filter(group=cast.agency_a.group).count() == 2
    assert FirmGroupObjectPermission.objects.filter(group=cast.agency_b.group).count() == 10_002
    assert Assignment.objects.filter(contract=big_a, ended_at__isnull=False).count() == 5000
    assert Assignment.objects.filter(contract=big_b, ended_at__isnull=True).count() == 5000
    assert events("firm.unassigned").filter(actor=cast.admin).count() == 5000


# --- Concurrency -------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_admins_assigning_one_firm_at_once_leave_one_agency_with_access(cast, new_firm):
    if connection.vendor != "postgresql":
        pytest.skip("needs row locks: run on PostgreSQL (DATABASE_URL=postgres://...)")
    barrier = threading.Barrier(2, timeout=10)
    errors = []

    def assign_to(contract):
        try:
            barrier.wait()
            do_assign_firms(actor=cast.admin, contract=contract, firms=firms(new_firm))
        except Exception as error:  # a thread cannot fail the test; the assertion below does
            errors.append(error)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=assign_to, args=(contract,))
        for contract in (cast.contract_a, cast.contract_b)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    winner = current(new_firm)
    assert Assignment.objects.filter(firm=new_firm).count() == 2
    holders = FirmGroupObjectPermission.objects.filter(
        content_object=new_firm, permission__codename="view_firm"
    ).values_list("group", flat=True)
    assert list(holders) == [winner.contract.agency.group_id]
