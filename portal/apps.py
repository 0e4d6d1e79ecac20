from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from portal.request_log import stamp_log_records


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = _("平台")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        stamp_log_records()
        # Here, not at the top: the receivers' services need the models loaded.
        from portal.accounts.receivers import connect_receivers

        connect_receivers()
