"""Front ends: OMERO.web through Nginx, static files, the maintenance page."""

import pytest
import testinfra

from conftest import wait_for
from helpers import http

pytestmark = pytest.mark.group("frontends")


def prefix(node) -> str:
    return node.vars.get("omero_web_config", {}).get("omero.web.prefix", "")


def static_url(node) -> str:
    return node.vars.get("omero_web_config", {}).get("omero.web.static_url", "/static/")


@pytest.fixture
def web_hosts(node, request):
    from conftest import _inventory

    nodes = _inventory(request.config.getoption("inventory"))
    return [testinfra.get_host(f"podman://{n.container}") for n in nodes if "omero_web_nodes" in n.groups]


def login_page(host, node):
    return http(host, f"http://127.0.0.1{prefix(node)}/webclient/login/")


def test_the_login_page_answers_through_nginx(host, node):
    status, headers, body = login_page(host, node)
    assert status == 200
    assert "Server: nginx" in headers
    assert "OMERO.web - Login" in body


def test_a_static_file_is_served(host, node):
    status, headers, body = http(host, f"http://127.0.0.1{static_url(node)}webgateway/css/ome.body.css")
    assert status == 200
    assert "Content-Type: text/css" in headers
    assert body.strip()


def test_the_distribution_default_site_is_gone(host):
    assert not host.file("/etc/nginx/sites-enabled/default").exists


def test_maintenance_page_while_omero_web_is_down(host, node, web_hosts):
    for web in web_hosts:
        web.run("systemctl stop omero-web")
    try:
        status, _, body = login_page(host, node)
        assert status == 503
        assert "OMERO.web is down for maintenance" in body
        # Nginx serves static files itself: they load while gunicorn is down.
        status, _, _ = http(host, f"http://127.0.0.1{static_url(node)}webgateway/css/ome.body.css")
        assert status == 200
    finally:
        for web in web_hosts:
            web.run("systemctl start omero-web")
    assert wait_for(lambda: login_page(host, node)[0] == 200, timeout=60)
