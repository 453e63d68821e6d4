"""Session stores: Redis on loopback, with persistence."""

import pytest

pytestmark = pytest.mark.group("session_stores")


def test_redis_listens_on_loopback_only(host):
    listening = host.check_output("ss -Hltn 'sport = :6379'").splitlines()
    addresses = {line.split()[3].rsplit(":", 1)[0] for line in listening}
    assert addresses and addresses <= {"127.0.0.1", "[::1]"}


def test_redis_keeps_an_append_only_file(host):
    assert host.check_output("redis-cli config get appendonly").split() == ["appendonly", "yes"]
    assert host.service("redis-server").is_enabled
