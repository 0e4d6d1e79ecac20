"""Issue 5's measurements: drafting a rectification order with 10 hazards through the real
service against a bare docxtpl render of the same template and context; DOCX to PDF time."""

import io
from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone
from docxtpl import DocxTemplate

from bench.harness import compare, measure
from contractors.checklists.services import do_install_default_checklist
from contractors.hazards.models import HazardCategory, HazardLevel
from contractors.hazards.services import do_record_hazard
from contractors.inspections.models import ChecklistAnswer, Inspection
from contractors.inspections.services import do_start_inspection
from contractors.register.models import Firm, Street
from contractors.register.uscc import make_uscc
from contractors.tenancy.services import (
    do_add_member,
    do_assign_firms,
    do_create_agency,
    do_create_contract,
)
from documents.drafting.rendering import render_docx
from documents.drafting.services import current_template, draft_rectification_order
from documents.models import DocType
from documents.pdf.conversion import convert_to_pdf, pdf_available
from portal.models import Bureau, Role, User

HAZARDS = 10


def _inspection_with_hazards(count):
    bureau = Bureau.objects.create(name="基准测试应急管理局", short_name="基", region_code="319999")
    agency = do_create_agency(
        actor=None, bureau=bureau, name="基准服务机构", uscc=make_uscc(region="319999", serial=1)
    )
    contract = do_create_contract(
        actor=None,
        bureau=bureau,
        agency=agency,
        period_start=date(2021, 1, 1),
        period_end=date(2021, 12, 31),
        quota=10,
    )
    street = Street.objects.create(bureau=bureau, name="长寿路街道", code="01", kind="street")
    firm = Firm.objects.create(
        bureau=bureau,
        street=street,
        uscc=make_uscc(region="319999", serial=2),
        name="基准化工有限公司",
    )
    do_assign_firms(actor=None, contract=contract, firms=Firm.objects.filter(pk=firm.pk))
    inspectors = []
    for number in (1, 2):
        user = User.objects.create_user(f"bench-{number}", full_name=f"检查员{number}")
        user.certificate_number = f"3199000{number}"
        user.save()
        do_add_member(
            actor=None, user=user, role=Role.AGENCY_INSPECTOR, bureau=bureau, agency=agency
        )
        inspectors.append(user)
    do_install_default_checklist(actor=None, bureau=bureau)
    inspection = do_start_inspection(
        actor=inspectors[0],
        firm=firm,
        kind=Inspection.Kind.ROUTINE,
        inspected_on=timezone.localdate(),
        inspectors=inspectors,
        firm_representative="张安全",
    )
    ChecklistAnswer.objects.bulk_create(
        ChecklistAnswer(inspection=inspection, item=item, answer=ChecklistAnswer.Answer.PASS)
        for item in inspection.checklist.items.all()
    )
    for index in range(count):
        do_record_hazard(
            actor=inspectors[0],
            inspection=inspection,
            category=HazardCategory.values[index % len(HazardCategory.values)],
            level=HazardLevel.MAJOR if index % 4 == 0 else HazardLevel.GENERAL,
            description=f"第{index + 1}处隐患：消防通道被货物堵塞，安全出口指示灯损坏",
            location=f"{index + 1}号仓库",
            legal_basis="《中华人民共和国消防法》第二十八条",
            requirement="立即清理通道，修复指示灯",
            deadline=timezone.localdate() + timedelta(days=7 + index),
        )
    return inspectors[0], inspection


def run():
    actor, inspection = _inspection_with_hazards(HAZARDS)
    template = current_template(bureau=inspection.bureau, doc_type=DocType.RECTIFICATION_ORDER)
    content = bytes(template.content)
    order = draft_rectification_order(actor=actor, inspection=inspection)
    context = order.context

    def drafting():
        # Each run drafts anew; rolling it back keeps the series from growing between runs.
        with transaction.atomic():
            draft_rectification_order(actor=actor, inspection=inspection)
            transaction.set_rollback(True)

    def bare_render():
        document = DocxTemplate(io.BytesIO(content))
        document.render(context)
        document.save(io.BytesIO())

    results = [
        compare(
            "drafting a rectification order (10 hazards) vs bare docxtpl render",
            scale=f"{HAZARDS} hazards",
            action=drafting,
            baseline=bare_render,
            target=1.5,
        )
    ]
    if pdf_available():
        docx = render_docx(content, context)
        results.append(
            measure(
                "DOCX to PDF (LibreOffice headless), one rectification order",
                scale="1 document",
                action=lambda: convert_to_pdf(docx),
                count_queries=False,
            )
        )
    return results
