#!/usr/bin/env python3
"""Writes the README's variable tables from each role's meta/argument_specs.yml.

`scripts/variables-table.py` rewrites the part of README.md between the
`variables:start` and `variables:end` markers; `--check` only says whether
it is current (tests/unit runs that, so the docs cannot drift).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
START, END = "<!-- variables:start -->", "<!-- variables:end -->"
ROLES = ["omero_web", "nginx", "apache", "tls", "redis", "firewall", "applied_state"]


def cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ").strip()


def describe(option: dict) -> str:
    text = option.get("description", "")
    text = " ".join(text) if isinstance(text, list) else text
    if option.get("choices"):
        text += " One of: " + ", ".join(f"`{c}`" for c in option["choices"]) + "."
    return cell(text)


def tables() -> str:
    parts = []
    for role in ROLES:
        spec = yaml.safe_load((ROOT / "roles" / role / "meta/argument_specs.yml").read_text())
        main = spec["argument_specs"]["main"]
        parts.append(f"### `{role}`: {main['short_description']}\n")
        parts.append("| variable | type | default | meaning |\n|---|---|---|---|")
        for name, option in main["options"].items():
            kind = option.get("type", "str")
            if option.get("elements"):
                kind += f" of {option['elements']}"
            value = option.get("default")
            default = cell(value if isinstance(value, str) else json.dumps(value))
            parts.append(f"| `{name}` | {kind} | `{default}` | {describe(option)} |")
        parts.append("")
    return "\n".join(parts)


def render(readme: str) -> str:
    head, _, rest = readme.partition(START)
    _, _, tail = rest.partition(END)
    return f"{head}{START}\n{tables()}{END}{tail}"


def main() -> int:
    current = README.read_text()
    wanted = render(current)
    if "--check" in sys.argv:
        if current != wanted:
            print("README.md's variable tables are stale: run scripts/variables-table.py")
            return 1
        return 0
    README.write_text(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main())
