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


def http(host, url: str, *curl_args: str) -> tuple[int, str, str]:
    """(status, headers, body) of a request made on the host itself."""
    marker = "\n--status--"
    write_status = shlex.quote(marker + "%{http_code}")
    args = " ".join(map(shlex.quote, curl_args))
    out = host.run(f"curl -sS --max-time 10 -D /dev/stderr -o - -w {write_status} {args} {shlex.quote(url)}")
    body, _, status = out.stdout.rpartition(marker)
    return int(status or 0), out.stderr, body


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
