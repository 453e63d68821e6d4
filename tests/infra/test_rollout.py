"""Rolling changes on a cluster (the cluster scenario): one that fails on a
node stops there (the node is rolled back, the nodes after it keep the old
config), one that is good goes through every node, one at a time; every
load balancer serves throughout (a node is drained from each)."""

from contextlib import ExitStack

import pytest

from helpers import (
    PROPERTIES,
    Load,
    applied_config,
    crashing_change,
    live_state,
    login_page,
)
from playbook import changed_nothing, recap, run_site
from topology import host_of, in_group, nginx_url, remote_frontends

pytestmark = pytest.mark.cluster


@pytest.fixture
def cluster(nodes):
    web, balancers = in_group(nodes, "omero_web_nodes"), remote_frontends(nodes)
    assert len(web) > 1 and balancers, "this test needs a load balancer and several nodes"
    return web, balancers


class Loads(ExitStack):
    """A load at each balancer at once; ``results`` by balancer's name."""

    def __init__(self, balancers):
        super().__init__()
        self.balancers = balancers
        self.loads = {}

    def __enter__(self):
        super().__enter__()
        for balancer in self.balancers:
            load = Load(host_of(balancer), f"{nginx_url(balancer)}/webclient/login/")
            self.loads[balancer.name] = self.enter_context(load)
        return self

    @property
    def results(self) -> dict:
        return {name: load.result for name, load in self.loads.items()}


def served_throughout(results: dict) -> bool:
    """Each balancer answered, with neither an error nor the maintenance page."""
    return all(r["ok"] > 0 and r["error"] == 0 and r["maintenance"] == 0 for r in results.values())


def test_a_node_that_does_not_come_up_stops_the_rollout(request, cluster):
    web, balancers = cluster
    before = {n.name: live_state(host_of(n)) for n in web}
    with Loads(balancers) as loads:
        result = run_site(
            request.config.getoption("inventory"),
            crashing_change(web[0]),
        )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert f"OMERO.web on {web[0].name} did not answer" in output, output
    assert "The last good state is back and OMERO.web serves it." in output
    # The first node is back on its last good state; the others were never touched.
    for n in web:
        assert live_state(host_of(n)) == before[n.name], n.name
    assert "json.JSONDecoder" not in host_of(web[1]).file(PROPERTIES).content_string
    # Every balancer sent visitors to the other node meanwhile.
    assert served_throughout(loads.results), loads.results
    for balancer in balancers:
        assert login_page(host_of(balancer), nginx_url(balancer), "")[0] == 200, balancer.name
    print(f"rollout stopped at {web[0].name}; load at the balancers: {loads.results}")

    again = run_site(request.config.getoption("inventory"), {})
    assert again.returncode == 0 and changed_nothing(again), recap(again)


@pytest.mark.leaves_a_change
def test_a_good_change_rolls_through_every_node_one_at_a_time(request, cluster):
    """After the failed one above and every other test but the restarts:
    leaves the cluster with the change."""
    web, balancers = cluster
    before = {n.name: live_state(host_of(n)) for n in web}
    change = {"omero_web_session_expire_at_browser_close": False}
    with Loads(balancers) as loads:
        result = run_site(request.config.getoption("inventory"), change)
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
    for n in web:
        host = host_of(n)
        assert live_state(host) != before[n.name], n.name
        assert applied_config(host)["omero.web.session_expire_at_browser_close"] == "false"
    # Each node was out of every balancer while it restarted, and never both:
    # visitors saw neither an error nor the maintenance page.
    assert served_throughout(loads.results), loads.results
    print(f"rolled through {len(web)} nodes; load at the balancers: {loads.results}")
