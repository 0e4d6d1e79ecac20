"""The inspections API (issue 4): starting one, the checklist answers, editing while draft,
submitting, and who may see and do what."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contractors.checklists.services import do_copy_checklist_version, do_install_default_checklist
from contractors.hazards.models import Hazard
from contractors.inspections.models import ChecklistAnswer, Inspection
from contractors.inspections.services import (
    do_answer_item,
    do_return_inspection,
    do_start_inspection,
    do_submit_inspection,
)
from portal.models import AuditEvent
from tests.conftest import assign

INSPECTIONS_URL = "/api/v1/inspections/"
OTHER_TENANTS = ["manager_b", "inspector_b1", "firm_user_b", "outsider"]


def inspection_url(inspection, action=""):
    return f"{INSPECTIONS_URL}{inspection.pk}/{action + '/' if action else ''}"


def today():
    return timezone.localdate()


def start_body(cast, **fields):
    return {
        "firm": str(cast.firm_a.pk),
        "kind": "routine",
        "inspected_on": today().isoformat(),
        "inspectors": [str(cast.inspector_a1.pk), str(cast.inspector_a2.pk)],
        "firm_representative": "张安全",
        "firm_representative_post": "安全主管",
        "firm_representative_phone": "13800000000",
        "place": "一号车间",
        **fields,
    }


def start_inspection(cast, side="a"):
    """A draft routine inspection today of firm A by agency A's two inspectors (side "b": of
    firm B by agency B's)."""
    inspectors = [getattr(cast, f"inspector_{side}1"), getattr(cast, f"inspector_{side}2")]
    return do_start_inspection(
        actor=inspectors[0],
        firm=getattr(cast, f"firm_{side}"),
        kind=Inspection.Kind.ROUTINE,
        inspected_on=today(),
        inspectors=inspectors,
        firm_representative="张安全",
    )


def answer_all(actor, inspection, answer=ChecklistAnswer.Answer.PASS):
    for item in inspection.checklist.items.all():
        do_answer_item(actor=actor, inspection=inspection, item=item, answer=answer)


def submit(cast, inspection):
    answer_all(cast.inspector_a1, inspection)
    return do_submit_inspection(actor=cast.inspector_a1, inspection=inspection)


@pytest.fixture
def checklist(cast):
    return do_install_default_checklist(actor=None, bureau=cast.bureau)


@pytest.fixture
def draft(cast, checklist):
    return start_inspection(cast)


@pytest.fixture
def submitted(cast, draft):
    return submit(cast, draft)


def errors_of(response):
    assert response.status_code == 400, response.content
    return response.json()["errors"]


# --- Starting ------------------------------------------------------------------------------------


def test_an_inspector_of_the_firms_agency_starts_a_draft_with_the_checklist(
    cast, checklist, api_for
):
    response = api_for(cast.inspector_a1).post(
        INSPECTIONS_URL,
        start_body(cast, latitude=31.2384567891, longitude=121.4012345, time_from="09:30"),
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "draft"
    assert body["firm"] == str(cast.firm_a.pk)
    assert body["agency"] == str(cast.agency_a.pk)
    assert body["checklist_version"] == checklist.version
    assert set(body["inspectors"]) == {str(cast.inspector_a1.pk), str(cast.inspector_a2.pk)}
    assert body["latitude"] == pytest.approx(31.238457)
    assert body["time_from"] == "09:30:00"
    entries = body["checklist"]
    assert len(entries) == checklist.items.count()
    assert [entry["position"] for entry in entries] == sorted(e["position"] for e in entries)
    first = checklist.items.get(position=1)
    assert entries[0] == {
        "id": str(first.pk),
        "position": 1,
        "category": first.category,
        "text": first.text,
        "legal_basis": first.legal_basis,
        "requirement": first.requirement,
        "answer": None,
        "note": None,
        "hazard": None,
    }
    assert body["hazards"] == []
    assert AuditEvent.objects.filter(action="inspection.started", target_id=body["id"]).exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"inspectors": ["a1"]}, "inspectors"),
        ({"inspectors": ["a1", "b1"]}, "inspectors"),
        ({"time_from": "10:00", "time_to": "09:00"}, "time_to"),
        ({"kind": "raid"}, "kind"),
        ({"firm_representative": ""}, "firm_representative"),
        ({"latitude": 123.0}, "latitude"),
        ({"kind": "campaign"}, "campaign"),
    ],
)
def test_bad_input_is_refused_on_its_field_and_nothing_is_saved(
    cast, checklist, api_for, change, field
):
    people = {"a1": cast.inspector_a1, "b1": cast.inspector_b1}
    if "inspectors" in change:
        change = {"inspectors": [str(people[name].pk) for name in change["inspectors"]]}

    response = api_for(cast.inspector_a1).post(
        INSPECTIONS_URL, start_body(cast, **change), format="json"
    )

    assert field in errors_of(response)
    assert not Inspection.objects.exists()


def test_a_firm_the_agency_does_not_hold_is_refused_on_the_firm_field(cast, checklist, api_for):
    response = api_for(cast.inspector_a1).post(
        INSPECTIONS_URL, start_body(cast, firm=str(cast.firm_b.pk)), format="json"
    )

    assert "firm" in errors_of(response)
    assert not Inspection.objects.exists()


@pytest.mark.parametrize("who", ["admin", "reviewer", "firm_user_a"])
def test_only_agency_staff_start_inspections(cast, checklist, api_for, who):
    response = api_for(getattr(cast, who)).post(INSPECTIONS_URL, start_body(cast), format="json")

    assert response.status_code == 403
    assert response.json()["detail"]
    assert not Inspection.objects.exists()


def test_anonymous_users_get_401_everywhere(cast, draft, api_for):
    api = api_for(None)
    for method, url in [
        ("get", INSPECTIONS_URL),
        ("post", INSPECTIONS_URL),
        ("get", inspection_url(draft)),
        ("patch", inspection_url(draft)),
        ("post", inspection_url(draft, "answers")),
        ("post", inspection_url(draft, "hazards")),
        ("post", inspection_url(draft, "submit")),
    ]:
        response = getattr(api, method)(url, {}, format="json")
        assert response.status_code == 401, (method, url)


# --- Seeing --------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["admin", "reviewer", "manager_a", "inspector_a1"])
def test_the_bureau_and_the_agency_see_a_draft(cast, draft, api_for, who):
    response = api_for(getattr(cast, who)).get(inspection_url(draft))

    assert response.status_code == 200
    assert response.json()["id"] == str(draft.pk)


@pytest.mark.parametrize("who", [*OTHER_TENANTS, "firm_user_a"])
def test_other_tenants_and_the_firm_get_404_for_a_draft(cast, draft, api_for, who):
    api = api_for(getattr(cast, who))

    assert api.get(inspection_url(draft)).status_code == 404
    assert api.patch(inspection_url(draft), {"place": "x"}, format="json").status_code == 404
    assert api.post(inspection_url(draft, "submit")).status_code == 404


def test_the_firm_sees_its_inspection_once_submitted(cast, submitted, api_for):
    response = api_for(cast.firm_user_a).get(inspection_url(submitted))

    assert response.status_code == 200
    assert response.json()["status"] == "submitted"
    assert api_for(cast.firm_user_b).get(inspection_url(submitted)).status_code == 404


def test_lists_are_scoped_and_filtered(cast, checklist, api_for):
    own_draft = start_inspection(cast)
    own_submitted = submit(cast, start_inspection(cast))
    other = start_inspection(cast, "b")

    def listed(user, **filters):
        response = api_for(user).get(INSPECTIONS_URL, filters)
        assert response.status_code == 200
        return {row["id"] for row in response.json()["results"]}

    everything = {str(own_draft.pk), str(own_submitted.pk), str(other.pk)}
    assert listed(cast.reviewer) == everything
    assert listed(cast.inspector_a1) == {str(own_draft.pk), str(own_submitted.pk)}
    assert listed(cast.inspector_b1) == {str(other.pk)}
    assert listed(cast.firm_user_a) == {str(own_submitted.pk)}
    assert listed(cast.firm_user_b) == set()
    assert listed(cast.outsider) == set()
    assert listed(cast.reviewer, status="draft") == {str(own_draft.pk), str(other.pk)}
    assert listed(cast.reviewer, firm=str(cast.firm_b.pk)) == {str(other.pk)}
    assert listed(cast.reviewer, agency=str(cast.agency_a.pk)) == everything - {str(other.pk)}
    assert "status" in errors_of(api_for(cast.reviewer).get(INSPECTIONS_URL, {"status": "lost"}))


def test_the_list_takes_the_same_number_of_queries_for_one_or_many(cast, checklist, api_for):
    api = api_for(cast.reviewer)
    start_inspection(cast)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert api.get(INSPECTIONS_URL).status_code == 200
        return len(captured)

    one = queries()
    for _ in range(4):
        start_inspection(cast)
        start_inspection(cast, "b")

    assert queries() == one


# --- Editing -------------------------------------------------------------------------------------


def test_the_agency_edits_its_draft(cast, draft, api_for):
    response = api_for(cast.manager_a).patch(
        inspection_url(draft),
        {
            "place": "二号仓库",
            "inspectors": [str(cast.inspector_a2.pk), str(cast.manager_a.pk)],
            "time_from": "09:00",
            "time_to": "10:30",
        },
        format="json",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["place"] == "二号仓库"
    assert set(body["inspectors"]) == {str(cast.inspector_a2.pk), str(cast.manager_a.pk)}
    draft.refresh_from_db()
    assert draft.place == "二号仓库"
    assert draft.firm_representative == "张安全"


def test_an_edit_with_times_out_of_order_is_refused_and_nothing_changes(cast, draft, api_for):
    response = api_for(cast.inspector_a1).patch(
        inspection_url(draft),
        {"place": "二号仓库", "time_from": "11:00", "time_to": "10:00"},
        format="json",
    )

    assert "time_to" in errors_of(response)
    draft.refresh_from_db()
    assert draft.place == ""


@pytest.mark.parametrize("sent", ["07:50:41.9Z", "07:50+08:00"])
def test_a_time_of_day_with_an_offset_is_refused_not_stored_without_it(cast, draft, api_for, sent):
    """Found by the fuzzed API (ASVS 5.0 V2.2.1: input is validated against what is expected):
    the offset used to be dropped, and the stored time answered outside the schema."""
    response = api_for(cast.inspector_a1).patch(
        inspection_url(draft), {"time_to": sent}, format="json"
    )

    assert "time_to" in errors_of(response)
    draft.refresh_from_db()
    assert draft.time_to is None


def test_the_schema_describes_times_of_day_as_they_are_answered(cast, draft, api_for):
    """`format: time` would mean RFC 3339 with an offset; the API answers `HH:MM:SS`."""
    schema = api_for(None).get("/api/schema/", {"format": "json"}).json()
    field = schema["components"]["schemas"]["InspectionDetail"]["properties"]["time_from"]
    pattern = next(option for option in field.get("anyOf", [field]) if "pattern" in option)
    response = api_for(cast.inspector_a1).patch(
        inspection_url(draft), {"time_from": "07:05:09.25"}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["time_from"] == "07:05:09.250000"
    assert re.fullmatch(pattern["pattern"].strip("^$"), response.json()["time_from"])
    assert "format" not in pattern


@pytest.mark.parametrize("who", ["admin", "reviewer"])
def test_the_bureau_sees_but_does_not_edit(cast, draft, api_for, who):
    response = api_for(getattr(cast, who)).patch(
        inspection_url(draft), {"place": "二号仓库"}, format="json"
    )

    assert response.status_code == 403


def test_a_submitted_inspection_is_read_only(cast, submitted, api_for):
    agency = api_for(cast.inspector_a1)
    item = submitted.checklist.items.first()

    edit = agency.patch(inspection_url(submitted), {"place": "二号仓库"}, format="json")
    answer = agency.post(
        inspection_url(submitted, "answers"), {"item": str(item.pk), "answer": "pass"}
    )

    assert edit.status_code == 409
    assert edit.json()["detail"]
    assert answer.status_code == 409
    firm_edit = api_for(cast.firm_user_a).patch(
        inspection_url(submitted), {"place": "二号仓库"}, format="json"
    )
    assert firm_edit.status_code == 403


def test_a_returned_inspection_is_editable_again(cast, submitted, api_for):
    do_return_inspection(actor=cast.reviewer, inspection=submitted, reason="照片不清晰")

    response = api_for(cast.inspector_a1).patch(
        inspection_url(submitted), {"place": "二号仓库"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["status"] == "returned"
    assert response.json()["return_reason"] == "照片不清晰"


def test_after_the_firm_moves_the_old_agency_keeps_its_draft_but_may_not_work_on_it(
    cast, draft, api_for
):
    assign(cast.contract_b, cast.firm_a)
    agency_a = api_for(cast.inspector_a1)

    assert agency_a.get(inspection_url(draft)).status_code == 200
    assert str(draft.pk) in {row["id"] for row in agency_a.get(INSPECTIONS_URL).json()["results"]}
    response = agency_a.patch(inspection_url(draft), {"place": "二号仓库"}, format="json")
    assert response.status_code == 403
    assert "不由本机构负责" in response.json()["detail"]
    assert agency_a.post(inspection_url(draft, "submit")).status_code == 403
    assert api_for(cast.inspector_b1).get(inspection_url(draft)).status_code == 404
    started = agency_a.post(INSPECTIONS_URL, start_body(cast), format="json")
    assert "firm" in errors_of(started)


# --- Answers -------------------------------------------------------------------------------------


def test_answering_an_item(cast, draft, api_for):
    item = draft.checklist.items.get(position=2)

    response = api_for(cast.inspector_a2).post(
        inspection_url(draft, "answers"),
        {"item": str(item.pk), "answer": "not_applicable", "note": "无此设备"},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert response.json() == {
        "id": str(item.pk),
        "position": 2,
        "category": item.category,
        "text": item.text,
        "legal_basis": item.legal_basis,
        "requirement": item.requirement,
        "answer": "not_applicable",
        "note": "无此设备",
        "hazard": None,
    }
    entries = api_for(cast.reviewer).get(inspection_url(draft)).json()["checklist"]
    assert entries[1]["answer"] == "not_applicable"


def test_a_hazard_answer_records_a_hazard_prefilled_from_the_item(cast, draft, api_for):
    item = draft.checklist.items.get(position=3)
    api = api_for(cast.inspector_a1)

    response = api.post(
        inspection_url(draft, "answers"), {"item": str(item.pk), "answer": "hazard"}, format="json"
    )

    assert response.status_code == 200
    hazard_id = response.json()["hazard"]
    hazards = api.get(inspection_url(draft)).json()["hazards"]
    assert [hazard["id"] for hazard in hazards] == [hazard_id]
    assert hazards[0]["status"] == "open"
    assert hazards[0]["item"] == str(item.pk)
    assert hazards[0]["category"] == item.category
    assert hazards[0]["legal_basis"] == item.legal_basis
    assert hazards[0]["requirement"] == item.requirement
    assert hazards[0]["level"] == "general"
    assert hazards[0]["deadline"] == (today() + timedelta(days=30)).isoformat()

    api.post(
        inspection_url(draft, "answers"), {"item": str(item.pk), "answer": "pass"}, format="json"
    )
    assert not Hazard.objects.exists()


def test_answers_are_checked(cast, draft, checklist, api_for):
    api = api_for(cast.inspector_a1)
    item = draft.checklist.items.first()

    unknown_answer = api.post(
        inspection_url(draft, "answers"), {"item": str(item.pk), "answer": "maybe"}, format="json"
    )
    unknown_item = api.post(
        inspection_url(draft, "answers"),
        {"item": str(draft.pk), "answer": "pass"},
        format="json",
    )

    assert "answer" in errors_of(unknown_answer)
    assert "item" in errors_of(unknown_item)
    assert not ChecklistAnswer.objects.exists()


def test_an_item_of_a_newer_checklist_version_is_not_one_of_the_inspections(cast, draft, api_for):
    newer = do_copy_checklist_version(actor=None, checklist=draft.checklist)
    item = newer.items.first()

    response = api_for(cast.inspector_a1).post(
        inspection_url(draft, "answers"), {"item": str(item.pk), "answer": "pass"}, format="json"
    )

    assert "item" in errors_of(response)


@pytest.mark.parametrize("who", ["reviewer", "manager_b", "firm_user_a"])
def test_only_the_agency_answers(cast, draft, api_for, who):
    item = draft.checklist.items.first()

    response = api_for(getattr(cast, who)).post(
        inspection_url(draft, "answers"), {"item": str(item.pk), "answer": "pass"}, format="json"
    )

    assert response.status_code == {"reviewer": 403}.get(who, 404)
    assert not ChecklistAnswer.objects.exists()


# --- Submitting ----------------------------------------------------------------------------------


def test_submitting_needs_every_item_answered(cast, draft, api_for):
    response = api_for(cast.inspector_a1).post(inspection_url(draft, "submit"))

    assert "answers" in errors_of(response)
    draft.refresh_from_db()
    assert draft.status == Inspection.Status.DRAFT


def test_the_agency_submits_once(cast, draft, api_for):
    answer_all(cast.inspector_a1, draft)
    api = api_for(cast.inspector_a2)

    response = api.post(inspection_url(draft, "submit"))

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "submitted"
    assert body["submitted_at"]
    # Without hazards only the inspection record is drafted.
    assert body["documents"] == [str(document.pk) for document in draft.documents.all()]
    assert len(body["documents"]) == 1
    again = api.post(inspection_url(draft, "submit"))
    assert again.status_code == 409
    assert again.json()["detail"]


@pytest.mark.parametrize("who", ["admin", "reviewer"])
def test_the_bureau_does_not_submit(cast, draft, api_for, who):
    answer_all(cast.inspector_a1, draft)

    assert api_for(getattr(cast, who)).post(inspection_url(draft, "submit")).status_code == 403
    draft.refresh_from_db()
    assert draft.status == Inspection.Status.DRAFT


def test_the_firm_does_not_submit(cast, submitted, api_for):
    do_return_inspection(actor=cast.reviewer, inspection=submitted, reason="请补充照片")

    response = api_for(cast.firm_user_a).post(inspection_url(submitted, "submit"))

    assert response.status_code == 403
    submitted.refresh_from_db()
    assert submitted.status == Inspection.Status.RETURNED


@pytest.mark.parametrize(
    ("state", "expected"),
    [("draft", 200), ("returned", 200), ("submitted", 409), ("accepted", 409)],
)
def test_submit_from_every_state(cast, draft, api_for, state, expected):
    answer_all(cast.inspector_a1, draft)
    Inspection.objects.filter(pk=draft.pk).update(status=state)

    response = api_for(cast.inspector_a1).post(inspection_url(draft, "submit"))

    assert response.status_code == expected
    draft.refresh_from_db()
    assert draft.status == ("submitted" if expected == 200 else state)
