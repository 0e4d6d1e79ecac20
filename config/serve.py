"""`make serve`: the production topology on one machine, from the checkout, with debug off.

Migrates, collects the static files, then runs and watches the three processes an operator
would run as services (deploy/): gunicorn (config/gunicorn.py), the django-tasks database
worker and the periodic jobs' scheduler. SIGTERM or Ctrl-C stops them gracefully; SIGHUP
reloads gunicorn's workers without dropping requests and restarts the worker and the
scheduler; if one of them dies the others are stopped, and the exit status says so (a
service manager restarts the lot).

It uses DATABASE_URL and S3_* when they are set. Without DATABASE_URL it is the embedded
default: SQLite and local files in var/, a secret key generated once and kept in var/
(never in the repository), and plain HTTP on loopback.
"""

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
STOP_SECONDS = 35
PYTHON = sys.executable


def embedded_defaults(environ):
    """The settings `make serve` adds to the environment; refuses a production database
    without its own secret key."""
    added = {"DEBUG": "false", "TASKS_BACKEND": "database"}
    has_key = environ.get("SECRET_KEY") or environ.get("SECRET_KEY_FILE")
    if environ.get("DATABASE_URL") and not has_key:
        raise SystemExit(
            "make serve: SECRET_KEY is not set. A production database (DATABASE_URL) needs a "
            "secret key of its own: set SECRET_KEY, or SECRET_KEY_FILE to a file holding it."
        )
    if not environ.get("DATABASE_URL"):
        if not has_key:
            added["SECRET_KEY_FILE"] = str(kept_secret_key(environ))
        # Embedded: served on loopback over plain HTTP, there is no TLS proxy in front.
        added.update(
            ALLOWED_HOSTS="127.0.0.1,localhost",
            SECURE_SSL_REDIRECT="false",
            SESSION_COOKIE_SECURE="false",
            CSRF_COOKIE_SECURE="false",
            SECURE_HSTS_SECONDS="0",
        )
    return {name: value for name, value in added.items() if not environ.get(name)}


def kept_secret_key(environ):
    var_dir = Path(environ.get("PORTAL_VAR_DIR") or BASE_DIR / "var")
    path = var_dir / "secret_key"
    if not path.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_urlsafe(50))
    return path


def processes():
    manage = [PYTHON, str(BASE_DIR / "manage.py")]
    return {
        "web": [
            PYTHON,
            "-m",
            "gunicorn",
            "-c",
            str(BASE_DIR / "config/gunicorn.py"),
            "config.wsgi",
        ],
        "worker": [*manage, "db_worker", "--no-reload"],
        "scheduler": [*manage, "run_schedule"],
    }


class Supervisor:
    def __init__(self, env):
        self.env = env
        self.children = {}
        self.stopping = False

    def start(self, name):
        self.children[name] = subprocess.Popen(processes()[name], cwd=BASE_DIR, env=self.env)

    def run(self):
        for name in processes():
            self.start(name)
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        signal.signal(signal.SIGHUP, self.reload)
        while not self.stopping:
            for name, child in self.children.items():
                if child.poll() is not None and not self.stopping:
                    print(f"make serve: {name} exited with {child.returncode}", file=sys.stderr)
                    self.stop()
                    return 1
            time.sleep(0.5)
        return 0

    def stop(self, *_signal):
        self.stopping = True
        for child in self.children.values():
            if child.poll() is None:
                child.terminate()
        deadline = time.monotonic() + STOP_SECONDS
        for child in self.children.values():
            try:
                child.wait(timeout=max(deadline - time.monotonic(), 0))
            except subprocess.TimeoutExpired:
                child.kill()

    def reload(self, *_signal):
        self.children["web"].send_signal(signal.SIGHUP)
        for name in ("worker", "scheduler"):
            # The worker finishes the job in hand first; a job it had not started stays queued.
            self.children[name].terminate()
            self.children[name].wait(timeout=STOP_SECONDS)
            self.start(name)


def main():
    env = {**os.environ, **embedded_defaults(os.environ)}
    for command in (["migrate", "--noinput"], ["collectstatic", "--noinput", "--verbosity", "0"]):
        subprocess.run([PYTHON, str(BASE_DIR / "manage.py"), *command], env=env, check=True)
    return Supervisor(env).run()


if __name__ == "__main__":
    sys.exit(main())
