"""The whole story of DESIGN.md in a real browser (issue 8), each step as the person does it:
the bureau admin imports the register and assigns firms; an agency-A inspector on a phone
inspects firm A, records two hazards with a photo and submits; the reviewer returns the order
once and then signs; the firm downloads the signed PDF, acknowledges it and reports the
rectification; the inspector re-inspects; the opinion is signed; the dashboard counts it all;
and agency B never sees any of it. Runs once with S3 (moto) and once with local storage."""

import re

import pytest

from contractors.evidence.models import Evidence
from contractors.hazards.models import Hazard
from contractors.inspections.models import Inspection
from contractors.register.models import Firm
from contractors.register.uscc import make_uscc
from documents.models import DocType, Document
from documents.pdf.conversion import pdf_available
from portal.storage import evidence_store

expect = pytest.importorskip(
    "playwright.sync_api",
    reason="playwright not installed: browser tests skipped (pip install -e '.[test]')",
).expect

pytestmark = pytest.mark.django_db(transaction=True)

PASS, HAZARD = "符合", "隐患"
REGISTER_HEADER = "统一社会信用代码,企业名称,经营地址,所属街道,网格,行业,所属园区,联系人,联系电话"


def test_the_whole_story_in_the_browser(portal, people, photo, tmp_path):
    cast = portal
    new_codes = admin_imports_the_register(people.desktop(cast.admin), cast, tmp_path)
    a_typo_at_the_login_says_so(people.desktop(None))
    inspector = people.phone(cast.inspector_a1)
    inspection = inspector_inspects_firm_a(inspector, cast, photo)
    assert_photo_in_storage(inspection)

    reviewer = people.desktop(cast.reviewer)
    reviewer_returns_the_order(reviewer)
    inspector_fixes_and_resubmits(inspector, inspection)
    numbers = reviewer_signs(reviewer, "现场检查记录", "责令限期整改指令书")
    assert re.fullmatch(r"（普）应急责改〔\d{4}〕1号", numbers["责令限期整改指令书"])

    firm_user = people.desktop(cast.firm_user_a)
    firm_receives_the_order_and_rectifies(firm_user, numbers["责令限期整改指令书"], photo)
    inspector_reinspects(inspector, photo)
    opinion = reviewer_signs(reviewer, "整改复查意见书")["整改复查意见书"]
    assert re.fullmatch(r"（普）应急复查〔\d{4}〕1号", opinion)
    major = Hazard.objects.get(inspection=inspection, level="major")
    assert major.status == Hazard.Status.VERIFIED

    bureau_dashboard_counts_it(people.desktop(cast.admin))
    agency_b_finds_nothing(people.phone(cast.inspector_b1), cast)
    assert (
        Firm.objects.filter(uscc__in=new_codes, assignments__contract=cast.contract_a).count() == 2
    )


def a_typo_at_the_login_says_so(visitor):
    page = visitor.page
    page.goto("/accounts/login/")
    page.get_by_label("用户名").fill("admin")
    page.get_by_label("密码").fill("not-the-password")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("alert")).to_contain_text("用户名或密码不正确")
    expect(page.get_by_label("用户名")).to_have_value("admin")
    visitor.check("login-error")


# --- 1. The register --------------------------------------------------------------------------


def admin_imports_the_register(admin, cast, tmp_path):
    page = admin.page
    good = [make_uscc(region="310107", serial=serial) for serial in (7101, 7102)]
    valid = make_uscc(region="310107", serial=7103)
    bad = valid[:-1] + ("1" if valid.endswith("0") else "0")
    register = tmp_path / "企业名录.csv"
    register.write_text(
        "\n".join(
            [
                REGISTER_HEADER,
                f"{good[0]},丙精细化工有限公司,真北路100号,长寿路街道,第一网格,化工,"
                "铁三角工业园区,赵联系,13900000001",
                f"{good[1]},丁仓储服务有限公司,武宁路200号,长寿路街道,第一网格,仓储,,钱联系,",
                f"{bad},戊贸易有限公司,曹杨路300号,长寿路街道,,批发,,孙联系,",
            ]
        )
        + "\n",
        encoding="utf-8-sig",
    )
    page.get_by_role("navigation").get_by_role("link", name="名录导入").click()
    admin.check("register-import")
    page.get_by_label("名录文件").set_input_files(register)
    page.get_by_role("button", name="上传并预览").click()

    # The bad row is named with its problem; the good rows wait for a decision.
    errors = page.get_by_role("table")
    expect(errors).to_contain_text("第 4 行")
    expect(errors).to_contain_text("校验")
    expect(page.locator(".stat").filter(has_text="将新增")).to_contain_text("2")
    admin.check("register-import-preview")
    page.get_by_role("button", name="仅导入无误的行").click()
    expect(page.locator("ul.messages")).to_contain_text("新增 2 家")
    assert not Firm.objects.filter(uscc=bad).exists()

    # Both new firms go to agency A's contract, pasted as a list of codes.
    page.get_by_role("navigation").get_by_role("link", name="服务合同").click()
    admin.check("contracts")
    page.get_by_role("link", name=f"查看 {cast.agency_a.name} 2021").click()
    page.get_by_role("link", name="分配企业").click()
    admin.check("contract-assign")
    page.get_by_label("统一社会信用代码").fill("\n".join(good))
    page.get_by_role("button", name="预览").click()
    expect(page.locator(".stat").filter(has_text="新分配")).to_contain_text("2")
    admin.check("contract-assign-preview")
    page.get_by_role("button", name="确认分配 2 家").click()
    expect(page.locator("ul.messages")).to_contain_text("已分配 2 家")
    expect(page.get_by_role("table")).to_contain_text("丙精细化工有限公司")
    admin.check("contract")
    return good


# --- 2. The inspection, on a phone --------------------------------------------------------------


def inspector_inspects_firm_a(inspector, cast, photo):
    page = inspector.page
    inspector.check("home-agency")
    page.get_by_role("navigation").get_by_role("link", name="我的企业").click()
    # Firm A is the agency's but not yet given to anyone: search all of the agency's firms.
    page.get_by_label("只看分给我的企业").uncheck()
    page.get_by_label("名称或统一社会信用代码").fill("甲化工")
    page.get_by_role("button", name="查询").click()
    found = page.locator("ul.cards > li")
    expect(found).to_have_count(1)
    expect(found).to_contain_text(cast.firm_a.name)
    inspector.check("my-firms")
    found.get_by_role("link", name="开始检查").click()

    # The phone fills in the place; a missing name keeps everything else that was typed.
    expect(page.locator("[data-locate-status]")).to_contain_text("已获取位置")
    page.get_by_label(cast.inspector_a2.full_name).check()
    page.get_by_label("职务").fill("安全主管")
    page.get_by_label("企业在场人员姓名").fill("")
    page.get_by_role("button", name="开始检查").click()
    expect(page.locator(".has-error")).to_contain_text("企业在场人员姓名")
    expect(page.get_by_label("职务")).to_have_value("安全主管")
    expect(page.get_by_label(cast.inspector_a2.full_name)).to_be_checked()
    expect(page.get_by_label("纬度")).not_to_have_value("")
    inspector.check("inspection-start")
    page.get_by_label("企业在场人员姓名").fill("张安全")
    page.get_by_role("button", name="开始检查").click()
    expect(page.locator("ul.messages")).to_contain_text("检查已开始")
    inspection = Inspection.objects.get(firm=cast.firm_a)
    assert inspection.latitude is not None

    # One tap per item: the first one is a hazard, the rest pass.
    item_ids = page.locator("li[data-item]").evaluate_all("items => items.map(i => i.id)")
    assert len(item_ids) > 10
    for index, item_id in enumerate(item_ids):
        answer = HAZARD if index == 0 else PASS
        page.locator(f"#{item_id}").get_by_role("button", name=answer, exact=True).click()
        expect(
            page.locator(f"#{item_id}").get_by_role("button", name=answer, exact=True)
        ).to_have_attribute("aria-pressed", "true")
    inspector.check("inspection")

    # The checklist's hazard is major: the inspector says so and photographs it.
    page.locator(f"#{item_ids[0]}").get_by_role("link", name=re.compile("已登记隐患")).click()
    page.get_by_label("隐患等级").select_option(label="重大事故隐患")
    page.get_by_label("隐患部位").fill("一号仓库北侧安全出口")
    page.get_by_role("button", name="保存").click()
    expect(page.locator("ul.messages")).to_contain_text("隐患已保存")
    take_photo(page, "拍摄隐患照片", photo("安全出口堵塞.jpg", (180, 40, 40)))
    inspector.check("hazard")

    # A second hazard by hand; a missing description keeps what was typed.
    page.locator("dl.facts").get_by_role("link", name=re.compile(cast.agency_a.name)).click()
    page.get_by_text("登记其他隐患").click()
    form = page.locator("#new-hazard form")
    form.get_by_label("隐患类别").select_option(label="消防安全")
    form.get_by_label("隐患部位").fill("二号仓库")
    form.get_by_label("整改要求").fill("更换过期灭火器")
    form.get_by_role("button", name="登记隐患").click()
    form = page.locator("#new-hazard form")
    expect(form.locator(".has-error")).to_contain_text("隐患描述")
    expect(form.get_by_label("隐患部位")).to_have_value("二号仓库")
    expect(form.get_by_label("隐患类别")).to_have_value("fire")
    form.get_by_label("隐患描述").fill("二号仓库灭火器过期未更换")
    form.get_by_role("button", name="登记隐患").click()
    expect(page.locator("ul.messages")).to_contain_text("隐患已登记")

    page.locator("dl.facts").get_by_role("link", name=re.compile(cast.agency_a.name)).click()
    page.get_by_role("link", name="核对并提交").click()
    expect(page.locator(".stat").filter(has_text="隐患")).to_contain_text("2")
    inspector.check("inspection-review")
    page.get_by_role("button", name="提交检查").click()
    expect(page.locator("ul.messages")).to_contain_text("检查已提交")
    return inspection


def take_photo(page, label, path):
    """The camera button opens the phone's file chooser; the photo uploads and is confirmed."""
    with page.expect_file_chooser() as chooser:
        page.get_by_text(label, exact=True).click()
    chooser.value.set_files(path)
    row = page.locator("ul.uploads li").filter(has_text=path.name)
    expect(row.locator("progress")).to_have_count(0)
    expect(row).to_contain_text("已上传")


def assert_photo_in_storage(inspection):
    """The photo went to object storage (the bucket, or the local folder) and was confirmed."""
    evidence = Evidence.objects.get(hazard__inspection=inspection)
    assert evidence.status == Evidence.Status.CONFIRMED
    assert evidence.sha256
    assert evidence_store().size_of(evidence.key) == evidence.size


# --- 3. Review ----------------------------------------------------------------------------------


def open_from_queue(reviewer, title):
    page = reviewer.page
    page.get_by_role("navigation").get_by_role("link", name="待审核文书").click()
    page.get_by_role("link", name=re.compile(title)).first.click()


def reviewer_returns_the_order(reviewer):
    page = reviewer.page
    page.get_by_role("navigation").get_by_role("link", name="待审核文书").click()
    expect(page.locator("ul.cards > li")).to_have_count(2)
    reviewer.check("review-queue")
    page.get_by_role("link", name=re.compile("责令限期整改指令书")).click()
    # The draft beside its evidence: the hazard's photo is on the page.
    expect(page.locator("#preview")).to_contain_text("经查，你单位存在下列问题")
    expect(page.locator("#hazards img.thumbnail")).to_have_count(1)
    expect(page.locator("#hazards img.thumbnail")).to_have_js_property("complete", True)
    assert page.locator("#hazards img.thumbnail").evaluate("img => img.naturalWidth") > 0
    reviewer.check("document-review")
    page.get_by_role("button", name="退回修改").click()
    expect(page.locator("#review .has-error")).to_be_visible()
    reviewer.check("document-return-error")
    page.get_by_label("退回原因").fill("第2项隐患的整改要求请写明期限内需完成的具体措施。")
    page.get_by_role("button", name="退回修改").click()
    expect(page.locator("ul.messages")).to_contain_text("文书已退回")


def inspector_fixes_and_resubmits(inspector, inspection):
    page = inspector.page
    page.get_by_role("navigation").get_by_role("link", name="检查记录").click()
    inspector.check("inspections")
    page.get_by_role("link", name=re.compile(inspection.firm.name)).first.click()
    expect(page.locator("dl.facts")).to_contain_text("第2项隐患的整改要求")
    inspector.check("inspection-returned")
    page.locator("#hazards").get_by_role("link", name=re.compile("灭火器")).click()
    page.get_by_label("整改要求").fill("立即更换过期灭火器，并建立每月检查记录")
    page.get_by_role("button", name="保存").click()
    expect(page.locator("ul.messages")).to_contain_text("隐患已保存")
    page.locator("dl.facts").get_by_role("link", name=re.compile(inspection.agency.name)).click()
    page.get_by_role("link", name="核对并提交").click()
    page.get_by_role("button", name="提交检查").click()
    expect(page.locator("ul.messages")).to_contain_text("检查已提交")


def reviewer_signs(reviewer, *titles):
    """Signs each titled document from the queue; their numbers by title."""
    page = reviewer.page
    numbers = {}
    for title in titles:
        open_from_queue(reviewer, title)
        page.get_by_role("button", name="签发", exact=True).click()
        expect(page.locator("ul.messages")).to_contain_text("文书已签发")
        numbers[title] = page.locator("ul.messages").inner_text().split("文号：")[1].strip()
        expect(page.get_by_role("link", name=signed_file()[0])).to_be_visible()
    reviewer.check("document-signed")
    return numbers


def signed_file():
    """The signed document's link, file name ending and first bytes: the PDF where LibreOffice
    is installed (CI installs it), else the DOCX the page offers instead."""
    if pdf_available():
        return "下载 PDF", ".pdf", b"%PDF-"
    return "下载 DOCX", ".docx", b"PK\x03\x04"


# --- 4. The firm, and the re-inspection ---------------------------------------------------------


def firm_receives_the_order_and_rectifies(firm_user, number, photo):
    page = firm_user.page
    firm_user.check("home-firm")
    page.get_by_role("navigation").get_by_role("link", name="本企业的法律文书").click()
    firm_user.check("firm-documents")
    page.get_by_role("link", name=number).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("责令限期整改指令书")
    link, ending, magic = signed_file()
    with page.expect_download() as download:
        page.get_by_role("link", name=link).click()
    assert download.value.suggested_filename.endswith(ending)
    with open(download.value.path(), "rb") as signed:
        assert signed.read(len(magic)) == magic
    firm_user.check("firm-document")
    page.get_by_role("button", name="签收").click()
    expect(page.locator("ul.messages")).to_contain_text("已签收")
    document = Document.objects.get(number=number)
    assert document.acknowledged_at is not None and document.doc_type == DocType.RECTIFICATION_ORDER

    page.get_by_role("navigation").get_by_role("link", name="隐患整改").click()
    firm_user.check("firm-hazards")
    page.locator("ul.cards > li").filter(has_text="重大事故隐患").get_by_role("link").click()
    page.get_by_label("整改情况").fill("已清除安全出口处堆放的货物，并设置禁止占用标识。")
    # A file named like a photo that is not one: refused with the reason, not offered again.
    not_a_photo = photo("整改说明.jpg", "black")
    not_a_photo.write_text("这不是照片", encoding="utf-8")
    with page.expect_file_chooser() as chooser:
        page.get_by_text("上传整改后照片", exact=True).click()
    chooser.value.set_files(not_a_photo)
    refused = page.locator("ul.uploads li").filter(has_text=not_a_photo.name)
    expect(refused.locator(".error")).to_contain_text("上传失败：文件内容不是允许的类型")
    expect(refused.locator("progress")).to_be_hidden()
    expect(refused.get_by_role("button", name="重试")).to_have_count(0)
    take_photo(page, "上传整改后照片", photo("整改后.jpg", (40, 160, 60)))
    firm_user.check("firm-rectify")
    page.get_by_role("button", name="提交整改报告").click()
    expect(page.locator("ul.messages")).to_contain_text("整改情况已报告")


def inspector_reinspects(inspector, photo):
    page = inspector.page
    page.get_by_role("navigation").get_by_role("link", name="待复查隐患").click()
    inspector.check("reinspection-list")
    page.locator("ul.cards > li").filter(has_text="重大事故隐患").get_by_role("link").click()
    page.get_by_label("复查意见").fill("安全出口已畅通，整改到位。")
    take_photo(page, "拍摄复查照片", photo("复查.jpg", (40, 60, 160)))
    page.get_by_role("button", name="提交复查结论").click()
    form = page.locator("#reinspect-form")
    expect(form.locator(".has-error")).to_contain_text("复查结论")
    expect(form.get_by_label("复查意见")).to_have_value("安全出口已畅通，整改到位。")
    expect(form.locator("input[name=evidence]")).to_have_count(1)
    page.get_by_label("复查通过，予以销号").check()
    inspector.check("reinspection")
    page.get_by_role("button", name="提交复查结论").click()
    expect(page.locator("ul.messages")).to_contain_text("复查通过")


# --- 5. The bureau's dashboard, 6. the other agency ---------------------------------------------


def bureau_dashboard_counts_it(admin):
    page = admin.page
    page.get_by_role("navigation").get_by_role("link", name="统计分析").click()
    summary = page.locator("#summary-heading + .stats")
    expect(summary.locator(".stat").filter(has_text="发现隐患")).to_contain_text("2")
    expect(summary.locator(".stat").filter(has_text="重大事故隐患")).to_contain_text("1")
    expect(summary.locator(".stat").filter(has_text="已完成整改")).to_contain_text("1")
    admin.check("dashboard")


def agency_b_finds_nothing(inspector_b, cast):
    page = inspector_b.page
    page.get_by_role("navigation").get_by_role("link", name="我的企业").click()
    page.get_by_label("只看分给我的企业").uncheck()
    page.get_by_label("名称或统一社会信用代码").fill("甲化工")
    page.get_by_role("button", name="查询").click()
    expect(page.locator("ul.cards > li")).to_have_count(0)
    expect(page.get_by_text("没有符合条件的企业")).to_be_visible()
    inspector_b.check("my-firms-other-agency")
    response = page.goto(f"/firms/{cast.firm_a.pk}/")
    assert response.status == 404
    expect(page.get_by_role("heading", name="页面不存在")).to_be_visible()
    expect(page.locator("body")).not_to_contain_text(cast.firm_a.name)
    inspector_b.check("not-found")
