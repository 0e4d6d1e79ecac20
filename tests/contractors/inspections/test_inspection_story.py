"""The inspection story of issue 4, end to end through the API as the cast lives it: the
agency inspects firm A with photos, submits, the firm rectifies with evidence, the agency
re-inspects, fails it once and then verifies it; firm B never sees any of it."""

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from contractors.checklists.services import do_install_default_checklist
from tests.contractors.evidence.test_api_evidence import (
    UPLOADS_URL,
    evidence_url,
    jpeg_bytes,
    put_object,
)
from tests.contractors.evidence.test_api_evidence import slot_body as evidence_slot_body

INSPECTIONS_URL = "/api/v1/inspections/"
HAZARDS_URL = "/api/v1/hazards/"
SHADES = itertools.count(10, 10)


def ok(response, status=200):
    assert response.status_code == status, response.content
    return response.json()


def add_evidence(api, *, purpose, inspection=None, hazard=None):
    """Ask for a slot, upload a new real photo to it and confirm it; the evidence id."""
    content = jpeg_bytes(shade=next(SHADES))
    where = {"inspection": inspection, "hazard": hazard}
    body = evidence_slot_body(content, purpose=purpose)
    body.update({key: value for key, value in where.items() if value})
    slot = ok(api.post(UPLOADS_URL, body, format="json"), 201)
    put_object(slot["upload"], content)
    confirmed = ok(api.post(evidence_url(slot["id"], "confirm")))
    assert confirmed["status"] == "confirmed"
    return slot["id"]


@pytest.fixture(params=["local_storage", "s3"])
def storage(request):
    return request.getfixturevalue(request.param)


def test_the_whole_inspection_story(cast, storage, api_for):
    do_install_default_checklist(actor=None, bureau=cast.bureau)
    inspector = api_for(cast.inspector_a1)
    firm = api_for(cast.firm_user_a)
    other_firm = api_for(cast.firm_user_b)
    today = timezone.localdate()

    # The inspector starts at the firm's door.
    inspection = ok(
        inspector.post(
            INSPECTIONS_URL,
            {
                "firm": str(cast.firm_a.pk),
                "kind": "campaign",
                "campaign": "有限空间专项整治",
                "inspected_on": today.isoformat(),
                "time_from": "09:00",
                "inspectors": [str(cast.inspector_a1.pk), str(cast.inspector_a2.pk)],
                "firm_representative": "张安全",
                "firm_representative_post": "安全主管",
                "latitude": 31.2384,
                "longitude": 121.4012,
            },
            format="json",
        ),
        201,
    )
    assert inspection["status"] == "draft"
    inspection_id = inspection["id"]
    url = f"{INSPECTIONS_URL}{inspection_id}/"
    assert firm.get(url).status_code == 404

    # One tap per item: the third one finds a hazard, pre-filled from the item.
    entries = inspection["checklist"]
    found = None
    for entry in entries:
        answer = "hazard" if entry["position"] == 3 else "pass"
        answered = ok(
            inspector.post(f"{url}answers/", {"item": entry["id"], "answer": answer}, format="json")
        )
        if answer == "hazard":
            found = answered["hazard"]
    assert found

    # A photo of what was found, and a hazard by hand fixed on the spot with its "after" photo.
    finding_photo = add_evidence(
        inspector, purpose="finding", inspection=inspection_id, hazard=found
    )
    on_spot = ok(
        inspector.post(
            f"{url}hazards/",
            {
                "category": "fire",
                "level": "general",
                "description": "灭火器压力不足",
                "location": "二号仓库",
                "deadline": (today + timedelta(days=3)).isoformat(),
                "rectified_on_spot": True,
            },
            format="json",
        ),
        201,
    )
    add_evidence(inspector, purpose="on_spot", inspection=inspection_id, hazard=on_spot["id"])
    ok(
        inspector.patch(
            f"{url}", {"time_to": "11:30", "place": "生产车间、二号仓库"}, format="json"
        )
    )

    # Submitted: read-only to everyone; the firm now sees it and its hazards.
    submitted = ok(inspector.post(f"{url}submit/"))
    assert submitted["status"] == "submitted"
    assert inspector.patch(url, {"place": "x"}, format="json").status_code == 409
    assert ok(firm.get(url))["status"] == "submitted"
    hazards = {row["id"]: row for row in ok(firm.get(HAZARDS_URL))["results"]}
    assert hazards[found]["status"] == "open"
    assert hazards[on_spot["id"]]["status"] == "verified"
    assert ok(other_firm.get(HAZARDS_URL))["results"] == []
    assert other_firm.get(f"{HAZARDS_URL}{found}/").status_code == 404
    assert ok(api_for(cast.reviewer).get(evidence_url(finding_photo)))["status"] == "confirmed"

    # The firm reports the rectification with a photo.
    hazard_url = f"{HAZARDS_URL}{found}/"
    assert firm.post(f"{hazard_url}reinspect/", {"passed": True}, format="json").status_code == 403
    first_fix = add_evidence(firm, purpose="rectification", hazard=found)
    rectified = ok(
        firm.post(
            f"{hazard_url}rectify/",
            {"note": "已更换防爆灯具", "evidence": [first_fix]},
            format="json",
        )
    )
    assert rectified["status"] == "rectified"

    # The agency re-inspects: not good enough yet, a new deadline.
    reopened = ok(
        inspector.post(
            f"{hazard_url}reinspect/",
            {
                "passed": False,
                "note": "部分灯具仍未更换",
                "deadline": (today + timedelta(days=10)).isoformat(),
            },
            format="json",
        )
    )
    assert reopened["status"] == "open"
    assert reopened["deadline"] == (today + timedelta(days=10)).isoformat()

    # Rectified again, and this time verified with the re-inspection's own photo.
    second_fix = add_evidence(firm, purpose="rectification", hazard=found)
    ok(
        firm.post(
            f"{hazard_url}rectify/",
            {"note": "灯具已全部更换", "evidence": [second_fix]},
            format="json",
        )
    )
    check_photo = add_evidence(api_for(cast.inspector_a2), purpose="reinspection", hazard=found)
    verified = ok(
        api_for(cast.inspector_a2).post(
            f"{hazard_url}reinspect/",
            {"passed": True, "note": "整改到位", "evidence": [check_photo]},
            format="json",
        )
    )
    assert verified["status"] == "verified"
    assert (
        firm.post(
            f"{hazard_url}rectify/", {"note": "再次整改", "evidence": [second_fix]}, format="json"
        ).status_code
        == 409
    )
    assert ok(firm.get(HAZARDS_URL, {"status": "verified"}))["count"] == 2
    assert ok(other_firm.get(INSPECTIONS_URL))["results"] == []
