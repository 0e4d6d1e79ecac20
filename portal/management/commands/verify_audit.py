from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils.translation import gettext as _

from portal.audit import triggers
from portal.audit.chain import chain_key, chain_keys, verify
from portal.models import Bureau


class Command(BaseCommand):
    @property
    def help(self):
        # Evaluated when asked: argparse cannot format a lazy string as the description.
        return _(
            "逐条校验审计日志的哈希链：报告每条链校验通过的事件数；发现被修改、删除或移动的"
            "事件时指出第一条并以状态 1 退出。也检查数据库拒绝修改和删除审计事件的触发器。"
        )

    def add_arguments(self, parser):
        parser.add_argument(
            "--bureau", metavar="CODE", help=_("只校验该管理局（行政区划代码）的事件")
        )

    def handle(self, *args, bureau=None, **options):
        if bureau:
            found = Bureau.objects.filter(region_code=bureau).first()
            if found is None:
                raise CommandError(_("没有行政区划代码为 %(code)s 的管理局") % {"code": bureau})
            keys = [chain_key(found.pk)]
        else:
            keys = chain_keys()
        names = {
            chain_key(pk): name
            for pk, name in Bureau.objects.filter(pk__in=[k for k in keys if k]).values_list(
                "pk", "name"
            )
        }
        failures = []
        for key in keys:
            verdict = verify(key)
            name = names.get(key) or (key or _("不属于任何管理局的事件"))
            if verdict.ok:
                self.stdout.write(
                    _("%(chain)s：%(count)d 条事件校验通过")
                    % {"chain": name, "count": verdict.verified}
                )
                continue
            where = _("链尾")
            if verdict.broken is not None:
                event = verdict.broken
                where = _("第 %(sequence)d 条事件 %(id)s（%(at)s %(action)s）") % {
                    "sequence": event.sequence,
                    "id": event.pk,
                    "at": f"{event.at:%Y-%m-%d %H:%M:%S}",
                    "action": event.action,
                }
            failures.append(
                _("%(chain)s：前 %(count)d 条事件校验通过；%(where)s：%(problem)s")
                % {
                    "chain": name,
                    "count": verdict.verified,
                    "where": where,
                    "problem": verdict.problem,
                }
            )
        if not triggers.installed(connection):
            failures.append(_("审计表缺少拒绝修改和删除的触发器（见迁移 portal 0007）"))
        if failures:
            raise CommandError("\n".join(failures))
