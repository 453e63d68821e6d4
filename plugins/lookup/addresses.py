# GPL-2.0-or-later
"""The address each host serves the appliance on: what other hosts of the
topology connect to, and what the firewall opens to them."""

import ipaddress

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

DOCUMENTATION = r"""
name: addresses
short_description: The service address of each host named
description:
  - For each inventory host given, its omero_web_appliance_address when the inventory sets one
    (an IP address of that host), else the IPv4 address of its default route as gathered.
  - Web nodes listen on it for front ends on other hosts, session stores for web nodes on other
    hosts, and the firewall opens it to those hosts alone.
options:
  _terms:
    description: Inventory host names.
    required: true
"""

VARIABLE = "omero_web_appliance_address"


def service_address(host, hostvars):
    """``host``'s address: its omero_web_appliance_address, else its default
    route's IPv4 address; a clear error when it has neither or the first is
    no IP address."""
    facts = hostvars.get("ansible_facts") or {}
    own = hostvars.get(VARIABLE)
    if own not in (None, ""):
        try:
            return str(ipaddress.ip_address(str(own)))
        except ValueError:
            raise AnsibleLookupError(
                f"{VARIABLE} = {own!r} on {host}: expected an IP address of {host}, e.g. 10.0.0.5"
            ) from None
    address = (facts.get("default_ipv4") or {}).get("address")
    if not address:
        raise AnsibleLookupError(
            f"{host} has no default IPv4 route and no {VARIABLE}: set {VARIABLE} to the address "
            f"other hosts reach {host} at"
        )
    return address


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        hostvars = variables["hostvars"]
        return [service_address(host, hostvars[host]) for host in terms]
