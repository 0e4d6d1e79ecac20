"""Test settings: the real settings, with a throwaway key and fast password hashing."""

import os
import tempfile

os.environ.setdefault("SECRET_KEY", "test-only-key-" + "x" * 40)
os.environ.setdefault("PORTAL_VAR_DIR", tempfile.mkdtemp(prefix="portal-test-"))

from config.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"token": "1000/min"}}  # noqa: F405
# Jobs are queued, not run: a test that needs one (the PDF conversion) runs it itself.
TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
# Static files as they are in the source: the hashed names need `collectstatic` first.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405  (WhiteNoise looks there)
STORAGES = {  # noqa: F405
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# pytest-django names each xdist worker's test database after the engine it recognises: for the
# portal's own SQLite engine (portal/audit/sqlite/) it would derive a file name from the SQLite
# file's path. Naming the in-memory database keeps one private database per worker, as for
# Django's own SQLite engine.
if DATABASES["default"]["ENGINE"] == "portal.audit.sqlite":  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": ":memory:"}  # noqa: F405
