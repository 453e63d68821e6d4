"""The health check that front ends and monitoring use: /health/ answers 200
only while gunicorn and the session store work."""

import json
import time

import pytest

from helpers import applied_config, http, load_session, save_session, session_engine, wait_for, web_setting
from topology import host_of, session_stores_of


@pytest.mark.group("frontends")
def test_health_answers_through_the_front_end_without_a_session(host, nginx, web_hosts):
    prefix = web_setting(web_hosts[0], "omero.web.prefix", "")
    status, headers, body = http(host, f"{nginx}{prefix}/health/")
    assert status == 200, body
    assert json.loads(body) == {"status": "ok", "session_store": "ok", "disk": "ok"}
    assert "Set-Cookie" not in headers
    assert "no-store" in headers


def node_health(host) -> int:
    config = applied_config(host)
    address = config.get("omero.web.application_server.host", "127.0.0.1")
    port = config.get("omero.web.application_server.port", "4080")
    return http(host, f"http://{address}:{port}{config.get('omero.web.prefix', '')}/health/")[0]


@pytest.mark.group("omero_web_nodes")
@pytest.mark.alone
def test_health_fails_while_the_session_store_is_down(host, node, nodes):
    if not session_engine(host).endswith(".cache"):
        # File and database stores live on the node itself: it must answer.
        assert node_health(host) == 200
        return
    key = save_session(host)
    # Every store it depends on (under Sentinel, all of them: one alone fails over).
    stores = [host_of(store) for store in session_stores_of(node, nodes)]
    for store in stores:
        store.check_output("systemctl stop redis-server")
    try:
        stopped = time.monotonic()
        # Each request answers within the helper's 10 s timeout (0 would mean it hung).
        assert wait_for(lambda: node_health(host) == 503, timeout=5)
        took = time.monotonic() - stopped
        assert node_health(host) == 503
    finally:
        for store in stores:
            store.check_output("systemctl start redis-server")
    assert wait_for(lambda: node_health(host) == 200, timeout=30)
    # A session created before the outage is valid again.
    assert load_session(host, key) == "kept"
    print(f"503 {took:.1f} s after Redis stopped")
