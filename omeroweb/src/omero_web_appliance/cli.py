"""``omero-web-appliance``: the commands the Ansible roles call on web nodes."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from . import config, schema


def _validate(args: argparse.Namespace) -> int:
    try:
        text = sys.stdin.read() if args.properties == "-" else Path(args.properties).read_text()
        desired = config.read_properties(text)
    except (OSError, ValueError) as error:
        print(f"{args.properties}: {error}", file=sys.stderr)
        return 1
    parsers = config.omero_web_parsers()
    # Lets app and middleware modules that read Django's settings import.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "omeroweb.settings")
    app_parsers, problems = config.app_settings_mappings(_apps(desired, parsers))
    parsers.update({key: values[2] for key, values in app_parsers.items()})
    problems += config.check(desired, parsers, context=_context(args))
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s); the live config is unchanged.", file=sys.stderr)
        return 1
    print(f"{len(desired)} properties valid")
    return 0


def _context(args: argparse.Namespace) -> schema.Context:
    """What the schema's rules know of this host and of the topology."""
    live_port = None
    if args.omerodir:
        live = config.live_config(Path(args.omerodir) / "etc" / "grid" / "config.xml")
        live_port = int(live.get("omero.web.application_server.port", "4080") or 4080)
    return schema.Context(
        omerodir=args.omerodir or schema.Context.omerodir,
        memory_mb=schema.host_memory_mb(),
        behind_tls=args.behind_tls,
        remote_frontends=args.remote_frontends,
        live_port=live_port,
        probe_bind=schema.probe_bind if args.omerodir else None,
    )


def _coverage(args: argparse.Namespace) -> int:
    missing = schema.uncovered(config.omero_web_parsers())
    for key in missing:
        print(
            f"{key}: a property of this OMERO.web that the appliance's schema does not cover", file=sys.stderr
        )
    if missing:
        return 1
    print("every OMERO.web property is covered")
    return 0


def _apps(desired: dict[str, str], parsers: dict) -> list[str]:
    """The apps the desired config names (none when check() will reject the list)."""
    key = "omero.web.apps"
    try:
        apps = parsers[key](desired[key]) if key in desired else []
    except Exception:  # reported by check()
        return []
    return [app for app in apps if isinstance(app, str)] if isinstance(apps, list) else []


def _defaults(args: argparse.Namespace) -> int:
    defaults = config.omero_web_defaults()
    unknown = [key for key in args.keys if key not in defaults]
    if unknown:
        print(f"not properties OMERO.web knows: {', '.join(unknown)}", file=sys.stderr)
        return 1
    print(json.dumps({key: defaults[key] for key in args.keys}, sort_keys=True))
    return 0


def _apply(args: argparse.Namespace) -> int:
    changed = config.apply(Path(args.properties), Path(args.omerodir), Path(args.omero))
    print("applied" if changed else "unchanged")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="omero-web-appliance", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    validate = commands.add_parser("validate", help="check a properties file, change nothing")
    validate.add_argument("properties", help="a properties file, or - for standard input")
    validate.add_argument("--omerodir", help="the live OMERODIR: probe this host's addresses and ports")
    validate.add_argument("--behind-tls", action="store_true", help="the front ends speak HTTPS")
    validate.add_argument(
        "--remote-frontends", action="store_true", help="front ends on other hosts proxy to this node"
    )
    validate.set_defaults(run=_validate)

    coverage = commands.add_parser("coverage", help="fail when OMERO.web has properties the schema lacks")
    coverage.set_defaults(run=_coverage)

    defaults = commands.add_parser("defaults", help="OMERO.web's default values, as JSON")
    defaults.add_argument("keys", nargs="+", metavar="KEY")
    defaults.set_defaults(run=_defaults)

    apply = commands.add_parser("apply", help="make OMERO.web's config.xml hold a properties file")
    apply.add_argument("properties")
    apply.add_argument("--omerodir", required=True)
    apply.add_argument("--omero", required=True, help="the omero CLI of the venv")
    apply.set_defaults(run=_apply)

    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
