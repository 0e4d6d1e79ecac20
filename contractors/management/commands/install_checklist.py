from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contractors.checklists.services import do_install_default_checklist

# The same choice of bureau as the register import, with the same messages.
from contractors.management.commands.import_firms import _bureau


class Command(BaseCommand):
    @property
    def help(self):
        # Evaluated when asked: argparse cannot format a lazy string as the description.
        return _(
            "安装系统自带的默认检查表，作为应急管理局当前使用的检查表（新版本）；"
            "当前检查表已与默认检查表相同时不做改动。"
        )

    def add_arguments(self, parser):
        parser.add_argument(
            "--bureau",
            metavar="CODE",
            help=gettext_lazy("应急管理局的行政区划代码；系统中只有一个应急管理局时可省略"),
        )

    def handle(self, *args, bureau, **options):
        bureau = _bureau(bureau)
        checklist = do_install_default_checklist(actor=None, bureau=bureau)
        self.stdout.write(
            _("%(bureau)s 当前检查表：%(checklist)s，共 %(items)d 项。")
            % {"bureau": bureau, "checklist": checklist, "items": checklist.items.count()}
        )
