"""The load of the HTTP measurement (bench/http.py runs it): agency inspectors, each logged in
through the login form once, opening their firm list and one of their inspections, back to
back with no pause. Every answer but a 200 counts as an error."""

import json
import os
import random
import re
from itertools import cycle

from locust import FastHttpUser, constant, task

SESSIONS = cycle(json.loads(os.environ["BENCH_SESSIONS"]))
PASSWORD = os.environ["BENCH_PASSWORD"]
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class Inspector(FastHttpUser):
    wait_time = constant(0)

    def on_start(self):
        session = next(SESSIONS)
        self.inspections = session["inspections"]
        page = self.client.get("/accounts/login/", name="login")
        token = CSRF_FIELD.search(page.text).group(1)
        with self.client.post(
            "/accounts/login/",
            data={
                "username": session["username"],
                "password": PASSWORD,
                "csrfmiddlewaretoken": token,
            },
            allow_redirects=False,
            name="login",
            catch_response=True,
        ) as response:
            # A wrong password shows the form again (200); a login redirects.
            if response.status_code != 302:
                response.failure(f"login refused: {response.status_code}")

    def _page(self, url, name):
        with self.client.get(
            url, name=name, allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}")

    @task
    def firm_list(self):
        self._page("/firms/", "firm list")

    @task
    def inspection_page(self):
        self._page(f"/inspections/{random.choice(self.inspections)}/", "inspection page")
