"""The front ends' virtual address (the cluster scenario's two balancers):
one holds it at a time, VRRP passes between them alone; when its holder
fails, another takes the address within seconds and requests through it go
on; the failed one comes back as a backup by itself, and site.yml then
changes nothing on the front ends. A virtual address off the front ends'
network is refused before anything changes."""

import re
import subprocess
import time

import pytest

from helpers import Load, http, login_page, record, wait_for, web_setting
from playbook import changed_nothing, recap, run_site, steps_taken
from topology import address, host_of, in_group, remote_frontends, virtual_address

pytestmark = pytest.mark.cluster


def holds(host) -> bool:
    return f" {virtual_address()}/" in host.run("ip -4 -o addr show").stdout


@pytest.fixture
def balancers(nodes):
    found = remote_frontends(nodes)
    assert virtual_address() and len(found) >= 2, "this test needs two balancers and a virtual address"
    return [(n, host_of(n)) for n in found]


@pytest.fixture
def client(nodes):
    """A host of the network that is no front end: it reaches the site
    through the virtual address, as visitors do."""
    return host_of(in_group(nodes, "session_stores")[-1])


def site_url(nodes) -> str:
    web = host_of(in_group(nodes, "omero_web_nodes")[0])
    return f"https://{virtual_address()}{web_setting(web, 'omero.web.prefix', '')}"


def test_one_balancer_holds_the_address_and_the_site_answers_on_it(balancers, client, nodes):
    # One holds it, whichever came up first (no preemption).
    assert sum(holds(host) for _, host in balancers) == 1
    status, _, body = login_page(client, site_url(nodes), "")
    assert status == 200 and "OMERO.web - Login" in body
    for node, host in balancers:
        assert host.service("keepalived").is_running and host.service("keepalived").is_enabled
        # VRRP is open to the other balancers alone.
        # (nft names protocol 112 vrrp where the host has /etc/protocols.)
        peers = sorted(address(h) for n, h in balancers if n != node)
        ruleset = host.check_output("nft list chain inet appliance input")
        rules = re.findall(r"ip saddr \{? ?([0-9., ]+?) ?\}? ip protocol (?:vrrp|112) accept", ruleset)
        assert [sorted(rule.split(", ")) for rule in rules] == [peers], ruleset
        # The config holds VRRP's password: root's alone.
        conf = host.file("/etc/keepalived/keepalived.conf")
        assert conf.user == "root" and conf.mode == 0o600 and "auth_type PASS" in conf.content_string


@pytest.mark.failover
def test_when_its_balancer_fails_the_address_moves_and_the_site_goes_on(request, balancers, client, nodes):
    (failed, old), *_ = [(n, h) for n, h in balancers if holds(h)]
    others = [h for n, h in balancers if n != failed]
    with Load(client, f"{site_url(nodes)}/webclient/login/") as load:
        time.sleep(3)
        # The host goes away at once, as a crashed one does.
        subprocess.run(["podman", "kill", failed.container], check=True, capture_output=True, timeout=60)
        stopped = time.monotonic()
        try:
            assert wait_for(lambda: any(holds(h) for h in others), timeout=30, interval=0.2)
            moved = time.monotonic() - stopped
            url = site_url(nodes)
            assert wait_for(lambda: login_page(client, url, "")[0] == 200, timeout=30, interval=0.5)
            answered = time.monotonic() - stopped
            time.sleep(5)
        finally:
            start = ["podman", "start", failed.container]
            subprocess.run(start, check=True, capture_output=True, timeout=120)
    # Requests failed only while the address moved.
    assert load.result["ok"] > 0 and load.result["not_ok_window"] <= 20, load.result
    print(f"balancer {failed.name} killed: the address moved after {moved:.1f} s,", end=" ")
    print(f"the site answered on it after {answered:.1f} s; load through the address: {load.result}")
    record("front end", moved=round(moved, 1), answered=round(answered, 1), load=load.result)

    # Back, it stays a backup: the address stays where it went.
    assert wait_for(lambda: old.run("systemctl is-system-running").stdout.strip() == "running", timeout=300)
    assert wait_for(lambda: old.service("keepalived").is_running, timeout=60)
    assert wait_for(lambda: http(old, "http://127.0.0.1/")[0] == 301, timeout=120, interval=1)
    time.sleep(5)  # more than three advertisements: it would have taken the address by now
    assert not holds(old) and sum(holds(h) for h in others) == 1
    # site.yml then changes nothing (the front ends read the web nodes'
    # endpoints, which read the session stores'), and no role even takes its
    # steps: not after the restart, nor after a renewal by certbot's timer
    # (tests/infra/test_tls.py renews before).
    again = run_site(request.config.getoption("inventory"), {})
    assert again.returncode == 0 and changed_nothing(again), recap(again)
    assert not steps_taken(again), steps_taken(again)


def test_a_virtual_address_off_the_balancers_network_is_refused(request, balancers):
    before = [host.check_output("md5sum /etc/keepalived/keepalived.conf") for _, host in balancers]
    limit = ",".join(n.name for n, _ in balancers)
    result = run_site(
        request.config.getoption("inventory"),
        {"omero_web_appliance_virtual_address": "192.0.2.20"},
        "--limit",
        limit,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    said = "omero_web_appliance_virtual_address = 192.0.2.20: expected a free address on the network"
    assert said in output
    assert changed_nothing(result), recap(result)
    assert [host.check_output("md5sum /etc/keepalived/keepalived.conf") for _, host in balancers] == before
