"""The three shipped .docx templates: they pass the upload check, render every sample context,
print what each official form must carry, keep user text as text, take photos, and are what
templates/docx/build.py writes. No database: contexts are the plain samples."""

import copy
import importlib.util
import io
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from django.conf import settings
from docx import Document
from docx.oxml.ns import qn
from docx.shared import Pt
from lxml import etree
from PIL import Image

from documents.drafting.rendering import check_template, render_docx
from documents.drafting.samples import FULL, MINIMAL, sample_contexts
from documents.drafting.services import default_template_path
from documents.models import DocType

ALL_TYPES = list(DocType)
NASTY = '仓库内消防通道被货物堵塞 <A&B> "急"'
BLANK_NUMBER = "〔\u3000\u3000〕\u3000\u3000号"
BLANK_DATE = "\u3000\u3000年\u3000\u3000月\u3000\u3000日"


def template(doc_type):
    return default_template_path(doc_type).read_bytes()


def texts(docx):
    """Every paragraph and table cell of the body, in order, as a reader would see them."""
    document = Document(io.BytesIO(docx))
    lines = [paragraph.text for paragraph in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            lines.extend(cell.text for cell in row.cells)
    return lines


def text(docx):
    return "\n".join(texts(docx))


def docx_bytes(*paragraphs):
    document = Document()
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def png_bytes():
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


# --- the upload check and every sample ------------------------------------------------------------


@pytest.mark.parametrize("doc_type", ALL_TYPES)
def test_default_passes_the_check_uploaded_templates_must_pass(doc_type):
    assert check_template(template(doc_type), sample_contexts(doc_type)) == []


@pytest.mark.parametrize("doc_type", ALL_TYPES)
@pytest.mark.parametrize("samples", [FULL, MINIMAL], ids=["full", "minimal"])
def test_every_sample_renders_with_no_tag_or_python_value_left(doc_type, samples):
    context = samples[doc_type]
    rendered = text(render_docx(template(doc_type), context))

    assert context["firm"]["name"] in rendered
    assert context["bureau"]["name"] in rendered
    assert str(DocType(doc_type).label) in rendered
    for leftover in ("{{", "}}", "{%", "%}", "None", "built-in method", "Undefined"):
        assert leftover not in rendered


@pytest.mark.parametrize("doc_type", ALL_TYPES)
def test_full_sample_prints_the_number_date_and_inspectors(doc_type):
    context = FULL[doc_type]
    lines = texts(render_docx(template(doc_type), context))

    assert context["document"]["number"] in lines  # on a line of its own
    assert context["document"]["date"] in "\n".join(lines)
    for inspector in context["inspectors"]:
        assert inspector["certificate"] in "\n".join(lines)
    assert BLANK_NUMBER not in lines


@pytest.mark.parametrize("doc_type", ALL_TYPES)
def test_a_draft_shows_blanks_for_the_number_and_the_date(doc_type):
    lines = texts(render_docx(template(doc_type), MINIMAL[doc_type]))

    assert BLANK_NUMBER in lines
    assert BLANK_DATE in lines


# --- what each form carries -----------------------------------------------------------------------


def test_inspection_record_carries_the_unit_the_time_the_findings_and_the_hazards():
    context = FULL[DocType.INSPECTION_RECORD]
    rendered = text(render_docx(template(DocType.INSPECTION_RECORD), context))

    firm, inspection = context["firm"], context["inspection"]
    for value in (
        firm["address"],
        firm["legal_representative"],
        firm["phone"],
        inspection["representative"],
        inspection["representative_post"],
        inspection["representative_phone"],
        inspection["place"],
        f"自{inspection['time_from']}至{inspection['time_to']}",
        context["agency"]["name"],
        "李四（证件号：31070001）、王五（证件号：31070002）",
        "现依法对你单位进行现场检查，请予以配合。",
        "本次共检查2项，符合1项，发现事故隐患2处，其中重大事故隐患1处。",
        "检查人员（签名）",
        "被检查单位现场负责人（签名）",
    ):
        assert value in rendered
    for finding in context["findings"]:
        assert finding["text"] in rendered
        assert finding["result"] in rendered
    for hazard in context["hazards"]:
        for key in ("description", "level", "location", "legal_basis", "requirement"):
            assert hazard[key] in rendered
        assert hazard["deadline"] in rendered
    assert "未发现事故隐患" not in rendered


def test_inspection_record_without_hazards_says_so_instead_of_leaving_rows_to_fill():
    rendered = texts(
        render_docx(template(DocType.INSPECTION_RECORD), MINIMAL[DocType.INSPECTION_RECORD])
    )

    assert "未发现事故隐患" in rendered
    assert "本次共检查0项，符合0项，发现事故隐患0处。" in rendered


def test_inspection_record_footer_numbers_the_pages():
    rendered = render_docx(template(DocType.INSPECTION_RECORD), FULL[DocType.INSPECTION_RECORD])
    footer = Document(io.BytesIO(rendered)).sections[0].footer

    fields = [code.text.strip() for code in footer._element.iter(qn("w:instrText"))]
    assert fields == ["PAGE", "NUMPAGES"]
    assert re.fullmatch(r"第 \d+ 页 共 \d+ 页", footer.paragraphs[0].text)


def test_rectification_order_lists_the_hazards_marks_the_major_ones_and_sets_the_deadlines():
    context = FULL[DocType.RECTIFICATION_ORDER]
    lines = texts(render_docx(template(DocType.RECTIFICATION_ORDER), context))
    rendered = "\n".join(lines)

    assert f"{context['firm']['name']}：" in lines
    assert "经查，你单位存在下列问题：" in lines
    assert (
        f"1. {NASTY}（1号仓库；依据：《中华人民共和国消防法》第二十八条）【重大事故隐患】" in lines
    )
    assert (
        "2. 配电箱未张贴警示标志（生产车间；依据：《中华人民共和国安全生产法》第三十五条）" in lines
    )
    assert "其中第1项为重大事故隐患。" in lines
    assert (
        "现责令你单位对上述第1项问题于2021年10月19日前整改完毕，"
        "第2项问题于2021年11月11日前整改完毕，达到有关法律法规规章和标准规定的要求。"
    ) in rendered
    assert "整改期间，你单位应当采取必要的安全防范措施，防止事故发生。" in lines
    assert "被检查单位负责人（签名）" in rendered
    assert "上海市普陀区应急管理局（印章）" in lines


def test_rectification_order_names_the_bureaus_appeal_bodies():
    lines = texts(
        render_docx(template(DocType.RECTIFICATION_ORDER), FULL[DocType.RECTIFICATION_ORDER])
    )

    assert (
        "如果不服本指令，可以依法在60日内向上海市普陀区人民政府或者上海市应急管理局申请行政复议，"
        "或者在6个月内依法向上海市普陀区人民法院提起行政诉讼，但本指令不停止执行，"
        "法律另有规定的除外。"
    ) in lines


def test_rectification_order_reads_well_before_the_bureau_named_its_appeal_bodies():
    lines = texts(
        render_docx(template(DocType.RECTIFICATION_ORDER), MINIMAL[DocType.RECTIFICATION_ORDER])
    )
    rendered = "\n".join(lines)

    assert "可以依法在60日内向本级人民政府申请行政复议" in rendered
    assert "依法向人民法院提起行政诉讼" in rendered
    assert "其中第" not in rendered
    # Two signature lines for the inspectors even before they are known.
    assert sum(line.startswith("检查人员（签名）：") for line in lines) == 2


def test_reinspection_opinion_names_the_order_and_splits_rectified_from_not():
    context = FULL[DocType.REINSPECTION_OPINION]
    lines = texts(render_docx(template(DocType.REINSPECTION_OPINION), context))

    assert (
        "本机关于2021年10月13日作出了责令限期整改的决定（（普）应急责改〔2021〕12号），"
        "经对你单位整改情况进行复查，提出如下意见："
    ) in lines
    assert lines.index("经复查，以下问题已整改完毕：") < lines.index(
        "1. 仓库内消防通道被货物堵塞（已清理）"
    )
    assert "2. 配电箱未张贴警示标志（尚未张贴），责令于2021年11月30日前整改完毕。" in lines
    assert "被复查单位负责人（签名）" in "\n".join(lines)


def test_reinspection_opinion_of_an_unnumbered_order_leaves_blanks():
    lines = texts(
        render_docx(template(DocType.REINSPECTION_OPINION), MINIMAL[DocType.REINSPECTION_OPINION])
    )

    assert (
        f"本机关于{BLANK_DATE}作出了责令限期整改的决定（{BLANK_NUMBER}），"
        "经对你单位整改情况进行复查，提出如下意见："
    ) in lines
    assert not any("整改完毕" in line for line in lines)


# --- user text stays text -------------------------------------------------------------------------


@pytest.mark.parametrize("doc_type", [DocType.INSPECTION_RECORD, DocType.RECTIFICATION_ORDER])
def test_markup_in_a_value_is_printed_literally_and_the_xml_stays_valid(doc_type):
    rendered = render_docx(template(doc_type), FULL[doc_type])

    assert NASTY in text(rendered)
    body = zipfile.ZipFile(io.BytesIO(rendered)).read("word/document.xml")
    etree.fromstring(body)  # raises on broken XML
    assert b"&lt;A&amp;B&gt;" in body


# --- photos ---------------------------------------------------------------------------------------


def test_a_hazard_photo_is_embedded_in_the_inspection_record():
    context = copy.deepcopy(FULL[DocType.INSPECTION_RECORD])
    context["hazards"][0]["photos"] = [{"key": "k1", "taken_at": "2021-10-12 09:40"}]
    without = render_docx(template(DocType.INSPECTION_RECORD), FULL[DocType.INSPECTION_RECORD])

    rendered = render_docx(template(DocType.INSPECTION_RECORD), context, photos={"k1": png_bytes()})

    media = [
        name
        for name in zipfile.ZipFile(io.BytesIO(rendered)).namelist()
        if name.startswith("word/media/")
    ]
    assert len(media) == 1
    assert not any(
        name.startswith("word/media/") for name in zipfile.ZipFile(io.BytesIO(without)).namelist()
    )
    lines = texts(rendered)
    assert "现场照片：" in lines
    assert "隐患1（1号仓库）：" in lines
    assert "拍摄时间：2021-10-12 09:40" in lines
    assert "现场照片：" not in texts(without)


# --- the check refuses unsafe uploads -------------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "problem"),
    [
        ("{{ ''.__class__ }}", "unsafe: __class__"),
        ("{{ settings.SECRET_KEY }}", "undefined: settings"),
    ],
)
def test_check_refuses_an_upload_reaching_outside_the_context(tag, problem):
    content = docx_bytes("{{ firm.name }}", tag)

    problems = check_template(content, sample_contexts(DocType.RECTIFICATION_ORDER))

    assert problem in problems


def test_check_lists_a_syntax_error():
    content = docx_bytes("{% if %}是{% endif %}")

    problems = check_template(content, sample_contexts(DocType.RECTIFICATION_ORDER))

    assert len(problems) == 1
    assert problems[0].startswith("TemplateSyntaxError")


# --- layout and the build script ------------------------------------------------------------------


@pytest.mark.parametrize("doc_type", ALL_TYPES)
def test_templates_are_a4_with_official_margins_and_chinese_fonts(doc_type):
    document = Document(io.BytesIO(template(doc_type)))
    section = document.sections[0]

    assert (round(section.page_width.cm, 1), round(section.page_height.cm, 1)) == (21.0, 29.7)
    margins = (section.top_margin, section.bottom_margin, section.left_margin, section.right_margin)
    assert tuple(round(m.cm, 1) for m in margins) == (3.7, 3.5, 2.8, 2.6)
    defaults = document.styles.element.find(qn("w:docDefaults"))
    assert defaults.find(".//" + qn("w:rFonts")).get(qn("w:eastAsia")) == "仿宋"
    assert defaults.find(".//" + qn("w:lang")).get(qn("w:eastAsia")) == "zh-CN"
    assert document.styles["Form Title"].element.rPr.rFonts.get(qn("w:eastAsia")) == "黑体"
    assert document.styles["Form Title"].font.size == Pt(22)


def test_committed_templates_are_what_the_build_script_writes(tmp_path):
    spec = importlib.util.spec_from_file_location(
        "docx_build", Path(settings.BASE_DIR) / "templates" / "docx" / "build.py"
    )
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)

    for doc_type, write in build.FORMS.items():
        target = tmp_path / f"{doc_type}.docx"
        write().save(target)
        assert target.read_bytes() == template(doc_type), f"rerun build.py: {doc_type} is stale"


# --- PDF through LibreOffice ----------------------------------------------------------------------


@pytest.mark.skipif(
    not (shutil.which("soffice") and shutil.which("pdftotext")),
    reason="needs LibreOffice (soffice) and poppler's pdftotext on PATH",
)
def test_rendered_order_converts_to_a_pdf_with_its_text(tmp_path):
    context = FULL[DocType.RECTIFICATION_ORDER]
    source = tmp_path / "order.docx"
    source.write_bytes(render_docx(template(DocType.RECTIFICATION_ORDER), context))

    subprocess.run(
        [
            shutil.which("soffice"),
            f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    extracted = subprocess.run(
        ["pdftotext", str(tmp_path / "order.pdf"), "-"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout

    # pdftotext puts spaces where the font changes between Latin and CJK.
    squeezed = "".join(extracted.split())
    assert context["firm"]["name"] in squeezed
    assert context["document"]["number"] in squeezed
    assert "上海市普陀区人民法院" in squeezed
