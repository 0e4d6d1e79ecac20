from django.apps import AppConfig


class WorkerAppConfig(AppConfig):
    name = "tests.portal.jobs.worker_app"
    label = "jobs_worker_app"

    def ready(self):
        from portal.jobs.registry import register_periodic_job
        from tests.portal.jobs.worker_app.jobs import write_then_wait

        register_periodic_job(
            name="write_then_wait",
            cron="* * * * *",
            run=write_then_wait,
            description="writes an audit event, waits on the gate, commits",
        )
