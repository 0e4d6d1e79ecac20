"""The evidence API (issue 4): an upload slot, the upload straight to storage, the confirm
step that refuses what does not match, metadata and downloads, in S3 (moto) and local mode."""

import hashlib
import io

import pytest
import requests
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from contractors.checklists.services import do_install_default_checklist
from contractors.evidence.models import Evidence
from contractors.hazards.services import do_rectify_hazard
from contractors.inspections.services import do_submit_inspection
from contractors.register.models import Firm
from contractors.tenancy.services import do_assign_firms
from portal.models import AuditEvent
from tests.contractors.hazards.test_api_hazards import hazard_url, record
from tests.contractors.inspections.test_api_inspections import answer_all, start_inspection

UPLOADS_URL = "/api/v1/evidence/uploads/"


def evidence_url(evidence_id, action=""):
    return f"/api/v1/evidence/{evidence_id}/{action + '/' if action else ''}"


def jpeg_bytes(shade=0):
    """A small real JPEG; another `shade` gives another photo (another hash)."""
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, shade)).save(buffer, "JPEG")
    return buffer.getvalue()


def slot_body(content, *, inspection=None, hazard=None, **fields):
    body = {
        "filename": "现场照片.jpg",
        "content_type": "image/jpeg",
        "size": len(content),
        "sha256": hashlib.sha256(content).hexdigest(),
        **fields,
    }
    if inspection is not None:
        body["inspection"] = str(inspection.pk)
    if hazard is not None:
        body["hazard"] = str(hazard.pk)
    return body


def put_object(upload, content, content_type="image/jpeg"):
    """POST the file as a browser would: to S3 (moto) over HTTP, or to the app's local endpoint."""
    if upload["url"].startswith("http"):
        response = requests.post(
            upload["url"],
            data=upload["fields"],
            files={"file": ("upload", content, content_type)},
            timeout=10,
        )
        assert response.status_code < 300, response.text
        return
    response = Client().post(
        upload["url"],
        {**upload["fields"], "file": SimpleUploadedFile("upload", content, content_type)},
    )
    assert response.status_code < 300, response.content


def upload_evidence(api, content, **where):
    """Slot, upload and confirm; the confirm response."""
    slot = api.post(UPLOADS_URL, slot_body(content, **where), format="json")
    assert slot.status_code == 201, slot.content
    put_object(slot.json()["upload"], content)
    return api.post(evidence_url(slot.json()["id"], "confirm"))


@pytest.fixture(params=["local_storage", "s3"])
def storage(request):
    return request.getfixturevalue(request.param)


@pytest.fixture
def draft(cast):
    do_install_default_checklist(actor=None, bureau=cast.bureau)
    return start_inspection(cast)


@pytest.fixture
def open_hazard(cast, draft):
    hazard = record(cast, draft)
    answer_all(cast.inspector_a1, draft)
    do_submit_inspection(actor=cast.inspector_a1, inspection=draft)
    hazard.refresh_from_db()
    return hazard


def test_a_photo_goes_from_slot_to_storage_to_confirmed(cast, draft, storage, api_for):
    api = api_for(cast.inspector_a1)
    content = jpeg_bytes()

    slot = api.post(UPLOADS_URL, slot_body(content, inspection=draft), format="json")

    assert slot.status_code == 201, slot.content
    body = slot.json()
    assert set(body) >= {"id", "upload", "expires_at"}
    assert set(body["upload"]) == {"url", "fields"}
    put_object(body["upload"], content)
    confirmed = api.post(evidence_url(body["id"], "confirm"))
    assert confirmed.status_code == 200, confirmed.content
    assert confirmed.json()["id"] == body["id"]
    assert confirmed.json()["status"] == "confirmed"
    assert confirmed.json()["sha256"] == hashlib.sha256(content).hexdigest()
    assert confirmed.json()["size"] == len(content)
    metadata = api_for(cast.reviewer).get(evidence_url(body["id"]))
    assert metadata.status_code == 200
    assert metadata.json()["inspection"] == str(draft.pk)
    assert metadata.json()["filename"] == "现场照片.jpg"


def test_a_download_is_a_short_lived_redirect_with_an_audit_event(cast, draft, storage, api_for):
    content = jpeg_bytes()
    evidence_id = upload_evidence(api_for(cast.inspector_a1), content, inspection=draft).json()[
        "id"
    ]

    response = api_for(cast.reviewer).get(evidence_url(evidence_id, "download"))

    assert response.status_code == 302
    location = response["Location"]
    if location.startswith("http"):
        fetched = requests.get(location, timeout=10)
        assert fetched.status_code == 200
        assert fetched.content == content
        disposition = fetched.headers["Content-Disposition"]
    else:
        fetched = Client().get(location)
        assert fetched.status_code == 200
        assert b"".join(fetched.streaming_content) == content
        disposition = fetched["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert AuditEvent.objects.filter(
        action="evidence.downloaded", actor=cast.reviewer, target_id=evidence_id
    ).exists()


def test_a_file_that_does_not_match_its_hash_is_refused_and_left_nowhere(
    cast, draft, storage, api_for
):
    api = api_for(cast.inspector_a1)
    content = jpeg_bytes()
    slot = api.post(
        UPLOADS_URL, slot_body(content, inspection=draft, sha256="a" * 64), format="json"
    ).json()
    put_object(slot["upload"], content)

    response = api.post(evidence_url(slot["id"], "confirm"))

    assert response.status_code == 400
    assert response.json()["errors"]
    assert not Evidence.objects.filter(pk=slot["id"]).exists()
    assert api.get(evidence_url(slot["id"])).status_code == 404


def test_a_missing_object_is_refused(cast, draft, storage, api_for):
    api = api_for(cast.inspector_a1)
    slot = api.post(UPLOADS_URL, slot_body(jpeg_bytes(), inspection=draft), format="json").json()

    response = api.post(evidence_url(slot["id"], "confirm"))

    assert response.status_code == 400
    assert not Evidence.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"content_type": "application/x-msdownload", "filename": "a.exe"}, "content_type"),
        ({"size": 21 * 1024 * 1024}, "size"),
        ({"sha256": "not-a-hash"}, "sha256"),
    ],
)
def test_a_type_or_size_not_allowed_gets_no_slot(
    cast, draft, local_storage, api_for, change, field
):
    response = api_for(cast.inspector_a1).post(
        UPLOADS_URL, slot_body(jpeg_bytes(), inspection=draft, **change), format="json"
    )

    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not Evidence.objects.exists()


def test_a_slot_needs_an_inspection_or_a_hazard(cast, local_storage, api_for):
    response = api_for(cast.inspector_a1).post(UPLOADS_URL, slot_body(jpeg_bytes()), format="json")

    assert response.status_code == 400
    assert "inspection" in response.json()["errors"]


@pytest.mark.parametrize("who", ["manager_b", "inspector_b1", "firm_user_b", "outsider"])
def test_a_slot_for_another_tenants_inspection_is_404(cast, draft, local_storage, api_for, who):
    response = api_for(getattr(cast, who)).post(
        UPLOADS_URL, slot_body(jpeg_bytes(), inspection=draft), format="json"
    )

    assert response.status_code == 404
    assert not Evidence.objects.exists()


@pytest.mark.parametrize("who", ["admin", "reviewer"])
def test_the_bureau_adds_no_evidence(cast, draft, local_storage, api_for, who):
    response = api_for(getattr(cast, who)).post(
        UPLOADS_URL, slot_body(jpeg_bytes(), inspection=draft), format="json"
    )

    assert response.status_code == 403


def test_the_firm_uploads_rectification_evidence_for_its_hazard(
    cast, open_hazard, storage, api_for
):
    api = api_for(cast.firm_user_a)

    confirmed = upload_evidence(api, jpeg_bytes(), hazard=open_hazard, purpose="rectification")

    assert confirmed.status_code == 200, confirmed.content
    evidence = Evidence.objects.get(pk=confirmed.json()["id"])
    assert evidence.hazard == open_hazard
    assert evidence.purpose == Evidence.Purpose.RECTIFICATION
    other_firm = api_for(cast.firm_user_b).post(
        UPLOADS_URL,
        slot_body(jpeg_bytes(), hazard=open_hazard, purpose="rectification"),
        format="json",
    )
    assert other_firm.status_code == 404
    assert api_for(cast.firm_user_a).get(hazard_url(open_hazard)).status_code == 200


def test_only_the_uploader_confirms(cast, draft, local_storage, api_for):
    content = jpeg_bytes()
    slot = api_for(cast.inspector_a1).post(
        UPLOADS_URL, slot_body(content, inspection=draft), format="json"
    )
    put_object(slot.json()["upload"], content)

    response = api_for(cast.inspector_a2).post(evidence_url(slot.json()["id"], "confirm"))

    assert response.status_code == 404
    assert Evidence.objects.get().status == Evidence.Status.PENDING


@pytest.mark.parametrize("who", ["manager_b", "inspector_b1", "firm_user_b", "outsider"])
def test_other_tenants_get_404_for_metadata_and_downloads(cast, draft, local_storage, api_for, who):
    evidence_id = upload_evidence(
        api_for(cast.inspector_a1), jpeg_bytes(), inspection=draft
    ).json()["id"]
    api = api_for(getattr(cast, who))

    assert api.get(evidence_url(evidence_id)).status_code == 404
    assert api.get(evidence_url(evidence_id, "download")).status_code == 404
    assert api.post(evidence_url(evidence_id, "confirm")).status_code == 404
    assert not AuditEvent.objects.filter(action="evidence.downloaded").exists()


def test_anonymous_users_get_401(cast, draft, local_storage, api_for):
    evidence_id = upload_evidence(
        api_for(cast.inspector_a1), jpeg_bytes(), inspection=draft
    ).json()["id"]
    api = api_for(None)

    assert api.post(UPLOADS_URL, {}, format="json").status_code == 401
    assert api.get(evidence_url(evidence_id)).status_code == 401
    assert api.post(evidence_url(evidence_id, "confirm")).status_code == 401
    assert api.get(evidence_url(evidence_id, "download")).status_code == 401


@pytest.mark.parametrize(
    ("declared", "uploaded"),
    [
        ({"size": 10}, jpeg_bytes()),
        ({}, b"MZ\x90\x00" + b"\x00" * 400),
    ],
    ids=["declared-smaller-than-the-object", "executable-renamed-jpg"],
)
def test_an_object_other_than_declared_is_refused_and_left_nowhere(
    cast, draft, local_storage, api_for, declared, uploaded
):
    api = api_for(cast.inspector_a1)
    slot = api.post(
        UPLOADS_URL, slot_body(uploaded, inspection=draft, **declared), format="json"
    ).json()
    # The local endpoint enforces its policy itself; write the object as a lax S3 server would.
    (local_storage / Evidence.objects.get().key).parent.mkdir(parents=True, exist_ok=True)
    (local_storage / Evidence.objects.get().key).write_bytes(uploaded)

    response = api.post(evidence_url(slot["id"], "confirm"))

    assert response.status_code == 400
    assert not Evidence.objects.exists()
    assert not any(path.is_file() for path in local_storage.rglob("*"))


def test_asking_again_for_a_confirmed_file_gives_it_back_without_a_new_slot(
    cast, draft, local_storage, api_for
):
    api = api_for(cast.inspector_a1)
    content = jpeg_bytes()
    first = upload_evidence(api, content, inspection=draft).json()

    again = api.post(UPLOADS_URL, slot_body(content, inspection=draft), format="json")

    assert again.status_code == 200
    assert again.json()["id"] == first["id"]
    assert again.json()["status"] == "confirmed"
    assert again.json()["upload"] is None
    assert Evidence.objects.count() == 1


def test_the_agency_now_holding_the_firm_adds_reinspection_evidence(
    cast, open_hazard, local_storage, api_for
):
    firm_api = api_for(cast.firm_user_a)
    confirmed = upload_evidence(firm_api, jpeg_bytes(), hazard=open_hazard, purpose="rectification")
    do_rectify_hazard(
        actor=cast.firm_user_a,
        hazard=open_hazard,
        note="已整改",
        evidence=[Evidence.objects.get(pk=confirmed.json()["id"])],
    )
    do_assign_firms(
        actor=cast.admin, contract=cast.contract_b, firms=Firm.objects.filter(pk=cast.firm_a.pk)
    )

    new_agency = upload_evidence(
        api_for(cast.inspector_b1), jpeg_bytes(shade=9), hazard=open_hazard, purpose="reinspection"
    )
    assert new_agency.status_code == 200, new_agency.content
    old_agency = api_for(cast.inspector_a1).post(
        UPLOADS_URL,
        slot_body(jpeg_bytes(shade=5), hazard=open_hazard, purpose="reinspection"),
        format="json",
    )
    assert old_agency.status_code == 403
