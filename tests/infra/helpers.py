"""What the tests need to speak to OMERO.web on a host."""

from __future__ import annotations

import json
import os
import re
import shlex
import time
from pathlib import Path

# This checkout.
ROOT = Path(__file__).resolve().parents[2]
VENV = "/opt/omero/web/venv"
OMERODIR = "/opt/omero/web/OMERO.web"
# Each role's record of what it last applied (roles/applied_state).
APPLIED = "/var/lib/omero-web-appliance/applied"
PROPERTIES = "/opt/omero/web/config/omero-web.properties"
USER = "omero-web"
ENV = (
    f"OMERODIR={OMERODIR} DJANGO_SETTINGS_MODULE=omeroweb.settings "
    f"TMPDIR={OMERODIR}/var/tmp OMERO_TEMPDIR={OMERODIR}/var/tmp"
)


def as_omero_web(host, command: str):
    """Run a shell command as the OMERO.web user with OMERO.web's environment."""
    return host.run(f"runuser -u {USER} -- env {ENV} sh -c {shlex.quote(command)}")


# redis-cli as root on a session store, with the password from its config.
REDIS_AUTH = """REDISCLI_AUTH=$(awk '/^requirepass /{gsub(/"/, "", $2); print $2}' /etc/redis/redis.conf)"""


def redis_role(host) -> str:
    """A store's Redis role: master, slave, or down."""
    found = host.run(f"{REDIS_AUTH} timeout 5 redis-cli --raw ROLE")
    return found.stdout.split("\n", 1)[0] if found.rc == 0 and found.stdout else "down"


def link_up(host) -> bool:
    """A replica's link to its primary is up."""
    return "master_link_status:up" in host.run(f"{REDIS_AUTH} timeout 5 redis-cli INFO replication").stdout


def django(host, code: str):
    """Run Python with OMERO.web's own Django settings, as the OMERO.web user."""
    script = "import django; django.setup()\n" + code
    return as_omero_web(host, f"{VENV}/bin/python -c {shlex.quote(script)}")


SAVE_SESSION = """
from importlib import import_module
from django.conf import settings
store = import_module(settings.SESSION_ENGINE).SessionStore()
store["appliance-test"] = "kept"
{expiry}
store.save()
print(store.session_key)
"""
LOAD_SESSION = """
from importlib import import_module
from django.conf import settings
store = import_module(settings.SESSION_ENGINE).SessionStore(session_key="{key}")
print(store.get("appliance-test"))
"""


def save_session(host, expiry: str = "") -> str:
    result = django(host, SAVE_SESSION.format(expiry=expiry))
    assert result.rc == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def load_session(host, key: str) -> str:
    result = django(host, LOAD_SESSION.format(key=key))
    assert result.rc == 0, result.stderr
    return result.stdout.strip()


# Python's http.client on the host itself: every host has python3, not every
# host has curl. Redirects are not followed; HTTPS is not verified (the test
# containers' self-signed certificates).
HTTP = """
import http.client, json, ssl, sys, urllib.parse
a = json.loads(sys.argv[1])
u = urllib.parse.urlsplit(a["url"])
if u.scheme == "https":
    unverified = ssl._create_unverified_context()
    c = http.client.HTTPSConnection(u.hostname, u.port or 443, timeout=a["timeout"], context=unverified)
else:
    c = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=a["timeout"])
try:
    c.request(a["method"], (u.path or "/") + ("?" + u.query if u.query else ""), headers=a["headers"])
    r = c.getresponse()
    out = {"status": r.status, "headers": "".join(f"{k}: {v}\\n" for k, v in r.getheaders()),
           "body": r.read().decode("utf-8", "replace")}
except OSError as error:
    out = {"status": 0, "headers": str(error), "body": ""}
print(json.dumps(out))
"""


def http(
    host, url: str, method: str = "GET", headers: dict | None = None, timeout: float = 10
) -> tuple[int, str, str]:
    """(status, headers, body) of a request made on the host itself, given
    ``timeout`` seconds to connect and between two reads."""
    request = json.dumps({"url": url, "method": method, "headers": headers or {}, "timeout": timeout})
    out = host.run(f"python3 -c {shlex.quote(HTTP)} {shlex.quote(request)}")
    if out.rc != 0:
        return 0, out.stderr, ""
    answer = json.loads(out.stdout)
    return answer["status"], answer["headers"], answer["body"]


def login_page(host, base: str, prefix: str) -> tuple[int, str, str]:
    """OMERO.web's login page at a base URL (scheme, host and port)."""
    return http(host, f"{base}{prefix}/webclient/login/")


def applied_config(host) -> dict[str, str]:
    """The properties the role rendered for OMERO.web on this host."""
    text = host.file("/opt/omero/web/config/omero-web.properties").content_string
    config = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            config[key] = value
    return config


def session_engine(host) -> str:
    return applied_config(host).get("omero.web.session_engine", "django.contrib.sessions.backends.db")


def as_json(value):
    try:
        return json.loads(value)
    except (TypeError, ValueError):
        return value


def web_setting(host, key: str, default: str) -> str:
    """A property as the role applied it on an OMERO.web node."""
    return applied_config(host).get(key, default)


# A bounded load on the host itself: a request every LOAD_INTERVAL s until
# stopped, at most LOAD_MAX_REQUESTS or LOAD_MAX_SECONDS, each answer counted
# as ok (200), maintenance (Nginx's 503 page) or error (anything else,
# timeouts included). Only 127.0.0.1 of the test host is asked.
LOAD = """
import json, os, ssl, sys, time, urllib.error, urllib.request
url, out, max_seconds, max_requests = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
counts = {"ok": 0, "maintenance": 0, "error": 0}
late = []
why = {}
start = time.monotonic()
while (sum(counts.values()) < max_requests and time.monotonic() - start < max_seconds
       and not os.path.exists(out + ".stop")):
    sent = time.monotonic()
    reason = ""
    try:
        # The test containers' certificates are self-signed. A browser waits
        # far longer than 30 s; a request queued while gunicorn boots on a
        # host the other lane loads can wait more than 10.
        with urllib.request.urlopen(url, timeout=30, context=ssl._create_unverified_context()) as answer:
            kind = "ok" if answer.status == 200 else "error"
            reason = str(answer.status)
    except urllib.error.HTTPError as answer:
        page = answer.read().decode("utf-8", "replace")
        kind = "maintenance" if answer.code == 503 and "down for maintenance" in page else "error"
        reason = str(answer.code)
    except Exception as failure:
        kind = "error"
        reason = f"{type(failure).__name__}: {failure}"[:120]
    counts[kind] += 1
    if kind != "ok":
        late.append(round(sent - start, 2))
    if kind == "error":
        why[reason] = why.get(reason, 0) + 1
    time.sleep(0.1)
counts["seconds"] = round(time.monotonic() - start, 1)
# Seconds from the first answer that was not ok to the last one.
counts["not_ok_window"] = round(late[-1] - late[0], 1) if late else 0.0
# What the errors were (status or exception), so a failed test says.
counts["errors"] = why
with open(out + ".tmp", "w") as f:
    json.dump(counts, f)
os.replace(out + ".tmp", out)
"""
LOAD_MAX_SECONDS = 600
LOAD_MAX_REQUESTS = 20000


class Load:
    """``with Load(host, url) as load: ...``; then ``load.result`` holds the
    counts of the answers during the block."""

    def __init__(self, host, url: str, name: str = "appliance-load"):
        self.host, self.url, self.name = host, url, name
        self.out = f"/root/{name}.json"
        self.result: dict = {}

    def __enter__(self):
        self.host.run(f"rm -f {self.out} {self.out}.stop; systemctl reset-failed {self.name} 2>/dev/null")
        script = shlex.quote(LOAD)
        started = self.host.run(
            f"systemd-run --unit {self.name} -p RuntimeMaxSec={LOAD_MAX_SECONDS + 30} python3 -c {script} "
            f"{shlex.quote(self.url)} {self.out} {LOAD_MAX_SECONDS} {LOAD_MAX_REQUESTS}"
        )
        assert started.rc == 0, started.stderr
        return self

    def __exit__(self, *exc):
        self.host.run(f"touch {self.out}.stop")
        for _ in range(30):
            done = self.host.run(f"cat {self.out}")
            if done.rc == 0 and done.stdout.strip():
                self.result = json.loads(done.stdout)
                break
            self.host.run("sleep 1")
        self.host.run(f"rm -f {self.out}.stop")
        return False


def live_state(host) -> tuple:
    """What OMERO.web runs from: the properties file, what config.xml holds
    (as the omero CLI reads it), the venv link."""
    config = as_omero_web(host, f"{VENV}/bin/omero config get")
    assert config.rc == 0, config.stderr
    return (host.file(PROPERTIES).sha256sum, config.stdout, host.file(VENV).linked_to)


def config_with(node, **properties) -> dict:
    """Extra variables: the inventory's omero_web_config with ``properties`` added."""
    return {"omero_web_config": {**node.vars.get("omero_web_config", {}), **properties}}


# json.JSONDecoder imports (the schema lets it through) but is no
# middleware: Django cannot build its chain, every worker fails to boot.
BROKEN_MIDDLEWARE = [
    {"index": 1, "class": "django.middleware.common.CommonMiddleware"},
    {"index": 3, "class": "django.contrib.sessions.middleware.SessionMiddleware"},
    {"index": 4, "class": "django.middleware.csrf.CsrfViewMiddleware"},
    {"index": 5, "class": "django.contrib.messages.middleware.MessageMiddleware"},
    {"index": 7, "class": "json.JSONDecoder"},
]
# omero_web_health_timeout for runs that break OMERO.web on purpose: the
# wait they prove ends, shorter than the default so the tests do not idle.
HEALTH_WAIT = 60


def crashing_change(node) -> dict:
    """Extra variables of a change that passes every check and crashes
    OMERO.web on start, with the shorter health wait."""
    return {
        **config_with(node, **{"omero.web.middleware": BROKEN_MIDDLEWARE}),
        "omero_web_health_timeout": HEALTH_WAIT,
    }


# Processes from /proc (minimal hosts have no procps): pid, parent, command line.
PROCESSES = """
import json, os
found = []
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        parent = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1]
        command = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\\0", b" ").decode(errors="replace")
    except OSError:
        continue
    found.append([int(pid), int(parent), command.strip()])
print(json.dumps(found))
"""


def processes(host, parent: int | None = None, matching: str = "") -> list[int]:
    """Pids on the host, children of ``parent`` and/or whose command line holds ``matching``."""
    listed = json.loads(host.check_output(f"python3 -c {shlex.quote(PROCESSES)}"))
    return [
        pid
        for pid, ppid, command in listed
        if (parent is None or ppid == parent) and matching in command and "import json, os" not in command
    ]


class PortHolder:
    """``with PortHolder(host, port): ...``: another service on the host holds
    the port (on every address) for the block, as an old web server would; a
    config check cannot see it, only the service that fails to bind it."""

    def __init__(self, host, port: int):
        self.host, self.port, self.unit = host, port, f"appliance-holds-{port}"

    def __enter__(self):
        started = self.host.run(
            f"systemd-run --unit {self.unit} --collect -p RuntimeMaxSec=900 "
            f"python3 -m http.server --bind 0.0.0.0 {self.port}"
        )
        assert started.rc == 0, started.stderr
        for _ in range(20):
            if self.host.socket(f"tcp://0.0.0.0:{self.port}").is_listening:
                return self
            self.host.run("sleep 0.5")
        raise AssertionError(f"nothing listens on port {self.port}")

    def __exit__(self, *exc):
        self.host.run(f"systemctl stop {self.unit}")
        return False


def exposure(host, unit: str) -> float:
    """systemd's exposure score of a running unit (0 safest, 10 unsafe)."""
    report = host.check_output(f"systemd-analyze security {unit}")
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", report)
    assert found, report[-2000:]
    return float(found.group(1))


def record(name: str, **figures) -> None:
    """Keeps a measured figure in the file APPLIANCE_FIGURES names, where it
    is set (bench/failover.py reads them); a line of JSON each."""
    path = os.environ.get("APPLIANCE_FIGURES")
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps({"name": name, **figures}) + "\n")


def wait_for(check, timeout: float = 60, interval: float = 1):
    """Call ``check`` until it returns a true value or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(interval)
