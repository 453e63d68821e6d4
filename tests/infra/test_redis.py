"""Session stores: Redis with persistence, on loopback unless OMERO.web nodes
on other hosts use it; then on this host's address too, with a password."""

import pytest

from helpers import REDIS_AUTH, exposure
from topology import address, redis_clients

pytestmark = pytest.mark.group("session_stores")


def test_redis_listens_on_loopback_unless_other_hosts_use_it(host, node, nodes):
    listening = host.check_output("ss -Hltn 'sport = :6379'").splitlines()
    addresses = {line.split()[3].rsplit(":", 1)[0] for line in listening}
    loopback = {"127.0.0.1", "[::1]"}
    if redis_clients(node, nodes):
        assert addresses - loopback == {address(host)}
    else:
        assert addresses and addresses <= loopback


def test_redis_wants_a_password_when_other_hosts_use_it(host, node, nodes):
    anonymous = host.run("redis-cli -h 127.0.0.1 ping").stdout.strip()
    if redis_clients(node, nodes):
        assert anonymous.startswith("NOAUTH")
        assert host.run(f"{REDIS_AUTH} redis-cli -h 127.0.0.1 ping").stdout.strip() == "PONG"
    else:
        assert anonymous == "PONG"


def test_redis_keeps_an_append_only_file(host):
    assert host.check_output(f"{REDIS_AUTH} redis-cli config get appendonly").split() == ["appendonly", "yes"]
    assert host.service("redis-server").is_enabled


def test_redis_runs_in_a_systemd_sandbox(host):
    """Debian's own unit: the appliance keeps it at 1.5 or less."""
    assert exposure(host, "redis-server") <= 1.5
