# GPL-2.0-or-later
"""This host's topology (plugins/module_utils/topology.py), from the
inventory's groups as omero_web_appliance_groups names them."""

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase
from ansible_collections.omero_web_appliance.appliance.plugins.module_utils.topology import topology

DOCUMENTATION = r"""
name: topology
short_description: What the inventory's groups make of this host
description:
  - Each group's members, this host's session store, the front ends that reach it, the clients of a store,
    whether Apache is in front, the web nodes' rolling batch, whether the session stores run Sentinel.
  - The groups' names are omero_web_appliance_groups' (a dict with any of omero_web_nodes, frontends,
    apache_frontends, session_stores), today's names for those it leaves out.
  - The session stores replicate under Redis Sentinel when there are three or more of them, unless
    omero_web_appliance_sentinel (true or false) says otherwise; true with fewer is refused.
  - omero_web_appliance_virtual_address names an IPv4 address that two or more front ends of their own
    share by VRRP (keepalived); with fewer, or no IPv4 address, it is refused.
"""


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        names = self._templar.template(variables.get("omero_web_appliance_groups") or {})
        try:
            # No host at play level (a play's serial): no host's own answers.
            sentinel = self._templar.template(variables.get("omero_web_appliance_sentinel"))
            virtual = self._templar.template(variables.get("omero_web_appliance_virtual_address"))
            host = variables.get("inventory_hostname", "")
            return [topology(variables["groups"], host, names, sentinel, virtual)]
        except ValueError as error:
            raise AnsibleLookupError(str(error)) from error
