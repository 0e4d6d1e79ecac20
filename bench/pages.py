"""Measurement 2: the reviewer's queue page and the dashboard, as the reviewer's browser gets
them (middleware, view, selectors, template), and the statistics summary of the API; target
under 300 ms median at scale 10. With them, for the HTTP measurement's reading, the two pages
it loads, as one agency inspector gets them one at a time."""

from django.test import Client
from django.urls import reverse

from bench.harness import measure

TARGET_MS = 300


def _getter(client, url):
    def get():
        response = client.get(url)
        # A failing page would be measured as a fast one.
        assert response.status_code == 200, (url, response.status_code)

    return get


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def run(district):
    scale = f"scale {district.scale:g}"
    reviewer, inspector = _client(district.reviewer), _client(district.inspectors[0][0])
    inspection = district.inspections[0][0]
    return [
        *(
            measure(name, scale=scale, action=_getter(reviewer, url), target_ms=TARGET_MS)
            for name, url in (
                ("reviewer's queue page (documents/review/)", reverse("documents:review_queue")),
                ("dashboard page (dashboard/), default period", reverse("dashboard")),
                ("statistics summary (api/v1/stats/summary/)", reverse("api-stats-summary")),
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
