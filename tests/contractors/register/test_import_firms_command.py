import csv
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from contractors.register.models import Firm
from contractors.register.uscc import make_uscc
from portal.models import Bureau

HEADER = ["统一社会信用代码", "企业名称", "所属街道"]


def code(serial):
    return make_uscc(region="310107", serial=serial)


def register_file(tmp_path, rows, name="名录.csv"):
    buffer = io.StringIO()
    csv.writer(buffer).writerows([HEADER, *rows])
    path = tmp_path / name
    path.write_bytes(buffer.getvalue().encode("gbk"))
    return path


def import_firms(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("import_firms", *map(str, args), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


GOOD_ROWS = [[code(1), "甲化工有限公司", "长寿路街道"], [code(2), "乙物流有限公司", "桃浦镇"]]


def test_a_good_file_is_imported_and_the_counts_printed(register, tmp_path):
    out, err = import_firms(register_file(tmp_path, GOOD_ROWS))

    assert "新增 2 家，更新 0 家，未变 0 家" in out
    assert err == ""
    assert set(Firm.objects.values_list("name", flat=True)) == {"甲化工有限公司", "乙物流有限公司"}


def test_bad_rows_are_printed_one_per_line_and_exit_1_with_nothing_written(register, tmp_path):
    rows = [*GOOD_ROWS, [code(3), "", "长寿路街道"], [code(4), "丙公司", "火星"]]
    err = io.StringIO()

    with pytest.raises(CommandError) as failure:
        call_command("import_firms", str(register_file(tmp_path, rows)), stderr=err)

    assert failure.value.returncode == 1
    assert "未写入任何数据" in str(failure.value)
    lines = err.getvalue().splitlines()
    assert lines[0].startswith("第4行 [企业名称] ")
    assert lines[1].startswith("第5行 [所属街道] 街道镇“火星”不存在")
    assert Firm.objects.count() == 0


def test_a_file_level_error_is_printed_without_a_row(register, tmp_path):
    path = tmp_path / "名录.pdf"
    path.write_bytes(b"%PDF-1.7\n")
    err = io.StringIO()

    with pytest.raises(CommandError):
        call_command("import_firms", str(path), stderr=err)

    assert err.getvalue().startswith("文件：")


def test_dry_run_writes_nothing_and_says_so(register, tmp_path):
    out, _err = import_firms(register_file(tmp_path, GOOD_ROWS), "--dry-run")

    assert "试运行" in out and "新增 2 家" in out
    assert Firm.objects.count() == 0


def test_valid_only_imports_the_good_rows_and_exits_0(register, tmp_path):
    rows = [*GOOD_ROWS, [code(3), "", "长寿路街道"]]

    out, err = import_firms(register_file(tmp_path, rows), "--valid-only")

    assert "新增 2 家" in out
    assert err.startswith("第4行 [企业名称]")
    assert Firm.objects.count() == 2


def test_with_two_bureaus_the_bureau_must_be_named(register, tmp_path):
    Bureau.objects.create(name="上海市静安区应急管理局", short_name="静", region_code="310106")
    path = register_file(tmp_path, GOOD_ROWS)

    with pytest.raises(CommandError, match="--bureau"):
        import_firms(path)
    import_firms(path, "--bureau", "310107")

    assert Firm.objects.filter(bureau__region_code="310107").count() == 2


def test_an_unknown_bureau_code_is_an_error(register, tmp_path):
    with pytest.raises(CommandError, match="310199"):
        import_firms(register_file(tmp_path, GOOD_ROWS), "--bureau", "310199")


def test_a_missing_file_is_an_error(register, tmp_path):
    with pytest.raises(CommandError, match="无法读取文件"):
        import_firms(tmp_path / "没有这个文件.csv")
