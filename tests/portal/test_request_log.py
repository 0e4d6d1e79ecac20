"""One log line per request, as a log collector reads it: JSON with the request id, the user,
the status and the time taken."""

import json
import logging

import pytest
from django.db import OperationalError

from portal.request_log import JsonFormatter
from tests.conftest import totp

pytestmark = pytest.mark.django_db


def request_lines(caplog):
    formatter = JsonFormatter()
    return [json.loads(formatter.format(r)) for r in caplog.records if r.name == "portal.request"]


def test_each_request_is_one_json_line_with_its_id_user_status_and_duration(caplog, cast, client):
    client.force_login(cast.inspector_a1)
    with caplog.at_level(logging.INFO, logger="portal.request"):
        response = client.get("/firms/")

    (line,) = request_lines(caplog)
    assert line["request_id"] == response["X-Request-ID"]
    assert len(line["request_id"]) == 32
    assert line["user_id"] == str(cast.inspector_a1.pk)
    assert (line["method"], line["path"], line["status"]) == ("GET", "/firms/", 200)
    assert line["duration_ms"] > 0 and line["level"] == "INFO"


def test_the_proxys_request_id_is_kept_and_a_malformed_one_replaced(caplog, client):
    with caplog.at_level(logging.INFO, logger="portal.request"):
        kept = client.get("/accounts/login/", HTTP_X_REQUEST_ID="0f3c9a2e5b7d41a6")
        replaced = client.get("/accounts/login/", HTTP_X_REQUEST_ID='x"}, "user_id": "forged')

    assert kept["X-Request-ID"] == "0f3c9a2e5b7d41a6"
    assert replaced["X-Request-ID"] != 'x"}, "user_id": "forged'
    assert [line["user_id"] for line in request_lines(caplog)] == [None, None]


def test_an_api_request_with_a_token_names_its_user(caplog, cast, client):
    token = client.post(
        "/api/v1/auth/token/",
        {"username": cast.reviewer.username, "password": "cast-pass-2021", "otp": totp()},
        content_type="application/json",
    ).json()["token"]
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="portal.request"):
        client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {token}")

    (line,) = request_lines(caplog)
    assert line["user_id"] == str(cast.reviewer.pk) and line["status"] == 200


def test_log_lines_written_during_a_request_carry_its_id(caplog, client, monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("down")

    monkeypatch.setattr("portal.health.connection.cursor", refuse)
    with caplog.at_level(logging.INFO):
        response = client.get("/healthz")

    warning = next(r for r in caplog.records if r.name == "portal.health")
    line = json.loads(JsonFormatter().format(warning))
    assert line["level"] == "WARNING"
    assert line["request_id"] == response["X-Request-ID"]
