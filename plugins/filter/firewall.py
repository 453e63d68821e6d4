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


class FilterModule:
    def filters(self):
        return {"firewall_admits": firewall_admits}
