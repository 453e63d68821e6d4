"""The keepalived role's filters (plugins/filter/keepalived.py): the
interface that holds a front end's address, and whether the virtual address
is on its network."""

import importlib.util
from pathlib import Path

import pytest

PLUGIN = Path(__file__).resolve().parents[2] / "plugins/filter/keepalived.py"
spec = importlib.util.spec_from_file_location("keepalived_filters", PLUGIN)
filters = importlib.util.module_from_spec(spec)
spec.loader.exec_module(filters)

# Facts as Ansible gathers them: eth0 with the virtual address already on it
# (a secondary), and a bridge of another network.
FACTS = {
    "interfaces": ["lo", "eth0", "br-a1"],
    "lo": {"device": "lo", "ipv4": {"address": "127.0.0.1", "netmask": "255.0.0.0"}},
    "eth0": {
        "device": "eth0",
        "ipv4": {"address": "10.89.77.10", "netmask": "255.255.255.0"},
        "ipv4_secondaries": [{"address": "10.89.77.20", "netmask": "255.255.255.0"}],
    },
    "br_a1": {"device": "br-a1", "ipv4": {"address": "172.16.5.1", "netmask": "255.255.0.0"}},
}


def test_the_interface_that_holds_the_address_and_its_network():
    assert filters.keepalived_link(FACTS, "10.89.77.10") == {
        "interface": "eth0",
        "network": "10.89.77.0/24",
        "prefix": 24,
    }
    assert filters.keepalived_link(FACTS, "172.16.5.1")["interface"] == "br-a1"


def test_no_interface_holds_an_address_of_another_host():
    assert filters.keepalived_link(FACTS, "10.89.77.11") == {}
    assert filters.keepalived_link({}, "10.89.77.10") == {}


@pytest.mark.parametrize(
    ("address", "inside"),
    [
        ("10.89.77.20", True),
        ("10.89.78.20", False),
        # The network's own address and its broadcast are no host's.
        ("10.89.77.0", False),
        ("10.89.77.255", False),
        ("not an address", False),
    ],
)
def test_an_address_on_the_network(address, inside):
    assert filters.keepalived_in_network(address, "10.89.77.0/24") is inside
