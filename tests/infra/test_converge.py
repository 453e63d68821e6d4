"""A run with nothing to do: each role compares the host with what it last
applied (roles/applied_state) and skips its steps. Without the records the
roles take every step, and those change nothing either. Both hosts of the
all-in-one scenario at once; in the others, Molecule's idempotence step
proves that a second converge changes nothing.
"""

import time

import pytest

from helpers import APPLIED
from playbook import changed_nothing, recap, run_site
from topology import host_of

pytestmark = [pytest.mark.any_config, pytest.mark.any_topology]

# The role each group runs; the firewall runs everywhere.
ROLE_OF_GROUP = {
    "session_stores": "redis",
    "omero_web_nodes": "omero_web",
    "frontends": "nginx",
    "apache_frontends": "apache",
}


def records(host) -> dict[str, str]:
    """Each record on the host and when it was written."""
    listing = host.check_output(f"find {APPLIED} -name '*.json' -printf '%f %T@\\n'")
    return dict(line.split() for line in listing.splitlines())


def test_without_records_every_step_changes_nothing_and_the_next_run_skips_them(request, nodes):
    """The roles' own steps are idempotent, and a run with nothing to do
    skips them."""
    inventory = request.config.getoption("inventory")
    hosts = {n.name: host_of(n) for n in nodes}
    for host in hosts.values():
        host.run_expect([0], f"rm -f {APPLIED}/*.json")
    started = time.monotonic()
    full = run_site(inventory, {})
    full_took = time.monotonic() - started
    assert full.returncode == 0 and changed_nothing(full), recap(full)
    recorded = {name: records(host) for name, host in hosts.items()}
    # One record for each role the host's groups give it.
    for node in nodes:
        roles = {ROLE_OF_GROUP[g] for g in node.groups if g in ROLE_OF_GROUP} | {"firewall"}
        assert set(recorded[node.name]) == {f"{role}.json" for role in roles}, node.name
        assert hosts[node.name].file(APPLIED).mode == 0o700

    started = time.monotonic()
    fast = run_site(inventory, {})
    fast_took = time.monotonic() - started
    assert fast.returncode == 0 and changed_nothing(fast), recap(fast)
    assert "runs its steps:" not in fast.stdout, fast.stdout[-3000:]
    assert {name: records(host) for name, host in hosts.items()} == recorded
    print(f"every step: {full_took:.0f} s; nothing to do: {fast_took:.0f} s ({len(hosts)} hosts)")
