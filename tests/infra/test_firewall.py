"""The firewall: default drop, SSH and the declared ports open, nothing else."""

import json
import socket

import pytest

from helpers import APPLIED, applied_config, http, wait_for
from playbook import changed_nothing, recap, run_site
from topology import address, connects, host_of, outside, redis_clients, remote_frontends, topology_of

pytestmark = pytest.mark.any_config

PROBE_PORT = 8999


def reachable(node, host, port: int) -> bool:
    """One HTTP request from the controller to the project's own test host.
    An answer, not a connect: QEMU's user network accepts a forwarded
    connection before the guest's firewall has a say."""
    try:
        with socket.create_connection(outside(node, host, port), timeout=3) as conn:
            conn.settimeout(3)
            conn.sendall(b"HEAD / HTTP/1.0\r\n\r\n")
            return conn.recv(5) == b"HTTP/"
    except OSError:
        return False


def test_the_input_policy_is_drop(host):
    ruleset = json.loads(host.check_output("nft -j list chain inet appliance input"))
    chain = next(item["chain"] for item in ruleset["nftables"] if "chain" in item)
    assert chain["policy"] == "drop"
    assert host.service("nftables").is_enabled


def test_a_port_not_opened_is_unreachable(host, node):
    host.run("systemctl stop appliance-probe 2>/dev/null; systemctl reset-failed appliance-probe 2>/dev/null")
    host.check_output(
        f"systemd-run --unit appliance-probe -p RuntimeMaxSec=60 "
        f"python3 -m http.server {PROBE_PORT} --bind 0.0.0.0"
    )
    try:
        assert wait_for(lambda: host.socket(f"tcp://0.0.0.0:{PROBE_PORT}").is_listening, timeout=10)
        assert http(host, f"http://127.0.0.1:{PROBE_PORT}/")[0] == 200
        assert not reachable(node, host, PROBE_PORT)
    finally:
        host.run("systemctl stop appliance-probe")


@pytest.mark.group("frontends")
def test_http_is_open_on_front_ends(host, node):
    assert reachable(node, host, 80)


@pytest.mark.group("session_stores")
def test_redis_answers_only_the_web_nodes_that_use_it(host, node, nodes):
    """And under Sentinel, the other stores; its Sentinel the same hosts."""
    clients = redis_clients(node, nodes)
    ports = [6379, 26379] if topology_of(node, nodes)["sentinel"] else [6379]
    ip = address(host)
    for other in nodes:
        if other != node:
            for port in ports:
                assert connects(host_of(other), ip, port) == (other in clients), (other.name, port)


@pytest.mark.group("omero_web_nodes")
def test_gunicorn_answers_only_the_front_ends_on_other_hosts(host, node, nodes):
    frontends = remote_frontends(nodes)
    port = int(applied_config(host).get("omero.web.application_server.port", "4080"))
    ip = address(host)
    for other in nodes:
        if other != node:
            assert connects(host_of(other), ip, port) == (other in frontends), other.name


def test_the_firewall_play_alone_keeps_every_port_a_full_run_opened(request, nodes):
    """Each service keeps its declaration on the host, so playbooks/firewall.yml
    alone (no other role ran, no facts gathered) loads the same ruleset. The
    firewall's record goes first, so the role takes every step."""
    hosts = {n.name: host_of(n) for n in nodes}
    before = {name: h.check_output("nft list ruleset") for name, h in hosts.items()}
    for h in hosts.values():
        h.run_expect([0], f"rm -f {APPLIED}/firewall.json")
    result = run_site(request.config.getoption("inventory"), {}, playbook="playbooks/firewall.yml")
    assert result.returncode == 0, result.stdout[-3000:]
    assert changed_nothing(result), recap(result)
    for name, h in hosts.items():
        assert h.check_output("nft list ruleset") == before[name], name
        declared = h.check_output("ls /etc/omero-web-appliance/firewall.d").split()
        assert declared, name
        assert h.file(f"{APPLIED}/firewall.json").exists, name
