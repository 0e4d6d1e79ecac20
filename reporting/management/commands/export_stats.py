import uuid
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.http import QueryDict
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contractors.register.models import Street
from contractors.tenancy.models import Agency
from portal.models import Bureau
from reporting.exports import statistics_workbook
from reporting.forms import Scope, filter_form
from reporting.stats import Statistics


class Command(BaseCommand):
    @property
    def help(self):
        # Evaluated when asked: argparse cannot format a lazy string as the description.
        return _(
            "导出统计报表（XLSX）：总体情况、隐患分类、街道镇、工业园区、服务机构、分月、"
            "逾期隐患，口径与统计页面相同。"
        )

    def add_arguments(self, parser):
        parser.add_argument(
            "--from",
            dest="date_from",
            metavar="YYYY-MM-DD",
            help=gettext_lazy("开始日期（检查日期，含当天）；默认当年1月1日"),
        )
        parser.add_argument(
            "--to",
            dest="date_to",
            metavar="YYYY-MM-DD",
            help=gettext_lazy("结束日期（检查日期，含当天）；默认今天"),
        )
        parser.add_argument(
            "--out", required=True, metavar="FILE.xlsx", help=gettext_lazy("输出文件")
        )
        parser.add_argument("--street", help=gettext_lazy("只统计该街道镇（名称或编号）"))
        parser.add_argument("--agency", help=gettext_lazy("只统计该服务机构（名称或编号）"))
        parser.add_argument(
            "--bureau",
            metavar="CODE",
            help=gettext_lazy("应急管理局的行政区划代码；系统中只有一个应急管理局时可省略"),
        )

    def handle(self, *args, date_from, date_to, out, street, agency, bureau, **options):
        path = Path(out)
        if path.suffix.lower() != ".xlsx":
            raise CommandError(_("输出文件应以 .xlsx 结尾：%(file)s") % {"file": out})
        scope = Scope(bureau=_bureau(bureau))
        data = QueryDict(mutable=True)
        data.update(
            {
                "from": date_from or "",
                "to": date_to or "",
                "street": _id_of(Street, scope.bureau, street),
                "agency": _id_of(Agency, scope.bureau, agency),
            }
        )
        form = filter_form(scope, data)
        if not form.is_valid():
            raise CommandError(
                "；".join(
                    f"--{field}：{message}"
                    for field, messages in form.errors.items()
                    for message in messages
                )
            )
        statistics = Statistics(scope, form.filters())
        try:
            path.write_bytes(statistics_workbook(statistics))
        except OSError as error:
            raise CommandError(
                _("无法写入文件 %(file)s：%(error)s") % {"file": out, "error": error.strerror}
            ) from None
        self.stdout.write(
            _("已写入 %(file)s：%(text)s") % {"file": out, "text": statistics.report_text()}
        )


def _id_of(model, bureau, value):
    """A street or agency named on the command line, by id or by its exact name; an unknown
    one is passed on as given, for the form to refuse by name."""
    if not value:
        return ""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        found = model.objects.filter(bureau=bureau, name=value).values_list("pk", flat=True)
        return str(found[0]) if found else value


def _bureau(region_code):
    if region_code:
        try:
            return Bureau.objects.get(region_code=region_code)
        except Bureau.DoesNotExist:
            raise CommandError(
                _("没有行政区划代码为 %(code)s 的应急管理局。") % {"code": region_code}
            ) from None
    bureaus = list(Bureau.objects.all()[:2])
    if len(bureaus) != 1:
        raise CommandError(
            _("系统中有多个应急管理局，请用 --bureau 指定行政区划代码。")
            if bureaus
            else _("系统中还没有应急管理局。")
        )
    return bureaus[0]
