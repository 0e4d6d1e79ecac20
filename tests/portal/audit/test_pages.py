"""The bureau's audit log page and its export (ASVS 5.0 V16.4.1: the log is read by the bureau's
admins only, and only their own bureau's; V16.2.1: an export of the log is itself logged;
V1.2.10: the export's cells are safe to open)."""

import io
from datetime import UTC, datetime

import openpyxl
import pytest
from django.urls import reverse
from django.utils import timezone

from portal.audit.chain import chain_key, verify
from portal.audit.selectors import EVENTS_PER_PAGE
from portal.models import AuditEvent, Bureau, User
from portal.services import record_audit_event

LIST = reverse("audit:event_list")
EXPORT = reverse("audit:event_export")
HYPERLINK = '=HYPERLINK("http://x","y")'


@pytest.fixture
def at(monkeypatch):
    """Events written at a chosen moment: the chain stamps each event when it links it."""

    def moment(*args):
        when = datetime(*args, tzinfo=UTC)
        monkeypatch.setattr(timezone, "now", lambda: when)

    return moment


@pytest.fixture
def elsewhere(db):
    bureau = Bureau.objects.create(
        name="上海市静安区应急管理局", short_name="静", region_code="310106"
    )
    record_audit_event(actor=None, action="secret.elsewhere", bureau=bureau, detail={"x": 1})
    return bureau


def rows_of(response):
    assert response.status_code == 200
    return list(openpyxl.load_workbook(io.BytesIO(response.content)).active.iter_rows())


@pytest.mark.parametrize(
    "member",
    [
        "reviewer",
        "manager_a",
        "inspector_a1",
        "firm_user_a",
        "manager_b",
        "firm_user_b",
        "outsider",
    ],
)
def test_v16_4_1_only_bureau_admins_reach_the_audit_log(cast, client_for, member):
    client = client_for(getattr(cast, member))

    assert client.get(LIST).status_code == 404
    assert client.get(EXPORT).status_code == 404


def test_v16_4_1_the_admin_reads_the_log_and_anonymous_users_are_sent_to_log_in(cast, client_for):
    assert client_for(cast.admin).get(LIST).status_code == 200
    for url in (LIST, EXPORT):
        response = client_for(None).get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_v16_4_1_events_of_another_bureau_are_never_shown_or_exported(cast, client_for, elsewhere):
    admin = client_for(cast.admin)

    assert "secret.elsewhere" not in admin.get(LIST).content.decode()
    actions = [row[4].value for row in rows_of(admin.get(EXPORT))[1:]]
    assert actions and "secret.elsewhere" not in actions
    assert "secret.elsewhere" not in admin.get(LIST, {"action": "secret"}).content.decode()


def test_the_page_shows_time_in_local_time_actor_action_target_address_and_detail(
    cast, client_for, at
):
    at(2021, 3, 1, 23, 30, 5)  # 07:30:05 on 2 March in Shanghai
    record_audit_event(
        actor=cast.inspector_a1,
        action="hazard.recorded",
        target=cast.firm_a,
        bureau=cast.bureau,
        detail={"description": "安全出口被堵塞"},
    )

    page = client_for(cast.admin).get(LIST, {"action": "hazard."}).content.decode()

    assert "2021-03-02 07:30:05" in page
    assert cast.inspector_a1.full_name in page
    assert "hazard.recorded" in page
    assert f"contractors.firm</code> {cast.firm_a.pk}" in page
    assert "安全出口被堵塞" in page


def test_filters_by_actor_object_action_and_local_day(cast, client_for, at):
    at(2021, 3, 1, 15, 59)  # 23:59 on 1 March in Shanghai
    record_audit_event(
        actor=cast.admin, action="firm.updated", target=cast.firm_a, bureau=cast.bureau
    )
    at(2021, 3, 1, 16, 1)  # 00:01 on 2 March
    record_audit_event(
        actor=cast.reviewer, action="firm.updated", target=cast.firm_b, bureau=cast.bureau
    )
    record_audit_event(actor=cast.admin, action="document.approved", bureau=cast.bureau)
    admin = client_for(cast.admin)

    def actions(**filters):
        return [
            (row[4].value, row[6].value, row[2].value)
            for row in rows_of(admin.get(EXPORT, filters))[1:]
            # The admin's own log-in and exports are events of the same moment.
            if not row[4].value.startswith(("audit.", "auth."))
        ]

    firm_a, firm_b = str(cast.firm_a.pk), str(cast.firm_b.pk)
    assert actions(action="firm.", date_from="2021-03-02", date_to="2021-03-02") == [
        ("firm.updated", firm_b, "reviewer")
    ]
    assert actions(date_from="2021-03-01", date_to="2021-03-01") == [
        ("firm.updated", firm_a, "admin")
    ]
    assert actions(actor=str(cast.admin.pk), date_from="2021-03-01", date_to="2021-03-02") == [
        ("document.approved", None, "admin"),  # an empty cell
        ("firm.updated", firm_a, "admin"),
    ]
    assert actions(target_type="contractors.firm", target_id=firm_b, action="firm.up") == [
        ("firm.updated", firm_b, "reviewer")
    ]


def test_bad_filters_are_named_on_the_page_and_refuse_the_export(cast, client_for):
    admin = client_for(cast.admin)

    page = admin.get(LIST, {"date_from": "2021-03-02", "date_to": "2021-03-01"})
    assert "结束日期不能早于开始日期。" in page.content.decode()
    refused = admin.get(EXPORT, {"date_from": "2021-03-02", "date_to": "2021-03-01"})
    assert refused.status_code == 400
    assert "结束日期不能早于开始日期。" in refused.content.decode()
    assert (
        admin.get(EXPORT, {"actor": str(User.objects.create(username="x").pk)}).status_code == 400
    )


def test_the_list_is_paginated_newest_first_in_a_fixed_number_of_queries(
    cast, client_for, django_assert_max_num_queries
):
    admin = client_for(cast.admin)
    with django_assert_max_num_queries(12) as few:
        assert admin.get(LIST).status_code == 200
    for n in range(EVENTS_PER_PAGE + 10):
        record_audit_event(actor=cast.admin, action=f"bulk.{n:03d}", bureau=cast.bureau)

    with django_assert_max_num_queries(len(few.captured_queries)):
        first = admin.get(LIST, {"action": "bulk."}).content.decode()
    second = admin.get(LIST, {"action": "bulk.", "page": 2}).content.decode()

    assert first.index("bulk.059") < first.index("bulk.058")
    assert "bulk.010" in first and "bulk.009" not in first
    assert "bulk.009" in second and "bulk.000" in second and "bulk.010" not in second
    assert "第 1 / 2 页" in first


def test_v16_2_1_each_export_is_an_audit_event_and_the_chain_still_holds(cast, client_for):
    admin = client_for(cast.admin)

    rows = rows_of(admin.get(EXPORT, {"action": "firm."}))

    event = AuditEvent.objects.filter(action="audit.exported").get()
    assert event.actor == cast.admin and event.bureau == cast.bureau
    assert event.detail == {"filters": {"action": "firm."}, "events": len(rows) - 1}
    assert verify(chain_key(cast.bureau.pk)).ok


def test_v1_2_10_the_export_writes_formula_like_names_as_text(cast, client_for):
    cast.inspector_a1.full_name = HYPERLINK
    cast.inspector_a1.save()
    record_audit_event(actor=cast.inspector_a1, action="@SUM(1)", bureau=cast.bureau)

    rows = rows_of(client_for(cast.admin).get(EXPORT))

    [row] = [row for row in rows if row[4].value == "@SUM(1)"]
    for cell in (row[3], row[4]):
        assert cell.data_type == "s" and cell.quotePrefix
    assert row[3].value == HYPERLINK
    assert row[0].data_type == "n"  # the sequence stays a number
    assert row[1].is_date
