#!/usr/bin/env python3
"""Converge timings of the appliance on a fresh systemd container.

Starts its own container (Debian 12 by default), converges it with site.yml
three ways in one run and prints the figures side by side:
  first  - a fresh host, zeroc-ice wheel from the controller's cache
  second - the same host again (must report 0 changed)
  check  - --check --diff on the converged host (must report 0 changed)
  stock  - the second converge again over containers.podman.podman, the
           connection without pipelining, for the ratio
The container is removed at the end. Traffic goes only to that container.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, text=True, capture_output=True, **kw)


def converge(inventory: Path, *extra: str) -> tuple[float, int, str]:
    start = time.monotonic()
    result = run([str(BIN / "ansible-playbook"), "-i", str(inventory), "site.yml", *extra], cwd=ROOT)
    elapsed = time.monotonic() - start
    if result.returncode != 0:
        sys.exit(f"site.yml {' '.join(extra)} failed:\n{result.stdout[-4000:]}{result.stderr[-2000:]}")
    changed = sum(int(n) for n in re.findall(r"changed=(\d+)", result.stdout))
    return elapsed, changed, result.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--suite", default="bookworm", choices=["bookworm", "trixie"])
    args = parser.parse_args()
    name = f"omero-web-bench-{args.suite}"

    run(["podman", "rm", "-f", name])
    started = run(
        [
            "podman", "run", "-d", "--name", name, "--hostname", name,
            "--systemd=always", "--privileged",
            f"localhost/debian-systemd:{args.suite}", "/lib/systemd/systemd",
        ]
    )  # fmt: skip
    if started.returncode != 0:
        sys.exit(started.stderr)
    try:
        for _ in range(30):
            if run(["podman", "exec", name, "systemctl", "is-system-running", "--wait"]).returncode == 0:
                break
            time.sleep(1)
        with tempfile.TemporaryDirectory() as tmp:
            inventory = Path(tmp) / "hosts.yml"
            group_vars = Path(tmp) / "group_vars"
            group_vars.mkdir()
            (group_vars / "all.yml").write_text((ROOT / "inventory/demo/group_vars/all.yml").read_text())
            stock = Path(tmp) / "stock.yml"
            for path, connection in (
                (inventory, "podman_pipelined"),
                (stock, "containers.podman.podman"),
            ):
                path.write_text(
                    "all:\n  children:\n"
                    + "".join(
                        f"    {g}:\n      hosts:\n        {name}:\n"
                        for g in ("omero_web_nodes", "frontends", "session_stores")
                    )
                    + f"  vars:\n    ansible_connection: {connection}\n"
                )
            rows = [
                ("first converge (fresh host, Ice wheel cached)", *converge(inventory)[:2], 240),
                ("second converge", *converge(inventory)[:2], 30),
                ("--check --diff on the converged host", *converge(inventory, "--check", "--diff")[:2], None),
                (
                    "second converge, stock podman connection",
                    *converge(stock)[:2],
                    None,
                ),
            ]
    finally:
        run(["podman", "rm", "-f", name])

    print(f"{'run':48} {'seconds':>8} {'changed':>8} {'goal (s)':>9}")
    ok = True
    for label, seconds, changed, goal in rows:
        print(f"{label:48} {seconds:8.1f} {changed:8d} {goal if goal else '-':>9}")
        if goal and seconds > goal:
            ok = False
    ok = ok and rows[1][2] == 0 and rows[2][2] == 0 and rows[3][2] == 0
    print(f"second/first: {rows[1][1] / rows[0][1]:.2f}")
    print(f"second, pipelined/stock connection: {rows[1][1] / rows[3][1]:.2f}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
