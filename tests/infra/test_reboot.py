"""Everything comes back after the host restarts."""

import subprocess

import pytest

from conftest import nginx_url, wait_for
from helpers import http, web_setting

pytestmark = pytest.mark.reboot


def test_services_come_back_after_a_restart(host, node, web_hosts):
    subprocess.run(["podman", "restart", "--time", "20", node.container], check=True, capture_output=True)
    assert wait_for(
        lambda: host.run("systemctl is-system-running --wait").stdout.strip() in {"running", "degraded"},
        timeout=120,
    )
    assert host.run("systemctl is-system-running").stdout.strip() == "running"
    assert host.check_output("nft list chain inet appliance input")
    if "omero_web_nodes" in node.groups:
        assert host.service("omero-web").is_running
    if "session_stores" in node.groups:
        assert host.service("redis-server").is_running
    if "frontends" in node.groups:
        prefix = web_setting(web_hosts[0], "omero.web.prefix", "")
        url = f"{nginx_url(node)}{prefix}/webclient/login/"
        assert wait_for(lambda: http(host, url)[0] == 200, timeout=60)
