"""The Content-Security-Policy's one moving part: the object storage's origin.

The policy itself is in config/settings.py (`CONTENT_SECURITY_POLICY`). Evidence thumbnails and
downloads are presigned URLs on the bucket, and uploads are presigned POSTs from the browser to
it (portal/static/portal/evidence-upload.js), so `img-src` and `connect-src` must name the
bucket's origin. It is read from the S3 settings at each response rather than fixed when the
settings load, so that the policy always names the store `portal/storage.py` uses at that moment.
"""

from functools import lru_cache
from urllib.parse import urlsplit

from csp.middleware import CSPMiddleware
from django.conf import settings

# What the browser does with the bucket: shows thumbnails (img) and posts uploads (connect).
STORAGE_DIRECTIVES = ("img-src", "connect-src")


@lru_cache(maxsize=16)
def storage_origin(*, bucket, endpoint_url, region):
    """The scheme://host[:port] at which a browser reaches the bucket; None with local storage,
    whose endpoints are the portal's own ('self')."""
    if not bucket:
        return None
    if endpoint_url:
        parts = urlsplit(endpoint_url)
        # Only the origin: a source with a path would match that path alone.
        return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}".lower()
    # portal/storage.py signs path-style URLs (no per-bucket host name), so on AWS they are on
    # the region's S3 host, as boto3 builds it: the old global name for us-east-1, the .cn
    # domain for the China regions. tests/portal/test_csp.py compares this with boto3's URLs.
    if region == "us-east-1":
        return "https://s3.amazonaws.com"
    domain = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"https://s3.{region}.{domain}"


def current_storage_origin():
    return storage_origin(
        bucket=settings.S3_BUCKET,
        endpoint_url=settings.S3_ENDPOINT_URL,
        region=settings.S3_REGION,
    )


class PortalCSPMiddleware(CSPMiddleware):
    """django-csp's middleware, with the storage origin added to the policy (enforced or
    report-only, whichever the settings configure)."""

    def get_policy_parts(self, request, response, report_only=False):
        parts = super().get_policy_parts(request, response, report_only=report_only)
        origin = current_storage_origin()
        if origin is None:
            return parts
        update = dict(parts.update or {})
        for directive in STORAGE_DIRECTIVES:
            existing = update.get(directive) or ()
            if isinstance(existing, str):
                existing = (existing,)
            update[directive] = (*existing, origin)
        parts.update = update
        return parts
