from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ContractorsConfig(AppConfig):
    name = "contractors"
    verbose_name = _("企业名录与检查")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from contractors.evidence.services import do_purge_expired_uploads
        from contractors.hazards.services import do_mark_overdue_hazards
        from portal.jobs.registry import register_periodic_job

        # Deadlines are dates in the bureau's time zone: just after its midnight.
        register_periodic_job(
            name="mark_overdue",
            cron="10 0 * * *",
            run=do_mark_overdue_hazards,
            description="mark hazards past their deadline as overdue",
        )
        register_periodic_job(
            name="purge_uploads",
            cron="7 * * * *",
            run=do_purge_expired_uploads,
            description="delete upload slots never confirmed, with their objects",
        )
