"""The hosts under test: the inventory's hosts with their groups and
variables, how the controller reaches each, and what the topology makes of
them (a node's session store, the front ends that reach it, the URLs)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path

import testinfra
from testinfra.backend.base import CommandResult
from testinfra.backend.podman import PodmanBackend

from helpers import ROOT

# The roles' own model, the one place its rules are written.
_model = ROOT / "plugins/module_utils/topology.py"
_spec = importlib.util.spec_from_file_location("appliance_topology", _model)
MODEL = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(MODEL)

# How the controller runs commands in a container: the connection plugin's
# way (connection_plugins/podman_pipelined.py), for Ansible and the tests alike.
_connection = ROOT / "connection_plugins/podman_pipelined.py"
_spec = importlib.util.spec_from_file_location("appliance_podman_connection", _connection)
CONNECTION = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(CONNECTION)


class EnteredContainer(PodmanBackend):
    """Testinfra's Podman backend, each command run in the container's
    namespaces (nsenter) rather than by `podman exec`, as root."""

    NAME = "podman_entered"

    def run(self, command: str, *args: str, **kwargs) -> CommandResult:
        if not CONNECTION.entering(self.user):
            return super().run(command, *args, **kwargs)
        cmd = self.get_command(command, *args)
        run = CONNECTION.run_entered(self.name, ["/bin/sh", "-c", cmd])
        if run is None:
            return self.result(125, self.encode(cmd), b"", f"container {self.name} is not running".encode())
        return self.result(run.returncode, self.encode(cmd), run.stdout, run.stderr)


@cache
def container_host(name: str) -> testinfra.host.Host:
    backend = EnteredContainer(name)
    host = testinfra.host.Host(backend)
    backend.set_host(host)
    return host


@dataclass
class Node:
    name: str
    groups: set[str]
    vars: dict = field(default_factory=dict)

    @property
    def container(self) -> str:
        return self.vars.get("ansible_host", self.name)


@lru_cache
def read_inventory(path: str) -> list[Node]:
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
    # A site's own group names (omero_web_appliance_groups): each host is in
    # the appliance's groups too, as the roles read them.
    for node in nodes.values():
        names = MODEL.group_names(node.vars.get("omero_web_appliance_groups"))
        node.groups.update(group for group, name in names.items() if name in node.groups)
    return list(nodes.values())


def in_group(nodes: list[Node], group: str) -> list[Node]:
    return [n for n in nodes if group in n.groups]


def limit_to_one_apache(node: Node, nodes: list[Node]) -> str:
    """A --limit of this host and every host that is not an Apache front
    end: a run that changes one front end leaves the others out, and proves a
    --limit that leaves out a host the roles read."""
    return ",".join(n.name for n in nodes if n == node or "apache_frontends" not in n.groups)


def topology_of(node: Node | None, nodes: list[Node]) -> dict:
    """What the roles make of a host (their model, plugins/module_utils/topology.py)."""
    groups: dict[str, list[str]] = {}
    for n in nodes:
        for group in n.groups:
            groups.setdefault(group, []).append(n.name)
    return MODEL.topology(groups, node.name if node else "", virtual=virtual_address())


def virtual_address() -> str:
    """The front ends' virtual address in this scenario ('' for none): what
    tests/group_vars/all.yml gives omero_web_appliance_virtual_address."""
    return os.environ.get("APPLIANCE_VIRTUAL_ADDRESS", "")


def named(names: list[str], nodes: list[Node]) -> list[Node]:
    return [n for name in names for n in nodes if n.name == name]


def session_store_of(node: Node, nodes: list[Node]) -> Node | None:
    """The session store an OMERO.web node uses: itself if it is one, else the first."""
    store = named([topology_of(node, nodes)["session_store"]], nodes)
    return store[0] if store else None


def remote_frontends(nodes: list[Node]) -> list[Node]:
    """Front ends that are no OMERO.web node: the only hosts that reach gunicorn."""
    return named(topology_of(None, nodes)["remote_frontends"], nodes)


def redis_clients(node: Node, nodes: list[Node]) -> list[Node]:
    """Hosts that reach this session store: the web nodes on other hosts that
    use it (the first one), and under Sentinel the other stores too."""
    seen = topology_of(node, nodes)
    return named(seen["store_clients"] + seen["store_peers"], nodes)


def session_stores_of(node: Node, nodes: list[Node]) -> list[Node]:
    """Every store an OMERO.web node's sessions depend on: its one store, or
    under Sentinel all of them."""
    return named(topology_of(node, nodes)["session_stores_of_node"], nodes)


def is_container(node: Node) -> bool:
    return node.vars.get("ansible_connection", "ssh").startswith(("podman", "containers.podman"))


def host_of(node: Node):
    """Testinfra's host for a node: a container entered as the connection
    plugin does, else SSH with the inventory's address, port, user and key
    (the VM scenario)."""
    if is_container(node):
        return container_host(node.container)
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


def visitor_url(node: Node, host) -> str:
    """A front end as visitors on the controller reach it: HTTPS, from Apache
    or Nginx."""
    ip, port = outside(node, host, 443)
    return f"https://{ip}" + ("" if port == 443 else f":{port}")
