import os
import time
from pathlib import Path

from django.db import transaction

from portal.services import record_audit_event

ACTION = "test.write_then_wait"


@transaction.atomic
def write_then_wait():
    """Writes first, then, while the gate file exists, says so and waits: a worker killed then
    has written nothing that lasts."""
    record_audit_event(actor=None, action=ACTION)
    gate = Path(os.environ["JOB_GATE"])
    if gate.exists():
        Path(f"{gate}.started").touch()
        while gate.exists():
            time.sleep(0.05)
    return "done"
