from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.translation import gettext as _

from demo.district import (
    DEFAULT_FIRMS,
    DEFAULT_OTP_SECRET,
    DEFAULT_PASSWORD,
    MAX_FIRMS,
    build_demo_district,
    demo_logins,
    enrol_demo_signers,
)
from portal.models import Bureau
from portal.second_factor.services import key_from_base32


class Command(BaseCommand):
    @property
    def help(self):
        # argparse needs a plain string, not a lazy translation.
        return _(
            "生成确定性的普陀区演示数据（街道镇、网格、工业园区、企业、服务机构及其服务合同和"
            "企业分配、各角色演示账号）；相同参数生成相同数据。"
        )

    def add_arguments(self, parser):
        parser.add_argument(
            "--firms",
            type=int,
            default=DEFAULT_FIRMS,
            help=_("企业数量（默认 %(default)s）"),
        )
        parser.add_argument(
            "--password",
            default=DEFAULT_PASSWORD,
            help=_("所有演示账号的密码（默认 %(default)s）"),
        )
        parser.add_argument(
            "--otp-secret",
            default=DEFAULT_OTP_SECRET,
            help=_(
                "admin 与 reviewer 的身份验证器密钥（Base32，RFC 6238：SHA-1、6 位、30 秒；"
                "默认 %(default)s）"
            ),
        )
        existing = parser.add_mutually_exclusive_group()
        existing.add_argument(
            "--reset",
            action="store_true",
            help=_("先清空数据库中的全部数据，再重新生成"),
        )
        existing.add_argument(
            "--if-empty",
            action="store_true",
            help=_("数据库中已有数据时不做任何改动，只列出演示账号"),
        )

    def handle(self, *args, firms, password, otp_secret, reset, if_empty, **options):
        if not 0 <= firms <= MAX_FIRMS:
            raise CommandError(_("--firms 应在 0 到 %(max)d 之间") % {"max": MAX_FIRMS})
        if not password:
            raise CommandError(_("--password 不能为空"))
        try:
            key_from_base32(otp_secret)
        except ValidationError as error:
            raise CommandError("--otp-secret: " + " ".join(error.messages)) from None
        # The reset and the new data commit together: a failed seeding leaves the old data.
        with transaction.atomic():
            if Bureau.objects.exists():
                if if_empty:
                    self.stdout.write(_("演示数据已存在，未做改动。"))
                    self._write_logins(
                        _("密码为生成演示数据时设定的密码，默认 %(pw)s") % {"pw": DEFAULT_PASSWORD}
                    )
                    secret_note = _("生成演示数据时设定的密钥，默认 %(secret)s")
                    self._write_second_factor(secret_note % {"secret": DEFAULT_OTP_SECRET})
                    return
                if not reset:
                    raise CommandError(
                        _("数据库中已有数据，未生成演示数据；如需清空后重新生成，请加 --reset。")
                    )
                call_command("flush", interactive=False, verbosity=0)
            counts = build_demo_district(firms=firms, password=password)
            enrol_demo_signers(secret=otp_secret)
        self._write_counts(counts)
        if password == DEFAULT_PASSWORD:
            note = _("密码均为默认密码 %(pw)s")
        else:
            note = _("密码均为 --password 指定的 %(pw)s")
        self._write_logins(note % {"pw": password})
        self._write_second_factor(otp_secret)

    def _write_counts(self, counts):
        key_units = counts["key_units"]
        self.stdout.write(
            _(
                "已生成演示数据：企业 %(firms)d 家，街道镇 %(streets)d 个（网格 %(grids)d 个），"
                "工业园区 %(parks)d 个，重点监管单位 %(key)d 家（消防 %(fire)d 家、"
                "建筑施工 %(construction)d 家、重点场所 %(key_place)d 家），"
                "第三方服务机构 %(agencies)d 家（服务合同 %(contracts)d 份，"
                "已分配企业 %(assigned)d 家），用户 %(users)d 个，"
                "已提交检查 %(inspections)d 次（含起草的法律文书）。"
            )
            % {**counts, **key_units, "key": sum(key_units.values())}
        )

    def _write_logins(self, password_note):
        logins = demo_logins()
        width = max((len(username) for username, _role in logins), default=0) + 2
        self.stdout.write(_("演示账号（%(note)s）：") % {"note": password_note})
        self.stdout.write("  " + _("用户名").ljust(width - 3) + _("角色"))
        for username, role in logins:
            self.stdout.write(f"  {username.ljust(width)}{role}")

    def _write_second_factor(self, secret):
        self.stdout.write(
            _(
                "admin 和 reviewer 须使用双因素认证，已绑定身份验证器，TOTP 密钥（Base32）："
                "%(secret)s（RFC 6238：SHA-1、6 位、30 秒）。登录时在密码之后输入其当前验证码；"
                "API 申请令牌时以 otp 提交。"
            )
            % {"secret": secret}
        )
