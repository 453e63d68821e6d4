"""Validate and apply OMERO.web's config as one whole.

The desired config is a properties file (``key=value`` lines, the format of
``omero config load``). It is checked with the parsers OMERO.web itself uses
for each property, then written into a fresh config.xml by the omero CLI and
swapped into place with one rename, so the live config is never half-applied.
"""

from __future__ import annotations

import difflib
import os
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

PREFIX = "omero.web."

Parser = Callable[[str], object]


@dataclass(frozen=True)
class Problem:
    key: str
    value: str
    expected: str

    def __str__(self) -> str:
        return f"{self.key} = {self.value!r}: {self.expected}"


def read_properties(text: str) -> dict[str, str]:
    """Parse ``key=value`` lines; blank lines and ``#`` comments are skipped."""
    config: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key:
            raise ValueError(f"line {number}: expected key=value, got {raw!r}")
        if key in config:
            raise ValueError(f"line {number}: {key} is set twice")
        config[key] = value
    return config


def check(config: Mapping[str, str], parsers: Mapping[str, Parser]) -> list[Problem]:
    """Every problem in ``config``, judged by OMERO.web's own ``parsers``."""
    problems = []
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
            parser(value)
        except Exception as error:  # OMERO.web's parsers raise many kinds
            if type(error).__name__ == "LeaveUnset":
                continue
            problems.append(Problem(key, value, f"OMERO.web rejects it: {error}"))
    return problems


def _unknown(key: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, list(known), n=1)
    hint = f"; did you mean {close[0]}?" if close else ""
    return f"not a property OMERO.web knows{hint}"


def omero_web_parsers() -> dict[str, Parser]:
    """The parser OMERO.web uses for each omero.web.* property."""
    # omeroweb.settings needs OMERODIR at import; an empty one gives defaults
    # and keeps the live config and logs out of it.
    with tempfile.TemporaryDirectory(prefix="omero-web-validate-") as omerodir:
        os.environ["OMERODIR"] = omerodir
        from omeroweb import settings

        parsers: dict[str, Parser] = {}
        for table in (
            "INTERNAL_SETTINGS_MAPPING",
            "CUSTOM_SETTINGS_MAPPINGS",
            "DEVELOPMENT_SETTINGS_MAPPINGS",
            "DEPRECATED_SETTINGS_MAPPINGS",
        ):
            for key, values in getattr(settings, table, {}).items():
                parsers[key] = values[2]
        return parsers


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
