"""Everything comes back after every host restarts at once, as after a power
cut: each host's services, the site (on the front ends' virtual address where
there is one), and a session saved before."""

import subprocess
import time

import pytest

from helpers import http, link_up, load_session, record, redis_role, save_session, wait_for, web_setting
from topology import host_of, in_group, is_container, nginx_url, read_inventory, virtual_address

pytestmark = [pytest.mark.reboot, pytest.mark.any_config, pytest.mark.failover]

RESTART_TIMEOUT = 180


def system_state(host) -> str:
    """systemd's state once it settles; empty while SSH cannot reach a VM."""
    try:
        return host.run("systemctl is-system-running --wait").stdout.strip()
    except RuntimeError:  # testinfra's SSH backend: no connection
        return ""


@pytest.fixture(scope="module")
def restarted(request) -> dict:
    """Restarts every host of the inventory at once: the key of a session
    each web node saved more than a second before (by node; the default
    scenario's hosts are sites of their own), and when the restart began."""
    nodes = read_inventory(request.config.getoption("inventory"))
    keys = {n.name: save_session(host_of(n)) for n in in_group(nodes, "omero_web_nodes")}
    time.sleep(1)
    began = time.monotonic()
    containers = [n.container for n in nodes if is_container(n)]
    machines = [host_of(n) for n in nodes if not is_container(n)]
    stopping = [
        subprocess.Popen(["podman", "restart", "--time", "20", name], stdout=subprocess.DEVNULL)
        for name in containers
    ]
    for host in machines:  # a VM reboots itself; answer first, so SSH does not hang on it
        host.run("systemd-run --on-active=2 systemctl reboot")
    for process in stopping:
        assert process.wait(timeout=RESTART_TIMEOUT) == 0
    for host in machines:
        assert wait_for(lambda host=host: system_state(host) == "", timeout=120, interval=2)
    return {"keys": keys, "began": began}


def test_services_come_back_after_every_host_restarts(restarted, host, node, web_hosts):
    assert wait_for(lambda: system_state(host) in {"running", "degraded"}, timeout=300, interval=2)
    assert host.run("systemctl is-system-running").stdout.strip() == "running"
    assert host.check_output("nft list chain inet appliance input")
    if "omero_web_nodes" in node.groups:
        assert host.service("omero-web").is_running
    if "session_stores" in node.groups:
        assert host.service("redis-server").is_running
        # Under Sentinel, each store is the primary or a replica of it again.
        if host.run("systemctl is-enabled redis-sentinel").rc == 0:
            assert host.service("redis-sentinel").is_running
            assert wait_for(
                lambda: redis_role(host) == "master" or (redis_role(host) == "slave" and link_up(host)),
                timeout=90,
                interval=1,
            ), redis_role(host)
    if "frontends" in node.groups:
        prefix = web_setting(web_hosts[0], "omero.web.prefix", "")
        url = f"{nginx_url(node)}{prefix}/webclient/login/"
        assert wait_for(lambda: http(host, url)[0] == 200, timeout=240, interval=2)
        back = time.monotonic() - restarted["began"]
        record("every host restarted", host=node.name, site_back=round(back, 1))
        # With a virtual address, keepalived is back and the site answers on
        # the address, whichever balancer holds it now.
        if host.run("systemctl is-enabled keepalived").rc == 0:
            assert host.service("keepalived").is_running
            shared = f"https://{virtual_address()}{prefix}/webclient/login/"
            assert wait_for(lambda: http(host, shared)[0] == 200, timeout=60, interval=1)
    # The session saved before the restart is still valid: the store wrote it
    # to disk when it stopped, and read it back.
    if "omero_web_nodes" in node.groups:
        key = restarted["keys"][node.name]
        assert wait_for(lambda: load_session(host, key) == "kept", timeout=60, interval=1)
