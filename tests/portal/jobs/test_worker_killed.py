"""A worker killed mid-job (kill -9, a machine lost) leaves the job to run again, never half
done. Real `db_worker` processes on PostgreSQL, as under `make serve`: about 5 s, for two
Django start-ups and the wait for the job to begin."""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from portal.jobs.services import do_claim_period, do_retry_periodic_runs
from portal.models import AuditEvent
from tests.portal.jobs.worker_app.jobs import ACTION, write_then_wait

ROOT = Path(__file__).resolve().parents[3]

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="a second process on the test database"
    ),
]


def worker(gate, *args):
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.portal.jobs.worker_settings",
        "DATABASE_URL": url,
        "JOB_GATE": str(gate),
    }
    return subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "db_worker",
            "--no-startup-delay",
            "--interval",
            "0.1",
            *args,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def wait_for(condition, seconds=30):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_worker_killed_mid_job_leaves_nothing_half_done_and_the_job_runs_again(
    timetable, database_tasks, settings, tmp_path
):
    job = timetable(name="write_then_wait", cron="* * * * *", run=write_then_wait, description="")
    gate = tmp_path / "gate"
    gate.touch()
    run = do_claim_period(job=job)

    first = worker(gate)
    try:
        wait_for(Path(f"{gate}.started").exists)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()

    run.refresh_from_db()
    assert run.status == "running" and run.attempts == 1
    assert not AuditEvent.objects.filter(action=ACTION).exists()  # its write rolled back

    after_lease = timezone.now() + timedelta(seconds=settings.PERIODIC_JOB_LEASE_SECONDS + 1)
    assert do_retry_periodic_runs(now=after_lease) == [run]
    gate.unlink()
    second = worker(gate, "--batch")
    _out, errors = second.communicate(timeout=60)
    assert second.returncode == 0, errors

    run.refresh_from_db()
    assert (run.status, run.attempts, run.outcome) == ("succeeded", 2, "done")
    assert AuditEvent.objects.filter(action=ACTION).count() == 1
