"""bench/results/REPORT.md and its plots, from the figures of one
bench/appliance.py run (results.json beside them)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def save(fig, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def met(ok: bool) -> str:
    return "met" if ok else "**missed**"


def kib(n: float) -> str:
    return f"{n / 1024:,.0f} KiB"


def static_section(static: dict, out: Path) -> list[str]:
    loads = static["loads"]
    today, now = loads["today"], loads["now"]
    saved = 1 - now["first"]["bytes"] / today["first"]["bytes"]
    repeat_bodies = now["repeat"]["requests"] - 1 - now["repeat"]["not_modified"]
    fig, ax = plt.subplots(figsize=(6, 3.2))
    labels = ["first load", "repeat load"]
    for offset, (name, figures) in enumerate(
        (("no compression, no Cache-Control", today), ("the appliance", now))
    ):
        kibs = [figures[k]["bytes"] / 1024 for k in ("first", "repeat")]
        ax.bar([i + offset * 0.4 for i in range(2)], kibs,
               width=0.4, label=name)  # fmt: skip
    ax.set_xticks([0.2, 1.2], labels)
    ax.set_ylabel("KiB of bodies")
    ax.set_title("Login page and its assets")
    ax.legend()
    save(fig, out / "static.png")
    rows = [
        "## Static files",
        "",
        "The login page and every asset its HTML names (scripts, style sheets, images), loaded twice",
        "by a browser that accepts gzip and keeps a cache, against one that gets neither compression",
        "nor Cache-Control (what the site sent before), so revalidates every asset. Body bytes, every",
        "request counted.",
        "",
        "| client | load | requests | body bytes | from cache | 304 |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for name, figures in (
        ("no compression, no Cache-Control", today),
        ("the appliance (gzip, Cache-Control)", now),
    ):
        for load in ("first", "repeat"):
            f = figures[load]
            rows.append(f"| {name} | {load} | {f['requests']} | {kib(f['bytes'])} | {f['from_cache']} | "
                        f"{f['not_modified']} |")  # fmt: skip
    rows += [
        "",
        "![bytes of a first and a repeat load](static.png)",
        "",
        f"- First load: {saved:.0%} fewer bytes (goal at least 60%): {met(saved >= 0.6)}.",
        f"- Repeat load: {repeat_bodies} asset bodies sent, "
        f"{now['repeat']['from_cache']} assets not asked for, "
        f"{now['repeat']['not_modified']} revalidated (goal: no asset body): {met(repeat_bodies == 0)}.",
    ]
    if "cpus" in static:
        rows += [
            "",
            f"Static requests/s: each server on core {static['cpus']['server']} alone, wrk (one thread,",
            f"16 connections, gzip accepted) on core {static['cpus']['load']}, so that wrk takes no CPU from",
            "the server it measures (on shared cores it takes the most from the fastest one).",
            "",
        ]
    for asset, figures in static["served"].items():
        nginx = figures["nginx"]["requests_per_second"]
        whitenoise = figures["whitenoise"]["requests_per_second"]
        line = (
            f"- `{asset}` (gzip accepted), through gunicorn with whitenoise (5 sync workers, plain HTTP): "
            f"{whitenoise:,.0f} req/s. Through Nginx as clients get it (HTTPS, keep-alive): "
            f"{nginx:,.0f} req/s, "
            f"{nginx / whitenoise:.1f}x"
        )
        if "nginx_plain" in figures:
            plain = figures["nginx_plain"]["requests_per_second"]
            line += (
                f"; through the site's static location over plain HTTP, as behind Apache: "
                f"{plain:,.0f} req/s, {plain / whitenoise:.1f}x (goal at least 20x, same transport): "
                f"{met(plain / whitenoise >= 20)}"
            )
        else:
            line += f" (goal at least 20x): {met(nginx / whitenoise >= 20)}"
        if "nginx_plain_untuned" in figures:
            untuned = figures["nginx_plain_untuned"]["requests_per_second"]
            line += (
                f". The same location without open_file_cache and with a log write per request: "
                f"{untuned:,.0f} req/s; the role's location serves {plain / untuned:.2f}x as many"
            )
        rows.append(line + ".")
    return [*rows, ""]


def gunicorn_section(setups: list[dict], host: dict, out: Path) -> list[str]:
    reference = setups[0]
    names = [s["name"] for s in setups]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    left.barh(names, [s["requests_per_second"] for s in setups], color="tab:blue")
    left.set_xlabel("requests/s (mixed load)")
    left.invert_yaxis()
    right.barh(names, [s["rest"]["pss_total"] for s in setups], color="tab:gray", label="at rest")
    at_rest = [s["rest"]["pss_total"] for s in setups]
    more = [s["load"]["pss_total"] - s["rest"]["pss_total"] for s in setups]
    right.barh(names, more, left=at_rest, color="tab:orange", label="more under load")
    right.set_xlabel("MiB (PSS, master and workers)")
    right.invert_yaxis()
    right.set_yticks([])
    right.legend(loc="lower right")
    save(fig, out / "gunicorn.png")
    rows = [
        "## Gunicorn",
        "",
        f"On {host['cores']} cores and {host['memory_mib']:,} MiB: 32 connections for the load's length,",
        "half of the requests a page that waits 0.2 s on a stand-in for OMERO.server, half the login page.",
        "PSS counts pages shared between processes once; RSS per worker as `ps` shows it.",
        "",
        "| setup | req/s | x reference | p99 | errors | PSS at rest | PSS under load | x reference "
        "| RSS per worker |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in setups:
        rows.append(
            f"| {s['name']} | {s['requests_per_second']:.0f} | "
            f"{s['requests_per_second'] / reference['requests_per_second']:.2f} | {s['p99_ms']:.0f} ms | "
            f"{s['errors']} | {s['rest']['pss_total']:.0f} MiB | {s['load']['pss_total']:.0f} MiB | "
            f"{s['load']['pss_total'] / reference['load']['pss_total']:.2f} | "
            f"{max(s['load']['worker_rss']):.0f} MiB |"
        )
    chosen = next((s for s in setups if s.get("appliance")), None)
    if chosen:
        speed = chosen["requests_per_second"] / reference["requests_per_second"]
        memory = chosen["load"]["pss_total"] / reference["load"]["pss_total"]
        rows += [
            "",
            f"- The appliance's choice on this host, {chosen['name'].split(' (')[0]}: {speed:.1f}x the "
            f"reference's requests/s at p99 {chosen['p99_ms']:.0f} ms against {reference['p99_ms']:.0f} ms, "
            f"{chosen['errors']} errors "
            f"(goal at least 1.5x, p99 no higher, no error): "
            f"{met(speed >= 1.5 and chosen['p99_ms'] <= reference['p99_ms'] and chosen['errors'] == 0)}; "
            f"{memory:.0%} of its memory under load (goal at most 60%): {met(memory <= 0.6)}.",
        ]
    rows += ["", "![requests/s and memory per setup](gunicorn.png)", ""]
    return rows


def sessions_section(sessions: dict, out: Path) -> list[str]:
    engines = ("redis", "file", "db")
    sizes = list(sessions["redis"])
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.4))
    for engine in engines:
        x = [int(n) for n in sizes]
        left.plot(x, [sessions[engine][n]["load"]["per_second"] for n in sizes], marker="o", label=engine)
        right.plot(x, [sessions[engine][n]["save"]["per_second"] for n in sizes], marker="o", label=engine)
    for ax, what in ((left, "loads/s"), (right, "saves/s")):
        ax.set_xscale("log")
        ax.set_xlabel("stored sessions")
        ax.set_ylabel(what)
        ax.set_ylim(bottom=0)
        ax.legend()
    save(fig, out / "sessions.png")
    rows = [
        "## Sessions",
        "",
        "Django's session API in OMERO.web's venv on the bench host, one process: Redis as the appliance",
        f"configures it (`{sessions['redis_backend']}`), Django's file store and its database engine on",
        "SQLite. Each figure from a thousand operations (after a hundred untimed) at that many stored",
        "sessions.",
        "",
        "| engine | stored | saves/s | save p99 | loads/s | load p99 |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for engine in engines:
        for n in sizes:
            f = sessions[engine][n]
            rows.append(f"| {engine} | {int(n):,} | {f['save']['per_second']:,.0f} | "
                        f"{f['save']['p99_ms']:.2f} ms | "
                        f"{f['load']['per_second']:,.0f} | {f['load']['p99_ms']:.2f} ms |")  # fmt: skip
    redis_load = [sessions["redis"][n]["load"]["per_second"] for n in sizes]
    flat = min(redis_load) / max(redis_load)
    clear = sessions["clearsessions"]
    rows += [
        "",
        "![sessions](sessions.png)",
        "",
        f"- Redis from {int(sizes[0]):,} to {int(sizes[-1]):,} sessions: slowest load rate "
        f"{flat:.0%} of the fastest "
        f"(goal: flat): {met(flat >= 0.7)}.",
        f"- clearsessions with {clear['sessions']:,} sessions, {clear['expired']:,} of them expired: "
        "file store "
        f"{clear['seconds']['file']:.1f} s ({clear['file_sessions_left']:,} left), database "
        f"{clear['seconds']['db']:.2f} s ({clear['db_sessions_left']:,} left). "
        "Redis expires its sessions itself.",
        "",
    ]
    return rows


def converge_section(converge: dict, ice: dict | None, out: Path) -> list[str]:
    slowest = converge["first"]["slowest"][:10]
    fig, ax = plt.subplots(figsize=(9, 3.6))
    ax.barh([name[:60] for name, _ in slowest], [s for _, s in slowest])
    ax.invert_yaxis()
    ax.set_xlabel("seconds, first converge")
    save(fig, out / "converge.png")
    goals = {"first": 45, "second": 15}
    rows = [
        "## Converge",
        "",
        "site.yml on the fresh bench container (zeroc-ice wheel from the controller's cache), again, then",
        "`--check --diff`.",
        "",
        "| run | seconds | changed | goal |",
        "|---|---:|---:|---|",
    ]
    for label, figures in converge.items():
        goal = goals.get(label)
        verdict = f"{goal} s: {met(figures['seconds'] <= goal)}" if goal else "-"
        if label != "first":
            verdict += f"; 0 changed: {met(figures['changed'] == 0)}"
        rows.append(f"| {label} | {figures['seconds']:.1f} | {figures['changed']} | {verdict} |")
    stock = converge["second, stock connection"]["seconds"]
    rows += ["", "Second converge, the appliance's connection (pipelined, nsenter) against the stock one"
             f" (podman exec): {converge['second']['seconds'] / stock:.2f}."]  # fmt: skip
    rows += [
        "",
        "Slowest tasks of the first converge (profile_tasks):",
        "",
        "| task | seconds |",
        "|---|---:|",
    ]
    rows += [f"| {name} | {s:.1f} |" for name, s in slowest]
    rows += ["", "Slowest tasks of the second converge:", "", "| task | seconds |", "|---|---:|"]
    rows += [f"| {name} | {s:.1f} |" for name, s in converge["second"]["slowest"][:6]]
    rows += ["", "![slowest tasks](converge.png)", ""]
    if ice and "now" in ice:
        ratio = ice["now"]["seconds"] / ice["before"]["seconds"]
        labels = {
            "before": "one compiler, debug information (the role before)",
            "every_core_debug": "one compiler per core, debug information",
            "now": "one compiler per core, no debug information (the role's default)",
        }
        rows += [
            "The role's zeroc-ice build (when no wheel is given or cached), alone on the bench host, the",
            "compilers installed beforehand:",
            "",
            "| build | seconds | wheel MiB |",
            "|---|---:|---:|",
        ]
        rows += [
            f"| {labels[label]} | {build['seconds']:.0f} | {build['wheel_mib']:.1f} |"
            for label, build in ice.items()
            if label in labels
        ]
        rows += [
            "",
            f"The role now against the role before: {ratio:.2f} of the time (goal: half on two cores): "
            f"{met(ratio <= 0.5)}.",
            "",
        ]
    return rows


def suite_section(phases: dict, out: Path) -> list[str]:
    names = list(phases)
    order = [
        p
        for p in ("create", "prepare", "converge", "idempotence", "check", "verify", "side_effect", "destroy")
    ]
    fig, ax = plt.subplots(figsize=(9, 2.8))
    left = [0.0] * len(names)
    for phase in order:
        widths = [phases[n].get(phase, 0) / 60 for n in names]
        ax.barh(names, widths, left=left, label=phase)
        left = [a + b for a, b in zip(left, widths, strict=True)]
    ax.set_xlabel("minutes")
    ax.invert_yaxis()
    ax.legend(ncol=4, fontsize=7)
    save(fig, out / "suite.png")
    rows = [
        "## The test suite",
        "",
        "Minutes per scenario and phase in one `make test` (two lanes at once).",
        "",
    ]
    rows.append("| scenario | " + " | ".join(order) + " | all |")
    rows.append("|---|" + "---:|" * (len(order) + 1))
    for n in names:
        cells = [f"{phases[n].get(p, 0) / 60:.1f}" for p in order]
        rows.append(f"| {n} | " + " | ".join(cells) + f" | {sum(phases[n].values()) / 60:.1f} |")
    rows += ["", "![make test by scenario and phase](suite.png)", ""]
    return rows


def failover_section(failover: dict, out: Path) -> list[str]:
    figures = failover["figures"]
    labels = {
        "front end": "balancer holding the address killed",
        "session store": "Redis primary stopped",
        "every host restarted": "every host restarted at once",
    }
    timed = {  # what each failure is timed by: (figure, its meaning)
        "front end": [("moved", "address moved"), ("answered", "site answered on it")],
        "session store": [
            ("elected", "another primary elected"),
            ("followed", "OMERO.web read the session through it"),
            ("rejoined", "old primary a replica again"),
        ],
        "every host restarted": [("site_back", "login page through a front end")],
    }
    fig, ax = plt.subplots(figsize=(7, 3.2))
    ticks = []
    for row, (kind, keys) in enumerate(timed.items()):
        for offset, (key, meaning) in enumerate(keys):
            values = [f[key] for f in figures if f["name"] == kind and key in f]
            y = row * 4 + offset
            ax.scatter(values, [y] * len(values), s=18)
            ticks.append((y, f"{kind}: {meaning}"))
    for _, goal in failover["goals"].values():
        ax.axvline(goal, linestyle="--", linewidth=0.8, color="grey")
    ax.set_yticks([t for t, _ in ticks], [label for _, label in ticks], fontsize=7)
    ax.invert_yaxis()
    seconds = [v for f in figures for v in f.values() if isinstance(v, float)]
    ax.set_xlim(0, max(seconds + [goal for _, goal in failover["goals"].values()]) * 1.1)
    goals = " and ".join(f"{goal:g} s" for _, goal in failover["goals"].values())
    ax.set_xlabel(f"seconds after the failure (a dot per round; dashed: goals, {goals})", fontsize=8)
    save(fig, out / "failover.png")
    rows = [
        "## Failover",
        "",
        "`bench/failover.py` on the cluster scenario's containers (two balancers holding a virtual",
        "address, two OMERO.web nodes, three session stores under Sentinel): each failure caused",
        f"{failover['rounds']} times ({failover['rounds_passed']} rounds passed every test) under a",
        "bounded load from a host of the network, 10 requests/s at most.",
        "",
        "| failure | round | seconds to recover (goal) | requests ok | failed | failed for (s) "
        "| session kept |",
        "|---|---:|---|---:|---:|---:|---|",
    ]
    # A round of the restart records one entry per front end: counted by host.
    rounds: dict[tuple, int] = {}
    for entry in figures:
        kind = entry["name"]
        count = rounds[kind, entry.get("host")] = rounds.get((kind, entry.get("host")), 0) + 1
        goal_key, goal = failover["goals"].get(kind, ("", 0))
        times = ", ".join(
            f"{meaning} {entry[key]:.1f}"
            + (f" ({met(entry[key] <= goal)}: {goal:.0f})" if key == goal_key else "")
            for key, meaning in timed.get(kind, [])
            if key in entry
        )
        load = entry.get("load", {})
        failed = load.get("error", 0) + load.get("maintenance", 0) if load else ""
        kept = {True: "yes", False: "**no**"}.get(entry.get("session_kept"), "")
        where = f" ({entry['host']})" if "host" in entry else ""
        rows.append(
            f"| {labels.get(kind, kind)}{where} | {count} | {times} | {load.get('ok', '')} | {failed}"
            f" | {load.get('not_ok_window', '')} | {kept} |"
        )
    rows += ["", "![failover times per round](failover.png)", ""]
    return rows


def write(results: dict, out: Path) -> int:
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (bench/appliance.py) on one fresh Debian "
        f"{'12' if results['suite'] == 'bookworm' else '13'} container; every figure is a ratio or a pair",
        "measured side by side in the same run. The figures themselves: results.json.",
        "",
    ]
    # Only the parts measured so far (bench/appliance.py --parts).
    if "static" in results:
        lines += static_section(results["static"], out)
    if "gunicorn" in results:
        lines += gunicorn_section(results["gunicorn"], results["host"], out)
    if "sessions" in results:
        lines += sessions_section(results["sessions"], out)
    if "converge" in results:
        lines += converge_section(results["converge"], results.get("ice"), out)
    if "failover" in results:
        lines += failover_section(results["failover"], out)
    if results.get("suite_phases"):
        lines += suite_section(results["suite_phases"], out)
    (out / "REPORT.md").write_text("\n".join(lines))
    print(f"wrote {out / 'REPORT.md'}")
    return 0


if __name__ == "__main__":
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent / "results"
    sys.exit(write(json.loads((folder / "results.json").read_text()), folder))
