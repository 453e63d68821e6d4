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

import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pytest
import testinfra

from helpers import web_setting

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Node:
    name: str
    groups: set[str]
    vars: dict = field(default_factory=dict)

    @property
    def container(self) -> str:
        return self.vars.get("ansible_host", self.name)


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
        "markers", "any_config: does not depend on the config a side effect changes: runs before it only"
    )


@lru_cache
def _inventory(path: str) -> list[Node]:
    listing = json.loads(
        subprocess.run(
            [str(Path(sys.executable).with_name("ansible-inventory")), "-i", path, "--list"],
            check=True,
            capture_output=True,
            text=True,
            cwd=ROOT,
        ).stdout
    )
    hostvars = listing.get("_meta", {}).get("hostvars", {})
    nodes: dict[str, Node] = {}

    def walk(group: str, parents: tuple[str, ...]) -> None:
        entry = listing.get(group, {})
        for name in entry.get("hosts", []):
            node = nodes.setdefault(name, Node(name, set(), hostvars.get(name, {})))
            node.groups.update(parents + (group,))
        for child in entry.get("children", []):
            walk(child, parents + (group,))

    walk("all", ())
    return list(nodes.values())


def pytest_generate_tests(metafunc):
    if "node" not in metafunc.fixturenames:
        return
    nodes = _inventory(metafunc.config.getoption("inventory"))
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
    """Restarts last; a test of one host goes to that host's process
    (xdist's loadgroup), any other runs alone. Before ``-m`` selects."""
    items.sort(key=lambda item: item.get_closest_marker("reboot") is not None)
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
    return _inventory(request.config.getoption("inventory"))


def in_group(nodes: list[Node], group: str) -> list[Node]:
    return [n for n in nodes if group in n.groups]


def limit_to_one_apache(node: Node, nodes: list[Node]) -> str:
    """A --limit of this host and every host that is not an Apache front
    end: a run that changes one front end leaves the others out, and proves a
    --limit that leaves out a host the roles read."""
    return ",".join(n.name for n in nodes if n == node or "apache_frontends" not in n.groups)


def session_store_of(node: Node, nodes: list[Node]) -> Node | None:
    """The session store an OMERO.web node uses: itself if it is one, else the first."""
    stores = in_group(nodes, "session_stores")
    return node if node in stores else (stores[0] if stores else None)


def remote_frontends(nodes: list[Node]) -> list[Node]:
    """Front ends that are no OMERO.web node: the only hosts that reach gunicorn."""
    return [n for n in in_group(nodes, "frontends") if "omero_web_nodes" not in n.groups]


def redis_clients(node: Node, nodes: list[Node]) -> list[Node]:
    """Web nodes on other hosts that use this session store (the first one)."""
    stores = in_group(nodes, "session_stores")
    if node != stores[0]:
        return []
    return [n for n in in_group(nodes, "omero_web_nodes") if n not in stores]


def is_container(node: Node) -> bool:
    return node.vars.get("ansible_connection", "ssh").startswith(("podman", "containers.podman"))


def host_of(node: Node):
    """Testinfra's host for a node: Podman's exec for containers, else SSH
    with the inventory's address, port, user and key (the VM scenario)."""
    if is_container(node):
        return testinfra.get_host(f"podman://{node.container}")
    user = node.vars.get("ansible_user", "root")
    return testinfra.get_host(
        f"ssh://{user}@{node.container}:{node.vars.get('ansible_port', 22)}",
        ssh_identity_file=node.vars.get("ansible_private_key_file"),
        ssh_extra_args="-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null",
        sudo=user != "root",
    )


def outside(node: Node, host, port: int) -> tuple[str, int]:
    """Where the controller reaches a host's port: its address, or for a VM on
    QEMU's user network the port forwarded on 127.0.0.1
    (appliance_forwarded_ports, set by the scenario)."""
    forwarded = {int(k): int(v) for k, v in node.vars.get("appliance_forwarded_ports", {}).items()}
    if forwarded:
        return "127.0.0.1", forwarded[port]
    return address(host), port


def connects(host, ip: str, port: int) -> bool:
    """One bounded TCP connect from a test host to another of the same run."""
    code = f"import socket; socket.create_connection(({ip!r}, {port}), timeout=3)"
    return host.run(f"timeout 10 python3 -c {code!r}").rc == 0


def address(host) -> str:
    return host.interface("eth0").addresses[0]


def nginx_port(node: Node) -> int:
    """Nginx's plain HTTP port on a front end: 8080 when Apache is in front
    of it there (roles/nginx/defaults), else 80."""
    return int(node.vars.get("nginx_http_port", 8080 if "apache_frontends" in node.groups else 80))


def nginx_https_port(node: Node) -> int:
    return int(node.vars.get("nginx_https_port", 443))


def nginx_url(node: Node) -> str:
    """Nginx on a front end, from the host itself: HTTPS where it faces the
    clients, plain HTTP on loopback behind Apache."""
    if "apache_frontends" in node.groups:
        return f"http://127.0.0.1:{nginx_port(node)}"
    return f"https://127.0.0.1:{nginx_https_port(node)}"


@pytest.fixture
def nginx(node) -> str:
    return nginx_url(node)


def visitor_url(node: Node, host) -> str:
    """A front end as visitors on the controller reach it: HTTPS, from Apache
    or Nginx."""
    ip, port = outside(node, host, 443)
    return f"https://{ip}" + ("" if port == 443 else f":{port}")


@pytest.fixture
def prefix(web_hosts) -> str:
    """OMERO.web's prefix as the role applied it ('' for none)."""
    return web_setting(web_hosts[0], "omero.web.prefix", "")


@pytest.fixture
def web_hosts(request):
    """The OMERO.web nodes of the inventory, whichever host a test runs on;
    the test's own host first where it is one, so a test of one host that
    reads a setting reads no other (another process may be changing it)."""
    nodes = [n for n in _inventory(request.config.getoption("inventory")) if "omero_web_nodes" in n.groups]
    node = request.getfixturevalue("node") if "node" in request.fixturenames else None
    nodes.sort(key=lambda n: n != node)
    return [host_of(n) for n in nodes]


def playbook_command(inventory: str, extra: dict, *options: str, playbook: str = "site.yml") -> list[str]:
    return [str(Path(sys.executable).with_name("ansible-playbook")), "-i", inventory, playbook] + [
        "-e",
        json.dumps(extra),
        *options,
    ]


def playbook_environment(**more: str) -> dict[str, str]:
    """The tests run this checkout's playbooks, roles and plugins, whatever
    paths the scenario converged with (the split one: the installed
    collection's)."""
    return {
        **os.environ,
        "ANSIBLE_ROLES_PATH": str(ROOT / "roles"),
        "ANSIBLE_COLLECTIONS_PATH": f"{ROOT / 'collections'}:{Path.home() / '.ansible/collections'}",
        **more,
    }


def run_site(
    inventory: str, extra: dict, *options: str, playbook: str = "site.yml", timeout: int = 600
) -> subprocess.CompletedProcess:
    """site.yml (or another playbook) against the hosts under test, with extra variables.
    Bounded, though a run of every step on four hosts takes 5 minutes while
    the other lane loads the machine."""
    return subprocess.run(
        playbook_command(inventory, extra, *options, playbook=playbook),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=playbook_environment(),
    )


def recap(result: subprocess.CompletedProcess) -> str:
    """The PLAY RECAP of a run."""
    output = result.stdout + result.stderr
    return output[output.rindex("PLAY RECAP") :]


def changed_nothing(result: subprocess.CompletedProcess) -> bool:
    """No host reports a change in the run's recap."""
    counts = re.findall(r"changed=(\d+)", recap(result))
    return bool(counts) and all(count == "0" for count in counts)


def wait_for(check, timeout: float = 60, interval: float = 1):
    """Call ``check`` until it returns a true value or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(interval)
