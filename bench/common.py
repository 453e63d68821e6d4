"""What the benchmarks share: their own systemd containers, an inventory of
them and site.yml runs. Traffic goes only to containers a benchmark started."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
GROUPS = ("omero_web_nodes", "frontends", "session_stores")


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, text=True, capture_output=True, **kw)


def start(hosts: dict[str, str], network: str = "", publish: dict[str, list[str]] | None = None) -> None:
    """Starts each host (name: Debian suite) as a fresh systemd container and
    waits (at most 30 s each) until systemd is up."""
    run(["podman", "rm", "-f", *hosts])
    for name, suite in hosts.items():
        started = run(
            ["podman", "run", "-d", "--name", name, "--hostname", name,
             *(["--network", network] if network else []),
             "--systemd=always", "--privileged", *(publish or {}).get(name, []),
             f"localhost/debian-systemd:{suite}", "/lib/systemd/systemd"]
        )  # fmt: skip
        if started.returncode != 0:
            sys.exit(started.stderr)
    for name in hosts:
        for _ in range(30):
            if run(["podman", "exec", name, "systemctl", "is-system-running", "--wait"]).returncode == 0:
                break
            time.sleep(1)


def inventory(directory: Path, groups: dict[str, list[str]], connection: str = "podman_pipelined") -> Path:
    """An inventory of these groups with the demo's group_vars, in directory."""
    (directory / "group_vars").mkdir(exist_ok=True)
    (directory / "group_vars/all.yml").write_text((ROOT / "inventory/demo/group_vars/all.yml").read_text())
    path = directory / f"hosts-{connection.rsplit('.', 1)[-1]}.yml"
    path.write_text(
        "all:\n  children:\n"
        + "".join(
            f"    {group}:\n      hosts:\n" + "".join(f"        {name}:\n" for name in names)
            for group, names in groups.items()
        )
        + f"  vars:\n    ansible_connection: {connection}\n"
    )
    return path


def site(
    path: Path, *extra: str, env: dict[str, str] | None = None, playbook: str = "site.yml"
) -> tuple[float, int, str]:
    """Runs site.yml (or another playbook); seconds, the tasks changed and
    the output. Exits on failure."""
    began = time.monotonic()
    result = run(
        [str(BIN / "ansible-playbook"), "-i", str(path), playbook, *extra],
        cwd=ROOT,
        env=None if env is None else {**os.environ, **env},
    )
    elapsed = time.monotonic() - began
    if result.returncode != 0:
        sys.exit(f"{playbook} {' '.join(extra)} failed:\n{result.stdout[-4000:]}{result.stderr[-2000:]}")
    changed = sum(int(n) for n in re.findall(r"changed=(\d+)", result.stdout))
    return elapsed, changed, result.stdout
