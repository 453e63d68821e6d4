"""Validate and apply OMERO.web's config as one whole.

The desired config is a properties file (``key=value`` lines, the format of
``omero config load``). It is checked with the parsers OMERO.web itself uses
for each property, then written into a fresh config.xml by the omero CLI and
swapped into place with one rename, so the live config is never half-applied.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import json
import os
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from . import rules, schema

PREFIX = rules.PROPERTY_PREFIX

Parser = Callable[[str], object]

SECRETS = rules.SECRET_PROPERTIES
_URL_PASSWORD = rules.URL_PASSWORD


def redact(text: str) -> str:
    """``text`` with the passwords in it replaced: a URL's, and a JSON
    value's (a cache's OPTIONS under Sentinel)."""
    return rules.JSON_PASSWORD.sub(r"\1********\2", _URL_PASSWORD.sub(r"\1********@", text))


@dataclass(frozen=True)
class Problem:
    key: str
    value: str
    expected: str

    def __str__(self) -> str:
        shown = "(secret)" if self.key in SECRETS and self.value else redact(repr(self.value))
        return f"{self.key} = {shown}: {redact(self.expected)}"


def read_properties(text: str) -> dict[str, str]:
    """Parse ``key=value`` lines; blank lines and ``#`` comments are skipped."""
    config: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key:
            # Not quoted: the line may be part of a secret.
            raise ValueError(f"line {number}: expected key=value (a value with a line break?)")
        if key in config:
            raise ValueError(f"line {number}: {key} is set twice")
        config[key] = value
    return config


def check(
    config: Mapping[str, str],
    parsers: Mapping[str, Parser],
    can_import: Callable[[str], bool] | None = None,
    context: schema.Context | None = None,
) -> list[Problem]:
    """Every problem in ``config``, judged by OMERO.web's own ``parsers``
    and then by the appliance's schema (schema.py) of what the running
    service needs on top of them."""
    context = replace(context or schema.Context(), can_import=can_import or importable)
    problems = []
    parsed: dict[str, object] = {}
    for key, value in config.items():
        if not key.startswith(PREFIX):
            problems.append(Problem(key, value, f"only {PREFIX}* properties belong here"))
            continue
        parser = parsers.get(key)
        if parser is None:
            problems.append(Problem(key, value, _unknown(key, parsers)))
            continue
        if value != value.strip() or value.endswith("\\"):
            problems.append(Problem(key, value, "no leading or trailing blanks and no trailing backslash"))
            continue
        try:
            parsed[key] = parser(value)
        except Exception as error:  # OMERO.web's parsers raise many kinds
            if type(error).__name__ != "LeaveUnset":
                problems.append(Problem(key, value, f"OMERO.web rejects it: {error}"))
    for key, expected in schema.judge(config, parsed, context):
        problems.append(Problem(key, config.get(key, "(not set)"), expected))
    return problems


def importable(dotted: str) -> bool:
    """Whether ``dotted`` (a module, or a module's attribute) imports in this venv."""
    try:
        if importlib.util.find_spec(dotted) is not None:
            return True
    except (ImportError, ValueError):
        pass
    module, _, attribute = dotted.rpartition(".")
    if not module:
        return False
    try:
        if importlib.util.find_spec(module) is None:
            return False
        return hasattr(importlib.import_module(module), attribute)
    except Exception:
        return False


def _unknown(key: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, list(known), n=1)
    hint = f"; did you mean {close[0]}?" if close else ""
    return f"not a property OMERO.web knows{hint}"


MAPPINGS = (
    "INTERNAL_SETTINGS_MAPPING",
    "CUSTOM_SETTINGS_MAPPINGS",
    "DEVELOPMENT_SETTINGS_MAPPINGS",
    "DEPRECATED_SETTINGS_MAPPINGS",
)


def _omero_web_mappings() -> dict[str, list]:
    """OMERO.web's own table: property -> [setting, default, parser, help]."""
    # omeroweb.settings needs OMERODIR at import; an empty one gives defaults
    # and keeps the live config and logs out of it.
    with tempfile.TemporaryDirectory(prefix="omero-web-validate-") as omerodir:
        os.environ["OMERODIR"] = omerodir
        from omeroweb import settings

        mappings: dict[str, list] = {}
        for table in MAPPINGS:
            mappings.update(getattr(settings, table, {}))
        return mappings


KEY_APPS = "omero.web.apps"
TABLE_SUFFIXES = ("SETTINGS_MAPPING", "SETTINGS_MAPPINGS")


def app_settings_mappings(apps: Iterable[str]) -> tuple[dict[str, list], list[Problem]]:
    """The settings tables of ``apps``, so that their omero.web.* properties
    are judged by the apps' own parsers, as OMERO.web's are.

    An app keeps its table (``*SETTINGS_MAPPING``, OMERO.web's format) in a
    settings module of its package, which reads the config when imported.
    """
    mappings: dict[str, list] = {}
    problems: list[Problem] = []
    for app in apps:
        try:
            spec = importlib.util.find_spec(app)
        except (ImportError, ValueError):
            spec = None
        for directory in (spec.submodule_search_locations or []) if spec else []:
            for path in sorted(Path(directory).glob("*.py")):
                if "SETTINGS_MAPPING" not in path.read_text(errors="replace"):
                    continue
                name = f"{app}.{path.stem}"
                try:
                    module = importlib.import_module(name)
                except Exception as error:  # an app's settings can raise anything
                    problems.append(Problem(KEY_APPS, app, f"its module {name} fails to import: {error}"))
                    continue
                for attribute, table in vars(module).items():
                    if attribute.endswith(TABLE_SUFFIXES) and isinstance(table, dict):
                        mappings.update({k: v for k, v in table.items() if str(k).startswith(PREFIX)})
    return mappings, problems


def omero_web_parsers() -> dict[str, Parser]:
    """The parser OMERO.web uses for each omero.web.* property."""
    return {key: values[2] for key, values in _omero_web_mappings().items()}


def omero_web_defaults() -> dict[str, object]:
    """OMERO.web's default for each property, as a JSON value where it is one."""
    defaults = {}
    for key, values in _omero_web_mappings().items():
        default = values[1]
        if isinstance(default, str):
            try:
                default = json.loads(default)
            except ValueError:
                pass
        defaults[key] = default
    return defaults


def live_config(config_xml: Path) -> dict[str, str]:
    """The properties of the default profile of an existing config.xml."""
    if not config_xml.exists():
        return {}
    from omero.config import ConfigXml

    xml = ConfigXml(str(config_xml), read_only=True)
    try:
        return {k: v for k, v in xml.as_map().items() if k != "omero.config.version"}
    finally:
        xml.close()


def apply(properties: Path, omerodir: Path, omero: Path) -> bool:
    """Make ``omerodir``'s config.xml hold exactly ``properties``.

    Returns False when it already did. The omero CLI writes the new file into
    a staging OMERODIR beside the live one; a rename then swaps it in whole.
    """
    desired = read_properties(properties.read_text())
    grid = omerodir / "etc" / "grid"
    live = grid / "config.xml"
    if live_config(live) == desired:
        return False
    grid.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".config-", dir=omerodir) as staging:
        env = dict(os.environ, OMERODIR=staging)
        subprocess.run(
            [str(omero), "config", "load", str(properties)],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        new = Path(staging) / "etc" / "grid" / "config.xml"
        if live_config(new) != desired:
            raise RuntimeError(f"omero config load did not write what {properties} holds")
        os.replace(new, live)
    return True
