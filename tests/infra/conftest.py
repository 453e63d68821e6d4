"""Shared testinfra tests for every scenario and the demo.

Hosts, their groups and their variables come from an Ansible inventory
(--inventory; Molecule passes its own). A test marked ``@pytest.mark.group(NAME)``
runs on each host of that group, so one set of tests serves every topology.

Verify runs them in two passes (tests/verify.yml): first, in parallel
processes, every test that works on one host (its ``node`` or ``target``),
the tests of each host in one process and in order; then, one at a time, the
tests that reach beyond one host (``alone``) and the restarts.
"""

from __future__ import annotations

import os

import pytest

from helpers import ROOT, web_setting
from topology import Node, host_of, nginx_url, read_inventory


def pytest_addoption(parser):
    parser.addoption(
        "--inventory",
        default=os.environ.get("MOLECULE_INVENTORY_FILE", str(ROOT / "inventory/demo/hosts.yml")),
        help="Ansible inventory of the hosts under test",
    )


def pytest_configure(config):
    config.addinivalue_line("markers", "group(name): run on every host of this inventory group")
    config.addinivalue_line("markers", "reboot: restarts hosts, so it runs after the other tests")
    config.addinivalue_line(
        "markers",
        "leaves_a_change: leaves the hosts with a change the inventory does not ask, so it runs"
        " after the other tests but the restarts (a later run would put it back, at a rollout's cost)",
    )
    config.addinivalue_line(
        "markers", "once(index=0): run on one host of the group alone, the first or the one at index"
    )
    config.addinivalue_line(
        "markers", "alone: changes or runs a playbook beyond its own host, so no other test runs meanwhile"
    )
    # Which scenarios run a test: each names a marker expression in
    # APPLIANCE_TESTS (molecule/*/molecule.yml); tests/verify.yml adds
    # "not any_config" after a side effect.
    config.addinivalue_line(
        "markers", "any_topology: does not depend on the topology, so the all-in-one scenario alone runs it"
    )
    config.addinivalue_line("markers", "cluster: needs a load balancer and several nodes")
    config.addinivalue_line(
        "markers", "failover: fails a host under load and records the figures (bench/failover.py runs these)"
    )
    config.addinivalue_line(
        "markers", "any_config: does not depend on the config a side effect changes: runs before it only"
    )


def pytest_generate_tests(metafunc):
    if "node" not in metafunc.fixturenames:
        return
    nodes = read_inventory(metafunc.config.getoption("inventory"))
    marker = metafunc.definition.get_closest_marker("group")
    if marker:
        nodes = [n for n in nodes if marker.args[0] in n.groups]
    once = metafunc.definition.get_closest_marker("once")
    if once and nodes:
        index = (once.args[0] if once.args else 0) % len(nodes)
        nodes = nodes[index : index + 1]
    metafunc.parametrize("node", nodes, ids=[n.name for n in nodes])


def host_under_test(item) -> str | None:
    """The one host a test works on, if it works on one alone."""
    params = getattr(item, "callspec", None)
    params = params.params if params else {}
    for name in ("node", "target"):
        if isinstance(params.get(name), Node):
            return params[name].name
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """Restarts last, after what leaves a change; a test of one host goes to
    that host's process (xdist's loadgroup), any other runs alone. Before
    ``-m`` selects."""
    items.sort(
        key=lambda item: (
            item.get_closest_marker("reboot") is not None,
            item.get_closest_marker("leaves_a_change") is not None,
        )
    )
    for item in items:
        host = host_under_test(item)
        if host is None or item.get_closest_marker("reboot") or item.get_closest_marker("alone"):
            item.add_marker(pytest.mark.alone)
        else:
            item.add_marker(pytest.mark.xdist_group(host))


@pytest.fixture
def host(node):
    return host_of(node)


@pytest.fixture
def nodes(request) -> list[Node]:
    """Every host of the inventory, with its groups and variables."""
    return read_inventory(request.config.getoption("inventory"))


@pytest.fixture
def nginx(node) -> str:
    return nginx_url(node)


@pytest.fixture
def prefix(web_hosts) -> str:
    """OMERO.web's prefix as the role applied it ('' for none)."""
    return web_setting(web_hosts[0], "omero.web.prefix", "")


@pytest.fixture
def web_hosts(request):
    """The OMERO.web nodes of the inventory, whichever host a test runs on;
    the test's own host first where it is one, so a test of one host that
    reads a setting reads no other (another process may be changing it)."""
    nodes = [
        n for n in read_inventory(request.config.getoption("inventory")) if "omero_web_nodes" in n.groups
    ]
    node = request.getfixturevalue("node") if "node" in request.fixturenames else None
    nodes.sort(key=lambda n: n != node)
    return [host_of(n) for n in nodes]
