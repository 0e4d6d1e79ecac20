from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportingConfig(AppConfig):
    name = "reporting"
    verbose_name = _("统计与报表")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # The layers below fire these hooks in their own transaction; the days are noted in it.
        from contractors import hooks
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
