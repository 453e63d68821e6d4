"""The firewall role's filters (plugins/filter/firewall.py)."""

import importlib.util
from pathlib import Path

import pytest

PLUGIN = Path(__file__).resolve().parents[2] / "plugins/filter/firewall.py"
spec = importlib.util.spec_from_file_location("firewall_filters", PLUGIN)
filters = importlib.util.module_from_spec(spec)
spec.loader.exec_module(filters)


@pytest.mark.parametrize(
    ("address", "sources"),
    [
        ("192.0.2.10", []),
        ("192.0.2.10", ["192.0.2.10"]),
        ("192.0.2.10", ["198.51.100.0/24", "192.0.2.0/24"]),
        ("2001:db8::5", ["2001:db8::/32"]),
    ],
)
def test_sources_that_let_the_controller_in(address, sources):
    assert filters.firewall_admits(address, sources)


@pytest.mark.parametrize(
    ("address", "sources"),
    [
        ("192.0.2.10", ["192.0.2.11"]),
        ("192.0.2.10", ["198.51.100.0/24"]),
        ("192.0.2.10", ["not-an-address"]),
        ("2001:db8::5", ["192.0.2.0/24"]),
        ("not-an-address", ["192.0.2.0/24"]),
    ],
)
def test_sources_that_would_shut_the_controller_out(address, sources):
    assert not filters.firewall_admits(address, sources)


@pytest.mark.parametrize(
    ("address", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.1.1", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("", False),
        ("0.0.0.0", False),
        ("::", False),
        ("10.89.78.11", False),
        ("omero.example.org", False),
    ],
)
def test_a_service_on_loopback_needs_no_port(address, loopback):
    assert filters.firewall_loopback(address) is loopback


NGINX = [{"service": "nginx", "port": 80}]
VRRP = [{"service": "vrrp", "proto": "vrrp", "sources": ["192.0.2.16"]}]
REDIS = [{"service": "redis", "port": 6379, "sources": ["192.0.2.11"]}]


@pytest.mark.parametrize(
    ("kept", "declared"),
    [
        ({}, {"nginx": NGINX, "keepalived": VRRP}),
        ({"keepalived": VRRP, "nginx": NGINX}, {"nginx": NGINX, "keepalived": VRRP}),
        ({"keepalived": VRRP, "nginx": NGINX}, {"nginx": NGINX}),
        ({"keepalived": VRRP, "nginx": NGINX}, {}),
        ({"nginx": NGINX}, {"keepalived": VRRP}),
    ],
    ids=["first run", "every role declared", "one role declared", "play alone", "kept and new"],
)
def test_the_ruleset_is_the_same_whichever_service_declared_first(kept, declared):
    # A first converge, a second one and the firewall play alone write one
    # file: the order does not follow the order of the declarations.
    assert filters.firewall_rules(kept, declared, ["nginx", "keepalived"]) == VRRP + NGINX


def test_this_runs_declaration_wins_and_services_not_here_are_left_out():
    extra = [{"service": "extra", "port": 8443}]
    kept = {"nginx": [{"service": "nginx", "port": 8080}], "redis": REDIS}
    assert filters.firewall_rules(kept, {"nginx": NGINX}, ["nginx"], extra) == NGINX + extra
    assert filters.firewall_rules(kept, {"nginx": []}, ["nginx", "redis"]) == REDIS
