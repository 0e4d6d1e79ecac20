from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from documents.pdf.conversion import pdf_available
from documents.pdf.services import do_retry_pdf_conversions


class Command(BaseCommand):
    @property
    def help(self):
        return _("为已签发但还没有 PDF 的文书重新生成 PDF（转换失败后的重试，可定时运行）。")

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=100, help=_("本次最多处理的文书数"))

    def handle(self, *args, limit, **options):
        if not pdf_available():
            self.stderr.write(_("本机未安装 LibreOffice（soffice），文书仅提供 DOCX。"))
            return
        converted = do_retry_pdf_conversions(limit=limit)
        self.stdout.write(_("已生成 PDF：%(n)d 份。") % {"n": converted})
