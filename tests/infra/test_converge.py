"""A run with nothing to do: each role compares the host with what it last
applied (roles/applied_state) and skips its steps. Without the records the
roles take every step, and those change nothing either. On one all-in-one
host, beside the other host's tests; in the other scenarios, Molecule's
idempotence step proves that a second converge changes nothing.
"""

import time

import pytest

from helpers import APPLIED, VENV, as_omero_web
from playbook import changed_nothing, recap, run_site, steps_taken

pytestmark = [
    pytest.mark.any_config,
    pytest.mark.any_topology,
    pytest.mark.group("omero_web_nodes"),
    pytest.mark.once(1),
]

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


def test_without_records_every_step_changes_nothing_and_the_next_run_skips_them(request, node, host):
    """The roles' own steps are idempotent, and a run with nothing to do
    skips them."""
    inventory = request.config.getoption("inventory")
    only = ("--limit", node.name)
    host.run_expect([0], f"rm -f {APPLIED}/*.json")
    started = time.monotonic()
    full = run_site(inventory, {}, *only)
    full_took = time.monotonic() - started
    assert full.returncode == 0 and changed_nothing(full), recap(full)
    recorded = records(host)
    # One record for each role the host's groups give it.
    roles = {ROLE_OF_GROUP[g] for g in node.groups if g in ROLE_OF_GROUP} | {"firewall"}
    assert set(recorded) == {f"{role}.json" for role in roles}
    assert host.file(APPLIED).mode == 0o700

    # An admin reads the config: the omero CLI writes config.xml anew (the
    # time in a comment), which is no change to the role.
    assert as_omero_web(host, f"{VENV}/bin/omero config get").rc == 0

    started = time.monotonic()
    fast = run_site(inventory, {}, *only)
    fast_took = time.monotonic() - started
    assert fast.returncode == 0 and changed_nothing(fast), recap(fast)
    assert not steps_taken(fast), steps_taken(fast)
    assert records(host) == recorded
    print(f"every step: {full_took:.0f} s; nothing to do: {fast_took:.0f} s ({node.name})")
