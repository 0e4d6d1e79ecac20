import signal

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from portal.jobs.registry import periodic_jobs
from portal.jobs.scheduler import build_scheduler


class Command(BaseCommand):
    @property
    def help(self):
        # Evaluated when asked: argparse cannot format a lazy string as the description.
        return _(
            "按计划运行定时任务（标记逾期、清理过期上传、重试 PDF、重新统计）：任务交给后台"
            "进程（db_worker）执行；每个周期在数据库中只登记一次，多台服务器同时运行也只执行一次。"
        )

    def handle(self, *args, **options):
        scheduler = build_scheduler()
        for job in periodic_jobs():
            self.stdout.write(f"{job.name}: {job.cron} ({job.description})")

        def stop(signum, frame):
            scheduler.shutdown(wait=False)

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        scheduler.start()
