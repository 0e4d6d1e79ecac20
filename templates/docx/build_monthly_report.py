"""Writes the monthly report template (monthly_report.docx, docxtpl) next to this script.

Edit the report below, then regenerate it with

    .venv/bin/python templates/docx/build_monthly_report.py

It shares the page set-up, styles and table helper of the three forms (build.py), and follows
the same rules: every value through {{ }}, each Jinja tag the text of a single run, table loops
in rows of their own. The context it receives is reporting.exports.monthly_report_context.
"""

from build import HERE, SIHAO, Form
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.shared import Cm, Pt

# Usable width of the A4 page between build.py's margins: 21 - 2.8 - 2.6 cm.
NAME_WIDTH = 3.0
AREA_COLUMNS = [
    ("检查企业", "firms_inspected"),
    ("检查次数", "inspections"),
    ("发现隐患", "hazards"),
    ("重大隐患", "major"),
    ("已整改", "rectified"),
    ("整改率", "rate"),
    ("逾期", "overdue"),
    ("签发文书", "documents"),
]
AREA_WIDTH = 1.575


def cell_text(cell, text, style):
    paragraph = cell.paragraphs[0]
    paragraph.style = style
    paragraph.add_run(text)


def table(form, columns, *, loop, totals=None, empty_text="无"):
    """A bordered table: a header row, one row per item of `loop` ("x in items") or one merged
    row of `empty_text` when there is none, then the `totals` texts as the last row. Each
    column is a (header, width in cm, cell text) triple."""
    grid = form.doc.add_table(rows=7 if totals else 6, cols=len(columns))
    grid.style = form.doc.styles["Table Grid"]
    grid.alignment = WD_TABLE_ALIGNMENT.CENTER
    grid.autofit = False
    header, loop_start, item, loop_else, empty, loop_end = grid.rows[:6]
    # The header row repeats on every page the table runs over.
    header._tr.get_or_add_trPr().append(OxmlElement("w:tblHeader"))
    for index, (title, width, text) in enumerate(columns):
        grid.columns[index].width = Cm(width)
        for row in grid.rows:
            row.cells[index].width = Cm(width)
        cell_text(header.cells[index], title, form.table_header_style)
        cell_text(item.cells[index], text, form.table_style)
        if totals:
            cell_text(grid.rows[6].cells[index], totals[index], form.table_header_style)
    cell_text(loop_start.cells[0], "{%tr for " + loop + " %}", form.table_style)
    cell_text(loop_else.cells[0], "{%tr else %}", form.table_style)
    merged = empty.cells[0].merge(empty.cells[-1])
    cell_text(merged, empty_text, form.table_style)
    merged.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    cell_text(loop_end.cells[0], "{%tr endfor %}", form.table_style)
    return grid


def area_table(form, heading, loop_name, *, empty_text):
    """A table of one breakdown (streets, parks, months) with the totals as its last row."""
    columns = [(heading, NAME_WIDTH, "{{ r.name }}")] + [
        (title, AREA_WIDTH, "{{ r." + key + " }}") for title, key in AREA_COLUMNS
    ]
    totals = ["合计"] + ["{{ totals." + key + " }}" for _title, key in AREA_COLUMNS]
    return table(form, columns, loop=f"r in {loop_name}", totals=totals, empty_text=empty_text)


def section(form, text):
    heading = form.paragraph(text, indent=False, space_before=12)
    for run in heading.runs:
        run.bold = True


def monthly_report():
    # The title here is the file's property; the rendered title is {{ title }} in the text.
    form = Form(title="安全生产检查工作情况月报", body_size=SIHAO)
    form.paragraph("{{ bureau.name }}", indent=False, style=form.bureau_style)
    form.paragraph("{{ title }}", indent=False, style=form.title_style)
    form.paragraph(
        "（统计期间：{{ period.from }}至{{ period.to }}；统计范围：{{ subject }}）",
        indent=False,
        align=WD_ALIGN_PARAGRAPH.CENTER,
    )

    section(form, "一、总体情况")
    form.paragraph("{{ report_text }}")

    section(form, "二、隐患分类情况")
    table(
        form,
        [
            ("隐患类别", NAME_WIDTH, "{{ c.name }}"),
            ("隐患总数", 2.1, "{{ c.hazards }}"),
            ("一般隐患", 2.1, "{{ c.general }}"),
            ("重大隐患", 2.1, "{{ c.major }}"),
            ("已整改", 2.1, "{{ c.rectified }}"),
            ("整改率", 2.1, "{{ c.rate }}"),
            ("逾期", 2.1, "{{ c.overdue }}"),
        ],
        loop="c in categories",
        totals=[
            "合计",
            "{{ totals.hazards }}",
            "{{ totals.general }}",
            "{{ totals.major }}",
            "{{ totals.rectified }}",
            "{{ totals.rate }}",
            "{{ totals.overdue }}",
        ],
    )

    section(form, "三、各街道镇情况")
    area_table(form, "街道镇", "streets", empty_text="无街道镇")

    section(form, "四、工业园区情况")
    area_table(form, "工业园区", "parks", empty_text="无工业园区")

    section(form, "五、第三方服务机构工作情况")
    table(
        form,
        [
            ("服务机构", NAME_WIDTH, "{{ a.name }}"),
            ("合同配额", AREA_WIDTH, "{{ a.quota }}"),
            ("已分配", AREA_WIDTH, "{{ a.assigned }}"),
            ("已检查", AREA_WIDTH, "{{ a.firms_inspected }}"),
            ("完成率", AREA_WIDTH, "{{ a.progress }}"),
            ("发现隐患", AREA_WIDTH, "{{ a.hazards }}"),
            ("整改率", AREA_WIDTH, "{{ a.rate }}"),
            ("签发文书", AREA_WIDTH, "{{ a.documents }}"),
            ("逾期待复查", AREA_WIDTH, "{{ a.overdue_reinspections }}"),
        ],
        loop="a in agencies",
        empty_text="无服务机构",
    )

    section(form, "六、分月情况")
    area_table(form, "月份", "months", empty_text="无")

    signature = form.paragraph(
        "{{ bureau.name }}",
        indent=False,
        align=WD_ALIGN_PARAGRAPH.RIGHT,
        space_before=SIHAO * 2,
    )
    date = form.paragraph("{{ date }}", indent=False, align=WD_ALIGN_PARAGRAPH.RIGHT)
    for paragraph in (signature, date):
        paragraph.paragraph_format.right_indent = Pt(SIHAO * 2)
    form.page_x_of_y_footer()
    return form


def main():
    path = HERE / "monthly_report.docx"
    monthly_report().save(path)
    print(f"wrote {path.name}")


if __name__ == "__main__":
    main()
