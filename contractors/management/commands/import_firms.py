from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contractors.register.services import do_import_register
from portal.models import Bureau


class Command(BaseCommand):
    @property
    def help(self):
        # Evaluated when asked: argparse cannot format a lazy string as the description.
        return _(
            "导入企业名录（CSV：UTF-8 或 GBK 编码；或 Excel .xlsx），"
            "按统一社会信用代码新增或更新企业；有错误时不写入任何数据，并逐行列出错误。"
        )

    def add_arguments(self, parser):
        parser.add_argument("file", help=gettext_lazy("名录文件路径"))
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help=gettext_lazy("只检查并统计，不写入数据库"),
        )
        parser.add_argument(
            "--valid-only",
            action="store_true",
            help=gettext_lazy("有错误时仍导入其余正确的行"),
        )
        parser.add_argument(
            "--bureau",
            metavar="CODE",
            help=gettext_lazy("应急管理局的行政区划代码；系统中只有一个应急管理局时可省略"),
        )

    def handle(self, *args, file, dry_run, valid_only, bureau, **options):
        path = Path(file)
        try:
            content = path.read_bytes()
        except OSError as error:
            raise CommandError(
                _("无法读取文件 %(file)s：%(error)s") % {"file": file, "error": error.strerror}
            ) from None
        report = do_import_register(
            actor=None,
            bureau=_bureau(bureau),
            content=content,
            filename=path.name,
            dry_run=dry_run,
            valid_only=valid_only,
        )
        for error in report.errors:
            self.stderr.write(_error_line(error))
        if dry_run:
            self.stdout.write(_("试运行（未写入）：") + _counts(report))
        elif report.committed:
            self.stdout.write(_("导入完成：") + _counts(report))
        if report.errors and not report.committed:
            raise CommandError(
                _("名录中有 %(n)d 处错误，未写入任何数据。") % {"n": len(report.errors)}
            )


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


def _error_line(error):
    if error["row"] == 0:
        return _("文件：%(message)s") % error
    return _("第%(row)d行 [%(field)s] %(message)s") % error


def _counts(report):
    return _("新增 %(created)d 家，更新 %(updated)d 家，未变 %(unchanged)d 家。") % {
        "created": report.created,
        "updated": report.updated,
        "unchanged": report.unchanged,
    }
