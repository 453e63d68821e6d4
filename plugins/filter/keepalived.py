"""Filters of the keepalived role."""

from __future__ import annotations

import ipaddress


def keepalived_link(facts, address):
    """The interface of gathered ``facts`` that holds ``address``, with its
    network: {interface, network, prefix}; {} when no interface does."""
    for name in facts.get("interfaces") or []:
        data = facts.get(name.replace("-", "_").replace(".", "_")) or {}
        for entry in [data.get("ipv4") or {}, *(data.get("ipv4_secondaries") or [])]:
            if entry.get("address") == address and entry.get("netmask"):
                network = ipaddress.ip_network(f"{address}/{entry['netmask']}", strict=False)
                return {
                    "interface": data.get("device", name),
                    "network": str(network),
                    "prefix": network.prefixlen,
                }
    return {}


def keepalived_in_network(address, network):
    """Whether ``address`` is a host address of ``network`` (not the network's
    own address nor its broadcast)."""
    try:
        found, within = ipaddress.ip_address(str(address)), ipaddress.ip_network(str(network))
    except ValueError:
        return False
    return found in within and found not in (within.network_address, within.broadcast_address)


class FilterModule:
    def filters(self):
        return {"keepalived_link": keepalived_link, "keepalived_in_network": keepalived_in_network}
