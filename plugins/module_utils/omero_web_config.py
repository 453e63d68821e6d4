# GPL-2.0-or-later
"""OMERO.web's one config, built from the omero_web role's variables.

The precedence, lowest first. Set properties: the session engine's, the
convenience variables' (omero_web_request_timeout, omero_web_prefix, ...,
and what the front ends make of the site: HTTPS, its names, CORS), the
apps' (their settings and known wiring), then omero_web_config. Appended
to list properties, in this order: the appliance's health view, CORS,
the apps, then omero_web_config_append; a property nobody set starts from
OMERO.web's own default, read on the host. Pure Python, no Ansible.
"""

from __future__ import annotations

import json
import re

from ansible_collections.omero_web_appliance.appliance.plugins.module_utils import omero_web_rules as rules

# What each session engine sets (omero_web_session_engine).
SESSION_ENGINES = ("redis", "file", "db")

# How the known apps join OMERO.web, as their READMEs advise; an entry of
# omero_web_apps with wiring: false gets only omero.web.apps.
APP_WIRING = {
    "omero_iviewer": {
        "set": {"omero.web.viewer.view": "omero_iviewer.views.index"},
        "append": {
            "omero.web.open_with": [
                [
                    "omero_iviewer",
                    "omero_iviewer_index",
                    {
                        "supported_objects": ["images", "dataset", "well"],
                        "script_url": "omero_iviewer/openwith.js",
                        "label": "OMERO.iviewer",
                    },
                ]
            ]
        },
    },
    "omero_figure": {
        "append": {
            "omero.web.ui.top_links": [
                ["Figure", "figure_index", {"title": "Open Figure in new tab", "target": "_blank"}]
            ],
            "omero.web.open_with": [
                [
                    "omero_figure",
                    "new_figure",
                    {"supported_objects": ["images"], "target": "_blank", "label": "OMERO.figure"},
                ]
            ],
        }
    },
    "omero_parade": {
        "append": {"omero.web.ui.center_plugins": [["Parade", "omero_parade/init.js.html", "omero_parade"]]}
    },
    # Top links follow the menus of omero.web.mapr.config (_mapr_top_links).
    "omero_mapr": {},
}
# Settings an app cannot start without.
APP_REQUIRED_SETTINGS = {"omero_mapr": ["omero.web.mapr.config"]}
# The appliance's health view (omeroweb/), at <prefix>/health/.
HEALTH_APPENDS = {"omero.web.apps": ["omero_web_appliance.health"]}
# As the OMERO docs set CORS up: the app, CorsMiddleware first and
# CorsPostCsrfMiddleware last.
CORS_APPENDS = {
    "omero.web.apps": ["corsheaders"],
    "omero.web.middleware": [
        {"index": 0.5, "class": "corsheaders.middleware.CorsMiddleware"},
        {"index": 10, "class": "corsheaders.middleware.CorsPostCsrfMiddleware"},
    ],
}


def as_list(value, key):
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            pass
    if not isinstance(value, list):
        raise ValueError(f"{key} is not a list, so nothing can be appended to it: {value!r}")
    return value


def append(config, appends, defaults):
    """``config`` with the entries of ``appends`` added to each list property.

    Like ``omero config append``, but a property the inventory does not set
    starts from OMERO.web's own default (``defaults``), so appending to
    omero.web.middleware keeps Django's middleware. Entries already present
    are not added twice, so the result does not grow from run to run.
    """
    result = dict(config)
    for key, entries in (appends or {}).items():
        base = result[key] if key in result else defaults.get(key, [])
        merged = list(as_list(base, key))
        for entry in as_list(entries, key):
            if entry not in merged:
                merged.append(entry)
        result[key] = merged
    return result


def later_appends(first, second):
    """Two sets of appends as one: a list of ``second`` goes after the same
    property's list in ``first`` (an entry in both, at its later place)."""
    result = dict(first)
    for key, entries in second.items():
        earlier = result.get(key)
        if isinstance(earlier, list) and isinstance(entries, list):
            result[key] = [entry for entry in earlier if entry not in entries] + entries
        else:
            result[key] = entries
    return result


def server_list(servers):
    """omero.web.server_list from [{host, port, name}]: port 4064 and the
    host as name unless given."""
    return [[s["host"], int(s.get("port", 4064)), s.get("name", s["host"])] for s in servers]


def canonical(name):
    """A distribution name as PyPI compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def app_list(apps):
    """omero_web_apps with each entry's defaults filled in: the Django module
    is the package name with underscores, wiring is on, no settings."""
    return [
        {
            "name": app["name"],
            "version": str(app["version"]),
            "module": app.get("module") or canonical(app["name"]).replace("-", "_"),
            "settings": dict(app.get("settings") or {}),
            "wiring": app.get("wiring", True) is not False,
            "requirement": f"{app['name']}=={app['version']}",
        }
        for app in apps
    ]


def _mapr_top_links(settings):
    """A top link per mapr menu, as OMERO.mapr's README adds them."""
    links = []
    for menu in as_list(settings.get("omero.web.mapr.config", []), "omero.web.mapr.config"):
        name = menu["menu"]
        label = menu.get("config", {}).get("label") or name.title()
        links.append([label, {"viewname": f"maprindex_{name}"}, {"title": f"Find {label} annotations"}])
    return links


def app_config(apps, wiring=None):
    """What the apps add to OMERO.web's config: ``set`` (their settings and
    known wiring that replaces a value) and ``append`` (omero.web.apps, in
    list order, and known wiring added to list properties)."""
    wiring = APP_WIRING if wiring is None else wiring
    properties = {}
    appends = {"omero.web.apps": []}
    for app in app_list(apps):
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


def sentinel_cache(sentinel):
    """Django's cache on the primary the Sentinels name (django-redis's
    Sentinel client): the primary alone, so that a session is read back from
    where it was written, and short socket timeouts, so that a request waits
    seconds, not minutes, on a primary that just failed."""
    password = sentinel.get("password") or None
    return {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": [f"redis://{sentinel['master']}/0"],
        "OPTIONS": {
            "CLIENT_CLASS": "django_redis.client.SentinelClient",
            "CONNECTION_FACTORY": "django_redis.pool.SentinelConnectionFactory",
            "SENTINELS": [[s["host"], int(s["port"])] for s in sentinel["sentinels"]],
            "SENTINEL_KWARGS": {"password": password, "socket_timeout": 1},
            "PASSWORD": password,
            "SOCKET_CONNECT_TIMEOUT": 2,
            "SOCKET_TIMEOUT": 2,
        },
    }


def session_properties(engine, redis_url, omerodir, sentinel=None):
    """What omero_web_session_engine sets."""
    if engine == "redis":
        cache = (
            sentinel_cache(sentinel)
            if sentinel
            else {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": redis_url}
        )
        return {
            "omero.web.session_engine": "django.contrib.sessions.backends.cache",
            "omero.web.caches": {"default": cache},
        }
    if engine == "db":
        # OMERO.web has no database of its own; sessions get an SQLite file.
        return {
            "omero.web.session_engine": "django.contrib.sessions.backends.db",
            "omero.web.databases": {
                "default": {
                    "ENGINE": "django.db.backends.sqlite3",
                    "NAME": f"{omerodir}/var/sessions.sqlite3",
                }
            },
        }
    if engine == "file":
        return {"omero.web.session_engine": "django.contrib.sessions.backends.file"}
    raise ValueError(f"omero_web_session_engine = {engine!r}: expected one of {', '.join(SESSION_ENGINES)}")


def cors_enabled(inputs):
    return bool(inputs.get("cors_allow_all") or inputs.get("cors_origins"))


def site_properties(inputs):
    """What the front ends make of the site. Every front end speaks HTTPS to
    the clients and sets X-Forwarded-Proto, so OMERO.web may trust it and
    cookies go over HTTPS only; OMERO.web answers to the site's names (and
    to loopback and its own address, for the checks on the hosts), and a
    form posted from their https origins passes the CSRF check."""
    properties = {"omero.web.secure_proxy_ssl_header": ["HTTP_X_FORWARDED_PROTO", "https"]}
    if not inputs.get("behind_tls"):
        return properties
    names = list(inputs.get("site_names") or [])
    hosts = []
    for host in [*names, "localhost", "127.0.0.1", "[::1]", inputs["listen_address"]]:
        if host not in hosts:
            hosts.append(host)
    origins = [
        "https://" + (name if int(port) == 443 else f"{name}:{port}")
        for name in names
        for port in inputs.get("site_https_ports") or [443]
    ]
    return properties | {
        "omero.web.session_cookie_secure": True,
        "omero.web.csrf_cookie_secure": True,
        "omero.web.allowed_hosts": hosts,
        "omero.web.csrf_trusted_origins": origins,
    }


def convenience_properties(inputs):
    """What the convenience variables set."""
    properties = {
        "omero.web.session_expire_at_browser_close": inputs["session_expire_at_browser_close"],
        "omero.web.session_cookie_age": inputs["session_cookie_age"],
        "omero.web.wsgi_timeout": int(inputs["request_timeout"]),
        "omero.web.wsgi_worker_class": inputs["worker_class"],
        "omero.web.wsgi_workers": int(inputs["workers"]),
        "omero.web.wsgi_threads": int(inputs["threads"]),
        "omero.web.application_server.host": inputs["listen_address"],
    }
    if inputs.get("servers"):
        properties["omero.web.server_list"] = server_list(inputs["servers"])
    prefix = inputs.get("prefix") or ""
    if prefix:
        properties["omero.web.prefix"] = prefix
        properties["omero.web.static_url"] = rules.static_url_for(prefix)
    if cors_enabled(inputs):
        properties["omero.web.cors_origin_whitelist"] = list(inputs.get("cors_origins") or [])
        properties["omero.web.cors_origin_allow_all"] = bool(inputs.get("cors_allow_all"))
    return properties | site_properties(inputs)


def build(inputs, defaults=None):
    """OMERO.web's config from the role's variables (``inputs``, named as
    the variables without omero_web_) and OMERO.web's own defaults of the
    appended properties: ``set``, ``appends`` and ``effective``."""
    apps = app_config(inputs.get("apps") or [])
    properties = (
        session_properties(
            inputs["session_engine"],
            inputs.get("redis_url"),
            inputs["omerodir"],
            inputs.get("redis_sentinel"),
        )
        | convenience_properties(inputs)
        | apps["set"]
        | dict(inputs.get("config") or {})
    )
    appends = HEALTH_APPENDS
    for more in (
        CORS_APPENDS if cors_enabled(inputs) else {},
        apps["append"],
        inputs.get("config_append") or {},
    ):
        appends = later_appends(appends, more)
    effective = append(properties, appends, defaults or {})
    return {
        "set": properties,
        "appends": appends,
        "effective": effective,
        "has_secrets": has_secrets(effective),
    }


def has_secrets(config):
    """Whether a config holds a password: a secret property set, a URL with
    a password (the Redis one) or a password in a JSON value (Sentinel's)."""
    return any(
        (key in rules.SECRET_PROPERTIES and value)
        or rules.URL_PASSWORD.search(json.dumps(value))
        or rules.JSON_PASSWORD.search(json.dumps(value))
        for key, value in config.items()
    )
