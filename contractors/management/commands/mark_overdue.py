from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contractors.hazards.services import do_mark_overdue_hazards


class Command(BaseCommand):
    @property
    def help(self):
        # Evaluated when asked: argparse cannot format a lazy string as the description.
        return _("将整改期限已过仍未整改的隐患标记为逾期未整改；可重复运行，每日由定时任务执行。")

    def add_arguments(self, parser):
        parser.add_argument(
            "--date",
            dest="today",
            metavar="YYYY-MM-DD",
            help=gettext_lazy("按该日期判断是否逾期（补跑时使用；默认今天）"),
        )

    def handle(self, *args, today=None, **options):
        marked = do_mark_overdue_hazards(today=_parse_date(today))
        self.stdout.write(_("已标记逾期未整改隐患 %(n)d 项。") % {"n": marked})


def _parse_date(value):
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(
            _("日期格式不正确：%(value)s（应为 YYYY-MM-DD）") % {"value": value}
        ) from None
