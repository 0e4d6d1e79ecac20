"""`make serve` as an operator meets it: what it adds to the environment, the secret key it
keeps for the embedded default, and the refusal of a production database without a key. The
two tests of SECRET_KEY_FILE start `manage.py` (about 2 s each): the settings are read once per
process, so only a new one shows what an operator's environment does."""

import os
import stat

import pytest

from config.serve import embedded_defaults, processes
from tests.config.test_settings import manage


def test_the_embedded_default_keeps_one_generated_key_out_of_the_repository(tmp_path):
    environ = {"PORTAL_VAR_DIR": str(tmp_path)}

    first = embedded_defaults(environ)
    second = embedded_defaults(environ)

    key_file = tmp_path / "secret_key"
    assert first["SECRET_KEY_FILE"] == second["SECRET_KEY_FILE"] == str(key_file)
    assert len(key_file.read_text()) >= 50
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert first["DEBUG"] == "false" and first["TASKS_BACKEND"] == "database"
    # Loopback over plain HTTP: nothing in front terminates TLS.
    assert first["ALLOWED_HOSTS"] == "127.0.0.1,localhost"
    assert first["SECURE_SSL_REDIRECT"] == "false"


def test_a_production_database_without_a_secret_key_stops_the_start(tmp_path):
    with pytest.raises(SystemExit, match="SECRET_KEY is not set"):
        embedded_defaults({"DATABASE_URL": "postgres://db/portal", "PORTAL_VAR_DIR": str(tmp_path)})
    assert not (tmp_path / "secret_key").exists()


def test_a_production_environment_is_left_as_the_operator_set_it(tmp_path):
    environ = {"DATABASE_URL": "postgres://db/portal", "SECRET_KEY": "k" * 50, "DEBUG": "false"}

    assert embedded_defaults(environ) == {"TASKS_BACKEND": "database"}


def test_serve_runs_gunicorn_the_task_worker_and_the_scheduler():
    commands = processes()

    assert commands["web"][1:4] == ["-m", "gunicorn", "-c"]
    assert commands["web"][4].endswith("config/gunicorn.py")
    assert commands["worker"][-2:] == ["db_worker", "--no-reload"]
    assert commands["scheduler"][-1] == "run_schedule"


def test_the_settings_read_the_key_from_secret_key_file(tmp_path):
    key_file = tmp_path / "key"
    key_file.write_text("from-a-file-" + "x" * 40 + "\n")

    result = manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.SECRET_KEY)",
        tmp_path=tmp_path,
        SECRET_KEY_FILE=str(key_file),
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "from-a-file-" + "x" * 40


def test_an_unreadable_secret_key_file_stops_the_start(tmp_path):
    result = manage("check", tmp_path=tmp_path, SECRET_KEY_FILE=str(tmp_path / "missing"))

    assert result.returncode != 0
    assert "SECRET_KEY_FILE" in result.stderr and "cannot be read" in result.stderr
