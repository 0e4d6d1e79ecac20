"""The Content-Security-Policy (ASVS 5.0 V3.4.3, V3.4.6): on pages, on the API and on the login
page; no inline script, handler or style in any template; the object storage's origin where
the browser talks to the bucket, and nowhere else.

The browser tests (tests/e2e/) prove the other half: the whole story runs in Chromium under this
policy without one violation."""

import re
import runpy
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings

from portal.content_policy import storage_origin
from portal.storage import S3Store

TEMPLATES = Path(settings.BASE_DIR) / "templates"
# Loaded again under a changed environment: the settings read CSP_REPORT_ONLY when they load.
SETTINGS = str(Path(settings.BASE_DIR) / "config" / "settings.py")
HEADER = "Content-Security-Policy"
ENDPOINT = "https://objects.example.org:9000"


def directives(header_value):
    """{"script-src": ["'self'", ...], ...} from a policy header."""
    parsed = {}
    for part in header_value.split(";"):
        words = part.split()
        if words:
            parsed[words[0]] = words[1:]
    return parsed


def policy_of(response):
    assert HEADER in response, f"no {HEADER} on {response.request['PATH_INFO']}"
    return directives(response[HEADER])


def assert_strict(policy):
    assert policy["default-src"] == ["'self'"]
    for kind in ("script-src", "style-src"):
        sources = policy[kind]
        assert "'self'" in sources
        assert not {"'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'", "*"} & set(sources)
        assert not [source for source in sources if source.endswith(":")], sources  # data:, https:
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]


@pytest.fixture
def local_files(settings):
    settings.S3_BUCKET = ""


def test_v3_4_3_the_login_page_a_page_and_the_api_carry_a_strict_policy(
    cast, client_for, api_for, local_files
):
    login = client_for(None).get("/accounts/login/")
    assert login.status_code == 200
    assert_strict(policy_of(login))

    home = client_for(cast.admin).get("/")
    assert home.status_code == 200
    assert_strict(policy_of(home))

    for user, status in ((cast.admin, 200), (None, 401)):
        api = api_for(user).get("/api/v1/me/")
        assert api.status_code == status
        assert_strict(policy_of(api))


def test_v3_4_6_the_policy_forbids_framing_on_a_refusal_too(client_for, db, local_files):
    # A 404 (with debug off) is a page like any other: it must not be framable either.
    response = client_for(None).get("/no-such-page/")
    assert response.status_code == 404
    assert policy_of(response)["frame-ancestors"] == ["'none'"]


def test_v3_4_3_the_storage_origin_is_allowed_for_images_and_uploads_only(
    cast, client_for, settings
):
    settings.S3_BUCKET = "evidence"
    settings.S3_ENDPOINT_URL = ENDPOINT + "/"
    settings.S3_REGION = "us-east-1"
    policy = policy_of(client_for(cast.inspector_a1).get("/"))
    assert ENDPOINT in policy["img-src"]
    assert ENDPOINT in policy["connect-src"]
    for directive in ("script-src", "style-src", "default-src", "form-action", "font-src"):
        assert ENDPOINT not in policy[directive], directive
    assert_strict(policy)


def test_v3_4_3_local_storage_adds_no_origin(cast, client_for, local_files):
    policy = policy_of(client_for(cast.inspector_a1).get("/"))
    assert policy["img-src"] == ["'self'", "data:", "blob:"]
    assert policy["connect-src"] == ["'self'"]


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1", "cn-north-1"])
def test_the_aws_origin_is_the_one_the_presigned_urls_use(settings, region):
    """Without an endpoint the origin is derived from the region; it must be where boto3 sends
    the browser, for the upload (presigned POST) and for the thumbnail (presigned GET)."""
    settings.S3_BUCKET = "evidence"
    settings.S3_ENDPOINT_URL = None
    settings.S3_REGION = region
    settings.S3_ACCESS_KEY_ID = "testing"
    settings.S3_SECRET_ACCESS_KEY = "testing"
    store = S3Store()
    upload = store.presign_post(key="a/b.jpg", content_type="image/jpeg", size=1, expires_in=60)
    download = store.download_url(key="a/b.jpg", filename="b.jpg", expires_in=60)
    expected = storage_origin(bucket="evidence", endpoint_url=None, region=region)
    for url in (upload["url"], download):
        parts = urlsplit(url)
        assert f"{parts.scheme}://{parts.netloc}" == expected


def test_an_endpoint_gives_its_origin_without_path_or_credentials():
    assert (
        storage_origin(bucket="b", endpoint_url="HTTP://key@Minio.Example.org:9000/s3", region="x")
        == "http://minio.example.org:9000"
    )
    assert storage_origin(bucket="", endpoint_url=ENDPOINT, region="x") is None


def test_csp_report_only_sends_the_same_policy_as_a_report(monkeypatch, cast, client_for):
    monkeypatch.setenv("CSP_REPORT_ONLY", "true")
    loaded = runpy.run_path(SETTINGS)
    assert "CONTENT_SECURITY_POLICY" not in loaded
    monkeypatch.delenv("CSP_REPORT_ONLY")
    assert (
        runpy.run_path(SETTINGS)["CONTENT_SECURITY_POLICY"]
        == (loaded["CONTENT_SECURITY_POLICY_REPORT_ONLY"])
    )

    monkeypatch.setattr(settings, "CONTENT_SECURITY_POLICY", None)
    monkeypatch.setattr(
        settings,
        "CONTENT_SECURITY_POLICY_REPORT_ONLY",
        loaded["CONTENT_SECURITY_POLICY_REPORT_ONLY"],
        raising=False,
    )
    monkeypatch.setattr(settings, "S3_BUCKET", "evidence")
    monkeypatch.setattr(settings, "S3_ENDPOINT_URL", ENDPOINT)
    response = client_for(cast.admin).get("/")
    assert HEADER not in response
    report = directives(response[HEADER + "-Report-Only"])
    assert_strict(report)
    assert ENDPOINT in report["connect-src"]


def test_v3_4_3_the_api_docs_inline_blocks_carry_the_responses_nonce(cast, client_for):
    response = client_for(cast.admin).get("/api/docs/")
    assert response.status_code == 200
    nonces = [s for s in policy_of(response)["script-src"] if s.startswith("'nonce-")]
    assert len(nonces) == 1
    nonce = nonces[0][len("'nonce-") : -1]
    assert f"'nonce-{nonce}'" in policy_of(response)["style-src"]
    html = response.content.decode()
    tags = re.findall(r"<(script|style)\b([^>]*)>", html)
    assert len(tags) == 4  # the style, the two bundles and the page's own script
    for name, attributes in tags:
        assert "src=" in attributes or f'nonce="{nonce}"' in attributes, (name, attributes)
    assert not inline_code_in(html)


def test_the_admin_is_served_under_the_policy(admin_client, local_files):
    response = admin_client.get("/admin/")
    assert response.status_code == 200
    assert_strict(policy_of(response))
    assert not [problem for problem in inline_code_in(response.content.decode())]


# What a browser under the policy refuses in HTML: an inline script (a data block such as
# json_script's is not executed, so it is allowed), an inline style element, a style or on*
# attribute, a javascript: URL. A template tag's nonce is what lets a block through.
SCRIPT_OR_STYLE = re.compile(r"<(script|style)\b([^>]*)>", re.I)
DATA_BLOCK = re.compile(r"""\btype\s*=\s*["']?application/(ld\+)?json""", re.I)
HANDLER = re.compile(r"""<[a-z][^>]*?\s(on[a-z]+)\s*=""", re.I | re.S)
STYLE_ATTRIBUTE = re.compile(r"""<[a-z][^>]*?\sstyle\s*=""", re.I | re.S)
JAVASCRIPT_URL = re.compile(r"""=\s*["']?\s*javascript:""", re.I)


def inline_code_in(html):
    problems = []
    for match in SCRIPT_OR_STYLE.finditer(html):
        name, attributes = match.groups()
        if "nonce=" in attributes or DATA_BLOCK.search(attributes):
            continue
        if name.lower() == "script" and "src=" in attributes:
            continue
        problems.append(match.group(0))
    for pattern in (HANDLER, STYLE_ATTRIBUTE, JAVASCRIPT_URL):
        problems.extend(match.group(0)[:80] for match in pattern.finditer(html))
    return problems


def test_the_scan_finds_what_the_policy_would_block():
    assert inline_code_in("<script>alert(1)</script>")
    assert inline_code_in("<style>p { color: red }</style>")
    assert inline_code_in('<button type="button" onclick="go()">')
    assert inline_code_in('<select\n  name="x" onchange="this.form.submit()">')
    assert inline_code_in('<div class="chart" style="height: 1rem">')
    assert inline_code_in('<a href="javascript:void(0)">')
    assert not inline_code_in('<script src="/static/portal/dashboard.js" defer></script>')
    assert not inline_code_in('<script id="c" type="application/json">{"a": 1}</script>')
    assert not inline_code_in('<script nonce="{{ request.csp_nonce }}">go()</script>')
    assert not inline_code_in('<p class="once">online, onward</p>')


def test_v3_4_3_no_template_has_inline_script_handler_or_style():
    templates = sorted(TEMPLATES.rglob("*.html"))
    assert len(templates) > 40
    found = {
        str(path.relative_to(TEMPLATES)): problems
        for path in templates
        if (problems := inline_code_in(path.read_text(encoding="utf-8")))
    }
    assert not found, found
