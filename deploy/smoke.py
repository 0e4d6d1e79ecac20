"""The production smoke test (`make smoke`, run by .ci/run): the topology of `make serve` with
debug off, against PostgreSQL and moto's S3 server on loopback, driven over real HTTP.

It starts what `make serve` starts (`config/serve.py`: gunicorn, the task worker, the
scheduler) on a free port with DATABASE_URL (an empty PostgreSQL database) and a fresh bucket,
seeds a small demo district, then: an inspector records an inspection with a hazard and submits
it through the API; the reviewer signs its documents; the worker converts the signed order's
PDF, which downloads from the bucket with the recorded SHA-256; the static files come with
far-future cache headers; /healthz is 200, and stays 200 through a reload (SIGHUP); and a
second instance given a wrong DATABASE_URL answers /healthz with 503 naming the database. Last,
the embedded default (no DATABASE_URL, no key, no bucket) starts and is healthy. Everything it
started is stopped at the end, whatever happened.

Every request carries `X-Forwarded-Proto: https`, as the TLS proxy in front (deploy/nginx) does:
with debug off the portal redirects plain HTTP.
"""

import base64
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")
PASSWORD = "demo-pass-2021"
# seed_demo's default authenticator secret for admin and reviewer (API.md): their token
# requests carry the current TOTP code, computed here without Django.
OTP_SECRET = "JBSWY3DPEHPK3PXP"
SIGNERS = {"admin", "reviewer"}
PDF_WAIT_SECONDS = 300
START_WAIT_SECONDS = 120
ONE_YEAR = 365 * 24 * 3600
RELOAD_WATCH_SECONDS = 8


def totp(secret, at=None):
    """RFC 6238 (SHA-1, 6 digits, 30 s) for a base32 secret."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    counter = int((time.time() if at is None else at) // 30)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = int.from_bytes(digest[offset : offset + 4], "big") & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


class SmokeFailure(AssertionError):
    pass


PASSED = []


def check(condition, message):
    if not condition:
        raise SmokeFailure(message)
    PASSED.append(message)
    print(f"ok   {message}", flush=True)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Portal:
    """HTTP to one instance, as through the TLS proxy."""

    def __init__(self, port):
        self.base = f"http://127.0.0.1:{port}"
        self.opener = urllib.request.build_opener(NoRedirects)

    def request(self, method, path, *, token=None, body=None, headers=None):
        headers = {"X-Forwarded-Proto": "https", "Host": "127.0.0.1", **(headers or {})}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = f"Token {token}"
        request = urllib.request.Request(
            self.base + path, data=data, method=method, headers=headers
        )
        try:
            with self.opener.open(request, timeout=60) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def json(self, method, path, *, expect=200, **kwargs):
        status, _headers, content = self.request(method, path, **kwargs)
        if status != expect:
            raise SmokeFailure(f"{method} {path}: {status} (expected {expect}): {content[:500]!r}")
        return json.loads(content) if content else None

    def token(self, username):
        body = {"username": username, "password": PASSWORD}
        if username in SIGNERS:
            body["otp"] = totp(OTP_SECRET)
        return self.json("POST", "/api/v1/auth/token/", body=body)["token"]

    def wait_healthy(self, process):
        deadline = time.monotonic() + START_WAIT_SECONDS
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SmokeFailure(f"the portal exited with {process.returncode} while starting")
            try:
                status, _headers, content = self.request("GET", "/healthz")
                if status == 200:
                    return json.loads(content)
            except OSError:
                pass
            time.sleep(0.5)
        raise SmokeFailure("the portal did not become healthy in time")


def start(command, env, log):
    # A process group of its own, so that stopping it stops its children too.
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def stop(process):
    """SIGTERM to the process itself, as a service manager sends it; its group is killed only
    if it has not stopped in time."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def inspection_story(portal):
    """An inspector records an inspection with one hazard and submits it; the documents."""
    inspector = portal.token("a1-inspector1")
    me = portal.json("GET", "/api/v1/me/", token=inspector)
    colleagues = portal.json("GET", "/api/v1/users/?role=agency_inspector", token=inspector)
    inspectors = [me["id"]] + [u["id"] for u in colleagues["results"] if u["id"] != me["id"]][:1]
    firm = portal.json("GET", "/api/v1/firms/", token=inspector)["results"][0]
    today = date.today()
    inspection = portal.json(
        "POST",
        "/api/v1/inspections/",
        expect=201,
        token=inspector,
        body={
            "firm": firm["id"],
            "kind": "routine",
            "inspected_on": today.isoformat(),
            "time_from": "09:00",
            "inspectors": inspectors,
            "firm_representative": "张安全",
            "firm_representative_post": "安全主管",
            "latitude": 31.2384,
            "longitude": 121.4012,
        },
    )
    url = f"/api/v1/inspections/{inspection['id']}/"
    for entry in inspection["checklist"]:
        answer = "hazard" if entry["position"] == 1 else "pass"
        portal.json(
            "POST", f"{url}answers/", token=inspector, body={"item": entry["id"], "answer": answer}
        )
    portal.json(
        "POST",
        f"{url}hazards/",
        expect=201,
        token=inspector,
        body={
            "category": "fire",
            "level": "general",
            "description": "疏散通道堆放杂物",
            "location": "一号仓库",
            "deadline": (today + timedelta(days=7)).isoformat(),
        },
    )
    portal.json("PATCH", url, token=inspector, body={"time_to": "11:00", "place": "一号仓库"})
    submitted = portal.json("POST", f"{url}submit/", token=inspector)
    check(submitted["status"] == "submitted", "an inspector submits an inspection over the API")
    return submitted["documents"]


def sign_and_fetch_pdf(portal, document_ids):
    reviewer = portal.token("reviewer")
    signed = [
        portal.json("POST", f"/api/v1/documents/{pk}/approve/", token=reviewer, body={})
        for pk in document_ids
    ]
    check(
        all(document["status"] == "approved" and document["number"] for document in signed),
        f"the reviewer signs its {len(signed)} documents: "
        + ", ".join(d["number"] for d in signed),
    )
    order = next(d for d in signed if d["doc_type"] == "rectification_order")
    deadline = time.monotonic() + PDF_WAIT_SECONDS
    while True:
        document = portal.json("GET", f"/api/v1/documents/{order['id']}/", token=reviewer)
        if document["sha256_pdf"] or time.monotonic() > deadline:
            break
        time.sleep(1)
    check(bool(document["sha256_pdf"]), "the worker converts the signed order's PDF")
    status, headers, _content = portal.request(
        "GET", f"/api/v1/documents/{order['id']}/download/?format=pdf", token=reviewer
    )
    check(status == 302, "the PDF download answers with a redirect to the bucket")
    with urllib.request.urlopen(headers["Location"], timeout=30) as response:
        pdf = response.read()
    check(
        pdf.startswith(b"%PDF") and hashlib.sha256(pdf).hexdigest() == document["sha256_pdf"],
        "the PDF comes from the bucket with the SHA-256 recorded",
    )


def static_files(portal):
    status, _headers, page = portal.request("GET", "/accounts/login/")
    check(status == 200, "the login page is served with debug off")
    found = re.search(rb"/static/[\w/.-]+\.[0-9a-f]{12}\.(?:css|js)", page)
    check(found is not None, "the login page links a static file by its hashed name")
    status, headers, _content = portal.request(
        "GET", found.group().decode(), headers={"Accept-Encoding": "gzip"}
    )
    cache = headers.get("Cache-Control", "")
    max_age = int(re.search(r"max-age=(\d+)", cache).group(1)) if "max-age" in cache else 0
    check(
        status == 200 and max_age >= ONE_YEAR and "immutable" in cache,
        f"static files are cached for a year ({cache}; {headers.get('Content-Encoding')})",
    )


def graceful_reload(portal, serve):
    """SIGHUP, as `systemctl reload` sends it: gunicorn replaces its workers while requests keep
    being answered, and the task worker and the scheduler are restarted."""
    serve.send_signal(signal.SIGHUP)
    answers = []
    deadline = time.monotonic() + RELOAD_WATCH_SECONDS
    while time.monotonic() < deadline:
        status, _headers, _content = portal.request("GET", "/healthz")
        answers.append(status)
        time.sleep(0.1)
    check(
        serve.poll() is None and set(answers) == {200},
        f"a reload (SIGHUP) keeps answering: {len(answers)} requests, all 200",
    )


def wrong_database(env, log):
    """A second instance whose DATABASE_URL names no database: /healthz 503 naming it."""
    port = free_port()
    wrong = {
        **env,
        "DATABASE_URL": re.sub(r"/[^/]+$", "/no_such_database", env["DATABASE_URL"]),
        "BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "1",
    }
    command = [PYTHON, "-m", "gunicorn", "-c", "config/gunicorn.py", "config.wsgi"]
    process = start(command, wrong, log)
    try:
        portal = Portal(port)
        deadline = time.monotonic() + START_WAIT_SECONDS
        while True:
            try:
                status, _headers, content = portal.request("GET", "/healthz")
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise SmokeFailure("the second instance did not answer") from None
                time.sleep(0.5)
        body = json.loads(content)
        check(
            status == 503 and "database" in body["failing"],
            f"an instance with a wrong DATABASE_URL answers /healthz 503: {body['failing']}",
        )
    finally:
        stop(process)


def embedded_default(work):
    """`make serve` on a fresh machine: no DATABASE_URL, no SECRET_KEY, no bucket."""
    port = free_port()
    var_dir = work / "embedded-var"
    ours = {"DATABASE_URL", "SECRET_KEY", "SECRET_KEY_FILE", "ALLOWED_HOSTS", "BEHIND_TLS_PROXY"}
    env = {name: value for name, value in os.environ.items() if name not in ours}
    env = {**env, "PORTAL_VAR_DIR": str(var_dir), "PORT": str(port), "WEB_CONCURRENCY": "2"}
    for name in list(env):
        if name.startswith("S3_"):
            del env[name]
    with open(work / "embedded.log", "w") as log:
        process = start([PYTHON, "-m", "config.serve"], env, log)
        try:
            health = Portal(port).wait_healthy(process)
        finally:
            stop(process)
    check(
        health["checks"]["storage"]["mode"] == "local" and (var_dir / "secret_key").exists(),
        "the embedded default serves with SQLite, local files and a key it keeps in var/",
    )


def bucket(endpoint):
    import boto3

    name = f"smoke-{secrets.token_hex(4)}"
    boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="smoke",
        aws_secret_access_key="smoke",
    ).create_bucket(Bucket=name)
    return name


def main():
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith("postgres"):
        raise SystemExit("make smoke: DATABASE_URL must name an empty PostgreSQL database")
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's line per request
    s3 = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    s3.start()
    host, s3_port = s3.get_host_and_port()
    endpoint = f"http://{host}:{s3_port}"
    port = free_port()
    work = Path(tempfile.mkdtemp(prefix="portal-smoke-"))
    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "BEHIND_TLS_PROXY": "true",
        "DATABASE_URL": database_url,
        "S3_BUCKET": bucket(endpoint),
        "S3_ENDPOINT_URL": endpoint,
        "S3_ACCESS_KEY_ID": "smoke",
        "S3_SECRET_ACCESS_KEY": "smoke",
        "PORTAL_VAR_DIR": str(work / "var"),
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
    }
    log_path = work / "serve.log"
    with open(log_path, "w") as log:
        serve = start([PYTHON, "-m", "config.serve"], env, log)
        try:
            health = Portal(port).wait_healthy(serve)
            check(health["status"] == "ok", f"make serve is healthy: {sorted(health['checks'])}")
            # The demo's own signed documents would queue PDFs ahead of ours: seeded without
            # LibreOffice, they wait for the periodic retry instead.
            seed_env = {**env, "TASKS_BACKEND": "immediate", "SOFFICE_BINARY": "no-soffice-here"}
            subprocess.run(
                [PYTHON, "manage.py", "seed_demo", "--firms", "40"],
                cwd=ROOT,
                env=seed_env,
                check=True,
                stdout=subprocess.DEVNULL,
            )
            portal = Portal(port)
            sign_and_fetch_pdf(portal, inspection_story(portal))
            static_files(portal)
            status, _headers, content = portal.request("GET", "/healthz")
            check(status == 200, f"/healthz after the story: {json.loads(content)['checks']}")
            graceful_reload(portal, serve)
            wrong_database(env, log)
            embedded_default(work)
        except Exception:
            print(f"FAILED; the last lines of {log_path}:", file=sys.stderr)
            log.flush()
            print("\n".join(log_path.read_text().splitlines()[-60:]), file=sys.stderr)
            raise
        finally:
            stop(serve)
            s3.stop()
    check(serve.returncode == 0, "the topology stops cleanly on SIGTERM")
    print(f"smoke: {len(PASSED)} passed, 0 failed")


if __name__ == "__main__":
    main()
