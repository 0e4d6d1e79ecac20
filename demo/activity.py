"""The demo's inspections, hazards and documents: a few weeks of each agency's work, so that
every page has something real to show. They go through the same services as everyone's work
(submit drafts the documents, the reviewer signs some and returns one), so their ids are
fresh; dates count back from the day of seeding."""

import random
from datetime import time, timedelta

from django.utils import timezone

from contractors.hazards.models import HazardCategory, HazardLevel
from contractors.hazards.services import do_record_hazard
from contractors.inspections.models import ChecklistAnswer, Inspection
from contractors.inspections.services import do_start_inspection, do_submit_inspection
from documents.models import DocType, DocumentSettings
from documents.review.services import do_approve_document, do_reject_document
from portal.models import User

INSPECTIONS_PER_AGENCY = 6
SIGNED_PER_AGENCY = 3
HAZARD_COUNTS = (2, 1, 3, 0, 2, 1)
FINDINGS = (
    (
        HazardCategory.FIRE,
        HazardLevel.GENERAL,
        "疏散通道堆放杂物，宽度不足",
        "一层走廊",
        "《中华人民共和国消防法》第二十八条",
        "清理杂物，保持疏散通道畅通",
    ),
    (
        HazardCategory.FIRE,
        HazardLevel.MAJOR,
        "安全出口被锁闭",
        "东侧安全出口",
        "《中华人民共和国消防法》第二十八条",
        "立即开启安全出口，保持畅通",
    ),
    (
        HazardCategory.PRODUCTION,
        HazardLevel.GENERAL,
        "配电箱未张贴安全警示标志",
        "生产车间",
        "《中华人民共和国安全生产法》第三十五条",
        "设置明显的安全警示标志",
    ),
    (
        HazardCategory.PRODUCTION,
        HazardLevel.GENERAL,
        "未建立安全生产教育培训档案",
        "办公室",
        "《中华人民共和国安全生产法》第二十八条",
        "建立教育培训档案，如实记录培训情况",
    ),
    (
        HazardCategory.SPECIAL_EQUIPMENT,
        HazardLevel.GENERAL,
        "叉车未在检验有效期内使用",
        "装卸区",
        "《中华人民共和国特种设备安全法》第四十条",
        "停止使用，检验合格后方可使用",
    ),
    (
        HazardCategory.OCCUPATIONAL_HEALTH,
        HazardLevel.GENERAL,
        "作业人员未佩戴防尘口罩",
        "打磨工位",
        "《中华人民共和国职业病防治法》第二十二条",
        "配发并督促佩戴合格的防护用品",
    ),
)
DEMO_SETTINGS = {
    "review_government": "上海市普陀区人民政府",
    "review_department": "上海市应急管理局",
    "court": "上海市普陀区人民法院",
}


def _certify(users):
    """Every agency member carries a certificate number, as the documents cite it."""
    staff = sorted(
        (user for user in users.values() if user.username.startswith("a")),
        key=lambda user: user.username,
    )
    for serial, user in enumerate(staff, start=1):
        user.certificate_number = f"31070{serial:03d}"
    User.objects.bulk_update(staff, ["certificate_number"])


def _answer_everything(inspection):
    ChecklistAnswer.objects.bulk_create(
        ChecklistAnswer(inspection=inspection, item=item, answer=ChecklistAnswer.Answer.PASS)
        for item in inspection.checklist.items.all()
    )


def _inspect(rng, firm, number, inspectors, hazards, today):
    day = today - timedelta(days=rng.randint(3, 40))
    inspection = do_start_inspection(
        actor=inspectors[0],
        firm=firm,
        kind=Inspection.Kind.ROUTINE,
        inspected_on=day,
        time_from=time(9 + number % 5, 0),
        time_to=time(10 + number % 5, 30),
        inspectors=inspectors,
        firm_representative=firm.contact or firm.legal_representative,
        firm_representative_post="安全管理员",
        firm_representative_phone=firm.phone,
        place="生产经营场所",
    )
    _answer_everything(inspection)
    for category, level, description, location, basis, requirement in rng.sample(FINDINGS, hazards):
        do_record_hazard(
            actor=inspectors[0],
            inspection=inspection,
            category=category,
            level=level,
            description=description,
            location=location,
            legal_basis=basis,
            requirement=requirement,
            deadline=today + timedelta(days=15 if level == HazardLevel.MAJOR else 30),
        )
    return do_submit_inspection(actor=inspectors[0], inspection=inspection)


def build_demo_activity(bureau, firms_by_agency, users):
    """Each agency's first firms inspected and submitted; the reviewer signs the documents of
    the first few, returns one inspection with a reason and leaves the rest in the queue."""
    DocumentSettings.objects.create(bureau=bureau, **DEMO_SETTINGS)
    _certify(users)
    rng = random.Random("demo-activity")
    today = timezone.localdate()
    reviewer = users["reviewer"]
    submitted = 0
    for number, firms in enumerate(firms_by_agency, start=1):
        inspectors = [users[f"a{number}-inspector1"], users[f"a{number}-inspector2"]]
        for index, firm in enumerate(firms[:INSPECTIONS_PER_AGENCY]):
            inspection = _inspect(rng, firm, index, inspectors, HAZARD_COUNTS[index], today)
            submitted += 1
            drafted = {d.doc_type: d for d in inspection.drafted_documents}
            if index < SIGNED_PER_AGENCY:
                for doc_type in (DocType.INSPECTION_RECORD, DocType.RECTIFICATION_ORDER):
                    if doc_type in drafted:
                        do_approve_document(actor=reviewer, document=drafted[doc_type])
            elif index == SIGNED_PER_AGENCY:
                do_reject_document(
                    actor=reviewer,
                    document=drafted[DocType.INSPECTION_RECORD],
                    reason="请补充企业现场负责人的联系电话和检查场所的具体位置。",
                )
    return submitted
