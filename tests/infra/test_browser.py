"""A real browser loads the login page through Nginx, with every script and
stylesheet it asks for (headless Chromium from Debian, on the controller)."""

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from helpers import web_setting
from topology import visitor_url

pytestmark = pytest.mark.group("frontends")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def responses(netlog: Path) -> dict[str, int]:
    """URL -> HTTP status of every request in a Chromium NetLog."""
    text = netlog.read_text()
    try:
        log = json.loads(text)
    except ValueError:  # a log cut short ends in an open event list
        log = json.loads(text.rstrip().rstrip(",") + "]}")
    types = {v: k for k, v in log["constants"]["logEventTypes"].items()}
    urls, statuses = {}, {}
    for event in log["events"]:
        kind = types.get(event["type"])
        source = event["source"]["id"]
        params = event.get("params", {})
        if kind == "URL_REQUEST_START_JOB" and "url" in params:
            urls[source] = params["url"]
        elif kind == "HTTP_TRANSACTION_READ_RESPONSE_HEADERS" and params.get("headers"):
            statuses[source] = int(params["headers"][0].split()[1])
    return {url: statuses.get(source, 0) for source, url in urls.items()}


def test_chromium_loads_the_login_page_and_all_its_assets(host, node, web_hosts):
    prefix = web_setting(web_hosts[0], "omero.web.prefix", "")
    site = visitor_url(node, host)
    url = f"{site}{prefix}/webclient/login/"
    with tempfile.TemporaryDirectory() as tmp:
        netlog = Path(tmp) / "netlog.json"
        shot = Path(tmp) / "login.png"
        result = subprocess.run(
            [
                CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--ignore-certificate-errors",  # the test containers' self-signed certificates
                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", f"--user-data-dir={tmp}/profile", f"--log-net-log={netlog}",
                "--virtual-time-budget=10000", f"--screenshot={shot}", "--window-size=1024,768",
                url,
            ],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert shot.exists(), result.stderr[-2000:]
        seen = responses(netlog)
    assert seen.get(url) == 200, seen
    assets = {u: s for u, s in seen.items() if u.split("?")[0].endswith((".js", ".css"))}
    assert assets, "the login page asked for no scripts or stylesheets"
    assert all(u.startswith(f"{site}{prefix}/static/") for u in assets), assets
    assert {u: s for u, s in assets.items() if s != 200} == {}
