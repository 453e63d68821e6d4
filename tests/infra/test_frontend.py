"""Front ends: OMERO.web through Nginx, static files, the maintenance page."""

import json

import pytest

from conftest import wait_for
from helpers import exposure, http, login_page, web_setting

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


def test_nginx_runs_in_a_systemd_sandbox(host):
    """Debian's unit scores 9.6 (unsafe); the appliance's drop-in brings it
    to 5.0 or less, and the tests above show it still serves."""
    assert exposure(host, "nginx") <= 5.0


def test_the_distribution_default_site_is_gone(host):
    assert not host.file("/etc/nginx/sites-enabled/default").exists


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
