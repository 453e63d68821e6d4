"""Filters that build and check OMERO.web's one config from the inventory:
the model in plugins/module_utils/omero_web_config.py, the rules both the
controller and the host apply in plugins/module_utils/omero_web_rules.py."""

from __future__ import annotations

import json
import re

from ansible_collections.omero_web_appliance.appliance.plugins.module_utils import omero_web_rules as rules
from ansible_collections.omero_web_appliance.appliance.plugins.module_utils.omero_web_config import (
    APP_REQUIRED_SETTINGS,
    app_list,
    build,
    canonical,
)

NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$")
VERSION = re.compile(r"^[0-9]+(\.[0-9]+)*((a|b|rc)[0-9]+)?(\.post[0-9]+)?(\.dev[0-9]+)?$")


def omero_web_app_problems(apps, required_settings=None):
    """Every problem of omero_web_apps, one line each, naming the entry."""
    if not isinstance(apps, list):
        return [f"omero_web_apps = {apps!r}: expected a list of {{name, version}} entries"]
    required_settings = APP_REQUIRED_SETTINGS if required_settings is None else required_settings
    problems = []
    seen = {}
    for index, app in enumerate(apps):
        where = f"omero_web_apps[{index}]"
        if not isinstance(app, dict) or "name" not in app or "version" not in app:
            problems.append(f"{where} = {app!r}: expected {{name: omero-iviewer, version: '0.19.1'}}")
            continue
        name, version = app["name"], app["version"]
        where = f"{where} ({name})"
        if not isinstance(name, str) or not NAME.match(name):
            problems.append(f"{where}: name {name!r} is not a package name as PyPI spells them")
        if not isinstance(version, str):
            problems.append(
                f"{where}: version {version!r} is a number to YAML; quote it, e.g. version: '{version}'"
            )
        elif not VERSION.match(version):
            problems.append(f"{where}: version {version!r}: expected one exact release, e.g. '0.19.1'")
        module = app.get("module") or canonical(str(name)).replace("-", "_")
        if rules.module_problem(module):
            problems.append(f"{where}: module {module!r} is not a Python module name")
        settings = app.get("settings") or {}
        if not isinstance(settings, dict):
            problems.append(f"{where}: settings = {settings!r}: expected a dict of omero.web.* properties")
            settings = {}
        for key in settings:
            if not rules.is_property(key):
                problems.append(f"{where}: settings: {key} is not an omero.web.* property")
        for key in required_settings.get(module, []):
            if not settings.get(key):
                problems.append(f"{where}: {module} does not start without {key}; set it in settings")
        for kind, value in (("package", canonical(str(name))), ("module", module)):
            if (kind, value) in seen:
                problems.append(f"{where}: {kind} {value} is listed twice (first as {seen[kind, value]})")
                break
        for kind, value in (("package", canonical(str(name))), ("module", module)):
            seen.setdefault((kind, value), f"omero_web_apps[{index}]")
    return problems


PIP_MISSING = re.compile(
    r"Could not find a version that satisfies the requirement (\S+)(?: \(from versions: ([^)]*)\))?"
)


def omero_web_pip_problem(output, apps, extra_packages=()):
    """One line that names the omero_web_apps or omero_web_extra_packages
    entry pip could not install, from pip's output; pip's last error line
    when no entry is to blame."""
    text = output if isinstance(output, str) else json.dumps(output)
    entries = [
        (f"omero_web_apps[{index}]", app["name"], app["version"]) for index, app in enumerate(app_list(apps))
    ] + [
        (f"omero_web_extra_packages[{index}]", *re.split(r"(?:\[[^\]]*\])?==", package, maxsplit=1))
        for index, package in enumerate(extra_packages or [])
        if "==" in package
    ]
    for match in PIP_MISSING.finditer(text):
        requirement = match.group(1)
        wanted = canonical(re.split(r"[=<>!~\[;]", requirement, maxsplit=1)[0])
        for variable, name, version in entries:
            if canonical(name) == wanted:
                versions = [v for v in (match.group(2) or "").split(", ") if v and v != "none"]
                latest = ", ".join(versions[-5:])
                found = (
                    f"PyPI has no release {version} (its latest: {latest})"
                    if versions
                    else "no such package on PyPI (or in the wheel directory)"
                )
                return f"{variable} = {name} {version}: {found}"
    errors = [line.strip() for line in text.replace("\\n", "\n").splitlines() if "ERROR" in line]
    return errors[-1] if errors else text.strip()[-500:]


ENVIRONMENT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def omero_web_bad_environment(environment, own=()):
    """The entries of omero_web_extra_environment that cannot be used: the
    role's own names, names that are no shell variable, and values that are
    not one line of text (a string, number or boolean without a line break
    or NUL, as systemd and cron take them)."""
    bad = {}
    for name, value in (environment or {}).items():
        if (
            name in own
            or not ENVIRONMENT_NAME.fullmatch(str(name))
            or not isinstance(value, (str, int, float))
            or re.search(r"[\n\r\x00]", str(value))
        ):
            bad[name] = value
    return bad


def omero_web_property(value):
    """A property's value as the omero CLI stores it: strings as they are,
    everything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


RULES = {
    "property": lambda key: None if rules.is_property(key) else "an omero.web.* property",
    "prefix": rules.prefix_problem,
    "origin": rules.origin_problem,
    "module": rules.module_problem,
}


def omero_web_rule_breakers(values, rule):
    """The values (a list, or a dict's keys) that break one of the rules
    (omero_web_rules.py): property, prefix, origin or module."""
    return [value for value in values if RULES[rule](value)]


def omero_web_config_model(inputs, defaults=None):
    """OMERO.web's config (set, appends, effective) from the role's variables."""
    return build(inputs, defaults)


class FilterModule:
    def filters(self):
        return {
            "omero_web_app_list": app_list,
            "omero_web_app_problems": omero_web_app_problems,
            "omero_web_bad_environment": omero_web_bad_environment,
            "omero_web_config_model": omero_web_config_model,
            "omero_web_pip_problem": omero_web_pip_problem,
            "omero_web_property": omero_web_property,
            "omero_web_rule_breakers": omero_web_rule_breakers,
        }
