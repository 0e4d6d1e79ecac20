"""The files in deploy/ as an operator meets them: every unit, container and proxy rule starts a
process that exists, passes the settings production needs, and agrees with the others.

What cannot run here is checked by its own tool where that tool is installed (`nginx -t`,
`systemd-analyze verify`); compose.yaml and the Dockerfile are read, never run.
"""

import os
import re
import runpy
import secrets
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.core.management import get_commands
from django.urls import reverse

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
UNITS_DIR = DEPLOY / "systemd"
NGINX_SITE = DEPLOY / "nginx" / "portal.conf"
ENV_EXAMPLE = DEPLOY / "portal.env.example"
COMPOSE = DEPLOY / "compose.yaml"
DOCKERFILE = DEPLOY / "Dockerfile"

CHECKOUT = "/srv/portal"
VENV_BIN = f"{CHECKOUT}/.venv/bin/"
UNITS = sorted(path.name for path in UNITS_DIR.glob("*.service"))
LONG_RUNNING = ["portal-web.service", "portal-worker.service", "portal-scheduler.service"]
APP_SERVICES = ["migrate", "web-1", "web-2", "worker", "scheduler"]
WEB_COMMAND = ["gunicorn", "-c", "config/gunicorn.py", "config.wsgi"]
# What the settings cannot do without in production (SECRET_KEY or SECRET_KEY_FILE apart).
REQUIRED = ["DATABASE_URL", "S3_BUCKET", "ALLOWED_HOSTS", "TASKS_BACKEND", "BEHIND_TLS_PROXY"]
# Read by gunicorn itself or by the programs the portal starts, not by config/.
READ_ELSEWHERE = {"WEB_CONCURRENCY", "FORWARDED_ALLOW_IPS", "HOME"}


def read_unit(name):
    """{section: {key: [values]}}: systemd keeps every value of a repeated key (ExecStart= of a
    oneshot, ExecReload=, Environment=), which configparser would drop."""
    sections, current = {}, None
    for raw in (UNITS_DIR / name).read_text().splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def service(name):
    return read_unit(name)["Service"]


def one(unit, key):
    (value,) = unit[key]
    return value


def unit_environment(unit):
    """What the process gets: Environment= lines, then the EnvironmentFile (which wins)."""
    env = {}
    for line in unit.get("Environment", []):
        for item in shlex.split(line):
            key, _, value = item.partition("=")
            env[key] = value
    return {**env, **read_env_example()}


def read_env_example():
    env = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            env[key] = value
    return env


def our_command(command):
    """An ExecStart= as the command the README names: the checkout's venv prefix dropped."""
    words = shlex.split(command)
    if words[0].startswith(VENV_BIN):
        words[0] = words[0].removeprefix(VENV_BIN)
    return words


def compose():
    return yaml.safe_load(COMPOSE.read_text())


def compose_commands(name):
    """A service's command as a list of commands (`sh -c "a && b"` is two)."""
    command = compose()["services"][name]["command"]
    if command[:2] == ["sh", "-c"]:
        return [shlex.split(part) for part in command[2].split("&&")]
    return [command]


def nginx_directives(name):
    return re.findall(rf"^\s*{re.escape(name)}\s+([^;]+);", NGINX_SITE.read_text(), re.M)


def nginx_bytes(size):
    number, unit = re.fullmatch(r"(\d+)([kKmMgG]?)", size).groups()
    return int(number) * {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[unit.lower()]


def assert_command_exists(words):
    """The program is what the checkout installs, and what it is asked to run is there."""
    program, *args = words
    if program == "python":
        assert args[0] == "manage.py" and (ROOT / "manage.py").exists(), words
        assert args[1] in get_commands(), f"manage.py has no command {args[1]!r}"
    elif program == "gunicorn":
        dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
            "dependencies"
        ]
        assert any(re.match(r"gunicorn\b", dep) for dep in dependencies), (
            "gunicorn is not among the dependencies a `pip install` of the checkout brings"
        )
        config = args[args.index("-c") + 1]
        assert (ROOT / config).is_file(), f"the gunicorn config {config} does not exist"
        module = args[-1]
        assert (ROOT / (module.replace(".", "/") + ".py")).is_file(), f"no WSGI module {module}"
    else:
        raise AssertionError(f"unexpected program {program!r} in {words}")


# systemd ------------------------------------------------------------------------------------


def test_there_is_a_unit_per_process():
    assert set(LONG_RUNNING) | {"portal-migrate.service"} == set(UNITS)


@pytest.mark.parametrize("name", UNITS)
def test_each_unit_runs_commands_that_exist(name):
    unit = service(name)
    assert unit["ExecStart"]
    for key in ("ExecStartPre", "ExecStart", "ExecReload"):
        for command in unit.get(key, []):
            if command.startswith(VENV_BIN):
                assert_command_exists(our_command(command))


@pytest.mark.parametrize("name", UNITS)
def test_each_unit_runs_from_the_checkout_as_its_own_user_with_the_environment_file(name):
    unit = service(name)
    assert one(unit, "User") == one(unit, "Group") == "portal"
    assert one(unit, "WorkingDirectory") == CHECKOUT
    assert one(unit, "EnvironmentFile") == "/etc/portal/portal.env"


@pytest.mark.parametrize("name", UNITS)
def test_each_unit_is_sandboxed_and_can_write_where_it_must(name):
    unit = service(name)
    assert one(unit, "NoNewPrivileges") == "yes"
    assert one(unit, "ProtectSystem") == "strict"
    assert one(unit, "PrivateTmp") == "yes"
    writable = one(unit, "ReadWritePaths").split()
    state = [f"/var/lib/{directory}" for directory in one(unit, "StateDirectory").split()]
    assert state and set(state) <= set(writable)
    env = unit_environment(unit)
    # LibreOffice needs a writable HOME; the collected static files go under PORTAL_VAR_DIR.
    for variable in ("HOME", "PORTAL_VAR_DIR"):
        assert any(Path(env[variable]).is_relative_to(path) for path in writable), variable


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_a_process_that_fails_is_started_again(name):
    assert one(service(name), "Restart") == "on-failure"
    assert read_unit(name)["Install"]["WantedBy"] == ["multi-user.target"]


def test_the_web_unit_collects_static_files_then_reloads_gunicorn_with_hup():
    unit = service("portal-web.service")
    assert our_command(one(unit, "ExecStart")) == WEB_COMMAND
    assert one(unit, "Type") == "notify"  # gunicorn's arbiter reports READY=1
    collect = ["python", "manage.py", "collectstatic", "--noinput"]
    assert [our_command(command) for command in unit["ExecStartPre"]] == [collect]
    reload_steps = unit["ExecReload"]
    assert our_command(reload_steps[0]) == collect
    assert reload_steps[-1] == "/bin/kill -s HUP $MAINPID"
    assert one(unit, "KillMode") == "mixed"  # SIGTERM to the arbiter: workers finish requests


def gunicorn_settings(**env):
    """config/gunicorn.py's settings as gunicorn reads them, with `env` as the environment."""
    names = ("BIND", "PORT", "WEB_CONCURRENCY", "WEB_TIMEOUT", "WEB_GRACEFUL_TIMEOUT")
    saved = {name: os.environ.pop(name, None) for name in names}
    try:
        os.environ.update(env)
        return runpy.run_path(str(ROOT / "config" / "gunicorn.py"))
    finally:
        for name, value in saved.items():
            os.environ.pop(name, None)
            if value is not None:
                os.environ[name] = value


def test_stopping_and_proxying_wait_longer_than_gunicorn():
    gunicorn = gunicorn_settings()
    assert int(one(service("portal-web.service"), "TimeoutStopSec")) > gunicorn["graceful_timeout"]
    for name in ("web-1", "web-2"):
        grace = compose()["services"][name]["stop_grace_period"]
        assert int(grace.removesuffix("s")) > gunicorn["graceful_timeout"]
    (read_timeout,) = nginx_directives("proxy_read_timeout")
    assert int(read_timeout.removesuffix("s")) > gunicorn["timeout"]


def test_gunicorn_listens_where_the_examples_say():
    assert gunicorn_settings()["bind"] == "127.0.0.1:8000"
    assert gunicorn_settings(BIND=read_env_example()["BIND"])["bind"] == "127.0.0.1:8000"
    bind = compose()["x-app"]["environment"]["BIND"]
    assert gunicorn_settings(BIND=bind)["bind"] == bind


@pytest.mark.parametrize("name", ["portal-worker.service", "portal-scheduler.service"])
def test_a_running_pdf_conversion_may_finish_when_the_worker_stops(name):
    assert int(one(service(name), "TimeoutStopSec")) > settings.PDF_TIMEOUT_SECONDS


def test_the_migrate_unit_is_a_oneshot_that_checks_then_migrates():
    unit = service("portal-migrate.service")
    assert one(unit, "Type") == "oneshot"
    commands = [our_command(command) for command in unit["ExecStart"]]
    assert commands[-1] == ["python", "manage.py", "migrate", "--noinput"]
    assert ["python", "manage.py", "check", "--deploy"] == commands[0][:4]


@pytest.mark.parametrize("name", UNITS)
def test_each_unit_gets_the_signing_key_and_every_required_setting(name):
    unit = service(name)
    env = unit_environment(unit)
    assert env.get("SECRET_KEY") or env.get("SECRET_KEY_FILE")
    if env.get("SECRET_KEY_FILE", "").startswith("%d/"):
        credential = env["SECRET_KEY_FILE"].removeprefix("%d/")
        assert any(line.startswith(f"{credential}:") for line in unit["LoadCredential"])
    for variable in REQUIRED:
        assert env.get(variable), f"{name} gets no {variable}"


def patched_units(tmp_path):
    """The units with the checkout and its venv where they are on this machine."""
    venv = Path(sys.executable).parent
    for name in UNITS:
        text = (UNITS_DIR / name).read_text()
        text = text.replace(f"{VENV_BIN}python", sys.executable)
        text = text.replace(f"{VENV_BIN}gunicorn", str(venv / "gunicorn"))
        (tmp_path / name).write_text(text.replace(CHECKOUT, str(ROOT)))
    return [str(tmp_path / name) for name in UNITS]


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
def test_systemd_accepts_the_units(tmp_path):
    units = patched_units(tmp_path)
    done = subprocess.run(
        ["systemd-analyze", "verify", *units], capture_output=True, text=True, timeout=60
    )
    # verify exits 0 on an unknown key or a bad value, and only says so.
    ours = [line for line in done.stderr.splitlines() if "portal-" in line]
    assert done.returncode == 0 and not ours, done.stderr


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
def test_the_units_exposure_stays_low(tmp_path):
    for unit in patched_units(tmp_path):
        done = subprocess.run(
            ["systemd-analyze", "security", "--offline=yes", "--threshold=20", unit],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stdout[-300:] + done.stderr


# The environment file ---------------------------------------------------------------------


def test_the_environment_file_is_what_systemd_reads():
    """KEY=value, no quotes, no `export`, no comment after a value (it would become part of it)."""
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            assert re.fullmatch(r"[A-Z][A-Z0-9_]*=[^\s\"'#]*", line), line


def test_the_environment_file_names_every_setting_production_requires():
    env = read_env_example()
    text = ENV_EXAMPLE.read_text()
    assert "SECRET_KEY_FILE" in text  # set by the units, or here without systemd
    for variable in REQUIRED:
        assert env.get(variable), variable
    assert env["TASKS_BACKEND"] == "database"
    assert env["BEHIND_TLS_PROXY"] == "true"
    assert env["DEBUG"] == "false"


def test_every_variable_in_the_examples_is_one_the_portal_reads():
    """A misspelt name is silently ignored by the portal: catch it here."""
    source = "".join(path.read_text() for path in (ROOT / "config").glob("*.py"))
    names = set(read_env_example()) | set(compose()["x-app"]["environment"])
    unknown = sorted(n for n in names - READ_ELSEWHERE if f'"{n}"' not in source)
    assert not unknown, f"config/ reads none of {unknown}"


def test_the_example_environment_passes_the_deployment_checks(tmp_path):
    key_file = tmp_path / "secret_key"
    key_file.write_text(secrets.token_urlsafe(50) + "\n")
    env = {
        **read_env_example(),
        "SECRET_KEY_FILE": str(key_file),
        "PORTAL_VAR_DIR": str(tmp_path),
        "HOME": str(tmp_path),
        "PATH": os.environ.get("PATH", ""),
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


# nginx --------------------------------------------------------------------------------------


def test_nginx_takes_the_register_import_and_nothing_much_larger():
    (size,) = nginx_directives("client_max_body_size")
    limit = nginx_bytes(size)
    import_max = settings.REGISTER_IMPORT_MAX_BYTES
    assert int(read_env_example()["REGISTER_IMPORT_MAX_BYTES"]) == import_max
    assert import_max + 64 * 1024 <= limit <= import_max + 2 * 1024**2
    assert limit >= settings.DOCUMENT_TEMPLATE_MAX_BYTES


def test_nginx_passes_the_headers_the_portal_reads():
    headers = dict(value.split(None, 1) for value in nginx_directives("proxy_set_header"))
    assert headers["Host"] == "$host"
    assert headers["X-Forwarded-Proto"] == "$scheme"
    assert headers["X-Request-ID"] == "$request_id"
    # The portal's audit log takes the first address: a client must not be able to write it.
    assert headers["X-Forwarded-For"] == "$remote_addr"


def test_nginx_refuses_the_local_storage_endpoints():
    site = NGINX_SITE.read_text()
    for path in (reverse("local-upload"), reverse("local-download", args=["token"])):
        prefix = "/".join(path.split("/")[:3]) + "/"  # /uploads/local/, /files/local/
        refused = rf"location \^~ {re.escape(prefix)} \{{\s*return 404;\s*\}}"
        assert re.search(refused, site), f"nginx passes {prefix} on to the portal"


def test_nginx_redirects_plain_http_and_speaks_modern_tls_only():
    site = NGINX_SITE.read_text()
    plain = re.search(r"server \{\s*listen 80;.*?\n\}", site, re.S).group(0)
    assert "return 301 https://" in plain and "proxy_pass" not in plain
    assert nginx_directives("ssl_protocols") == ["TLSv1.2 TLSv1.3"]
    assert "location = /healthz" in site


def test_nginx_upstream_is_the_compose_web_containers():
    upstream = re.search(r"upstream portal_web \{(.*?)\}", NGINX_SITE.read_text(), re.S).group(1)
    servers = re.findall(r"server\s+(\S+?)[\s;]", upstream)
    services = compose()["services"]
    webs = [name for name in services if services[name].get("command") == WEB_COMMAND]
    port = services[webs[0]]["environment"]["BIND"].rsplit(":", 1)[1]
    addresses = [services[n]["networks"]["backend"]["ipv4_address"] for n in webs]
    assert len(servers) >= 2 and servers == [f"{address}:{port}" for address in addresses]


@pytest.mark.skipif(
    not shutil.which("nginx"), reason="nginx is not installed (Debian: apt-get install nginx)"
)
def test_nginx_accepts_the_site(tmp_path):
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=portal.example.gov.cn",
            "-keyout", str(tmp_path / "privkey.pem"), "-out", str(tmp_path / "fullchain.pem"),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    site = NGINX_SITE.read_text()
    for directive in ("ssl_certificate", "ssl_certificate_key", "access_log", "error_log"):
        site = re.sub(
            rf"^(\s*{directive}\s+)/\S+/([^/\s;]+)",
            lambda m: f"{m.group(1)}{tmp_path / m.group(2)}",
            site,
            flags=re.M,
        )
    directives = [line for line in site.splitlines() if not line.lstrip().startswith("#")]
    assert not [line for line in directives if "/etc/" in line or "/var/" in line]
    (tmp_path / "portal.conf").write_text(site)
    temp = "\n".join(
        f"    {kind}_temp_path {tmp_path / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path / 'nginx.pid'};\nerror_log {tmp_path / 'error.log'};\nevents {{}}\n"
        f"http {{\n    access_log {tmp_path / 'access.log'};\n{temp}\n"
        f"    include {tmp_path / 'portal.conf'};\n}}\n"
    )
    done = subprocess.run(
        ["nginx", "-t", "-p", str(tmp_path), "-e", str(tmp_path / "error.log"),
         "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
        timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


# compose and the image ----------------------------------------------------------------------


def test_compose_has_every_service():
    assert set(compose()["services"]) == {
        "postgres", "minio", "minio-init", *APP_SERVICES, "nginx",
    }  # fmt: skip


def test_units_and_compose_run_the_same_commands():
    units = {name: [our_command(c) for c in service(name)["ExecStart"]] for name in UNITS}
    assert units["portal-web.service"] == compose_commands("web-1") == compose_commands("web-2")
    assert units["portal-worker.service"] == compose_commands("worker")
    assert units["portal-scheduler.service"] == compose_commands("scheduler")
    assert units["portal-migrate.service"] == compose_commands("migrate")
    for commands in units.values():
        for command in commands:
            assert_command_exists(command)


@pytest.mark.parametrize("name", APP_SERVICES)
def test_each_app_container_gets_the_key_as_a_secret_and_every_required_setting(name):
    app = compose()["services"][name]
    env = app["environment"]
    assert "SECRET_KEY" not in env
    assert env["SECRET_KEY_FILE"] == "/run/secrets/secret_key" and "secret_key" in app["secrets"]
    for variable in REQUIRED:
        assert env.get(variable), f"{name} gets no {variable}"
    assert env["TASKS_BACKEND"] == "database"
    assert env["BEHIND_TLS_PROXY"] == "true"


def test_compose_starts_the_app_after_migrations_and_nginx_after_healthy_web():
    services = compose()["services"]
    for name in ["web-1", "web-2", "worker", "scheduler"]:
        assert services[name]["depends_on"] == {
            "migrate": {"condition": "service_completed_successfully"}
        }
    assert services["migrate"]["depends_on"]["postgres"] == {"condition": "service_healthy"}
    assert services["migrate"]["restart"] == "no"
    assert services["nginx"]["depends_on"] == {
        "web-1": {"condition": "service_healthy"},
        "web-2": {"condition": "service_healthy"},
    }
    for name in ["web-1", "web-2"]:
        assert "http://127.0.0.1:8000/healthz" in " ".join(services[name]["healthcheck"]["test"])
    assert services["postgres"]["healthcheck"]["test"][1] == "pg_isready"
    for name in ["worker", "scheduler"]:
        grace = int(services[name]["stop_grace_period"].removesuffix("s"))
        assert grace > settings.PDF_TIMEOUT_SECONDS


def test_compose_creates_the_bucket_the_portal_uses():
    services = compose()["services"]
    bucket = services["web-1"]["environment"]["S3_BUCKET"]
    script = services["minio-init"]["entrypoint"][-1]
    assert f"mc mb --ignore-existing store/{bucket}" in script
    assert services["migrate"]["depends_on"]["minio-init"] == {
        "condition": "service_completed_successfully"
    }


def test_compose_mounts_the_nginx_site_and_its_certificate_where_the_site_expects_it():
    volumes = compose()["services"]["nginx"]["volumes"]
    sources = {volume.split(":")[1]: volume.split(":")[0] for volume in volumes}
    assert sources["/etc/nginx/conf.d/default.conf"] == "./nginx/portal.conf"
    for path in nginx_directives("ssl_certificate") + nginx_directives("ssl_certificate_key"):
        assert path in sources, f"compose does not mount {path}"


def test_the_image_is_built_from_the_checkout_with_libreoffice_and_cjk_fonts():
    build = compose()["x-app"]["build"]
    assert (DEPLOY / build["context"]).resolve() == ROOT
    assert (ROOT / build["dockerfile"]).resolve() == DOCKERFILE
    text = DOCKERFILE.read_text()
    for package in ("libreoffice-writer-nogui", "fonts-noto-cjk"):
        assert package in text
    assert "python manage.py collectstatic --noinput" in text
    cmd = re.search(r"^CMD (.+)$", text, re.M).group(1)
    assert yaml.safe_load(cmd) == WEB_COMMAND
    assert re.search(r"^USER portal$", text, re.M)
    ignored = (DEPLOY / "Dockerfile.dockerignore").read_text().split()
    assert {".git", ".venv", "var", "deploy/secrets", "deploy/tls", "deploy/.env"} <= set(ignored)


# The README ---------------------------------------------------------------------------------


def test_the_readme_names_every_file_in_deploy():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Deploying\n", 1)[1].split("\n## ", 1)[0]
    files = sorted(str(path.relative_to(ROOT)) for path in DEPLOY.rglob("*") if path.is_file())
    missing = [path for path in files if f"`{path}`" not in section]
    assert not missing, f"README's Deploying section does not name {missing}"
