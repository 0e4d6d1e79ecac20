"""One log line per request (request id, user, status, duration), and the JSON log format.

The request id comes from the proxy's `X-Request-ID` when it sent a well-formed one (nginx's
`$request_id`), so that the proxy's log and ours can be joined; otherwise a new one is made.
It is returned in the response's `X-Request-ID` and added to every log line written while the
request runs.
"""

import json
import logging
import re
import time
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

logger = logging.getLogger("portal.request")

_WELL_FORMED_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def request_id_of(request):
    sent = request.headers.get("X-Request-ID", "")
    return sent if _WELL_FORMED_ID.match(sent) else uuid.uuid4().hex


class RequestLogMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        token = request_id.set(request_id_of(request))
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request_id.get()
            logger.info(
                "%s %s %s",
                request.method,
                request.path,
                response.status_code,
                extra={"fields": _fields(request, response, started)},
            )
            return response
        finally:
            request_id.reset(token)


def _fields(request, response, started):
    user = getattr(request, "user", None)
    return {
        "method": request.method,
        "path": request.path,
        "status": response.status_code,
        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        "user_id": str(user.pk) if user is not None and user.is_authenticated else None,
    }


def stamp_log_records():
    """Give every log record the id of the request it was written in, when it is made: a
    handler that formats it later (a queue, a test's capture) still has the right one."""
    make_record = logging.getLogRecordFactory()
    if getattr(make_record, "stamps_request_id", False):
        return

    def make_stamped_record(*args, **kwargs):
        record = make_record(*args, **kwargs)
        record.request_id = request_id.get()
        return record

    make_stamped_record.stamps_request_id = True
    logging.setLogRecordFactory(make_stamped_record)


class JsonFormatter(logging.Formatter):
    """A JSON object per line: time (UTC), level, logger, message, the request id when there is
    one, the record's `fields` (passed as `extra={"fields": {...}}`) and any traceback."""

    def format(self, record):
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if getattr(record, "request_id", None) is not None:
            line["request_id"] = record.request_id
        line.update(getattr(record, "fields", {}))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)
