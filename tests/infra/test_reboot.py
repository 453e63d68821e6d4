"""Everything comes back after the host restarts."""

import subprocess

import pytest

from helpers import http, wait_for, web_setting
from topology import is_container, nginx_url, virtual_address

pytestmark = [pytest.mark.reboot, pytest.mark.any_config]


def system_state(host) -> str:
    """systemd's state once it settles; empty while SSH cannot reach a VM."""
    try:
        return host.run("systemctl is-system-running --wait").stdout.strip()
    except RuntimeError:  # testinfra's SSH backend: no connection
        return ""


def restart(node, host) -> None:
    if is_container(node):
        subprocess.run(["podman", "restart", "--time", "20", node.container], check=True, capture_output=True)
    else:  # a VM reboots itself; answer first, so SSH does not hang on it
        host.run("systemd-run --on-active=2 systemctl reboot")
        assert wait_for(lambda: system_state(host) == "", timeout=120, interval=2)


def test_services_come_back_after_a_restart(host, node, web_hosts):
    restart(node, host)
    assert wait_for(lambda: system_state(host) in {"running", "degraded"}, timeout=300, interval=2)
    assert host.run("systemctl is-system-running").stdout.strip() == "running"
    assert host.check_output("nft list chain inet appliance input")
    if "omero_web_nodes" in node.groups:
        assert host.service("omero-web").is_running
    if "session_stores" in node.groups:
        assert host.service("redis-server").is_running
        if host.run("systemctl is-enabled redis-sentinel").rc == 0:
            assert host.service("redis-sentinel").is_running
    if "frontends" in node.groups:
        prefix = web_setting(web_hosts[0], "omero.web.prefix", "")
        url = f"{nginx_url(node)}{prefix}/webclient/login/"
        assert wait_for(lambda: http(host, url)[0] == 200, timeout=240, interval=2)
        # With a virtual address, keepalived is back and the site answers on
        # the address, whichever balancer holds it now.
        if host.run("systemctl is-enabled keepalived").rc == 0:
            assert host.service("keepalived").is_running
            shared = f"https://{virtual_address()}{prefix}/webclient/login/"
            assert wait_for(lambda: http(host, shared)[0] == 200, timeout=60, interval=1)
