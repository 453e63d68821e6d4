"""What the tests need to speak to OMERO.web on a host."""

from __future__ import annotations

import json
import shlex

VENV = "/opt/omero/web/venv"
OMERODIR = "/opt/omero/web/OMERO.web"
USER = "omero-web"
ENV = (
    f"OMERODIR={OMERODIR} DJANGO_SETTINGS_MODULE=omeroweb.settings "
    f"TMPDIR={OMERODIR}/var/tmp OMERO_TEMPDIR={OMERODIR}/var/tmp"
)


def as_omero_web(host, command: str):
    """Run a shell command as the OMERO.web user with OMERO.web's environment."""
    return host.run(f"runuser -u {USER} -- env {ENV} sh -c {shlex.quote(command)}")


def django(host, code: str):
    """Run Python with OMERO.web's own Django settings, as the OMERO.web user."""
    script = "import django; django.setup()\n" + code
    return as_omero_web(host, f"{VENV}/bin/python -c {shlex.quote(script)}")


# Python's http.client on the host itself: every host has python3, not every
# host has curl. Redirects are not followed; HTTPS is not verified (the test
# containers' self-signed certificates).
HTTP = """
import http.client, json, ssl, sys, urllib.parse
a = json.loads(sys.argv[1])
u = urllib.parse.urlsplit(a["url"])
if u.scheme == "https":
    unverified = ssl._create_unverified_context()
    c = http.client.HTTPSConnection(u.hostname, u.port or 443, timeout=10, context=unverified)
else:
    c = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=10)
try:
    c.request(a["method"], (u.path or "/") + ("?" + u.query if u.query else ""), headers=a["headers"])
    r = c.getresponse()
    out = {"status": r.status, "headers": "".join(f"{k}: {v}\\n" for k, v in r.getheaders()),
           "body": r.read().decode("utf-8", "replace")}
except OSError as error:
    out = {"status": 0, "headers": str(error), "body": ""}
print(json.dumps(out))
"""


def http(host, url: str, method: str = "GET", headers: dict | None = None) -> tuple[int, str, str]:
    """(status, headers, body) of a request made on the host itself."""
    request = json.dumps({"url": url, "method": method, "headers": headers or {}})
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
