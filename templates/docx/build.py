"""Writes the three default document templates (docxtpl) next to this script.

Edit the form you need below, then regenerate all three with

    .venv/bin/python templates/docx/build.py

The context each template receives, and so every name it may use, is in
documents/drafting/samples.py.
The rules a template follows:

- every value goes through {{ }} (autoescaped; never |safe);
- each Jinja tag is written as the text of a single run, so Word cannot split it;
- a loop over paragraphs or table rows sits in a paragraph or row of its own ({%p ...%} or
  {%tr ...%}); docxtpl replaces that whole paragraph or row by the tag;
- an empty field prints as an underlined blank to fill in by hand; an empty table prints one
  row saying so (无), never blank rows that could be filled in after signing.

The output is deterministic: the same script writes the same bytes.
"""

import io
import zipfile
from pathlib import Path

from docx import Document
from docx.enum.section import WD_SECTION
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

HERE = Path(__file__).resolve().parent

# Fonts of the official forms. Only the names are written: LibreOffice on the server falls back
# to Noto CJK for them, Word on the desk has them.
LATIN = "Times New Roman"
FANGSONG = "仿宋"  # body text
SONGTI = "宋体"  # the bureau's name
HEITI = "黑体"  # the form's title, table headers

# Chinese type sizes in points.
ERHAO = 22  # 二号: titles
SIHAO = 14  # 四号: body text; 三号 would push an order's signatures and seal to a second page
WUHAO = 10.5  # 五号: table text, notes, footer

# Blanks for hand filling, printed underlined when the value is empty (full-width spaces keep
# their width in every CJK font).
BLANK = "\u3000" * 8
SHORT_BLANK = "\u3000" * 4
NUMBER_BLANK = "〔\u3000\u3000〕\u3000\u3000号"
DATE_BLANK = "\u3000\u3000年\u3000\u3000月\u3000\u3000日"
TIME_BLANK = "\u3000\u3000年\u3000月\u3000日\u3000时\u3000分"

# Zip entries get this timestamp so that two builds are byte for byte the same.
FIXED_ZIP_TIME = (2021, 1, 1, 0, 0, 0)


class U(str):
    """A piece of text printed underlined: a value on the form's fill-in line."""


def value(expression, blank=BLANK):
    """The Jinja text printing `expression`, or an underlined blank when it is empty."""
    return U("{{ " + expression + ' or "' + blank + '" }}')


def _set_fonts(rpr, east_asia):
    """Give an rPr explicit fonts: the theme fonts of python-docx's default template would
    otherwise win over the east-Asian name."""
    fonts = rpr.get_or_add_rFonts()
    for name in list(fonts.attrib):
        del fonts.attrib[name]
    for attribute in ("w:ascii", "w:hAnsi", "w:cs"):
        fonts.set(qn(attribute), LATIN)
    fonts.set(qn("w:eastAsia"), east_asia)


class Form:
    """One official form being written: page set-up, styles and the pieces every form shares."""

    def __init__(self, *, title, body_size):
        self.title = title
        self.body_size = body_size
        self.doc = Document()
        self._set_up_page()
        self._set_up_styles()

    # --- set-up -----------------------------------------------------------------------------------

    def _set_up_page(self):
        section = self.doc.sections[0]
        section.start_type = WD_SECTION.NEW_PAGE
        section.page_width = Cm(21)
        section.page_height = Cm(29.7)
        section.top_margin = Cm(3.7)
        section.bottom_margin = Cm(3.5)
        section.left_margin = Cm(2.8)
        section.right_margin = Cm(2.6)
        section.header_distance = Cm(1.5)
        section.footer_distance = Cm(2.0)

    def _set_up_styles(self):
        styles = self.doc.styles
        defaults = styles.element.find(qn("w:docDefaults"))
        default_rpr = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr"))
        _set_fonts(default_rpr, FANGSONG)
        default_rpr.sz_val = Pt(self.body_size)
        language = default_rpr.find(qn("w:lang"))
        for name in list(language.attrib):
            del language.attrib[name]
        language.set(qn("w:val"), "en-US")
        language.set(qn("w:eastAsia"), "zh-CN")
        language.set(qn("w:bidi"), "ar-SA")

        normal = styles["Normal"]
        _set_fonts(normal.element.get_or_add_rPr(), FANGSONG)
        normal.font.size = Pt(self.body_size)
        normal.paragraph_format.space_before = Pt(0)
        normal.paragraph_format.space_after = Pt(0)
        normal.paragraph_format.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        # Close to the 公文 rhythm (28 pt a line for 三号), a little tighter so that an order with
        # a few hazards keeps its signatures and seal on the first page.
        normal.paragraph_format.line_spacing = Pt(round(self.body_size * 1.6))

        self.bureau_style = self._paragraph_style("Form Bureau", SONGTI, ERHAO, bold=True)
        self.title_style = self._paragraph_style("Form Title", HEITI, ERHAO)
        self.table_style = self._paragraph_style("Form Table", FANGSONG, WUHAO)
        self.table_style.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
        self.table_header_style = self._paragraph_style("Form Table Header", HEITI, WUHAO)
        self.table_header_style.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
        self.table_header_style.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
        self.note_style = self._paragraph_style("Form Note", FANGSONG, WUHAO)
        for style in (self.bureau_style, self.title_style):
            style.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
            style.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
        self.title_style.paragraph_format.space_before = Pt(6)
        self.title_style.paragraph_format.space_after = Pt(12)
        # A photo is taller than an exact line: its paragraph must grow with it.
        self.photo_style = self._paragraph_style("Form Photo", FANGSONG, self.body_size)
        self.photo_style.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE

    def _paragraph_style(self, name, east_asia, size, *, bold=False):
        style = self.doc.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        style.base_style = self.doc.styles["Normal"]
        style.quick_style = True
        _set_fonts(style.element.get_or_add_rPr(), east_asia)
        style.font.size = Pt(size)
        style.font.bold = bold or None
        return style

    # --- writing ----------------------------------------------------------------------------------

    def paragraph(
        self, *parts, indent=True, align=None, style=None, space_before=0, keep_with_next=False
    ):
        """A paragraph of `parts`, each one run (a U part is underlined). Body paragraphs are
        indented two characters, as in the forms."""
        paragraph = self.doc.add_paragraph(style=style)
        paragraph.paragraph_format.keep_with_next = keep_with_next or None
        if indent:
            paragraph.paragraph_format.first_line_indent = Pt(self.body_size * 2)
        if align is not None:
            paragraph.alignment = align
        if space_before:
            paragraph.paragraph_format.space_before = Pt(space_before)
        for part in parts:
            run = paragraph.add_run(part)
            if isinstance(part, U):
                run.underline = True
        return paragraph

    def tag(self, tag):
        """A paragraph holding only a {%p ... %} tag: docxtpl removes the paragraph itself."""
        self.doc.add_paragraph(tag)

    def heading(self):
        """The bureau, the form's title and the number line every form opens with."""
        self.paragraph("{{ bureau.name }}", indent=False, style=self.bureau_style)
        self.paragraph(self.title, indent=False, style=self.title_style)
        self.paragraph(
            "{% if document.number %}{{ document.number }}{% else %}"
            + NUMBER_BLANK
            + "{% endif %}",
            indent=False,
            align=WD_ALIGN_PARAGRAPH.RIGHT,
        )

    def table(self, columns, *, loop, empty_text="无"):
        """A bordered table: a header row, then one row per item of `loop` ("x in items"),
        each column a (header, width in cm, cell text) triple; `empty_text` fills one merged
        row when there are no items, so a signed form has no blank rows to add to later."""
        table = self.doc.add_table(rows=6, cols=len(columns))
        table.style = self.doc.styles["Table Grid"]
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        table.autofit = False  # a fixed layout: the column widths below hold
        header, loop_start, item, loop_else, empty, loop_end = table.rows
        # The header row repeats on every page the table runs over.
        header._tr.get_or_add_trPr().append(OxmlElement("w:tblHeader"))
        # An item's row is not torn across two pages.
        item._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))
        for index, (title, width, text) in enumerate(columns):
            table.columns[index].width = Cm(width)
            for row in table.rows:
                row.cells[index].width = Cm(width)
            self._cell_text(header.cells[index], title, self.table_header_style)
            self._cell_text(item.cells[index], text, self.table_style)
        self._cell_text(loop_start.cells[0], "{%tr for " + loop + " %}", self.table_style)
        self._cell_text(loop_else.cells[0], "{%tr else %}", self.table_style)
        merged = empty.cells[0].merge(empty.cells[-1])
        self._cell_text(merged, empty_text, self.table_style)
        merged.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
        self._cell_text(loop_end.cells[0], "{%tr endfor %}", self.table_style)

    @staticmethod
    def _cell_text(cell, text, style):
        paragraph = cell.paragraphs[0]
        paragraph.style = style
        paragraph.add_run(text)

    def signature(self, label, *, after=()):
        """A signature line: `label`, an underlined blank to sign on, then `after` parts. It
        keeps with what follows, so signatures, seal and date never part across pages."""
        return self.paragraph(
            label, U(BLANK), *after, indent=False, space_before=6, keep_with_next=True
        )

    def inspectors_signatures(self):
        """One line per inspector with the certificate number printed; two blank lines when
        the draft has no inspectors yet (the forms need two)."""
        self.tag("{%p for i in inspectors %}")
        self.signature("检查人员（签名）：", after=("\u3000证号：", U("{{ i.certificate }}")))
        self.tag("{%p else %}")
        for _ in range(2):
            self.signature("检查人员（签名）：", after=("\u3000证号：", U(SHORT_BLANK)))
        self.tag("{%p endfor %}")

    def seal_and_date(self):
        """The issuing bureau's seal line with the date under it, right-aligned."""
        seal = self.paragraph(
            "{{ bureau.name }}（印章）",
            indent=False,
            align=WD_ALIGN_PARAGRAPH.RIGHT,
            space_before=self.body_size * 2,
        )
        date = self.paragraph(date_text(), indent=False, align=WD_ALIGN_PARAGRAPH.RIGHT)
        for paragraph in (seal, date):
            paragraph.paragraph_format.right_indent = Pt(self.body_size * 2)
            paragraph.paragraph_format.keep_with_next = True

    def note(self, text):
        self.paragraph(text, indent=False, style=self.note_style, space_before=12)

    def page_x_of_y_footer(self):
        """第 X 页 共 Y 页 with Word's PAGE and NUMPAGES fields (LibreOffice renders both)."""
        paragraph = self.doc.sections[0].footer.paragraphs[0]
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        paragraph.style = self.note_style
        paragraph.add_run("第 ")
        _add_field(paragraph, "PAGE")
        paragraph.add_run(" 页 共 ")
        _add_field(paragraph, "NUMPAGES")
        paragraph.add_run(" 页")

    def save(self, path):
        _drop_thumbnail(self.doc)
        properties = self.doc.core_properties
        properties.title = self.title
        properties.author = ""
        properties.comments = ""
        buffer = io.BytesIO()
        self.doc.save(buffer)
        path.write_bytes(_with_fixed_timestamps(buffer.getvalue()))


def date_text():
    return "{% if document.date %}{{ document.date }}{% else %}" + DATE_BLANK + "{% endif %}"


def _add_field(paragraph, instruction):
    """A complex field (begin, instruction, separate, shown value, end), as Word writes it."""

    def run_with(element):
        paragraph.add_run()._r.append(element)

    begin = OxmlElement("w:fldChar")
    begin.set(qn("w:fldCharType"), "begin")
    run_with(begin)
    code = OxmlElement("w:instrText")
    code.set(qn("xml:space"), "preserve")
    code.text = f" {instruction} "
    run_with(code)
    separate = OxmlElement("w:fldChar")
    separate.set(qn("w:fldCharType"), "separate")
    run_with(separate)
    paragraph.add_run("1")
    end = OxmlElement("w:fldChar")
    end.set(qn("w:fldCharType"), "end")
    run_with(end)


def _drop_thumbnail(doc):
    """python-docx's default template carries a thumbnail of an empty page; a file manager
    would show it as the form's preview."""
    relationships = doc.part.package.rels
    for key in [key for key, rel in relationships.items() if rel.reltype == RT.THUMBNAIL]:
        relationships.pop(key)


def _with_fixed_timestamps(content):
    source = zipfile.ZipFile(io.BytesIO(content))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            info = zipfile.ZipInfo(entry.filename, date_time=FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(info, source.read(entry.filename))
    return out.getvalue()


# --- 现场检查记录 ---------------------------------------------------------------------------------


def inspection_record():
    form = Form(title="现场检查记录", body_size=SIHAO)
    form.heading()
    line = form.paragraph
    line("被检查单位：", U("{{ firm.name }}"), indent=False)
    line("地址：", value("firm.address", BLANK * 2), indent=False)
    line(
        "法定代表人（负责人）：",
        value("firm.legal_representative", SHORT_BLANK),
        "\u3000联系电话：",
        value("firm.phone"),
        indent=False,
    )
    line(
        "现场负责人：",
        value("inspection.representative", SHORT_BLANK),
        "\u3000职务：",
        value("inspection.representative_post", SHORT_BLANK),
        "\u3000联系电话：",
        value("inspection.representative_phone"),
        indent=False,
    )
    line("检查场所：", value("inspection.place", BLANK * 2), indent=False)
    line(
        "检查时间：自",
        value("inspection.time_from", TIME_BLANK),
        "至",
        value("inspection.time_to", TIME_BLANK),
        indent=False,
    )
    line(
        "我们是受{{ bureau.name }}委托的{{ agency.name }}检查人员"
        "{% for i in inspectors %}{{ i.name }}（证件号：{{ i.certificate }}）"
        "{% if not loop.last %}、{% endif %}{% endfor %}"
        "{% if inspectors %}，这是我们的证件{% endif %}"
        "，现依法对你单位进行现场检查，请予以配合。",
        space_before=6,
    )

    line("检查情况：", indent=False, space_before=6, keep_with_next=True)
    form.table(
        [
            ("序号", 1.2, "{{ f.no }}"),
            ("类别", 2.4, "{{ f.category }}"),
            ("检查内容", 6.0, "{{ f.text }}"),
            ("结果", 2.0, "{{ f.result }}"),
            ("说明", 4.0, "{{ f.note }}"),
        ],
        loop="f in findings",
    )

    line("发现的事故隐患：", indent=False, space_before=6, keep_with_next=True)
    form.table(
        [
            ("序号", 1.2, "{{ h.no }}"),
            ("类别", 1.9, "{{ h.category }}"),
            ("等级", 1.9, "{{ h.level }}"),
            ("描述", 2.8, "{{ h.description }}"),
            ("部位", 1.6, "{{ h.location }}"),
            ("依据", 2.3, "{{ h.legal_basis }}"),
            (
                "整改要求",
                2.0,
                "{{ h.requirement }}{% if h.rectified_on_spot %}（已当场整改）{% endif %}",
            ),
            ("期限", 1.9, "{{ h.deadline }}"),
        ],
        loop="h in hazards",
        empty_text="未发现事故隐患",
    )

    # Photos only exist when evidence was confirmed; `p.image` is an InlineImage at render time
    # and is only ever read inside the loop over a hazard's photos.
    form.tag('{%p if hazards|selectattr("photos")|list %}')
    line("现场照片：", indent=False, space_before=6)
    form.tag("{%p for h in hazards %}")
    form.tag("{%p if h.photos %}")
    line("隐患{{ h.no }}（{{ h.location }}）：", indent=False)
    form.tag("{%p for p in h.photos %}")
    form.paragraph("{{ p.image }}", indent=False, style=form.photo_style)
    form.tag("{%p if p.taken_at %}")
    form.paragraph("拍摄时间：{{ p.taken_at }}", indent=False, style=form.note_style)
    form.tag("{%p endif %}")
    form.tag("{%p endfor %}")
    form.tag("{%p endif %}")
    form.tag("{%p endfor %}")
    form.tag("{%p endif %}")

    line(
        "本次共检查{{ summary.checked }}项，符合{{ summary.passed }}项，"
        "发现事故隐患{{ summary.hazards }}处"
        "{% if summary.major %}，其中重大事故隐患{{ summary.major }}处{% endif %}。",
        space_before=6,
        keep_with_next=True,
    )

    form.signature("检查人员（签名）：")
    form.signature("被检查单位现场负责人（签名）：")
    date = line(date_text(), indent=False, align=WD_ALIGN_PARAGRAPH.RIGHT, space_before=12)
    date.paragraph_format.right_indent = Pt(SIHAO * 2)
    form.page_x_of_y_footer()
    return form


# --- 责令限期整改指令书 ---------------------------------------------------------------------------


def rectification_order():
    form = Form(title="责令限期整改指令书", body_size=SIHAO)
    form.heading()
    line = form.paragraph
    line("{{ firm.name }}：", indent=False)
    line("经查，你单位存在下列问题：")
    form.tag("{%p for h in hazards %}")
    line(
        "{{ h.no }}. {{ h.description }}"
        "{% if h.location and h.legal_basis %}（{{ h.location }}；依据：{{ h.legal_basis }}）"
        "{% elif h.location %}（{{ h.location }}）"
        "{% elif h.legal_basis %}（依据：{{ h.legal_basis }}）{% endif %}"
        "{% if h.is_major %}【重大事故隐患】{% endif %}"
    )
    form.tag("{%p endfor %}")
    form.tag("{%p if major_numbers %}")
    line("其中第{{ major_numbers }}项为重大事故隐患。")
    form.tag("{%p endif %}")
    line(
        "现责令你单位"
        "{% for g in deadline_groups %}"
        "{% if loop.first %}对上述{% else %}，{% endif %}"
        "第{{ g.numbers }}项问题于{{ g.deadline }}前整改完毕"
        "{% else %}"
        f"对上述第{SHORT_BLANK}项问题于{DATE_BLANK}前整改完毕"
        "{% endfor %}"
        "，达到有关法律法规规章和标准规定的要求。由此造成事故的，依法追究有关人员的责任。"
    )
    line("整改期间，你单位应当采取必要的安全防范措施，防止事故发生。")
    # The appeal bodies are bureau settings and may still be empty: the sentence then names
    # them generically, and a bureau that names no department gets the government alone.
    line(
        "如果不服本指令，可以依法在60日内向"
        '{{ bureau.review_government or "本级人民政府" }}'
        "{% if bureau.review_department %}或者{{ bureau.review_department }}{% endif %}"
        "申请行政复议，或者在6个月内依法向"
        '{{ bureau.court or "人民法院" }}'
        "提起行政诉讼，但本指令不停止执行，法律另有规定的除外。"
    )
    form.inspectors_signatures()
    form.signature("被检查单位负责人（签名）：")
    form.seal_and_date()
    form.note("本文书一式两份：一份由{{ bureau.name }}备案，一份交被检查单位。")
    return form


# --- 整改复查意见书 -------------------------------------------------------------------------------


def reinspection_opinion():
    form = Form(title="整改复查意见书", body_size=SIHAO)
    form.heading()
    line = form.paragraph
    line("{{ firm.name }}：", indent=False)
    line(
        "本机关于"
        f'{{{{ order.date or "{DATE_BLANK}" }}}}'
        f'作出了{{{{ order.decision or "{BLANK}" }}}}的决定'
        f'（{{{{ order.number or "{NUMBER_BLANK}" }}}}），'
        "经对你单位整改情况进行复查，提出如下意见："
    )
    form.tag("{%p if rectified %}")
    line("经复查，以下问题已整改完毕：")
    form.tag("{%p for x in rectified %}")
    line("{{ x.no }}. {{ x.description }}{% if x.note %}（{{ x.note }}）{% endif %}")
    form.tag("{%p endfor %}")
    form.tag("{%p endif %}")
    form.tag("{%p if not_rectified %}")
    line("以下问题未整改完毕：")
    form.tag("{%p for x in not_rectified %}")
    line(
        "{{ x.no }}. {{ x.description }}{% if x.note %}（{{ x.note }}）{% endif %}"
        "，责令于{{ x.new_deadline }}前整改完毕。"
    )
    form.tag("{%p endfor %}")
    line("整改期间，你单位应当采取必要的安全防范措施，防止事故发生。")
    form.tag("{%p endif %}")
    form.inspectors_signatures()
    form.signature("被复查单位负责人（签名）：")
    form.seal_and_date()
    form.note("本文书一式两份：一份由{{ bureau.name }}备案，一份交被复查单位。")
    return form


FORMS = {
    "inspection_record": inspection_record,
    "rectification_order": rectification_order,
    "reinspection_opinion": reinspection_opinion,
}


def main():
    for doc_type, build in FORMS.items():
        path = HERE / f"{doc_type}.docx"
        build().save(path)
        print(f"wrote {path.name}")


if __name__ == "__main__":
    main()
