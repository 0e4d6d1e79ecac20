"""The hazards API (issue 4): recording and editing hazards in a draft, the firm's
rectification, the agency's re-inspection, every transition allowed or refused, and who sees
which hazards."""

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contractors.checklists.services import do_install_default_checklist
from contractors.evidence.models import Evidence
from contractors.hazards.models import Hazard
from contractors.hazards.services import do_record_hazard
from contractors.inspections.models import Inspection
from contractors.inspections.services import do_submit_inspection
from tests.conftest import assign
from tests.contractors.inspections.test_api_inspections import (
    answer_all,
    errors_of,
    inspection_url,
    start_inspection,
    today,
)

HAZARDS_URL = "/api/v1/hazards/"


def hazard_url(hazard, action=""):
    return f"{HAZARDS_URL}{hazard.pk}/{action + '/' if action else ''}"


def in_days(days):
    return (today() + timedelta(days=days)).isoformat()


def hazard_body(**fields):
    return {
        "category": "fire",
        "level": "general",
        "description": "安全出口被货物堵塞",
        "location": "一号车间东侧",
        "legal_basis": "《中华人民共和国消防法》第二十八条",
        "requirement": "立即清理通道，保持安全出口畅通",
        "deadline": in_days(7),
        **fields,
    }


def record(cast, inspection, **fields):
    values = {
        "category": "production",
        "level": "general",
        "description": "配电箱未上锁",
        "deadline": today() + timedelta(days=10),
        **fields,
    }
    return do_record_hazard(actor=cast.inspector_a1, inspection=inspection, **values)


def add_evidence(hazard, *, purpose, uploader, status=Evidence.Status.CONFIRMED):
    """A file as the evidence services leave it once uploaded and confirmed."""
    return Evidence.objects.create(
        bureau=hazard.inspection.bureau,
        inspection=hazard.inspection,
        hazard=hazard,
        purpose=purpose,
        status=status,
        key=f"bureau/{hazard.inspection.bureau_id}/evidence/{uuid.uuid4()}.jpg",
        filename="整改后.jpg",
        content_type="image/jpeg",
        size=1024,
        sha256="0" * 64,
        uploaded_by=uploader,
        expires_at=timezone.now() + timedelta(minutes=15),
    )


@pytest.fixture
def draft(cast):
    do_install_default_checklist(actor=None, bureau=cast.bureau)
    return start_inspection(cast)


@pytest.fixture
def hazard(cast, draft):
    """An open hazard of a submitted inspection of firm A."""
    hazard = record(cast, draft)
    answer_all(cast.inspector_a1, draft)
    do_submit_inspection(actor=cast.inspector_a1, inspection=draft)
    hazard.refresh_from_db()
    return hazard


def rectify_body(cast, hazard):
    evidence = add_evidence(
        hazard, purpose=Evidence.Purpose.RECTIFICATION, uploader=cast.firm_user_a
    )
    return {"note": "已清理通道并设置警示标志", "evidence": [str(evidence.pk)]}


@pytest.fixture
def rectified(cast, hazard, api_for):
    response = api_for(cast.firm_user_a).post(
        hazard_url(hazard, "rectify"), rectify_body(cast, hazard), format="json"
    )
    assert response.status_code == 200, response.content
    hazard.refresh_from_db()
    return hazard


# --- Recording and editing in a draft ------------------------------------------------------------


def test_the_agency_records_a_hazard_by_hand(cast, draft, api_for):
    response = api_for(cast.inspector_a2).post(
        inspection_url(draft, "hazards"), hazard_body(), format="json"
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "open"
    assert body["inspection"] == str(draft.pk)
    assert body["firm"] == str(cast.firm_a.pk)
    assert body["category"] == "fire"
    assert body["deadline"] == in_days(7)
    assert body["item"] is None
    assert Hazard.objects.get(pk=body["id"]).description == "安全出口被货物堵塞"


def test_a_hazard_from_an_item_marks_the_item_as_a_hazard(cast, draft, api_for):
    item = draft.checklist.items.get(position=5)
    api = api_for(cast.inspector_a1)

    response = api.post(
        inspection_url(draft, "hazards"), hazard_body(item=str(item.pk)), format="json"
    )

    assert response.status_code == 201
    entry = api.get(inspection_url(draft)).json()["checklist"][4]
    assert entry["answer"] == "hazard"
    assert entry["hazard"] == response.json()["id"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"category": "weather"}, "category"),
        ({"level": "minor"}, "level"),
        ({"description": ""}, "description"),
        ({"deadline": in_days(-1)}, "deadline"),
        ({"deadline": "明天"}, "deadline"),
        ({"level": "major", "rectified_on_spot": True}, "rectified_on_spot"),
        ({"item": str(uuid.uuid4())}, "item"),
    ],
)
def test_bad_input_is_refused_on_its_field_and_nothing_is_saved(
    cast, draft, api_for, change, field
):
    response = api_for(cast.inspector_a1).post(
        inspection_url(draft, "hazards"), hazard_body(**change), format="json"
    )

    assert field in errors_of(response)
    assert not Hazard.objects.exists()


@pytest.mark.parametrize(
    ("who", "expected"),
    [("admin", 403), ("reviewer", 403), ("manager_b", 404), ("firm_user_a", 404)],
)
def test_only_the_agency_records_hazards(cast, draft, api_for, who, expected):
    response = api_for(getattr(cast, who)).post(
        inspection_url(draft, "hazards"), hazard_body(), format="json"
    )

    assert response.status_code == expected
    assert not Hazard.objects.exists()


def test_the_agency_edits_a_hazard_while_the_inspection_is_a_draft(cast, draft, api_for):
    hazard = record(cast, draft)

    response = api_for(cast.manager_a).patch(
        hazard_url(hazard), {"level": "major", "deadline": in_days(3)}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["level"] == "major"
    hazard.refresh_from_db()
    assert hazard.deadline.isoformat() == in_days(3)
    assert hazard.description == "配电箱未上锁"


def test_an_edit_to_a_past_deadline_is_refused(cast, draft, api_for):
    hazard = record(cast, draft)

    response = api_for(cast.inspector_a1).patch(
        hazard_url(hazard), {"deadline": in_days(-2)}, format="json"
    )

    assert "deadline" in errors_of(response)


def test_hazards_of_a_submitted_inspection_are_read_only(cast, hazard, api_for):
    agency = api_for(cast.inspector_a1)

    edit = agency.patch(hazard_url(hazard), {"description": "改"}, format="json")
    added = agency.post(inspection_url(hazard.inspection, "hazards"), hazard_body(), format="json")

    assert edit.status_code == 409
    assert added.status_code == 409
    assert (
        api_for(cast.firm_user_a)
        .patch(hazard_url(hazard), {"description": "改"}, format="json")
        .status_code
        == 403
    )
    assert (
        api_for(cast.reviewer)
        .patch(hazard_url(hazard), {"description": "改"}, format="json")
        .status_code
        == 403
    )


# --- Seeing --------------------------------------------------------------------------------------


def listed(api, **filters):
    response = api.get(HAZARDS_URL, filters)
    assert response.status_code == 200
    return {row["id"] for row in response.json()["results"]}


def test_the_firm_sees_its_hazards_but_never_another_firms_or_a_drafts(cast, hazard, api_for):
    in_draft = record(cast, start_inspection(cast))
    other_inspection = start_inspection(cast, "b")
    other = do_record_hazard(
        actor=cast.inspector_b1,
        inspection=other_inspection,
        category="fire",
        level="general",
        description="灭火器过期",
        deadline=today() + timedelta(days=5),
    )
    answer_all(cast.inspector_b1, other_inspection)
    do_submit_inspection(actor=cast.inspector_b1, inspection=other_inspection)
    firm_a = api_for(cast.firm_user_a)

    assert listed(firm_a) == {str(hazard.pk)}
    assert firm_a.get(hazard_url(hazard)).json()["description"] == "配电箱未上锁"
    assert firm_a.get(hazard_url(in_draft)).status_code == 404
    assert firm_a.get(hazard_url(other)).status_code == 404
    assert listed(api_for(cast.firm_user_b)) == {str(other.pk)}
    assert listed(api_for(cast.inspector_a1)) == {str(hazard.pk), str(in_draft.pk)}
    assert listed(api_for(cast.reviewer)) == {str(hazard.pk), str(in_draft.pk), str(other.pk)}
    assert listed(api_for(cast.outsider)) == set()


@pytest.mark.parametrize("who", ["manager_b", "inspector_b1", "firm_user_b", "outsider"])
def test_other_tenants_get_404_for_every_hazard_endpoint(cast, hazard, api_for, who):
    api = api_for(getattr(cast, who))

    assert api.get(hazard_url(hazard)).status_code == 404
    assert api.patch(hazard_url(hazard), {"description": "改"}, format="json").status_code == 404
    assert api.post(hazard_url(hazard, "rectify"), {}, format="json").status_code == 404
    assert api.post(hazard_url(hazard, "reinspect"), {}, format="json").status_code == 404


def test_anonymous_users_get_401(cast, hazard, api_for):
    api = api_for(None)
    for method, url in [
        ("get", HAZARDS_URL),
        ("get", hazard_url(hazard)),
        ("patch", hazard_url(hazard)),
        ("post", hazard_url(hazard, "rectify")),
        ("post", hazard_url(hazard, "reinspect")),
    ]:
        assert getattr(api, method)(url, {}, format="json").status_code == 401, (method, url)


def test_the_list_filters_by_status_firm_and_inspection(cast, hazard, rectified, api_for):
    draft_hazard = record(cast, start_inspection(cast))
    api = api_for(cast.reviewer)

    assert listed(api, status="rectified") == {str(hazard.pk)}
    assert listed(api, status="open") == {str(draft_hazard.pk)}
    assert listed(api, firm=str(cast.firm_b.pk)) == set()
    assert listed(api, inspection=str(hazard.inspection_id)) == {str(hazard.pk)}
    assert "status" in errors_of(api.get(HAZARDS_URL, {"status": "gone"}))


def test_the_list_takes_the_same_number_of_queries_for_one_or_many(cast, draft, api_for):
    api = api_for(cast.inspector_a1)
    record(cast, draft)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert api.get(HAZARDS_URL).status_code == 200
        return len(captured)

    one = queries()
    for _ in range(5):
        record(cast, start_inspection(cast))

    assert queries() == one


# --- Rectification and re-inspection -------------------------------------------------------------


def test_the_firm_reports_rectification_with_evidence(cast, hazard, api_for):
    response = api_for(cast.firm_user_a).post(
        hazard_url(hazard, "rectify"), rectify_body(cast, hazard), format="json"
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "rectified"
    assert body["rectification_note"] == "已清理通道并设置警示标志"
    assert body["rectified_at"]


def test_a_rectification_needs_a_note_and_confirmed_evidence_of_the_hazard(
    cast, hazard, draft, api_for
):
    pending = add_evidence(
        hazard,
        purpose=Evidence.Purpose.RECTIFICATION,
        uploader=cast.firm_user_a,
        status=Evidence.Status.PENDING,
    )
    api = api_for(cast.firm_user_a)

    empty = api.post(hazard_url(hazard, "rectify"), {"note": ""}, format="json")
    unconfirmed = api.post(
        hazard_url(hazard, "rectify"),
        {"note": "已整改", "evidence": [str(pending.pk)]},
        format="json",
    )

    assert {"note", "evidence"} <= set(errors_of(empty))
    assert "evidence" in errors_of(unconfirmed)
    hazard.refresh_from_db()
    assert hazard.status == Hazard.Status.OPEN


@pytest.mark.parametrize("who", ["inspector_a1", "manager_a", "reviewer", "admin"])
def test_only_the_firm_reports_rectification(cast, hazard, api_for, who):
    response = api_for(getattr(cast, who)).post(
        hazard_url(hazard, "rectify"), rectify_body(cast, hazard), format="json"
    )

    assert response.status_code == 403
    hazard.refresh_from_db()
    assert hazard.status == Hazard.Status.OPEN


def test_a_passed_reinspection_verifies_the_hazard(cast, rectified, api_for):
    photo = add_evidence(
        rectified, purpose=Evidence.Purpose.REINSPECTION, uploader=cast.inspector_a2
    )

    response = api_for(cast.inspector_a2).post(
        hazard_url(rectified, "reinspect"),
        {"passed": True, "note": "通道已清理", "evidence": [str(photo.pk)]},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "verified"
    assert response.json()["verified_at"]
    assert response.json()["reinspection_note"] == "通道已清理"


def test_a_failed_reinspection_reopens_the_hazard_with_a_new_deadline(cast, rectified, api_for):
    response = api_for(cast.inspector_a1).post(
        hazard_url(rectified, "reinspect"),
        {"passed": False, "note": "通道仍有杂物", "deadline": in_days(14)},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "open"
    assert response.json()["deadline"] == in_days(14)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"passed": False, "note": "通道仍有杂物"}, "deadline"),
        ({"passed": False, "note": "通道仍有杂物", "deadline": in_days(-1)}, "deadline"),
        ({"passed": False, "deadline": in_days(14)}, "note"),
        ({"note": "通道已清理"}, "passed"),
    ],
)
def test_a_reinspection_is_checked(cast, rectified, api_for, body, field):
    response = api_for(cast.inspector_a1).post(
        hazard_url(rectified, "reinspect"), body, format="json"
    )

    assert field in errors_of(response)
    rectified.refresh_from_db()
    assert rectified.status == Hazard.Status.RECTIFIED


@pytest.mark.parametrize("who", ["firm_user_a", "reviewer"])
def test_only_the_agency_reinspects(cast, rectified, api_for, who):
    response = api_for(getattr(cast, who)).post(
        hazard_url(rectified, "reinspect"), {"passed": True, "note": "好"}, format="json"
    )

    assert response.status_code == 403


def test_the_agency_holding_the_firm_now_reinspects(cast, rectified, api_for):
    assign(cast.contract_b, cast.firm_a)
    body = {"passed": True, "note": "已整改到位"}

    old_agency = api_for(cast.inspector_a1).post(
        hazard_url(rectified, "reinspect"), body, format="json"
    )
    new_agency = api_for(cast.inspector_b1).post(
        hazard_url(rectified, "reinspect"), body, format="json"
    )

    assert old_agency.status_code == 403
    assert "不由本机构负责" in old_agency.json()["detail"]
    assert new_agency.status_code == 200
    assert new_agency.json()["status"] == "verified"


@pytest.mark.parametrize(
    ("status", "action", "expected"),
    [
        ("open", "rectify", 200),
        ("overdue", "rectify", 200),
        ("rectified", "rectify", 409),
        ("verified", "rectify", 409),
        ("open", "reinspect", 409),
        ("overdue", "reinspect", 409),
        ("rectified", "reinspect", 200),
        ("verified", "reinspect", 409),
    ],
)
def test_every_hazard_transition_is_allowed_or_refused(
    cast, hazard, api_for, status, action, expected
):
    Hazard.objects.filter(pk=hazard.pk).update(status=status)
    if action == "rectify":
        response = api_for(cast.firm_user_a).post(
            hazard_url(hazard, action), rectify_body(cast, hazard), format="json"
        )
        after = "rectified"
    else:
        response = api_for(cast.inspector_a1).post(
            hazard_url(hazard, action), {"passed": True, "note": "好"}, format="json"
        )
        after = "verified"

    assert response.status_code == expected, response.content
    hazard.refresh_from_db()
    assert hazard.status == (after if expected == 200 else status)
    if expected == 409:
        assert response.json()["detail"]


def test_a_hazard_of_a_returned_inspection_stays_with_the_agency(cast, hazard, api_for):
    Inspection.objects.filter(pk=hazard.inspection_id).update(status=Inspection.Status.RETURNED)

    response = api_for(cast.inspector_a1).patch(
        hazard_url(hazard), {"location": "二号仓库"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["location"] == "二号仓库"
