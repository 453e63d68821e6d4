"""Session stores under Redis Sentinel (the cluster scenario's three): one
primary and replicas that every Sentinel agrees on; when the primary fails,
the Sentinels elect another, OMERO.web follows it without a restart and no
session is lost; the failed store comes back as a replica by itself, and
site.yml then changes nothing on the stores."""

import re
import time

import pytest

from helpers import (
    REDIS_AUTH,
    Load,
    link_up,
    load_session,
    record,
    redis_role,
    save_session,
    wait_for,
    web_setting,
)
from playbook import changes_nothing_on
from topology import address, host_of, in_group, nginx_url, remote_frontends, topology_of

pytestmark = pytest.mark.cluster

MASTER = "omero-web"


def primary_named_by(host) -> str:
    ask = f"SENTINEL GET-MASTER-ADDR-BY-NAME {MASTER}"
    found = host.run(f"{REDIS_AUTH} timeout 5 redis-cli -p 26379 --raw {ask}")
    return found.stdout.split("\n", 1)[0] if found.rc == 0 else ""


def release(host) -> tuple[int, ...]:
    """The Redis release a store runs, as (major, minor)."""
    found = re.search(r"v=(\d+)\.(\d+)", host.check_output("redis-server --version"))
    return tuple(int(part) for part in found.groups())


@pytest.fixture
def stores(nodes):
    found = in_group(nodes, "session_stores")
    assert len(found) >= 3 and topology_of(found[0], nodes)["sentinel"], (
        "this test needs three session stores"
    )
    return [(store, host_of(store)) for store in found]


def test_the_stores_replicate_one_primary_that_every_sentinel_names(stores):
    primary = primary_named_by(stores[0][1])
    assert primary in [address(host) for _, host in stores]
    for store, host in stores:
        assert primary_named_by(host) == primary, store.name
        if address(host) == primary:
            assert redis_role(host) == "master", store.name
        else:
            assert redis_role(host) == "slave" and link_up(host), store.name
        # Neither Redis nor its Sentinel answers without the password.
        for port in (6379, 26379):
            assert "NOAUTH" in host.run(f"timeout 5 redis-cli -p {port} PING").stdout, (store.name, port)


@pytest.mark.failover
def test_a_failed_primary_is_replaced_and_omero_web_follows_it(request, nodes, stores):
    web = in_group(nodes, "omero_web_nodes")
    balancer = remote_frontends(nodes)[0]
    lb = host_of(balancer)
    first, second = host_of(web[0]), host_of(web[-1])
    key = save_session(first)
    pids = {
        n.name: host_of(n).check_output("systemctl show --property MainPID --value omero-web") for n in web
    }
    primary = primary_named_by(stores[0][1])
    (old_store, old), *_ = [(s, h) for s, h in stores if address(h) == primary]
    others = [h for _, h in stores if h is not old]
    time.sleep(1)  # The session is more than a second old when the primary fails.

    # /health/ saves, loads and deletes a session through the balancer.
    prefix = web_setting(first, "omero.web.prefix", "")
    with Load(lb, f"{nginx_url(balancer)}{prefix}/health/") as load:
        time.sleep(3)
        old.check_output("systemctl stop redis-server")
        stopped = time.monotonic()
        try:
            assert wait_for(
                lambda: primary_named_by(others[0]) not in ("", primary), timeout=60, interval=0.5
            )
            elected = time.monotonic() - stopped
            assert wait_for(lambda: load_session(second, key) == "kept", timeout=30, interval=0.5)
            followed = time.monotonic() - stopped
            time.sleep(5)
        finally:
            old.check_output("systemctl start redis-server")
    new = primary_named_by(others[0])
    assert all(primary_named_by(h) == new for h in others)
    # No session lost, no OMERO.web restarted, requests failed only meanwhile.
    kept = [load_session(host, key) == "kept" for host in (first, second)]
    assert all(kept), kept
    assert {
        n.name: host_of(n).check_output("systemctl show --property MainPID --value omero-web") for n in web
    } == pids
    assert load.result["ok"] > 0 and load.result["not_ok_window"] <= 20, load.result

    # The old primary comes back as a replica of the new one, by itself.
    came_back = time.monotonic()
    back = wait_for(lambda: redis_role(old) == "slave" and link_up(old), timeout=60, interval=1)
    assert back, redis_role(old)
    rejoined = time.monotonic() - came_back
    assert primary_named_by(old) == new
    # Every store but the new primary replicates it: the Sentinels elected
    # the oldest Redis release left, which the others' releases can read.
    elected_host = next(h for _, h in stores if address(h) == new)
    assert release(elected_host) == min(release(h) for h in others)
    for store, host in stores:
        if host is not elected_host:
            assert redis_role(host) == "slave" and link_up(host), store.name
    print(
        f"primary {old_store.name} stopped: another elected after {elected:.1f} s, OMERO.web read the session"
        f" through it after {followed:.1f} s; load through the balancer: {load.result};"
        f" back as a replica {rejoined:.1f} s after its restart"
    )
    record(
        "session store",
        elected=round(elected, 1),
        followed=round(followed, 1),
        rejoined=round(rejoined, 1),
        session_kept=all(kept),
        load=load.result,
    )
    # site.yml on the stores then changes nothing.
    quiet, said = changes_nothing_on(request.config.getoption("inventory"), [s.name for s, _ in stores])
    assert quiet, said
