"""Hazards (issue 4): recording and editing them with the bad input refused field by field, the
firm's rectification, the agency's re-inspection, overdue marking, and who sees which."""

from datetime import UTC, date, datetime, timedelta
from io import StringIO

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.http import Http404
from django.utils import timezone

from contractors.checklists.services import do_install_default_checklist
from contractors.evidence.models import Evidence
from contractors.hazards.models import Hazard, HazardCategory, HazardLevel
from contractors.hazards.selectors import access_hazard_by_id, hazards_visible_to
from contractors.hazards.services import (
    do_mark_overdue_hazards,
    do_record_hazard,
    do_rectify_hazard,
    do_reinspect_hazard,
    do_update_hazard,
)
from contractors.inspections.services import do_return_inspection, do_submit_inspection
from portal.models import AuditEvent
from portal.validation import InvalidTransition
from tests.conftest import assign
from tests.contractors.inspections.test_inspections import (
    add_evidence,
    answer_all,
    field_errors,
    start_inspection,
)


def record(cast, inspection, **fields):
    values = {
        "category": HazardCategory.FIRE,
        "level": HazardLevel.GENERAL,
        "description": "疏散通道堆放货物",
        "location": "一号仓库北侧",
        "legal_basis": "《中华人民共和国消防法》第二十八条",
        "requirement": "立即清除堆放物品",
        "deadline": timezone.localdate() + timedelta(days=15),
        **fields,
    }
    return do_record_hazard(actor=cast.inspector_a1, inspection=inspection, **values)


@pytest.fixture
def checklist(cast):
    return do_install_default_checklist(actor=None, bureau=cast.bureau)


@pytest.fixture
def draft(cast, checklist):
    return start_inspection(cast)


@pytest.fixture
def hazard(cast, draft):
    """An open hazard of a submitted inspection of firm A: the firm's to rectify."""
    found = record(cast, draft)
    answer_all(cast.inspector_a1, draft)
    do_submit_inspection(actor=cast.inspector_a1, inspection=draft)
    found.refresh_from_db()
    return found


def record_on_another_inspection(cast):
    inspection = start_inspection(cast)
    found = record(cast, inspection, description="配电箱前堆放杂物")
    answer_all(cast.inspector_a1, inspection)
    do_submit_inspection(actor=cast.inspector_a1, inspection=inspection)
    found.refresh_from_db()
    return found


def rectification_evidence(cast, hazard):
    return add_evidence(
        hazard.inspection,
        hazard=hazard,
        purpose=Evidence.Purpose.RECTIFICATION,
        uploader=cast.firm_user_a,
    )


def rectified(cast, hazard):
    return do_rectify_hazard(
        actor=cast.firm_user_a,
        hazard=hazard,
        note="已清除堆放货物",
        evidence=[rectification_evidence(cast, hazard)],
    )


# --- Recording and editing ---------------------------------------------------------------------


def test_the_agency_records_a_hazard_in_its_draft(cast, draft):
    hazard = record(cast, draft, level=HazardLevel.MAJOR)

    assert hazard.status == Hazard.Status.OPEN
    assert hazard.firm == cast.firm_a
    assert hazard.level == HazardLevel.MAJOR
    event = AuditEvent.objects.get(action="hazard.recorded")
    assert (event.actor, event.target_id) == (cast.inspector_a1, str(hazard.pk))


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"category": "chemical"}, "category", "未知的隐患类别"),
        ({"category": ""}, "category", "请选择隐患类别"),
        ({"level": "serious"}, "level", "未知的隐患等级"),
        ({"description": " "}, "description", "隐患描述"),
        ({"deadline": "yesterday"}, "deadline", "不能早于今天"),
        ({"deadline": None}, "deadline", "整改期限"),
        ({"deadline": "2030-02-30"}, "deadline", ""),
    ],
)
def test_bad_input_is_refused_on_its_field_and_nothing_is_saved(
    cast, draft, fields, field, message
):
    if fields.get("deadline") == "yesterday":
        fields["deadline"] = timezone.localdate() - timedelta(days=1)

    with pytest.raises(ValidationError) as failure:
        record(cast, draft, **fields)

    assert message in " ".join(field_errors(failure)[field])
    assert not Hazard.objects.exists()


def test_today_is_the_bureaus_day_in_shanghai(cast, draft, monkeypatch):
    # 17:00 UTC on 1 March is already 2 March in Shanghai.
    monkeypatch.setattr(timezone, "now", lambda: datetime(2030, 3, 1, 17, 0, tzinfo=UTC))

    with pytest.raises(ValidationError) as failure:
        record(cast, draft, deadline=date(2030, 3, 1))
    hazard = record(cast, draft, deadline=date(2030, 3, 2))

    assert "deadline" in field_errors(failure)
    assert hazard.deadline == date(2030, 3, 2)


def test_the_agency_edits_a_hazard_while_the_inspection_is_editable(cast, draft):
    hazard = record(cast, draft)

    updated = do_update_hazard(
        actor=cast.inspector_a2, hazard=hazard, level=HazardLevel.MAJOR, location="二号仓库"
    )
    with pytest.raises(ValidationError) as failure:
        do_update_hazard(actor=cast.inspector_a2, hazard=hazard, level="minor")

    assert (updated.level, updated.location) == (HazardLevel.MAJOR, "二号仓库")
    assert "level" in field_errors(failure)
    hazard.refresh_from_db()
    assert hazard.level == HazardLevel.MAJOR


def test_a_passed_deadline_left_unchanged_does_not_block_other_edits(cast, draft):
    hazard = record(cast, draft)
    Hazard.objects.filter(pk=hazard.pk).update(deadline=timezone.localdate() - timedelta(days=3))
    hazard.refresh_from_db()

    updated = do_update_hazard(actor=cast.inspector_a1, hazard=hazard, description="货物堵门")

    assert updated.description == "货物堵门"


def test_a_submitted_inspections_hazards_are_read_only(cast, hazard):
    with pytest.raises(InvalidTransition, match="已提交的检查不能修改"):
        do_update_hazard(actor=cast.inspector_a1, hazard=hazard, description="改")


@pytest.mark.parametrize("who", ["inspector_b1", "admin", "firm_user_a"])
def test_only_the_inspections_agency_records_and_edits(cast, draft, who):
    hazard = record(cast, draft)

    with pytest.raises(PermissionDenied):
        do_record_hazard(
            actor=getattr(cast, who),
            inspection=draft,
            category=HazardCategory.OTHER,
            level=HazardLevel.GENERAL,
            description="其他",
            deadline=timezone.localdate(),
        )
    with pytest.raises(PermissionDenied):
        do_update_hazard(actor=getattr(cast, who), hazard=hazard, description="改")


def test_no_longer_fixed_on_the_spot_after_a_return_reopens_the_hazard(cast, draft):
    hazard = record(cast, draft, rectified_on_spot=True, deadline=timezone.localdate())
    add_evidence(draft, hazard=hazard, purpose=Evidence.Purpose.ON_SPOT, uploader=cast.inspector_a1)
    answer_all(cast.inspector_a1, draft)
    do_submit_inspection(actor=cast.inspector_a1, inspection=draft)
    do_return_inspection(actor=cast.reviewer, inspection=draft, reason="并未当场整改")

    updated = do_update_hazard(
        actor=cast.inspector_a1,
        hazard=hazard,
        rectified_on_spot=False,
        deadline=timezone.localdate() + timedelta(days=10),
    )

    assert updated.status == Hazard.Status.OPEN
    assert updated.verified_at is None


# --- Rectification and re-inspection -----------------------------------------------------------


def test_the_firm_reports_rectification_with_evidence(cast, hazard):
    evidence = rectification_evidence(cast, hazard)

    done = do_rectify_hazard(
        actor=cast.firm_user_a, hazard=hazard, note="已清除堆放货物", evidence=[evidence]
    )

    assert done.status == Hazard.Status.RECTIFIED
    assert done.rectified_by == cast.firm_user_a
    assert done.rectification_note == "已清除堆放货物"
    event = AuditEvent.objects.get(action="hazard.rectified")
    assert event.detail["evidence"] == [str(evidence.pk)]


@pytest.mark.parametrize("who", ["firm_user_b", "inspector_a1", "admin"])
def test_only_the_firm_reports_its_rectification(cast, hazard, who):
    with pytest.raises(PermissionDenied):
        do_rectify_hazard(
            actor=getattr(cast, who),
            hazard=hazard,
            note="已整改",
            evidence=[rectification_evidence(cast, hazard)],
        )


def test_the_firm_cannot_rectify_a_hazard_of_a_draft_it_cannot_see(cast, draft):
    hazard = record(cast, draft)

    with pytest.raises(PermissionDenied):
        do_rectify_hazard(actor=cast.firm_user_a, hazard=hazard, note="已整改", evidence=[])


def test_a_rectification_needs_a_note_and_its_own_confirmed_evidence(cast, hazard, draft):
    other = record_on_another_inspection(cast)
    wrong = [
        add_evidence(
            draft, hazard=hazard, purpose=Evidence.Purpose.FINDING, uploader=cast.inspector_a1
        ),
        add_evidence(
            draft,
            hazard=hazard,
            purpose=Evidence.Purpose.RECTIFICATION,
            uploader=cast.firm_user_a,
            status=Evidence.Status.PENDING,
        ),
        rectification_evidence(cast, other),
    ]

    with pytest.raises(ValidationError) as missing:
        do_rectify_hazard(actor=cast.firm_user_a, hazard=hazard, note=" ", evidence=[])
    for evidence in wrong:
        with pytest.raises(ValidationError) as failure:
            do_rectify_hazard(
                actor=cast.firm_user_a, hazard=hazard, note="已整改", evidence=[evidence]
            )
        assert "evidence" in field_errors(failure)

    assert set(field_errors(missing)) == {"note", "evidence"}
    hazard.refresh_from_db()
    assert hazard.status == Hazard.Status.OPEN


def test_a_passed_reinspection_verifies_the_hazard(cast, hazard):
    rectified(cast, hazard)
    photo = add_evidence(
        hazard.inspection,
        hazard=hazard,
        purpose=Evidence.Purpose.REINSPECTION,
        uploader=cast.inspector_a2,
    )

    verified = do_reinspect_hazard(
        actor=cast.inspector_a2, hazard=hazard, passed=True, note="已整改到位", evidence=[photo]
    )

    assert verified.status == Hazard.Status.VERIFIED
    assert verified.verified_by == cast.inspector_a2
    assert verified.reinspection_note == "已整改到位"


def test_a_failed_reinspection_reopens_the_hazard_with_a_new_deadline(cast, hazard):
    rectified(cast, hazard)
    new_deadline = timezone.localdate() + timedelta(days=7)

    reopened = do_reinspect_hazard(
        actor=cast.inspector_a1,
        hazard=hazard,
        passed=False,
        note="通道仍有货物",
        evidence=[],
        deadline=new_deadline,
    )

    assert reopened.status == Hazard.Status.OPEN
    assert reopened.deadline == new_deadline
    assert reopened.rectified_at is None
    assert rectified(cast, reopened).status == Hazard.Status.RECTIFIED


@pytest.mark.parametrize(
    ("deadline", "note", "fields"),
    [
        (None, "仍未整改", {"deadline"}),
        ("past", "仍未整改", {"deadline"}),
        ("next week", "", {"note"}),
    ],
)
def test_a_failed_reinspection_needs_a_future_deadline_and_a_note(
    cast, hazard, deadline, note, fields
):
    rectified(cast, hazard)
    today = timezone.localdate()
    deadline = {"past": today - timedelta(days=1), "next week": today + timedelta(days=7)}.get(
        deadline
    )

    with pytest.raises(ValidationError) as failure:
        do_reinspect_hazard(
            actor=cast.inspector_a1,
            hazard=hazard,
            passed=False,
            note=note,
            evidence=[],
            deadline=deadline,
        )

    assert set(field_errors(failure)) == fields
    hazard.refresh_from_db()
    assert hazard.status == Hazard.Status.RECTIFIED


def test_the_agency_holding_the_firm_now_reinspects(cast, hazard):
    rectified(cast, hazard)
    assign(cast.contract_b, cast.firm_a)

    with pytest.raises(PermissionDenied):
        do_reinspect_hazard(
            actor=cast.inspector_a1, hazard=hazard, passed=True, note="", evidence=[]
        )
    verified = do_reinspect_hazard(
        actor=cast.inspector_b1, hazard=hazard, passed=True, note="复查合格", evidence=[]
    )

    assert verified.status == Hazard.Status.VERIFIED


def test_the_firm_cannot_reinspect_its_own_hazard(cast, hazard):
    rectified(cast, hazard)

    with pytest.raises(PermissionDenied):
        do_reinspect_hazard(
            actor=cast.firm_user_a, hazard=hazard, passed=True, note="", evidence=[]
        )


def _hazard_in(cast, hazard, status):
    if status in ("rectified", "verified"):
        rectified(cast, hazard)
    if status == "verified":
        do_reinspect_hazard(
            actor=cast.inspector_a1, hazard=hazard, passed=True, note="", evidence=[]
        )
    if status == "overdue":
        do_mark_overdue_hazards(today=hazard.deadline + timedelta(days=1))
    hazard.refresh_from_db()
    assert hazard.status == status
    return hazard


HAZARD_ACTIONS = {
    "rectify": lambda cast, h: rectified(cast, h),
    "reinspect": lambda cast, h: do_reinspect_hazard(
        actor=cast.inspector_a1, hazard=h, passed=True, note="", evidence=[]
    ),
}
HAZARD_ALLOWED = {
    ("open", "rectify"): "rectified",
    ("overdue", "rectify"): "rectified",
    ("rectified", "reinspect"): "verified",
}


@pytest.mark.parametrize("action", sorted(HAZARD_ACTIONS))
@pytest.mark.parametrize("status", Hazard.Status.values)
def test_every_hazard_transition_is_allowed_or_refused(cast, hazard, status, action):
    hazard = _hazard_in(cast, hazard, status)

    if (status, action) in HAZARD_ALLOWED:
        assert HAZARD_ACTIONS[action](cast, hazard).status == HAZARD_ALLOWED[(status, action)]
    else:
        with pytest.raises(InvalidTransition):
            HAZARD_ACTIONS[action](cast, hazard)
        hazard.refresh_from_db()
        assert hazard.status == status


# --- Overdue -----------------------------------------------------------------------------------


def test_open_hazards_past_their_deadline_become_overdue_once(cast, hazard, draft):
    waiting = record_on_another_inspection(cast)
    rectified(cast, waiting)
    in_draft = record(cast, start_inspection(cast), description="草稿中的隐患")
    day_after = hazard.deadline + timedelta(days=1)

    assert do_mark_overdue_hazards(today=hazard.deadline) == 0
    assert do_mark_overdue_hazards(today=day_after) == 1
    assert do_mark_overdue_hazards(today=day_after) == 0

    hazard.refresh_from_db()
    waiting.refresh_from_db()
    in_draft.refresh_from_db()
    assert hazard.status == Hazard.Status.OVERDUE
    assert waiting.status == Hazard.Status.RECTIFIED
    assert in_draft.status == Hazard.Status.OPEN
    event = AuditEvent.objects.get(action="hazard.overdue")
    assert event.target_id == str(hazard.pk)
    assert event.bureau == cast.bureau


def test_the_mark_overdue_command(cast, hazard):
    later = (hazard.deadline + timedelta(days=1)).isoformat()
    first, second = StringIO(), StringIO()

    call_command("mark_overdue", "--date", later, stdout=first)
    call_command("mark_overdue", "--date", later, stdout=second)

    assert "1 项" in first.getvalue()
    assert "0 项" in second.getvalue()
    with pytest.raises(CommandError, match="日期格式不正确"):
        call_command("mark_overdue", "--date", "明天")


def test_the_mark_overdue_command_uses_today_by_default(cast, hazard):
    output = StringIO()

    call_command("mark_overdue", stdout=output)

    assert "0 项" in output.getvalue()
    hazard.refresh_from_db()
    assert hazard.status == Hazard.Status.OPEN


# --- Who sees which ----------------------------------------------------------------------------


def test_the_firm_sees_its_submitted_hazards_and_never_another_firms_or_a_drafts(cast, hazard):
    in_draft = record(cast, start_inspection(cast), description="草稿中的隐患")

    assert list(hazards_visible_to(cast.firm_user_a)) == [hazard]
    assert access_hazard_by_id(cast.firm_user_a, hazard.pk) == hazard
    with pytest.raises(Http404):
        access_hazard_by_id(cast.firm_user_a, in_draft.pk)
    assert not hazards_visible_to(cast.firm_user_b).exists()
    with pytest.raises(Http404):
        access_hazard_by_id(cast.firm_user_b, hazard.pk)


@pytest.mark.parametrize("who", ["inspector_b1", "manager_b", "outsider"])
def test_the_other_agency_and_outsiders_get_404(cast, hazard, who):
    assert not hazards_visible_to(getattr(cast, who)).exists()
    with pytest.raises(Http404):
        access_hazard_by_id(getattr(cast, who), hazard.pk)


def test_after_the_move_both_agencies_see_the_submitted_hazards_but_not_each_others_drafts(
    cast, hazard
):
    draft_of_a = record(cast, start_inspection(cast), description="甲的草稿")
    assign(cast.contract_b, cast.firm_a)

    assert set(hazards_visible_to(cast.inspector_a1)) == {hazard, draft_of_a}
    assert set(hazards_visible_to(cast.inspector_b1)) == {hazard}
    assert set(hazards_visible_to(cast.reviewer)) == {hazard, draft_of_a}
