#!/usr/bin/env python3
"""Writes the variable tables from each role's meta/argument_specs.yml: the
README's (between the `variables:start` and `variables:end` markers) and a
README.md per role.

`scripts/variables-table.py` writes them; `--check` only says whether they
are current (tests/unit runs that, so the docs cannot drift).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
START, END = "<!-- variables:start -->", "<!-- variables:end -->"
ROLES = ["omero_web", "nginx", "keepalived", "apache", "tls", "redis", "firewall", "applied_state"]
# The collection the roles are called from (galaxy.yml).
COLLECTION = "{namespace}.{name}".format(**yaml.safe_load((ROOT / "galaxy.yml").read_text()))
# Where each role runs in site.yml.
RUNS_ON = {
    "omero_web": "the hosts of `omero_web_nodes` (playbooks/omero_web_nodes.yml)",
    "nginx": "the hosts of `frontends` (playbooks/frontends.yml)",
    "keepalived": (
        "the hosts of `frontends` after Nginx (playbooks/frontends.yml), when"
        " omero_web_appliance_virtual_address names an address and two or more front ends"
        " are hosts of their own"
    ),
    "apache": "the hosts of `apache_frontends`, which are also front ends (playbooks/apache_frontends.yml)",
    "tls": "front ends facing the clients, called by the nginx and apache roles",
    "redis": "the hosts of `session_stores` (playbooks/session_stores.yml)",
    "firewall": "every host, last (playbooks/firewall.yml)",
    "applied_state": "every host, called by each of the roles above at its start and end",
}


def cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ").strip()


def text_of(value) -> str:
    return " ".join(value) if isinstance(value, list) else str(value or "")


def describe(option: dict) -> str:
    text = text_of(option.get("description"))
    if option.get("choices"):
        text += " One of: " + ", ".join(f"`{c}`" for c in option["choices"]) + "."
    return cell(text)


def spec_of(role: str) -> dict:
    return yaml.safe_load((ROOT / "roles" / role / "meta/argument_specs.yml").read_text())["argument_specs"]


def table(options: dict) -> list[str]:
    rows = ["| variable | type | default | meaning |", "|---|---|---|---|"]
    for name, option in options.items():
        kind = option.get("type", "str")
        if option.get("elements"):
            kind += f" of {option['elements']}"
        if option.get("required"):
            default = "required"
        elif option.get("no_log"):
            default = "a secret (see defaults/main.yml)"
        else:
            value = option.get("default")
            default = "`" + cell(value if isinstance(value, str) else json.dumps(value)) + "`"
        rows.append(f"| `{name}` | {kind} | {default} | {describe(option)} |")
    return rows


def tables() -> str:
    parts = []
    for role in ROLES:
        main = spec_of(role)["main"]
        parts.append(f"### `{role}`: {main['short_description']}\n")
        parts += table(main["options"])
        parts.append("")
    return "\n".join(parts)


def role_readme(role: str) -> str:
    specs = spec_of(role)
    main = specs["main"]
    entries = [entry for entry in specs if entry != "main"]
    call = f"- ansible.builtin.import_role:\n    name: {COLLECTION}.{role}"
    if not (ROOT / "roles" / role / "tasks/main.yml").exists():
        call = f"- ansible.builtin.include_role:\n    name: {COLLECTION}.{role}\n"
        call += f"    tasks_from: {entries[0]}.yml"
    parts = [
        f"# {role}",
        "",
        "<!-- Written by scripts/variables-table.py from meta/argument_specs.yml: edit those. -->",
        "",
        f"{main['short_description']}.",
        "",
        text_of(main.get("description")),
        "",
        f"In `site.yml` it runs on {RUNS_ON[role]}. From a playbook of your own:",
        "",
        "```yaml",
        call,
        "```",
        "",
        "## Variables",
        "",
        *table(main["options"]),
    ]
    for entry in entries:
        spec = specs[entry]
        parts += [
            "",
            f"## `tasks_from: {entry}.yml`",
            "",
            f"{spec['short_description']}.",
            "",
            *table(spec.get("options") or {}),
        ]
    parts += ["", "The whole appliance, its topologies and tests: the README at the repository's root.", ""]
    return "\n".join(parts)


def render(readme: str) -> str:
    head, _, rest = readme.partition(START)
    _, _, tail = rest.partition(END)
    return f"{head}{START}\n{tables()}{END}{tail}"


def main() -> int:
    wanted = {README: render(README.read_text())}
    wanted |= {ROOT / "roles" / role / "README.md": role_readme(role) for role in ROLES}
    stale = [path for path, text in wanted.items() if not path.exists() or path.read_text() != text]
    if "--check" in sys.argv:
        for path in stale:
            print(f"{path.relative_to(ROOT)} is stale: run scripts/variables-table.py")
        return 1 if stale else 0
    for path in stale:
        path.write_text(wanted[path])
    return 0


if __name__ == "__main__":
    sys.exit(main())
