import time

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from portal.models import Bureau
from reporting.figures import do_recount_figures


class Command(BaseCommand):
    @property
    def help(self):
        # Evaluated when asked: argparse cannot format a lazy string as the description.
        return _(
            "重新统计每个应急管理局的全部统计数据（统计台账）。日常无需运行：每次变更都会记录，"
            "查看统计时自动补算；仅在绕过系统直接修改或导入数据库数据后使用。"
        )

    def handle(self, *args, **options):
        for bureau in Bureau.objects.order_by("name"):
            started = time.perf_counter()
            do_recount_figures(bureau=bureau)
            self.stdout.write(
                _("%(bureau)s：已重新统计，用时 %(seconds).1f 秒")
                % {"bureau": bureau.name, "seconds": time.perf_counter() - started}
            )
