"""OMERO.web nodes: gunicorn under systemd, config, sessions, clearsessions."""

import json
import re

import pytest

from helpers import (
    OMERODIR,
    VENV,
    applied_config,
    as_json,
    as_omero_web,
    django,
    exposure,
    load_session,
    processes,
    save_session,
    session_engine,
)
from topology import address, host_of, in_group, remote_frontends, session_store_of

pytestmark = pytest.mark.group("omero_web_nodes")


def answers(host, code: str, answer: str) -> bool:
    """Whether OMERO.web's Django, running ``code``, prints ``answer`` last."""
    found = django(host, code)
    assert found.rc == 0, found.stderr
    return found.stdout.strip().endswith(answer)


def session_is_stored(host, key: str) -> bool:
    engine = session_engine(host)
    if engine.endswith(".cache"):
        # Asked of Redis itself, through OMERO.web's own connection settings.
        keys = (
            "from django_redis import get_redis_connection\n"
            f"print(len(get_redis_connection('default').keys('*{key}')))"
        )
        return answers(host, keys, "1")
    if engine.endswith(".file"):
        return host.file(f"{OMERODIR}/var/tmp/sessionid{key}").exists
    if engine.endswith(".db"):
        query = (
            "from django.contrib.sessions.models import Session\n"
            f"print(Session.objects.filter(session_key={key!r}).exists())"
        )
        return answers(host, query, "True")
    raise AssertionError(f"no check for {engine}")


def test_gunicorn_runs_as_the_omero_web_user_under_a_hardened_unit(host):
    service = host.service("omero-web")
    assert service.is_running
    assert service.is_enabled
    show = host.check_output(
        "systemctl show omero-web -p User -p Restart -p NoNewPrivileges -p ProtectSystem -p PrivateTmp"
    )
    assert dict(line.split("=", 1) for line in show.splitlines()) == {
        "User": "omero-web",
        "Restart": "on-failure",
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "PrivateTmp": "yes",
    }
    pid = host.check_output("systemctl show -p MainPID --value omero-web")
    assert host.check_output(f"stat -c %U /proc/{pid}") == "omero-web"
    # systemd's score of the whole sandbox, 0 to 10 (3.0 before the filters).
    assert exposure(host, "omero-web") <= 2.5


def test_gunicorn_listens_on_loopback_unless_front_ends_elsewhere_proxy_to_it(host, node, nodes):
    config = applied_config(host)
    port = config.get("omero.web.application_server.port", "4080")
    listening = host.check_output(f"ss -Hltn 'sport = :{port}'").splitlines()
    addresses = {line.split()[3].rsplit(":", 1)[0] for line in listening}
    assert addresses == ({address(host)} if remote_frontends(nodes) else {"127.0.0.1"})
    assert config["omero.web.application_server.host"] in addresses


def test_the_user_cannot_log_in_or_change_its_code(host):
    user = host.user("omero-web")
    assert user.shell == "/usr/sbin/nologin"
    assert host.file(VENV).user == "root"
    assert as_omero_web(host, f"touch {VENV}/bin/x").rc != 0


def test_config_xml_with_the_session_stores_password_is_closed_to_other_users(host):
    """Also after the omero CLI wrote it anew (it does whenever it reads it)."""
    config_xml = f"{OMERODIR}/etc/grid/config.xml"
    assert as_omero_web(host, f"{VENV}/bin/omero config get omero.web.prefix").rc == 0
    assert as_omero_web(host, f"test -r {config_xml}").rc == 0
    read = host.run(f"runuser -u nobody -- cat {config_xml}")
    # (Its content, a password, stays out of the report either way.)
    assert read.rc != 0 and "Permission denied" in read.stderr, f"another user read it (exit {read.rc})"


def test_omero_config_get_prints_what_the_inventory_set(host, node):
    wanted = node.vars.get("omero_web_config", {})
    assert wanted, "the scenario's inventory sets omero_web_config"
    for key, value in wanted.items():
        got = as_omero_web(host, f"{VENV}/bin/omero config get {key}")
        assert got.rc == 0, got.stderr
        assert as_json(got.stdout.strip()) == (value if not isinstance(value, str) else as_json(value))


def test_a_session_is_stored_and_survives_a_restart(host):
    key = save_session(host)
    assert session_is_stored(host, key)
    host.run("systemctl restart omero-web")
    assert host.service("omero-web").is_running
    assert load_session(host, key) == "kept"


def test_a_session_saved_through_one_node_is_read_through_those_sharing_its_store(nodes):
    """Nodes that share a session store share sessions; nodes with their own do not."""
    first, *others = in_group(nodes, "omero_web_nodes")
    first_host = host_of(first)
    key = save_session(first_host)
    for other in others:
        shared = session_engine(first_host).endswith(".cache") and (
            session_store_of(other, nodes) == session_store_of(first, nodes)
        )
        assert load_session(host_of(other), key) == ("kept" if shared else "None"), other.name


def test_the_clearsessions_job_follows_the_session_engine(host):
    cron = host.file("/etc/cron.d/omero-web-clearsessions")
    engine = session_engine(host)
    if engine.endswith(".cache"):
        assert not cron.exists
        return
    assert engine.endswith((".file", ".db"))
    line = next(
        line
        for line in cron.content_string.splitlines()
        if line and not line.startswith("#") and not re.match(r"^\w+=", line)
    )
    fields = line.split(None, 6)
    assert fields[5] == "omero-web"
    command = fields[6].replace("\\%", "%")  # as cron reads it
    assert "omero web clearsessions" in command

    expired = save_session(host, expiry="store.set_expiry(-60)")
    kept = save_session(host)
    assert session_is_stored(host, expired)
    result = host.run(f"runuser -u omero-web -- sh -c {json.dumps(command)}")
    assert result.rc == 0, result.stderr
    assert not session_is_stored(host, expired)
    assert session_is_stored(host, kept)


def test_static_files_were_collected_at_deploy_time(host):
    static = host.file(f"{OMERODIR}/var/static/webgateway/css/ome.body.css")
    assert static.exists
    unit = host.file("/etc/systemd/system/omero-web.service").content_string
    assert "collectstatic" not in unit


SESSION_COOKIE = """
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpResponse
from django.test import RequestFactory

def view(request):
    request.session["appliance-test"] = "kept"
    return HttpResponse()

response = SessionMiddleware(view)(RequestFactory().get("/"))
print(response.cookies[settings.SESSION_COOKIE_NAME].output())
"""


def test_the_session_cookie_follows_the_inventory(host):
    """A response through OMERO.web's own session middleware and settings."""
    result = django(host, "from django.conf import settings\n" + SESSION_COOKIE)
    assert result.rc == 0, result.stderr
    cookie = result.stdout.strip().splitlines()[-1]
    config = applied_config(host)
    at_close = as_json(config.get("omero.web.session_expire_at_browser_close", "true"))
    age = int(config.get("omero.web.session_cookie_age", "86400"))
    if at_close:
        assert "Max-Age" not in cookie and "expires" not in cookie
    else:
        assert f"Max-Age={age}" in cookie
    assert "HttpOnly" in cookie


def test_omero_holds_exactly_the_applied_config(host):
    """Keys the inventory dropped are gone: config.xml is the file, whole."""
    listed = as_omero_web(host, f"{VENV}/bin/omero config get")
    assert listed.rc == 0, listed.stderr
    live = dict(line.split("=", 1) for line in listed.stdout.splitlines() if "=" in line)
    assert live == applied_config(host)


def test_every_node_signs_with_the_same_secret_key_only_it_can_read(web_hosts):
    keys = [h.file(f"{OMERODIR}/var/django_secret_key") for h in web_hosts]
    for key in keys:
        assert key.user == "omero-web" and key.mode == 0o600
    assert len({key.sha256sum for key in keys}) == 1


def test_every_property_of_this_omero_web_is_in_the_appliances_schema(host):
    """An upgrade of omero-web that adds a property fails here until the
    schema (omeroweb/src/omero_web_appliance/schema.py) covers it."""
    result = as_omero_web(host, f"{VENV}/bin/omero-web-appliance coverage")
    assert result.rc == 0, result.stderr
    assert "every OMERO.web property is covered" in result.stdout


def test_gunicorn_fits_the_host(host, node):
    """gunicorn runs gthread workers, one per core (at least 2, at most one
    per 600 MiB of memory) with 8 threads each, unless the inventory says
    otherwise: the running master's command line and its children."""
    cores = int(host.check_output("nproc"))
    memory_mb = int(host.check_output("awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo"))
    workers = int(node.vars.get("omero_web_workers", min(max(cores, 2), max(memory_mb // 600, 2))))
    threads = int(node.vars.get("omero_web_threads", 8))
    worker_class = node.vars.get("omero_web_worker_class", "gthread")
    config = applied_config(host)
    assert [config[f"omero.web.wsgi_{name}"] for name in ("workers", "threads", "worker_class")] == [
        str(workers),
        str(threads),
        worker_class,
    ]
    master = int(host.check_output("systemctl show --property=MainPID --value omero-web"))
    argv = host.file(f"/proc/{master}/cmdline").content_string.split("\0")
    for option, value in (("--workers", workers), ("--threads", threads), ("--worker-class", worker_class)):
        assert argv[argv.index(option) + 1] == str(value), argv
    assert len(processes(host, parent=master)) == workers


def test_the_extension_points_reach_gunicorn(host, node):
    """omero_web_extra_packages, omero_web_extra_environment and
    omero_web_limit_nofile, as the inventory sets them (tests/group_vars),
    seen from OMERO.web's venv and its running gunicorn."""
    for requirement in node.vars.get("omero_web_extra_packages", []):
        name, version = requirement.split("==")
        code = f"import importlib.metadata as m; print(m.version({name!r}))"
        assert host.check_output(f"{VENV}/bin/python -c {json.dumps(code)}") == version
    pid = host.check_output("systemctl show --property=MainPID --value omero-web")
    environ = host.check_output(f"tr '\\0' '\\n' < /proc/{pid}/environ").splitlines()
    seen = dict(item.split("=", 1) for item in environ if "=" in item)
    for name, value in node.vars.get("omero_web_extra_environment", {}).items():
        assert seen.get(name) == value, name
    assert seen["OMERODIR"] == OMERODIR
    limit = int(node.vars.get("omero_web_limit_nofile", 0))
    if limit:
        line = next(
            line
            for line in host.file(f"/proc/{pid}/limits").content_string.splitlines()
            if "open files" in line
        )
        assert line.split()[3:5] == [str(limit), str(limit)], line
