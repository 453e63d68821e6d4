# GPL-2.0-or-later
"""The appliance's topology: what the inventory's groups make of each host.

One model for the roles (through the topology lookup), the playbooks and
the tests' helpers (tests/infra/topology.py). Pure Python, no Ansible.
"""

from __future__ import annotations

import ipaddress

# What each group is for, and its name in the inventory unless the site
# names it otherwise (omero_web_appliance_groups).
GROUPS = {
    "omero_web_nodes": "omero_web_nodes",
    "frontends": "frontends",
    "apache_frontends": "apache_frontends",
    "session_stores": "session_stores",
}


def group_names(names: dict | None) -> dict[str, str]:
    """The inventory's name of each group, today's names unless given."""
    if names is not None and not isinstance(names, dict):
        raise ValueError(
            f"omero_web_appliance_groups = {names!r}: expected a dict of the appliance's groups"
            f" ({', '.join(sorted(GROUPS))}) to the inventory's names for them"
        )
    names = dict(names or {})
    unknown = sorted(set(names) - set(GROUPS))
    if unknown:
        raise ValueError(
            f"omero_web_appliance_groups names {unknown}: it takes {sorted(GROUPS)},"
            " each the name of an inventory group"
        )
    bad = sorted(key for key, value in names.items() if not isinstance(value, str) or not value)
    if bad:
        raise ValueError(
            f"omero_web_appliance_groups: {bad} must each be a group's name (a non-empty string)"
        )
    return {**GROUPS, **names}


def replicated(stores: list[str], sentinel: object = None) -> bool:
    """Whether the session stores run as one primary and replicas under
    Redis Sentinel: three or more of them, unless omero_web_appliance_sentinel
    says otherwise; asked for with fewer, a clear error."""
    if sentinel is None or sentinel == "":
        return len(stores) >= 3
    if not isinstance(sentinel, bool):
        raise ValueError(
            f"omero_web_appliance_sentinel = {sentinel!r}:"
            " expected true, false or nothing (Sentinel with three or more stores)"
        )
    if sentinel and len(stores) < 3:
        listed = ", ".join(stores) or "none"
        raise ValueError(
            f"omero_web_appliance_sentinel = true with {len(stores)} session store(s) ({listed}):"
            " Sentinel needs three or more, so that a majority can still elect a primary when one is down"
        )
    return sentinel


def virtual_address(address: object, remote: list[str]) -> str:
    """The front ends' virtual address (omero_web_appliance_virtual_address),
    '' for none: an IPv4 address (VRRP version 2), held by one of two or more
    front ends of their own; anything else, a clear error."""
    if address is None or address == "":
        return ""
    try:
        found = ipaddress.ip_address(str(address))
    except ValueError:
        found = None
    if not isinstance(found, ipaddress.IPv4Address):
        raise ValueError(
            f"omero_web_appliance_virtual_address = {address!r}: expected an IPv4 address on the front ends'"
            " network, e.g. 192.0.2.10"
        )
    if len(remote) < 2:
        listed = ", ".join(remote) or "none"
        raise ValueError(
            f"omero_web_appliance_virtual_address = {address!r} with {len(remote)} front end(s) of their own"
            f" ({listed}): a virtual address moves between two or more front ends that are no OMERO.web node"
        )
    return str(found)


def topology(
    groups: dict[str, list[str]],
    host: str,
    names: dict | None = None,
    sentinel: object = None,
    virtual: object = None,
) -> dict:
    """Per host: the members of each group, and

    - sentinel: the session stores replicate one primary, Redis Sentinel
      electing it (replicated());
    - session_store: the Redis this host's OMERO.web uses: itself if it is a
      session store, else the first ('' for none); with Sentinel, the first
      of the stores Sentinel answers for;
    - session_stores_of_node: the stores this host's OMERO.web reaches: its
      session store, or with Sentinel every store (their Sentinels);
    - store_clients: the web nodes on other hosts that use this session store
      (it is the first; the others serve no other host); with Sentinel, every
      web node on another host uses every store;
    - store_peers: with Sentinel, the other stores (replication, Sentinels);
    - frontends_of_node: the front ends that proxy to this node: itself if it
      is a front end, else every front end;
    - nodes_of_frontend: the nodes a front end proxies to: itself if it is a
      node, else every node;
    - remote_frontends: front ends that are no node (they alone reach gunicorn);
    - drain_frontends: those a node is taken out of while it restarts (when
      another node can answer);
    - behind_apache: Apache on this host proxies to its Nginx;
    - rolling_batch: the web nodes' play's serial: one at a time behind front
      ends of their own, else all at once;
    - virtual_address: the address the front ends of their own share by VRRP
      (keepalived), '' for none (virtual_address());
    - vrrp_peers: the other front ends this one shares it with.
    """
    names = group_names(names)

    def members(role: str) -> list[str]:
        return list(groups.get(names[role]) or [])

    nodes, frontends = members("omero_web_nodes"), members("frontends")
    apache, stores = members("apache_frontends"), members("session_stores")
    remote = [h for h in frontends if h not in nodes]
    with_sentinel = replicated(stores, sentinel)
    shared = virtual_address(virtual, remote)
    if with_sentinel:
        store = stores[0]
        clients = [h for h in nodes if h != host] if host in stores else []
    else:
        store = host if host in stores else (stores[0] if stores else "")
        clients = [h for h in nodes if h not in stores] if stores and host == stores[0] else []
    return {
        "groups": names,
        "omero_web_nodes": nodes,
        "frontends": frontends,
        "apache_frontends": apache,
        "session_stores": stores,
        "sentinel": with_sentinel,
        "session_store": store,
        "session_stores_of_node": stores if with_sentinel else [store] if store else [],
        "store_clients": clients,
        "store_peers": [h for h in stores if h != host] if with_sentinel and host in stores else [],
        "frontends_of_node": [host] if host in frontends else frontends,
        "nodes_of_frontend": [host] if host in nodes else nodes,
        "remote_frontends": remote,
        "drain_frontends": remote if len(nodes) > 1 else [],
        "behind_apache": host in apache,
        "rolling_batch": 1 if remote else "100%",
        "virtual_address": shared,
        "vrrp_peers": [h for h in remote if h != host] if shared and host in remote else [],
    }
