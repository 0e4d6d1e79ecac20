import csv
import io
import time
import zipfile

import openpyxl
import pytest

from contractors.register.models import Firm, Street
from contractors.register.services import do_import_register
from contractors.register.uscc import make_uscc
from portal.models import AuditEvent, Bureau
from tests.conftest import make_firm

HEADER = [
    "统一社会信用代码",
    "企业名称",
    "经营地址",
    "所属街道",
    "网格",
    "行业",
    "重点监管类别",
    "所属园区",
    "法定代表人",
    "联系人",
    "联系电话",
]
FIELDS = [
    "uscc",
    "name",
    "address",
    "street",
    "grid",
    "industry",
    "key_category",
    "park",
    "legal_representative",
    "contact",
    "phone",
]
ENGLISH_HEADER = ["USCC ", " Name", "address", "STREET", "grid", "industry", "key_category"]
ENGLISH_HEADER += ["park", "legal_representative", "contact", "phone"]


def code(serial):
    return make_uscc(region="310107", serial=serial)


def row(serial, **cells):
    values = {
        "uscc": code(serial),
        "name": f"测试企业{serial}有限公司",
        "address": f"普陀区长寿路{serial}号",
        "street": "长寿路街道",
        "grid": "",
        "industry": "制造业",
        "key_category": "",
        "park": "",
        "legal_representative": "张三",
        "contact": "李四",
        "phone": "021-62345678",
    }
    values.update(cells)
    return [values[field] for field in FIELDS]


def csv_bytes(rows, *, header=HEADER, encoding="utf-8"):
    buffer = io.StringIO()
    csv.writer(buffer).writerows([header, *rows])
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows, *, header=HEADER):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for values in [header, *rows]:
        sheet.append(values)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def run(bureau, content, *, filename="名录.csv", dry_run=False, valid_only=False):
    return do_import_register(
        actor=None,
        bureau=bureau,
        content=content,
        filename=filename,
        dry_run=dry_run,
        valid_only=valid_only,
    )


def only_error(report):
    assert len(report.errors) == 1, report.errors
    return report.errors[0]


# Formats and encodings


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_csv_in_each_encoding_imports_the_chinese_text(bureau, register, encoding):
    content = csv_bytes([row(1), row(2, street="桃浦镇")], encoding=encoding)

    report = run(bureau, content)

    assert (report.created, report.errors, report.committed) == (2, [], True)
    firm = Firm.objects.get(uscc=code(2))
    assert (firm.name, firm.street, firm.address) == (
        "测试企业2有限公司",
        register.taopu,
        "普陀区长寿路2号",
    )


def test_every_column_lands_on_the_firm(bureau, register):
    content = csv_bytes(
        [
            row(
                1,
                grid="第一网格",
                park="铁三角工业园区",
                key_category="重点场所-危险化学品",
                phone="13800000000",
            )
        ]
    )

    run(bureau, content)

    firm = Firm.objects.get(uscc=code(1))
    assert firm.grid == register.grid
    assert firm.park == register.park
    assert (firm.key_category, firm.key_kind) == ("key_place", "危险化学品")
    assert (firm.industry, firm.legal_representative, firm.contact, firm.phone) == (
        "制造业",
        "张三",
        "李四",
        "13800000000",
    )


def test_xlsx_imports_and_numeric_cells_keep_their_digits(bureau, register):
    content = xlsx_bytes([row(1, phone=13800000000), row(2, phone=62345678.0)])

    report = run(bureau, content, filename="名录.xlsx")

    assert (report.created, report.errors) == (2, [])
    assert Firm.objects.get(uscc=code(1)).phone == "13800000000"
    assert Firm.objects.get(uscc=code(2)).phone == "62345678"


def test_english_headers_match_whatever_their_case_and_spaces(bureau, register):
    report = run(bureau, csv_bytes([row(1), row(2)], header=ENGLISH_HEADER))

    assert (report.created, report.errors) == (2, [])


def test_english_header_errors_name_the_column_as_written(bureau, register):
    report = run(bureau, csv_bytes([row(1, name="")], header=ENGLISH_HEADER))

    assert only_error(report)["field"] == "Name"


def test_tolerant_header_variants_and_unknown_columns(bureau, register):
    header = ["统一社会信用代码", "企业名称", "注册地址", "街道镇", "园区", "电话", "备注"]
    content = csv_bytes(
        [[code(1), "甲公司", "普陀区桃浦路1号", "桃浦镇", "铁三角工业园区", "62345678", "随便写"]],
        header=header,
    )

    report = run(bureau, content)

    assert (report.created, report.errors) == (1, [])
    firm = Firm.objects.get(uscc=code(1))
    assert (firm.registered_address, firm.street, firm.park, firm.phone) == (
        "普陀区桃浦路1号",
        register.taopu,
        register.park,
        "62345678",
    )


def test_street_may_be_given_by_its_code(bureau, register):
    run(bureau, csv_bytes([row(1, street="10")]))

    assert Firm.objects.get(uscc=code(1)).street == register.taopu


def test_cells_are_stripped_and_codes_normalised(bureau, register):
    spaced = " " + code(7)[:9] + " " + code(7)[9:].lower() + " "

    run(bureau, csv_bytes([row(7, uscc=spaced, name="  测试企业七  ", street=" 长寿路街道 ")]))

    firm = Firm.objects.get(bureau=bureau)
    assert (firm.uscc, firm.name) == (code(7), "测试企业七")


def test_empty_trailing_rows_are_skipped(bureau, register):
    content = csv_bytes([row(1), row(2), [""] * len(HEADER), [], ["", " "]])

    report = run(bureau, content)

    assert (report.created, report.errors) == (2, [])


def test_empty_rows_in_xlsx_are_skipped_and_row_numbers_follow_the_sheet(bureau, register):
    content = xlsx_bytes([row(1), [None] * len(HEADER), row(3, name=""), [None, None]])

    report = run(bureau, content, filename="名录.xlsx")

    assert only_error(report)["row"] == 4


# Bad rows


@pytest.mark.parametrize(
    ("uscc", "message_part"),
    [
        (code(1)[:17] + ("0" if code(1)[17] != "0" else "1"), "第18位"),
        (code(1)[:4] + "I" + code(1)[5:], "第5位“I”"),
        (code(1)[:17], "应为18位，实为17位"),
        ("", "不能为空"),
    ],
)
def test_a_bad_credit_code_is_reported_with_its_row_and_column(
    bureau, register, uscc, message_part
):
    report = run(bureau, csv_bytes([row(2), row(3, uscc=uscc)]))

    error = only_error(report)
    assert (error["row"], error["field"]) == (3, "统一社会信用代码")
    assert message_part in error["message"]


@pytest.mark.parametrize(
    ("cells", "field", "message_part"),
    [
        ({"name": ""}, "企业名称", "企业名称不能为空"),
        ({"street": ""}, "所属街道", "所属街道不能为空"),
        ({"street": "曹杨新村街道"}, "所属街道", "街道镇“曹杨新村街道”不存在"),
        ({"grid": "第九网格"}, "网格", "网格“第九网格”不在“长寿路街道”之下"),
        ({"street": "桃浦镇", "grid": "第一网格"}, "网格", "网格“第一网格”不在“桃浦镇”之下"),
        ({"park": "不存在的园区"}, "所属园区", "园区“不存在的园区”不存在"),
        ({"key_category": "一般"}, "重点监管类别", "重点监管类别“一般”无法识别"),
        ({"key_category": "重点场所-游乐场"}, "重点监管类别", "无法识别"),
        ({"phone": "021-6234abcd"}, "联系电话", "格式不正确"),
        ({"phone": "123456"}, "联系电话", "7至20位数字"),
        ({"phone": "1" * 21}, "联系电话", "7至20位数字"),
        ({"name": "名" * 129}, "企业名称", "最多128个字符，实为129个"),
        ({"address": "址" * 256}, "经营地址", "最多255个字符"),
        ({"contact": "人" * 65}, "联系人", "最多64个字符"),
    ],
)
def test_a_bad_cell_is_reported_with_its_row_and_column(
    bureau, register, cells, field, message_part
):
    report = run(bureau, csv_bytes([row(2), row(3), row(4, **cells)]))

    error = only_error(report)
    assert (error["row"], error["field"]) == (4, field)
    assert message_part in error["message"]


@pytest.mark.parametrize(
    "phone",
    ["021-62345678", "(021) 6234 5678", "+86 138 0000 0000", "62345678转123", "（021）62345678"],
)
def test_usual_phone_forms_are_accepted(bureau, register, phone):
    report = run(bureau, csv_bytes([row(1, phone=phone)]))

    assert (report.created, report.errors) == (1, [])


def test_a_code_twice_in_the_file_reports_the_second_naming_the_first(bureau, register):
    report = run(bureau, csv_bytes([row(1), row(2), row(3, uscc=code(1).lower())]))

    error = only_error(report)
    assert (error["row"], error["field"]) == (4, "统一社会信用代码")
    assert "第2行" in error["message"]


def test_every_problem_of_a_row_is_reported(bureau, register):
    report = run(bureau, csv_bytes([row(1, name="", street="不存在街道", phone="x")]))

    assert {(e["row"], e["field"]) for e in report.errors} == {
        (2, "企业名称"),
        (2, "所属街道"),
        (2, "联系电话"),
    }


@pytest.mark.parametrize(
    ("text", "category", "kind"),
    [
        ("", "", ""),
        ("无", "", ""),
        ("否", "", ""),
        ("非重点", "", ""),
        ("消防", "fire", ""),
        ("消防领域", "fire", ""),
        ("建筑施工", "construction", ""),
        ("建筑施工领域", "construction", ""),
        ("重点场所", "key_place", ""),
        ("危险化学品", "key_place", "危险化学品"),
        ("重点场所-危险化学品", "key_place", "危险化学品"),
        ("重点场所/特种设备", "key_place", "特种设备"),
        ("重点场所（地下空间）", "key_place", "地下空间"),
        ("重点场所(社会福利养老机构)", "key_place", "社会福利养老机构"),
        ("fire", "fire", ""),
        ("Construction", "construction", ""),
        ("key_place", "key_place", ""),
    ],
)
def test_key_supervision_categories(bureau, register, text, category, kind):
    report = run(bureau, csv_bytes([row(1, key_category=text)]))

    assert report.errors == []
    firm = Firm.objects.get(uscc=code(1))
    assert (firm.key_category, firm.key_kind) == (category, kind)


# File-level problems


def docx_like_zip():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document/>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("content", "filename"),
    [
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "名录.xls"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "名录.pdf"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 50, "照片.png"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 50, "照片.jpg"),
        (b"", "名录.csv"),
        (b"uscc,name,street\n", "名录.xlsx"),
        (docx_like_zip(), "名录.docx"),
    ],
)
def test_a_file_of_the_wrong_type_is_refused_naming_the_supported_types(
    bureau, register, content, filename
):
    report = run(bureau, content, filename=filename)

    error = only_error(report)
    assert (error["row"], error["field"]) == (0, "file")
    assert "CSV" in error["message"] and ".xlsx" in error["message"]
    assert (report.committed, Firm.objects.count()) == (False, 0)


@pytest.mark.parametrize(
    "content",
    [
        "统一社会信用代码,企业名称,所属街道\n".encode("utf-16"),
        "统一社会信用代码,企业名称,所属街道\n".encode() + b"\xff\xfe\xfa\n",
    ],
)
def test_text_neither_utf8_nor_gbk_is_refused(bureau, register, content):
    error = only_error(run(bureau, content))

    assert error["row"] == 0
    assert "UTF-8 或 GBK" in error["message"]


def test_missing_required_headers_are_each_named(bureau, register):
    content = csv_bytes([["某公司", "普陀区"]], header=["企业名称", "经营地址"])

    report = run(bureau, content)

    assert [(e["row"], e["field"]) for e in report.errors] == [
        (1, "统一社会信用代码"),
        (1, "所属街道"),
    ]
    assert "缺少必填列“所属街道”" in report.errors[1]["message"]


def test_a_file_with_only_a_header_has_no_data_rows(bureau, register):
    error = only_error(run(bureau, csv_bytes([])))

    assert "没有数据行" in error["message"]


def test_a_file_over_the_size_limit_is_refused(bureau, register, settings):
    settings.REGISTER_IMPORT_MAX_BYTES = 200

    error = only_error(run(bureau, csv_bytes([row(n) for n in range(1, 10)])))

    assert error["row"] == 0
    assert "文件过大" in error["message"]
    assert Firm.objects.count() == 0


# Atomicity, re-import, dry run, tenancy


def test_one_bad_row_among_good_ones_writes_nothing(bureau, register):
    content = csv_bytes([row(1), row(2, street="火星街道"), row(3)])

    report = run(bureau, content)

    assert report.committed is False
    assert report.as_dict() == {
        "created": 0,
        "updated": 0,
        "unchanged": 0,
        "errors": [{"row": 3, "field": "所属街道", "message": report.errors[0]["message"]}],
    }
    assert Firm.objects.count() == 0
    assert not AuditEvent.objects.exists()


def test_valid_only_writes_the_good_rows_and_still_reports_the_bad(bureau, register):
    content = csv_bytes([row(1), row(2, street="火星街道"), row(3)])

    report = run(bureau, content, valid_only=True)

    assert (report.created, report.committed) == (2, True)
    assert [(e["row"], e["field"]) for e in report.errors] == [(3, "所属街道")]
    assert set(Firm.objects.values_list("uscc", flat=True)) == {code(1), code(3)}
    event = AuditEvent.objects.get()
    assert event.detail["errors"] == 1 and event.detail["valid_only"] is True


def test_a_successful_import_writes_one_audit_event(bureau, register):
    run(bureau, csv_bytes([row(1), row(2)]), filename="普陀名录.csv")

    event = AuditEvent.objects.get()
    assert (event.action, event.bureau, event.actor) == ("register.import", bureau, None)
    assert event.detail == {
        "filename": "普陀名录.csv",
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "errors": 0,
        "valid_only": False,
    }


def test_importing_the_same_file_again_changes_nothing(bureau, register):
    content = xlsx_bytes(
        [row(1, grid="第一网格", key_category="消防"), row(2, park="铁三角工业园区")]
    )
    run(bureau, content, filename="名录.xlsx")

    report = run(bureau, content, filename="名录.xlsx")

    assert (report.created, report.updated, report.unchanged) == (0, 0, 2)
    assert AuditEvent.objects.count() == 1


def test_a_changed_address_updates_the_firm(bureau, register):
    run(bureau, csv_bytes([row(1), row(2)]))
    before = Firm.objects.get(uscc=code(1)).updated_at

    report = run(bureau, csv_bytes([row(1, address="普陀区真北路88号"), row(2)]))

    assert (report.created, report.updated, report.unchanged) == (0, 1, 1)
    firm = Firm.objects.get(uscc=code(1))
    assert firm.address == "普陀区真北路88号"
    assert firm.updated_at > before


def test_mixed_counts_of_created_updated_and_unchanged(bureau, register):
    make_firm(
        bureau,
        register.changshou,
        1,
        name="测试企业1有限公司",
        address="普陀区长寿路1号",
        industry="制造业",
        legal_representative="张三",
        contact="李四",
        phone="021-62345678",
    )
    make_firm(bureau, register.changshou, 2, name="旧名称有限公司")
    make_firm(bureau, register.changshou, 3, name="不在文件里的企业")

    report = run(bureau, csv_bytes([row(1), row(2), row(4), row(5)]))

    assert (report.created, report.updated, report.unchanged) == (2, 1, 1)
    assert Firm.objects.get(uscc=code(2)).name == "测试企业2有限公司"
    assert Firm.objects.get(uscc=code(3)).name == "不在文件里的企业"


def test_columns_missing_from_the_file_are_left_alone(bureau, register):
    make_firm(bureau, register.changshou, 1, address="普陀区长寿路1号", grid=register.grid)
    content = csv_bytes(
        [[code(1), "新名称有限公司", "长寿路街道"]], header=["uscc", "name", "street"]
    )

    report = run(bureau, content)

    assert report.updated == 1
    firm = Firm.objects.get(uscc=code(1))
    assert (firm.name, firm.address, firm.grid) == (
        "新名称有限公司",
        "普陀区长寿路1号",
        register.grid,
    )


def test_moving_a_firm_to_another_street_drops_its_old_grid(bureau, register):
    make_firm(bureau, register.changshou, 1, grid=register.grid)
    content = csv_bytes(
        [[code(1), "测试企业1有限公司", "桃浦镇"]], header=["uscc", "name", "street"]
    )

    run(bureau, content)

    firm = Firm.objects.get(uscc=code(1))
    assert (firm.street, firm.grid) == (register.taopu, None)


def test_dry_run_reports_the_same_counts_and_writes_nothing(bureau, register):
    make_firm(bureau, register.changshou, 1, name="旧名称有限公司")
    content = csv_bytes([row(1), row(2), row(3)])

    preview = run(bureau, content, dry_run=True)

    assert (preview.created, preview.updated, preview.unchanged) == (2, 1, 0)
    assert preview.committed is False
    assert Firm.objects.count() == 1
    assert Firm.objects.get().name == "旧名称有限公司"
    assert not AuditEvent.objects.exists()
    assert run(bureau, content).as_dict() == preview.as_dict()


def test_dry_run_with_valid_only_previews_the_valid_rows(bureau, register):
    content = csv_bytes([row(1), row(2, name=""), row(3)])

    preview = run(bureau, content, dry_run=True, valid_only=True)

    assert (preview.created, len(preview.errors), preview.committed) == (2, 1, False)
    assert Firm.objects.count() == 0


def test_another_bureaus_firm_with_the_same_code_is_never_touched(bureau, register):
    other = Bureau.objects.create(
        name="上海市静安区应急管理局", short_name="静", region_code="310106"
    )
    other_street = Street.objects.create(bureau=other, name="长寿路街道", code="01", kind="street")
    theirs = Firm.objects.create(bureau=other, street=other_street, uscc=code(1), name="静安的企业")

    report = run(bureau, csv_bytes([row(1)]))

    assert (report.created, report.updated) == (1, 0)
    theirs.refresh_from_db()
    assert (theirs.name, theirs.street) == ("静安的企业", other_street)
    assert Firm.objects.filter(uscc=code(1)).count() == 2


def test_streets_of_another_bureau_are_unknown(bureau, register):
    other = Bureau.objects.create(
        name="上海市静安区应急管理局", short_name="静", region_code="310106"
    )
    Street.objects.create(bureau=other, name="静安寺街道", code="02", kind="street")

    error = only_error(run(bureau, csv_bytes([row(1, street="静安寺街道")])))

    assert error["field"] == "所属街道"


# Scale


def test_5000_rows_import_with_a_bounded_number_of_queries(
    bureau, register, django_assert_max_num_queries
):
    existing = [make_firm(bureau, register.changshou, n, name="旧名称") for n in range(1, 51)]
    rows = [
        row(n, grid="第一网格" if n % 2 else "", park="铁三角工业园区" if n % 3 else "")
        for n in range(1, 5001)
    ]
    content = csv_bytes(rows)

    started = time.monotonic()
    # SQLite allows 999 variables per query, so Django inserts a Firm's 17 columns 58 rows at a
    # time: about 90 INSERTs for 5000 rows. A query per row would be thousands.
    with django_assert_max_num_queries(120):
        report = run(bureau, content)
    elapsed = time.monotonic() - started

    assert (report.created, report.updated, report.errors) == (5000 - len(existing), 50, [])
    assert Firm.objects.filter(bureau=bureau).count() == 5000
    assert elapsed < 20


def test_re_importing_5000_changed_rows_is_bounded_too(
    bureau, register, django_assert_max_num_queries
):
    run(bureau, csv_bytes([row(n) for n in range(1, 5001)]))

    with django_assert_max_num_queries(120):
        report = run(bureau, csv_bytes([row(n, contact="王五") for n in range(1, 5001)]))

    assert report.updated == 5000
    assert Firm.objects.filter(contact="王五").count() == 5000
