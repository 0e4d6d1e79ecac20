"""Measurement 7: the portal as `make serve` runs it, on loopback, driven by wrk: logged-in agency
inspectors on the firm list and on their own inspection pages for 30 seconds; requests per
second, median and p95 of each page and of both together, and no errors. Target (issue 14):
both pages together at least 40 requests a second with p95 at most 250 ms, and no errors.

The server is `config/serve.py` itself, with the production settings (`config.settings`, debug
off) on the benchmark's database: gunicorn with `config/gunicorn.py` and its default worker
count (2 × cores + 1, unless `WEB_CONCURRENCY` says otherwise), the task worker and the
scheduler. It is told it sits behind the TLS proxy (`BEHIND_TLS_PROXY=true`), and every request
says it came in over HTTPS (`X-Forwarded-Proto: https`), so the secure cookies, HSTS and the
HTTPS redirect are all as in production.

The inspectors log in through the login form first (GET for the CSRF cookie, POST), from here;
wrk (Debian's, with `bench/pages.lua`) then sends their session cookies. Their passwords are
hashed again with the production hasher first: the generated users have the test settings'
fast one, which the production settings do not accept. wrk's one thread uses about 1 % of a
core; the row says how much it used.

Everything started here is stopped here, whatever happens."""

import http.cookiejar
import json
import os
import re
import resource
import runpy
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from urllib.parse import quote

from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection
from django.urls import reverse

from bench.generate import PASSWORD
from bench.harness import Result

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(__file__).resolve().parent / "pages.lua"
SECONDS = 30
WARM_UP_SECONDS = 5
CONNECTIONS = 8
THREADS = 1
INSPECTORS_PER_AGENCY = 4
INSPECTIONS_PER_INSPECTOR = 10
PAGES = ("firm list", "inspection page")
TARGET_PER_SECOND = 40
TARGET_P95_MS = 250
SOCKET_ERRORS = ("connect", "read", "write", "timeout")
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
MARK = "bench-json "


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


def wait_for(port, server, *, seconds=180):
    """Until gunicorn listens; `make serve` migrates and collects the static files first."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"make serve exited with {server.returncode} before listening")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.5)
    raise RuntimeError(f"make serve did not listen on 127.0.0.1:{port} within {seconds} s")


def stop(process):
    """SIGTERM, as a service manager would: the supervisor stops its three processes."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def inspectors_and_pages(district):
    """Who logs in: the first inspectors of every agency, each with inspections of its own
    (it was one of the two inspectors), a spread sample in id order."""
    from contractors.inspections.models import Inspection

    chosen = []
    for inspectors in district.inspectors:
        for inspector in inspectors[:INSPECTORS_PER_AGENCY]:
            own = Inspection.objects.filter(
                inspectors=inspector, submitted_at__isnull=False
            ).order_by("pk")[:INSPECTIONS_PER_INSPECTOR]
            paths = [
                reverse("contractors:inspection_detail", args=[pk])
                for pk in own.values_list("pk", flat=True)
            ]
            if paths:
                chosen.append((inspector, paths))
    return chosen


def use_production_hasher(users):
    """The production settings only accept their own password hashers."""
    from portal.models import User

    hasher = PBKDF2PasswordHasher()
    encoded = hasher.encode(PASSWORD, hasher.salt())
    User.objects.filter(pk__in=[user.pk for user in users]).update(password=encoded)


class BehindTlsProxy(http.cookiejar.DefaultCookiePolicy):
    """Loopback stands in for the TLS proxy: the secure cookies go back over it."""

    def return_ok_secure(self, cookie, request):
        return True


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def log_in(base, username):
    """The Cookie header of a session logged in through the login form."""
    jar = http.cookiejar.CookieJar(policy=BehindTlsProxy())
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirects)
    headers = {"X-Forwarded-Proto": "https"}
    url = base + reverse("login")
    with opener.open(urllib.request.Request(url, headers=headers), timeout=60) as page:
        token = CSRF_FIELD.search(page.read().decode("utf-8")).group(1)
    form = urllib.parse.urlencode(
        {"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token, "next": ""}
    ).encode()
    # An HTTPS request's form must name its origin (Django's CSRF check).
    origin = "https://" + urllib.parse.urlsplit(base).netloc
    request = urllib.request.Request(url, data=form, headers={**headers, "Origin": origin})
    try:
        with opener.open(request, timeout=60) as answer:
            status = answer.status
    except urllib.error.HTTPError as answer:
        status = answer.code
    # A wrong password shows the form again (200); a login redirects.
    if status != 302 or not any(cookie.name == "sessionid" for cookie in jar):
        raise RuntimeError(f"{username} was not logged in: {status}")
    return "; ".join(f"{cookie.name}={cookie.value}" for cookie in jar)


def parse_wrk(output):
    """The JSON object `bench/pages.lua` prints when wrk is done."""
    for line in output.splitlines():
        if line.startswith(MARK):
            return json.loads(line[len(MARK) :])
    raise ValueError("wrk printed no result line (bench/pages.lua's done())")


def errors_of(report, page=None):
    """Every answer but a 200 on `page`; for the whole run, also what got no answer: wrk's
    socket errors and timeouts, and answers without our request id."""
    pages = [page] if page else list(report["pages"])
    wrong = sum(
        int(count)
        for name in pages
        for status, count in report["pages"][name]["statuses"].items()
        if status != "200"
    )
    if page:
        return wrong
    return (
        wrong
        + sum(int(report["errors"][kind]) for kind in SOCKET_ERRORS)
        + int(report["unmatched"])
    )


def results_of(report, *, scale, setting):
    seconds = report["seconds"]
    results = []
    for page in PAGES:
        entry = report["pages"][page]
        errors = errors_of(report, page)
        results.append(
            Result(
                name=(
                    f"HTTP {page}: {entry['requests'] / seconds:.1f} req/s, "
                    f"{errors} errors of {entry['requests']:.0f}"
                ),
                scale=f"{scale}; {setting}",
                median_ms=round(entry["median_ms"], 1),
                p95_ms=round(entry["p95_ms"], 1),
                met=errors == 0,
            )
        )
    together = report["together"]
    per_second = together["requests"] / seconds
    errors = errors_of(report)
    results.append(
        Result(
            name=(
                f"HTTP both pages together: {per_second:.1f} req/s, {errors} errors in all "
                f"(target >= {TARGET_PER_SECOND} req/s, p95 <= {TARGET_P95_MS} ms)"
            ),
            scale=f"{scale}; {setting}",
            median_ms=round(together["median_ms"], 1),
            p95_ms=round(together["p95_ms"], 1),
            met=(
                errors == 0
                and per_second >= TARGET_PER_SECOND
                and together["p95_ms"] <= TARGET_P95_MS
            ),
        )
    )
    return results


def worker_count(env):
    """gunicorn's worker count as config/gunicorn.py computes it in `env`."""
    saved = os.environ.get("WEB_CONCURRENCY")
    try:
        if env.get("WEB_CONCURRENCY"):
            os.environ["WEB_CONCURRENCY"] = env["WEB_CONCURRENCY"]
        return runpy.run_path(str(ROOT / "config" / "gunicorn.py"))["workers"]
    finally:
        if saved is None:
            os.environ.pop("WEB_CONCURRENCY", None)
        else:
            os.environ["WEB_CONCURRENCY"] = saved


def server_environment(port, scratch, workers):
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("S3_", "SECRET_KEY"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=database_url(),
        SECRET_KEY=secrets.token_urlsafe(50),
        DEBUG="false",
        BEHIND_TLS_PROXY="true",
        ALLOWED_HOSTS="127.0.0.1",
        PORT=str(port),
        # Its collected static files, local storage and the like: not the checkout's var/.
        PORTAL_VAR_DIR=str(scratch),
    )
    if workers:
        env["WEB_CONCURRENCY"] = str(workers)
    return env


def wrk(base, sessions_file, seconds):
    """wrk's run and the CPU seconds it used."""
    binary = shutil.which("wrk")
    if binary is None:
        raise RuntimeError("measurement 7 needs wrk on the PATH: Debian's wrk package")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = subprocess.run(
        [
            binary,
            f"--threads={THREADS}",
            f"--connections={CONNECTIONS}",
            f"--duration={seconds}s",
            "--timeout=5s",
            f"--script={SCRIPT}",
            base,
            "--",
            str(sessions_file),
            reverse("contractors:firm_list"),
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if load.returncode != 0:
        raise RuntimeError(f"wrk failed ({load.returncode}): {load.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return parse_wrk(load.stdout), cpu


def run(district, *, workers=None, seconds=SECONDS):
    """The rows of measurement 7; `workers` overrides gunicorn's default worker count."""
    chosen = inspectors_and_pages(district)
    use_production_hasher([inspector for inspector, _paths in chosen])
    # The bench process keeps no connection open meanwhile: the server gets the database.
    connection.close()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="bench-http-") as scratch:
        scratch = Path(scratch)
        env = server_environment(port, scratch / "var", workers)
        log = (scratch / "serve.log").open("w")
        server = subprocess.Popen(
            [sys.executable, "-m", "config.serve"], cwd=ROOT, env=env, stdout=log, stderr=log
        )
        try:
            wait_for(port, server)
            sessions_file = scratch / "sessions.tsv"
            sessions_file.write_text(
                "".join(
                    "\t".join([log_in(base, inspector.username), *paths]) + "\n"
                    for inspector, paths in chosen
                )
            )
            # Warm: every worker has imported, connected and compiled its templates.
            wrk(base, sessions_file, WARM_UP_SECONDS)
            report, cpu = wrk(base, sessions_file, seconds)
        finally:
            stop(server)
            log.close()
        if errors_of(report):
            print((scratch / "serve.log").read_text()[-5000:], file=sys.stderr)
    setting = (
        f"make serve, gunicorn {worker_count(env)} workers; wrk {THREADS} thread, "
        f"{CONNECTIONS} connections, {len(chosen)} logged-in inspectors, {seconds} s "
        f"(wrk's CPU {100 * cpu / report['seconds']:.0f} % of a core)"
    )
    return results_of(report, scale=f"scale {district.scale:g}", setting=setting)
