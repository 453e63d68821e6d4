#!/usr/bin/env python3
"""`make bench`: the appliance measured on a container of its own, written to
bench/results/REPORT.md with plots beside it.

One fresh systemd container (Debian 12 by default) converged with site.yml
as a facility would, then, in one run so that every figure is a ratio or a
pair measured side by side:
  converge  - first (zeroc-ice wheel cached), second and --check runs, with
              the slowest tasks (profile_tasks), and the second again over
              the stock Podman connection (`podman exec`, no pipelining)
  static    - bytes and requests of a first and a repeat load of the login
              page, a browser against one that gets no compression and no
              Cache-Control; static requests/s through Nginx (HTTPS, and
              the same location over plain HTTP) against gunicorn with
              whitenoise (the bench host only)
  gunicorn  - worker classes, workers and threads on a mixed load (half the
              requests wait on a stand-in for OMERO.server), against the
              reference role's 5 sync workers: requests/s, p99, errors and
              memory at rest and under load
  sessions  - Redis, file and database engines at 1k, 10k and 100k stored
              sessions; clearsessions' work at 100k
  zeroc-ice - the role's build of the wheel as it was (one compiler, debug
              information), on every core, and as it is (every core, none)
  suite     - where `make test`'s time goes, from a log of
              scripts/molecule-lanes.sh (--lanes-log)
Requests go only to 127.0.0.1 inside that container (wrk runs there, for a
bounded time); the container is removed at the end.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import GROUPS, ROOT, inventory, run, site, start  # noqa: E402

HOST = "omero-web-bench"
BENCH_DIR = "/opt/omero/web/bench"
VENV = "/opt/omero/web/venv"
USER = "omero-web"
PORT = 5100
PLAIN_PORT = 5101  # Nginx's static location over plain HTTP (plain_nginx)
HTTPS_PORT = 8443  # the demo's group_vars, which the bench inventory takes
# The static files' servers run on one core, wrk on another (two at least).
SERVER_CPU, LOAD_CPU = "0", "1"
# The bench host is an all-in-one host.
BENCH_GROUPS = {group: [HOST] for group in GROUPS}
# The reference role's default first, then others the appliance could
# choose; the appliance's own choice on the bench host (read from its
# running gunicorn) is added when it is not one of them.
WORKER_SETUPS = [
    {"name": "sync 5x1 (reference)", "class": "sync", "workers": 5, "threads": 1, "preload": False},
    {"name": "sync 3x1", "class": "sync", "workers": 3, "threads": 1, "preload": False},
    {"name": "gthread 2x8", "class": "gthread", "workers": 2, "threads": 8, "preload": False},
    {"name": "gthread 3x8", "class": "gthread", "workers": 3, "threads": 8, "preload": False},
    {"name": "gthread 2x16", "class": "gthread", "workers": 2, "threads": 16, "preload": False},
    {"name": "gthread 2x8 --preload", "class": "gthread", "workers": 2, "threads": 8, "preload": True},
]


def on_host(*cmd: str, user: str = "root", check: bool = True, timeout: int = 600) -> str:
    argv = ["podman", "exec", "--user", user, HOST, *cmd]
    result = run(argv, timeout=timeout)
    if check and result.returncode != 0:
        sys.exit(f"{shlex.join(cmd)} failed on {HOST}:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    return result.stdout


def unit_environment() -> list[str]:
    """OMERO.web's environment as its unit sets it (OMERODIR, ...)."""
    return shlex.split(on_host("systemctl", "show", "--property=Environment", "--value", "omero-web"))


# --- converge --------------------------------------------------------------


def profile(output: str) -> list[tuple[str, float]]:
    """profile_tasks' summary: (task, seconds), slowest first."""
    rows = re.findall(r"^(.+?) -{4,} (\d+\.\d+)s$", output, re.MULTILINE)
    return sorted(((name.strip(), float(s)) for name, s in rows), key=lambda row: -row[1])


def converge_part(directory: Path) -> dict:
    hosts = inventory(directory, BENCH_GROUPS)
    # The stock connection (podman exec, no pipelining), for the ratio.
    stock = inventory(directory, BENCH_GROUPS, "containers.podman.podman")
    env = {
        "ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.profile_tasks",
        "PROFILE_TASKS_TASK_OUTPUT_LIMIT": "12",
    }
    runs = {}
    for label, path, extra in (
        ("first", hosts, ()),
        ("second", hosts, ()),
        ("check", hosts, ("--check", "--diff")),
        ("second, stock connection", stock, ()),
    ):
        seconds, changed, output = site(path, *extra, env=env)
        runs[label] = {"seconds": seconds, "changed": changed, "slowest": profile(output)[:12]}
        print(f"converge {label}: {seconds:.1f} s, {changed} changed", flush=True)
    return runs


def ice_part() -> dict:
    """The role's zeroc-ice build as it was (one compiler, debug information)
    and as it is (one compiler per core, none), each into an empty cache of
    its own; the compilers are installed first, outside the timings."""
    on_host("apt-get", "install", "--yes", "--no-install-recommends",
            "gcc", "g++", "python3-dev", "libssl-dev", "libbz2-dev")  # fmt: skip
    builds = {
        "before": {"jobs": 1, "debug": True},
        "every_core_debug": {"jobs": 0, "debug": True},
        "now": {"jobs": 0, "debug": False},
    }
    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        hosts = inventory(Path(tmp), BENCH_GROUPS)
        for label, build in builds.items():
            cache = Path(tmp) / f"ice-{label}"
            cache.mkdir()
            variables = {
                "omero_web_wheel_cache": str(cache),
                "omero_web_ice_build_jobs": build["jobs"],
                "omero_web_ice_build_debug": build["debug"],
            }
            extra = ("-e", json.dumps(variables))
            seconds = site(hosts, *extra, playbook="bench/ice_build.yml")[0]
            size = sum(wheel.stat().st_size for wheel in cache.glob("zeroc_ice-*.whl")) / 2**20
            figures[label] = {**build, "seconds": seconds, "wheel_mib": size}
            print(f"zeroc-ice built ({label}): {seconds:.0f} s, {size:.1f} MiB", flush=True)
    return figures


# --- static files ----------------------------------------------------------


def wrk_argv(
    url: str, seconds: int, connections: int, script: str = "", gzip: bool = False, cpu: str = ""
) -> list[str]:
    """wrk on the bench host, for seconds, its report with p99; on one core
    (one thread) when cpu names it, else on all (two threads)."""
    placed = ["taskset", "--cpu-list", cpu, "wrk", "--threads", "1"] if cpu else ["wrk", "--threads", "2"]
    return [
        "podman", "exec", HOST, *placed, "--connections", str(connections),
        "--duration", f"{seconds}s", "--timeout", "10s", "--latency",
        *(["--script", script] if script else []),
        *(["--header", "Accept-Encoding: gzip"] if gzip else []), url,
    ]  # fmt: skip


def wrk(
    url: str, seconds: int, connections: int, script: str = "", gzip: bool = False, cpu: str = ""
) -> dict:
    result = run(wrk_argv(url, seconds, connections, script, gzip, cpu), timeout=seconds + 60)
    if result.returncode != 0:
        sys.exit(f"wrk {url} failed on {HOST}: {result.stderr[-2000:]}")
    return parse_wrk(result.stdout)


def parse_wrk(out: str) -> dict:
    def seconds(text: str) -> float:
        value, unit = re.match(r"([\d.]+)(us|ms|s|m)", text).groups()
        return float(value) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[unit]

    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.MULTILINE)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "requests_per_second": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
        "p99_ms": seconds(p99.group(1)) * 1000 if p99 else None,
        "errors": (sum(int(n) for n in errors.groups()) if errors else 0)
        + (int(non_2xx.group(1)) if non_2xx else 0),
    }


class plain_nginx:  # noqa: N801 - used as a context manager, like open()
    """The site's own static location, copied from the live site into a
    plain-HTTP server on 127.0.0.1:PLAIN_PORT of the bench host alone, so
    Nginx and whitenoise are compared over the same transport. Untuned: the
    location without its open_file_cache, logging a write per request (what
    the role wrote before), for the figures that justify both."""

    path = "/etc/nginx/conf.d/bench-plain-static.conf"

    def __init__(self, tuned: bool = True) -> None:
        self.tuned = tuned

    def __enter__(self) -> plain_nginx:
        site = on_host("cat", "/etc/nginx/sites-enabled/omero-web.conf")
        location = re.search(r"^ +location /static/ \{.*?^ +\}$", site, re.MULTILINE | re.DOTALL).group(0)
        logged = ""
        if not self.tuned:
            location = re.sub(r"^ +open_file_cache.*\n", "", location, flags=re.MULTILINE)
            logged = "    access_log /var/log/nginx/bench-plain-untuned.log;\n"
        conf = f"server {{\n    listen 127.0.0.1:{PLAIN_PORT};\n    sendfile on;\n{logged}{location}\n}}\n"
        write = f"printf '%s' {shlex.quote(conf)} > {self.path}"
        on_host("sh", "-c", f"{write} && nginx -t -q && systemctl reload nginx")
        time.sleep(1)
        return self

    def __exit__(self, *exc) -> None:
        on_host("sh", "-c", f"rm -f {self.path} && systemctl reload nginx", check=False)


class pinned:  # noqa: N801 - used as a context manager, like open()
    """The processes of a server (pgrep's pattern), its master and its
    workers to come, on SERVER_CPU alone; on every core again afterwards."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern

    def place(self, cpus: str) -> None:
        script = f"for pid in $(pgrep -f {shlex.quote(self.pattern)}); do taskset -a -p -c {cpus} $pid; done"
        on_host("sh", "-c", f"{script} >/dev/null")

    def __enter__(self) -> pinned:
        self.place(SERVER_CPU)
        return self

    def __exit__(self, *exc) -> None:
        self.place("0-1023")


def static_part(seconds: int) -> dict:
    if int(on_host("nproc").strip()) < 2:
        sys.exit("the static files' part needs two cores: one for each server, one for wrk")
    loads = json.loads(on_host("python3", f"{BENCH_DIR}/static_load.py", f"https://127.0.0.1:{HTTPS_PORT}/"))
    # The login page's largest and smallest scripts, asked for as browsers do
    # (gzip accepted; both serve the .gz made when the files were collected),
    # through Nginx and through gunicorn. Each server gets one core and wrk
    # the other: on shared cores wrk takes the most from the fastest server.
    first = loads["today"]["first"]
    served = {}
    with pinned("nginx: "):
        for asset in (first["largest"], first["smallest"]):
            url = f"https://127.0.0.1:{HTTPS_PORT}{asset}"
            served[asset] = {"nginx": wrk(url, seconds, 16, gzip=True, cpu=LOAD_CPU)}
        for tuned, key in ((True, "nginx_plain"), (False, "nginx_plain_untuned")):
            with plain_nginx(tuned):
                for asset, figures in served.items():
                    url = f"http://127.0.0.1:{PLAIN_PORT}{asset}"
                    figures[key] = wrk(url, seconds, 16, gzip=True, cpu=LOAD_CPU)
    setup = {"class": "sync", "workers": 5, "threads": 1, "preload": False}
    with gunicorn(setup, whitenoise=True), pinned(f"gunicorn --bind 127.0.0.1:{PORT}"):
        for asset, figures in served.items():
            url = f"http://127.0.0.1:{PORT}{asset}"
            figures["whitenoise"] = wrk(url, seconds, 16, gzip=True, cpu=LOAD_CPU)
    return {"loads": loads, "served": served, "cpus": {"server": SERVER_CPU, "load": LOAD_CPU}}


# --- gunicorn --------------------------------------------------------------


class gunicorn:  # noqa: N801 - used as a context manager, like open()
    """A gunicorn of this setup on 127.0.0.1:PORT, as OMERO.web's user with
    its unit's environment, in a transient unit of its own."""

    def __init__(self, setup: dict, whitenoise: bool = False) -> None:
        self.setup, self.whitenoise = setup, whitenoise

    def __enter__(self) -> gunicorn:
        setup = self.setup
        env = [*unit_environment(), f"PYTHONPATH={BENCH_DIR}", f"BENCH_WHITENOISE={int(self.whitenoise)}"]
        on_host(
            "systemd-run", "--unit", "bench-gunicorn", f"--uid={USER}", f"--gid={USER}",
            "--property=WorkingDirectory=/opt/omero/web/OMERO.web",
            *(f"--setenv={item}" for item in env),
            f"{VENV}/bin/gunicorn", "--bind", f"127.0.0.1:{PORT}",
            "--workers", str(setup["workers"]), "--threads", str(setup["threads"]),
            "--worker-class", setup["class"], "--timeout", "60", "--no-control-socket",
            *(["--preload"] if setup["preload"] else []), "bench_wsgi:application",
        )  # fmt: skip
        login = f"http://127.0.0.1:{PORT}/webclient/login/"
        for _ in range(120):
            if run(["podman", "exec", HOST, "curl", "-fsS", "-o", "/dev/null", login]).returncode == 0:
                return self
            time.sleep(0.5)
        self.__exit__()
        sys.exit(f"gunicorn {setup} did not answer in 60 s")

    def __exit__(self, *exc) -> None:
        on_host("systemctl", "stop", "bench-gunicorn", check=False)
        on_host("systemctl", "reset-failed", "bench-gunicorn", check=False)

    def memory(self) -> dict:
        """Resident (RSS) and proportional (PSS, shared pages split) MiB of
        the master and its workers."""
        script = (
            "main=$(systemctl show -p MainPID --value bench-gunicorn); "
            "for pid in $main $(pgrep -P $main); do "
            "echo \"$pid $(awk '/^Rss:/{r=$2} /^Pss:/{p=$2} END{print r, p}' /proc/$pid/smaps_rollup)\"; done"
        )
        rows = [line.split() for line in on_host("sh", "-c", script).splitlines() if line.strip()]
        master, workers = rows[0], rows[1:]
        return {
            "master_rss": int(master[1]) / 1024,
            "worker_rss": [int(w[1]) / 1024 for w in workers],
            "pss_total": sum(int(r[2]) for r in rows) / 1024,
        }


def appliance_setup() -> dict:
    """What the appliance chose on this host, from its running gunicorn."""
    master = on_host("systemctl", "show", "--property=MainPID", "--value", "omero-web").strip()
    argv = on_host("cat", f"/proc/{master}/cmdline").split("\0")
    chosen = {key: argv[argv.index(f"--{key}") + 1] for key in ("workers", "threads", "worker-class")}
    return {
        "class": chosen["worker-class"],
        "workers": int(chosen["workers"]),
        "threads": int(chosen["threads"]),
        "preload": "--preload" in argv,
    }


def gunicorn_part(seconds: int) -> list[dict]:
    chosen = appliance_setup()
    setups = [dict(setup) for setup in WORKER_SETUPS]
    same = [s for s in setups if all(s[key] == chosen[key] for key in chosen)]
    if same:
        same[0]["name"] += " (the appliance's choice here)"
    else:
        name = f"{chosen['class']} {chosen['workers']}x{chosen['threads']} (the appliance's choice here)"
        setups.insert(1, {"name": name, **chosen})
    for setup in setups:
        setup["appliance"] = "the appliance's choice" in setup["name"]
    on_host("systemctl", "stop", "omero-web")
    results = []
    try:
        for setup in setups:
            with gunicorn(setup) as server:
                wrk(f"http://127.0.0.1:{PORT}", 3, 32, f"{BENCH_DIR}/mix.lua")  # every worker warm
                rest = server.memory()
                argv = wrk_argv(f"http://127.0.0.1:{PORT}", seconds, 32, f"{BENCH_DIR}/mix.lua")
                load = subprocess.Popen(argv, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                time.sleep(seconds / 2)
                busy = server.memory()
                out, err = load.communicate(timeout=seconds + 60)
                if load.returncode != 0:
                    sys.exit(f"wrk failed: {err}")
            row = {**setup, **parse_wrk(out), "rest": rest, "load": busy}
            results.append(row)
            print(f"gunicorn {setup['name']}: {row['requests_per_second']:.0f} req/s, "
                  f"p99 {row['p99_ms']:.0f} ms, {row['errors']} errors, "
                  f"PSS {rest['pss_total']:.0f}/{busy['pss_total']:.0f} MiB", flush=True)  # fmt: skip
    finally:
        on_host("systemctl", "start", "omero-web")
    return results


# --- sessions --------------------------------------------------------------


def sessions_part() -> dict:
    env = unit_environment()
    out = on_host(
        "env", *env, f"BENCH_DIR={BENCH_DIR}/sessions", f"{VENV}/bin/python", f"{BENCH_DIR}/sessions.py",
        user=USER, timeout=1800,
    )  # fmt: skip
    return json.loads(out.strip().splitlines()[-1])


# --- the test suite --------------------------------------------------------


def suite_part(log: Path) -> dict:
    """Seconds per scenario and phase from a lanes log whose lines start with
    [scenario +SECONDS]."""
    phases: dict[str, dict[str, float]] = {}
    current: dict[str, tuple[str, int]] = {}
    last: dict[str, int] = {}
    for line in log.read_text(errors="replace").splitlines():
        match = re.match(r"\[(\w+) \+(\d+)\] (.*)", line)
        if not match:
            continue
        name, at, text = match.group(1), int(match.group(2)), match.group(3)
        last[name] = at
        phase = re.search(r"\[\w+ > (\w+)\] Executing", text)
        if phase:
            if name in current:
                began_phase, began = current[name]
                phases.setdefault(name, {})
                phases[name][began_phase] = phases[name].get(began_phase, 0) + at - began
            current[name] = (phase.group(1), at)
    for name, (phase, began) in current.items():
        phases.setdefault(name, {})
        phases[name][phase] = phases[name].get(phase, 0) + last[name] - began
    return phases


# --- the report ------------------------------------------------------------


PARTS = ("converge", "static", "gunicorn", "sessions", "ice")


def measure(parts: list[str], results: dict, saved: Path, seconds: int) -> None:
    """Measures these parts on the bench host, saving the figures after each."""
    if "converge" in parts:
        with tempfile.TemporaryDirectory() as tmp:
            results["converge"] = converge_part(Path(tmp))
        saved.write_text(json.dumps(results, indent=1) + "\n")
    # What only the bench host gets: wrk and the bench's own files.
    on_host("apt-get", "install", "-y", "--no-install-recommends", "wrk", "curl", "procps")
    on_host("mkdir", "-p", BENCH_DIR)
    for path in sorted((ROOT / "bench/host").iterdir()):
        run(["podman", "cp", str(path), f"{HOST}:{BENCH_DIR}/{path.name}"])
    on_host("chown", "-R", f"{USER}:{USER}", BENCH_DIR)
    results["host"] = {
        "cores": int(on_host("nproc").strip()),
        "memory_mib": int(on_host("awk", "/MemTotal/{print int($2/1024)}", "/proc/meminfo").strip()),
    }
    parts_on_host = {
        "static": lambda: static_part(seconds),
        "gunicorn": lambda: gunicorn_part(seconds),
        "sessions": sessions_part,
        "ice": ice_part,
    }
    for part, measure_part in parts_on_host.items():
        if part in parts:
            results[part] = measure_part()
            saved.write_text(json.dumps(results, indent=1) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--suite", default="bookworm", choices=["bookworm", "trixie"])
    parser.add_argument("--seconds", type=int, default=10, help="length of each load")
    parser.add_argument("--lanes-log", type=Path, help="a log of scripts/molecule-lanes.sh")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results")
    parser.add_argument(
        "--parts",
        default=",".join(PARTS),
        help="what to measure (none: only the report); the rest keep their figures",
    )
    parser.add_argument("--keep", action="store_true", help="leave the container running")
    args = parser.parse_args()
    parts = [part for part in args.parts.split(",") if part]
    if not set(parts) <= set(PARTS):
        parser.error(f"--parts: expected some of {', '.join(PARTS)}")

    saved = args.out / "results.json"
    results: dict = json.loads(saved.read_text()) if saved.exists() else {}
    if results.get("suite", args.suite) != args.suite:
        results = {}
    results["suite"] = args.suite
    args.out.mkdir(parents=True, exist_ok=True)
    if parts:
        # A container --keep left is measured again as it is, unless converge is asked.
        kept = run(["podman", "container", "exists", HOST]).returncode == 0
        if "converge" in parts or not kept:
            # A fresh container is converged (and measured) first.
            parts = ["converge", *(part for part in parts if part != "converge")]
            start({HOST: args.suite})
        try:
            measure(parts, results, saved, args.seconds)
        finally:
            if not args.keep:
                run(["podman", "rm", "-f", HOST])
    if args.lanes_log:
        results["suite_phases"] = suite_part(args.lanes_log)

    saved.write_text(json.dumps(results, indent=1) + "\n")
    from report import write

    return write(results, args.out)


if __name__ == "__main__":
    sys.exit(main())
