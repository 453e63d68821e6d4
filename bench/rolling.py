#!/usr/bin/env python3
"""Failed requests at the load balancer while a config change rolls through
a cluster.

Starts its own cluster on its own podman network (a load balancer published
on 127.0.0.1, two OMERO.web nodes, one Redis host), converges it, then
applies the same kind of config change twice while a bounded load (a few
threads, capped in requests and seconds) asks the load balancer for the
login page, and prints both side by side:
  rolling  - as site.yml does it: one node at a time, each out of the
             balancer while it restarts and back once /health/ answers
  at once  - both nodes together, none taken out (omero_web_nodes_serial=100%,
             omero_web_drain_frontends=[]), for the ratio
Goal: 0 failed requests in the rolling change. Everything is removed at the
end. Traffic goes only to the containers this run started.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import inventory, run, site, start  # noqa: E402

NETWORK = "omero-web-bench-rolling"
HOSTS = {  # name: (suite, group)
    "omero-web-bench-lb": ("trixie", "frontends"),
    "omero-web-bench-node1": ("bookworm", "omero_web_nodes"),
    "omero-web-bench-node2": ("bookworm", "omero_web_nodes"),
    "omero-web-bench-redis": ("bookworm", "session_stores"),
}


class Load:
    """GETs from a few threads until stopped, at most `limit` requests."""

    def __init__(self, url: str, threads: int, limit: int, seconds: int) -> None:
        self.url, self.limit = url, limit
        self.deadline = time.monotonic() + seconds
        self.sent = self.failed = 0
        self.errors: dict[str, int] = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.work, daemon=True) for _ in range(threads)]

    def work(self) -> None:
        while not self.stop.is_set():
            with self.lock:
                if self.sent >= self.limit or time.monotonic() > self.deadline:
                    return
                self.sent += 1
            try:
                with urllib.request.urlopen(self.url, timeout=10) as response:
                    ok, why = response.status == 200, str(response.status)
            except urllib.error.HTTPError as error:
                ok, why = False, str(error.code)
            except OSError as error:
                ok, why = False, type(error).__name__
            if not ok:
                with self.lock:
                    self.failed += 1
                    self.errors[why] = self.errors.get(why, 0) + 1

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join()


def change(
    hosts: Path, url: str, age: int, *extra: str, threads: int, limit: int, seconds: int
) -> tuple[float, Load]:
    start = time.monotonic()
    with Load(url, threads, limit, seconds) as load:
        site(hosts, "-e", json.dumps({"omero_web_session_cookie_age": age}), *extra)
    return time.monotonic() - start, load


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, default=8091, help="port on 127.0.0.1 for the load balancer")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--limit", type=int, default=200000, help="most requests per change")
    parser.add_argument("--seconds", type=int, default=900, help="longest load per change")
    args = parser.parse_args()
    url = f"http://127.0.0.1:{args.port}/webclient/login/"

    cleanup()
    run(["podman", "network", "create", NETWORK])
    try:
        start(
            {name: suite for name, (suite, _) in HOSTS.items()},
            network=NETWORK,
            publish={"omero-web-bench-lb": ["-p", f"127.0.0.1:{args.port}:80"]},
        )
        with tempfile.TemporaryDirectory() as tmp:
            groups: dict[str, list[str]] = {}
            for name, (_, group) in HOSTS.items():
                groups.setdefault(group, []).append(name)
            hosts = inventory(Path(tmp), groups)
            began = time.monotonic()
            site(hosts)
            print(f"cluster converged in {time.monotonic() - began:.0f} s", flush=True)
            size = {"threads": args.threads, "limit": args.limit, "seconds": args.seconds}
            rows = [
                ("rolling (site.yml)", *change(hosts, url, 3600, **size)),
                (
                    "at once, none taken out",
                    *change(
                        hosts, url, 7200, "-e",
                        json.dumps({"omero_web_nodes_serial": "100%", "omero_web_drain_frontends": []}),
                        **size,
                    ),
                ),
            ]  # fmt: skip
    finally:
        cleanup()

    print(f"{'change':28} {'seconds':>8} {'requests':>9} {'failed':>7}  failures")
    for label, seconds, load in rows:
        print(f"{label:28} {seconds:8.1f} {load.sent:9d} {load.failed:7d}  {load.errors or '-'}")
    rolling, at_once = rows[0][2], rows[1][2]
    rates = f"{rolling.failed / max(rolling.sent, 1):.4f} / {at_once.failed / max(at_once.sent, 1):.4f}"
    print(f"failed per request, rolling / at once: {rates}")
    # The load must outlast the change, or the restarts went unmeasured.
    covered = all(load.sent < args.limit and seconds < args.seconds for _, seconds, load in rows)
    print("the load covered both changes" if covered else "the load ended before a change did: raise --limit")
    return 0 if rolling.failed == 0 and rolling.sent > 0 and covered else 1


def cleanup() -> None:
    run(["podman", "rm", "-f", *HOSTS])
    run(["podman", "network", "rm", "-f", NETWORK])


if __name__ == "__main__":
    sys.exit(main())
