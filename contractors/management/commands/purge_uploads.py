from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from contractors.evidence.services import do_purge_expired_uploads


class Command(BaseCommand):
    @property
    def help(self):
        # Evaluated when asked: argparse cannot format a lazy string as the description.
        return _("删除超过上传时限仍未确认的证据材料及其文件；可重复运行，建议每小时执行。")

    def handle(self, *args, **options):
        purged = do_purge_expired_uploads()
        self.stdout.write(_("已删除过期未确认的上传 %(n)d 个。") % {"n": purged})
