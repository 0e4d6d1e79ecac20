"""Who may add, confirm, see and download evidence (issue 4): the agency holding the firm on its
editable inspection and for re-inspections, the firm for its own rectification; anyone who
cannot see the place gets 404, anyone who sees it without the right 403."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import timezone

from contractors.evidence.models import Evidence
from contractors.evidence.selectors import access_evidence_by_id, evidence_visible_to
from contractors.evidence.services import do_confirm_evidence, do_issue_evidence_download
from contractors.hazards.models import Hazard
from contractors.inspections.models import Inspection
from portal.models import AuditEvent
from portal.validation import InvalidTransition
from tests.conftest import assign
from tests.contractors.evidence.test_evidence import (
    make_hazard,
    make_inspection,
    photo,
    request_slot,
    upload_and_confirm,
)

SUBMITTED = Inspection.Status.SUBMITTED
RECTIFICATION = Evidence.Purpose.RECTIFICATION
REINSPECTION = Evidence.Purpose.REINSPECTION


@pytest.fixture(autouse=True)
def storage(local_storage):
    return local_storage


@pytest.fixture
def draft(cast):
    return make_inspection(cast)


@pytest.fixture
def submitted(cast):
    return make_inspection(cast, status=SUBMITTED)


@pytest.mark.parametrize("who", ["inspector_a1", "inspector_a2", "manager_a"])
def test_the_holding_agencys_staff_add_findings_to_its_draft(cast, draft, who):
    evidence, upload = request_slot(getattr(cast, who), draft, photo())

    assert evidence.uploaded_by == getattr(cast, who)
    assert upload["fields"]["key"] == evidence.key


@pytest.mark.parametrize(
    "who", ["manager_b", "inspector_b1", "firm_user_a", "firm_user_b", "outsider"]
)
def test_who_cannot_see_the_inspection_gets_404_for_a_slot(cast, draft, who):
    with pytest.raises(Http404):
        request_slot(getattr(cast, who), draft, photo())

    assert not Evidence.objects.exists()


@pytest.mark.parametrize("who", ["admin", "reviewer"])
def test_the_bureau_sees_the_inspection_but_adds_no_evidence(cast, draft, who):
    with pytest.raises(PermissionDenied):
        request_slot(getattr(cast, who), draft, photo())

    assert not Evidence.objects.exists()


def test_an_agency_that_no_longer_holds_the_firm_adds_nothing(cast, draft):
    assign(cast.contract_b, cast.firm_a)

    with pytest.raises(PermissionDenied):
        request_slot(cast.inspector_a1, draft, photo())


def test_a_submitted_inspection_takes_no_more_findings(cast, submitted):
    with pytest.raises(InvalidTransition):
        request_slot(cast.inspector_a1, submitted, photo())


def test_an_on_the_spot_photo_belongs_to_a_hazard(cast, draft):
    with pytest.raises(ValidationError) as error:
        request_slot(cast.inspector_a1, draft, photo(), purpose=Evidence.Purpose.ON_SPOT)

    assert "hazard" in error.value.message_dict


def test_a_hazard_of_another_inspection_is_refused(cast, draft, submitted):
    other = make_hazard(submitted)

    with pytest.raises(ValidationError) as error:
        request_slot(cast.inspector_a1, draft, photo(), hazard=other)

    assert "hazard" in error.value.message_dict


@pytest.mark.parametrize("status", [Hazard.Status.OPEN, Hazard.Status.OVERDUE])
def test_the_firm_adds_rectification_material_to_its_hazard(cast, submitted, status):
    hazard = make_hazard(submitted, status=status)

    evidence = upload_and_confirm(
        cast.firm_user_a, submitted, photo(), hazard=hazard, purpose=RECTIFICATION
    )

    assert (evidence.hazard, evidence.purpose) == (hazard, RECTIFICATION)
    assert evidence.status == Evidence.Status.CONFIRMED


@pytest.mark.parametrize(
    ("who", "refusal"),
    [
        ("firm_user_b", Http404),
        ("outsider", Http404),
        ("inspector_a1", PermissionDenied),
        ("reviewer", PermissionDenied),
    ],
)
def test_only_the_firm_adds_rectification_material(cast, submitted, who, refusal):
    hazard = make_hazard(submitted)

    with pytest.raises(refusal):
        request_slot(getattr(cast, who), submitted, photo(), hazard=hazard, purpose=RECTIFICATION)


@pytest.mark.parametrize("status", [Hazard.Status.RECTIFIED, Hazard.Status.VERIFIED])
def test_a_hazard_not_awaiting_rectification_takes_no_rectification_material(
    cast, submitted, status
):
    hazard = make_hazard(submitted, status=status)

    with pytest.raises(InvalidTransition):
        request_slot(cast.firm_user_a, submitted, photo(), hazard=hazard, purpose=RECTIFICATION)


def test_the_firm_cannot_add_to_a_draft_it_cannot_see(cast, draft):
    hazard = make_hazard(draft)

    with pytest.raises(Http404):
        request_slot(cast.firm_user_a, draft, photo(), hazard=hazard, purpose=RECTIFICATION)


def test_the_agency_holding_the_firm_now_adds_reinspection_material(cast, submitted):
    hazard = make_hazard(submitted, status=Hazard.Status.RECTIFIED)
    assign(cast.contract_b, cast.firm_a)

    evidence, _ = request_slot(
        cast.inspector_b1, submitted, photo(), hazard=hazard, purpose=REINSPECTION
    )

    assert evidence.purpose == REINSPECTION
    with pytest.raises(PermissionDenied):
        request_slot(cast.inspector_a1, submitted, photo(), hazard=hazard, purpose=REINSPECTION)


def test_reinspection_material_is_for_a_rectified_hazard_and_the_agency(cast, submitted):
    hazard = make_hazard(submitted)

    with pytest.raises(InvalidTransition):
        request_slot(cast.inspector_a1, submitted, photo(), hazard=hazard, purpose=REINSPECTION)
    hazard.status = Hazard.Status.RECTIFIED
    hazard.save()
    with pytest.raises(PermissionDenied):
        request_slot(cast.firm_user_a, submitted, photo(), hazard=hazard, purpose=REINSPECTION)


def test_only_the_uploader_confirms(cast, draft):
    evidence, _ = request_slot(cast.inspector_a1, draft, photo())

    with pytest.raises(Http404):
        do_confirm_evidence(actor=cast.inspector_a2, evidence=evidence)

    assert Evidence.objects.get().status == Evidence.Status.PENDING


def test_a_pending_upload_is_seen_by_its_uploader_only(cast, draft):
    evidence, _ = request_slot(cast.inspector_a1, draft, photo())

    assert access_evidence_by_id(cast.inspector_a1, evidence.pk) == evidence
    for who in ["inspector_a2", "reviewer", "manager_a"]:
        with pytest.raises(Http404):
            access_evidence_by_id(getattr(cast, who), evidence.pk)


@pytest.mark.parametrize("who", ["manager_b", "inspector_b1", "firm_user_b", "outsider"])
def test_the_other_agency_and_another_firm_get_404_and_no_download(cast, submitted, who):
    evidence = _confirmed_on(cast, submitted)

    with pytest.raises(Http404):
        access_evidence_by_id(getattr(cast, who), evidence.pk)

    assert not evidence_visible_to(getattr(cast, who)).exists()
    assert not AuditEvent.objects.filter(action="evidence.downloaded").exists()


@pytest.mark.parametrize("who", ["admin", "reviewer", "inspector_a2", "firm_user_a"])
def test_the_bureau_the_agency_and_the_firm_see_submitted_evidence(cast, submitted, who):
    evidence = _confirmed_on(cast, submitted)

    assert access_evidence_by_id(getattr(cast, who), evidence.pk) == evidence


def test_the_firm_never_sees_the_evidence_of_a_draft(cast, draft):
    evidence = upload_and_confirm(cast.inspector_a1, draft, photo())

    with pytest.raises(Http404):
        access_evidence_by_id(cast.firm_user_a, evidence.pk)


def test_the_agency_now_holding_the_firm_sees_the_hazards_evidence(cast, submitted):
    hazard = make_hazard(submitted)
    on_hazard = _confirmed_on(cast, submitted, hazard=hazard)
    on_inspection = _confirmed_on(cast, submitted)
    assign(cast.contract_b, cast.firm_a)

    assert list(evidence_visible_to(cast.inspector_b1)) == [on_hazard]
    assert set(evidence_visible_to(cast.inspector_a1)) == {on_hazard, on_inspection}


def test_a_pending_upload_or_a_missing_thumbnail_is_not_downloadable(cast, draft):
    pending, _ = request_slot(cast.inspector_a1, draft, photo())
    document = upload_and_confirm(
        cast.inspector_a1,
        draft,
        b"%PDF-1.4\n%%EOF\n",
        filename="a.pdf",
        content_type="application/pdf",
    )

    with pytest.raises(Http404):
        do_issue_evidence_download(actor=cast.inspector_a1, evidence=pending)
    with pytest.raises(Http404):
        do_issue_evidence_download(actor=cast.inspector_a1, evidence=document, thumbnail=True)
    assert not AuditEvent.objects.filter(action="evidence.downloaded").exists()


def _confirmed_on(cast, inspection, *, hazard=None):
    """Confirmed evidence on an inspection of any state, as it stands once uploaded in time."""
    return Evidence.objects.create(
        bureau=cast.bureau,
        inspection=inspection,
        hazard=hazard,
        key=f"bureau/{cast.bureau.pk}/agency/{cast.agency_a.pk}/inspection/{inspection.pk}/"
        f"{Evidence.objects.count()}.jpg",
        filename="现场照片.jpg",
        content_type="image/jpeg",
        size=4,
        sha256="0" * 64,
        status=Evidence.Status.CONFIRMED,
        uploaded_by=cast.inspector_a1,
        expires_at=timezone.now(),
        confirmed_at=timezone.now(),
    )
