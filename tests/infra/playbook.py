"""Runs of this checkout's playbooks against the hosts under test, and
what their output says."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from helpers import ROOT

# The scenario's site playbook: site.yml, or a site's own (a scenario whose
# inventory names its groups otherwise converges with one).
SITE = os.environ.get("APPLIANCE_PLAYBOOK") or "site.yml"


def playbook_command(inventory: str, extra: dict, *options: str, playbook: str = SITE) -> list[str]:
    return [str(Path(sys.executable).with_name("ansible-playbook")), "-i", inventory, playbook] + [
        "-e",
        json.dumps(extra),
        *options,
    ]


def playbook_environment(**more: str) -> dict[str, str]:
    """The tests run this checkout's playbooks, roles and plugins, whatever
    paths the scenario converged with (the split one: the installed
    collection's)."""
    return {
        **os.environ,
        "ANSIBLE_ROLES_PATH": str(ROOT / "roles"),
        "ANSIBLE_COLLECTIONS_PATH": f"{ROOT / 'collections'}:{Path.home() / '.ansible/collections'}",
        **more,
    }


def run_site(
    inventory: str, extra: dict, *options: str, playbook: str = SITE, timeout: int = 900
) -> subprocess.CompletedProcess:
    """site.yml (or another playbook) against the hosts under test, with extra variables.
    Bounded, though a run of every step on four hosts takes 5 minutes, and
    the cluster's run that waits for a broken node and rolls it back near 6
    alone, twice that while the other lane loads the machine."""
    return subprocess.run(
        playbook_command(inventory, extra, *options, playbook=playbook),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=playbook_environment(),
    )


def changes_nothing_on(inventory: str, names: list[str]) -> tuple[bool, str]:
    """site.yml limited to these hosts: (it ran and changed nothing, its recap)."""
    again = run_site(inventory, {}, "--limit", ",".join(names))
    return again.returncode == 0 and changed_nothing(again), recap(again)


def recap(result: subprocess.CompletedProcess) -> str:
    """The PLAY RECAP of a run."""
    output = result.stdout + result.stderr
    return output[output.rindex("PLAY RECAP") :]


def changed_nothing(result: subprocess.CompletedProcess) -> bool:
    """No host reports a change in the run's recap."""
    counts = re.findall(r"changed=(\d+)", recap(result))
    return bool(counts) and all(count == "0" for count in counts)


def steps_taken(result: subprocess.CompletedProcess) -> list[str]:
    """Why each role that took its steps in a run did (roles/applied_state
    says it); none when every role skipped them."""
    return re.findall(r"\w+ runs its steps: [^\"\n]*", result.stdout)
