"""Front ends: OMERO.web through Nginx, static files, the maintenance page."""

import json
import re
from concurrent.futures import ThreadPoolExecutor

import pytest

from helpers import exposure, http, login_page, wait_for, web_setting
from playbook import changed_nothing, recap, run_site
from topology import host_of, in_group, remote_frontends

pytestmark = pytest.mark.group("frontends")


@pytest.fixture
def static_url(web_hosts) -> str:
    return web_setting(web_hosts[0], "omero.web.static_url", "/static/")


def test_the_login_page_answers_through_nginx(host, nginx, prefix):
    status, headers, body = login_page(host, nginx, prefix)
    assert status == 200
    assert "Server: nginx" in headers
    assert "OMERO.web - Login" in body


def test_a_static_file_is_served(host, nginx, static_url):
    status, headers, body = http(host, f"{nginx}{static_url}webgateway/css/ome.body.css")
    assert status == 200
    assert "Content-Type: text/css" in headers
    assert body.strip()


def header(headers: str, name: str) -> str | None:
    found = re.search(rf"^{name}: (.*)$", headers, re.MULTILINE | re.IGNORECASE)
    return found.group(1) if found else None


def test_static_files_go_precompressed_to_browsers_that_take_gzip(host, nginx, static_url):
    url = f"{nginx}{static_url}webgateway/css/ome.body.css"
    status, headers, _ = http(host, url, headers={"Accept-Encoding": "gzip"})
    assert status == 200, headers
    assert header(headers, "Content-Encoding") == "gzip", headers
    assert header(headers, "Vary") == "Accept-Encoding", headers
    # Its length known before sending: compressed once, not on the fly.
    assert header(headers, "Content-Length"), headers
    status, headers, body = http(host, url)
    assert status == 200 and header(headers, "Content-Encoding") is None and body.strip()


def test_a_repeat_visit_to_the_login_page_loads_no_asset_again(host, nginx, prefix, static_url):
    """Assets with a version in the URL (OMERO.web's ?_<version>, or in the
    file name: jquery-3.6.2.min.js) are kept for a year; the others (the
    logos) come back only when they changed (304)."""
    _, _, page = login_page(host, nginx, prefix)
    assets = sorted(set(re.findall(rf'(?:src|href)="({re.escape(static_url)}[^"]+)"', page)))
    versioned = [a for a in assets if re.search(r"\?_[0-9]|-[0-9]+(\.[0-9]+)+(\.min)?\.[a-z]+$", a)]
    assert versioned and len(versioned) < len(assets), assets
    for asset in assets:
        status, headers, _ = http(host, f"{nginx}{asset}", headers={"Accept-Encoding": "gzip"})
        assert status == 200, (asset, headers)
        if asset in versioned:
            assert header(headers, "Cache-Control") == "public, max-age=31536000, immutable", (asset, headers)
            continue
        assert header(headers, "Cache-Control") == "no-cache", (asset, headers)
        again = {"Accept-Encoding": "gzip", "If-None-Match": header(headers, "ETag")}
        status, headers, body = http(host, f"{nginx}{asset}", headers=again)
        assert (status, body) == (304, ""), (asset, headers)


def test_a_static_file_collected_anew_is_served_anew_within_seconds(host, nginx, static_url):
    """Nginx keeps static files open (open_file_cache), but an all-in-one
    host collects a new release's files in place, under URLs the new pages
    name with a year's Cache-Control: the new file must win within seconds."""
    site = host.file("/etc/nginx/sites-enabled/omero-web.conf").content_string
    root = re.search(r"^\s*alias (\S+?)/?;", site, re.MULTILINE).group(1)
    path, url = f"{root}/appliance-test-collected.txt", f"{nginx}{static_url}appliance-test-collected.txt"
    try:
        host.run_expect([0], f"printf release-1 > {path} && chmod 0644 {path}")
        # Asked for often enough that every worker keeps it open.
        assert {http(host, url)[::2] for _ in range(10)} == {(200, "release-1")}
        # As collectstatic --clear does: the old file goes, a new one comes.
        host.run_expect([0], f"rm {path} && printf release-2 > {path} && chmod 0644 {path}")

        def every_worker_serves_the_new_file() -> bool:
            return {http(host, url)[2] for _ in range(10)} == {"release-2"}

        assert wait_for(every_worker_serves_the_new_file, timeout=5, interval=0.5)
    finally:
        host.run(f"rm -f {path}")


def test_a_page_is_not_kept_by_browsers_as_a_static_file(host, nginx, prefix):
    _, headers, _ = login_page(host, nginx, prefix)
    assert "immutable" not in (header(headers, "Cache-Control") or ""), headers


def test_nginx_runs_in_a_systemd_sandbox(host):
    """Debian's unit scores 9.6 (unsafe); the appliance's drop-in brings it
    to 5.0 or less, and the tests above show it still serves."""
    assert exposure(host, "nginx") <= 5.0


def test_the_distribution_default_site_is_gone(host):
    assert not host.file("/etc/nginx/sites-enabled/default").exists


@pytest.mark.alone
def test_maintenance_page_while_omero_web_is_down(host, nginx, prefix, static_url, web_hosts):
    for web in web_hosts:
        web.run("systemctl stop omero-web")
    try:
        status, _, body = login_page(host, nginx, prefix)
        assert status == 503
        assert "OMERO.web is down for maintenance" in body
        # Nginx serves static files itself: they load while gunicorn is down.
        status, _, _ = http(host, f"{nginx}{static_url}webgateway/css/ome.body.css")
        assert status == 200
    finally:
        for web in web_hosts:
            web.run("systemctl start omero-web")
    # gunicorn starts in seconds in a container, in a minute or more in an emulated VM.
    assert wait_for(lambda: login_page(host, nginx, prefix)[0] == 200, timeout=240, interval=2)


@pytest.mark.cluster
@pytest.mark.alone
@pytest.mark.once
def test_a_run_limited_to_a_front_end_names_the_web_nodes_it_needs(request, node, nodes):
    """Nginx's site is made of the endpoints the web nodes publish in the run."""
    assert node in remote_frontends(nodes), "this test needs a front end of its own"
    result = run_site(request.config.getoption("inventory"), {}, "--limit", node.name)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    first = in_group(nodes, "omero_web_nodes")[0].name
    assert f"{first} has not run the omero_web role in this run" in output, output[-3000:]
    assert "a --limit must include the omero_web_nodes hosts" in output
    assert changed_nothing(result), recap(result)


def test_the_root_leads_to_the_prefix(host, nginx, prefix):
    status, headers, _ = http(host, f"{nginx}/")
    if prefix:
        assert status == 302
        # No host or port in it: right behind Apache as well.
        assert f"Location: {prefix}/\n" in headers
    else:
        assert status in (200, 301, 302)


def cors_preflight(host, nginx, prefix, origin):
    return http(
        host,
        f"{nginx}{prefix}/webclient/login/",
        method="OPTIONS",
        headers={"Origin": origin, "Access-Control-Request-Method": "GET"},
    )


def test_cors_preflight_answers_only_allowed_origins(host, nginx, prefix, web_hosts):
    allowed = json.loads(web_setting(web_hosts[0], "omero.web.cors_origin_whitelist", "[]"))
    other = cors_preflight(host, nginx, prefix, "https://elsewhere.example.net")[1]
    assert "Access-Control-Allow-Origin" not in other
    for origin in allowed:
        headers = cors_preflight(host, nginx, prefix, origin)[1]
        assert f"Access-Control-Allow-Origin: {origin}" in headers


def test_a_location_of_the_inventorys_own_answers(host, node, nginx):
    """nginx_extra_locations (tests/group_vars: "= /appliance-extra")."""
    paths = [extra["path"] for extra in node.vars.get("nginx_extra_locations", [])]
    assert "= /appliance-extra" in paths
    status, headers, body = http(host, f"{nginx}/appliance-extra")
    assert (status, body) == (200, "extra location\n"), headers
    assert "Content-Type: text/plain" in headers


def outermost(front) -> str:
    """A front end's HTTPS on the host itself: Apache where it is in front of
    Nginx, else Nginx."""
    if "apache_frontends" in front.groups:
        return f"https://127.0.0.1:{front.vars.get('apache_https_port', 443)}"
    return f"https://127.0.0.1:{front.vars.get('nginx_https_port', 443)}"


@pytest.mark.group("long_requests")
def test_an_answer_after_more_than_a_minute_goes_through_every_proxy(node, nodes, prefix):
    """omero_web_request_timeout (90 s on these nodes) reaches gunicorn,
    Nginx and Apache: a page that says nothing for 65 s (tests/apps/
    appliance_wait) answers through each front end, all at once. The
    proxies used to give up at 60 s."""
    fronts = in_group(nodes, "frontends")

    def through(front):
        url = f"{outermost(front)}{prefix}/appliance_wait/?seconds=65"
        return http(host_of(front), url, timeout=100)

    with ThreadPoolExecutor(len(fronts)) as pool:
        answers = list(pool.map(through, fronts))
    for front, (status, headers, body) in zip(fronts, answers, strict=True):
        assert (status, body) == (200, "waited 65 s\n"), (front.name, headers, body[-300:])
