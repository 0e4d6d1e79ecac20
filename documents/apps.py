from django.apps import AppConfig


class DocumentsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "documents"
    verbose_name = "法律文书"

    def ready(self):
        # The inspection work fires these hooks: the documents are drafted in its transaction, and
        # listed on its pages.
        from contractors import hooks
        from documents.drafting.services import (
            draft_inspection_documents,
            draft_reinspection_opinion,
        )
        from documents.pdf.services import do_convert_waiting_pdfs
        from documents.selectors import documents_of_inspection
        from portal.jobs.registry import register_periodic_job

        hooks.inspection_submitted.register(draft_inspection_documents)
        hooks.hazard_reinspected.register(draft_reinspection_opinion)
        hooks.inspection_documents.register(documents_of_inspection)
        register_periodic_job(
            name="convert_pdfs",
            cron="*/10 * * * *",
            run=do_convert_waiting_pdfs,
            description="retry the PDF of signed documents whose conversion failed",
        )
