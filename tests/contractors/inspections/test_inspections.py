"""Inspections (issue 4): starting one, the bad input refused field by field, the checklist
answers, the states draft -> submitted -> returned / accepted, and who sees what, also after
the firm moves to another agency."""

import uuid
from datetime import time, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contractors.checklists.models import Checklist
from contractors.checklists.services import do_install_default_checklist
from contractors.evidence.models import Evidence
from contractors.hazards.models import Hazard, HazardCategory, HazardLevel
from contractors.hazards.services import do_record_hazard
from contractors.inspections.models import ChecklistAnswer, Inspection
from contractors.inspections.selectors import (
    access_inspection_by_id,
    checklist_with_answers,
    inspections_visible_to,
    with_last_inspection,
)
from contractors.inspections.services import (
    do_accept_inspection,
    do_answer_item,
    do_return_inspection,
    do_start_inspection,
    do_submit_inspection,
    do_update_inspection,
)
from contractors.register.models import Firm
from portal.models import AuditEvent
from portal.validation import InvalidTransition
from tests.conftest import assign

PASS = ChecklistAnswer.Answer.PASS
HAZARD = ChecklistAnswer.Answer.HAZARD


@pytest.fixture
def checklist(cast):
    return do_install_default_checklist(actor=None, bureau=cast.bureau)


def start_inspection(cast, *, actor=None, firm=None, **fields):
    """A draft routine inspection of firm A today by agency A's two inspectors."""
    actor = actor or cast.inspector_a1
    values = {
        "kind": Inspection.Kind.ROUTINE,
        "inspected_on": timezone.localdate(),
        "inspectors": [cast.inspector_a1, cast.inspector_a2],
        "firm_representative": "张安全",
        "firm_representative_post": "安全主管",
        "firm_representative_phone": "13800000000",
        "place": "一号车间",
        **fields,
    }
    return do_start_inspection(actor=actor, firm=firm or cast.firm_a, **values)


def answer_all(actor, inspection, answer=PASS):
    for item in inspection.checklist.items.all():
        do_answer_item(actor=actor, inspection=inspection, item=item, answer=answer)


def submitted_inspection(cast):
    inspection = start_inspection(cast)
    answer_all(cast.inspector_a1, inspection)
    return do_submit_inspection(actor=cast.inspector_a1, inspection=inspection)


def add_evidence(inspection, *, hazard, purpose, uploader, content_type="image/jpeg", **fields):
    """An uploaded file as the evidence services leave it once confirmed."""
    return Evidence.objects.create(
        bureau=inspection.bureau,
        inspection=inspection,
        hazard=hazard,
        purpose=purpose,
        status=fields.pop("status", Evidence.Status.CONFIRMED),
        key=f"bureau/{inspection.bureau_id}/evidence/{uuid.uuid4()}.jpg",
        filename="现场.jpg",
        content_type=content_type,
        size=1024,
        sha256="0" * 64,
        uploaded_by=uploader,
        expires_at=timezone.now() + timedelta(minutes=15),
        **fields,
    )


def field_errors(failure):
    return failure.value.message_dict


# --- Starting an inspection --------------------------------------------------------------------


def test_an_inspector_of_the_firms_agency_starts_a_draft_on_the_current_checklist(cast, checklist):
    inspection = start_inspection(
        cast,
        time_from=time(9, 30),
        time_to=time(11, 0),
        latitude=31.2384567891,
        longitude="121.4012345",
    )

    assert inspection.status == Inspection.Status.DRAFT
    assert inspection.is_editable
    assert inspection.agency == cast.agency_a
    assert inspection.contract == cast.contract_a
    assert inspection.checklist == checklist
    assert inspection.bureau == cast.bureau
    assert set(inspection.inspectors.all()) == {cast.inspector_a1, cast.inspector_a2}
    inspection.refresh_from_db()
    assert str(inspection.latitude) == "31.238457"
    assert str(inspection.longitude) == "121.401235"
    event = AuditEvent.objects.get(action="inspection.started")
    assert event.actor == cast.inspector_a1
    assert event.target_id == str(inspection.pk)
    assert event.detail["checklist_version"] == 1


def test_the_agency_manager_may_start_one_and_be_one_of_the_inspectors(cast, checklist):
    inspection = start_inspection(
        cast, actor=cast.manager_a, inspectors=[cast.manager_a.pk, cast.inspector_a2.pk]
    )

    assert set(inspection.inspectors.all()) == {cast.manager_a, cast.inspector_a2}


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"inspectors": ["inspector_a1"]}, "inspectors", "不得少于两人"),
        ({"inspectors": ["inspector_a1", "inspector_a1"]}, "inspectors", "不得少于两人"),
        ({"inspectors": ["inspector_a1", "inspector_b1"]}, "inspectors", "本机构"),
        ({"inspectors": ["inspector_a1", "firm_user_a"]}, "inspectors", "本机构"),
        ({"inspectors": ["inspector_a1", "reviewer"]}, "inspectors", "本机构"),
        ({"time_from": time(10, 0), "time_to": time(9, 59)}, "time_to", "不能早于开始时间"),
        ({"inspected_on": "tomorrow"}, "inspected_on", "不能晚于今天"),
        ({"kind": "inspection"}, "kind", "未知的检查类型"),
        ({"kind": ""}, "kind", "请选择检查类型"),
        ({"kind": Inspection.Kind.CAMPAIGN}, "campaign", "专项整治名称"),
        ({"firm_representative": "  "}, "firm_representative", "企业在场人员"),
        ({"latitude": 91}, "latitude", "超出范围"),
        ({"longitude": "东经121度"}, "longitude", "格式不正确"),
    ],
)
def test_bad_input_is_refused_on_its_field_and_nothing_is_saved(
    cast, checklist, fields, field, message
):
    if "inspectors" in fields:
        fields["inspectors"] = [getattr(cast, name) for name in fields["inspectors"]]
    if fields.get("inspected_on") == "tomorrow":
        fields["inspected_on"] = timezone.localdate() + timedelta(days=1)

    with pytest.raises(ValidationError) as failure:
        start_inspection(cast, **fields)

    assert message in " ".join(field_errors(failure)[field])
    assert not Inspection.objects.exists()
    assert not AuditEvent.objects.filter(action="inspection.started").exists()


def test_several_bad_fields_are_reported_together(cast, checklist):
    with pytest.raises(ValidationError) as failure:
        start_inspection(
            cast,
            inspectors=[cast.inspector_a1],
            time_from=time(15, 0),
            time_to=time(14, 0),
            firm_representative="",
        )

    assert set(field_errors(failure)) == {"inspectors", "time_to", "firm_representative"}


def test_a_campaign_inspection_names_its_campaign(cast, checklist):
    inspection = start_inspection(cast, kind=Inspection.Kind.CAMPAIGN, campaign="有限空间专项整治")

    assert inspection.campaign == "有限空间专项整治"


@pytest.mark.parametrize("who", ["inspector_b1", "manager_b", "admin", "reviewer", "firm_user_a"])
def test_only_staff_of_the_firms_current_agency_may_start_one(cast, checklist, who):
    with pytest.raises(PermissionDenied):
        start_inspection(cast, actor=getattr(cast, who))

    assert not Inspection.objects.exists()


def test_no_inspection_before_the_bureau_has_a_checklist(cast):
    with pytest.raises(ValidationError, match="检查表"):
        start_inspection(cast)


# --- Answers -----------------------------------------------------------------------------------


def test_a_hazard_answer_creates_one_hazard_pre_filled_from_the_item(cast, checklist):
    inspection = start_inspection(cast)
    item = checklist.items.get(position=1)

    answer, hazard = do_answer_item(
        actor=cast.inspector_a1, inspection=inspection, item=item, answer=HAZARD, note="堆放纸箱"
    )
    again, same = do_answer_item(
        actor=cast.inspector_a2, inspection=inspection, item=item, answer=HAZARD
    )

    assert answer.answer == HAZARD and answer.note == "堆放纸箱"
    assert same == hazard
    assert Hazard.objects.count() == 1
    assert hazard.firm == cast.firm_a
    assert hazard.item == item
    assert hazard.category == item.category
    assert hazard.level == HazardLevel.GENERAL
    assert hazard.description == item.text
    assert hazard.legal_basis == item.legal_basis
    assert hazard.requirement == item.requirement
    assert hazard.deadline == inspection.inspected_on + timedelta(days=30)
    assert hazard.status == Hazard.Status.OPEN


def test_changing_a_hazard_answer_to_pass_removes_its_hazard(cast, checklist):
    inspection = start_inspection(cast)
    item = checklist.items.get(position=2)
    do_answer_item(actor=cast.inspector_a1, inspection=inspection, item=item, answer=HAZARD)

    answer, hazard = do_answer_item(
        actor=cast.inspector_a1, inspection=inspection, item=item, answer=PASS
    )

    assert hazard is None
    assert answer.answer == PASS
    assert not Hazard.objects.exists()
    assert ChecklistAnswer.objects.get(inspection=inspection, item=item).answer == PASS


def test_a_hazard_with_evidence_keeps_its_answer(cast, checklist):
    inspection = start_inspection(cast)
    item = checklist.items.get(position=3)
    _answer, hazard = do_answer_item(
        actor=cast.inspector_a1, inspection=inspection, item=item, answer=HAZARD
    )
    add_evidence(
        inspection, hazard=hazard, purpose=Evidence.Purpose.FINDING, uploader=cast.inspector_a1
    )

    with pytest.raises(ValidationError) as failure:
        do_answer_item(actor=cast.inspector_a1, inspection=inspection, item=item, answer=PASS)

    assert "answer" in field_errors(failure)
    assert Hazard.objects.filter(pk=hazard.pk).exists()


def test_an_answer_must_be_known_and_for_the_inspections_checklist(cast, checklist):
    inspection = start_inspection(cast)
    other = Checklist.objects.create(bureau=cast.bureau, name="另一张表", version=1)
    foreign_item = other.items.create(
        position=1,
        category=HazardCategory.OTHER,
        text="其他",
        legal_basis="《中华人民共和国安全生产法》",
        requirement="整改",
    )

    with pytest.raises(ValidationError) as unknown:
        do_answer_item(
            actor=cast.inspector_a1,
            inspection=inspection,
            item=checklist.items.first(),
            answer="maybe",
        )
    with pytest.raises(ValidationError) as foreign:
        do_answer_item(
            actor=cast.inspector_a1, inspection=inspection, item=foreign_item, answer=PASS
        )

    assert "未知的检查结果" in field_errors(unknown)["answer"][0]
    assert "item" in field_errors(foreign)
    assert not ChecklistAnswer.objects.exists()


def test_the_checklist_page_reads_items_with_their_answers_and_hazards(cast, checklist):
    inspection = start_inspection(cast)
    first, second = checklist.items.order_by("position")[:2]
    do_answer_item(actor=cast.inspector_a1, inspection=inspection, item=first, answer=PASS)
    _answer, hazard = do_answer_item(
        actor=cast.inspector_a1, inspection=inspection, item=second, answer=HAZARD, note="无盖"
    )

    items = list(checklist_with_answers(inspection))

    assert len(items) == checklist.items.count()
    assert (items[0].answer, items[0].hazard_id) == (PASS, None)
    assert (items[1].answer, items[1].answer_note, items[1].hazard_id) == (
        HAZARD,
        "无盖",
        hazard.pk,
    )
    assert items[2].answer is None


# --- Editing and submitting --------------------------------------------------------------------


def test_the_agency_edits_a_draft_with_the_same_checks(cast, checklist):
    inspection = start_inspection(cast)

    updated = do_update_inspection(
        actor=cast.inspector_a2,
        inspection=inspection,
        place="危化品仓库",
        inspectors=[cast.inspector_a2, cast.manager_a],
    )
    with pytest.raises(ValidationError) as failure:
        do_update_inspection(
            actor=cast.inspector_a2, inspection=inspection, time_from=time(9), time_to=time(8)
        )

    assert updated.place == "危化品仓库"
    assert set(updated.inspectors.all()) == {cast.inspector_a2, cast.manager_a}
    assert "time_to" in field_errors(failure)
    inspection.refresh_from_db()
    assert inspection.time_from is None
    assert AuditEvent.objects.filter(action="inspection.updated").count() == 1


def test_submitting_needs_every_item_answered(cast, checklist):
    inspection = start_inspection(cast)
    do_answer_item(
        actor=cast.inspector_a1,
        inspection=inspection,
        item=checklist.items.first(),
        answer=PASS,
    )

    with pytest.raises(ValidationError) as failure:
        do_submit_inspection(actor=cast.inspector_a1, inspection=inspection)

    remaining = checklist.items.count() - 1
    assert f"还有{remaining}项" in field_errors(failure)["answers"][0]
    inspection.refresh_from_db()
    assert inspection.status == Inspection.Status.DRAFT


def test_a_submitted_inspection_is_read_only(cast, checklist):
    inspection = submitted_inspection(cast)
    item = checklist.items.first()

    assert inspection.status == Inspection.Status.SUBMITTED
    assert inspection.submitted_at is not None
    with pytest.raises(InvalidTransition, match="已提交的检查不能修改"):
        do_update_inspection(actor=cast.inspector_a1, inspection=inspection, place="别处")
    with pytest.raises(InvalidTransition):
        do_answer_item(actor=cast.inspector_a1, inspection=inspection, item=item, answer=HAZARD)
    with pytest.raises(InvalidTransition):
        do_record_hazard(
            actor=cast.inspector_a1,
            inspection=inspection,
            category=HazardCategory.FIRE,
            level=HazardLevel.GENERAL,
            description="灭火器过期",
            deadline=timezone.localdate(),
        )
    with pytest.raises(InvalidTransition):
        do_submit_inspection(actor=cast.inspector_a1, inspection=inspection)
    assert not Hazard.objects.exists()


def test_a_general_hazard_fixed_on_the_spot_needs_its_after_photo_and_is_then_verified(
    cast, checklist
):
    inspection = start_inspection(cast)
    answer_all(cast.inspector_a1, inspection)
    hazard = do_record_hazard(
        actor=cast.inspector_a1,
        inspection=inspection,
        category=HazardCategory.FIRE,
        level=HazardLevel.GENERAL,
        description="安全出口堆放纸箱",
        deadline=timezone.localdate(),
        rectified_on_spot=True,
    )
    add_evidence(
        inspection, hazard=hazard, purpose=Evidence.Purpose.FINDING, uploader=cast.inspector_a1
    )
    add_evidence(
        inspection,
        hazard=hazard,
        purpose=Evidence.Purpose.ON_SPOT,
        uploader=cast.inspector_a1,
        status=Evidence.Status.PENDING,
    )

    with pytest.raises(ValidationError) as failure:
        do_submit_inspection(actor=cast.inspector_a1, inspection=inspection)
    assert "安全出口堆放纸箱" in field_errors(failure)["hazards"][0]

    add_evidence(
        inspection, hazard=hazard, purpose=Evidence.Purpose.ON_SPOT, uploader=cast.inspector_a1
    )
    do_submit_inspection(actor=cast.inspector_a1, inspection=inspection)

    hazard.refresh_from_db()
    assert hazard.status == Hazard.Status.VERIFIED
    assert hazard.verified_by == cast.inspector_a1
    assert hazard.rectified_at is not None


def test_a_major_hazard_cannot_be_fixed_on_the_spot(cast, checklist):
    inspection = start_inspection(cast)

    with pytest.raises(ValidationError) as failure:
        do_record_hazard(
            actor=cast.inspector_a1,
            inspection=inspection,
            category=HazardCategory.PRODUCTION,
            level=HazardLevel.MAJOR,
            description="有限空间作业未审批",
            deadline=timezone.localdate() + timedelta(days=7),
            rectified_on_spot=True,
        )

    assert "rectified_on_spot" in field_errors(failure)
    assert not Hazard.objects.exists()


# --- Review ------------------------------------------------------------------------------------


def test_the_reviewer_returns_with_a_reason_and_the_agency_corrects_and_resubmits(cast, checklist):
    inspection = submitted_inspection(cast)

    returned = do_return_inspection(
        actor=cast.reviewer, inspection=inspection, reason="检查人员签名不全"
    )
    edited = do_update_inspection(actor=cast.inspector_a1, inspection=returned, place="二号车间")
    resubmitted = do_submit_inspection(actor=cast.inspector_a1, inspection=edited)
    accepted = do_accept_inspection(actor=cast.reviewer, inspection=resubmitted)

    assert returned.status == Inspection.Status.RETURNED
    assert returned.return_reason == "检查人员签名不全"
    assert edited.place == "二号车间"
    assert resubmitted.status == Inspection.Status.SUBMITTED
    assert accepted.status == Inspection.Status.ACCEPTED
    assert not accepted.is_editable
    actions = list(
        AuditEvent.objects.filter(target_id=str(inspection.pk))
        .order_by("at")
        .values_list("action", "actor__username")
    )
    assert ("inspection.returned", "reviewer") in actions
    assert ("inspection.accepted", "reviewer") in actions
    assert actions.count(("inspection.submitted", "a-inspector1")) == 2


def test_a_return_needs_a_reason(cast, checklist):
    inspection = submitted_inspection(cast)

    with pytest.raises(ValidationError) as failure:
        do_return_inspection(actor=cast.reviewer, inspection=inspection, reason="  ")

    assert "reason" in field_errors(failure)
    inspection.refresh_from_db()
    assert inspection.status == Inspection.Status.SUBMITTED


@pytest.mark.parametrize("who", ["admin", "manager_a", "inspector_a1", "firm_user_a"])
def test_only_the_bureaus_reviewer_reviews(cast, checklist, who):
    inspection = submitted_inspection(cast)

    with pytest.raises(PermissionDenied):
        do_accept_inspection(actor=getattr(cast, who), inspection=inspection)
    with pytest.raises(PermissionDenied):
        do_return_inspection(actor=getattr(cast, who), inspection=inspection, reason="不行")


def _to_status(cast, status):
    inspection = start_inspection(cast)
    if status == Inspection.Status.DRAFT:
        return inspection
    answer_all(cast.inspector_a1, inspection)
    inspection = do_submit_inspection(actor=cast.inspector_a1, inspection=inspection)
    if status == Inspection.Status.RETURNED:
        return do_return_inspection(actor=cast.reviewer, inspection=inspection, reason="补充")
    if status == Inspection.Status.ACCEPTED:
        return do_accept_inspection(actor=cast.reviewer, inspection=inspection)
    return inspection


TRANSITIONS = {
    "submit": lambda cast, i: do_submit_inspection(actor=cast.inspector_a1, inspection=i),
    "return": lambda cast, i: do_return_inspection(actor=cast.reviewer, inspection=i, reason="x"),
    "accept": lambda cast, i: do_accept_inspection(actor=cast.reviewer, inspection=i),
    "edit": lambda cast, i: do_update_inspection(actor=cast.inspector_a1, inspection=i, place="x"),
}
# (from, action) -> the status after it; pairs not listed are refused.
ALLOWED = {
    ("draft", "submit"): "submitted",
    ("draft", "edit"): "draft",
    ("returned", "submit"): "submitted",
    ("returned", "edit"): "returned",
    ("submitted", "return"): "returned",
    ("submitted", "accept"): "accepted",
}


@pytest.mark.parametrize("action", sorted(TRANSITIONS))
@pytest.mark.parametrize("status", Inspection.Status.values)
def test_every_transition_is_allowed_or_refused(cast, checklist, status, action):
    inspection = _to_status(cast, status)

    if (status, action) in ALLOWED:
        if action == "submit":
            answer_all(cast.inspector_a1, inspection)
        assert TRANSITIONS[action](cast, inspection).status == ALLOWED[(status, action)]
    else:
        with pytest.raises(InvalidTransition):
            TRANSITIONS[action](cast, inspection)
        inspection.refresh_from_db()
        assert inspection.status == status


# --- Who sees what -----------------------------------------------------------------------------


def test_firm_users_never_see_drafts_and_only_their_own_firms_inspections(cast, checklist):
    draft = start_inspection(cast)

    assert not inspections_visible_to(cast.firm_user_a).exists()
    with pytest.raises(Http404):
        access_inspection_by_id(cast.firm_user_a, draft.pk)

    answer_all(cast.inspector_a1, draft)
    do_submit_inspection(actor=cast.inspector_a1, inspection=draft)

    assert list(inspections_visible_to(cast.firm_user_a)) == [draft]
    assert access_inspection_by_id(cast.firm_user_a, draft.pk) == draft
    assert not inspections_visible_to(cast.firm_user_b).exists()


@pytest.mark.parametrize("who", ["inspector_b1", "manager_b", "firm_user_b", "outsider"])
def test_the_other_tenant_gets_404(cast, checklist, who):
    inspection = start_inspection(cast)

    with pytest.raises(Http404):
        access_inspection_by_id(getattr(cast, who), inspection.pk)
    with pytest.raises(Http404):
        access_inspection_by_id(getattr(cast, who), inspection.pk, write=True)


def test_missing_and_malformed_ids_are_404(cast, checklist):
    with pytest.raises(Http404):
        access_inspection_by_id(cast.admin, uuid.uuid4())
    with pytest.raises(Http404):
        access_inspection_by_id(cast.admin, "not-a-uuid")


@pytest.mark.parametrize("who", ["admin", "reviewer", "inspector_a1", "inspector_a2", "manager_a"])
def test_the_bureau_and_the_agency_see_drafts(cast, checklist, who):
    inspection = start_inspection(cast)

    assert access_inspection_by_id(getattr(cast, who), inspection.pk) == inspection


@pytest.mark.parametrize("who", ["admin", "reviewer", "firm_user_a"])
def test_who_may_only_read_gets_403_when_writing(cast, checklist, who):
    inspection = submitted_inspection(cast)

    with pytest.raises(PermissionDenied):
        access_inspection_by_id(getattr(cast, who), inspection.pk, write=True)


def test_after_the_firm_moves_the_old_agency_keeps_reading_its_inspection_but_works_no_more(
    cast, checklist
):
    draft = start_inspection(cast)
    assert access_inspection_by_id(cast.inspector_a1, draft.pk, write=True) == draft

    assign(cast.contract_b, cast.firm_a)

    assert list(inspections_visible_to(cast.inspector_a1)) == [draft]
    assert access_inspection_by_id(cast.inspector_a2, draft.pk) == draft
    with pytest.raises(PermissionDenied):
        access_inspection_by_id(cast.inspector_a1, draft.pk, write=True)
    with pytest.raises(PermissionDenied, match="不由本机构负责"):
        do_update_inspection(actor=cast.inspector_a1, inspection=draft, place="别处")
    with pytest.raises(PermissionDenied):
        do_submit_inspection(actor=cast.inspector_a1, inspection=draft)
    with pytest.raises(PermissionDenied):
        start_inspection(cast)

    by_b = start_inspection(
        cast, actor=cast.inspector_b1, inspectors=[cast.inspector_b1, cast.inspector_b2]
    )

    assert by_b.agency == cast.agency_b
    assert by_b.contract == cast.contract_b
    assert list(inspections_visible_to(cast.inspector_b1)) == [by_b]
    with pytest.raises(Http404):
        access_inspection_by_id(cast.inspector_b1, draft.pk)
    assert set(inspections_visible_to(cast.admin)) == {draft, by_b}


def test_agency_a_cannot_name_agency_b_inspectors_after_the_move_either(cast, checklist):
    assign(cast.contract_b, cast.firm_a)

    with pytest.raises(ValidationError) as failure:
        start_inspection(
            cast, actor=cast.inspector_b1, inspectors=[cast.inspector_b1, cast.inspector_a1]
        )

    assert "inspectors" in field_errors(failure)


def test_the_agencys_list_costs_the_same_queries_for_one_or_many_inspections(cast, checklist):
    def queries_to_read_the_list():
        with CaptureQueriesContext(connection) as queries:
            rows = [
                (i.firm.name, i.agency.name, i.checklist.version, len(i.inspectors.all()))
                for i in inspections_visible_to(cast.inspector_a1)
            ]
        return len(rows), len(queries)

    start_inspection(cast)
    one = queries_to_read_the_list()
    for _ in range(3):
        start_inspection(cast)
    many = queries_to_read_the_list()

    assert one[0] == 1 and many[0] == 4
    assert one[1] == many[1] <= 3


def test_the_firm_list_shows_the_last_inspection_the_user_may_see(cast, checklist):
    older = submitted_inspection(cast)
    Inspection.objects.filter(pk=older.pk).update(
        inspected_on=timezone.localdate() - timedelta(days=10)
    )
    latest = start_inspection(cast)

    def last_of(user):
        firms = with_last_inspection(Firm.objects.filter(pk=cast.firm_a.pk), user)
        firm = firms.get()
        return firm.last_inspection_id, firm.last_inspection_status

    assert last_of(cast.inspector_a1) == (latest.pk, Inspection.Status.DRAFT)
    assert last_of(cast.firm_user_a) == (older.pk, Inspection.Status.SUBMITTED)
    assert last_of(cast.inspector_b1) == (None, None)
