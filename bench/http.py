"""Measurement 7: the portal under gunicorn (2 workers) on loopback, locust's logged-in agency
inspectors on the firm list and an inspection page for 30 seconds: requests per second, median
and p95 of each page, and no errors.

gunicorn serves the benchmark's own database with the test settings (the real settings with a
throwaway key and fast password hashing; DEBUG off). Both processes are started here and
stopped here, whatever happens."""

import csv
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

from django.db import connection

from bench.generate import PASSWORD
from bench.harness import Result

ROOT = Path(__file__).resolve().parent.parent
WORKERS = 2
USERS = 8
SECONDS = 30
INSPECTORS_PER_AGENCY = 4
PAGES = ("firm list", "inspection page")


def database_url():
    """The URL of the database this process is using (the benchmark's throwaway one)."""
    settings = connection.settings_dict
    credentials = quote(settings["USER"] or "", safe="")
    if settings["PASSWORD"]:
        credentials += ":" + quote(settings["PASSWORD"], safe="")
    host = f"{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}"
    return f"postgres://{credentials}@{host}/{settings['NAME']}"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(port, *, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not listen on 127.0.0.1:{port} within {seconds} s")


def stop(process):
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def sessions(district):
    """Who logs in: the first inspectors of every agency, each with inspections it may see."""
    return [
        {"username": inspector.username, "inspections": [str(pk) for pk in inspections]}
        for inspectors, inspections in zip(district.inspectors, district.inspections, strict=True)
        for inspector in inspectors[:INSPECTORS_PER_AGENCY]
    ]


def run(district):
    # The bench process keeps no connection open meanwhile: gunicorn's workers get the server.
    connection.close()
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": database_url(),
        "DEBUG": "false",
        "BENCH_SESSIONS": json.dumps(sessions(district)),
        "BENCH_PASSWORD": PASSWORD,
    }
    bin_dir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory(prefix="bench-http-") as scratch:
        server = subprocess.Popen(
            [
                bin_dir / "gunicorn",
                "config.wsgi:application",
                f"--workers={WORKERS}",
                f"--bind=127.0.0.1:{port}",
                "--log-level=warning",
            ],
            cwd=ROOT,
            env=env,
        )
        try:
            wait_for(port)
            load = subprocess.run(
                [
                    bin_dir / "locust",
                    f"--locustfile={ROOT / 'bench' / 'locustfile.py'}",
                    "--headless",
                    f"--users={USERS}",
                    f"--spawn-rate={USERS}",
                    f"--run-time={SECONDS}s",
                    f"--host=http://127.0.0.1:{port}",
                    f"--csv={Path(scratch) / 'load'}",
                    "--only-summary",
                    "--stop-timeout=10",
                    "--loglevel=WARNING",
                ],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=SECONDS + 120,
            )
        finally:
            stop(server)
        stats = {
            row["Name"]: row
            for row in csv.DictReader((Path(scratch) / "load_stats.csv").open(encoding="utf-8"))
        }
    errors = sum(int(row["Failure Count"]) for name, row in stats.items() if name != "Aggregated")
    if errors:
        print(load.stdout[-3000:], load.stderr[-3000:], sep="\n", file=sys.stderr)
    setting = f"gunicorn {WORKERS} workers, {USERS} logged-in inspectors, {SECONDS} s"
    results = []
    for page in PAGES:
        row = stats[page]
        results.append(
            Result(
                name=(
                    f"HTTP {page}: {float(row['Requests/s']):.1f} req/s, "
                    f"{row['Failure Count']} errors of {row['Request Count']}"
                ),
                scale=f"scale {district.scale:g}; {setting}",
                median_ms=float(row["Median Response Time"]),
                p95_ms=float(row["95%"]),
                met=int(row["Failure Count"]) == 0,
            )
        )
    pages = [stats[page] for page in PAGES]
    results.append(
        Result(
            name=(
                f"HTTP both pages together: {sum(float(r['Requests/s']) for r in pages):.1f} "
                f"req/s, {errors} errors in all (logins included)"
            ),
            scale=f"scale {district.scale:g}; {setting}",
            median_ms=float(stats["Aggregated"]["Median Response Time"]),
            p95_ms=float(stats["Aggregated"]["95%"]),
            met=errors == 0,
        )
    )
    return results
