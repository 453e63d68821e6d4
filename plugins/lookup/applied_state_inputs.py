# GPL-2.0-or-later
"""The fingerprint of everything a role's run on this host depends on.

- the appliance's code: every file of the roles, of the collection's plugins
  and of the given sources;
- the settings: every variable the role and the roles whose variables it
  reads declare (defaults, argument specs), templated on this host;
- the topology: the groups, and per host its ansible_host and the same
  variables as its inventory sets them;
- what the role reads of other hosts' facts and published values (the
  endpoints of tasks/publish.yml, their addresses), through the derived
  variables it names, templated on this host;
- this host's facts the roles read (OS, Python, cores, memory, address).

Nothing counts of a host the role does not read, so a run with --limit has
the same inputs as a full one: a limited run after a full one skips the
steps of roles whose inputs it leaves alone, and the other way round.

Variables a role computes from its own tasks' results (vars/main.yml) are
covered by the code and by what they derive from. A value that cannot be
templated yet (it waits on a task) counts by the error it gives, the same in
every run.
"""

import hashlib
import json
import os

import yaml
from ansible.errors import AnsibleError
from ansible.plugins.lookup import LookupBase

DOCUMENTATION = r"""
name: applied_state_inputs
short_description: Fingerprint of a role's inputs on this host
options:
  roles_dir: {type: path, required: true, description: The folder of the appliance's roles.}
  reads: {type: list, elements: str, required: true, description: The roles whose variables count.}
  sources: {type: list, elements: path, default: [], description: Further folders of code the roles install.}
  derived: {type: list, elements: str, default: [], description: Variables of other hosts' values.}
"""

FACTS = [
    "distribution",
    "distribution_major_version",
    "distribution_release",
    "processor_vcpus",
    "memtotal_mb",
    "fqdn",
    "hostname",
]

_code_hashes = {}


def code_hash(folders):
    """sha256 over the relative path and content of every file below the
    folders (computed once per run)."""
    key = tuple(folders)
    if key not in _code_hashes:
        digest = hashlib.sha256()
        for folder in folders:
            for root, dirs, files in os.walk(folder):
                dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not d.startswith("."))
                for name in sorted(files):
                    if name.endswith(".pyc"):
                        continue
                    path = os.path.join(root, name)
                    digest.update(os.path.relpath(path, folder).encode() + b"\0")
                    with open(path, "rb") as handle:
                        digest.update(hashlib.sha256(handle.read()).digest())
        _code_hashes[key] = digest.hexdigest()
    return _code_hashes[key]


def declared_names(roles_dir, roles):
    """Variables the roles declare: their defaults and argument specs."""
    names = set()
    for role in sorted(roles):
        defaults = os.path.join(roles_dir, role, "defaults", "main.yml")
        specs = os.path.join(roles_dir, role, "meta", "argument_specs.yml")
        if os.path.isfile(defaults):
            with open(defaults) as handle:
                names.update((yaml.safe_load(handle) or {}).keys())
        if os.path.isfile(specs):
            with open(specs) as handle:
                for entry in ((yaml.safe_load(handle) or {}).get("argument_specs") or {}).values():
                    names.update((entry.get("options") or {}).keys())
    return sorted(names)


def plain(value):
    """JSON-ready, keys sorted, whatever types templating gave."""
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in sorted(value.items(), key=lambda pair: str(pair[0]))}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def settled(value_of, name):
    """A variable's value as templating gives it, or the error it gives
    (the same in every run while the value waits on a task)."""
    try:
        return plain(value_of(name))
    except AnsibleError as error:
        return "<" + type(error).__name__ + ">"


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        roles_dir = self.get_option("roles_dir")
        sources = self.get_option("sources")
        derived = self.get_option("derived")
        reads = self.get_option("reads")

        names = declared_names(roles_dir, reads)

        def templated(name):
            return self._templar.template(variables[name])

        settings = {name: settled(templated, name) for name in names if name in variables}
        unknown = [name for name in derived if name not in variables]
        if unknown:
            raise AnsibleError(f"applied_state_derived names variables the role does not define: {unknown}")

        hostvars = variables["hostvars"]
        groups = variables["groups"]
        hosts = {}
        for host in sorted(groups.get("all", [])):
            their = hostvars[host]
            hosts[host] = {
                # What the inventory sets on each host: a role reads other
                # hosts' settings too (the web nodes, the front ends' names).
                "settings": {name: settled(their.__getitem__, name) for name in names if name in their},
                "ansible_host": their.get("ansible_host"),
            }
        facts = variables.get("ansible_facts") or {}
        data = {
            "code": code_hash([roles_dir, os.path.join(roles_dir, "..", "plugins"), *sources]),
            "settings": settings,
            "groups": {name: sorted(members) for name, members in groups.items()},
            "hosts": hosts,
            "host": variables.get("inventory_hostname"),
            "derived": {name: settled(templated, name) for name in derived},
            "facts": {name: plain(facts.get(name)) for name in FACTS},
            "address": plain((facts.get("default_ipv4") or {}).get("address")),
            "python": plain((facts.get("python") or {}).get("version")),
        }
        return [hashlib.sha256(json.dumps(plain(data), sort_keys=True).encode()).hexdigest()]
