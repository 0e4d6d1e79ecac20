"""Browser tests: Debian's Chromium, driven by Playwright, against the portal on
pytest-django's live server. The cast of tests/conftest.py logs in through the login form.

Without Chromium the folder's tests are skipped and one line says so: the unit and API tests
still run, and CI (.ci/run) installs Chromium so it always runs these.
"""

import io
import json
import os
import threading
import time
from pathlib import Path

import pytest
from django.core.servers.basehttp import ThreadedWSGIServer
from PIL import Image
from pytest_django.live_server_helper import LiveServer

from contractors.checklists.services import do_install_default_checklist
from tests.conftest import PASSWORD, totp, use_s3

HERE = Path(__file__).parent
CHROMIUM = Path("/usr/bin/chromium")
NO_CHROMIUM = "Chromium not installed: browser tests skipped (.ci/run installs it)"
AXE = HERE / "vendor" / "axe.min.js"
# The admin and the reviewer type their authenticator's code after the password.
SECOND_STEP = "/accounts/security/verify/"
# Every Content-Security-Policy violation of a page, reported to the test as it happens (the
# event fires even when the page's script catches the refusal); Chromium's console line for
# it is collected too, in case a violation has no event (ASVS 5.0 V3.4.3).
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.reportCspViolation(
    `${event.effectiveDirective} refused ${event.blockedURI || "an inline block"}` +
    ` at ${event.sourceFile || event.documentURI}:${event.lineNumber}`
  );
});
"""
CSP_CONSOLE_MARK = "Content Security Policy"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
PHONE = {"viewport": {"width": 375, "height": 812}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
# Near the district's offices: where the inspector's phone says it is.
SITE = {"latitude": 31.2384, "longitude": 121.4012}
BLOCKING_IMPACTS = ("serious", "critical")
# Generous: signing converts the PDF in the request, and LibreOffice's first start is slow.
TIMEOUT_MS = 30_000
SKIPPED_FOR_NO_CHROMIUM = pytest.StashKey[bool]()


def pytest_collection_modifyitems(config, items):
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(reason=NO_CHROMIUM)
    skipped = [item for item in items if item.path.is_relative_to(HERE)]
    for item in skipped:
        item.add_marker(skip)
    config.stash[SKIPPED_FOR_NO_CHROMIUM] = bool(skipped)


def pytest_terminal_summary(terminalreporter, config):
    # One line, shown without -rs too, so that nobody takes a green run for a browser run.
    if config.stash.get(SKIPPED_FOR_NO_CHROMIUM, False):
        terminalreporter.write_line(NO_CHROMIUM, yellow=True)


class OneRequestAtATimeServer(ThreadedWSGIServer):
    """The live server's threads, but one request in the application at a time.

    With SQLite in memory every request thread shares the test's one connection, and a page
    loads its thumbnails in parallel: two requests in one connection corrupt each other's
    savepoints. Connections stay one per thread (keep-alive waits need no lock)."""

    def set_app(self, application):
        lock = threading.Lock()

        def serially(environ, start_response):
            with lock:
                return application(environ, start_response)

        super().set_app(serially)


@pytest.fixture(scope="session")
def live_server(request):
    """pytest-django's live server (same address options), serving one request at a time."""
    address = (
        request.config.getvalue("liveserver")
        or os.getenv("DJANGO_LIVE_TEST_SERVER_ADDRESS")
        or "localhost"
    )
    server = LiveServer(address, start=False)
    server.thread.server_class = OneRequestAtATimeServer
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="package")
def browser():
    """One headless Chromium for the whole folder.

    Playwright's sync API keeps an event loop running in this thread, so Django would refuse
    the tests' own ORM calls as "async-unsafe"; the tests make them between browser calls,
    never concurrently, so the check is lifted while the browser lives, and only then."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            yield chromium
            chromium.close()


@pytest.fixture(scope="package")
def screenshot_dir():
    """Where each main page's screenshot goes (E2E_SCREENSHOT_DIR); None: no screenshots, as
    nobody would look at them and they cost a tenth of the story's time."""
    configured = os.environ.get("E2E_SCREENSHOT_DIR")
    if not configured:
        return None
    folder = Path(configured)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(params=["s3", "local"])
def storage_mode(request, settings, live_server):
    """Evidence and documents in a fresh bucket on moto's S3 server, or in local files: the
    same upload protocol in both modes, so the same story runs on each."""
    if request.param == "s3":
        client = use_s3(settings, request.getfixturevalue("moto_endpoint"))
        # The browser posts the photo straight to the bucket from the portal's origin.
        client.put_bucket_cors(
            Bucket=settings.S3_BUCKET,
            CORSConfiguration={
                "CORSRules": [
                    {
                        "AllowedOrigins": [live_server.url],
                        "AllowedMethods": ["POST", "GET"],
                        "AllowedHeaders": ["*"],
                        "ExposeHeaders": ["ETag"],
                    }
                ]
            },
        )
    else:
        request.getfixturevalue("local_storage")
    return request.param


@pytest.fixture
def portal(cast, settings, storage_mode):
    """The cast's bureau ready for the story: its checklist installed, inspectors with their
    enforcement certificate numbers, and background jobs (the PDF) run at once."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    do_install_default_checklist(actor=None, bureau=cast.bureau)
    for number, user in enumerate((cast.inspector_a1, cast.inspector_a2), start=1):
        user.certificate_number = f"3107000{number}"
        user.save(update_fields=["certificate_number"])
    return cast


@pytest.fixture
def people(browser, live_server, screenshot_dir, storage_mode):
    """Opens a browser context per person; closes them all at the end."""
    crowd = People(browser, live_server.url, screenshot_dir, prefix=storage_mode)
    yield crowd
    crowd.close()


class People:
    """Everyone in the story, each in a browser context of their own (own cookies), on a
    phone or a desktop; a person for None has not logged in."""

    def __init__(self, browser, base_url, screenshot_dir, *, prefix):
        self.browser = browser
        self.base_url = base_url
        self.screenshot_dir = screenshot_dir
        self.prefix = prefix
        self.contexts = []
        self.codes_used = {}
        # (page URL, what was refused): any entry fails the test (Person.check, close).
        self.csp_violations = []

    def next_code(self, username):
        """The authenticator's current code; a code is accepted once (django-otp), so a second
        login in the same 30 s waits for the next one."""
        step = int(time.time() // 30)
        if self.codes_used.get(username) == step:
            time.sleep(30 - time.time() % 30 + 0.5)
            step = int(time.time() // 30)
        self.codes_used[username] = step
        return totp(at=step * 30)

    def phone(self, user):
        return self._person(user, PHONE, phone=True)

    def desktop(self, user):
        return self._person(user, DESKTOP, phone=False)

    def _person(self, user, device, *, phone):
        context = self.browser.new_context(
            base_url=self.base_url,
            locale="zh-CN",
            timezone_id="Asia/Shanghai",
            device_scale_factor=1,
            geolocation=SITE,
            permissions=["geolocation"],
            accept_downloads=True,
            **device,
        )
        context.set_default_timeout(TIMEOUT_MS)
        # axe-core in every page as it loads: sent to the browser once, not at every check.
        context.add_init_script(path=str(AXE))
        self._watch_csp(context)
        self.contexts.append(context)
        person = Person(context.new_page(), self, phone=phone)
        if user is not None:
            person.log_in(user.username)
        return person

    def _watch_csp(self, context):
        context.expose_binding(
            "reportCspViolation",
            lambda source, text: self.csp_violations.append((source["page"].url, text)),
        )
        context.add_init_script(script=CSP_LISTENER)
        context.on("console", self._csp_console_line)

    def _csp_console_line(self, message):
        if CSP_CONSOLE_MARK in message.text:
            self.csp_violations.append((message.page.url if message.page else "", message.text))

    def close(self):
        for context in self.contexts:
            context.close()
        # After the last page's check too: a violation anywhere in the story fails it.
        assert not self.csp_violations, describe_csp(self.csp_violations)


class Person:
    """One user at one browser: what they see, checked for access and fit on every main page."""

    def __init__(self, page, people, *, phone):
        self.page = page
        self.people = people
        self.phone = phone
        self.errors = []
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    def log_in(self, username):
        page = self.page
        page.goto("/accounts/login/")
        self.check("login")
        page.get_by_label("用户名").fill(username)
        page.get_by_label("密码").fill(PASSWORD)
        page.get_by_role("button", name="登录").click()
        page.get_by_role("button", name="退出").wait_for()
        if page.url.split("?")[0].endswith(SECOND_STEP):
            self.check("second-step")
            page.get_by_label("验证码或恢复码").fill(self.people.next_code(username))
            page.get_by_role("button", name="验证").click()
            page.wait_for_url(lambda url: SECOND_STEP not in url)

    def check(self, name):
        """A main page: no serious accessibility violation, nothing wider than a phone, no
        script error; its screenshot saved when asked for."""
        page = self.page
        page.wait_for_load_state("load")
        result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
        blocking = [v for v in result["violations"] if v["impact"] in BLOCKING_IMPACTS]
        assert not blocking, f"{name} ({page.url}):\n" + describe(blocking)
        if self.phone:
            overflow = page.evaluate(
                "() => document.documentElement.scrollWidth - window.innerWidth"
            )
            assert overflow <= 0, f"{name} is {overflow}px wider than the phone ({page.url})"
        assert not self.errors, f"{name}: script errors {self.errors}"
        assert not self.people.csp_violations, f"{name}: " + describe_csp(
            self.people.csp_violations
        )
        if self.people.screenshot_dir is not None:
            page.screenshot(
                path=str(self.people.screenshot_dir / f"{self.people.prefix}-{name}.png"),
                full_page=True,
            )


def describe_csp(violations):
    return "Content-Security-Policy violations:\n" + "\n".join(
        f"- {url}: {text}" for url, text in violations
    )


def describe(violations):
    lines = []
    for violation in violations:
        lines.append(f"- [{violation['impact']}] {violation['id']}: {violation['help']}")
        for node in violation["nodes"][:5]:
            lines.append(f"    {json.dumps(node['target'])}: {node['failureSummary']}")
    return "\n".join(lines)


@pytest.fixture
def photo(tmp_path):
    """Makes a real JPEG as a phone's camera would give; a colour each, so a hash each."""

    def take(name, colour):
        path = tmp_path / name
        buffer = io.BytesIO()
        Image.new("RGB", (640, 480), colour).save(buffer, "JPEG", quality=85)
        path.write_bytes(buffer.getvalue())
        return path

    return take
