"""The hazard pages (issue 4): the firm's hazards and its rectification report, the agency's
re-inspection, the inspector's edits; and who may open them."""

import uuid
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from contractors.checklists.services import do_install_default_checklist
from contractors.evidence.models import Evidence
from contractors.hazards.models import Hazard, HazardCategory, HazardLevel
from contractors.hazards.services import do_record_hazard, do_rectify_hazard
from contractors.inspections.services import do_submit_inspection
from portal.models import AuditEvent
from tests.contractors.inspections.test_inspection_pages import answer_all, start_inspection


@pytest.fixture
def checklist(cast):
    return do_install_default_checklist(actor=None, bureau=cast.bureau)


def record(cast, inspection, **fields):
    values = {
        "category": HazardCategory.FIRE,
        "level": HazardLevel.GENERAL,
        "description": "安全出口被堵塞",
        "location": "一号车间东侧",
        "deadline": timezone.localdate() + timedelta(days=7),
        **fields,
    }
    return do_record_hazard(actor=cast.inspector_a1, inspection=inspection, **values)


@pytest.fixture
def draft(cast, checklist):
    return start_inspection(cast)


@pytest.fixture
def hazard(cast, draft):
    """An open hazard of firm A in a submitted inspection."""
    hazard = record(cast, draft)
    answer_all(cast.inspector_a1, draft)
    do_submit_inspection(actor=cast.inspector_a1, inspection=draft)
    hazard.refresh_from_db()
    return hazard


def confirmed_evidence(cast, hazard, purpose, *, uploaded_by):
    return Evidence.objects.create(
        bureau=cast.bureau,
        inspection=hazard.inspection,
        hazard=hazard,
        purpose=purpose,
        status=Evidence.Status.CONFIRMED,
        key=f"bureau/{cast.bureau.pk}/agency/{cast.agency_a.pk}/inspection/"
        f"{hazard.inspection_id}/{uuid.uuid4()}.jpg",
        filename="整改后.jpg",
        content_type="image/jpeg",
        size=4,
        sha256="0" * 64,
        uploaded_by=uploaded_by,
        expires_at=timezone.now() + timedelta(minutes=15),
        confirmed_at=timezone.now(),
    )


@pytest.fixture
def rectified(cast, hazard):
    evidence = confirmed_evidence(
        cast, hazard, Evidence.Purpose.RECTIFICATION, uploaded_by=cast.firm_user_a
    )
    return do_rectify_hazard(
        actor=cast.firm_user_a, hazard=hazard, note="已清理安全出口", evidence=[evidence]
    )


def url(name, hazard):
    return reverse(f"contractors:{name}", kwargs={"hazard_id": hazard.id})


def future(days=14):
    return (timezone.localdate() + timedelta(days=days)).isoformat()


# --- The firm's hazards --------------------------------------------------------------------------


def test_the_firm_sees_its_hazards_with_deadline_and_days_left(client_for, cast, hazard, draft):
    page = client_for(cast.firm_user_a).get(reverse("contractors:hazard_list"))
    assert page.status_code == 200
    assert list(page.context["page"].object_list) == [hazard]
    html = page.content.decode()
    assert "隐患整改" in html
    assert "安全出口被堵塞" in html
    assert hazard.deadline.isoformat() in html
    assert "还剩 7 天" in html


def test_an_overdue_hazard_says_by_how_many_days(client_for, cast, hazard):
    Hazard.objects.filter(pk=hazard.pk).update(
        status=Hazard.Status.OVERDUE, deadline=timezone.localdate() - timedelta(days=3)
    )
    html = client_for(cast.firm_user_a).get(reverse("contractors:hazard_list")).content.decode()
    assert "已逾期 3 天" in html
    assert "逾期未整改" in html


def test_the_firm_never_sees_hazards_of_drafts_or_of_another_firm(client_for, cast, hazard):
    in_draft = record(cast, start_inspection(cast), description="配电箱未上锁")
    client = client_for(cast.firm_user_b)
    page = client.get(reverse("contractors:hazard_list"))
    assert not list(page.context["page"].object_list)
    assert "安全出口被堵塞" not in page.content.decode()
    assert client.get(url("hazard_detail", hazard)).status_code == 404
    client = client_for(cast.firm_user_a)
    assert "配电箱未上锁" not in client.get(reverse("contractors:hazard_list")).content.decode()
    assert client.get(url("hazard_detail", in_draft)).status_code == 404


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("firm_user_a", 200),
        ("admin", 200),
        ("reviewer", 200),
        ("inspector_a1", 200),
        ("firm_user_b", 404),
        ("inspector_b1", 404),
        ("outsider", 404),
    ],
)
def test_who_opens_a_hazard(client_for, cast, hazard, who, status):
    assert client_for(getattr(cast, who)).get(url("hazard_detail", hazard)).status_code == status


def test_the_firm_gets_the_rectification_form_and_the_bureau_reads_only(client_for, cast, hazard):
    page = client_for(cast.firm_user_a).get(url("hazard_detail", hazard))
    assert page.context["rectify_form"] is not None
    html = page.content.decode()
    assert 'data-purpose="rectification"' in html
    assert 'capture="environment"' in html
    assert "portal/evidence-upload.js" in html
    page = client_for(cast.admin).get(url("hazard_detail", hazard))
    assert page.context["rectify_form"] is None
    assert page.context["reinspect_form"] is None
    assert page.context["edit_form"] is None
    assert 'type="file"' not in page.content.decode()


def test_the_firm_reports_rectification_through_the_page(client_for, cast, hazard):
    evidence = confirmed_evidence(
        cast, hazard, Evidence.Purpose.RECTIFICATION, uploaded_by=cast.firm_user_a
    )
    response = client_for(cast.firm_user_a).post(
        url("hazard_rectify", hazard), {"note": "已清理安全出口", "evidence": [str(evidence.id)]}
    )
    assert response.status_code == 302
    hazard.refresh_from_db()
    assert hazard.status == Hazard.Status.RECTIFIED
    assert hazard.rectification_note == "已清理安全出口"


def test_a_rectification_without_evidence_is_refused_and_the_note_kept(client_for, cast, hazard):
    page = client_for(cast.firm_user_a).post(
        url("hazard_rectify", hazard), {"note": "已清理安全出口"}
    )
    assert page.status_code == 200
    assert page.context["rectify_form"].errors["evidence"] == ["请上传整改后的照片或材料。"]
    html = page.content.decode()
    assert "已清理安全出口</textarea>" in html
    assert "请上传整改后的照片或材料。" in html
    hazard.refresh_from_db()
    assert hazard.status == Hazard.Status.OPEN


@pytest.mark.parametrize(("who", "status"), [("admin", 403), ("inspector_a1", 403)])
def test_only_the_firm_reports_rectification(client_for, cast, hazard, who, status):
    response = client_for(getattr(cast, who)).post(url("hazard_rectify", hazard), {"note": "x"})
    assert response.status_code == status
    hazard.refresh_from_db()
    assert hazard.status == Hazard.Status.OPEN


# --- The agency's re-inspection ------------------------------------------------------------------


def test_the_agency_lists_the_hazards_awaiting_reinspection(client_for, cast, rectified):
    page = client_for(cast.inspector_a1).get(reverse("contractors:hazard_list"))
    assert list(page.context["page"].object_list) == [rectified]
    assert "待复查隐患" in page.content.decode()
    assert not list(
        client_for(cast.inspector_b1).get(reverse("contractors:hazard_list")).context["page"]
    )


def test_the_agency_gets_the_reinspection_form_for_a_rectified_hazard(client_for, cast, rectified):
    page = client_for(cast.manager_a).get(url("hazard_detail", rectified))
    assert page.context["reinspect_form"] is not None
    assert 'data-purpose="reinspection"' in page.content.decode()
    assert (
        client_for(cast.firm_user_a).get(url("hazard_detail", rectified)).context["reinspect_form"]
        is None
    )


def test_a_passed_reinspection_through_the_page_verifies_the_hazard(client_for, cast, rectified):
    response = client_for(cast.inspector_a2).post(
        url("hazard_reinspect", rectified), {"passed": "true", "note": "出口已畅通"}
    )
    assert response.status_code == 302
    rectified.refresh_from_db()
    assert rectified.status == Hazard.Status.VERIFIED
    assert rectified.reinspection_note == "出口已畅通"


def test_a_failed_reinspection_through_the_page_reopens_with_a_new_deadline(
    client_for, cast, rectified
):
    response = client_for(cast.inspector_a1).post(
        url("hazard_reinspect", rectified),
        {"passed": "false", "note": "仍有杂物", "deadline": future(10)},
    )
    assert response.status_code == 302
    rectified.refresh_from_db()
    assert rectified.status == Hazard.Status.OPEN
    assert rectified.deadline.isoformat() == future(10)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"passed": "false", "note": "仍有杂物"}, "deadline", "复查未通过时请填写新的整改期限。"),
        (
            {"passed": "false", "note": "仍有杂物", "deadline": "2021-01-01"},
            "deadline",
            "整改期限不能早于今天。",
        ),
        ({"passed": "false", "deadline": future()}, "note", "复查未通过时请写明复查意见。"),
    ],
    ids=["no-deadline", "past-deadline", "no-note"],
)
def test_a_failed_reinspection_with_bad_input_is_refused_at_the_field(
    client_for, cast, rectified, data, field, message
):
    page = client_for(cast.inspector_a1).post(url("hazard_reinspect", rectified), data)
    assert page.status_code == 200
    assert page.context["reinspect_form"].errors[field] == [message]
    html = page.content.decode()
    assert message in html
    if data.get("note"):
        assert "仍有杂物</textarea>" in html
    rectified.refresh_from_db()
    assert rectified.status == Hazard.Status.RECTIFIED


@pytest.mark.parametrize(("who", "status"), [("firm_user_a", 403), ("inspector_b1", 404)])
def test_only_the_agency_holding_the_firm_reinspects(client_for, cast, rectified, who, status):
    response = client_for(getattr(cast, who)).post(
        url("hazard_reinspect", rectified), {"passed": "true"}
    )
    assert response.status_code == status
    rectified.refresh_from_db()
    assert rectified.status == Hazard.Status.RECTIFIED


# --- The inspector's edits -----------------------------------------------------------------------


def test_the_inspector_edits_a_hazard_of_a_draft(client_for, cast, draft):
    hazard = record(cast, draft)
    client = client_for(cast.inspector_a1)
    page = client.get(url("hazard_detail", hazard))
    assert page.context["edit_form"]["description"].value() == "安全出口被堵塞"
    assert 'data-purpose="finding"' in page.content.decode()
    data = {
        "category": HazardCategory.FIRE,
        "level": HazardLevel.MAJOR,
        "description": "安全出口被堵塞且锁闭",
        "deadline": (timezone.localdate() - timedelta(days=1)).isoformat(),
    }
    page = client.post(url("hazard_update", hazard), data)
    assert page.context["edit_form"].errors["deadline"] == ["整改期限不能早于今天。"]
    assert "安全出口被堵塞且锁闭" in page.content.decode()
    data["deadline"] = future()
    assert client.post(url("hazard_update", hazard), data).status_code == 302
    hazard.refresh_from_db()
    assert (hazard.level, hazard.description) == (HazardLevel.MAJOR, "安全出口被堵塞且锁闭")


def test_an_on_the_spot_hazard_offers_the_after_photo(client_for, cast, draft):
    hazard = record(cast, draft, rectified_on_spot=True)
    html = client_for(cast.inspector_a1).get(url("hazard_detail", hazard)).content.decode()
    assert 'data-purpose="on_spot"' in html


def test_a_submitted_inspections_hazard_is_read_only(client_for, cast, hazard):
    client = client_for(cast.inspector_a1)
    assert client.get(url("hazard_detail", hazard)).context["edit_form"] is None
    data = {"category": "fire", "level": "general", "description": "x", "deadline": future()}
    response = client.post(url("hazard_update", hazard), data, follow=True)
    assert response.redirect_chain == [(url("hazard_detail", hazard), 302)]
    assert "已提交的检查不能修改。" in response.content.decode()
    hazard.refresh_from_db()
    assert hazard.description == "安全出口被堵塞"


def test_the_firm_cannot_edit_its_hazard(client_for, cast, hazard):
    data = {"category": "fire", "level": "general", "description": "x", "deadline": future()}
    assert client_for(cast.firm_user_a).post(url("hazard_update", hazard), data).status_code == 403


def test_the_hazard_list_takes_the_same_number_of_queries_for_more_hazards(
    client_for, cast, draft, django_assert_max_num_queries
):
    record(cast, draft)
    client = client_for(cast.reviewer)
    with django_assert_max_num_queries(10) as few:
        client.get(reverse("contractors:hazard_list"))
    for n in range(5):
        record(cast, draft, description=f"隐患{n}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(client.get(reverse("contractors:hazard_list")).context["page"]) == 6


# --- Evidence links ------------------------------------------------------------------------------


def test_an_evidence_link_redirects_to_a_short_lived_url_and_is_audited(client_for, cast, hazard):
    evidence = confirmed_evidence(
        cast, hazard, Evidence.Purpose.FINDING, uploaded_by=cast.inspector_a1
    )
    download = reverse("contractors:evidence_download", kwargs={"evidence_id": evidence.id})
    client = client_for(cast.firm_user_a)
    assert download in client.get(url("hazard_detail", hazard)).content.decode()
    response = client.get(download)
    assert response.status_code == 302
    assert response["Location"] != download
    assert AuditEvent.objects.filter(
        action="evidence.downloaded", actor=cast.firm_user_a, target_id=str(evidence.id)
    ).exists()


@pytest.mark.parametrize("who", ["firm_user_b", "inspector_b1", "outsider"])
def test_another_tenant_gets_404_for_an_evidence_link(client_for, cast, hazard, who):
    evidence = confirmed_evidence(
        cast, hazard, Evidence.Purpose.FINDING, uploaded_by=cast.inspector_a1
    )
    download = reverse("contractors:evidence_download", kwargs={"evidence_id": evidence.id})
    assert client_for(getattr(cast, who)).get(download).status_code == 404
    assert not AuditEvent.objects.filter(action="evidence.downloaded").exists()
