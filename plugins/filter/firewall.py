"""Filters of the firewall role."""

from __future__ import annotations

import ipaddress


def firewall_admits(address, sources):
    """Whether a ruleset that opens SSH to ``sources`` (addresses or
    networks; empty: everyone) lets ``address`` in."""
    if not sources:
        return True
    try:
        client = ipaddress.ip_address(str(address))
    except ValueError:
        return False
    for source in sources:
        try:
            if client in ipaddress.ip_network(str(source), strict=False):
                return True
        except ValueError:
            continue
    return False


def firewall_loopback(address):
    """Whether a service bound to ``address`` is reachable from this host
    alone (so it needs no port in the firewall): a loopback address or
    localhost."""
    text = str(address).strip("[]")
    if text == "localhost":
        return True
    try:
        return ipaddress.ip_address(text).is_loopback
    except ValueError:
        return False


def firewall_rules(kept, declared, services_here, extra=()):
    """The rules to load: what each service running here declared (this
    run's declaration over the one kept on the host), by service name, so
    the ruleset is the same whichever role declared first and whether or
    not it declared in this run; then the inventory's extra rules."""
    merged = {**(kept or {}), **(declared or {})}
    rules = []
    for service in sorted(merged):
        if service in services_here:
            rules.extend(merged[service])
    return rules + list(extra or [])


class FilterModule:
    def filters(self):
        return {
            "firewall_admits": firewall_admits,
            "firewall_loopback": firewall_loopback,
            "firewall_rules": firewall_rules,
        }
