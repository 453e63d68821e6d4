#!/usr/bin/env python3
"""Failover of the front ends and the session stores, measured on the
cluster scenario's own containers (two balancers holding a virtual address,
two OMERO.web nodes, three session stores under Sentinel, on the scenario's
own network).

Converges the scenario once, then runs its failover tests (the `failover`
marker of tests/infra) ROUNDS times; each round, under a bounded load:
  front end     - kills the balancer that holds the virtual address: when
                  the address moved, when the site answered on it again,
                  the requests that failed
  session store - stops the Redis primary: when the Sentinels elected
                  another, when OMERO.web read a session saved before
                  through another node, the failed requests, whether the
                  session was kept, when the old primary was a replica
  restart       - restarts every host at once: when the site answered
Each figure stands beside its goal (front end 5 s, session store 15 s).
The figures go to bench/results/results.json (its `failover`) and
REPORT.md; the containers are removed at the end (--keep leaves them).
Requests go only to the scenario's containers, from the scenario's own hosts.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import BIN, ROOT, run  # noqa: E402

SCENARIO = "cluster"
GOALS = {"front end": ("answered", 5.0), "session store": ("followed", 15.0)}


def molecule(action: str, env: dict, timeout: int) -> bool:
    done = run(
        [str(BIN / "molecule"), action, "-s", SCENARIO],
        cwd=ROOT,
        env=env,
        timeout=timeout,
    )
    print(f"molecule {action}: exit {done.returncode}", flush=True)
    if done.returncode != 0:
        print(done.stdout[-4000:], done.stderr[-2000:], sep="\n")
    return done.returncode == 0


def summary(figures: list[dict]) -> dict:
    """Per kind of failure: each timed figure's median, least and most."""
    timed: dict[str, dict[str, list[float]]] = {}
    for entry in figures:
        for key, value in entry.items():
            if isinstance(value, float):
                timed.setdefault(entry["name"], {}).setdefault(key, []).append(value)

    def spread(values: list[float]) -> dict:
        return {"median": statistics.median(values), "least": min(values), "most": max(values)}

    return {kind: {key: spread(v) for key, v in keys.items()} for kind, keys in timed.items()}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3, help="how many times each failure is caused")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results")
    parser.add_argument("--keep", action="store_true", help="leave the containers running")
    args = parser.parse_args()
    if not 1 <= args.rounds <= 10:
        parser.error("--rounds: expected 1 to 10")

    with tempfile.TemporaryDirectory() as tmp:
        figures_file = Path(tmp) / "figures.jsonl"
        env = {
            **os.environ,
            "PATH": f"{BIN}:{os.environ['PATH']}",
            "APPLIANCE_ONLY": "failover",
            "APPLIANCE_FIGURES": str(figures_file),
        }
        passed = 0
        try:
            if molecule("converge", env, timeout=3600):
                for round_ in range(1, args.rounds + 1):
                    print(f"round {round_} of {args.rounds}", flush=True)
                    passed += molecule("verify", env, timeout=3600)
        finally:
            if not args.keep:
                molecule("destroy", env, timeout=600)
        lines = figures_file.read_text().splitlines() if figures_file.exists() else []
        figures = [json.loads(line) for line in lines]

    saved = args.out / "results.json"
    results: dict = json.loads(saved.read_text()) if saved.exists() else {"suite": "bookworm"}
    results["failover"] = {
        "rounds": args.rounds,
        "rounds_passed": passed,
        "goals": GOALS,
        "kinds": summary(figures),
        "figures": figures,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    saved.write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps(results["failover"]["kinds"], indent=1))
    from report import write

    write(results, args.out)
    return 0 if passed == args.rounds and figures else 1


if __name__ == "__main__":
    sys.exit(main())
