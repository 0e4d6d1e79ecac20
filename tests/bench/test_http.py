"""Measurement 7's reading of wrk: the line `bench/pages.lua` prints, the errors counted from it,
the rows made of it; and the script itself, run by Debian's wrk for a second against a stub
server on loopback (skipped without wrk)."""

import json
import shutil
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench import http

CANNED = (
    'bench-json {"errors":{"connect":0.000,"read":0.000,"status":0.000,"timeout":0.000,'
    '"write":0.000},"pages":{"firm list":{"max_ms":80.500,"median_ms":30.250,"p95_ms":60.000,'
    '"p99_ms":75.000,"requests":600.000,"statuses":{"200":600.000}},"inspection page":'
    '{"max_ms":50.000,"median_ms":20.000,"p95_ms":40.000,"p99_ms":45.000,"requests":'
    '630.000,"statuses":{"200":630.000}}},"requests":1230.000,"seconds":30.010,"together":'
    '{"max_ms":80.500,"median_ms":24.000,"p95_ms":55.000,"p99_ms":70.000,"requests":1230.000},'
    '"unmatched":0.000,"wrk_latency_ms":{"max":80.600,"median":24.100,"p95":55.200}}'
)


def test_the_result_line_is_found_among_wrks_own_output():
    output = "Running 30s test @ http://127.0.0.1:1\n  1 threads and 8 connections\n" + CANNED
    report = http.parse_wrk(output + "\nRequests/sec:     41.00\n")
    assert report["pages"]["firm list"]["median_ms"] == 30.25
    assert report["together"]["requests"] == 1230
    assert http.errors_of(report) == 0


def test_no_result_line_is_an_error_not_a_fast_run():
    with pytest.raises(ValueError, match="no result line"):
        http.parse_wrk("Running 30s test @ http://127.0.0.1:1\n")


def test_every_answer_but_a_200_and_every_lost_request_is_an_error():
    report = http.parse_wrk(CANNED)
    report["pages"]["firm list"]["statuses"].update({"302": 2.0, "500": 1.0})
    report["errors"]["timeout"] = 3.0
    report["unmatched"] = 1.0
    assert http.errors_of(report, "firm list") == 3
    assert http.errors_of(report, "inspection page") == 0
    # wrk's own status count (over 399) is already among the statuses: not counted twice.
    report["errors"]["status"] = 1.0
    assert http.errors_of(report) == 3 + 3 + 1


def test_the_rows_give_each_page_and_both_together_against_the_target():
    rows = http.results_of(http.parse_wrk(CANNED), scale="scale 10", setting="a setting")
    firms, inspections, together = rows
    assert firms.name == "HTTP firm list: 20.0 req/s, 0 errors of 600"
    assert (firms.median_ms, firms.p95_ms, firms.met) == (30.2, 60.0, True)
    assert inspections.name.startswith("HTTP inspection page: 21.0 req/s")
    assert together.name.startswith("HTTP both pages together: 41.0 req/s, 0 errors in all")
    assert (together.median_ms, together.p95_ms, together.met) == (24.0, 55.0, True)
    assert together.scale == "scale 10; a setting"


@pytest.mark.parametrize(
    "change",
    [
        {"requests": 1170.0},  # 39 req/s
        {"p95_ms": 251.0},
    ],
)
def test_together_misses_the_target_below_40_per_second_or_above_250_ms(change):
    report = http.parse_wrk(CANNED)
    report["together"].update(change)
    assert not http.results_of(report, scale="s", setting="t")[2].met


def test_together_misses_the_target_with_any_error():
    report = http.parse_wrk(CANNED)
    report["errors"]["read"] = 1.0
    rows = http.results_of(report, scale="s", setting="t")
    assert [row.met for row in rows] == [True, True, False]


class Stub(BaseHTTPRequestHandler):
    """Answers like the portal: 200, or 302 to the login page without the session cookie;
    the request id sent back."""

    seen = []

    def do_GET(self):
        Stub.seen.append((self.path, self.headers["Cookie"], self.headers["X-Forwarded-Proto"]))
        logged_in = "sessionid=" in (self.headers["Cookie"] or "")
        self.send_response(200 if logged_in else 302)
        self.send_header("X-Request-ID", self.headers["X-Request-ID"])
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.mark.skipif(not shutil.which("wrk"), reason="needs Debian's wrk")
def test_pages_lua_rotates_inspectors_and_pages_and_reports_json(tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Stub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Stub.seen = []
    sessions = tmp_path / "sessions.tsv"
    sessions.write_text(
        "csrftoken=a; sessionid=one\t/inspections/1/\t/inspections/2/\n"
        "csrftoken=b\t/inspections/3/\n"
    )
    try:
        run = subprocess.run(
            [
                "wrk",
                "--threads=1",
                "--connections=2",
                "--duration=1s",
                f"--script={http.SCRIPT}",
                f"http://127.0.0.1:{server.server_port}",
                "--",
                str(sessions),
                "/firms/",
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
    finally:
        server.shutdown()
        server.server_close()
    assert run.returncode == 0, run.stderr
    report = http.parse_wrk(run.stdout)
    json.dumps(report)
    firms, inspections = (report["pages"][page] for page in http.PAGES)
    assert firms["requests"] > 4 and inspections["requests"] > 4
    # The second inspector has no session: its answers are the errors.
    assert 0 < http.errors_of(report, "firm list") < firms["requests"]
    assert report["unmatched"] == 0
    assert firms["median_ms"] <= firms["p95_ms"] <= firms["max_ms"]
    paths = {path for path, _cookie, _proto in Stub.seen}
    assert {"/firms/", "/inspections/1/", "/inspections/2/", "/inspections/3/"} <= paths
    assert {(path, cookie) for path, cookie, _ in Stub.seen if path == "/inspections/3/"} == {
        ("/inspections/3/", "csrftoken=b")
    }
    assert {proto for _path, _cookie, proto in Stub.seen} == {"https"}
