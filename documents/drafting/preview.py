"""DOCX bytes as simple HTML for reading a document on the review page: the body's paragraphs
and tables in their order, merged table cells kept, photos shown as a marker. Every piece of
text is escaped, since a template's text comes from an uploaded file."""

import io

from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from docx import Document as open_docx
from docx.drawing import Drawing
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.table import Table
from docx.text.paragraph import Paragraph

# Only these alignments are carried over; anything else reads fine left-aligned.
ALIGNMENTS = {
    WD_ALIGN_PARAGRAPH.CENTER: "center",
    WD_ALIGN_PARAGRAPH.RIGHT: "right",
}


def docx_to_html(content):
    """Safe HTML of the DOCX bytes `content`."""
    document = open_docx(io.BytesIO(bytes(content)))
    return mark_safe(f'<div class="docx-preview">{_blocks(document.iter_inner_content())}</div>')


def _blocks(blocks):
    parts = []
    for block in blocks:
        if isinstance(block, Paragraph):
            parts.append(_paragraph(block))
        elif isinstance(block, Table):
            parts.append(_table(block))
    return "".join(parts)


def _paragraph(paragraph):
    text = "".join(_run(run) for run in paragraph.runs)
    if not text.strip():
        return ""
    align = ALIGNMENTS.get(_alignment(paragraph))
    # A class, not a style attribute: the Content-Security-Policy refuses inline styles.
    aligned = f' class="align-{align}"' if align else ""
    return f"<p{aligned}>{text}</p>"


def _alignment(paragraph):
    # A form's headings are centred by their paragraph style, not by direct formatting.
    if paragraph.alignment is not None:
        return paragraph.alignment
    style = paragraph.style
    while style is not None:
        if style.paragraph_format.alignment is not None:
            return style.paragraph_format.alignment
        style = style.base_style
    return None


def _run(run):
    pieces = []
    for item in run.iter_inner_content():
        if isinstance(item, Drawing):
            pieces.append(escape(_("[照片]")))
        elif isinstance(item, str):
            pieces.append(escape(item).replace("\n", "<br>").replace("\t", " "))
    text = "".join(pieces)
    return f"<strong>{text}</strong>" if run.bold and text.strip() else text


def _table(table):
    rows = []
    for index, tr in enumerate(table._tbl.tr_lst):
        cells = []
        for tc in tr.tc_lst:
            # A cell merged into the one above it is drawn by that cell's rowspan.
            if tc.vMerge == "continue":
                continue
            spans = ""
            if tc.grid_span > 1:
                spans += f' colspan="{tc.grid_span}"'
            if tc.vMerge == "restart" and tc.bottom - index > 1:
                spans += f' rowspan="{tc.bottom - index}"'
            cell = _cell_content(tc, table)
            cells.append(f"<td{spans}>{cell}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return f'<div class="table-wrap"><table>{"".join(rows)}</table></div>'


def _cell_content(tc, table):
    blocks = (
        Paragraph(element, table) if element.tag.endswith("}p") else Table(element, table)
        for element in tc.inner_content_elements
    )
    return _blocks(blocks)
