"""Filters that build OMERO.web's one config from the inventory."""

from __future__ import annotations

import json
import re


def _as_list(value, key):
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            pass
    if not isinstance(value, list):
        raise ValueError(f"{key} is not a list, so nothing can be appended to it: {value!r}")
    return value


def omero_web_append(config, appends, defaults):
    """``config`` with the entries of ``appends`` added to each list property.

    Like ``omero config append``, but a property the inventory does not set
    starts from OMERO.web's own default (``defaults``), so appending to
    omero.web.middleware keeps Django's middleware. Entries already present
    are not added twice, so the result does not grow from run to run.
    """
    result = dict(config)
    for key, entries in (appends or {}).items():
        base = result[key] if key in result else defaults.get(key, [])
        merged = list(_as_list(base, key))
        for entry in _as_list(entries, key):
            if entry not in merged:
                merged.append(entry)
        result[key] = merged
    return result


def omero_web_property(value):
    """A property's value as the omero CLI stores it: strings as they are,
    everything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def omero_web_server_list(servers):
    """omero.web.server_list from [{host, port, name}]: port 4064 and the
    host as name unless given."""
    return [[s["host"], int(s.get("port", 4064)), s.get("name", s["host"])] for s in servers]


def _canonical(name):
    """A distribution name as PyPI compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def omero_web_app_list(apps):
    """omero_web_apps with each entry's defaults filled in: the Django module
    is the package name with underscores, wiring is on, no settings."""
    return [
        {
            "name": app["name"],
            "version": str(app["version"]),
            "module": app.get("module") or _canonical(app["name"]).replace("-", "_"),
            "settings": dict(app.get("settings") or {}),
            "wiring": app.get("wiring", True) is not False,
            "requirement": f"{app['name']}=={app['version']}",
        }
        for app in apps
    ]


def _mapr_top_links(settings):
    """A top link per mapr menu, as OMERO.mapr's README adds them."""
    links = []
    for menu in _as_list(settings.get("omero.web.mapr.config", []), "omero.web.mapr.config"):
        name = menu["menu"]
        label = menu.get("config", {}).get("label") or name.title()
        links.append([label, {"viewname": f"maprindex_{name}"}, {"title": f"Find {label} annotations"}])
    return links


def omero_web_app_config(apps, wiring):
    """What the apps add to OMERO.web's config: ``set`` (their settings and
    known wiring that replaces a value) and ``append`` (omero.web.apps, in
    list order, and known wiring added to list properties)."""
    properties = {}
    appends = {"omero.web.apps": []}
    for app in omero_web_app_list(apps):
        module = app["module"]
        appends["omero.web.apps"].append(module)
        known = wiring.get(module, {}) if app["wiring"] else {}
        properties.update(known.get("set", {}))
        for key, entries in known.get("append", {}).items():
            appends.setdefault(key, []).extend(entries)
        if app["wiring"] and module == "omero_mapr":
            appends.setdefault("omero.web.ui.top_links", []).extend(_mapr_top_links(app["settings"]))
        properties.update(app["settings"])
    if not appends["omero.web.apps"]:
        appends = {}
    return {"set": properties, "append": appends}


NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$")
VERSION = re.compile(r"^[0-9]+(\.[0-9]+)*((a|b|rc)[0-9]+)?(\.post[0-9]+)?(\.dev[0-9]+)?$")
MODULE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def omero_web_app_problems(apps, required_settings):
    """Every problem of omero_web_apps, one line each, naming the entry."""
    if not isinstance(apps, list):
        return [f"omero_web_apps = {apps!r}: expected a list of {{name, version}} entries"]
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
        module = app.get("module") or _canonical(str(name)).replace("-", "_")
        if not isinstance(module, str) or not MODULE.match(module):
            problems.append(f"{where}: module {module!r} is not a Python module name")
        settings = app.get("settings") or {}
        if not isinstance(settings, dict):
            problems.append(f"{where}: settings = {settings!r}: expected a dict of omero.web.* properties")
            settings = {}
        for key in settings:
            if not str(key).startswith("omero.web."):
                problems.append(f"{where}: settings: {key} is not an omero.web.* property")
        for key in required_settings.get(module, []):
            if not settings.get(key):
                problems.append(f"{where}: {module} does not start without {key}; set it in settings")
        for kind, value in (("package", _canonical(str(name))), ("module", module)):
            if (kind, value) in seen:
                problems.append(f"{where}: {kind} {value} is listed twice (first as {seen[kind, value]})")
                break
        for kind, value in (("package", _canonical(str(name))), ("module", module)):
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
        (f"omero_web_apps[{index}]", app["name"], app["version"])
        for index, app in enumerate(omero_web_app_list(apps))
    ] + [
        (f"omero_web_extra_packages[{index}]", *re.split(r"(?:\[[^\]]*\])?==", package, maxsplit=1))
        for index, package in enumerate(extra_packages or [])
        if "==" in package
    ]
    for match in PIP_MISSING.finditer(text):
        requirement = match.group(1)
        wanted = _canonical(re.split(r"[=<>!~\[;]", requirement, maxsplit=1)[0])
        for variable, name, version in entries:
            if _canonical(name) == wanted:
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


class FilterModule:
    def filters(self):
        return {
            "omero_web_append": omero_web_append,
            "omero_web_bad_environment": omero_web_bad_environment,
            "omero_web_app_config": omero_web_app_config,
            "omero_web_app_list": omero_web_app_list,
            "omero_web_app_problems": omero_web_app_problems,
            "omero_web_pip_problem": omero_web_pip_problem,
            "omero_web_property": omero_web_property,
            "omero_web_server_list": omero_web_server_list,
        }
