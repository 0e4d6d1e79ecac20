"""Measurement 2: the reviewer's queue page and the dashboard, as the reviewer's browser gets
them (middleware, view, selectors, template), and the statistics summary of the API, for the
default period and for two that the tally's first-inspection flags cannot count firms for;
target under 300 ms median at scale 10. With them, for the HTTP measurement's reading, the two
pages it loads, as one agency inspector gets them one at a time."""

from datetime import date, timedelta
from urllib.parse import urlencode

from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY

from bench.harness import measure
from portal.second_factor.rules import has_second_factor, needs_second_factor, totp_device_of
from portal.second_factor.services import do_enrol_known_secret

TARGET_MS = 300
# The public demo secret: the bench's reviewer is enrolled with it if the data has none.
BENCH_OTP_SECRET = "JBSWY3DPEHPK3PXP"


def _getter(client, url):
    def get():
        response = client.get(url)
        # A failing page would be measured as a fast one.
        assert response.status_code == 200, (url, response.status_code)

    return get


def _client(user):
    """A logged-in client; for the reviewer, past the second step too (as django_otp.login
    marks it), so that the middleware's check of the verified session is in the measurement."""
    client = Client()
    client.force_login(user)
    if needs_second_factor(user) or has_second_factor(user):
        device = totp_device_of(user) or do_enrol_known_secret(
            actor=None, user=user, secret=BENCH_OTP_SECRET
        )
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return client


def periods(today):
    """Periods the tally's first-of-year and first-of-month flags cannot count firms for, as
    (label, query string): from the last 15 March (begun mid-year) to today, and from the 15th
    of the month before last to the 14th of last month (two months, begun mid-month)."""
    last_month = today.replace(day=1) - timedelta(days=1)
    mid_year = date(today.year if today > date(today.year, 3, 15) else today.year - 1, 3, 15)
    spans = (
        (mid_year, today),
        (
            (last_month.replace(day=1) - timedelta(days=1)).replace(day=15),
            last_month.replace(day=14),
        ),
    )
    return [
        (f"{start:%Y-%m-%d} to {end:%Y-%m-%d}", f"?{urlencode({'from': start, 'to': end})}")
        for start, end in spans
    ]


def run(district):
    scale = f"scale {district.scale:g}"
    reviewer, inspector = _client(district.reviewer), _client(district.inspectors[0][0])
    inspection = district.inspections[0][0]
    dashboard, summary = reverse("dashboard"), reverse("api-stats-summary")
    return [
        *(
            measure(name, scale=scale, action=_getter(reviewer, url), target_ms=TARGET_MS)
            for name, url in (
                ("reviewer's queue page (documents/review/)", reverse("documents:review_queue")),
                ("dashboard page (dashboard/), default period", dashboard),
                ("statistics summary (api/v1/stats/summary/)", summary),
                *(
                    row
                    for label, query in periods(timezone.localdate())
                    for row in (
                        (f"dashboard page (dashboard/), {label}", dashboard + query),
                        (f"statistics summary (api/v1/stats/summary/), {label}", summary + query),
                    )
                ),
            )
        ),
        *(
            measure(name, scale=scale, action=_getter(inspector, url))
            for name, url in (
                ("agency inspector's firm list page (firms/)", reverse("contractors:firm_list")),
                (
                    "agency inspector's inspection page (inspections/<id>/)",
                    reverse("contractors:inspection_detail", args=[inspection]),
                ),
            )
        ),
    ]
