"""The settings as an operator meets them: environment in, a working or refused portal out."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUR_VARIABLES = {
    "SECRET_KEY",
    "SECRET_KEY_FILE",
    "DEBUG",
    "DATABASE_URL",
    "ALLOWED_HOSTS",
    "S3_BUCKET",
    "S3_ENDPOINT_URL",
    "S3_REGION",
    "PORTAL_VAR_DIR",
    "DJANGO_SETTINGS_MODULE",
}


def manage(*args, tmp_path, **env):
    base = {k: v for k, v in os.environ.items() if k not in OUR_VARIABLES}
    base.update(DJANGO_SETTINGS_MODULE="config.settings", PORTAL_VAR_DIR=str(tmp_path), **env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        timeout=120,
    )


def production_env(tmp_path):
    """What an operator sets in production: debug off (unset), a fresh random key of 50+
    characters, the host, and the database CI runs on (PostgreSQL there, SQLite here)."""
    return {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "portal.example.gov.cn",
        "DATABASE_URL": os.environ.get("DATABASE_URL") or f"sqlite:///{tmp_path / 'prod.sqlite3'}",
    }


def check_deploy(tmp_path, **env):
    return manage("check", "--deploy", "--fail-level", "WARNING", tmp_path=tmp_path, **env)


def test_check_deploy_is_clean_under_production_variables(tmp_path):
    """Issue 15 part 9, in CI: Django's deployment checks and every app's (django-axes among
    them) find nothing, with none silenced (ASVS 5.0 V13.4.2 debug off; V3.4.1 HSTS; V3.3.1
    cookies sent over HTTPS only)."""
    result = check_deploy(tmp_path, **production_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_check_deploy_fails_on_a_warning(tmp_path):
    """The clean run above means something: a weak key is only a warning, and it fails."""
    result = check_deploy(tmp_path, **{**production_env(tmp_path), "SECRET_KEY": "short"})
    assert result.returncode != 0
    assert "security.W009" in result.stderr


def test_refuses_to_start_without_secret_key_when_not_debugging(tmp_path):
    result = manage("check", tmp_path=tmp_path)
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_debug_mode_starts_without_a_secret_key(tmp_path):
    result = manage("check", tmp_path=tmp_path, DEBUG="true")
    assert result.returncode == 0, result.stderr


def show(expression, *, tmp_path, **env):
    result = manage(
        "shell",
        "--no-imports",
        "-c",
        f"from django.conf import settings; print({expression})",
        tmp_path=tmp_path,
        **env,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_embedded_default_is_sqlite_and_local_files_in_shanghai_time(tmp_path):
    # Django's SQLite backend, with a flush that empties the audit table too.
    assert show("settings.DATABASES['default']['ENGINE']", tmp_path=tmp_path, DEBUG="true") == (
        "portal.audit.sqlite"
    )
    assert show("settings.STORAGES['default']['BACKEND']", tmp_path=tmp_path, DEBUG="true") == (
        "django.core.files.storage.FileSystemStorage"
    )
    assert show("settings.TIME_ZONE, settings.LANGUAGE_CODE", tmp_path=tmp_path, DEBUG="true") == (
        "Asia/Shanghai zh-hans"
    )


def test_database_url_and_s3_bucket_switch_to_postgresql_and_object_storage(tmp_path):
    env = {
        "DEBUG": "true",
        "DATABASE_URL": "postgres://portal@db.internal:5432/portal",
        "S3_BUCKET": "evidence",
        "S3_ENDPOINT_URL": "http://127.0.0.1:9000",
    }
    assert show("settings.DATABASES['default']['ENGINE']", tmp_path=tmp_path, **env) == (
        "django.db.backends.postgresql"
    )
    assert show("settings.STORAGES['default']['BACKEND']", tmp_path=tmp_path, **env) == (
        "storages.backends.s3.S3Storage"
    )
    assert (
        show("settings.STORAGES['default']['OPTIONS']['bucket_name']", tmp_path=tmp_path, **env)
        == "evidence"
    )
