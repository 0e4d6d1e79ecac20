"""gunicorn's settings, for `make serve` and deploy/systemd/portal-web.service.

`gunicorn -c config/gunicorn.py config.wsgi`. Sync workers: the pages are short database reads
and writes, and the slow work (PDF conversion) runs in the task worker, not in a request.
"""

import multiprocessing
import os

bind = os.environ.get("BIND") or f"127.0.0.1:{os.environ.get('PORT', '8000')}"
# gunicorn's own advice, (2 x cores) + 1: a worker waiting on the database leaves the core to
# another.
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count() * 2 + 1)
timeout = int(os.environ.get("WEB_TIMEOUT", "60"))
# A reload (SIGHUP) or stop (SIGTERM) lets requests in flight finish for this long.
graceful_timeout = int(os.environ.get("WEB_GRACEFUL_TIMEOUT", "30"))
keepalive = 5
# Recycle each worker now and then, so that a slow leak never grows into an outage.
max_requests = 2000
max_requests_jitter = 200
# The app logs each request itself, as JSON with its request id (portal/request_log.py).
accesslog = None
errorlog = "-"
# The TLS proxy in front of the web machines (deploy/nginx/portal.conf).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
proc_name = "portal-web"
# gunicorn 25+ opens a control socket in the home folder; nothing here uses it, and a service's
# home may be read-only (deploy/systemd).
control_socket_disable = True
