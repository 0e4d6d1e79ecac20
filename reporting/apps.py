from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportingConfig(AppConfig):
    name = "reporting"
    verbose_name = _("统计与报表")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # The layers below fire these hooks in their own transaction; the days are noted in it.
        from contractors import hooks
        from portal.jobs.registry import register_periodic_job
        from reporting.figures import do_recount_all_figures
        from reporting.notes import (
            note_days_changed,
            note_firms_changed,
            note_hazards_changed,
            note_inspections_changed,
        )

        hooks.inspections_changed.register(note_inspections_changed)
        hooks.hazards_changed.register(note_hazards_changed)
        hooks.firms_moved.register(note_firms_changed)
        hooks.days_changed.register(note_days_changed)
        # A safety net for data changed behind the services' back, at the quietest hour.
        register_periodic_job(
            name="recount_figures",
            cron="30 2 * * *",
            run=do_recount_all_figures,
            description="recount the statistics' daily tally of every bureau",
        )
