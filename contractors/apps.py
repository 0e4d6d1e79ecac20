from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ContractorsConfig(AppConfig):
    name = "contractors"
    verbose_name = _("企业名录与检查")
    default_auto_field = "django.db.models.BigAutoField"
