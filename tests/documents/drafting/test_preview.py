"""The document preview on the review page: DOCX read back as plain, escaped HTML."""

import io
import re

from docx import Document as new_docx
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Mm
from PIL import Image

from documents.drafting.preview import docx_to_html


def docx_bytes(build):
    document = new_docx()
    build(document)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def png_bytes():
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(out, "PNG")
    return out.getvalue()


def test_text_is_escaped_so_a_document_cannot_run_script():
    def build(document):
        document.add_paragraph("<script>alert('x')</script>")
        table = document.add_table(rows=1, cols=1)
        table.cell(0, 0).text = '<img src=x onerror="alert(1)"> & more'

    html = docx_to_html(docx_bytes(build))

    assert "<script" not in html
    assert "<img" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; &amp; more" in html


def test_paragraphs_and_tables_keep_their_order():
    def build(document):
        document.add_paragraph("第一段")
        table = document.add_table(rows=2, cols=2)
        for row, cells in enumerate((("序号", "内容"), ("1", "消防通道堵塞"))):
            for column, text in enumerate(cells):
                table.cell(row, column).text = text
        document.add_paragraph("最后一段")

    html = str(docx_to_html(docx_bytes(build)))

    texts = re.findall(r">([^<>]+)<", html)
    assert texts == ["第一段", "序号", "内容", "1", "消防通道堵塞", "最后一段"]
    assert html.index("第一段") < html.index("<table>") < html.index("最后一段")


def test_merged_cells_span_rows_and_columns():
    def build(document):
        table = document.add_table(rows=3, cols=3)
        table.cell(0, 0).merge(table.cell(0, 2)).text = "标题"
        table.cell(1, 0).merge(table.cell(2, 0)).text = "检查人员"
        table.cell(1, 1).text = "李四"

    html = str(docx_to_html(docx_bytes(build)))

    assert '<td colspan="3"><p>标题</p></td>' in html
    assert '<td rowspan="2"><p>检查人员</p></td>' in html
    rows = re.findall(r"<tr>(.*?)</tr>", html)
    assert [row.count("<td") for row in rows] == [1, 3, 2]


def test_photos_become_a_marker_and_line_breaks_stay():
    def build(document):
        document.add_paragraph().add_run().add_picture(io.BytesIO(png_bytes()), width=Mm(10))
        run = document.add_paragraph().add_run("第一行")
        run.add_break()
        run.add_text("第二行")
        document.add_paragraph("居中标题").alignment = WD_ALIGN_PARAGRAPH.CENTER

    html = str(docx_to_html(docx_bytes(build)))

    assert "<p>[照片]</p>" in html
    assert "第一行<br>第二行" in html
    assert '<p class="align-center">居中标题</p>' in html


def test_empty_paragraphs_are_left_out():
    def build(document):
        document.add_paragraph("")
        document.add_paragraph("   ")
        document.add_paragraph("正文")

    assert str(docx_to_html(docx_bytes(build))) == '<div class="docx-preview"><p>正文</p></div>'
